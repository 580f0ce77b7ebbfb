#include "models/npu/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "models/npu/tflite.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/config/params.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::npu {

using nlohmann::json;

const char* op_type_name(OpType t) {
  switch (t) {
    case OpType::Conv2d: return "conv2d";
    case OpType::DepthwiseConv2d: return "depthwise_conv2d";
    case OpType::FullyConnected: return "fully_connected";
    case OpType::AvgPool: return "avg_pool";
    case OpType::MaxPool: return "max_pool";
    case OpType::Add: return "add";
    case OpType::Mul: return "mul";
    case OpType::Concat: return "concat";
    case OpType::Reshape: return "reshape";
    case OpType::Softmax: return "softmax";
  }
  return "?";
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

/// Output size and leading padding of one spatial dimension (TFLite's SAME and VALID).
void spatial(int in, int k, int s, bool same, int& out, int& pad) {
  if (same) {
    out = (in + s - 1) / s;
    pad = std::max((out - 1) * s + k - in, 0) / 2;
  } else {
    out = in >= k ? (in - k) / s + 1 : 0;
    pad = 0;
  }
}

/// Kernel window, stride and padding; checks the output's spatial size.
void set_window(Op& op, const OpSpec& spec, const Tensor& in, const FileLocation& at) {
  op.sh = spec.stride_h;
  op.sw = spec.stride_w;
  op.same_padding = spec.same_padding;
  if (op.sh < 1 || op.sw < 1)
    at["stride"].fail("strides must be at least 1, found " + shape_text({op.sh, op.sw}));
  int oh = 0, ow = 0;
  spatial(in.h, op.kh, op.sh, op.same_padding, oh, op.pad_top);
  spatial(in.w, op.kw, op.sw, op.same_padding, ow, op.pad_left);
  if (oh == 0 || ow == 0)
    at.fail("kernel " + std::to_string(op.kh) + "x" + std::to_string(op.kw) + " larger than the input " +
            shape_text(in.shape) + " with valid padding");
  if (spec.output.h != oh || spec.output.w != ow)
    at["output"]["shape"].fail("expected spatial size " + std::to_string(oh) + "x" + std::to_string(ow) +
                               ", found " + shape_text(spec.output.shape));
}

/// The fused activation's clamp in the output's quantization, as TFLite computes it (in
/// float: zero point + round(bound / scale), clamped to int8).
void set_activation(Op& op, Activation a, const Tensor& out) {
  op.activation = a;
  const auto q = [&](float real) {
    return out.zero_point + static_cast<int32_t>(std::round(real / static_cast<float>(out.scale)));
  };
  op.act_min = -128;
  op.act_max = 127;
  if (a == Activation::Relu || a == Activation::Relu6) op.act_min = std::max<int32_t>(-128, q(0.0f));
  if (a == Activation::Relu6) op.act_max = std::min<int32_t>(127, q(6.0f));
  if (a == Activation::ReluN1To1) {
    op.act_min = std::max<int32_t>(-128, q(-1.0f));
    op.act_max = std::min<int32_t>(127, q(1.0f));
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
  for (int c = 0; c < oc; ++c)
    op.requant.push_back(quantize_multiplier(in.scale * op.weight_scales[static_cast<size_t>(c)] / out.scale));
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

void add_op(Network& net, OpSpec spec, const FileLocation& at) {
  Op op;
  op.type = spec.type;
  op.name = spec.name;
  op.inputs = spec.inputs;
  Tensor& out = spec.output;
  if (net.tensor_index(out.name) >= 0) at["output"]["name"].fail("tensor '" + out.name + "' is defined twice");
  const size_t n_in_expected = (op.type == OpType::Add || op.type == OpType::Mul) ? 2 : 1;
  if (op.type == OpType::Concat ? op.inputs.empty() : op.inputs.size() != n_in_expected)
    at["inputs"].fail(std::string(op_type_name(op.type)) + " takes " + std::to_string(n_in_expected) + " input" +
                      (n_in_expected > 1 ? "s" : "") + ", found " + std::to_string(op.inputs.size()));
  const Tensor& in = net.tensors[static_cast<size_t>(op.inputs[0])];
  auto need_3d = [&](const Tensor& t, const FileLocation& a) {
    if (t.shape.size() < 3)
      a.fail(std::string(op_type_name(op.type)) + " needs [H, W, C] tensors, found " + shape_text(t.shape));
  };
  const bool weighted =
      op.type == OpType::Conv2d || op.type == OpType::DepthwiseConv2d || op.type == OpType::FullyConnected;
  if (!weighted && (!spec.weight_shape.empty() || spec.weights))
    at["weights"].fail(std::string(op_type_name(op.type)) + " takes no weights");
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
    case OpType::Mul: {
      const Tensor& b = net.tensors[static_cast<size_t>(op.inputs[1])];
      if (in.size() != out.size() || b.size() != out.size() || in.c != out.c || b.c != out.c)
        at["inputs"].fail("elementwise inputs " + shape_text(in.shape) + " and " + shape_text(b.shape) +
                          " must have the output's shape " + shape_text(out.shape) + " (no broadcasting)");
      if (op.type == OpType::Add) {
        // TFLite's int8 add: both inputs to a common scale of 2 x max(s1, s2) with 20 bits
        // of headroom, then the sum to the output scale.
        op.left_shift = 20;
        const double twice_max = 2 * std::max(in.scale, b.scale);
        op.in_requant = {quantize_multiplier(in.scale / twice_max), quantize_multiplier(b.scale / twice_max)};
        op.out_requant = quantize_multiplier(twice_max / ((1 << op.left_shift) * out.scale));
      } else {
        op.out_requant = quantize_multiplier(in.scale * b.scale / out.scale);
      }
      set_activation(op, spec.activation, out);
      op.macs = out.size();
      break;
    }
    case OpType::Concat: {
      need_3d(out, at["output"]["shape"]);
      const int rank = static_cast<int>(out.shape.size());
      if (spec.axis != -1 && spec.axis != rank - 1)
        at["axis"].fail("only concatenation along channels (axis -1 or " + std::to_string(rank - 1) +
                        ") is supported");
      int channels = 0;
      for (size_t k = 0; k < op.inputs.size(); ++k) {
        const Tensor& t = net.tensors[static_cast<size_t>(op.inputs[k])];
        need_3d(t, at["inputs"][k]);
        if (t.h != out.h || t.w != out.w)
          at["inputs"][k].fail("concat input " + shape_text(t.shape) + " differs in H, W from the output " +
                               shape_text(out.shape));
        channels += t.c;
        // Each input rescaled to the output's quantization (as TFLite's concatenation).
        op.in_requant.push_back(quantize_multiplier(t.scale / out.scale));
      }
      if (channels != out.c)
        at["output"]["shape"].fail("concat output must have " + std::to_string(channels) + " channels");
      op.macs = out.size();
      break;
    }
    case OpType::Reshape:
      if (in.size() != out.size())
        at["output"]["shape"].fail("reshape must keep the element count " + std::to_string(in.size()));
      if (!same_quant(in, out)) at["output"].fail("reshape must keep the input's scale and zero point");
      break;
    case OpType::Softmax: {
      if (in.size() != out.size() || in.c != out.c) at["output"]["shape"].fail("softmax keeps its input's shape");
      if (out.zero_point != -128 || std::abs(out.scale - 1.0 / 256) > 1e-9)
        at["output"].fail("softmax output must have scale 1/256 and zero point -128 (as in TFLite)");
      if (!(spec.beta > 0) || !std::isfinite(spec.beta)) at["beta"].fail("expected a positive finite number");
      op.beta = spec.beta;
      op.exp_lut.resize(256);
      for (int d = 0; d < 256; ++d)
        op.exp_lut[static_cast<size_t>(d)] =
            static_cast<int32_t>(std::lround(std::exp(-op.beta * in.scale * d) * (1 << 23)));
      op.macs = out.size();
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
}

// ---- The JSON format ----

namespace {

void check_keys(const json& obj, const FileLocation& at, const std::vector<std::string>& allowed) {
  if (!obj.is_object()) at.fail("expected an object");
  for (const auto& [k, v] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    const std::string s = config::suggest(k, allowed);
    at[k].fail("unknown key '" + k + "'" + (s.empty() ? "" : "; did you mean '" + s + "'?"));
  }
}

const json& need(const json& obj, const std::string& key, const FileLocation& at) {
  auto it = obj.find(key);
  if (it == obj.end()) at[key].fail("missing");
  return *it;
}

long long integer(const json& v, const FileLocation& at, long long lo, long long hi) {
  if (!v.is_number_integer()) at.fail("expected an integer");
  const auto x = v.get<long long>();
  if (x < lo || x > hi)
    at.fail("value " + std::to_string(x) + " out of range [" + std::to_string(lo) + ", " + std::to_string(hi) +
            "]");
  return x;
}

double positive(const json& v, const FileLocation& at) {
  if (!v.is_number()) at.fail("expected a number");
  const double x = v.get<double>();
  if (!(x > 0) || !std::isfinite(x)) at.fail("expected a positive finite number");
  return x;
}

std::vector<int> int_list(const json& v, const FileLocation& at, size_t min_len, size_t max_len, long long lo) {
  if (!v.is_array() || v.size() < min_len || v.size() > max_len)
    at.fail("expected a list of " + std::to_string(min_len) +
            (max_len != min_len ? " to " + std::to_string(max_len) : "") + " integers");
  std::vector<int> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(static_cast<int>(integer(v[i], at[i], lo, 1 << 24)));
  return out;
}

/// The bytes of `weights_file`, read once.
struct Blob {
  std::string path;
  std::vector<char> bytes;
  bool loaded = false;
};

/// Weight or bias data: an inline list of integers, or {"offset", "count"} into the blob.
template <class T>
std::vector<T> read_data(const json& v, const FileLocation& at, size_t expected, Blob& blob) {
  std::vector<T> out;
  if (v.is_array()) {
    if (v.size() != expected)
      at.fail("expected " + std::to_string(expected) + " values, found " + std::to_string(v.size()));
    out.reserve(expected);
    for (size_t i = 0; i < v.size(); ++i) {
      out.push_back(
          static_cast<T>(integer(v[i], at[i], std::numeric_limits<T>::min(), std::numeric_limits<T>::max())));
    }
    return out;
  }
  check_keys(v, at, {"offset", "count"});
  if (blob.path.empty()) at.fail("data given by offset, but the network names no weights_file");
  if (!blob.loaded) {
    std::ifstream in(blob.path, std::ios::binary);
    if (!in) at.fail("cannot read weights_file '" + blob.path + "'");
    blob.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    blob.loaded = true;
  }
  const auto offset = static_cast<size_t>(integer(need(v, "offset", at), at["offset"], 0, 1LL << 40));
  const auto count = static_cast<size_t>(integer(need(v, "count", at), at["count"], 0, 1LL << 40));
  if (count != expected)
    at["count"].fail("expected " + std::to_string(expected) + ", found " + std::to_string(count));
  if (offset + count * sizeof(T) > blob.bytes.size())
    at.fail("bytes [" + std::to_string(offset) + ", " + std::to_string(offset + count * sizeof(T)) +
            ") lie beyond the end of " + blob.path + " (" + std::to_string(blob.bytes.size()) +
            " bytes; truncated?)");
  out.resize(count);
  // Little-endian on disk; edgesim runs on little-endian hosts (checked at compile time).
  static_assert(sizeof(T) == 1 || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host expected");
  std::memcpy(out.data(), blob.bytes.data() + offset, count * sizeof(T));
  return out;
}

Tensor read_tensor(const json& v, const FileLocation& at, bool input) {
  std::vector<std::string> keys = {"name", "shape", "scale", "zero_point"};
  if (input) keys.push_back("raw_scale");
  check_keys(v, at, keys);
  Tensor t;
  const json& name = need(v, "name", at);
  if (!name.is_string() || name.get<std::string>().empty()) at["name"].fail("expected a non-empty string");
  t.name = name.get<std::string>();
  set_shape(t, int_list(need(v, "shape", at), at["shape"], 1, 4, 1), at["shape"]);
  t.scale = positive(need(v, "scale", at), at["scale"]);
  t.zero_point = static_cast<int32_t>(integer(need(v, "zero_point", at), at["zero_point"], -128, 127));
  return t;
}

const std::vector<std::pair<std::string, OpType>>& json_types() {
  static const std::vector<std::pair<std::string, OpType>> kTypes = {
      {"conv2d", OpType::Conv2d},   {"depthwise_conv2d", OpType::DepthwiseConv2d},
      {"fully_connected", OpType::FullyConnected},
      {"avg_pool", OpType::AvgPool}, {"max_pool", OpType::MaxPool},
      {"add", OpType::Add},          {"mul", OpType::Mul},
      {"concat", OpType::Concat},    {"reshape", OpType::Reshape},
      {"softmax", OpType::Softmax}};
  return kTypes;
}

OpType parse_type(const json& v, const FileLocation& at) {
  if (!v.is_string()) at.fail("expected a string naming the op type");
  std::vector<std::string> names;
  for (const auto& [n, t] : json_types()) {
    if (n == v.get<std::string>()) return t;
    names.push_back(n);
  }
  const std::string s = config::suggest(v.get<std::string>(), names);
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  at.fail("unknown op type '" + v.get<std::string>() + "'" + (s.empty() ? "" : "; did you mean '" + s + "'?") +
          " (types: " + list + ")");
}

Activation parse_activation(const json& v, const FileLocation& at) {
  for (Activation a : {Activation::None, Activation::Relu, Activation::Relu6, Activation::ReluN1To1}) {
    if (v.is_string() && v.get<std::string>() == activation_name(a)) return a;
  }
  at.fail("unknown activation " + v.dump() + " (none, relu, relu6, relu_n1_to_1)");
}

}  // namespace

Network parse_network(const json& doc, const std::string& base_dir, const std::string& origin) {
  const FileLocation top{origin, ""};
  check_keys(doc, top, {"schema", "name", "description", "source", "weights_file", "input", "ops"});
  const json& schema = need(doc, "schema", top);
  if (schema != kNetworkSchema)
    top["schema"].fail("expected \"" + std::string(kNetworkSchema) + "\", found " + schema.dump());
  Network net;
  net.name = "network";
  if (doc.contains("name")) {
    if (!doc["name"].is_string()) top["name"].fail("expected a string");
    net.name = doc["name"].get<std::string>();
  }
  if (doc.contains("description") && doc["description"].is_string()) net.description = doc["description"];
  auto blob = std::make_shared<Blob>();
  if (doc.contains("weights_file")) {
    if (!doc["weights_file"].is_string()) top["weights_file"].fail("expected a file name");
    blob->path = (std::filesystem::path(base_dir) / doc["weights_file"].get<std::string>()).string();
  }
  Tensor input = read_tensor(need(doc, "input", top), top["input"], true);
  if (doc["input"].contains("raw_scale"))
    net.raw_scale = positive(doc["input"]["raw_scale"], top["input"]["raw_scale"]);
  net.tensors.push_back(input);

  const json& ops = need(doc, "ops", top);
  if (!ops.is_array() || ops.empty()) top["ops"].fail("expected a non-empty list of ops");
  for (size_t i = 0; i < ops.size(); ++i) {
    const FileLocation at = top["ops"][i];
    const json& v = ops[i];
    check_keys(v, at,
               {"name", "type", "inputs", "output", "stride", "padding", "kernel", "activation",
                "depth_multiplier", "axis", "beta", "weights", "bias"});
    OpSpec spec;
    spec.type = parse_type(need(v, "type", at), at["type"]);
    spec.name = std::string(op_type_name(spec.type)) + "_" + std::to_string(i);
    if (v.contains("name")) {
      if (!v["name"].is_string()) at["name"].fail("expected a string");
      spec.name = v["name"].get<std::string>();
    }
    const json& ins = need(v, "inputs", at);
    if (!ins.is_array() || ins.empty()) at["inputs"].fail("expected a list of tensor names");
    for (size_t k = 0; k < ins.size(); ++k) {
      if (!ins[k].is_string()) at["inputs"][k].fail("expected a tensor name");
      const int t = net.tensor_index(ins[k].get<std::string>());
      if (t < 0)
        at["inputs"][k].fail("no tensor '" + ins[k].get<std::string>() +
                             "' defined before this op (ops run in the order written)");
      spec.inputs.push_back(t);
    }
    spec.output = read_tensor(need(v, "output", at), at["output"], false);
    if (v.contains("kernel")) spec.kernel = int_list(v["kernel"], at["kernel"], 2, 2, 1);
    if (v.contains("stride")) {
      const auto s = int_list(v["stride"], at["stride"], 2, 2, 1);
      spec.stride_h = s[0];
      spec.stride_w = s[1];
    }
    if (v.contains("padding")) {
      if (!v["padding"].is_string() || (v["padding"] != "same" && v["padding"] != "valid"))
        at["padding"].fail("expected \"same\" or \"valid\"");
      spec.same_padding = v["padding"] == "same";
    }
    if (v.contains("activation")) spec.activation = parse_activation(v["activation"], at["activation"]);
    if (v.contains("depth_multiplier"))
      spec.depth_multiplier = static_cast<int>(integer(v["depth_multiplier"], at["depth_multiplier"], 1, 256));
    if (v.contains("axis")) spec.axis = static_cast<int>(integer(v["axis"], at["axis"], -4, 3));
    if (v.contains("beta")) spec.beta = positive(v["beta"], at["beta"]);
    if (v.contains("weights")) {
      const FileLocation wat = at["weights"];
      const json& w = v["weights"];
      check_keys(w, wat, {"shape", "scales", "data"});
      spec.weight_shape = int_list(need(w, "shape", wat), wat["shape"], 1, 4, 1);
      const json& scales = need(w, "scales", wat);
      if (!scales.is_array()) wat["scales"].fail("expected a list of per-channel scales");
      for (size_t k = 0; k < scales.size(); ++k) spec.weight_scales.push_back(positive(scales[k], wat["scales"][k]));
      const json data = need(w, "data", wat);
      spec.weights_source = data.is_array() ? "inline" : "file";
      spec.weights = [data, wat, blob](size_t n) { return read_data<int8_t>(data, wat["data"], n, *blob); };
    }
    if (v.contains("bias")) {
      const FileLocation bat = at["bias"];
      check_keys(v["bias"], bat, {"data"});
      const json data = need(v["bias"], "data", bat);
      spec.bias = [data, bat, blob](size_t n) { return read_data<int32_t>(data, bat["data"], n, *blob); };
    }
    if ((spec.type == OpType::Conv2d || spec.type == OpType::DepthwiseConv2d ||
         spec.type == OpType::FullyConnected) &&
        !v.contains("weights"))
      at["weights"].fail("missing");
    if (!v.contains("bias") && spec.bias) spec.bias = nullptr;
    if (v.contains("bias") && !v.contains("weights")) at["weights"].fail(std::string(op_type_name(spec.type)) +
                                                                          " takes no weights");
    add_op(net, std::move(spec), at);
  }
  finish_network(net, static_cast<int>(net.tensors.size()) - 1);
  return net;
}

ExportedNetwork export_network(const Network& net, const std::string& weights_file) {
  ExportedNetwork e;
  auto tensor_json = [](const Tensor& t) {
    return json{{"name", t.name}, {"shape", t.shape}, {"scale", t.scale}, {"zero_point", t.zero_point}};
  };
  // Appends `v`'s bytes to the weights file, 4-byte aligned, and names where.
  auto blob = [&](const void* data, size_t count, size_t elem) {
    while (e.weights.size() % 4) e.weights.push_back('\0');
    const size_t offset = e.weights.size();
    e.weights.append(static_cast<const char*>(data), count * elem);
    return json{{"offset", offset}, {"count", count}};
  };
  json& d = e.doc;
  d["schema"] = kNetworkSchema;
  d["name"] = net.name;
  if (!net.description.empty()) d["description"] = net.description;
  d["weights_file"] = weights_file;
  json input = tensor_json(net.tensors[static_cast<size_t>(net.input)]);
  input["raw_scale"] = net.raw_scale;
  d["input"] = input;
  json ops = json::array();
  for (const Op& op : net.ops) {
    const Tensor& in = net.tensors[static_cast<size_t>(op.inputs[0])];
    json o = {{"name", op.name}, {"type", op_type_name(op.type)}};
    json ins = json::array();
    for (int t : op.inputs) ins.push_back(net.tensors[static_cast<size_t>(t)].name);
    o["inputs"] = ins;
    o["output"] = tensor_json(net.tensors[static_cast<size_t>(op.output)]);
    switch (op.type) {
      case OpType::AvgPool:
      case OpType::MaxPool: o["kernel"] = {op.kh, op.kw}; [[fallthrough]];
      case OpType::Conv2d:
      case OpType::DepthwiseConv2d:
        o["stride"] = {op.sh, op.sw};
        o["padding"] = op.same_padding ? "same" : "valid";
        break;
      case OpType::Softmax: o["beta"] = op.beta; break;
      default: break;
    }
    if (op.type == OpType::DepthwiseConv2d) o["depth_multiplier"] = op.depth_multiplier;
    if (op.activation != Activation::None) o["activation"] = activation_name(op.activation);
    if (!op.weights.empty()) {
      const int oc = static_cast<int>(op.bias.size());
      std::vector<int> shape;
      if (op.type == OpType::Conv2d) shape = {oc, op.kh, op.kw, in.c};
      if (op.type == OpType::DepthwiseConv2d) shape = {1, op.kh, op.kw, oc};
      if (op.type == OpType::FullyConnected) shape = {oc, static_cast<int>(in.size())};
      o["weights"] = {{"shape", shape},
                      {"scales", op.weight_scales},
                      {"data", blob(op.weights.data(), op.weights.size(), 1)}};
      o["bias"] = {{"data", blob(op.bias.data(), op.bias.size(), 4)}};
    }
    ops.push_back(o);
  }
  d["ops"] = ops;
  return e;
}

Network load_network(const std::string& path) {
  if (path.rfind(config::kBuiltinPrefix, 0) == 0)
    throw InputError(path + ": give a network as a file path (its weights_file sits beside it)");
  const std::string text = config::read_file(path);
  if (is_tflite(path, text)) return parse_tflite(reinterpret_cast<const uint8_t*>(text.data()), text.size(), path);
  const json doc = config::parse_json_text(text, path);
  return parse_network(doc, std::filesystem::path(path).parent_path().string(), path);
}

}  // namespace edgesim::npu
