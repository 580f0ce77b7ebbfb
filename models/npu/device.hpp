#pragma once
// An NPU device config: `device.npu` (the NPU) and the memories its DMA reaches:
// `device.sram` (a bandwidth/latency memory model, on-chip SRAM), `device.flash` and
// optionally `device.dram`, each created through its registry like a phone's.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/memory/dram.hpp"
#include "models/memory/flash.hpp"
#include "models/npu/arch.hpp"
#include "models/npu/network.hpp"
#include "models/npu/timing.hpp"

namespace edgesim::npu {

struct NpuDevice {
  nlohmann::json config;  // resolved, with defaults: what results record
  NpuSettings settings;
  std::unique_ptr<memory::Dram> sram, dram;
  std::unique_ptr<memory::Flash> flash;
  MemorySystem memories() const { return {sram.get(), flash.get(), dram.get()}; }
};

/// Validates a merged config; throws InputError naming the JSON path.
NpuDevice build_npu_device(const nlohmann::json& raw);

/// Checks that `net` fits the device: activations in their memory, weights in theirs.
void check_fits(const NpuDevice& dev, const Network& net);

/// A device and a network compiled for it, as `edgesim npu` and `edgesim fault` run them:
/// the config (a file or builtin:) with `--set` overrides, the network compressed as the
/// device says, checked to fit, and planned.
struct NpuSetup {
  NpuDevice dev;
  Network net;
  Plan plan;
};
NpuSetup setup_npu(const std::string& config_path, const std::vector<std::string>& sets,
                   const std::string& network_path);
/// The same from a merged config (overrides applied) and a network already read.
NpuSetup setup_npu(const nlohmann::json& config, Network net);

}  // namespace edgesim::npu
