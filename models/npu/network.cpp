#include "models/npu/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

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

namespace {

/// Where in the document a value sits, for errors: "digits.json: ops[2].weights".
struct At {
  std::string origin, path;
  At operator[](const std::string& key) const { return {origin, path.empty() ? key : path + "." + key}; }
  At operator[](size_t i) const { return {origin, path + "[" + std::to_string(i) + "]"}; }
  [[noreturn]] void fail(const std::string& msg) const {
    config::fail_at(origin + ": " + (path.empty() ? "(top level)" : path), msg);
  }
};

void check_keys(const json& obj, const At& at, const std::vector<std::string>& allowed) {
  if (!obj.is_object()) at.fail("expected an object");
  for (const auto& [k, v] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    const std::string s = config::suggest(k, allowed);
    at[k].fail("unknown key '" + k + "'" + (s.empty() ? "" : "; did you mean '" + s + "'?"));
  }
}

const json& need(const json& obj, const std::string& key, const At& at) {
  auto it = obj.find(key);
  if (it == obj.end()) at[key].fail("missing");
  return *it;
}

long long integer(const json& v, const At& at, long long lo, long long hi) {
  if (!v.is_number_integer()) at.fail("expected an integer");
  const auto x = v.get<long long>();
  if (x < lo || x > hi)
    at.fail("value " + std::to_string(x) + " out of range [" + std::to_string(lo) + ", " +
            std::to_string(hi) + "]");
  return x;
}

double positive(const json& v, const At& at) {
  if (!v.is_number()) at.fail("expected a number");
  const double x = v.get<double>();
  if (!(x > 0) || !std::isfinite(x)) at.fail("expected a positive finite number");
  return x;
}

std::vector<int> int_list(const json& v, const At& at, size_t min_len, size_t max_len, long long lo) {
  if (!v.is_array() || v.size() < min_len || v.size() > max_len)
    at.fail("expected a list of " + std::to_string(min_len) +
            (max_len != min_len ? " to " + std::to_string(max_len) : "") + " integers");
  std::vector<int> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(static_cast<int>(integer(v[i], at[i], lo, 1 << 24)));
  return out;
}

std::string shape_text(const std::vector<int>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

/// The bytes of `weights_file`, read once.
struct Blob {
  std::string path;
  std::vector<char> bytes;
  bool loaded = false;
};

/// Weight or bias data: an inline list of integers, or {"offset", "count"} into the blob.
template <class T>
std::vector<T> read_data(const json& v, const At& at, size_t expected, Blob& blob, std::string& source) {
  std::vector<T> out;
  if (v.is_array()) {
    if (v.size() != expected)
      at.fail("expected " + std::to_string(expected) + " values, found " + std::to_string(v.size()));
    out.reserve(expected);
    for (size_t i = 0; i < v.size(); ++i) {
      out.push_back(
          static_cast<T>(integer(v[i], at[i], std::numeric_limits<T>::min(), std::numeric_limits<T>::max())));
    }
    source = "inline";
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
  source = "file";
  return out;
}

Tensor read_tensor(const json& v, const At& at, bool input) {
  std::vector<std::string> keys = {"name", "shape", "scale", "zero_point"};
  if (input) keys.push_back("raw_scale");
  check_keys(v, at, keys);
  Tensor t;
  const json& name = need(v, "name", at);
  if (!name.is_string() || name.get<std::string>().empty()) at["name"].fail("expected a non-empty string");
  t.name = name.get<std::string>();
  t.shape = int_list(need(v, "shape", at), at["shape"], 1, 3, 1);
  if (t.shape.size() == 3) {
    t.h = t.shape[0];
    t.w = t.shape[1];
    t.c = t.shape[2];
  } else if (t.shape.size() == 1) {
    t.c = t.shape[0];
  } else {
    at["shape"].fail("expected [H, W, C] or [N]");
  }
  t.scale = positive(need(v, "scale", at), at["scale"]);
  t.zero_point = static_cast<int32_t>(integer(need(v, "zero_point", at), at["zero_point"], -128, 127));
  return t;
}

OpType parse_type(const json& v, const At& at) {
  static const std::vector<std::pair<std::string, OpType>> kTypes = {
      {"conv2d", OpType::Conv2d},
      {"depthwise_conv2d", OpType::DepthwiseConv2d},
      {"fully_connected", OpType::FullyConnected},
      {"avg_pool", OpType::AvgPool},
      {"max_pool", OpType::MaxPool},
      {"add", OpType::Add},
      {"mul", OpType::Mul},
      {"concat", OpType::Concat},
      {"reshape", OpType::Reshape},
      {"softmax", OpType::Softmax}};
  if (!v.is_string()) at.fail("expected a string naming the op type");
  std::vector<std::string> names;
  for (const auto& [n, t] : kTypes) {
    if (n == v.get<std::string>()) return t;
    names.push_back(n);
  }
  const std::string s = config::suggest(v.get<std::string>(), names);
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  at.fail("unknown op type '" + v.get<std::string>() + "'" +
          (s.empty() ? "" : "; did you mean '" + s + "'?") + " (types: " + list + ")");
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

void parse_window(Op& op, const json& v, const At& at, const Tensor& in, Tensor& out, bool has_kernel_key) {
  if (has_kernel_key) {
    const auto k = int_list(need(v, "kernel", at), at["kernel"], 2, 2, 1);
    op.kh = k[0];
    op.kw = k[1];
  }
  if (v.contains("stride")) {
    const auto s = int_list(v["stride"], at["stride"], 2, 2, 1);
    op.sh = s[0];
    op.sw = s[1];
  }
  std::string padding = "valid";
  if (v.contains("padding")) {
    if (!v["padding"].is_string() || (v["padding"] != "same" && v["padding"] != "valid"))
      at["padding"].fail("expected \"same\" or \"valid\"");
    padding = v["padding"].get<std::string>();
  }
  int oh = 0, ow = 0;
  spatial(in.h, op.kh, op.sh, padding == "same", oh, op.pad_top);
  spatial(in.w, op.kw, op.sw, padding == "same", ow, op.pad_left);
  if (oh == 0 || ow == 0)
    at.fail("kernel " + std::to_string(op.kh) + "x" + std::to_string(op.kw) + " larger than the input " +
            shape_text(in.shape) + " with valid padding");
  if (out.h != oh || out.w != ow)
    at["output"]["shape"].fail("expected spatial size " + std::to_string(oh) + "x" + std::to_string(ow) +
                               ", found " + shape_text(out.shape));
}

void parse_activation(Op& op, const json& v, const At& at, const Tensor& out) {
  std::string act = "none";
  if (v.contains("activation")) {
    if (!v["activation"].is_string()) at["activation"].fail("expected \"none\", \"relu\" or \"relu6\"");
    act = v["activation"].get<std::string>();
  }
  if (act == "relu" || act == "relu6") op.act_min = std::max<int32_t>(-128, out.zero_point);
  if (act == "relu6")
    op.act_max = std::min<int32_t>(127, out.zero_point + static_cast<int32_t>(std::lround(6.0 / out.scale)));
  if (act != "none" && act != "relu" && act != "relu6")
    at["activation"].fail("unknown activation '" + act + "' (none, relu, relu6)");
}

void parse_weights(Op& op, const json& v, const At& at, const std::vector<int>& expected_shape, int oc,
                   const Tensor& in, const Tensor& out, Blob& blob) {
  const At wat = at["weights"];
  const json& w = need(v, "weights", at);
  check_keys(w, wat, {"shape", "scales", "data"});
  const auto shape =
      int_list(need(w, "shape", wat), wat["shape"], expected_shape.size(), expected_shape.size(), 1);
  if (shape != expected_shape)
    wat["shape"].fail("expected " + shape_text(expected_shape) + " for input " + shape_text(in.shape) +
                      " and output " + shape_text(out.shape) + ", found " + shape_text(shape));
  size_t n = 1;
  for (int d : shape) n *= static_cast<size_t>(d);
  const json& scales = need(w, "scales", wat);
  if (!scales.is_array() || scales.size() != static_cast<size_t>(oc))
    wat["scales"].fail("expected " + std::to_string(oc) + " per-channel scales (one per output channel)");
  for (size_t i = 0; i < scales.size(); ++i)
    op.weight_scales.push_back(positive(scales[i], wat["scales"][i]));
  op.weights = read_data<int8_t>(need(w, "data", wat), wat["data"], n, blob, op.weights_source);
  const At bat = at["bias"];
  if (v.contains("bias")) {
    check_keys(v["bias"], bat, {"data"});
    std::string src;
    op.bias =
        read_data<int32_t>(need(v["bias"], "data", bat), bat["data"], static_cast<size_t>(oc), blob, src);
  } else {
    op.bias.assign(static_cast<size_t>(oc), 0);
  }
  for (int c = 0; c < oc; ++c)
    op.requant.push_back(quantize_multiplier(in.scale * op.weight_scales[c] / out.scale));
}

}  // namespace

Network parse_network(const json& doc, const std::string& base_dir, const std::string& origin) {
  const At top{origin, ""};
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
  Blob blob;
  if (doc.contains("weights_file")) {
    if (!doc["weights_file"].is_string()) top["weights_file"].fail("expected a file name");
    blob.path = (std::filesystem::path(base_dir) / doc["weights_file"].get<std::string>()).string();
  }
  Tensor input = read_tensor(need(doc, "input", top), top["input"], true);
  if (doc["input"].contains("raw_scale"))
    net.raw_scale = positive(doc["input"]["raw_scale"], top["input"]["raw_scale"]);
  net.tensors.push_back(input);

  const json& ops = need(doc, "ops", top);
  if (!ops.is_array() || ops.empty()) top["ops"].fail("expected a non-empty list of ops");
  for (size_t i = 0; i < ops.size(); ++i) {
    const At at = top["ops"][i];
    const json& v = ops[i];
    check_keys(v, at,
               {"name", "type", "inputs", "output", "stride", "padding", "kernel", "activation",
                "depth_multiplier", "axis", "beta", "weights", "bias"});
    Op op;
    op.type = parse_type(need(v, "type", at), at["type"]);
    op.name = std::string(op_type_name(op.type)) + "_" + std::to_string(i);
    if (v.contains("name")) {
      if (!v["name"].is_string()) at["name"].fail("expected a string");
      op.name = v["name"].get<std::string>();
    }
    const json& ins = need(v, "inputs", at);
    if (!ins.is_array() || ins.empty()) at["inputs"].fail("expected a list of tensor names");
    for (size_t k = 0; k < ins.size(); ++k) {
      if (!ins[k].is_string()) at["inputs"][k].fail("expected a tensor name");
      const int t = net.tensor_index(ins[k].get<std::string>());
      if (t < 0)
        at["inputs"][k].fail("no tensor '" + ins[k].get<std::string>() +
                             "' defined before this op (ops run in the order written)");
      op.inputs.push_back(t);
    }
    Tensor out = read_tensor(need(v, "output", at), at["output"], false);
    if (net.tensor_index(out.name) >= 0)
      at["output"]["name"].fail("tensor '" + out.name + "' is defined twice");
    const size_t n_in_expected = (op.type == OpType::Add || op.type == OpType::Mul) ? 2 : 1;
    if (op.type != OpType::Concat && op.inputs.size() != n_in_expected)
      at["inputs"].fail(std::string(op_type_name(op.type)) + " takes " + std::to_string(n_in_expected) +
                        " input" + (n_in_expected > 1 ? "s" : ""));
    const Tensor& in = net.tensors[static_cast<size_t>(op.inputs[0])];
    auto need_3d = [&](const Tensor& t, const At& a) {
      if (t.shape.size() != 3)
        a.fail(std::string(op_type_name(op.type)) + " needs [H, W, C] tensors, found " + shape_text(t.shape));
    };
    switch (op.type) {
      case OpType::Conv2d:
      case OpType::DepthwiseConv2d: {
        need_3d(in, at["inputs"][0]);
        need_3d(out, at["output"]["shape"]);
        if (!v.contains("weights")) at["weights"].fail("missing");
        const auto ws = int_list(need(v["weights"], "shape", at["weights"]), at["weights"]["shape"], 4, 4, 1);
        op.kh = ws[1];
        op.kw = ws[2];
        parse_window(op, v, at, in, out, false);
        if (op.type == OpType::Conv2d) {
          parse_weights(op, v, at, {out.c, op.kh, op.kw, in.c}, out.c, in, out, blob);
          op.macs = out.size() * op.kh * op.kw * in.c;
        } else {
          if (v.contains("depth_multiplier"))
            op.depth_multiplier =
                static_cast<int>(integer(v["depth_multiplier"], at["depth_multiplier"], 1, 256));
          if (out.c != in.c * op.depth_multiplier)
            at["output"]["shape"].fail(
                "depthwise output channels must be input channels x depth_multiplier = " +
                std::to_string(in.c * op.depth_multiplier));
          parse_weights(op, v, at, {1, op.kh, op.kw, out.c}, out.c, in, out, blob);
          op.macs = out.size() * op.kh * op.kw;
        }
        parse_activation(op, v, at, out);
        break;
      }
      case OpType::FullyConnected: {
        parse_weights(op, v, at, {out.c, static_cast<int>(in.size())}, out.c, in, out, blob);
        if (out.h != 1 || out.w != 1) at["output"]["shape"].fail("fully connected output must be [N]");
        op.macs = static_cast<size_t>(out.c) * in.size();
        parse_activation(op, v, at, out);
        break;
      }
      case OpType::AvgPool:
      case OpType::MaxPool:
        need_3d(in, at["inputs"][0]);
        need_3d(out, at["output"]["shape"]);
        parse_window(op, v, at, in, out, true);
        if (out.c != in.c)
          at["output"]["shape"].fail("pooling keeps the channel count " + std::to_string(in.c));
        if (!same_quant(in, out))
          at["output"].fail("pooling output must keep the input's scale and zero point (as in TFLite)");
        parse_activation(op, v, at, out);
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
          op.in_requant = {quantize_multiplier(in.scale / twice_max),
                           quantize_multiplier(b.scale / twice_max)};
          op.out_requant = quantize_multiplier(twice_max / ((1 << op.left_shift) * out.scale));
        } else {
          op.out_requant = quantize_multiplier(in.scale * b.scale / out.scale);
        }
        parse_activation(op, v, at, out);
        op.macs = out.size();
        break;
      }
      case OpType::Concat: {
        need_3d(out, at["output"]["shape"]);
        if (v.contains("axis") && !(v["axis"] == -1 || v["axis"] == 2))
          at["axis"].fail("only concatenation along channels (axis -1 or 2) is supported");
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
        if (in.size() != out.size() || in.c != out.c)
          at["output"]["shape"].fail("softmax keeps its input's shape");
        if (out.zero_point != -128 || std::abs(out.scale - 1.0 / 256) > 1e-9)
          at["output"].fail("softmax output must have scale 1/256 and zero point -128 (as in TFLite)");
        double beta = 1;
        if (v.contains("beta")) beta = positive(v["beta"], at["beta"]);
        op.exp_lut.resize(256);
        for (int d = 0; d < 256; ++d)
          op.exp_lut[static_cast<size_t>(d)] =
              static_cast<int32_t>(std::lround(std::exp(-beta * in.scale * d) * (1 << 23)));
        op.macs = out.size();
        break;
      }
    }
    if (op.type != OpType::FullyConnected && op.type != OpType::Conv2d &&
        op.type != OpType::DepthwiseConv2d && (v.contains("weights") || v.contains("bias")))
      at["weights"].fail(std::string(op_type_name(op.type)) + " takes no weights");
    op.output = static_cast<int>(net.tensors.size());
    net.tensors.push_back(out);
    net.ops.push_back(std::move(op));
  }
  net.output = static_cast<int>(net.tensors.size()) - 1;
  size_t off = 0;
  for (auto& t : net.tensors) {
    t.offset = off;
    off += (t.size() + 15) / 16 * 16;
  }
  net.arena_bytes = off;
  return net;
}

Network load_network(const std::string& path) {
  if (path.rfind(config::kBuiltinPrefix, 0) == 0)
    throw InputError(path + ": give a network as a file path (its weights_file sits beside it)");
  const json doc = config::parse_json_text(config::read_file(path), path);
  return parse_network(doc, std::filesystem::path(path).parent_path().string(), path);
}

}  // namespace edgesim::npu
