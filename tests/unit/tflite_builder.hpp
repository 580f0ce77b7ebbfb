#pragma once
// The TFLite builder (models/npu/tflite_builder.hpp) with patterned constant weights, for
// the reader tests (one model per op and per failure mode) and the Arm NN check.
#include <string>
#include <vector>

#include "models/npu/tflite_builder.hpp"

namespace edgesim::npu::test {

class TfliteBuilder : public npu::TfliteModelBuilder {
 public:
  /// Constant int8 weights, per-tensor (one scale) or per-channel along `dimension`.
  int weights(const std::string& name, std::vector<int> shape, std::vector<float> scales, int dimension) {
    size_t n = 1;
    for (int d : shape) n *= static_cast<size_t>(d);
    std::vector<int8_t> w(n);
    for (size_t i = 0; i < n; ++i) w[i] = static_cast<int8_t>(static_cast<int>((i * 37 + 11) % 251) - 125);
    return tensor(name, std::move(shape), tfl::TensorType_INT8, std::move(scales), {}, dimension, bytes(w));
  }
};

/// A model of the ops both edgesim and Arm NN 20.08's TFLite parser read, in int8: the
/// Arm NN check's synthetic network (tests/armnn) and a seed of the TFLite fuzz target.
inline std::vector<uint8_t> synthetic_model() {
  TfliteBuilder b;
  const int x = b.activation("x", {1, 8, 10, 4}, 0.05f, -3);
  tfl::Conv2DOptionsT co;
  co.padding = tfl::Padding_SAME;
  co.stride_h = co.stride_w = 1;
  co.dilation_h_factor = co.dilation_w_factor = 2;
  co.fused_activation_function = tfl::ActivationFunctionType_RELU;
  const int conv = b.activation("conv", {1, 8, 10, 6}, 0.06f, -128);
  b.op(3,
       {x, b.weights("cw", {6, 3, 3, 4}, {0.01f, 0.012f, 0.014f, 0.016f, 0.018f, 0.02f}, 0),
        b.bias("cb", {100, -200, 300, -400, 500, -600}, 0.05f,
               {0.01f, 0.012f, 0.014f, 0.016f, 0.018f, 0.02f})},
       {conv}, &co);
  tfl::DepthwiseConv2DOptionsT dw;
  dw.padding = tfl::Padding_VALID;
  dw.stride_h = dw.stride_w = 1;
  dw.depth_multiplier = 1;
  const int dwo = b.activation("dw", {1, 6, 8, 6}, 0.07f, 5);
  b.op(4,
       {conv, b.weights("dww", {1, 3, 3, 6}, {0.02f, 0.03f, 0.02f, 0.03f, 0.02f, 0.03f}, 3),
        b.bias("dwb", {10, 20, 30, 40, 50, 60}, 0.06f, {0.02f, 0.03f, 0.02f, 0.03f, 0.02f, 0.03f})},
       {dwo}, &dw);
  const int add = b.activation("add", {1, 6, 8, 6}, 0.09f, -2);
  // Every operator carries its options table, as TFLite's converter writes them (Arm NN
  // 20.08's parser reads them without checking they are there).
  const tfl::AddOptionsT addo;
  b.op(0, {dwo, b.const_int8("addc", {6}, 0.05f, 0, {-50, -25, 0, 25, 50, 75})}, {add}, &addo);
  const int sub = b.activation("sub", {1, 6, 8, 6}, 0.1f, 3);
  const tfl::SubOptionsT subo;
  b.op(41, {add, dwo}, {sub}, &subo);
  const int mul = b.activation("mul", {1, 6, 8, 6}, 0.12f, 0);  // zero point 0: see docs/npu.md on PAD
  const tfl::MulOptionsT mulo;
  b.op(18, {sub, add}, {mul}, &mulo);
  tfl::Pool2DOptionsT po;
  po.padding = tfl::Padding_SAME;
  po.stride_h = po.stride_w = 2;
  po.filter_height = po.filter_width = 2;
  const int mp = b.activation("maxpool", {1, 3, 4, 6}, 0.12f, 0);
  b.op(17, {mul}, {mp}, &po);
  const int ap = b.activation("avgpool", {1, 3, 4, 6}, 0.12f, 0);
  b.op(1, {mul}, {ap}, &po);
  const int pad = b.activation("pad", {1, 5, 6, 6}, 0.12f, 0);
  const tfl::PadOptionsT pado;
  b.op(34, {ap, b.const_int32("pads", {4, 2}, {0, 0, 1, 1, 1, 1, 0, 0})}, {pad}, &pado);
  tfl::ConcatenationOptionsT cc;
  cc.axis = 3;
  const int cat = b.activation("concat", {1, 3, 4, 12}, 0.12f, 0);
  b.op(2, {mp, ap}, {cat}, &cc);
  const int tr = b.activation("transpose", {1, 4, 3, 12}, 0.12f, 0);
  const tfl::TransposeOptionsT tro;
  b.op(39, {cat, b.const_int32("perm", {4}, {0, 2, 1, 3})}, {tr}, &tro);
  tfl::StridedSliceOptionsT so;
  const int sl = b.activation("slice", {1, 2, 3, 5}, 0.12f, 0);
  b.op(45,
       {tr, b.const_int32("sb", {4}, {0, 1, 0, 3}), b.const_int32("se", {4}, {1, 4, 3, 12}),
        b.const_int32("ss", {4}, {1, 2, 1, 2})},
       {sl}, &so);
  const int q = b.activation("quantize", {1, 5, 6, 6}, 0.05f, 10);
  const tfl::QuantizeOptionsT qo;
  b.op(114, {pad}, {q}, &qo);
  const int lg = b.activation("logistic", {1, 5, 6, 6}, 1.0f / 256, -128);
  b.op(14, {q}, {lg});
  const int th = b.activation("tanh", {1, 5, 6, 6}, 1.0f / 128, 0);
  b.op(28, {q}, {th});
  const int r6 = b.activation("relu6", {1, 5, 6, 6}, 0.03f, -128);
  b.op(21, {q}, {r6});
  const int rl = b.activation("relu", {1, 5, 6, 6}, 0.05f, -128);
  b.op(19, {q}, {rl});
  const int hs = b.activation("hard_swish", {1, 5, 6, 6}, 0.04f, -20);
  const tfl::HardSwishOptionsT hso;
  b.op(117, {q}, {hs}, &hso);
  tfl::LeakyReluOptionsT lo;
  lo.alpha = 0.2f;
  const int lk = b.activation("leaky_relu", {1, 5, 6, 6}, 0.05f, 5);
  b.op(98, {q}, {lk}, &lo);
  tfl::ResizeNearestNeighborOptionsT rn;
  const int up = b.activation("resize_nearest", {1, 10, 12, 6}, 0.05f, 10);
  b.op(97, {q, b.const_int32("size", {2}, {10, 12})}, {up}, &rn);
  tfl::ResizeBilinearOptionsT rb;
  const int ub = b.activation("resize_bilinear", {1, 10, 12, 6}, 0.05f, 10);
  b.op(23, {q, b.const_int32("size2", {2}, {10, 12})}, {ub}, &rb);
  tfl::ReducerOptionsT ro;
  ro.keep_dims = true;
  const int mean = b.activation("mean", {1, 1, 1, 6}, 0.02f, -4);
  b.op(40, {ub, b.const_int32("axes", {2}, {1, 2})}, {mean}, &ro);
  const int rs = b.activation("reshape", {1, 6}, 0.02f, -4);
  tfl::ReshapeOptionsT rso;
  rso.new_shape = {1, 6};
  b.op(22, {mean, b.const_int32("shape", {2}, {1, 6})}, {rs}, &rso);
  const int fc = b.activation("fc", {1, 5}, 0.2f, 3);
  const tfl::FullyConnectedOptionsT fco;
  b.op(9, {rs, b.weights("fw", {5, 6}, {0.02f}, 0), b.bias("fb", {1, 2, 3, 4, 5}, 0.02f, {0.02f})}, {fc},
       &fco);
  tfl::SoftmaxOptionsT sm;
  sm.beta = 1.0f;
  const int prob = b.activation("softmax", {1, 5}, 1.0f / 256, -128);
  b.op(25, {fc}, {prob}, &sm);
  (void)sl, (void)lg, (void)th, (void)r6, (void)rl, (void)hs, (void)lk, (void)up;
  return b.finish(x, prob);
}

}  // namespace edgesim::npu::test
