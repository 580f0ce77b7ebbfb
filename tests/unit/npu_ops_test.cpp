// The op coverage of the NPU model (TFLite's int8 semantics): every op type executed by
// the NPU's execution bit-exactly as the reference kernels, on the NPU and on the host
// CPU; the element-wise functions against their real definitions; data movement against
// hand-computed results; placement by Vela's constraints; the CPU cost model.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "models/npu/activations.hpp"
#include "models/npu/kernels.hpp"
#include "models/npu/quant.hpp"
#include "models/npu/support.hpp"
#include "sim/core/errors.hpp"
#include "tests/unit/npu_helpers.hpp"

using namespace edgesim;
using namespace edgesim::npu;
using nlohmann::json;

namespace {

json op(const std::string& type, std::vector<std::string> inputs, const json& out,
        const json& extra = json::object()) {
  json o = {{"name", out["name"]}, {"type", type}, {"inputs", inputs}, {"output", out}};
  o.merge_patch(extra);
  return o;
}

/// A network with every op type: the TFLite ops edgesim maps, with the parameters that
/// select each code path (dilation, depth multiplier, broadcasting of constants, padding
/// of H and W and C, mean with and without equal quantization, every element-wise
/// function, transposes, slices with negative strides and shrunk axes, resizes with each
/// coordinate mode, concatenation along H and C).
json every_op_network() {
  const json ops = json::array({
      weighted("conv2d", "x", tensor("conv_d", {6, 8, 6}, 0.04, -128), {6, 3, 3, 4}, 6,
               {{"dilation", {2, 2}}, {"padding", "same"}, {"activation", "relu"}}),
      weighted("depthwise_conv2d", "conv_d", tensor("dw2", {6, 8, 12}, 0.05, 3), {1, 3, 3, 12}, 12,
               {{"depth_multiplier", 2}, {"dilation", {1, 2}}, {"padding", "same"}}),
      op("sub", {"dw2", "bias_c"}, tensor("sub", {6, 8, 12}, 0.06, -4)),
      op("mul", {"sub", "two"}, tensor("mul", {6, 8, 12}, 0.08, 1), {{"activation", "relu6"}}),
      op("pad", {"mul"}, tensor("pad", {8, 10, 13}, 0.08, 1), {{"pads", {1, 1, 2, 0, 0, 1}}}),
      op("mean", {"pad"}, tensor("mean_hw", {13}, 0.03, -5), {{"axes", {0, 1}}}),
      op("mean", {"pad"}, tensor("mean_c", {8, 10}, 0.08, 1), {{"axes", {-1}}}),
      op("quantize", {"pad"}, tensor("quant", {8, 10, 13}, 0.05, 10)),
      op("logistic", {"quant"}, tensor("sigmoid", {8, 10, 13}, 1.0 / 256, -128)),
      op("tanh", {"quant"}, tensor("tanh", {8, 10, 13}, 1.0 / 128, 0)),
      op("hard_swish", {"quant"}, tensor("hswish", {8, 10, 13}, 0.03, -20)),
      op("relu", {"quant"}, tensor("relu", {8, 10, 13}, 0.04, -128)),
      op("relu6", {"quant"}, tensor("relu6", {8, 10, 13}, 0.03, -128)),
      op("relu_n1_to_1", {"quant"}, tensor("relu1", {8, 10, 13}, 0.01, 0)),
      op("leaky_relu", {"quant"}, tensor("leaky", {8, 10, 13}, 0.045, 5), {{"alpha", 0.2}}),
      op("transpose", {"leaky"}, tensor("t_hw", {10, 8, 13}, 0.045, 5), {{"perm", {1, 0, 2}}}),
      op("transpose", {"leaky"}, tensor("t_chw", {13, 8, 10}, 0.045, 5), {{"perm", {2, 0, 1}}}),
      op("strided_slice", {"t_hw"}, tensor("slice", {4, 3, 11}, 0.045, 5),
         {{"begin", {1, 0, 2}}, {"end", {9, 8, 13}}, {"strides", {2, 3, 1}}}),
      op("strided_slice", {"t_hw"}, tensor("slice_rev", {10, 13}, 0.045, 5),
         {{"begin", {-1, 2, 0}}, {"end", {0, 3, 0}}, {"strides", {-1, 1, 1}}, {"end_mask", 5},
          {"shrink_axis_mask", 2}}),
      op("resize_nearest", {"x"}, tensor("up_n", {12, 16, 4}, 0.05, -3)),
      op("resize_bilinear", {"x"}, tensor("up_b", {12, 16, 4}, 0.05, -3), {{"half_pixel_centers", true}}),
      op("resize_bilinear", {"x"}, tensor("up_a", {11, 15, 4}, 0.05, -3), {{"align_corners", true}}),
      op("resize_nearest", {"x"}, tensor("up_odd", {9, 11, 4}, 0.05, -3), {{"half_pixel_centers", true}}),
      op("concat", {"sigmoid", "tanh"}, tensor("cat_h", {16, 10, 13}, 0.01, -100), {{"axis", 0}}),
      op("concat", {"relu", "relu6"}, tensor("cat_c", {8, 10, 26}, 0.04, -128), {{"axis", -1}}),
      op("max_pool", {"cat_c"}, tensor("maxp", {4, 5, 26}, 0.04, -128),
         {{"kernel", {2, 2}}, {"stride", {2, 2}}, {"padding", "valid"}}),
      op("avg_pool", {"maxp"}, tensor("avgp", {4, 5, 26}, 0.04, -128),
         {{"kernel", {3, 3}}, {"stride", {1, 1}}, {"padding", "same"}}),
      op("add", {"avgp", "avgp"}, tensor("add", {4, 5, 26}, 0.07, -100), {{"activation", "relu"}}),
      op("reshape", {"mean_hw"}, tensor("flat", {1, 13}, 0.03, -5)),
      weighted("fully_connected", "flat", tensor("fc", {1, 7}, 0.2, 3), {7, 13}, 7),
      op("softmax", {"fc"}, tensor("prob", {1, 7}, 1.0 / 256, -128), {{"beta", 1.5}}),
  });
  json doc = network(tensor("x", {6, 8, 4}, 0.05, -3), ops);
  doc["constants"] = {
      {{"name", "bias_c"}, {"shape", {1, 1, 12}}, {"scale", 0.05}, {"zero_point", 2},
       {"data", {-60, -40, -20, 0, 20, 40, 60, 80, 100, 120, -100, 7}}},
      {{"name", "two"}, {"shape", {1}}, {"scale", 0.02}, {"zero_point", 0}, {"data", {100}}}};
  doc["output"] = "prob";
  return doc;
}

/// Real value of q in t's quantization, and the int8 nearest a real.
double real(int q, const Tensor& t) {
  return t.scale * (q - t.zero_point);
}
int quant(double r, const Tensor& t) {
  return std::clamp(static_cast<int>(std::lround(r / t.scale)) + t.zero_point, -128, 127);
}

std::vector<int8_t> values(const Executor& e, const Network& net, const std::string& name) {
  const Tensor& t = net.tensors[static_cast<size_t>(net.tensor_index(name))];
  return {e.tensor(net.tensor_index(name)), e.tensor(net.tensor_index(name)) + t.size()};
}

}  // namespace

