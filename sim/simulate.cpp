#include "sim/simulate.hpp"

#include "sim/core/errors.hpp"
#include "sim/core/progress.hpp"
#include "sim/metrics.hpp"
#include "sim/top.hpp"
#include "sim/weight_placement.hpp"

namespace edgesim::sim {

SimulationResult simulate(Experiment& exp, const SimulateOptions& options) {
  cache::WeightStore store(store_tensors(*exp.layout), exp.store, exp.make_replacement);
  const StoreResidency residency(store);
  std::unique_ptr<OpSource> source;
  std::vector<uint64_t> future;

  if (store.needs_future()) {
    // OPT needs the whole access sequence before the first access.
    std::vector<traces::Step> steps;
    if (options.replay) {
      traces::Step s;
      while (options.replay->next(s)) steps.push_back(s);
    } else {
      if (exp.policy->cache_aware()) {
        throw InputError(
            "config error at weight_store.cache_policy: 'opt' needs the access sequence in advance, "
            "but policy '" +
            exp.config["policy"]["name"].get<std::string>() +
            "' depends on the cache; record a trace under another cache policy and replay it with opt");
      }
      steps = generate_steps(exp);
      if (options.record) {
        for (const auto& s : steps) options.record->write_step(s);
      }
    }
    future = future_uses(store, *exp.layout, steps, exp.run.encoder_tokens(*exp.layout));
    source = std::make_unique<StepListSource>(std::move(steps));
  } else if (options.replay) {
    source = std::make_unique<TraceSource>(*options.replay);
  } else {
    source = std::make_unique<ClosedLoopSource>(exp, residency, options.record);
  }

  Stats stats;
  std::vector<StepRecord> records;
  StepRecord encoder;  // the encoder pass of an encoder-decoder model
  std::vector<SwitchRecord> switches;
  Progress progress("simulating", exp.run.total_steps(), options.progress);
  Top top(
      "top", exp, store, std::move(future), *source, stats, records, encoder,
      [&](uint64_t s) { progress.update(s + 1); }, switches, options.timeline);
  sc_core::sc_start();
  if (sc_core::sc_get_status() != sc_core::SC_STOPPED && sc_core::sc_pending_activity()) {
    throw SimError("simulation stopped with activity pending");
  }

  // Decoding starts after the encoder pass (at 0 without one); each step, when the one before ends.
  for (size_t s = 0; s < records.size(); ++s)
    records[s].start_time = s ? records[s - 1].end_time : encoder.end_time;
  if (options.timeline) options.timeline->add_tokens(records, exp.run.warmup_tokens);

  exp.dram->report(sc_core::sc_time_stamp().to_seconds(), stats);
  SimulationResult result;
  result.steps = records.size();
  Footprint footprint = exp.footprint;
  if (store.by_step()) {
    // A window's DRAM is its matrices, sized to the most rows each tensor needed (Req_i),
    // not the capacity that bounds them.
    footprint.weight_cache = store.peak_rows_bytes();
  }
  result.metrics = compute_metrics(records, exp.run.warmup_tokens, footprint, exp.static_power);
  if (encoder.ops > 0) result.metrics["encoder_pass"] = encoder_metrics(encoder, exp.static_power);
  if (store.by_step()) {
    uint64_t cached = 0;
    for (uint32_t t = 0; t < store.tensors().size(); ++t) {
      if (store.placement(t) == cache::Placement::Cache) cached += store.tensors()[t].bytes();
    }
    const auto& ws = exp.config["weight_store"];
    const uint64_t k = ws.contains("window_tokens") ? ws["window_tokens"].get<uint64_t>() : 0;
    result.metrics.update(window_metrics(records, exp.run.warmup_tokens, k, store.peak_rows_bytes(), cached));
  }
  if (const auto m = exp.policy->metrics(); !m.is_null()) result.metrics[exp.policy->metrics_key()] = m;
  const nlohmann::json extra = adapter_metrics(exp, records, switches, exp.run.warmup_tokens);
  result.metrics.update(extra);
  result.stats = stats.to_json();
  result.stats["systemc"] = {
      {"delta_cycles",
       {{"value", sc_core::sc_delta_count()}, {"unit", ""}, {"description", "SystemC delta cycles"}}},
      {"simulated_time",
       {{"value", sc_core::sc_time_stamp().to_seconds()},
        {"unit", "s"},
        {"description", "Simulated time at the end"}}}};
  return result;
}

}  // namespace edgesim::sim
