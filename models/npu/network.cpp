#include "models/npu/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "models/npu/support.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::npu {

namespace {

struct TypeName {
  OpType type;
  const char* name;
};
// The names results and the JSON format use.
const TypeName kTypeNames[] = {
    {OpType::Conv2d, "conv2d"},
    {OpType::DepthwiseConv2d, "depthwise_conv2d"},
    {OpType::FullyConnected, "fully_connected"},
    {OpType::AvgPool, "avg_pool"},
    {OpType::MaxPool, "max_pool"},
    {OpType::Add, "add"},
    {OpType::Mul, "mul"},
    {OpType::Concat, "concat"},
    {OpType::Reshape, "reshape"},
    {OpType::Softmax, "softmax"},
    {OpType::Sub, "sub"},
    {OpType::Pad, "pad"},
    {OpType::Mean, "mean"},
    {OpType::Quantize, "quantize"},
    {OpType::Logistic, "logistic"},
    {OpType::Tanh, "tanh"},
    {OpType::HardSwish, "hard_swish"},
    {OpType::Relu, "relu"},
    {OpType::Relu6, "relu6"},
    {OpType::ReluN1To1, "relu_n1_to_1"},
    {OpType::LeakyRelu, "leaky_relu"},
    {OpType::Transpose, "transpose"},
    {OpType::StridedSlice, "strided_slice"},
    {OpType::ResizeNearest, "resize_nearest"},
    {OpType::ResizeBilinear, "resize_bilinear"},
};

}  // namespace

const char* op_type_name(OpType t) {
  for (const auto& n : kTypeNames)
    if (n.type == t) return n.name;
  return "?";
}

const std::vector<OpType>& all_op_types() {
  static const std::vector<OpType> kAll = [] {
    std::vector<OpType> v;
    for (const auto& n : kTypeNames) v.push_back(n.type);
    return v;
  }();
  return kAll;
}

bool weighted(OpType t) {
  return t == OpType::Conv2d || t == OpType::DepthwiseConv2d || t == OpType::FullyConnected;
}

bool fused_activation(OpType t) {
  return block_type(t) || t == OpType::Add || t == OpType::Sub || t == OpType::Mul;
}

bool block_type(OpType t) {
  return weighted(t) || t == OpType::AvgPool || t == OpType::MaxPool;
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::None: return "none";
    case Activation::Relu: return "relu";
    case Activation::Relu6: return "relu6";
    case Activation::ReluN1To1: return "relu_n1_to_1";
  }
  return "?";
}

Requant quantize_multiplier(double real) {
  Requant r;
  if (real == 0) return r;
  int shift = 0;
  const double q = std::frexp(real, &shift);  // real = q x 2^shift, q in [0.5, 1)
  auto fixed = static_cast<int64_t>(std::llround(q * 2147483648.0));
  if (fixed == (int64_t{1} << 31)) {
    fixed /= 2;
    ++shift;
  }
  if (shift < -31) return r;  // too small to represent: the product rounds to 0
  r.multiplier = static_cast<int32_t>(fixed);
  r.shift = shift;
  return r;
}

