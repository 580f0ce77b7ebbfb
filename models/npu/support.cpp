#include "models/npu/support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace edgesim::npu {

namespace {

// Numbers from Vela 3.10 SUPPORTED_OPS.md (TFLite constraints, Ethos-U55).
constexpr int kMaxDim = 65535;                 // tensor dimensions in [1, 65535]
constexpr int kMaxStride = 3;                  // conv, depthwise, pools: stride in [1, 3]
constexpr int kMaxDilatedKernelH = 64;         // conv, depthwise: dilated kernel height
constexpr int kMaxDilatedKernelArea = 4096;    // conv, depthwise: dilated kernel w x h
constexpr int64_t kMaxWeightSum = 8323072;     // conv, depthwise: sum of |w| per output channel (127 x 65536)
constexpr int kMaxAvgPoolSameKernel = 8;       // avg pool, SAME padding: kernel w, h in [1, 8]
constexpr int kMaxPoolKernelH = 256;           // pools (VALID): kernel height
constexpr int kMaxPoolKernelArea = 65536;      // pools (VALID): kernel w x h
constexpr int64_t kMaxMeanReduced = 16777216;  // mean, int8: product of the axes averaged
constexpr int kMaxMeanWidthOrDepth = 4096;     // mean: a reduced width or depth

bool same_quant(const Tensor& a, const Tensor& b) {
  return a.zero_point == b.zero_point && std::abs(a.scale - b.scale) <= 1e-6 * a.scale;
}

Placement cpu(std::string reason) {
  return {false, std::move(reason)};
}

std::string num(int64_t v) {
  return std::to_string(v);
}

/// Stride rule for conv and pools: h and w in [1, 3] (Vela also takes a wider stride w
/// when the OFM is one row and the IFM width divides; that case is not modelled: CPU).
bool stride_ok(const Op& op) {
  return op.sh >= 1 && op.sh <= kMaxStride && op.sw >= 1 && op.sw <= kMaxStride;
}

Placement kernel_rules(const Op& op) {
  if (!stride_ok(op)) return cpu("stride " + num(op.sh) + "x" + num(op.sw) + " outside [1, 3]");
  const int64_t ekh = op.dilated_h(), ekw = op.dilated_w();  // their product may pass an int
  if (ekh > kMaxDilatedKernelH) return cpu("dilated kernel height " + num(ekh) + " > 64");
  if (ekh * ekw > kMaxDilatedKernelArea) return cpu("dilated kernel area " + num(ekh * ekw) + " > 4096");
  // Sum of |weight| per output channel (the weights are symmetric: zero point 0).
  const size_t oc = op.bias.size();
  const size_t per = oc ? op.weights.size() / oc : 0;               // weights per output channel
  if (static_cast<int64_t>(per) * 128 <= kMaxWeightSum) return {};  // no channel can pass the limit
  std::vector<int64_t> sum(oc, 0);
  const int8_t* __restrict w = op.weights.data();
  int64_t* __restrict acc = sum.data();
  if (op.type == OpType::DepthwiseConv2d) {  // [KH][KW][OC]: channels innermost
    for (size_t k = 0; k < per; ++k)
      for (size_t c = 0; c < oc; ++c) acc[c] += std::abs(static_cast<int>(w[k * oc + c]));
  } else {  // [OC][...]: a channel's weights together
    for (size_t c = 0; c < oc; ++c) {
      int64_t s = 0;
      // 32-bit partial sums (2^20 weights of at most 128 stay below 2^31): twice the lanes.
      for (size_t k0 = 0; k0 < per; k0 += size_t{1} << 20) {
        const size_t k1 = std::min(per, k0 + (size_t{1} << 20));
        int32_t part = 0;
        for (size_t k = k0; k < k1; ++k) part += std::abs(static_cast<int32_t>(w[c * per + k]));
        s += part;
      }
      acc[c] = s;
    }
  }
  for (int64_t s : sum)
    if (s > kMaxWeightSum) return cpu("a channel's weight sum " + num(s) + " > 8323072");
  return {};
}

bool per_channel(const Op& op) {
  return std::any_of(op.weight_scales.begin(), op.weight_scales.end(),
                     [&](double s) { return s != op.weight_scales.front(); });
}

}  // namespace

