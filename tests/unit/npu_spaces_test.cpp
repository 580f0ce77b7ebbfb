// The search spaces of `edgesim npu-dataset` (models/npu/spaces/): each generator is
// deterministic per seed, its networks are valid and their features agree with them, the
// compressible space's weights have the sparsity and clustering asked for, a range that
// admits no network is an input error, and every network survives the .tflite round trip.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "models/npu/compress.hpp"
#include "models/npu/features.hpp"
#include "models/npu/spaces/space.hpp"
#include "models/npu/summary.hpp"
#include "models/npu/tflite.hpp"
#include "models/npu/tflite_writer.hpp"
#include "sim/core/errors.hpp"
#include "tests/unit/npu_helpers.hpp"

using namespace edgesim;
using namespace edgesim::npu;
using nlohmann::json;

namespace {

const std::vector<std::string> kSpaces = {"mobilenetv2", "resnet", "dscnn", "compressible"};

/// Small networks so that the tests stay quick: low resolutions and few classes.
json small_options() {
  return {{"mobilenetv2", {{"resolution_min", 64}, {"resolution_max", 96}, {"classes", 10}}},
          {"resnet", {{"resolution_min", 64}, {"resolution_max", 96}, {"classes", 10}, {"width_max", 32}}},
          {"dscnn", {{"channels_max", 96}}}};
}

std::unique_ptr<spaces::Space> space(const std::string& name, const json& options = small_options()) {
  json resolved;
  return spaces::make_space(name, options, resolved);
}

/// Everything of a network that the NPU sees, as bytes: the export's JSON and weights.
std::string fingerprint(const Network& net) {
  const ExportedNetwork e = export_network(net, "w.bin");
  return e.doc.dump() + e.weights;
}

void require_same_network(const Network& a, const Network& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  REQUIRE(a.ops.size() == b.ops.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    INFO("tensor " << i << " " << a.tensors[i].name);
    CHECK(a.tensors[i].shape == b.tensors[i].shape);
    CHECK(a.tensors[i].scale == b.tensors[i].scale);
    CHECK(a.tensors[i].zero_point == b.tensors[i].zero_point);
  }
  for (size_t i = 0; i < a.ops.size(); ++i) {
    const Op &x = a.ops[i], &y = b.ops[i];
    INFO("op " << i << " " << x.name);
    CHECK(x.type == y.type);
    CHECK(x.inputs == y.inputs);
    CHECK(x.output == y.output);
    CHECK(x.weights == y.weights);
    CHECK(x.bias == y.bias);
    CHECK(x.weight_scales == y.weight_scales);
    CHECK(x.requant == y.requant);
    CHECK(x.out_requant == y.out_requant);
    CHECK(x.in_requant == y.in_requant);
    CHECK(x.rescale == y.rescale);
    CHECK(x.activation == y.activation);
    CHECK((x.act_min == y.act_min && x.act_max == y.act_max));
    CHECK((x.kh == y.kh && x.kw == y.kw && x.sh == y.sh && x.sw == y.sw));
    CHECK((x.pad_top == y.pad_top && x.pad_left == y.pad_left));
    CHECK(x.reduce == y.reduce);
    CHECK(x.macs == y.macs);
    CHECK(x.on_cpu == y.on_cpu);
  }
}

}  // namespace

TEST_CASE("every search space gives the same network for the same seed and others for other seeds",
          "[npu][spaces]") {
  for (const auto& name : kSpaces) {
    INFO(name);
    const auto s = space(name);
    std::set<std::string> seen;
    for (uint64_t i = 0; i < 4; ++i) {
      const uint64_t seed = spaces::network_seed(7, i);
      const spaces::Sample a = s->generate(seed, nullptr);
      const spaces::Sample b = space(name)->generate(seed, nullptr);  // a fresh generator too
      CHECK(fingerprint(a.net) == fingerprint(b.net));
      CHECK(a.arch == b.arch);
      seen.insert(fingerprint(a.net));
    }
    CHECK(seen.size() == 4);
  }
  // Per-network seeds depend on the dataset seed and the index.
  CHECK(spaces::network_seed(1, 0) != spaces::network_seed(2, 0));
  CHECK(spaces::network_seed(1, 0) != spaces::network_seed(1, 1));
}

