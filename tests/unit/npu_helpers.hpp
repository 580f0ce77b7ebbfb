#pragma once
// What the NPU tests share: a test device, a network compiled and timed on it, random
// inputs, the bit-exact comparison of the NPU's execution with the reference kernels,
// a field-by-field network comparison, and a temporary folder.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
#include "models/npu/reference.hpp"

namespace edgesim::npu {

/// JSON builders of networks in the edgesim.npu_network/1 format.
inline nlohmann::json tensor(const std::string& name, std::vector<int> shape, double scale = 0.05, int zp = -3) {
  return {{"name", name}, {"shape", shape}, {"scale", scale}, {"zero_point", zp}};
}

/// Deterministic weights over 255 levels (-127..127, no zeros), each about as frequent: no
/// palette pays, and the encoder writes 8-bit uncompressed indices (Golomb-Rice codes would
/// take about 9.5 bits): the hand computations of the timing tests rely on it.
inline std::vector<int> dense_weights(size_t n, int seed = 0) {
  std::vector<int> w(n);
  for (size_t i = 0; i < n; ++i) {
    const int v = static_cast<int>((i * 37 + static_cast<size_t>(seed) * 11) % 255) - 127;
    w[i] = v == 0 ? 1 : v;
  }
  return w;
}

inline nlohmann::json weighted(const std::string& type, const std::string& in, const nlohmann::json& out,
                               std::vector<int> wshape, int oc,
                               const nlohmann::json& extra = nlohmann::json::object()) {
  size_t n = 1;
  for (int d : wshape) n *= static_cast<size_t>(d);
  nlohmann::json op = {{"name", out["name"]},
                       {"type", type},
                       {"inputs", {in}},
                       {"output", out},
                       {"weights",
                        {{"shape", wshape},
                         {"scales", std::vector<double>(static_cast<size_t>(oc), 0.002)},
                         {"data", dense_weights(n)}}},
                       {"bias", {{"data", std::vector<int>(static_cast<size_t>(oc), 100)}}}};
  op.merge_patch(extra);
  return op;
}

inline nlohmann::json network(const nlohmann::json& input, nlohmann::json ops) {
  if (!ops.is_array()) ops = nlohmann::json::array({ops});  // a braced single op is an object
  return {{"schema", kNetworkSchema}, {"name", "test"}, {"input", input}, {"ops", ops}};
}

/// A test device: SRAM 8 B/cycle and flash 1 B/cycle at 500 MHz, no latencies, 1 pJ/bit.
inline nlohmann::json test_device_json(int macs, const std::string& weights_in,
                                       const nlohmann::json& npu_over = nlohmann::json::object()) {
  nlohmann::json npu = {{"macs", macs},
                        {"clock", "500 MHz"},
                        {"weights_in", weights_in},
                        {"layer_overhead_cycles", 0},
                        {"static_power", "0 W"}};
  npu.merge_patch(npu_over);
  return {{"device",
           {{"npu", npu},
            {"sram",
             {{"model", "bandwidth"},
              {"capacity", "64 MiB"},
              {"reserved", "0 B"},
              {"channels", 1},
              {"bus_width_bits", 64},
              {"data_rate", "500 MT/s"},
              {"efficiency", 1.0},
              {"latency", "0 ns"},
              {"read_energy", "1 pJ/bit"},
              {"write_energy", "1 pJ/bit"}}},
            {"flash",
             {{"model", "queued"},
              {"bandwidth", "0.5 GB/s"},
              {"read_latency", "0 ns"},
              {"channels", 1},
              {"queue_depth", 1},
              {"page_size", "1 B"},
              {"read_energy", "1 pJ/bit"},
              {"capacity", "1 GiB"}}}}}};
}

/// A network compiled for and timed on a device.
struct NpuRun {
  NpuDevice dev;
  Network net;
  Plan plan;
  Timing timing;
  NpuRun(const nlohmann::json& device, const nlohmann::json& net_json)
      : NpuRun(device, parse_network(net_json, ".", "test")) {}
  NpuRun(const nlohmann::json& device, Network n) : dev(build_npu_device(device)), net(std::move(n)) {
    plan = plan_network(net, dev.settings, dev.memories());
    timing = time_network(plan, dev.memories());
  }
};

inline std::vector<int8_t> random_input(const Network& net, std::mt19937& rng) {
  std::vector<int8_t> x(net.tensors[static_cast<size_t>(net.input)].size());
  std::uniform_int_distribution<int> u(-128, 127);
  for (auto& v : x) v = static_cast<int8_t>(u(rng));
  return x;
}

/// Runs the NPU's execution and the reference on `input`; true when every tensor matches
/// (else `where` names the first that differs).
inline bool bit_exact(const Network& net, const Plan& plan, const std::vector<int8_t>& input, std::string& where) {
  Executor exec(net, plan);
  exec.set_input(input.data());
  exec.run();
  const std::vector<int8_t> ref = run_reference(net, input.data());
  for (const auto& t : net.tensors) {
    if (!std::equal(ref.begin() + static_cast<long>(t.offset), ref.begin() + static_cast<long>(t.offset + t.size()),
                    exec.arena() + t.offset)) {
      where = t.name;
      return false;
    }
  }
  return true;
}

/// Every field of two networks, tensors and ops, derived multipliers included.
inline bool same_network(const Network& a, const Network& b) {
  auto same_tensor = [](const Tensor& x, const Tensor& y) {
    return x.name == y.name && x.shape == y.shape && x.h == y.h && x.w == y.w && x.c == y.c &&
           x.scale == y.scale && x.zero_point == y.zero_point && x.offset == y.offset && x.data == y.data;
  };
  auto same_op = [](const Op& x, const Op& y) {
    return x.type == y.type && x.name == y.name && x.inputs == y.inputs && x.output == y.output && x.kh == y.kh &&
           x.kw == y.kw && x.sh == y.sh && x.sw == y.sw && x.dh == y.dh && x.dw == y.dw &&
           x.pad_top == y.pad_top && x.pad_left == y.pad_left && x.depth_multiplier == y.depth_multiplier &&
           x.same_padding == y.same_padding && x.activation == y.activation && x.act_min == y.act_min &&
           x.act_max == y.act_max && x.weights == y.weights && x.bias == y.bias &&
           x.weight_scales == y.weight_scales && x.requant == y.requant && x.left_shift == y.left_shift &&
           x.in_requant == y.in_requant && x.out_requant == y.out_requant && x.axis == y.axis &&
           x.pad_before == y.pad_before && x.pad_after == y.pad_after && x.pad_value == y.pad_value &&
           x.perm == y.perm && x.begin == y.begin && x.step == y.step && x.slice_count == y.slice_count &&
           x.shrink_axis_mask == y.shrink_axis_mask && x.reduce == y.reduce &&
           x.align_corners == y.align_corners && x.half_pixel_centers == y.half_pixel_centers &&
           x.rescale == y.rescale && x.rescale_alpha == y.rescale_alpha && x.alpha == y.alpha &&
           x.mean_plain == y.mean_plain && x.input_multiplier == y.input_multiplier &&
           x.input_shift == y.input_shift && x.input_radius == y.input_radius &&
           x.reluish_multiplier == y.reluish_multiplier && x.swish_multiplier == y.swish_multiplier &&
           x.reluish_exponent == y.reluish_exponent && x.swish_exponent == y.swish_exponent && x.beta == y.beta &&
           x.on_cpu == y.on_cpu && x.cpu_reason == y.cpu_reason && x.macs == y.macs;
  };
  if (a.name != b.name || a.input != b.input || a.output != b.output || a.raw_scale != b.raw_scale ||
      a.arena_bytes != b.arena_bytes || a.tensors.size() != b.tensors.size() || a.ops.size() != b.ops.size())
    return false;
  for (size_t i = 0; i < a.tensors.size(); ++i)
    if (!same_tensor(a.tensors[i], b.tensors[i])) return false;
  for (size_t i = 0; i < a.ops.size(); ++i)
    if (!same_op(a.ops[i], b.ops[i])) return false;
  return true;
}

/// A fresh folder under $TMPDIR (or /tmp), removed with its contents on destruction.
struct TempFolder {
  std::string path;
  TempFolder() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/edgesim-npu-XXXXXX";
    path = ::mkdtemp(templ.data()) ? templ : std::string();
    if (path.empty()) throw std::runtime_error("mkdtemp failed");
  }
  ~TempFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace edgesim::npu
