#pragma once
// What one timed inference adds up to, per layer and in total: the bound of each layer,
// its MAC utilisation and energy; the network's latency, inferences/s, energy, MAC
// utilisation, encoded weight bytes and peak SRAM. `edgesim npu` prints these and
// `edgesim npu-dataset` records them.
#include <cstdint>
#include <string>
#include <vector>

#include "models/npu/network.hpp"
#include "models/npu/timing.hpp"

namespace edgesim::npu {

/// "compute", "memory (MEM)" (the memory that moved the most bytes for the layer), "cpu"
/// (an op the host CPU runs) or "-" (no NPU command: a reshape).
std::string layer_bound(const Op& op, const LayerPlan& lp, const LayerTiming& lt);
/// Useful MACs over the MAC array's capacity for the layer's cycles.
double layer_utilisation(const LayerPlan& lp, const LayerTiming& lt, const NpuSettings& s);
/// Compute and memory energy of the layer (J).
double layer_energy(const LayerTiming& lt);

struct RunSummary {
  uint64_t cycles = 0;
  double seconds = 0, inferences_per_s = 0, energy = 0;  // energy per inference, J (static included)
  double mac_utilisation = 0;
  uint64_t macs = 0;
  uint64_t weight_stream_bytes = 0;  // encoded weights with bias and scale, as stored (flash)
  /// Most SRAM bytes in use at once: the activations live during a layer (when they are
  /// in SRAM) plus the weight buffers the DMA fills for it (its `buffers` largest slices)
  /// or, weights in SRAM, the whole weight stream. An estimate: docs/npu-dataset.md.
  uint64_t peak_sram_bytes = 0;
  uint64_t cpu_cycles = 0;
  std::string bound;  // the layer bound that holds the most cycles
};

RunSummary summarise(const Network& net, const Plan& plan, const Timing& t);

}  // namespace edgesim::npu
