// Metrics of adapters and weight formats: what the active adapters add per token, what
// each switch cost, and the weights' storage format.
#include "sim/metrics.hpp"

namespace edgesim::sim {

nlohmann::json adapter_metrics(const Experiment& exp, const std::vector<StepRecord>& steps,
                               const std::vector<SwitchRecord>& switches, size_t warmup) {
  using nlohmann::json;
  json out = json::object();
  const double n = static_cast<double>(steps.size() > warmup ? steps.size() - warmup : 1);
  if (exp.adapter->enabled()) {
    double kernel = 0, latency = 0, switch_time = 0;
    uint64_t bytes = 0, flops = 0;
    for (size_t s = warmup; s < steps.size(); ++s) {
      const StepRecord& r = steps[s];
      kernel += r.adapter_kernel_time;
      bytes += r.adapter_dram_read_bytes;
      flops += r.adapter_flops;
      switch_time += r.switch_time;
      latency += r.end_time - r.start_time;
    }
    json events = json::array();
    uint64_t count = 0;
    double total = 0, most = 0, energy = 0;
    for (const SwitchRecord& sw : switches) {
      const bool measured = sw.step >= warmup;
      events.push_back({{"step", sw.step},
                        {"measured", measured},
                        {"from", sw.from},
                        {"to", sw.to},
                        {"time_s", sw.time},
                        {"energy_j", sw.energy},
                        {"flash_read_bytes", sw.flash_read_bytes},
                        {"flash_write_bytes", sw.flash_write_bytes},
                        {"dram_read_bytes", sw.dram_read_bytes},
                        {"dram_write_bytes", sw.dram_write_bytes},
                        {"flops", sw.flops}});
      if (!measured) continue;
      ++count;
      total += sw.time;
      most = std::max(most, sw.time);
      energy += sw.energy;
    }
    json a = exp.adapter->summary();
    a["dram_bytes"] = exp.footprint.adapters;
    a["per_token"] = {{"dram_read_bytes", static_cast<double>(bytes) / n},
                      {"flops", static_cast<double>(flops) / n},
                      {"kernel_time_s", kernel / n}};
    a["switches"] = {{"count", count},
                     {"total_time_s", total},
                     {"mean_time_s", count ? total / static_cast<double>(count) : 0.0},
                     {"max_time_s", most},
                     {"energy_j", energy},
                     {"events", events}};
    a["tokens_per_s_under_schedule"] = n / latency;
    a["tokens_per_s_without_switches"] = latency > switch_time ? json(n / (latency - switch_time)) : json();
    out["adapter"] = a;
  }
  const json& m = exp.config["model"];
  if (!m.value("weight_format", std::string()).empty() || !m.value("weight_formats", json::array()).empty()) {
    uint64_t weights = 0, bytes = 0;
    json by_class = json::object();
    for (size_t i = 0; i < exp.layout->tensors().size(); ++i) {
      const traces::Tensor& t = exp.layout->tensors()[i];
      if (t.vector()) continue;
      weights += t.rows * t.cols;
      bytes += t.bytes();
      if (!by_class.contains(t.klass)) {
        const traces::WeightFormat& f = exp.layout->format(static_cast<uint32_t>(i));
        by_class[t.klass] = {{"format", f.text()}, {"bits_per_weight", f.bits_per_weight(t.rows, t.cols)}};
      }
    }
    double decode = 0;
    for (size_t s = warmup; s < steps.size(); ++s) decode += steps[s].decode_time;
    out["weight_formats"] = {
        {"weight_bytes", bytes},
        {"bits_per_weight", 8.0 * static_cast<double>(bytes) / static_cast<double>(weights)},
        {"decode_time_per_token_s", decode / n},
        {"classes", by_class}};
  }
  return out;
}

}  // namespace edgesim::sim