TEST_CASE("every op type runs bit-exactly on the NPU and on the CPU (TFLite int8 semantics)", "[npu][ops]") {
  const json doc = every_op_network();
  const Network net = parse_network(doc, ".", "every_op");
  // Every type of the format appears.
  for (OpType t : all_op_types()) {
    bool found = false;
    for (const Op& o : net.ops) found = found || o.type == t;
    CAPTURE(op_type_name(t));
    CHECK(found);
  }
  std::mt19937 rng(11);
  for (int macs : {32, 128, 256}) {
    for (const char* block : {"auto", "3x5x4"}) {
      const NpuRun r(test_device_json(macs, "sram", {{"block_config", block}}), net);
      for (int trial = 0; trial < 3; ++trial) {
        std::string where;
        const auto x = random_input(r.net, rng);
        INFO("MACs " << macs << ", block " << block << ", first tensor differing: " << where);
        CHECK(bit_exact(r.net, r.plan, x, where));
      }
    }
  }
  // With a fault set on a layer (here one that changes nothing), the layer runs OFM block
  // by OFM block as the plan's jobs instead of whole rows: the same outputs.
  for (const char* block : {"auto", "3x5x4", "1x1x16"}) {
    const NpuRun r(test_device_json(64, "sram", {{"block_config", block}}), net);
    const auto x = random_input(r.net, rng);
    const auto ref = run_reference(r.net, x.data());
    for (size_t layer = 0; layer < net.ops.size(); ++layer) {
      if (!weighted(net.ops[layer].type)) continue;
      Executor e(r.net, r.plan);
      BlockFault none;
      none.layer = layer;  // kNone: the blocks run, nothing is changed
      e.set_fault(&none);
      e.set_input(x.data());
      e.run();
      CAPTURE(block, net.ops[layer].name);
      CHECK(std::equal(ref.begin(), ref.end(), e.arena()));
    }
  }
  // Not vacuous: every op's output changes with the input.
  const NpuRun r(test_device_json(128, "sram"), net);
  Executor a(r.net, r.plan), b(r.net, r.plan);
  std::vector<int8_t> xa = random_input(net, rng), xb = random_input(net, rng);
  a.set_input(xa.data());
  b.set_input(xb.data());
  a.run();
  b.run();
  for (const Op& o : net.ops) {
    const std::string& name = net.tensors[static_cast<size_t>(o.output)].name;
    CAPTURE(name);
    CHECK(values(a, net, name) != values(b, net, name));
  }
}

