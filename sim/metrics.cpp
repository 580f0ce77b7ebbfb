#include "sim/metrics.hpp"

#include "sim/core/errors.hpp"
#include "sim/core/stats.hpp"

namespace edgesim::sim {

nlohmann::json compute_metrics(const std::vector<StepRecord>& steps, uint64_t warmup,
                               const Footprint& footprint, double static_power) {
  if (steps.size() <= warmup) {
    throw InputError("the run has " + std::to_string(steps.size()) + " steps but run.warmup_tokens is " +
                     std::to_string(warmup) + ": nothing is left to measure");
  }
  std::vector<double> latency;
  double compute = 0, flash = 0, dram = 0, e_flash = 0, e_dram = 0, e_compute = 0, e_static = 0;
  double flash_bytes = 0, flash_device = 0, dram_bytes = 0, flops = 0, activations = 0;
  uint64_t hits = 0, misses = 0;
  for (size_t s = warmup; s < steps.size(); ++s) {
    const StepRecord& r = steps[s];
    const double l = r.end_time - r.start_time;
    latency.push_back(l);
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
  const double n = static_cast<double>(latency.size());
  double total_latency = 0;
  for (double l : latency) total_latency += l;
  const double mean = total_latency / n;
  nlohmann::json m;
  m["tokens_measured"] = latency.size();
  m["tokens_per_s"] = n / total_latency;
  m["token_latency_s"] = {{"mean", mean}, {"p50", percentile(latency, 50)}, {"p99", percentile(latency, 99)}};
  m["time_breakdown"] = {
      {"compute", compute / n}, {"stall", mean - compute / n}, {"flash", flash / n}, {"dram", dram / n}};
  m["dram_bytes_per_token"] = dram_bytes / n;
  m["flash_bytes_per_token"] = flash_bytes / n;
  m["flash_device_bytes_per_token"] = flash_device / n;
  m["flops_per_token"] = flops / n;
  m["weight_cache_hit_rate"] =
      hits + misses ? nlohmann::json(double(hits) / double(hits + misses)) : nlohmann::json();
  m["memory_footprint_bytes"] = footprint.to_json();
  m["energy_per_token_j"] = (e_flash + e_dram + e_compute + e_static) / n;
  m["energy_breakdown_j"] = {
      {"flash", e_flash / n}, {"dram", e_dram / n}, {"compute", e_compute / n}, {"static", e_static / n}};
  m["systemc_activations_per_token"] = activations / n;
  return m;
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
