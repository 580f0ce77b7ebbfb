// The TFLite reader on the two real networks (configs/networks/tflite): what it reads
// (ops, shapes, quantization, MACs), the NPU's bit-exact execution of them against the
// reference kernels, and the JSON exporter's round trip (the same network back).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "models/memory/dram.hpp"
#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
#include "models/npu/reference.hpp"
#include "models/npu/tflite.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "tests/unit/npu_helpers.hpp"

using namespace edgesim;
using namespace edgesim::npu;
using nlohmann::json;

namespace {

const std::string kNets = EDGESIM_TEST_DATA "/../../configs/networks/tflite";

}  // namespace

TEST_CASE("the TFLite reader maps person_detect's 31 operators with per-channel weights", "[npu][tflite]") {
  const Network net = load_network(kNets + "/person_detect.tflite");
  CHECK(net.name == "person_detect");
  REQUIRE(net.ops.size() == 31);
  size_t dw = 0, conv = 0;
  for (const Op& op : net.ops) {
    dw += op.type == OpType::DepthwiseConv2d;
    conv += op.type == OpType::Conv2d;
  }
  CHECK(dw == 14);
  CHECK(conv == 14);
  CHECK(net.ops[27].type == OpType::AvgPool);
  CHECK(net.ops[29].type == OpType::Reshape);
  CHECK(net.ops[30].type == OpType::Softmax);
  // The first layer: depthwise 3x3, stride 2, SAME, depth multiplier 8 on the 96x96x1 input.
  const Op& first = net.ops[0];
  CHECK(first.depth_multiplier == 8);
  CHECK(first.sh == 2);
  CHECK(first.same_padding);
  CHECK(first.activation == Activation::Relu6);
  const Tensor& in = net.tensors[static_cast<size_t>(net.input)];
  CHECK(in.shape == std::vector<int>{1, 96, 96, 1});
  CHECK(in.zero_point == -1);
  CHECK(net.tensors[static_cast<size_t>(first.output)].shape == std::vector<int>{1, 48, 48, 8});
  // Per-channel scales, one per output channel, as the file stores them (float32).
  REQUIRE(first.weight_scales.size() == 8);
  CHECK(first.weight_scales[0] != first.weight_scales[1]);
  CHECK(static_cast<double>(static_cast<float>(first.weight_scales[0])) == first.weight_scales[0]);
  const Tensor& out = net.tensors[static_cast<size_t>(net.output)];
  CHECK(out.shape == std::vector<int>{1, 2});
  CHECK(out.zero_point == -128);
  // MobileNet v1 0.25 at 96x96: 7.2 M MACs (the README's figure).
  CHECK(net.total_macs() > 7'000'000);
  CHECK(net.total_macs() < 7'400'000);
}

TEST_CASE("the TFLite reader maps micro_speech with a per-tensor fully connected layer", "[npu][tflite]") {
  const Network net = load_network(kNets + "/micro_speech_quantized.tflite");
  REQUIRE(net.ops.size() == 4);
  CHECK(net.ops[0].type == OpType::Reshape);
  CHECK(net.ops[1].type == OpType::DepthwiseConv2d);
  CHECK(net.ops[1].depth_multiplier == 8);
  CHECK(net.ops[1].kh == 10);
  CHECK(net.ops[1].kw == 8);
  const Op& fc = net.ops[2];
  REQUIRE(fc.type == OpType::FullyConnected);
  CHECK(fc.weights.size() == 4 * 4000);
  // A per-tensor scale applies to every output channel.
  REQUIRE(fc.weight_scales.size() == 4);
  CHECK(fc.weight_scales[0] == fc.weight_scales[3]);
  CHECK(net.ops[3].type == OpType::Softmax);
  CHECK(net.total_macs() > 330'000);
  CHECK(net.total_macs() < 340'000);
}

TEST_CASE("the NPU runs both TFLite networks bit-exactly as the reference kernels", "[npu][tflite]") {
  std::mt19937 rng(3);
  for (const char* file : {"person_detect.tflite", "micro_speech_quantized.tflite"}) {
    const Network net = load_network(kNets + "/" + file);
    for (int macs : {32, 256}) {
      const NpuRun r(test_device_json(macs, "flash"), net);
      for (int trial = 0; trial < 2; ++trial) {
        std::string where;
        const auto x = random_input(r.net, rng);
        INFO(file << ", MACs " << macs);
        CHECK(bit_exact(r.net, r.plan, x, where));
        CAPTURE(where);
      }
    }
  }
}

TEST_CASE("a TFLite network exported as JSON loads back as the same network", "[npu][tflite]") {
  TempFolder tmp;
  for (const char* file : {"person_detect.tflite", "micro_speech_quantized.tflite"}) {
    const Network net = load_network(kNets + "/" + file);
    const ExportedNetwork e = export_network(net, "net.bin");
    write_file(tmp.path + "/net.json", e.doc.dump(1));
    write_file(tmp.path + "/net.bin", e.weights);
    const Network back = load_network(tmp.path + "/net.json");
    INFO(file);
    CHECK(same_network(net, back));
    // The check is not vacuous: one changed weight is a different network.
    Network changed = back;
    changed.ops[1].weights[3] ^= 1;
    CHECK_FALSE(same_network(net, changed));
  }
}