TEST_CASE("an op the NPU cannot take runs on the CPU with the reason, and its layer costs the CPU's cycles",
          "[npu][ops]") {
  const Network net = parse_network(every_op_network(), ".", "every_op");
  auto find = [&](const std::string& name) -> const Op& {
    for (const Op& o : net.ops)
      if (o.name == name) return o;
    FAIL("no op " << name);
    return net.ops[0];
  };
  // Vela 3.10 constraints: a depth multiplier above 1 needs one input channel; a transpose
  // of C to H with W > 1 is not among those supported; a slice of stride other than 1.
  CHECK(find("dw2").on_cpu);
  CHECK_THAT(find("dw2").cpu_reason, Catch::Contains("depth multiplier"));
  CHECK(find("t_chw").on_cpu);
  CHECK_FALSE(find("t_hw").on_cpu);
  CHECK(find("slice").on_cpu);
  CHECK(find("up_odd").on_cpu);  // 9x11 from 6x8: not 2x, 4x or 8x
  CHECK_FALSE(find("up_n").on_cpu);
  CHECK_FALSE(find("conv_d").on_cpu);
  CHECK_FALSE(find("sigmoid").on_cpu);
  CHECK_FALSE(find("fc").on_cpu);  // per-tensor weights (one scale): the NPU takes it
  // The CPU layer's cycles: the cost model's (MACs x cycles per MAC + overhead) at the
  // NPU's clock, plus its transfers (no overlap), with no NPU layer overhead.
  const NpuRun r(test_device_json(128, "sram", {{"layer_overhead_cycles", 77}}), net);
  const size_t i = static_cast<size_t>(std::find_if(net.ops.begin(), net.ops.end(),
                                                    [](const Op& o) { return o.name == "dw2"; }) -
                                       net.ops.begin());
  const CpuSettings cpu;
  const uint64_t expect = cpu.op_overhead_cycles + static_cast<uint64_t>(std::ceil(net.ops[i].macs * cpu.cycles_per_mac));
  REQUIRE(r.plan.layers[i].jobs.size() == 1);
  CHECK(r.plan.layers[i].jobs[0].compute_cycles == expect);
  CHECK(r.timing.layers[i].cycles == expect + r.timing.layers[i].traffic_cycles);
  CHECK(r.timing.layers[i].compute_energy == Approx(expect * cpu.energy_per_cycle));
}

TEST_CASE("a convolution whose channel weight sum passes Vela's limit runs on the CPU", "[npu][ops]") {
  // Vela: the sum of |w| over one output channel's weights at most 127 x 65536 = 8,323,072.
  // An 8x8 kernel over 1,040 channels holds 66,560 weights per output channel: at 125 the
  // sum is 8,320,000 (the NPU), at 126 it is 8,386,560 (the CPU). Channels of at most
  // 65,024 weights cannot pass the limit whatever their values.
  auto conv = [](int ic, int value) {
    json op = weighted("conv2d", "x", tensor("y", {1, 1, 2}), {2, 8, 8, ic}, 2);
    op["weights"]["data"] = std::vector<int>(static_cast<size_t>(2 * 64 * ic), value);
    return parse_network(network(tensor("x", {8, 8, ic}), {op}), ".", "weight_sum").ops[0];
  };
  CHECK_FALSE(conv(1040, 125).on_cpu);
  const Op over = conv(1040, 126);
  CHECK(over.on_cpu);
  CHECK_THAT(over.cpu_reason, Catch::Contains("weight sum 8386560 > 8323072"));
  CHECK_FALSE(conv(1016, -128).on_cpu);  // 65,024 weights of |-128|: 8,323,072, the limit itself
}