Placement placement(const Network& net, const Op& op) {
  const Tensor& in = net.tensors[static_cast<size_t>(op.inputs[0])];
  const Tensor& out = net.tensors[static_cast<size_t>(op.output)];
  // Generic constraints.
  for (int t : op.inputs) {
    for (int d : net.tensors[static_cast<size_t>(t)].shape)
      if (d > kMaxDim) return cpu("a tensor dimension " + num(d) + " > 65535");
  }
  for (int d : out.shape)
    if (d > kMaxDim) return cpu("a tensor dimension " + num(d) + " > 65535");
  if (weighted(op.type) && op.type != OpType::Conv2d && op.type != OpType::DepthwiseConv2d && per_channel(op))
    return cpu("per-channel quantization is only supported for conv2d and depthwise_conv2d");

  switch (op.type) {
    case OpType::Conv2d: return kernel_rules(op);
    case OpType::DepthwiseConv2d: {
      Placement p = kernel_rules(op);
      if (!p.npu) return p;
      if (op.depth_multiplier > 1 && in.c != 1)
        return cpu("depth multiplier " + num(op.depth_multiplier) + " needs 1 input channel, found " + num(in.c));
      return {};
    }
    case OpType::FullyConnected:
      // "The output tensor(s) must have 2D shape"; the JSON format's flat [N] reads as [1, N].
      if (out.shape.size() > 2) return cpu("fully connected output of more than 2 dimensions");
      return {};
    case OpType::AvgPool:
    case OpType::MaxPool:
      if (!stride_ok(op)) return cpu("stride " + num(op.sh) + "x" + num(op.sw) + " outside [1, 3]");
      if (op.type == OpType::AvgPool && op.same_padding &&
          (op.kh > kMaxAvgPoolSameKernel || op.kw > kMaxAvgPoolSameKernel))
        return cpu("average pool kernel " + num(op.kh) + "x" + num(op.kw) + " with SAME padding (at most 8x8)");
      if (op.kh > kMaxPoolKernelH) return cpu("pool kernel height " + num(op.kh) + " > 256");
      if (int64_t{op.kh} * op.kw > kMaxPoolKernelArea) return cpu("pool kernel area > 65536");
      return {};
    case OpType::Add:
    case OpType::Sub:
    case OpType::Mul: {
      const Tensor& b = net.tensors[static_cast<size_t>(op.inputs[1])];
      if (in.dims() != out.dims() && b.dims() != out.dims())
        return cpu("neither input has the output's shape (broadcasting both)");
      return {};
    }
    case OpType::Reshape:
      if (!same_quant(in, out)) return cpu("reshape with a different output quantization");
      return {};
    case OpType::Pad:
      if (in.shape.size() < 3) return cpu("pad of a tensor of fewer than 3 dimensions");
      if (op.pad_before[0] || op.pad_after[0] || op.pad_before[3] || op.pad_after[3])
        return cpu("padding other than width and height");
      if (op.pad_value != out.zero_point) return cpu("padding with a value other than the zero point (PADV2)");
      return {};
    case OpType::Mean: {
      if (in.shape.size() < 2) return cpu("mean of a 1-D tensor");
      const auto d = in.dims();
      int64_t reduced = 1;
      for (size_t a = 0; a < 4; ++a)
        if (op.reduce[a]) reduced *= d[a];
      if (in.shape.size() >= 3 && op.reduce[3] && d[1] != 1 && d[2] != 1 && d[3] != 1)
        return cpu("mean over depth with height, width and depth all above 1");
      if (reduced > kMaxMeanReduced) return cpu("mean over " + num(reduced) + " elements > 16777216");
      if (op.reduce[2] && d[2] > kMaxMeanWidthOrDepth) return cpu("mean over a width > 4096");
      if (op.reduce[3] && d[3] > kMaxMeanWidthOrDepth) return cpu("mean over a depth > 4096");
      return {};
    }
    case OpType::Transpose: {
      // Supported: rank 2 WxC -> CxW; rank 3 HxWxC -> WxHxC, 1xWxC -> 1xCxW, Hx1xC -> Cx1xH;
      // rank 4 the same with a leading 1. In the 4-D view: swapping H and W, W and C
      // (H = 1), or H and C (W = 1).
      const auto& p = op.perm;
      const auto d = in.dims();
      const bool hw = p == std::array<int, 4>{{0, 2, 1, 3}};
      const bool wc = p == std::array<int, 4>{{0, 1, 3, 2}} && (d[1] == 1 || in.shape.size() == 2);
      const bool hc = p == std::array<int, 4>{{0, 3, 2, 1}} && d[2] == 1;
      const bool identity = p == std::array<int, 4>{{0, 1, 2, 3}};
      if (!(hw || wc || hc || identity)) return cpu("a transpose permutation Ethos-U55 does not support");
      return {};
    }
    case OpType::StridedSlice:
      for (int s : op.step)
        if (s != 1) return cpu("strided slice with a stride other than 1");
      return {};
    case OpType::ResizeNearest:
    case OpType::ResizeBilinear: {
      const int ih = in.h, iw = in.w, oh = out.h, ow = out.w;
      const bool one = ih == 1 && iw == 1, same = ih == oh && iw == ow;
      auto scaled = [&](int f) {
        return op.align_corners ? (oh - 1 == f * (ih - 1) && ow - 1 == f * (iw - 1))
                                : (oh == f * ih && ow == f * iw);
      };
      if (!(one || same || scaled(2) || scaled(4) || scaled(8)))
        return cpu("resize by a factor other than 2, 4 or 8 (or to/from 1x1)");
      if (op.type == OpType::ResizeBilinear && op.half_pixel_centers && !(one || scaled(2)))
        return cpu("bilinear resize with half-pixel centers other than 2x");
      return {};
    }
    default: return {};  // concat, softmax and the element-wise functions: the generic constraints only
  }
}

}  // namespace edgesim::npu
