#include "sim/simulate.hpp"

#include "sim/core/errors.hpp"
#include "sim/core/progress.hpp"
#include "sim/metrics.hpp"
#include "sim/top.hpp"
#include "sim/weight_placement.hpp"

namespace edgesim::sim {

SimulationResult simulate(Experiment& exp, const SimulateOptions& options) {
  if ((options.record || options.replay) &&
      (exp.decoding.scheme != Scheme::Plain || exp.run.prefill_chunk > 0)) {
    // The trace format holds decode steps of one model.
    throw InputError(
        std::string("config error at ") +
        (exp.run.prefill_chunk > 0 ? "run.prefill_chunk" : "decoding.scheme") +
        ": trace record and replay cover plain decoding of one model without a simulated prefill "
        "(run.prefill_chunk 0, decoding.scheme plain)");
  }
  cache::WeightStore store(store_tensors(exp.models), exp.store, exp.make_replacement);
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
    future = future_uses(store, exp.models, steps, exp.run.encoder_tokens(*exp.layout));
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
  const size_t first = first_measured(records, exp.run.warmup_tokens);
  if (options.timeline) options.timeline->add_tokens(records, first);

  exp.dram->report(sc_core::sc_time_stamp().to_seconds(), stats);
  SimulationResult result;
  result.steps = records.size();
  Footprint footprint = exp.footprint;
  if (store.by_step()) {
    // A window's DRAM is its matrices, sized to the most rows each tensor needed (Req_i),
    // not the capacity that bounds them.
    footprint.weight_cache = store.peak_rows_bytes();
  }
  result.metrics = compute_metrics(records, first, footprint, exp.static_power);
  if (encoder.ops > 0) result.metrics["encoder_pass"] = encoder_metrics(encoder, exp.static_power);
  if (store.by_step()) {
    uint64_t cached = 0;
    for (uint32_t t = 0; t < store.tensors().size(); ++t) {
      if (store.placement(t) == cache::Placement::Cache) cached += store.tensors()[t].bytes();
    }
    const auto& ws = exp.config["weight_store"];
    const uint64_t k = ws.contains("window_tokens") ? ws["window_tokens"].get<uint64_t>() : 0;
    result.metrics.update(window_metrics(records, first, k, store.peak_rows_bytes(), cached));
  }
  if (const auto m = exp.policy->metrics(); !m.is_null()) result.metrics[exp.policy->metrics_key()] = m;
  result.metrics.update(decoding_metrics(exp, records, first));
  if (result.metrics.contains("prefill")) {
    result.metrics["prefill"]["policy"] = exp.policy->pass_behaviour();  // what it does over many tokens
  }
  if (auto* closed = dynamic_cast<ClosedLoopSource*>(source.get());
      closed && closed->acceptance_wraps() > 0) {
    result.metrics["speculative"]["acceptance_trace_restarts"] = closed->acceptance_wraps();
  }
  const nlohmann::json extra = adapter_metrics(exp, records, switches, first);
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