TEST_CASE("element-wise functions agree with their real definitions within one step", "[npu][ops]") {
  const Network net = parse_network(every_op_network(), ".", "every_op");
  for (const Op& o : net.ops) {
    if (!table_op(o.type)) continue;
    const Tensor& in = net.tensors[static_cast<size_t>(o.inputs[0])];
    const Tensor& out = net.tensors[static_cast<size_t>(o.output)];
    int worst = 0;
    for (int q = -128; q < 128; ++q) {
      const double x = real(q, in);
      double y = 0;
      switch (o.type) {
        case OpType::Logistic: y = 1 / (1 + std::exp(-x)); break;
        case OpType::Tanh: y = std::tanh(x); break;
        case OpType::HardSwish: y = x * std::clamp(x + 3, 0.0, 6.0) / 6; break;
        case OpType::LeakyRelu: y = x >= 0 ? x : o.alpha * x; break;
        case OpType::Relu: y = std::max(0.0, x); break;
        case OpType::Relu6: y = std::clamp(x, 0.0, 6.0); break;
        case OpType::ReluN1To1: y = std::clamp(x, -1.0, 1.0); break;
        default: y = x;  // quantize
      }
      const int got = activation_element(o, static_cast<int8_t>(q), in, out);
      worst = std::max(worst, std::abs(got - quant(y, out)));
    }
    CAPTURE(o.name);
    CHECK(worst <= 1);
  }
  // Softmax: rows of random values against the real softmax.
  const Op& sm = net.ops.back();
  REQUIRE(sm.type == OpType::Softmax);
  const Tensor& in = net.tensors[static_cast<size_t>(sm.inputs[0])];
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> u(-128, 127);
  int worst = 0;
  for (int row = 0; row < 200; ++row) {
    std::vector<int> q(7);
    for (int& v : q) v = u(rng);
    const int mx = *std::max_element(q.begin(), q.end());
    int32_t sum = 0;
    double fsum = 0;
    for (int v : q) {
      sum += softmax_accumulate(softmax_exp(sm, v - mx));
      fsum += std::exp(sm.beta * real(v, in) - sm.beta * real(mx, in));
    }
    const SoftmaxScale s = softmax_scale(sum);
    for (int v : q) {
      const int got = softmax_output(softmax_exp(sm, v - mx), s);
      const double p = std::exp(sm.beta * (real(v, in) - real(mx, in))) / fsum;
      worst = std::max(worst, std::abs(got - std::clamp(static_cast<int>(std::lround(p * 256)) - 128, -128, 127)));
    }
  }
  CHECK(worst <= 1);
}