int Network::tensor_index(const std::string& name) const {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

size_t Network::weight_bytes() const {
  size_t b = 0;
  for (const auto& op : ops) b += op.weights.size() + 4 * op.bias.size();
  return b;
}

size_t Network::total_macs() const {
  size_t m = 0;
  for (const auto& op : ops) m += op.macs;
  return m;
}

FileLocation FileLocation::operator[](const std::string& key) const {
  return {origin, path.empty() ? key : path + "." + key};
}

FileLocation FileLocation::operator[](size_t i) const {
  return {origin, path + "[" + std::to_string(i) + "]"};
}

void FileLocation::fail(const std::string& message) const {
  throw InputError(origin + ": " + (path.empty() ? "(top level)" : path) + ": " + message);
}

namespace {

std::string shape_text(const std::vector<int>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

bool same_quant(const Tensor& a, const Tensor& b) {
  return a.zero_point == b.zero_point && std::abs(a.scale - b.scale) <= 1e-6 * a.scale;
}

/// A multiplier TFLite's fixed point can apply: a finite ratio of scales below 2^30 (its
/// left shift must stay within the 32-bit value: TFLite's MultiplyByQuantizedMultiplier
/// takes shifts from -31 to 30). A ratio that overflows a double (scales near its range)
/// would otherwise leave frexp's exponent unspecified.
/// The checks, with the location of the value made only when one fails (a network has a
/// ratio per output channel: building each one's path would cost more than the plan).
template <class Where>
Requant requant_at(double real, Where&& where) {
  auto fail = [&](const char* what) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", real);
    where().fail(std::string("a ratio of scales of ") + text + what);
  };
  if (!std::isfinite(real)) fail(" cannot be applied in fixed point");
  const Requant r = quantize_multiplier(real);
  if (r.shift > 30) fail(" (2^30 or more) cannot be applied in fixed point");
  return r;
}

Requant requant(double real, const FileLocation& at) {
  return requant_at(real, [&at]() -> const FileLocation& { return at; });
}

/// Output size and leading padding of one spatial dimension (TFLite's SAME and VALID);
/// `k` is the kernel's extent (dilated). In 64 bits: a stride or a dilated extent near the
/// int range would wrap.
void spatial(int64_t in, int64_t k, int64_t s, bool same, int64_t& out, int64_t& pad) {
  if (same) {
    out = (in + s - 1) / s;
    pad = std::max<int64_t>((out - 1) * s + k - in, 0) / 2;
  } else {
    out = in >= k ? (in - k) / s + 1 : 0;
    pad = 0;
  }
}

/// Kernel window, stride, dilation and padding; checks the output's spatial size.
void set_window(Op& op, const OpSpec& spec, const Tensor& in, const FileLocation& at) {
  op.sh = spec.stride_h;
  op.sw = spec.stride_w;
  op.dh = spec.dilation_h;
  op.dw = spec.dilation_w;
  op.same_padding = spec.same_padding;
  if (op.sh < 1 || op.sw < 1)
    at["stride"].fail("strides must be at least 1, found " + shape_text({op.sh, op.sw}));
  if (op.dh < 1 || op.dw < 1)
    at["dilation"].fail("dilation factors must be at least 1, found " + shape_text({op.dh, op.dw}));
  const int64_t ekh = op.dilated_h(), ekw = op.dilated_w();
  int64_t oh = 0, ow = 0, pad_top = 0, pad_left = 0;
  spatial(in.h, ekh, op.sh, op.same_padding, oh, pad_top);
  spatial(in.w, ekw, op.sw, op.same_padding, ow, pad_left);
  if (oh == 0 || ow == 0)
    at.fail("kernel " + std::to_string(ekh) + "x" + std::to_string(ekw) + " larger than the input " +
            shape_text(in.shape) + " with valid padding");
  // The window's last input position, (output - 1) x stride + dilated kernel - 1 counted
  // from the padding's start, is an int in TFLite's kernels and in ours: with SAME
  // padding a large dilation or stride can take it past the type.
  constexpr int64_t kMaxReach = std::numeric_limits<int32_t>::max();
  const int64_t reach = std::max((oh - 1) * op.sh + ekh, (ow - 1) * op.sw + ekw);
  if (reach > kMaxReach)
    at.fail("kernel " + shape_text({op.kh, op.kw}) + " dilated by " + shape_text({op.dh, op.dw}) +
            " with stride " + shape_text({op.sh, op.sw}) + " reaches " + std::to_string(reach) +
            " input positions with SAME padding; at most 2^31 - 1 (positions are 32-bit integers)");
  op.pad_top = static_cast<int>(pad_top);
  op.pad_left = static_cast<int>(pad_left);
  if (spec.output.h != oh || spec.output.w != ow)
    at["output"]["shape"].fail("expected spatial size " + std::to_string(oh) + "x" + std::to_string(ow) +
                               ", found " + shape_text(spec.output.shape));
}

/// A bound in the output's quantization, as TFLite computes it (in float: zero point +
/// round(bound / scale)).
int32_t quantize_bound(float real, const Tensor& out) {
  return out.zero_point + static_cast<int32_t>(std::round(real / static_cast<float>(out.scale)));
}

/// The fused activation's clamp in the output's quantization (TFLite's
/// CalculateActivationRangeQuantized), clamped to int8.
void set_activation(Op& op, Activation a, const Tensor& out) {
  op.activation = a;
  op.act_min = -128;
  op.act_max = 127;
  if (a == Activation::Relu || a == Activation::Relu6) op.act_min = std::max<int32_t>(-128, quantize_bound(0, out));
  if (a == Activation::Relu6) op.act_max = std::min<int32_t>(127, quantize_bound(6, out));
  if (a == Activation::ReluN1To1) {
    op.act_min = std::max<int32_t>(-128, quantize_bound(-1, out));
    op.act_max = std::min<int32_t>(127, quantize_bound(1, out));
  }
}

void set_weights(Op& op, OpSpec& spec, const FileLocation& at, const std::vector<int>& expected_shape, int oc,
                 const Tensor& in, const Tensor& out) {
  const FileLocation wat = at["weights"];
  if (spec.weight_shape != expected_shape)
    wat["shape"].fail("expected " + shape_text(expected_shape) + " for input " + shape_text(in.shape) +
                      " and output " + shape_text(out.shape) + ", found " + shape_text(spec.weight_shape));
  if (spec.weight_scales.size() != static_cast<size_t>(oc))
    wat["scales"].fail("expected " + std::to_string(oc) + " per-channel scales (one per output channel), found " +
                       std::to_string(spec.weight_scales.size()));
  for (size_t i = 0; i < spec.weight_scales.size(); ++i) {
    const double s = spec.weight_scales[i];
    if (!(s > 0) || !std::isfinite(s)) wat["scales"][i].fail("expected a positive finite scale");
  }
  size_t n = 1;
  for (int d : expected_shape) n *= static_cast<size_t>(d);
  op.weights = spec.weights(n);
  op.weights_source = spec.weights_source;
  op.bias = spec.bias ? spec.bias(static_cast<size_t>(oc)) : std::vector<int32_t>(static_cast<size_t>(oc), 0);
  op.weight_scales = spec.weight_scales;
  // The output unit's multiplier of channel c: input scale x weight scale / output scale.
  for (int c = 0; c < oc; ++c)
    op.requant.push_back(requant_at(in.scale * op.weight_scales[static_cast<size_t>(c)] / out.scale,
                                    [&]() { return wat["scales"][static_cast<size_t>(c)]; }));
}

/// TFLite's fixed-point input scaling for logistic and tanh (4 integer bits) and softmax
/// (5): the multiplier and left shift of s x beta x 2^(31 - bits), and the input radius
/// beyond which the output saturates (CalculateInputRadius).
void set_input_scaling(Op& op, double real_scale, int integer_bits) {
  const double real = std::min(real_scale * static_cast<double>(int64_t{1} << (31 - integer_bits)),
                               static_cast<double>((int64_t{1} << 31) - 1));
  const Requant r = quantize_multiplier(real);
  op.input_multiplier = r.multiplier;
  op.input_shift = r.shift;
  const double radius = static_cast<double>((int64_t{1} << integer_bits) - 1) *
                        static_cast<double>(int64_t{1} << (31 - integer_bits)) /
                        static_cast<double>(int64_t{1} << std::max(0, r.shift));
  op.input_radius = static_cast<int32_t>(std::min(std::floor(radius), 2147483647.0));
}

/// The int16 fixed-point multiplier of a Q31 one (TFLite's DownScaleInt32ToInt16Multiplier).
int16_t downscale_q15(int32_t m) {
  if (m >= std::numeric_limits<int32_t>::max() - (1 << 15)) return std::numeric_limits<int16_t>::max();
  return static_cast<int16_t>((m + (1 << 15)) >> 16);
}

/// TFLite's HardSwishPrepare: scales formed in float, multipliers in Q15.
void set_hard_swish(Op& op, const Tensor& in, const Tensor& out, const FileLocation& at) {
  const float hires_input_scale = (1.0f / 128.0f) * static_cast<float>(in.scale);
  const float reluish_scale = 3.0f / 32768.0f;
  const Requant o = requant(static_cast<double>(hires_input_scale / static_cast<float>(out.scale)), at);
  const Requant r = requant(static_cast<double>(hires_input_scale / reluish_scale), at);
  if (o.shift > 0)
    at["output"].fail("hard swish needs an output scale of at least the input's / 128 (TFLite's kernel)");
  op.swish_multiplier = downscale_q15(o.multiplier);
  op.swish_exponent = o.shift;
  op.reluish_multiplier = downscale_q15(r.multiplier);
  op.reluish_exponent = r.shift;
}

/// Broadcasting of an elementwise input to the output (TFLite's, right-aligned): every
/// 4-D dimension equal to the output's or 1.
void check_broadcast(const Tensor& t, const Tensor& out, const FileLocation& at) {
  const auto a = t.dims(), o = out.dims();
  for (int k = 0; k < 4; ++k)
    if (a[static_cast<size_t>(k)] != o[static_cast<size_t>(k)] && a[static_cast<size_t>(k)] != 1)
      at.fail("input " + shape_text(t.shape) + " does not broadcast to the output " + shape_text(out.shape));
}

}  // namespace

void set_shape(Tensor& t, const std::vector<int>& shape, const FileLocation& at) {
  if (shape.empty() || shape.size() > 4)
    at.fail("expected a shape of 1 to 4 dimensions ([H, W, C], [N], TFLite's [1, H, W, C]), found " +
            shape_text(shape));
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 1) at.fail("dimension " + std::to_string(i) + " of " + shape_text(shape) + " is not positive");
  }
  if (shape.size() == 4 && shape[0] != 1)
    at.fail("batch " + std::to_string(shape[0]) + " in " + shape_text(shape) + ": the NPU model runs batch 1");
  t.shape = shape;
  const size_t r = shape.size();
  t.c = shape[r - 1];
  t.w = r >= 2 ? shape[r - 2] : 1;
  t.h = r >= 3 ? shape[r - 3] : 1;
}

