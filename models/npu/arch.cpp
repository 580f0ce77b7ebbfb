#include "models/npu/arch.hpp"

#include <algorithm>
#include <cstdio>

#include "sim/core/registry.hpp"

namespace edgesim::npu {

ArchConfig arch_for_macs(long long macs, const std::string& path) {
  // Vela 3.10 ethosu/vela/architecture_features.py: accelerator_configs (ofm_ublock and
  // ifm_ublock, which Vela writes width x height x depth and this table h, w, c; shram_banks of 1 KiB,
  // shram_granules, elem_units) and _generate_output_perf_tables (output_cycles_per_elem,
  // activation_cycles_per_elem); MACs = ofm micro-block h x w x c x dot-product width 8.
  // clang-format off
  static const ArchConfig kTable[] = {
  // MACs ofm ublock  ifm ublock  dot elem banks granules                    output cycles per element                            activation       SHRAM bytes
    {32,  {1, 1, 4}, {1, 1, 8}, 8,  1,  16, {2, 2, 2, 2, 4, 4, 4, 4},   {2.0, 3.0, 3.0, 3.0, 4.0, 6.0, 1.0, 2.0},            {1.0, 1.0, 0.0},  16 * 1024},
    {64,  {1, 1, 8}, {1, 1, 8}, 8,  2,  16, {2, 2, 2, 2, 4, 4, 4, 8},   {1.0, 1.5, 1.5, 1.5, 2.0, 3.0, 0.5, 1.0},            {1.0, 1.0, 0.0},  16 * 1024},
    {128, {1, 2, 8}, {1, 2, 8}, 8,  4,  24, {4, 4, 4, 4, 8, 4, 8, 12},  {0.75, 1.25, 0.75, 0.75, 1.0, 1.5, 0.25, 0.5},     {1.0, 0.5, 0.0},  24 * 1024},
    {256, {2, 2, 8}, {2, 2, 8}, 8,  8,  48, {8, 8, 8, 8, 16, 8, 16, 20}, {0.625, 1.125, 0.5, 0.375, 0.5, 0.75, 0.125, 0.25}, {1.0, 0.25, 0.0}, 48 * 1024},
  };
  // clang-format on
  for (const auto& a : kTable) {
    if (a.macs == macs) return a;
  }
  config::fail_at(path, "Ethos-U55 offers 32, 64, 128 or 256 MACs per cycle, not " + std::to_string(macs));
}

const char* mem_name(Mem m) {
  switch (m) {
    case kSram: return "sram";
    case kFlash: return "flash";
    case kDram: return "dram";
    default: return "?";
  }
}

namespace {
using config::Quantity;
const config::ParamTable kParams = {{
    {"name", Quantity::String, "npu", "Name shown in results"},
    {"macs", Quantity::Integer, 128,
     "MACs per cycle: 32, 64, 128 or 256 (sets micro-block, shared buffer, output rate)", 32, 256},
    {"clock", Quantity::Frequency, "500 MHz", "NPU core clock", 1e6, 1e10},
    {"shared_buffer",
     Quantity::Bytes,
     "auto",
     "Internal shared buffer (SHRAM); auto = the configuration's (16-48 KiB)",
     2048,
     1 << 24,
     {"auto"}},
    {"axi_width_bits", Quantity::Integer, 64, "Width of each AXI port at the core clock", 8, 1024},
    {"weights_in",
     Quantity::String,
     "flash",
     "Memory the weights (and biases, scales) stream from",
     -INFINITY,
     INFINITY,
     {"flash", "sram", "dram"}},
    {"activations_in",
     Quantity::String,
     "sram",
     "Memory holding the activation tensors",
     -INFINITY,
     INFINITY,
     {"sram", "dram"}},
    {"double_buffering", Quantity::Boolean, true,
     "DMA of the next block overlaps compute of the current one"},
    {"activation_burst", Quantity::Bytes, "32 B",
     "Burst length of the memory holding the activations (a shorter transfer occupies a whole burst)", 1,
     4096},
    {"weight_burst", Quantity::Bytes, "128 B", "Burst length of the memory holding the weights", 1, 4096},
    {"layer_overhead_cycles", Quantity::Integer, 0,
     "Fixed cycles per NPU layer (command stream, pipeline start); reshape costs none", 0, 1e9},
    {"mac_energy", Quantity::Energy, "0.2 pJ", "Energy of one int8 multiply-accumulate", 0, 1e-9},
    {"shared_buffer_energy", Quantity::EnergyPerBit, "0.05 pJ/bit",
     "Energy per bit written to or read from the shared buffer", 0, 1e-9},
    {"static_power", Quantity::Power, "5 mW", "NPU and memory background power while running", 0, 100},
    {"prune", Quantity::Real, 0.0, "Fraction of each compressed layer's weights zeroed by magnitude (0: off)",
     0, 0.99},
    {"clusters", Quantity::Integer, 0,
     "Distinct non-zero weight values per compressed layer after clustering (0: off)", 0, 255},
    {"block_config", Quantity::String, "auto",
     "OFM block HxWxC for every layer (as Vela's --force-block-config), or auto: chosen per layer"},
    {"compress_layers", Quantity::StringList, nlohmann::json::array({"*"}),
     "Layers prune/clusters apply to: names, or \"*\" for every weighted layer"},
}};
const SectionRegistration kSection("npu", "Ethos-U55-class NPU (edgesim npu)", "device.npu", kParams);

Mem mem_of(const std::string& s) {
  return s == "flash" ? kFlash : s == "dram" ? kDram : kSram;
}
}  // namespace

const config::ParamTable& npu_params() {
  return kParams;
}

NpuSettings npu_settings(const config::Params& p) {
  NpuSettings s;
  s.name = p.text("name");
  s.arch = arch_for_macs(p.integer("macs"), p.path_of("macs"));
  if (!p.is_keyword("shared_buffer")) {
    s.arch.shared_buffer = static_cast<uint64_t>(p.number("shared_buffer"));
    s.arch.shram_banks = static_cast<int>(s.arch.shared_buffer / 1024);
  }
  s.clock = p.number("clock");
  s.axi_bytes_per_cycle = static_cast<double>(p.integer("axi_width_bits")) / 8.0;
  s.weights_in = mem_of(p.text("weights_in"));
  s.activations_in = mem_of(p.text("activations_in"));
  s.buffers = p.flag("double_buffering") ? 2 : 1;
  s.layer_overhead_cycles = static_cast<uint64_t>(p.integer("layer_overhead_cycles"));
  s.activation_burst = p.number("activation_burst");
  s.weight_burst = p.number("weight_burst");
  s.mac_energy = p.number("mac_energy");
  s.shared_buffer_energy = p.number("shared_buffer_energy");
  s.static_power = p.number("static_power");
  s.prune = p.number("prune");
  s.clusters = static_cast<int>(p.integer("clusters"));
  s.compress_layers = p.list("compress_layers");
  const std::string& b = p.text("block_config");
  if (b != "auto") {
    char rest = 0;
    if (std::sscanf(b.c_str(), "%dx%dx%d%c", &s.block_h, &s.block_w, &s.block_c, &rest) != 3 ||
        s.block_h < 1 || s.block_w < 1 || s.block_c < 1)
      config::fail_at(p.path_of("block_config"),
                      "expected auto or HxWxC with positive integers, e.g. 8x8x16");
  }
  return s;
}

}  // namespace edgesim::npu
