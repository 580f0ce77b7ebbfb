#include "models/npu/summary.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "models/npu/features.hpp"

namespace edgesim::npu {

std::string layer_bound(const Op& op, const LayerPlan& lp, const LayerTiming& lt) {
  if (op.on_cpu) return "cpu";  // run by the host CPU, as Vela leaves it
  if (lp.jobs.empty()) return "-";
  if (!lt.memory_bound()) return "compute";
  // The memory that moved the most bytes for this layer names the bound.
  int top = 0;
  for (int m = 1; m < kMemories; ++m)
    if (lt.read_bytes[m] + lt.write_bytes[m] > lt.read_bytes[top] + lt.write_bytes[top]) top = m;
  return std::string("memory (") + mem_name(static_cast<Mem>(top)) + ")";
}

double layer_utilisation(const LayerPlan& lp, const LayerTiming& lt, const NpuSettings& s) {
  return lt.cycles ? static_cast<double>(lp.macs) / (static_cast<double>(lt.cycles) * s.arch.macs) : 0.0;
}

double layer_energy(const LayerTiming& lt) {
  double e = lt.compute_energy;
  for (int m = 0; m < kMemories; ++m) e += lt.memory_energy[m];
  return e;
}

RunSummary summarise(const Network& net, const Plan& plan, const Timing& t) {
  const NpuSettings& s = plan.settings;
  RunSummary r;
  r.cycles = t.cycles;
  r.seconds = t.seconds;
  r.inferences_per_s = t.seconds > 0 ? 1.0 / t.seconds : 0.0;
  r.energy = t.energy;
  r.macs = net.total_macs();
  r.mac_utilisation =
      t.cycles ? static_cast<double>(r.macs) / (static_cast<double>(t.cycles) * s.arch.macs) : 0.0;
  const std::vector<uint64_t> live = live_activation_bytes(net);
  std::map<std::string, uint64_t> by_bound;
  uint64_t all_weights = 0;
  for (const LayerPlan& lp : plan.layers) all_weights += lp.weight_stream_bytes;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const LayerPlan& lp = plan.layers[i];
    const LayerTiming& lt = t.layers[i];
    r.weight_stream_bytes += lp.weight_stream_bytes;
    if (net.ops[i].on_cpu) r.cpu_cycles += lt.cycles;
    by_bound[layer_bound(net.ops[i], lp, lt)] += lt.cycles;
    uint64_t sram = s.activations_in == kSram ? live[i] : 0;
    if (s.weights_in == kSram) {
      sram += all_weights;
    } else if (s.activations_in == kSram) {
      std::vector<uint64_t> slices;
      for (const DmaItem& d : lp.dma)
        if (d.to_buffer) slices.push_back(d.bytes);
      std::sort(slices.begin(), slices.end(), std::greater<>());
      for (size_t k = 0; k < slices.size() && k < static_cast<size_t>(s.buffers); ++k) sram += slices[k];
    }
    r.peak_sram_bytes = std::max(r.peak_sram_bytes, sram);
  }
  uint64_t most = 0;
  for (const auto& [bound, cycles] : by_bound) {
    if (bound != "-" && cycles >= most && (cycles > most || r.bound.empty())) {
      most = cycles;
      r.bound = bound;
    }
  }
  return r;
}

}  // namespace edgesim::npu