int add_constant(Network& net, Tensor t, const FileLocation& at) {
  if (net.tensor_index(t.name) >= 0) at["name"].fail("tensor '" + t.name + "' is defined twice");
  if (t.data.size() != t.size())
    at["data"].fail("expected " + std::to_string(t.size()) + " values for shape " + shape_text(t.shape) +
                    ", found " + std::to_string(t.data.size()));
  net.tensors.push_back(std::move(t));
  return static_cast<int>(net.tensors.size()) - 1;
}

void add_op(Network& net, OpSpec spec, const FileLocation& at) {
  Op op;
  op.type = spec.type;
  op.name = spec.name;
  op.inputs = spec.inputs;
  Tensor& out = spec.output;
  const std::string tname = op_type_name(op.type);
  if (net.tensor_index(out.name) >= 0) at["output"]["name"].fail("tensor '" + out.name + "' is defined twice");
  const bool binary = op.type == OpType::Add || op.type == OpType::Sub || op.type == OpType::Mul;
  const size_t n_in_expected = binary ? 2 : 1;
  if (op.type == OpType::Concat ? op.inputs.empty() : op.inputs.size() != n_in_expected)
    at["inputs"].fail(tname + " takes " + std::to_string(n_in_expected) + " input" + (n_in_expected > 1 ? "s" : "") +
                      ", found " + std::to_string(op.inputs.size()));
  const Tensor& in = net.tensors[static_cast<size_t>(op.inputs[0])];
  if (in.constant() && !binary && op.type != OpType::Concat)
    at["inputs"][0].fail(tname + " reads the constant '" + in.name + "': only elementwise operands may be constant");
  auto need_3d = [&](const Tensor& t, const FileLocation& a) {
    if (t.shape.size() < 3) a.fail(tname + " needs [H, W, C] tensors, found " + shape_text(t.shape));
  };
  auto same_size = [&](const char* what) {
    if (in.size() != out.size() || in.c != out.c)
      at["output"]["shape"].fail(std::string(what) + " keeps its input's shape " + shape_text(in.shape) +
                                 ", found " + shape_text(out.shape));
  };
  if (!weighted(op.type) && (!spec.weight_shape.empty() || spec.weights))
    at["weights"].fail(tname + " takes no weights");
  if (!fused_activation(op.type) && spec.activation != Activation::None)
    at["activation"].fail(tname + " takes no fused activation");
  switch (op.type) {
    case OpType::Conv2d:
    case OpType::DepthwiseConv2d: {
      need_3d(in, at["inputs"][0]);
      need_3d(out, at["output"]["shape"]);
      if (spec.weight_shape.size() != 4)
        at["weights"]["shape"].fail("expected 4 dimensions, found " + shape_text(spec.weight_shape));
      op.kh = spec.weight_shape[1];
      op.kw = spec.weight_shape[2];
      set_window(op, spec, in, at);
      if (op.type == OpType::Conv2d) {
        set_weights(op, spec, at, {out.c, op.kh, op.kw, in.c}, out.c, in, out);
        op.macs = out.size() * op.kh * op.kw * in.c;
      } else {
        op.depth_multiplier = spec.depth_multiplier;
        if (op.depth_multiplier < 1 || op.depth_multiplier > 256)
          at["depth_multiplier"].fail("value " + std::to_string(op.depth_multiplier) + " out of range [1, 256]");
        if (out.c != in.c * op.depth_multiplier)
          at["output"]["shape"].fail("depthwise output channels must be input channels x depth_multiplier = " +
                                     std::to_string(in.c * op.depth_multiplier));
        set_weights(op, spec, at, {1, op.kh, op.kw, out.c}, out.c, in, out);
        op.macs = out.size() * op.kh * op.kw;
      }
      set_activation(op, spec.activation, out);
      break;
    }
    case OpType::FullyConnected: {
      if (out.h != 1 || out.w != 1) at["output"]["shape"].fail("fully connected output must be [N] or [1, N]");
      set_weights(op, spec, at, {out.c, static_cast<int>(in.size())}, out.c, in, out);
      op.macs = static_cast<size_t>(out.c) * in.size();
      set_activation(op, spec.activation, out);
      break;
    }
    case OpType::AvgPool:
    case OpType::MaxPool:
      need_3d(in, at["inputs"][0]);
      need_3d(out, at["output"]["shape"]);
      if (spec.kernel.size() != 2 || spec.kernel[0] < 1 || spec.kernel[1] < 1)
        at["kernel"].fail("expected [KH, KW], both at least 1, found " + shape_text(spec.kernel));
      op.kh = spec.kernel[0];
      op.kw = spec.kernel[1];
      set_window(op, spec, in, at);
      if (out.c != in.c) at["output"]["shape"].fail("pooling keeps the channel count " + std::to_string(in.c));
      if (!same_quant(in, out))
        at["output"].fail("pooling output must keep the input's scale and zero point (as in TFLite)");
      set_activation(op, spec.activation, out);
      op.macs = out.size() * op.kh * op.kw;
      break;
    case OpType::Add:
    case OpType::Sub:
    case OpType::Mul: {
      const Tensor& b = net.tensors[static_cast<size_t>(op.inputs[1])];
      check_broadcast(in, out, at["inputs"][0]);
      check_broadcast(b, out, at["inputs"][1]);
      if (in.constant() && b.constant()) at["inputs"].fail(tname + " of two constants");
      if (op.type == OpType::Mul) {
        op.out_requant = requant(in.scale * b.scale / out.scale, at);
      } else {
        // TFLite's int8 add and sub: both inputs to a common scale of 2 x max(s1, s2) with
        // 20 bits of headroom, then the sum (difference) to the output scale.
        op.left_shift = 20;
        const double twice_max = 2 * std::max(in.scale, b.scale);
        op.in_requant = {requant(in.scale / twice_max, at), requant(b.scale / twice_max, at)};
        op.out_requant = requant(twice_max / ((1 << op.left_shift) * out.scale), at);
      }
      set_activation(op, spec.activation, out);
      op.macs = out.size();
      break;
    }
    case OpType::Concat: {
      const int rank = static_cast<int>(out.shape.size());
      if (spec.axis < -rank || spec.axis >= rank)
        at["axis"].fail("axis " + std::to_string(spec.axis) + " outside the output's " + std::to_string(rank) +
                        " dimensions");
      op.axis = out.axis4(spec.axis);
      const auto od = out.dims();
      int along = 0;
      for (size_t k = 0; k < op.inputs.size(); ++k) {
        const Tensor& t = net.tensors[static_cast<size_t>(op.inputs[k])];
        const auto d = t.dims();
        for (int a = 0; a < 4; ++a)
          if (a != op.axis && d[static_cast<size_t>(a)] != od[static_cast<size_t>(a)])
            at["inputs"][k].fail("concat input " + shape_text(t.shape) + " differs from the output " +
                                 shape_text(out.shape) + " outside the axis joined");
        along += d[static_cast<size_t>(op.axis)];
        // Each input rescaled to the output's quantization (TFLite's int8 concatenation
        // requires equal quantization, where this is the identity).
        op.in_requant.push_back(requant(t.scale / out.scale, at));
      }
      if (along != od[static_cast<size_t>(op.axis)])
        at["output"]["shape"].fail("concat output must have " + std::to_string(along) + " along the axis joined");
      op.macs = out.size();
      break;
    }
    case OpType::Reshape:
      // TFLite's reshape moves bytes: a different quantization is not a rescale (and keeps
      // the op off the NPU, support.cpp).
      if (in.size() != out.size())
        at["output"]["shape"].fail("reshape must keep the element count " + std::to_string(in.size()));
      break;
    case OpType::Softmax: {
      same_size("softmax");
      if (out.zero_point != -128 || std::abs(out.scale - 1.0 / 256) > 1e-9)
        at["output"].fail("softmax output must have scale 1/256 and zero point -128 (as in TFLite)");
      if (!(spec.beta > 0) || !std::isfinite(spec.beta)) at["beta"].fail("expected a positive finite number");
      op.beta = spec.beta;
      set_input_scaling(op, op.beta * in.scale, 5);  // TFLite's PreprocessSoftmaxScaling, Q5.26 differences
      if (op.input_shift < 0) at["beta"].fail("beta x input scale below 2^-27: TFLite's softmax cannot scale it");
      op.macs = out.size();
      break;
    }
    case OpType::Pad: {
      const int rank = static_cast<int>(in.shape.size());
      if (spec.pads.size() != 2 * static_cast<size_t>(rank))
        at["pads"].fail("expected [before, after] for each of the input's " + std::to_string(rank) +
                        " dimensions (" + std::to_string(2 * rank) + " values), found " +
                        std::to_string(spec.pads.size()));
      std::vector<int> expect;
      for (int a = 0; a < rank; ++a) {
        const int b = spec.pads[static_cast<size_t>(2 * a)], e = spec.pads[static_cast<size_t>(2 * a + 1)];
        if (b < 0 || e < 0) at["pads"].fail("paddings must not be negative");
        op.pad_before[static_cast<size_t>(in.axis4(a))] = b;
        op.pad_after[static_cast<size_t>(in.axis4(a))] = e;
        expect.push_back(in.shape[static_cast<size_t>(a)] + b + e);
      }
      if (out.shape != expect)
        at["output"]["shape"].fail("expected " + shape_text(expect) + " (the input padded), found " +
                                   shape_text(out.shape));
      if (!same_quant(in, out)) at["output"].fail("pad keeps the input's scale and zero point (as in TFLite)");
      op.pad_value = spec.pad_value.value_or(out.zero_point);
      if (op.pad_value < -128 || op.pad_value > 127) at["pad_value"].fail("outside int8");
      op.macs = out.size();
      break;
    }
    case OpType::Mean: {
      const int rank = static_cast<int>(in.shape.size());
      if (spec.axes.empty()) at["axes"].fail("expected at least one axis");
      int64_t count = 1;
      size_t kept = 1;
      for (int a : spec.axes) {
        if (a < -rank || a >= rank)
          at["axes"].fail("axis " + std::to_string(a) + " outside the input's " + std::to_string(rank) + " dimensions");
        op.reduce[static_cast<size_t>(in.axis4(a))] = true;
      }
      const auto d = in.dims();
      for (size_t a = 0; a < 4; ++a) {
        if (op.reduce[a]) count *= d[a];
        else kept *= static_cast<size_t>(d[a]);
      }
      if (out.size() != kept)
        at["output"]["shape"].fail("expected " + std::to_string(kept) + " elements (the input less the axes averaged), found " +
                                   shape_text(out.shape));
      // tflite-micro's int8 mean: with equal quantization, the integer sum / count
      // (truncated); otherwise QuantizedMeanOrSum: s_in / s_out with 1/count folded into
      // the multiplier.
      op.mean_plain = in.zero_point == out.zero_point && static_cast<float>(in.scale) == static_cast<float>(out.scale);
      Requant r = requant(in.scale / out.scale, at);
      int shift = 63 - __builtin_clzll(static_cast<uint64_t>(count));
      shift = std::min(shift, 32);
      shift = std::min(shift, 31 + r.shift);
      r.multiplier = static_cast<int32_t>((static_cast<int64_t>(r.multiplier) << shift) / count);
      r.shift -= shift;
      op.rescale = r;
      op.macs = in.size();
      break;
    }
    case OpType::Quantize:
      same_size("quantize");
      op.rescale = requant(in.scale / out.scale, at);  // TFLite's Requantize
      op.macs = out.size();
      break;
    case OpType::Logistic:
    case OpType::Tanh: {
      same_size(tname.c_str());
      const bool logistic = op.type == OpType::Logistic;
      const double s = logistic ? 1.0 / 256 : 1.0 / 128;
      const int32_t zp = logistic ? -128 : 0;
      if (out.zero_point != zp || std::abs(out.scale - s) > 1e-9)
        at["output"].fail(tname + " output must have scale " + (logistic ? "1/256" : "1/128") + " and zero point " +
                          std::to_string(zp) + " (as in TFLite)");
      set_input_scaling(op, in.scale, 4);
      op.macs = out.size();
      break;
    }
    case OpType::HardSwish:
      same_size("hard swish");
      set_hard_swish(op, in, out, at);
      op.macs = out.size();
      break;
    case OpType::Relu:
    case OpType::Relu6:
    case OpType::ReluN1To1:
      same_size(tname.c_str());
      op.rescale = requant(in.scale / out.scale, at);
      set_activation(op,
                     op.type == OpType::Relu    ? Activation::Relu
                     : op.type == OpType::Relu6 ? Activation::Relu6
                                                : Activation::ReluN1To1,
                     out);
      op.macs = out.size();
      break;
    case OpType::LeakyRelu:
      same_size("leaky relu");
      if (!std::isfinite(spec.alpha)) at["alpha"].fail("expected a finite number");
      op.alpha = spec.alpha;
      op.rescale = requant(in.scale / out.scale, at);
      op.rescale_alpha = requant(in.scale * op.alpha / out.scale, at);
      op.macs = out.size();
      break;
    case OpType::Transpose: {
      const int rank = static_cast<int>(in.shape.size());
      std::vector<int> seen(static_cast<size_t>(rank), 0), expect;
      if (spec.perm.size() != static_cast<size_t>(rank))
        at["perm"].fail("expected a permutation of the input's " + std::to_string(rank) + " dimensions");
      for (int a = 0; a < rank; ++a) {
        const int p = spec.perm[static_cast<size_t>(a)];
        if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]++)
          at["perm"].fail(shape_text(spec.perm) + " is not a permutation of 0.." + std::to_string(rank - 1));
        op.perm[static_cast<size_t>(in.axis4(a))] = in.axis4(p);
        expect.push_back(in.shape[static_cast<size_t>(p)]);
      }
      if (out.shape != expect)
        at["output"]["shape"].fail("expected " + shape_text(expect) + " (the input transposed), found " +
                                   shape_text(out.shape));
      op.macs = out.size();
      break;
    }
    case OpType::StridedSlice: {
      const int rank = static_cast<int>(in.shape.size());
      if (spec.begin.size() != static_cast<size_t>(rank) || spec.end.size() != static_cast<size_t>(rank) ||
          spec.strides.size() != static_cast<size_t>(rank))
        at["begin"].fail("begin, end and strides need one value for each of the input's " + std::to_string(rank) +
                         " dimensions");
      std::vector<int> counts;
      size_t total = 1;
      for (int a = 0; a < rank; ++a) {
        // TFLite's StartForAxis and StopForAxis: masks, negative indices, clamping.
        const int size = in.shape[static_cast<size_t>(a)], stride = spec.strides[static_cast<size_t>(a)];
        if (stride == 0) at["strides"][static_cast<size_t>(a)].fail("a stride of 0");
        int64_t start = spec.begin[static_cast<size_t>(a)];
        if (spec.begin_mask & (1 << a)) start = stride > 0 ? std::numeric_limits<int>::lowest() : std::numeric_limits<int>::max();
        if (start < 0) start += size;
        start = stride > 0 ? std::clamp<int64_t>(start, 0, size) : std::clamp<int64_t>(start, -1, size - 1);
        int64_t stop = spec.end[static_cast<size_t>(a)];
        if (spec.shrink_axis_mask & (1 << a)) {
          stop = start + 1;
        } else {
          if (spec.end_mask & (1 << a)) stop = stride > 0 ? std::numeric_limits<int>::max() : std::numeric_limits<int>::lowest();
          if (stop < 0) stop += size;
          stop = stride > 0 ? std::clamp<int64_t>(stop, 0, size) : std::clamp<int64_t>(stop, -1, size - 1);
        }
        const int64_t n = stride > 0 ? (stop - start + stride - 1) / stride : (start - stop - stride - 1) / -stride;
        const int count = static_cast<int>(std::max<int64_t>(0, n));
        op.begin[static_cast<size_t>(in.axis4(a))] = static_cast<int>(start);
        op.step[static_cast<size_t>(in.axis4(a))] = stride;
        op.slice_count[static_cast<size_t>(in.axis4(a))] = count;
        if (!(spec.shrink_axis_mask & (1 << a))) counts.push_back(count);
        total *= static_cast<size_t>(count);
      }
      if (total == 0) at.fail("the slice is empty");
      op.shrink_axis_mask = spec.shrink_axis_mask & ((1 << rank) - 1);
      if (out.size() != total || (!counts.empty() && counts != out.shape))
        at["output"]["shape"].fail("expected " + shape_text(counts) + " (the slice), found " + shape_text(out.shape));
      op.macs = out.size();
      break;
    }
    case OpType::ResizeNearest:
    case OpType::ResizeBilinear: {
      if (in.c != out.c) at["output"]["shape"].fail("resizing keeps the channel count " + std::to_string(in.c));
      if (spec.align_corners && spec.half_pixel_centers)
        at["align_corners"].fail("align_corners and half_pixel_centers cannot both be set (as in TFLite)");
      op.align_corners = spec.align_corners;
      op.half_pixel_centers = spec.half_pixel_centers;
      op.macs = out.size() * (op.type == OpType::ResizeBilinear ? 4 : 1);
      break;
    }
  }
  op.output = static_cast<int>(net.tensors.size());
  net.tensors.push_back(std::move(out));
  net.ops.push_back(std::move(op));
}

void finish_network(Network& net, int output) {
  net.output = output;
  size_t off = 0;
  for (auto& t : net.tensors) {
    t.offset = off;
    off += (t.size() + 15) / 16 * 16;
  }
  net.arena_bytes = off;
  for (Op& op : net.ops) {
    const Placement p = placement(net, op);
    op.on_cpu = !p.npu;
    op.cpu_reason = p.reason;
  }
}

}  // namespace edgesim::npu
