#pragma once
// An int8 CNN as the NPU runs it: tensors (NHWC, batch 1) with per-tensor asymmetric
// quantization, ops with per-channel symmetric int8 weights and int32 biases (the TFLite
// int8 scheme). Two readers fill it: the JSON graph format described in docs/npu.md
// ("edgesim.npu_network/1") and TFLite flatbuffers (tflite.hpp); both hand each op to
// add_op, which checks shapes and quantization, throws InputError naming the file and
// where in it, and derives the requantization multipliers once, at load.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgesim::npu {

constexpr const char* kNetworkSchema = "edgesim.npu_network/1";

enum class OpType {
  Conv2d,
  DepthwiseConv2d,
  FullyConnected,
  AvgPool,
  MaxPool,
  Add,
  Mul,
  Concat,
  Reshape,
  Softmax,
  Sub,
  Pad,
  Mean,
  Quantize,
  Logistic,
  Tanh,
  HardSwish,
  Relu,
  Relu6,
  ReluN1To1,
  LeakyRelu,
  Transpose,
  StridedSlice,
  ResizeNearest,
  ResizeBilinear
};
const char* op_type_name(OpType t);
/// Every op type, in declaration order (for tables and tests).
const std::vector<OpType>& all_op_types();
/// Conv, depthwise and fully connected: the ops with weights.
bool weighted(OpType t);
/// The ops the NPU runs OFM block by OFM block through the MAC array (weighted ops and pools).
bool block_type(OpType t);
/// The ops that take a fused activation (block ops, add, sub, mul).
bool fused_activation(OpType t);

/// A fused activation: a clamp in the output's quantization (TFLite's
/// CalculateActivationRangeQuantized).
enum class Activation { None, Relu, Relu6, ReluN1To1 };
const char* activation_name(Activation a);

/// A real multiplier as int32 fixed point and a power-of-two exponent (TFLite's
/// QuantizeMultiplier): real ~= multiplier / 2^31 * 2^shift.
struct Requant {
  int32_t multiplier = 0;
  int shift = 0;
  bool operator==(const Requant& o) const { return multiplier == o.multiplier && shift == o.shift; }
};
Requant quantize_multiplier(double real);

struct Tensor {
  std::string name;
  std::vector<int> shape;   // as written: TFLite's [1, H, W, C] or [1, N]; JSON's [H, W, C] or [N]
  int h = 1, w = 1, c = 1;  // NHWC view: the last three dimensions; a flat [N] tensor is 1 x 1 x N
  double scale = 1;
  int32_t zero_point = 0;
  size_t offset = 0;          // bytes into the activation arena
  std::vector<int8_t> data;  // a constant operand (an elementwise op's second input); empty otherwise
  size_t size() const { return static_cast<size_t>(h) * w * c; }
  bool constant() const { return !data.empty(); }
  /// The 4-D NHWC view (batch 1) that ops index with: {1, h, w, c}.
  std::array<int, 4> dims() const { return {1, h, w, c}; }
  /// The 4-D axis of axis `a` (negative: from the end) of the shape as written.
  int axis4(int a) const { return (a < 0 ? a + static_cast<int>(shape.size()) : a) + 4 - static_cast<int>(shape.size()); }
};

struct Op {
  OpType type = OpType::Conv2d;
  std::string name;
  std::vector<int> inputs;  // tensor indices
  int output = 0;

  // Kernels, pools. A kernel tap (ky, kx) of output (oy, ox) reads input
  // (oy sh - pad_top + ky dh, ox sw - pad_left + kx dw).
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pad_top = 0, pad_left = 0, depth_multiplier = 1;
  bool same_padding = false;              // TFLite's SAME (else VALID)
  // The dilated kernel's extent, (k - 1) x d + 1, in 64 bits: an int wraps for dilations
  // a TFLite file may hold (add_op refuses a window reaching past 2^31 - 1 positions).
  int64_t dilated_h() const { return int64_t{kh - 1} * dh + 1; }
  int64_t dilated_w() const { return int64_t{kw - 1} * dw + 1; }
  Activation activation = Activation::None;
  int32_t act_min = -128, act_max = 127;  // fused activation, in output quantization

  // Weighted ops. Layout as in TFLite: conv [OC][KH][KW][IC], depthwise [KH][KW][OC]
  // (TFLite's [1][KH][KW][OC]), fully connected [OC][IC].
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;          // one per output channel
  std::vector<double> weight_scales;  // one per output channel
  std::vector<Requant> requant;       // one per output channel: s_in * s_w[c] / s_out

  // Elementwise add and concat: inputs rescaled to a common scale (TFLite's add: inputs
  // shifted left by `left_shift` and multiplied by in_requant), then to the output's.
  int left_shift = 0;
  std::vector<Requant> in_requant;
  Requant out_requant;

  // Data movement, on the 4-D NHWC views of the tensors (batch 1).
  int axis = 3;                                 // concat: the 4-D axis joined
  std::array<int, 4> pad_before{}, pad_after{};  // pad
  int32_t pad_value = 0;                         // pad: the quantized value written in the border
  std::array<int, 4> perm{{0, 1, 2, 3}};         // transpose: output axis a is input axis perm[a]
  std::array<int, 4> begin{}, step{{1, 1, 1, 1}};  // strided slice: input = begin + step x output
  std::array<int, 4> slice_count{{1, 1, 1, 1}};    // strided slice: elements taken along each axis
  int shrink_axis_mask = 0;                        // strided slice: axes (as written) the output drops
  std::array<bool, 4> reduce{};                  // mean: the axes averaged
  bool align_corners = false, half_pixel_centers = false;  // resize