TEST_CASE("graph features agree with the network they describe", "[npu][spaces]") {
  for (const auto& name : kSpaces) {
    INFO(name);
    const Network net = space(name)->generate(spaces::network_seed(3, 1), nullptr).net;
    const GraphFeatures f = graph_features(net);
    uint64_t macs = 0, params = 0, weights = 0, zeros = 0, ops = 0;
    size_t largest = 0;
    for (const Op& op : net.ops) {
      // MACs from the shapes, independently of add_op's count.
      const Tensor& in = net.tensors[static_cast<size_t>(op.inputs[0])];
      const Tensor& out = net.tensors[static_cast<size_t>(op.output)];
      if (op.type == OpType::Conv2d)
        macs += out.size() * op.kh * op.kw * in.c;
      else if (op.type == OpType::DepthwiseConv2d)
        macs += out.size() * op.kh * op.kw;
      else if (op.type == OpType::FullyConnected)
        macs += out.size() * in.size();
      else
        macs += op.macs;
      params += op.weights.size() + op.bias.size();
      weights += op.weights.size();
      zeros += static_cast<uint64_t>(std::count(op.weights.begin(), op.weights.end(), 0));
      largest = std::max(largest, in.size() + out.size());
    }
    for (uint64_t c : f.op_counts) ops += c;
    CHECK(f.layers == net.ops.size());
    CHECK(ops == net.ops.size());
    CHECK(f.macs == macs);
    CHECK(f.macs == net.total_macs());
    CHECK(f.params == params);
    CHECK(f.weights == weights);
    CHECK(f.zero_weights == zeros);
    CHECK(f.weight_bytes == net.weight_bytes());
    // Peak live activations: at least any op's input and output together, at most all.
    CHECK(f.peak_activation_bytes >= largest);
    uint64_t all = 0;
    for (const Tensor& t : net.tensors) all += t.size();
    CHECK(f.peak_activation_bytes <= all);
  }
}

TEST_CASE("a DS-CNN of pinned choices has Hello Edge's shapes and MACs", "[npu][spaces]") {
  const json o = {{"dscnn",
                   {{"frames_min", 49},
                    {"frames_max", 49},
                    {"coefficients_min", 10},
                    {"coefficients_max", 10},
                    {"channels_min", 64},
                    {"channels_max", 64},
                    {"blocks_min", 4},
                    {"blocks_max", 4}}}};
  const Network net = space("dscnn", o)->generate(1, nullptr).net;
  // conv 10x4 /2 -> 25x5x64, four (dw 3x3 + pw 1x1), mean, fc 12, softmax.
  REQUIRE(net.ops.size() == 1 + 8 + 3);
  const uint64_t conv = 25 * 5 * 64 * 10 * 4, dw = 25 * 5 * 64 * 9, pw = 25 * 5 * 64 * 64;
  const uint64_t mean = 25 * 5 * 64, fc = 12 * 64, softmax = net.ops.back().macs;
  CHECK(graph_features(net).macs == conv + 4 * (dw + pw) + mean + fc + softmax);
  CHECK(net.tensors[static_cast<size_t>(net.ops[0].output)].shape == std::vector<int>{1, 25, 5, 64});
  // Activations live at once: the largest is a pointwise layer's input and output.
  CHECK(graph_features(net).peak_activation_bytes == 2 * 25 * 5 * 64);
}

TEST_CASE("the compressible space draws the sparsity and clusters it is asked for", "[npu][spaces]") {
  json o = small_options();
  o["compressible"] = {{"base", "dscnn"},     {"compress_probability", 1.0},   {"sparsity_min", 0.5},
                       {"sparsity_max", 0.5}, {"cluster_probability", 1.0},    {"clusters_min", 8},
                       {"clusters_max", 8},   {"restructure_probability", 0.0}};
  const Network net = space("compressible", o)->generate(5, nullptr).net;
  const Network dense = space("dscnn", o)->generate(5, nullptr).net;
  size_t layers = 0;
  for (const Op& op : net.ops) {
    if (op.weights.size() < 500) continue;  // small layers: too few weights for the statistics
    ++layers;
    const WeightEncoding e = weight_stats(op.weights.data(), op.weights.size());
    const double zeros = static_cast<double>(e.zeros) / static_cast<double>(e.weights);
    INFO(op.name << " zeros " << zeros);
    CHECK(zeros == Approx(0.5).margin(0.06));
    CHECK(e.distinct_nonzero <= 8);
    CHECK(e.distinct_nonzero >= 6);
  }
  CHECK(layers > 0);
  // Fewer stream bytes than dense weights of the same kind of network on the same device.
  const NpuRun c(test_device_json(128, "flash"), net), d(test_device_json(128, "flash"), dense);
  const double per_weight_c = static_cast<double>(summarise(c.net, c.plan, c.timing).weight_stream_bytes) /
                              static_cast<double>(graph_features(net).params);
  const double per_weight_d = static_cast<double>(summarise(d.net, d.plan, d.timing).weight_stream_bytes) /
                              static_cast<double>(graph_features(dense).params);
  CHECK(per_weight_c < 0.7 * per_weight_d);
}

