#include "sim/metrics.hpp"

#include <cmath>

#include "sim/core/errors.hpp"
#include "sim/core/stats.hpp"

namespace edgesim::sim {

using nlohmann::json;
using traces::Phase;

namespace {

bool prompt_step(const StepRecord& r) {
  return r.info.phase == Phase::Prefill || r.info.phase == Phase::Encode;
}

/// Sums of a range of steps' costs.
struct Totals {
  double time = 0, compute = 0, flash = 0, dram = 0, e_flash = 0, e_dram = 0, e_compute = 0, e_static = 0;
  double flash_bytes = 0, flash_device = 0, dram_bytes = 0, flops = 0, activations = 0;
  uint64_t hits = 0, misses = 0;
  void add(const std::vector<StepRecord>& steps, size_t s, double static_power) {
    const StepRecord& r = steps[s];
    const double l = r.end_time - r.start_time;
    time += l;
    compute += r.compute_time;
    flash += r.flash_time;
    dram += r.dram_time;
    e_flash += r.flash_energy;
    e_dram += r.dram_energy;
    e_compute += r.compute_energy;
    e_static += static_power * l;
    flash_bytes += static_cast<double>(r.flash_bytes);
    flash_device += static_cast<double>(r.flash_device_bytes);
    dram_bytes += static_cast<double>(r.dram_read_bytes + r.dram_write_bytes);
    flops += static_cast<double>(r.flops);
    activations += static_cast<double>(r.activations);
    hits += r.hits;
    misses += r.misses;
  }
  double energy() const { return e_flash + e_dram + e_compute + e_static; }
};

/// Mean and 95 % confidence half-width (normal approximation) of `x`.
std::pair<double, double> mean_ci(const std::vector<double>& x) {
  double sum = 0, sq = 0;
  for (double v : x) sum += v;
  const double n = static_cast<double>(x.size());
  const double mean = sum / n;
  for (double v : x) sq += (v - mean) * (v - mean);
  const double sd = x.size() > 1 ? std::sqrt(sq / (n - 1)) : 0.0;
  return {mean, 1.96 * sd / std::sqrt(n)};
}

}  // namespace

size_t first_measured(const std::vector<StepRecord>& steps, uint64_t warmup_tokens) {
  uint64_t generated = 0;
  for (size_t s = 0; s < steps.size(); ++s) {
    if (prompt_step(steps[s])) continue;
    if (generated >= warmup_tokens) return s;
    generated += steps[s].info.emitted;
  }
  throw InputError("the run generated " + std::to_string(generated) + " tokens but run.warmup_tokens is " +
                   std::to_string(warmup_tokens) + ": nothing is left to measure");
}

json compute_metrics(const std::vector<StepRecord>& steps, size_t first, const Footprint& footprint,
                     double static_power) {
  // Each emitted token's latency: its step's share of the time since the last emission (a
  // speculative step's drafts and verification, spread over the tokens it yields).
  std::vector<double> latency;
  Totals t;
  double since = 0;
  for (size_t s = first; s < steps.size(); ++s) {
    t.add(steps, s, static_power);
    since += steps[s].end_time - steps[s].start_time;
    const uint32_t emitted = steps[s].info.emitted;
    for (uint32_t k = 0; k < emitted; ++k) latency.push_back(since / emitted);
    if (emitted > 0) since = 0;
  }
  if (latency.empty()) throw InputError("no token was generated after the warm-up: nothing to measure");
  const double n = static_cast<double>(latency.size());
  const double mean = t.time / n;
  json m;
  m["tokens_measured"] = latency.size();
  m["tokens_per_s"] = n / t.time;
  m["token_latency_s"] = {{"mean", mean}, {"p50", percentile(latency, 50)}, {"p99", percentile(latency, 99)}};
  m["time_breakdown"] = {{"compute", t.compute / n},
                         {"stall", mean - t.compute / n},
                         {"flash", t.flash / n},
                         {"dram", t.dram / n}};
  m["dram_bytes_per_token"] = t.dram_bytes / n;
  m["flash_bytes_per_token"] = t.flash_bytes / n;
  m["flash_device_bytes_per_token"] = t.flash_device / n;
  m["flops_per_token"] = t.flops / n;
  m["weight_cache_hit_rate"] = t.hits + t.misses ? json(double(t.hits) / double(t.hits + t.misses)) : json();
  m["memory_footprint_bytes"] = footprint.to_json();
  m["energy_per_token_j"] = t.energy() / n;
  m["energy_breakdown_j"] = {{"flash", t.e_flash / n},
                             {"dram", t.e_dram / n},
                             {"compute", t.e_compute / n},
                             {"static", t.e_static / n}};
  m["systemc_activations_per_token"] = t.activations / n;

  // The prompt, when the run simulated it.
  Totals p;
  uint64_t prompt_tokens = 0, prompt_steps = 0;
  size_t last_prompt = 0;
  for (size_t s = 0; s < steps.size(); ++s) {
    if (!prompt_step(steps[s])) continue;
    p.add(steps, s, static_power);
    // The prompt's tokens once: the first model's passes over it.
    if (steps[s].info.model == steps[0].info.model) prompt_tokens += steps[s].info.tokens;
    ++prompt_steps;
    last_prompt = s;
  }
  if (prompt_steps > 0) {
    // The first token comes from the model that generates (the target of speculative
    // decoding): a decoder's last prefill chunk yields its logits; after an encoder, the
    // first decode step does.
    size_t gen = last_prompt + 1;
    while (gen < steps.size() && steps[gen].info.phase == Phase::Draft) ++gen;
    const uint8_t generator = gen < steps.size() ? steps[gen].info.model : steps[last_prompt].info.model;
    size_t ttft_step = gen < steps.size() ? gen : last_prompt;
    for (size_t s = 0; s <= last_prompt; ++s) {
      if (steps[s].info.model == generator && steps[s].info.phase == Phase::Prefill) ttft_step = s;
    }
    m["time_to_first_token_s"] = steps[ttft_step].end_time;
    m["prefill"] = {
        {"prompt_tokens", prompt_tokens},
        {"steps", prompt_steps},
        {"time_s", p.time},
        {"tokens_per_s", static_cast<double>(prompt_tokens) / p.time},
        {"energy_j", p.energy()},
        {"energy_breakdown_j",
         {{"flash", p.e_flash}, {"dram", p.e_dram}, {"compute", p.e_compute}, {"static", p.e_static}}},
        {"compute_time_s", p.compute},
        {"flash_bytes", p.flash_bytes},
        {"dram_bytes", p.dram_bytes},
        {"flops", p.flops}};
  }
  return m;
}

json decoding_metrics(const Experiment& exp, const std::vector<StepRecord>& steps, size_t first) {
  json out = json::object();
  const DecodingSettings& d = exp.decoding;
  if (d.scheme == Scheme::Speculative) {
    // A step: the drafts since the last verification, then the verification.
    std::vector<double> tokens;
    double draft = 0, verify = 0, draft_energy = 0, verify_energy = 0;
    for (size_t s = first; s < steps.size(); ++s) {
      const StepRecord& r = steps[s];
      const double l = r.end_time - steps[s].start_time;
      const double e = r.flash_energy + r.dram_energy + r.compute_energy + exp.static_power * l;
      if (r.info.phase == Phase::Draft) {
        draft += l;
        draft_energy += e;
      } else if (r.info.phase == Phase::Verify) {
        verify += l;
        verify_energy += e;
        tokens.push_back(r.info.emitted);
      }
    }
    if (tokens.empty()) return out;
    const auto [mean, half] = mean_ci(tokens);
    const double n = static_cast<double>(tokens.size());
    json s = {{"draft_model", exp.second->name()},
              {"gamma", d.gamma},
              {"steps", tokens.size()},
              {"tokens_per_step", {{"mean", mean}, {"ci95", {mean - half, mean + half}}}},
              {"accepted_per_step", mean - 1},
              {"draft_time_per_step_s", draft / n},
              {"verify_time_per_step_s", verify / n},
              {"draft_time_share", draft / (draft + verify)},
              {"draft_energy_per_step_j", draft_energy / n},
              {"verify_energy_per_step_j", verify_energy / n}};
    if (d.acceptance_trace.empty()) {
      s["acceptance"] = d.acceptance;
      s["tokens_per_step"]["expected"] = expected_tokens_per_step(d.acceptance, d.gamma);
    } else {
      uint64_t ones = 0;
      for (uint8_t v : d.acceptance_trace) ones += v;
      s["acceptance_trace_rate"] = static_cast<double>(ones) / static_cast<double>(d.acceptance_trace.size());
    }
    out["speculative"] = s;
  } else if (d.scheme == Scheme::Hybrid) {
    double encode = 0, slm_prompt = 0;
    for (size_t s = 0; s < steps.size(); ++s) {
      if (!prompt_step(steps[s])) continue;
      (steps[s].info.model == 0 ? encode : slm_prompt) += steps[s].end_time - steps[s].start_time;
    }
    out["hybrid"] = {
        {"encoder_model", exp.layout->name()},
        {"decoder_model", exp.second->name()},
        {"encode_time_s", encode},
        {"decoder_prompt_time_s", slm_prompt},
        {"projector_parameters", d.projector_in * d.projector_hidden + d.projector_hidden * d.projector_out}};
  }
  return out;
}

nlohmann::json window_metrics(const std::vector<StepRecord>& steps, uint64_t warmup, uint64_t window_tokens,
                              uint64_t matrix_bytes, uint64_t cached_bytes) {
  double time = 0, deleted = 0, inserted = 0, moved = 0, bytes = 0, loaded = 0, used = 0;
  for (size_t s = warmup; s < steps.size(); ++s) {
    const StepRecord& r = steps[s];
    time += r.mm_time;
    deleted += static_cast<double>(r.rows_deleted);
    inserted += static_cast<double>(r.rows_inserted);
    moved += static_cast<double>(r.rows_moved);
    bytes += static_cast<double>(r.mm_bytes);
    loaded += static_cast<double>(r.miss_bytes);
    used += static_cast<double>(r.hit_bytes + r.miss_bytes);
  }
  const double n = static_cast<double>(steps.size() - warmup);  // compute_metrics checked n > 0
  const double cached = static_cast<double>(cached_bytes);
  auto share = [&](double b) { return cached > 0 ? nlohmann::json(b / cached) : nlohmann::json(); };
  nlohmann::json m;
  m["memory_management"] = {{"time_per_token_s", time / n},
                            {"rows_deleted_per_token", deleted / n},
                            {"rows_inserted_per_token", inserted / n},
                            {"rows_moved_per_token", moved / n},
                            {"dram_bytes_per_token", bytes / n}};
  m["window"] = {{"window_tokens", window_tokens},
                 {"matrix_bytes", matrix_bytes},
                 {"cached_tensor_bytes", cached_bytes},
                 {"matrix_fraction", share(static_cast<double>(matrix_bytes))},
                 {"used_fraction_per_token", share(used / n)},
                 {"loaded_fraction_per_token", share(loaded / n)}};
  return m;
}

nlohmann::json encoder_metrics(const StepRecord& pass, double static_power) {
  const double e_static = static_power * pass.end_time;
  return {{"time_s", pass.end_time},
          {"compute_s", pass.compute_time},
          {"flash_bytes", pass.flash_bytes},
          {"dram_bytes", pass.dram_read_bytes + pass.dram_write_bytes},
          {"flops", pass.flops},
          {"energy_j", pass.flash_energy + pass.dram_energy + pass.compute_energy + e_static},
          {"energy_breakdown_j",
           {{"flash", pass.flash_energy},
            {"dram", pass.dram_energy},
            {"compute", pass.compute_energy},
            {"static", e_static}}}};
}

}  // namespace edgesim::sim
