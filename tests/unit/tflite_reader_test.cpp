// The TFLite reader on hand-built minimal models (tests/unit/tflite_builder.hpp): every
// operator it maps, with its options; per-tensor and per-channel quantization; both
// operator code fields; each failure mode a malformed or unsupported file has (an input
// error naming the file, what is wrong and, where it applies, the byte offset).
#include <catch2/catch.hpp>

#include <functional>
#include <random>

#include "models/npu/tflite.hpp"
#include "sim/core/errors.hpp"
#include "tests/unit/npu_helpers.hpp"
#include "tests/unit/tflite_builder.hpp"

using namespace edgesim;
using namespace edgesim::npu;
using edgesim::npu::test::TfliteBuilder;
namespace tfl = edgesim::tflite;

namespace {

// TFLite builtin operator codes (tensorflow/lite/schema/schema.fbs).
enum : int32_t {
  ADD = 0, AVERAGE_POOL_2D = 1, CONCATENATION = 2, CONV_2D = 3, DEPTHWISE_CONV_2D = 4, FULLY_CONNECTED = 9,
  LOGISTIC = 14, MAX_POOL_2D = 17, MUL = 18, RELU = 19, RELU_N1_TO_1 = 20, RELU6 = 21, RESHAPE = 22,
  RESIZE_BILINEAR = 23, SOFTMAX = 25, TANH = 28, CUSTOM = 32, PAD = 34, TRANSPOSE = 39, MEAN = 40, SUB = 41,
  SQUEEZE = 43, STRIDED_SLICE = 45, PADV2 = 60, SLICE = 65, EXPAND_DIMS = 70, RESIZE_NEAREST_NEIGHBOR = 97,
  LEAKY_RELU = 98, QUANTIZE = 114, HARD_SWISH = 117, BATCH_MATMUL = 126, GELU = 150
};

Network read(const std::vector<uint8_t>& b, const std::string& name = "t.tflite") {
  return parse_tflite(b.data(), b.size(), name);
}

std::string error_of(const std::vector<uint8_t>& b) {
  try {
    read(b);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

/// One op on a 6x8x4 input (scale 0.05, zero point -3), its output `out`; the model's
/// bytes after `make` adds the op (given the builder and the input's index).
template <class Make>
std::vector<uint8_t> one_op(Make&& make, std::vector<int> in_shape = {1, 6, 8, 4}) {
  TfliteBuilder b;
  const int x = b.activation("x", in_shape, 0.05f, -3);
  const int y = make(b, x);
  return b.finish(x, y);
}

/// Reads `bytes` and runs the network's NPU execution against the reference on random
/// inputs; returns the network.
Network read_and_run(const std::vector<uint8_t>& bytes) {
  const Network net = read(bytes);
  const NpuRun r(test_device_json(128, "sram"), net);
  std::mt19937 rng(1);
  for (int trial = 0; trial < 3; ++trial) {
    std::string where;
    const auto x = random_input(r.net, rng);
    INFO("first tensor differing: " << where);
    CHECK(bit_exact(r.net, r.plan, x, where));
  }
  return net;
}

}  // namespace

TEST_CASE("the TFLite reader maps every supported operator with its options", "[npu][tflite]") {
  SECTION("CONV_2D with dilation, per-channel weights and a fused relu6") {
    const Network net = read_and_run(one_op([](TfliteBuilder& b, int x) {
      const int w = b.weights("w", {5, 3, 3, 4}, {0.01f, 0.02f, 0.03f, 0.04f, 0.05f}, 0);
      const int bias = b.const_int32("b", {5}, {1, -2, 3, -4, 5});
      const int y = b.activation("y", {1, 6, 8, 5}, 0.1f, -128);
      tfl::Conv2DOptionsT o;
      o.padding = tfl::Padding_SAME;
      o.stride_h = o.stride_w = 1;
      o.dilation_h_factor = 2;
      o.dilation_w_factor = 3;
      o.fused_activation_function = tfl::ActivationFunctionType_RELU6;
      b.op(CONV_2D, {x, w, bias}, {y}, &o);
      return y;
    }));
    const Op& op = net.ops.at(0);
    CHECK(op.type == OpType::Conv2d);
    CHECK(op.dh == 2);
    CHECK(op.dw == 3);
    CHECK(op.activation == Activation::Relu6);
    CHECK(op.weight_scales == std::vector<double>{0.01f, 0.02f, 0.03f, 0.04f, 0.05f});
    CHECK(op.bias == std::vector<int32_t>{1, -2, 3, -4, 5});
  }
  SECTION("DEPTHWISE_CONV_2D with a depth multiplier and no bias") {
    const Network net = read_and_run(one_op([](TfliteBuilder& b, int x) {
      const int w = b.weights("w", {1, 3, 3, 8}, {0.02f}, 3);
      const int y = b.activation("y", {1, 3, 4, 8}, 0.1f, 0);
      tfl::DepthwiseConv2DOptionsT o;
      o.padding = tfl::Padding_VALID;
      o.stride_h = o.stride_w = 2;
      o.depth_multiplier = 2;
      b.op(DEPTHWISE_CONV_2D, {x, w, -1}, {y}, &o);
      return y;
    }, {1, 7, 9, 4}));
    const Op& op = net.ops.at(0);
    CHECK(op.depth_multiplier == 2);
    CHECK(op.weight_scales == std::vector<double>(8, 0.02f));  // a per-tensor scale for every channel
    CHECK(op.bias == std::vector<int32_t>(8, 0));
  }
  SECTION("FULLY_CONNECTED over a 4-D input, AVERAGE_POOL_2D and MAX_POOL_2D") {
    const Network net = read_and_run(one_op([](TfliteBuilder& b, int x) {
      tfl::Pool2DOptionsT p;
      p.padding = tfl::Padding_SAME;
      p.stride_h = p.stride_w = 2;
      p.filter_height = 3;
      p.filter_width = 2;
      const int a = b.activation("a", {1, 3, 4, 4}, 0.05f, -3);
      b.op(AVERAGE_POOL_2D, {x}, {a}, &p);
      const int m = b.activation("m", {1, 1, 2, 4}, 0.05f, -3);
      p.padding = tfl::Padding_VALID;
      p.filter_height = p.filter_width = 2;
      b.op(MAX_POOL_2D, {a}, {m}, &p);
      const int w = b.weights("w", {3, 8}, {0.01f}, 0);
      const int y = b.activation("y", {1, 3}, 0.2f, 7);
      b.op(FULLY_CONNECTED, {m, w, b.const_int32("bias", {3}, {10, 20, 30})}, {y}, static_cast<tfl::FullyConnectedOptionsT*>(nullptr));
      return y;
    }));
    CHECK(net.ops.at(0).type == OpType::AvgPool);
    CHECK(net.ops.at(0).kh == 3);
    CHECK(net.ops.at(0).kw == 2);
    CHECK(net.ops.at(1).type == OpType::MaxPool);
    CHECK(net.ops.at(2).type == OpType::FullyConnected);
    CHECK(net.ops.at(2).weights.size() == 24);
  }
  SECTION("ADD, SUB and MUL, with constant operands broadcast") {
    const Network net = read_and_run(one_op([](TfliteBuilder& b, int x) {
      const int c = b.const_int8("c", {1, 1, 1, 4}, 0.04f, 1, {10, -20, 30, -40});
      const int s = b.const_int8("s", {}, 0.5f, 0, {3});  // a scalar
      const int a = b.activation("a", {1, 6, 8, 4}, 0.07f, 2);
      tfl::AddOptionsT ao;
      ao.fused_activation_function = tfl::ActivationFunctionType_RELU;
      b.op(ADD, {x, c}, {a}, &ao);
      const int d = b.activation("d", {1, 6, 8, 4}, 0.08f, -1);
      b.op(SUB, {a, x}, {d}, static_cast<tfl::SubOptionsT*>(nullptr));
      const int m = b.activation("m", {1, 6, 8, 4}, 0.1f, 0);
      b.op(MUL, {s, d}, {m}, static_cast<tfl::MulOptionsT*>(nullptr));
      return m;
    }));
    CHECK(net.ops.at(0).type == OpType::Add);
    CHECK(net.ops.at(0).activation == Activation::Relu);
    CHECK(net.ops.at(1).type == OpType::Sub);
    CHECK(net.ops.at(2).type == OpType::Mul);
    // The constants are tensors of the network, after the input (the JSON format's order).
    CHECK(net.tensors.at(1).constant());
    CHECK(net.tensors.at(1).data == std::vector<int8_t>{10, -20, 30, -40});
    CHECK(net.tensors.at(2).shape == std::vector<int>{1});
  }
  SECTION("CONCATENATION on an inner axis, RESHAPE, SQUEEZE and EXPAND_DIMS") {
    const Network net = read_and_run(one_op([](TfliteBuilder& b, int x) {
      const int c = b.activation("c", {1, 6, 16, 4}, 0.05f, -3);
      tfl::ConcatenationOptionsT co;
      co.axis = 2;
      b.op(CONCATENATION, {x, x}, {c}, &co);
      const int r = b.activation("r", {1, 96, 4}, 0.05f, -3);
      b.op(RESHAPE, {c, b.const_int32("shape", {3}, {1, 96, 4})}, {r}, static_cast<tfl::ReshapeOptionsT*>(nullptr));
      const int s = b.activation("s", {96, 4}, 0.05f, -3);
      b.op(SQUEEZE, {r}, {s}, static_cast<tfl::SqueezeOptionsT*>(nullptr));
      const int e = b.activation("e", {1, 96, 4}, 0.05f, -3);
      b.op(EXPAND_DIMS, {s, b.const_int32("dim", {1}, {0})}, {e});
      return e;
    }));
    CHECK(net.ops.at(0).type == OpType::Concat);
    CHECK(net.ops.at(0).axis == 2);
    CHECK(net.ops.at(1).type == OpType::Reshape);
    CHECK(net.ops.at(2).type == OpType::Reshape);
    CHECK(net.ops.at(3).type == OpType::Reshape);
  }
  SECTION("PAD, PADV2, MEAN, TRANSPOSE, STRIDED_SLICE, SLICE") {
    const Network net = read_and_run(one_op([](TfliteBuilder& b, int x) {
      const int p = b.activation("p", {1, 8, 9, 4}, 0.05f, -3);
      b.op(PAD, {x, b.const_int32("pads", {4, 2}, {0, 0, 1, 1, 0, 1, 0, 0})}, {p}, static_cast<tfl::PadOptionsT*>(nullptr));
      const int p2 = b.activation("p2", {1, 8, 9, 6}, 0.05f, -3);
      b.op(PADV2, {p, b.const_int32("pads2", {4, 2}, {0, 0, 0, 0, 0, 0, 2, 0}), b.const_int8("v", {}, 0.05f, -3, {9})},
           {p2}, static_cast<tfl::PadV2OptionsT*>(nullptr));
      const int mn = b.activation("mn", {1, 1, 1, 6}, 0.03f, 4);
      tfl::ReducerOptionsT ro;
      ro.keep_dims = true;
      b.op(MEAN, {p2, b.const_int32("axes", {2}, {1, 2})}, {mn}, &ro);
      const int t = b.activation("t", {1, 9, 8, 6}, 0.05f, -3);
      b.op(TRANSPOSE, {p2, b.const_int32("perm", {4}, {0, 2, 1, 3})}, {t}, static_cast<tfl::TransposeOptionsT*>(nullptr));
      const int ss = b.activation("ss", {1, 4, 6}, 0.05f, -3);
      tfl::StridedSliceOptionsT so;
      so.shrink_axis_mask = 4;  // drop W
      so.end_mask = 8;
      b.op(STRIDED_SLICE,
           {t, b.const_int32("begin", {4}, {0, 1, 5, 0}), b.const_int32("end", {4}, {1, 9, 6, 0}),
            b.const_int32("strides", {4}, {1, 2, 1, 1})},
           {ss}, &so);
      const int sl = b.activation("sl", {1, 2, 4}, 0.05f, -3);
      b.op(SLICE, {ss, b.const_int32("sb", {3}, {0, 1, 2}), b.const_int32("sz", {3}, {1, 2, -1})}, {sl});
      return sl;
    }));
    CHECK(net.ops.at(0).type == OpType::Pad);
    CHECK(net.ops.at(0).pad_value == -3);
    CHECK(net.ops.at(1).pad_value == 9);
    CHECK(net.ops.at(2).type == OpType::Mean);
    CHECK(net.ops.at(2).reduce == std::array<bool, 4>{{false, true, true, false}});
    CHECK(net.ops.at(3).perm == std::array<int, 4>{{0, 2, 1, 3}});
    CHECK(net.ops.at(4).step == std::array<int, 4>{{1, 2, 1, 1}});
    CHECK(net.ops.at(4).shrink_axis_mask == 4);
    CHECK(net.ops.at(5).type == OpType::StridedSlice);
  }
  SECTION("SOFTMAX, QUANTIZE, LOGISTIC, TANH, HARD_SWISH, RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU") {
    const Network net = read_and_run(one_op([](TfliteBuilder& b, int x) {
      auto unary = [&](int32_t code, int in, float s, int zp, const auto* options) {
        const int y = b.activation("y" + std::to_string(b.graph().tensors.size()), {1, 6, 8, 4}, s, zp);
        b.op(code, {in}, {y}, options);
        return y;
      };
      const int q = unary(QUANTIZE, x, 0.04f, 5, static_cast<tfl::QuantizeOptionsT*>(nullptr));
      unary(LOGISTIC, q, 1.0f / 256, -128, static_cast<tfl::AddOptionsT*>(nullptr));
      unary(TANH, q, 1.0f / 128, 0, static_cast<tfl::AddOptionsT*>(nullptr));
      unary(HARD_SWISH, q, 0.03f, -10, static_cast<tfl::HardSwishOptionsT*>(nullptr));
      unary(RELU, q, 0.02f, -128, static_cast<tfl::AddOptionsT*>(nullptr));
      unary(RELU6, q, 0.03f, -128, static_cast<tfl::AddOptionsT*>(nullptr));
      unary(RELU_N1_TO_1, q, 0.01f, 0, static_cast<tfl::AddOptionsT*>(nullptr));
      tfl::LeakyReluOptionsT lo;
      lo.alpha = 0.3f;
      const int l = unary(LEAKY_RELU, q, 0.05f, 0, &lo);
      tfl::SoftmaxOptionsT so;
      so.beta = 0.5f;
      return unary(SOFTMAX, l, 1.0f / 256, -128, &so);
    }));
    const std::vector<OpType> expect = {OpType::Quantize, OpType::Logistic, OpType::Tanh, OpType::HardSwish,
                                        OpType::Relu,     OpType::Relu6,    OpType::ReluN1To1, OpType::LeakyRelu,
                                        OpType::Softmax};
    REQUIRE(net.ops.size() == expect.size());
    for (size_t i = 0; i < expect.size(); ++i) CHECK(net.ops[i].type == expect[i]);
    CHECK(net.ops[7].alpha == Approx(0.3));
    CHECK(net.ops[8].beta == 0.5);
  }
  SECTION("RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR with their coordinate options") {
    const Network net = read_and_run(one_op([](TfliteBuilder& b, int x) {
      const int n = b.activation("n", {1, 12, 16, 4}, 0.05f, -3);
      tfl::ResizeNearestNeighborOptionsT no;
      no.half_pixel_centers = true;
      b.op(RESIZE_NEAREST_NEIGHBOR, {x, b.const_int32("size", {2}, {12, 16})}, {n}, &no);
      const int l = b.activation("l", {1, 23, 31, 4}, 0.05f, -3);
      tfl::ResizeBilinearOptionsT bo;
      bo.align_corners = true;
      b.op(RESIZE_BILINEAR, {n, b.const_int32("size2", {2}, {23, 31})}, {l}, &bo);
      return l;
    }));
    CHECK(net.ops.at(0).half_pixel_centers);
    CHECK(net.ops.at(1).align_corners);
  }
}

TEST_CASE("the TFLite reader takes either operator code field", "[npu][tflite]") {
  auto model = [](int8_t deprecated, int32_t builtin) {
    TfliteBuilder b;
    const int x = b.activation("x", {1, 4, 4, 2}, 0.1f, 0);
    const int y = b.activation("y", {1, 4, 4, 2}, 0.1f, -128);
    b.op(RELU, {x}, {y});
    b.model.operator_codes[0]->deprecated_builtin_code = deprecated;
    b.model.operator_codes[0]->builtin_code = builtin;
    return b.finish(x, y);
  };
  CHECK(read(model(RELU, 0)).ops.at(0).type == OpType::Relu);  // files before schema 3a
  CHECK(read(model(0, RELU)).ops.at(0).type == OpType::Relu);  // builtin_code only
  CHECK(read(model(RELU, RELU)).ops.at(0).type == OpType::Relu);
  // A code past 127 lives in builtin_code, the byte holding the placeholder 127.
  CHECK_THAT(error_of(model(127, GELU)), Catch::Contains("GELU") && Catch::Contains("150"));
}

TEST_CASE("malformed or unsupported TFLite files are input errors naming what and where", "[npu][tflite]") {
  auto good = [](const std::function<void(TfliteBuilder&)>& edit = nullptr, int32_t code = CONV_2D) {
    TfliteBuilder b;
    const int x = b.activation("x", {1, 4, 4, 2}, 0.1f, 0);
    const int w = b.weights("w", {3, 1, 1, 2}, {0.01f, 0.02f, 0.03f}, 0);
    const int y = b.activation("y", {1, 4, 4, 3}, 0.2f, 0);
    tfl::Conv2DOptionsT o;
    o.stride_h = o.stride_w = 1;
    b.op(code, {x, w, b.const_int32("b", {3}, {1, 2, 3})}, {y}, &o);
    if (edit) edit(b);
    return b.finish(x, y);
  };
  REQUIRE_NOTHROW(read(good()));
  const std::vector<uint8_t> bytes = good();

  SECTION("truncated") {
    CHECK_THAT(error_of({bytes.begin(), bytes.begin() + 5}), Catch::Contains("t.tflite: truncated: 5 bytes"));
    for (size_t cut : {bytes.size() / 2, bytes.size() - 8, size_t{40}}) {
      CAPTURE(cut);
      CHECK_THAT(error_of({bytes.begin(), bytes.begin() + static_cast<long>(cut)}),
                 Catch::Contains("t.tflite: ") && Catch::Contains("byte") &&
                     (Catch::Contains("not a valid TFLite flatbuffer") || Catch::Contains("truncated?")));
    }
  }
  SECTION("not a TFLite file, or one the Verifier rejects") {
    std::vector<uint8_t> b = bytes;
    std::memcpy(b.data() + 4, "ABCD", 4);
    CHECK_THAT(error_of(b), Catch::Contains("bytes 4-7 are 'ABCD'") && Catch::Contains("TFL3"));
    // The root offset pointing past the end.
    b = bytes;
    b[0] = b[1] = b[2] = 0xff;
    b[3] = 0x0f;
    CHECK_THAT(error_of(b), Catch::Contains("root table offset at byte 0") && Catch::Contains("beyond the end"));
    // A vector length in the middle of the file made absurd: the Verifier fails, located.
    b = bytes;
    const auto* m = tfl::GetModel(b.data());
    const auto* vec = m->buffers();
    const size_t at = static_cast<size_t>(reinterpret_cast<const uint8_t*>(vec) - b.data());
    b[at + 3] = 0x7f;
    CHECK_THAT(error_of(b), Catch::Contains("not a valid TFLite flatbuffer: buffers") && Catch::Contains("at byte " + std::to_string(at)));
  }
  SECTION("a float model, a uint8 model") {
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().tensors[0]->type = tfl::TensorType_FLOAT32; })),
               Catch::Contains("tensors[0] 'x'") && Catch::Contains("FLOAT32") && Catch::Contains("float model") &&
                   Catch::Contains("table at byte"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().tensors[0]->type = tfl::TensorType_UINT8; })),
               Catch::Contains("UINT8") && Catch::Contains("uint8 quantization"));
  }
  SECTION("an unsupported schema version") {
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.model.version = 4; })),
               Catch::Contains("schema version 4") && Catch::Contains("byte") && Catch::Contains("version 3"));
  }
  SECTION("an operator edgesim does not run, or a custom one") {
    CHECK_THAT(error_of(good(nullptr, BATCH_MATMUL)),
               Catch::Contains("operators[0] BATCH_MATMUL") && Catch::Contains("not supported") &&
                   Catch::Contains("CONV_2D"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.model.operator_codes[0]->custom_code = "MyOp"; }, CUSTOM)),
               Catch::Contains("custom operator 'MyOp'"));
  }
  SECTION("indices out of range") {
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().tensors[1]->buffer = 99; })),
               Catch::Contains("tensors[1] 'w'") && Catch::Contains("buffer index 99 out of range"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().operators[0]->opcode_index = 7; })),
               Catch::Contains("opcode_index 7 out of range"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().operators[0]->inputs[0] = 42; })),
               Catch::Contains("tensor index 42 out of range"));
  }
  SECTION("quantization edgesim cannot take") {
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().tensors[0]->quantization.reset(); })),
               Catch::Contains("no quantization parameters"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().tensors[1]->quantization->zero_point = {0, 3, 0}; })),
               Catch::Contains("zero_point[1] = 3") && Catch::Contains("symmetric"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().tensors[1]->quantization->scale = {0.1f, 0.2f}; })),
               Catch::Contains("2 scales"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().tensors[0]->quantization->scale = {-1.0f}; })),
               Catch::Contains("positive finite"));
  }
  SECTION("sparse tensors, data outside the flatbuffer, data of the wrong size") {
    CHECK_THAT(error_of(good([](TfliteBuilder& b) {
                 b.graph().tensors[1]->sparsity = std::make_unique<tfl::SparsityParametersT>();
               })),
               Catch::Contains("sparse tensors are not supported"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.model.buffers[1]->offset = 4096; })),
               Catch::Contains("outside the flatbuffer"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.model.buffers[1]->data.pop_back(); })),
               Catch::Contains("5 bytes of data for 6 int8 weights"));
  }
  SECTION("a graph edgesim cannot run") {
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().tensors[2]->shape = {1, 4, 4, 4}; })),
               Catch::Contains("operators[0] CONV_2D") && Catch::Contains("weights.shape"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) { b.graph().tensors[0]->shape = {2, 4, 4, 2}; })),
               Catch::Contains("batch 2"));
    CHECK_THAT(error_of(good([](TfliteBuilder& b) {
                 auto o = std::make_unique<tfl::OperatorT>(*b.graph().operators[0]);
                 b.graph().operators.push_back(std::move(o));  // writes y twice
               })),
               Catch::Contains("operators[1]") && Catch::Contains("already defined"));
  }
}