  // Element-wise functions, as TFLite's kernels prepare them.
  Requant rescale;        // s_in / s_out (quantize, relu family, leaky relu x >= 0; mean: / count)
  Requant rescale_alpha;  // leaky relu x < 0: alpha x s_in / s_out
  double alpha = 0;       // leaky relu
  bool mean_plain = false;  // mean with equal input and output quantization: sum / count (truncated)
  int32_t input_multiplier = 0, input_radius = 0;  // softmax (diff_min = -radius), logistic, tanh
  int input_shift = 0;
  int16_t reluish_multiplier = 0, swish_multiplier = 0;  // hard swish (Q15 multipliers and exponents)
  int reluish_exponent = 0, swish_exponent = 0;
  double beta = 1;  // softmax

  // Where it runs: false on the NPU; true on the host CPU, as Vela leaves an op whose type
  // or parameters Ethos-U55 cannot take (`cpu_reason` says which constraint).
  bool on_cpu = false;
  std::string cpu_reason;

  size_t macs = 0;             // multiply-accumulates (or elementary ops) per inference
  std::string weights_source;  // "inline" or "file"
};

struct Network {
  std::string name, description;
  std::vector<Tensor> tensors;
  std::vector<Op> ops;
  int input = 0, output = 0;
  double raw_scale = 1;    // input: real value = raw value x raw_scale
  size_t arena_bytes = 0;  // all activations, each tensor at its own offset

  int tensor_index(const std::string& name) const;  // -1 if absent
  size_t weight_bytes() const;                      // int8 weights + int32 biases
  size_t total_macs() const;
};

/// Reads a network file: TFLite (a flatbuffer with the "TFL3" identifier, or a .tflite
/// name) or the JSON format, whose weight data is inline (arrays of integers) or in the
/// binary file `weights_file` names (relative to the JSON file). Throws InputError naming
/// the file and where in it.
Network load_network(const std::string& path);
/// The same from parsed JSON; `base_dir` resolves `weights_file`; `origin` names the
/// document in errors.
Network parse_network(const nlohmann::json& doc, const std::string& base_dir, const std::string& origin);

// ---- Building a network: what both readers use ----

/// Where a value sits in a network file, for errors: "digits.json: ops[2].weights.shape",
/// "person_detect.tflite: operators[3] (CONV_2D).output.shape".
struct FileLocation {
  std::string origin, path;
  FileLocation operator[](const std::string& key) const;
  FileLocation operator[](size_t i) const;
  [[noreturn]] void fail(const std::string& message) const;
};

/// Sets `t.shape` and its NHWC view; a shape of rank 1 to 4 with every dimension >= 1,
/// a leading batch dimension of 1 (rank 4).
void set_shape(Tensor& t, const std::vector<int>& shape, const FileLocation& at);

/// An op as a file states it, before checking. Weight and bias data are read through
/// the callbacks once the declared shape has been checked (they take the element count).
struct OpSpec {
  OpType type = OpType::Conv2d;
  std::string name;
  std::vector<int> inputs;  // tensor indices, defined before the op
  Tensor output;
  std::vector<int> kernel;  // pools: [KH, KW]
  int stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  bool same_padding = false;
  int depth_multiplier = 1;
  Activation activation = Activation::None;
  int axis = -1;              // concat (of the output's shape as written; negative from the end)
  std::vector<int> axes;      // mean (of the input's shape as written)
  std::vector<int> pads;      // pad: [before, after] per dimension of the input as written
  std::optional<int32_t> pad_value;  // pad: the quantized border value (default: the output zero point)
  std::vector<int> perm;      // transpose (of the input's shape as written)
  std::vector<int> begin, end, strides;  // strided slice, as written, before the masks
  int begin_mask = 0, end_mask = 0, shrink_axis_mask = 0;
  bool align_corners = false, half_pixel_centers = false;
  double alpha = 0;  // leaky relu
  double beta = 1;   // softmax
  std::vector<int> weight_shape;
  std::vector<double> weight_scales;  // one per output channel
  std::function<std::vector<int8_t>(size_t)> weights;
  std::function<std::vector<int32_t>(size_t)> bias;  // unset: zeros
  std::string weights_source = "inline";
};

/// Checks `spec` against the tensors it reads (shapes, quantization constraints TFLite
/// imposes), derives its requantization and appends the op and its output tensor.
/// Errors name `at` and the part of the op ("output.shape", "weights.scales", ...).
void add_op(Network& net, OpSpec spec, const FileLocation& at);

/// Adds a constant tensor (an elementwise operand stored in the file); returns its index.
int add_constant(Network& net, Tensor t, const FileLocation& at);

/// Lays out the activation arena (each tensor at its own 16-byte aligned offset), sets
/// the network's output tensor and places each op on the NPU or the CPU (support.hpp).
void finish_network(Network& net, int output);

/// `net` as an edgesim.npu_network/1 document whose weight and bias data sit in a
/// binary file named `weights_file` (beside the JSON): loading the pair gives back the
/// same network (every tensor, op and derived multiplier). The caller writes both.
struct ExportedNetwork {
  nlohmann::json doc;
  std::string weights;  // the bytes of `weights_file`
};
ExportedNetwork export_network(const Network& net, const std::string& weights_file);

}  // namespace edgesim::npu