TEST_CASE("data movement ops give the hand-computed results", "[npu][ops]") {
  // Input 2x3x2 holding 0..11 (scale 1, zero point 0): value = (y * 3 + x) * 2 + c.
  const json x = tensor("x", {2, 3, 2}, 1.0, 0);
  const json ops = json::array({
      op("transpose", {"x"}, tensor("tr", {2, 3, 2}, 1.0, 0), {{"perm", {2, 1, 0}}}),
      op("strided_slice", {"x"}, tensor("sl", {2, 1}, 1.0, 0),
         {{"begin", {0, 2, 1}}, {"end", {2, 0, 2}}, {"strides", {1, -2, 1}}, {"shrink_axis_mask", 4}}),
      op("pad", {"x"}, tensor("pd", {3, 3, 3}, 1.0, 0), {{"pads", {1, 0, 0, 0, 0, 1}}, {"pad_value", -7}}),
      op("resize_nearest", {"x"}, tensor("rn", {4, 6, 2}, 1.0, 0)),
      op("concat", {"x", "x"}, tensor("cw", {2, 6, 2}, 1.0, 0), {{"axis", 1}}),
      op("mean", {"x"}, tensor("mn", {2, 1, 2}, 1.0, 0), {{"axes", {1}}}),
  });
  json doc = network(x, ops);
  doc["output"] = "tr";
  const Network net = parse_network(doc, ".", "moves");
  std::vector<int8_t> in(12);
  for (int i = 0; i < 12; ++i) in[static_cast<size_t>(i)] = static_cast<int8_t>(i);
  const NpuRun r(test_device_json(128, "sram"), net);
  Executor e(r.net, r.plan);
  e.set_input(in.data());
  e.run();
  const auto ref = run_reference(net, in.data());
  auto both = [&](const std::string& name) {
    const Tensor& t = net.tensors[static_cast<size_t>(net.tensor_index(name))];
    const std::vector<int8_t> got = values(e, net, name);
    CHECK(std::vector<int8_t>(ref.begin() + static_cast<long>(t.offset),
                              ref.begin() + static_cast<long>(t.offset + t.size())) == got);
    return std::vector<int>(got.begin(), got.end());
  };
  // Transpose [2,1,0]: out[c][x][y] = in[y][x][c].
  CHECK(both("tr") == std::vector<int>{0, 6, 2, 8, 4, 10, 1, 7, 3, 9, 5, 11});
  // Slice: y in {0, 1}, x from 2 down to (not including) 0 by -2 -> x = 2; c = 1, shrunk.
  CHECK(both("sl") == std::vector<int>{5, 11});
  // Pad one row on top and one channel after, with -7.
  CHECK(both("pd") == std::vector<int>{-7, -7, -7, -7, -7, -7, -7, -7, -7,  //
                                       0,  1,  -7, 2,  3,  -7, 4,  5,  -7,  //
                                       6,  7,  -7, 8,  9,  -7, 10, 11, -7});
  // Nearest 2x: each input pixel repeated 2x2.
  const auto rn = both("rn");
  CHECK(rn[0] == 0);
  CHECK(rn[2] == 0);
  CHECK(rn[4] == 2);
  CHECK(rn[12 + 4] == 2);       // row 1 repeats row 0
  CHECK(rn[2 * 12 + 0] == 6);   // row 2 is input row 1
  CHECK(both("cw") == std::vector<int>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 6, 7, 8, 9, 10, 11});
  // Mean over W with equal quantization: the truncated integer mean of each row and channel.
  CHECK(both("mn") == std::vector<int>{2, 3, 8, 9});
}