TEST_CASE("a TFLite network of every op exports to JSON and loads back the same", "[npu][tflite]") {
  TfliteBuilder b;
  const int x = b.activation("x", {1, 6, 8, 4}, 0.05f, -3);
  const int c = b.const_int8("c", {4}, 0.04f, 1, {10, -20, 30, -40});
  const int a = b.activation("a", {1, 6, 8, 4}, 0.07f, 2);
  b.op(ADD, {x, c}, {a}, static_cast<tfl::AddOptionsT*>(nullptr));
  const int p = b.activation("p", {1, 8, 8, 4}, 0.07f, 2);
  b.op(PAD, {a, b.const_int32("pads", {4, 2}, {0, 0, 1, 1, 0, 0, 0, 0})}, {p});
  const int t = b.activation("t", {1, 8, 8, 4}, 0.07f, 2);
  b.op(TRANSPOSE, {p, b.const_int32("perm", {4}, {0, 2, 1, 3})}, {t});
  const int s = b.activation("s", {1, 4, 8, 4}, 0.07f, 2);
  tfl::StridedSliceOptionsT so;
  b.op(STRIDED_SLICE,
       {t, b.const_int32("b", {4}, {0, 7, 0, 0}), b.const_int32("e", {4}, {1, 0, 8, 4}),
        b.const_int32("st", {4}, {1, -2, 1, 1})},
       {s}, &so);
  const int m = b.activation("m", {1, 1, 1, 4}, 0.05f, -1);
  tfl::ReducerOptionsT ro;
  ro.keep_dims = true;
  b.op(MEAN, {s, b.const_int32("axes", {2}, {1, 2})}, {m}, &ro);
  const int l = b.activation("l", {1, 1, 1, 4}, 1.0f / 256, -128);
  b.op(LOGISTIC, {m}, {l});
  const Network net = read(b.finish(x, l), "every.tflite");
  TempFolder tmp;
  const ExportedNetwork e = export_network(net, "every.bin");
  write_file(tmp.path + "/every.json", e.doc.dump(1));
  write_file(tmp.path + "/every.bin", e.weights);
  const Network back = load_network(tmp.path + "/every.json");
  CHECK(same_network(net, back));
}
