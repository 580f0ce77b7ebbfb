#pragma once
// An int8 CNN as the NPU runs it: tensors (NHWC, batch 1) with per-tensor asymmetric
// quantization, ops with per-channel symmetric int8 weights and int32 biases (the TFLite
// int8 scheme). Two readers fill it: the JSON graph format described in docs/npu.md
// ("edgesim.npu_network/1") and TFLite flatbuffers (tflite.hpp); both hand each op to
// add_op, which checks shapes and quantization, throws InputError naming the file and
// where in it, and derives the requantization multipliers once, at load.
#include <cstddef>
#include <cstdint>
#include <functional>
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
  Softmax
};
const char* op_type_name(OpType t);

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
  size_t offset = 0;  // bytes into the activation arena
  size_t size() const { return static_cast<size_t>(h) * w * c; }
};

struct Op {
  OpType type = OpType::Conv2d;
  std::string name;
  std::vector<int> inputs;  // tensor indices
  int output = 0;

  // Kernels, pools.
  int kh = 1, kw = 1, sh = 1, sw = 1, pad_top = 0, pad_left = 0, depth_multiplier = 1;
  bool same_padding = false;              // TFLite's SAME (else VALID)
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

  // Softmax: exp(beta * s_in * d) for d = q - max in [-255, 0], in Q23 fixed point.
  double beta = 1;
  std::vector<int32_t> exp_lut;

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
  int stride_h = 1, stride_w = 1;
  bool same_padding = false;
  int depth_multiplier = 1;
  Activation activation = Activation::None;
  int axis = -1;  // concat
  double beta = 1;  // softmax
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

/// Lays out the activation arena (each tensor at its own 16-byte aligned offset) and
/// sets the network's output tensor.
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