TEST_CASE("bad parameters of the new ops are input errors naming the op", "[npu][ops]") {
  auto error = [](json doc) {
    try {
      parse_network(doc, ".", "t.json");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const json x = tensor("x", {4, 4, 2});
  CHECK_THAT(error(network(x, op("transpose", {"x"}, tensor("t", {4, 4, 2}), {{"perm", {0, 0, 2}}}))),
             Catch::Contains("ops[0].perm") && Catch::Contains("not a permutation"));
  CHECK_THAT(error(network(x, op("pad", {"x"}, tensor("p", {5, 4, 2}), {{"pads", {1, 1, 0, 0, 0, 0}}}))),
             Catch::Contains("ops[0].output.shape") && Catch::Contains("[6, 4, 2]"));
  CHECK_THAT(error(network(x, op("mean", {"x"}, tensor("m", {4}), {{"axes", {5}}}))),
             Catch::Contains("ops[0].axes"));
  CHECK_THAT(error(network(x, op("logistic", {"x"}, tensor("l", {4, 4, 2}, 0.1, 0)))),
             Catch::Contains("1/256"));
  CHECK_THAT(error(network(x, op("relu", {"x"}, tensor("r", {4, 4, 2}), {{"activation", "relu6"}}))),
             Catch::Contains("unknown key 'activation'"));
  CHECK_THAT(error(network(x, op("strided_slice", {"x"}, tensor("s", {2, 4, 2}),
                                 {{"begin", {0, 0}}, {"end", {2, 4}}, {"strides", {1, 1}}}))),
             Catch::Contains("ops[0].begin"));
  CHECK_THAT(error(network(x, op("add", {"x", "x"}, tensor("a", {4, 4, 3})))), Catch::Contains("broadcast"));
}

TEST_CASE("the NPU execution's kernels compute as plain loops with every instruction set", "[npu][kernels]") {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> ux(-255, 255), uw(-128, 127);
  const std::vector<kernels::Isa> isas = {kernels::Isa::kPlain, kernels::Isa::kAvx2};
  // Dot products of one row against m rows.
  for (int n : {16, 32, 48, 4016}) {
    for (int m : {1, 3, 4, 7, 56}) {
      const size_t stride = static_cast<size_t>(n) + 16;
      std::vector<int16_t> x(static_cast<size_t>(n)), w(stride * static_cast<size_t>(m));
      for (auto& v : x) v = static_cast<int16_t>(ux(rng));
      for (auto& v : w) v = static_cast<int16_t>(uw(rng));
      std::vector<int32_t> expect(static_cast<size_t>(m), 7);
      for (size_t j = 0; j < static_cast<size_t>(m); ++j)
        for (size_t i = 0; i < static_cast<size_t>(n); ++i) expect[j] += x[i] * w[j * stride + i];
      for (kernels::Isa isa : isas) {
        if (isa > kernels::best_isa()) continue;
        kernels::use_isa(isa);
        std::vector<int32_t> acc(static_cast<size_t>(m), 7);
        kernels::dot_rows(x.data(), w.data(), stride, m, n, acc.data());
        CAPTURE(n, m, static_cast<int>(isa));
        CHECK(acc == expect);
      }
    }
  }
  // A depthwise block: 5x6 input of 21 channels, 3x3 kernel, stride 2, dilation 1x2, padding.
  const int ih = 5, iw = 6, c = 21;
  // The operands have kSlack elements past their last (the kernel's contract).
  std::vector<int16_t> x(static_cast<size_t>(ih * iw * c) + kernels::kSlack),
      w(static_cast<size_t>(9 * c) + kernels::kSlack);
  for (auto& v : x) v = static_cast<int16_t>(ux(rng));
  for (auto& v : w) v = static_cast<int16_t>(uw(rng));
  const kernels::Depthwise d{x.data(), w.data(), c, {ih, iw, 3, 3, 2, 2, 1, 2, 1, 2}};
  const int bh = 2, bw = 3, c0 = 2, bc = 19;
  std::vector<int32_t> expect(static_cast<size_t>(bh * bw * bc), 5);
  for (int py = 0; py < bh; ++py)
    for (int px = 0; px < bw; ++px)
      for (int k = 0; k < bc; ++k)
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = (1 + py) * 2 - 1 + ky, ix = px * 2 - 2 + kx * 2;
            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) continue;
            expect[static_cast<size_t>((py * bw + px) * bc + k)] +=
                x[static_cast<size_t>((iy * iw + ix) * c + c0 + k)] * w[static_cast<size_t>((ky * 3 + kx) * c + c0 + k)];
          }
  // Requantization of accumulators up to the int32 edges, every shift TFLite gives.
  std::vector<int32_t> acc(300), mult(300), shift(300);
  std::uniform_int_distribution<int32_t> ua(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int32_t> um(1 << 30, std::numeric_limits<int32_t>::max()), us(-31, 8);
  for (size_t i = 0; i < acc.size(); ++i) {
    acc[i] = i % 3 == 0 ? ua(rng) : ua(rng) / (1 << 12);
    mult[i] = um(rng);
    shift[i] = us(rng);
  }
  std::vector<int8_t> expect_q(acc.size());
  for (size_t i = 0; i < acc.size(); ++i)
    expect_q[i] = requantize_output(acc[i], {mult[i], shift[i]}, -7, -100, 120);
  for (kernels::Isa isa : isas) {
    if (isa > kernels::best_isa()) continue;
    kernels::use_isa(isa);
    std::vector<int32_t> got(static_cast<size_t>(bh * bw * bc) + kernels::kSlack, 5);
    kernels::depthwise_block(d, 1, 0, bh, bw, c0, bc, got.data());
    std::vector<int8_t> q(acc.size());
    kernels::requantize(acc.data(), mult.data(), shift.data(), static_cast<int>(acc.size()), -7, -100, 120, q.data());
    CAPTURE(static_cast<int>(isa));
    got.resize(expect.size());
    CHECK(got == expect);
    CHECK(q == expect_q);
  }
  kernels::use_isa(kernels::best_isa());
}