TEST_CASE("restructuring replaces hard swish and squeeze-excite by ReLU-only blocks", "[npu][spaces]") {
  json o = small_options();
  o["mobilenetv2"]["se_probability"] = 1.0;
  o["mobilenetv2"]["hswish_probability"] = 1.0;
  const Network plain = space("mobilenetv2", o)->generate(9, nullptr).net;
  auto count = [](const Network& n, OpType t) {
    return std::count_if(n.ops.begin(), n.ops.end(), [&](const Op& op) { return op.type == t; });
  };
  CHECK(count(plain, OpType::HardSwish) > 0);
  CHECK(count(plain, OpType::Logistic) > 0);
  o["compressible"] = {{"base", "mobilenetv2"}, {"restructure_probability", 1.0}};
  const Network relu = space("compressible", o)->generate(9, nullptr).net;
  CHECK(count(relu, OpType::HardSwish) == 0);
  CHECK(count(relu, OpType::Logistic) == 0);
  CHECK(count(relu, OpType::Mul) == 0);
}

TEST_CASE("a range that admits no network, an unknown space or key is an input error", "[npu][spaces]") {
  json resolved;
  CHECK_THROWS_WITH(
      spaces::make_space("mobilenetv2", {{"mobilenetv2", {{"resolution_min", 100}, {"resolution_max", 120}}}},
                         resolved),
      Catch::Contains("mobilenetv2.resolution") && Catch::Contains("no valid network"));
  CHECK_THROWS_WITH(
      spaces::make_space("resnet", {{"resnet", {{"width_min", 100}, {"width_max", 120}}}}, resolved),
      Catch::Contains("resnet.width") && Catch::Contains("no valid network"));
  CHECK_THROWS_WITH(spaces::make_space("mobilenet", json::object(), resolved),
                    Catch::Contains("no space named 'mobilenet'") && Catch::Contains("mobilenetv2"));
  CHECK_THROWS_WITH(spaces::make_space("dscnn", {{"dscnn", {{"chanels_max", 64}}}}, resolved),
                    Catch::Contains("chanels_max") && Catch::Contains("channels_max"));
  CHECK_THROWS_AS(spaces::make_space("dscnn", {{"dsccn", json::object()}}, resolved), InputError);
}

TEST_CASE("every space's networks read back from .tflite as the same network with the same timing",
          "[npu][spaces][tflite]") {
  for (const auto& name : kSpaces) {
    for (uint64_t seed : {1u, 2u}) {
      INFO(name << " seed " << seed);
      const Network net = space(name)->generate(seed, nullptr).net;
      const std::vector<uint8_t> bytes = write_tflite(net);
      const Network back = parse_tflite(bytes.data(), bytes.size(), "back.tflite");
      require_same_network(net, back);
      const NpuRun a(test_device_json(64, "flash"), net), b(test_device_json(64, "flash"), back);
      CHECK(a.timing.cycles == b.timing.cycles);
      CHECK(a.timing.energy == b.timing.energy);
    }
  }
}

TEST_CASE("plans sharing a PlanCache across configurations equal plans made alone", "[npu][spaces][timing]") {
  // Weights in flash (sliced DMA) and in SRAM (read in place), on every MAC count.
  for (const auto& name : {"mobilenetv2", "compressible"}) {
    const Network net = space(name)->generate(spaces::network_seed(4, 2), nullptr).net;
    PlanCache cache;
    for (int macs : {32, 64, 128, 256}) {
      for (const char* weights_in : {"flash", "sram"}) {
        INFO(name << " " << macs << " " << weights_in);
        const NpuDevice dev = build_npu_device(test_device_json(macs, weights_in));
        const Plan alone = plan_network(net, dev.settings, dev.memories());
        const Plan shared = plan_network(net, dev.settings, dev.memories(), &cache);
        REQUIRE(alone.layers.size() == shared.layers.size());
        for (size_t i = 0; i < alone.layers.size(); ++i) {
          const LayerPlan &a = alone.layers[i], &b = shared.layers[i];
          CHECK(a.weight_stream_bytes == b.weight_stream_bytes);
          CHECK(a.encoding.bits == b.encoding.bits);
          CHECK(a.encoding.mode == b.encoding.mode);
          CHECK(a.jobs.size() == b.jobs.size());
          CHECK(a.dma.size() == b.dma.size());
        }
        const Timing ta = time_network(alone, dev.memories()), tb = time_network(shared, dev.memories());
        CHECK(ta.cycles == tb.cycles);
        CHECK(ta.energy == tb.energy);
      }
    }
  }
}
