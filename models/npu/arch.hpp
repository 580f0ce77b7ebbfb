#pragma once
// The NPU's configuration (`device.npu`): an Ethos-U55-class microNPU with 32, 64, 128
// or 256 MACs per cycle. What follows from the MAC count (micro-block shape, shared
// buffer, elementwise units, output rate) comes from Arm's Vela compiler
// (architecture_features.py); sources and assumptions in docs/npu.md.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/npu/cpu_cost.hpp"
#include "sim/core/config/params.hpp"

namespace edgesim::npu {

/// A micro-block: the elements the hardware handles at once (height, width, depth).
struct Ublock {
  int h = 1, w = 1, c = 8;
};

/// What Vela's ArchitectureFeatures lists for each Ethos-U55 configuration.
struct ArchConfig {
  int macs = 128;
  Ublock ofm_ublock{1, 2, 8};  // OFM elements the MAC array computes per cycle step
  Ublock ifm_ublock{1, 2, 8};
  int dot_depth = 8;     // input channels per output per cycle
  int elem_units = 4;    // elementwise results per cycle
  int shram_banks = 24;  // shared buffer (SHRAM) banks of 1 KiB
  /// Bank granules of each SHRAM element kind: IFM8, IFM16, IFM8 elementwise, IFM16
  /// elementwise, IFM32, ACC16, ACC32, ACC40.
  std::array<int, 8> shram_granules{4, 4, 4, 4, 8, 4, 8, 12};
  /// Output unit cycles per element, by OutputKind (op_cost.hpp), and activation unit
  /// cycles per element, by ActivationKind.
  std::array<double, 8> output_cycles{0.75, 1.25, 0.75, 0.75, 1.0, 1.5, 0.25, 0.5};
  std::array<double, 3> activation_cycles{1.0, 0.5, 0.0};
  uint64_t shared_buffer = 24 * 1024;  // SHRAM bytes
};
/// The Ethos-U55 configuration with `macs` MACs per cycle; throws InputError naming
/// `path` for a count Ethos-U55 does not offer.
ArchConfig arch_for_macs(long long macs, const std::string& path);

enum Mem { kSram = 0, kFlash = 1, kDram = 2, kMemories = 3 };
const char* mem_name(Mem m);

struct NpuSettings {
  std::string name;
  ArchConfig arch;
  double clock = 500e6;            // Hz
  double axi_bytes_per_cycle = 8;  // per AXI port
  Mem weights_in = kFlash, activations_in = kSram;
  int buffers = 2;  // 2: double buffering of DMA against compute
  uint64_t layer_overhead_cycles = 0;
  double activation_burst = 32, weight_burst = 128;  // burst lengths (bytes) of the memories
  double mac_energy = 0;                             // J per MAC
  double shared_buffer_energy = 0;                   // J per bit moved through the shared buffer
  double static_power = 0;                           // W
  double prune = 0;                                  // fraction of weights zeroed per layer (0: off)
  int clusters = 0;                                  // distinct non-zero weights per layer (0: off)
  std::vector<std::string> compress_layers;          // layer names, or "*"
  int block_h = 0, block_w = 0, block_c = 0;         // forced OFM block (0: chosen per layer)
  CpuSettings cpu;                                   // the host CPU (`device.cpu`), for ops the NPU cannot run
};

/// The declarations of `device.npu` (registered for describe and docs/config.md).
const config::ParamTable& npu_params();
NpuSettings npu_settings(const config::Params& p);

}  // namespace edgesim::npu
