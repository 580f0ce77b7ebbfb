#pragma once
// The NPU's configuration (`device.npu`): an Ethos-U55-class microNPU with 32, 64, 128
// or 256 MACs per cycle. What follows from the MAC count (micro-block shape, shared
// buffer, elementwise units, output rate) comes from Arm's Vela compiler
// (architecture_features.py); sources and assumptions in docs/npu.md.
#include <cstdint>
#include <string>
#include <vector>

#include "models/npu/cpu_cost.hpp"
#include "sim/core/config/params.hpp"

namespace edgesim::npu {

/// What Vela's ArchitectureFeatures lists for each Ethos-U55 configuration.
struct ArchConfig {
  int macs = 128;
  int ub_h = 2, ub_w = 1, ub_c = 8;  // OFM micro-block: outputs computed per cycle
  int dot_depth = 8;                 // input channels per output per cycle
  int elem_units = 4;                // elementwise results per cycle
  double output_cycles_per_elem = 0.75;
  uint64_t shared_buffer = 24 * 1024;  // SHRAM bytes (1 KiB banks)
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
  double decoder_weights_per_cycle = 8;
  uint64_t layer_overhead_cycles = 0;
  double mac_energy = 0;                      // J per MAC
  double shared_buffer_energy = 0;            // J per bit moved through the shared buffer
  double static_power = 0;                    // W
  double prune = 0;                           // fraction of weights zeroed per layer (0: off)
  int clusters = 0;                           // distinct non-zero weights per layer (0: off)
  std::vector<std::string> compress_layers;   // layer names, or "*"
  int block_h = 0, block_w = 0, block_c = 0;  // forced OFM block (0: chosen per layer)
  CpuSettings cpu;                            // the host CPU (`device.cpu`), for ops the NPU cannot run
};

/// The declarations of `device.npu` (registered for describe and docs/config.md).
const config::ParamTable& npu_params();
NpuSettings npu_settings(const config::Params& p);

}  // namespace edgesim::npu
