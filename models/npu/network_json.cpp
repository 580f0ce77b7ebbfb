// The edgesim.npu_network/1 JSON format (docs/npu.md): reading it into a Network through
// the op builder (add_op), and writing a Network back out (the exporter).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>

#include "models/npu/network.hpp"
#include "models/npu/tflite.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/config/params.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/input_file.hpp"

namespace edgesim::npu {

using nlohmann::json;

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

/// A quantization scale: positive and within float32's normal range, as TFLite stores
/// scales (a scale of 1e308 has no TFLite equivalent, and ratios of such scales overflow
/// the requantization arithmetic).
double scale(const json& v, const FileLocation& at) {
  const double x = positive(v, at);
  if (x < std::numeric_limits<float>::min() || x > std::numeric_limits<float>::max()) {
    char text[128];
    std::snprintf(text, sizeof text,
                  "a scale of %.6g: expected one TFLite can store (a float32, %.3g to %.3g)", x,
                  static_cast<double>(std::numeric_limits<float>::min()),
                  static_cast<double>(std::numeric_limits<float>::max()));
    at.fail(text);
  }
  return x;
}

bool boolean(const json& v, const FileLocation& at) {
  if (!v.is_boolean()) at.fail("expected true or false");
  return v.get<bool>();
}

std::vector<int> int_list(const json& v, const FileLocation& at, size_t min_len, size_t max_len, long long lo,
                          long long hi = 1 << 24) {
  if (!v.is_array() || v.size() < min_len || v.size() > max_len)
    at.fail("expected a list of " + std::to_string(min_len) +
            (max_len != min_len ? " to " + std::to_string(max_len) : "") + " integers");
  std::vector<int> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(static_cast<int>(integer(v[i], at[i], lo, hi)));
  return out;
}

/// The bytes of `weights_file`, read once.
struct Blob {
  std::string path;
  std::vector<char> bytes;
  bool loaded = false;
};

/// Weight, bias or constant data: an inline list of integers, or {"offset", "count"} into
/// the blob.
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
    std::ifstream in;
    try {
      open_input_file(in, blob.path, "weights_file");
    } catch (const InputError& e) {
      at.fail(e.what());
    }
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

Tensor read_tensor(const json& v, const FileLocation& at, const std::vector<std::string>& extra) {
  std::vector<std::string> keys = {"name", "shape", "scale", "zero_point"};
  keys.insert(keys.end(), extra.begin(), extra.end());
  check_keys(v, at, keys);
  Tensor t;
  const json& name = need(v, "name", at);
  if (!name.is_string() || name.get<std::string>().empty()) at["name"].fail("expected a non-empty string");
  t.name = name.get<std::string>();
  set_shape(t, int_list(need(v, "shape", at), at["shape"], 1, 4, 1), at["shape"]);
  t.scale = scale(need(v, "scale", at), at["scale"]);
  t.zero_point = static_cast<int32_t>(integer(need(v, "zero_point", at), at["zero_point"], -128, 127));
  return t;
}

OpType parse_type(const json& v, const FileLocation& at) {
  if (!v.is_string()) at.fail("expected a string naming the op type");
  std::vector<std::string> names;
  for (OpType t : all_op_types()) {
    if (op_type_name(t) == v.get<std::string>()) return t;
    names.push_back(op_type_name(t));
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

/// The keys an op of type `t` takes (beyond name, type, inputs and output).
std::vector<std::string> op_keys(OpType t) {
  std::vector<std::string> k = {"name", "type", "inputs", "output"};
  auto add = [&](std::initializer_list<const char*> more) { k.insert(k.end(), more.begin(), more.end()); };
  if (fused_activation(t)) add({"activation"});
  if (weighted(t)) add({"weights", "bias"});
  switch (t) {
    case OpType::Conv2d: add({"stride", "dilation", "padding"}); break;
    case OpType::DepthwiseConv2d: add({"stride", "dilation", "padding", "depth_multiplier"}); break;
    case OpType::AvgPool:
    case OpType::MaxPool: add({"kernel", "stride", "padding"}); break;
    case OpType::Concat: add({"axis"}); break;
    case OpType::Softmax: add({"beta"}); break;
    case OpType::Pad: add({"pads", "pad_value"}); break;
    case OpType::Mean: add({"axes"}); break;
    case OpType::LeakyRelu: add({"alpha"}); break;
    case OpType::Transpose: add({"perm"}); break;
    case OpType::StridedSlice: add({"begin", "end", "strides", "begin_mask", "end_mask", "shrink_axis_mask"}); break;
    case OpType::ResizeNearest:
    case OpType::ResizeBilinear: add({"align_corners", "half_pixel_centers"}); break;
    default: break;
  }
  return k;
}

OpSpec read_op(const json& v, const FileLocation& at, const Network& net, size_t i,
               const std::shared_ptr<Blob>& blob) {
  OpSpec spec;
  spec.type = parse_type(need(v, "type", at), at["type"]);
  check_keys(v, at, op_keys(spec.type));
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
  spec.output = read_tensor(need(v, "output", at), at["output"], {});
  auto pair = [&](const char* key, int& a, int& b) {
    if (!v.contains(key)) return;
    const auto s = int_list(v[key], at[key], 2, 2, 1);
    a = s[0];
    b = s[1];
  };
  if (v.contains("kernel")) spec.kernel = int_list(v["kernel"], at["kernel"], 2, 2, 1);
  pair("stride", spec.stride_h, spec.stride_w);
  pair("dilation", spec.dilation_h, spec.dilation_w);
  if (v.contains("padding")) {
    if (!v["padding"].is_string() || (v["padding"] != "same" && v["padding"] != "valid"))
      at["padding"].fail("expected \"same\" or \"valid\"");
    spec.same_padding = v["padding"] == "same";
  }
  if (v.contains("activation")) spec.activation = parse_activation(v["activation"], at["activation"]);
  if (v.contains("depth_multiplier"))
    spec.depth_multiplier = static_cast<int>(integer(v["depth_multiplier"], at["depth_multiplier"], 1, 256));
  if (v.contains("axis")) spec.axis = static_cast<int>(integer(v["axis"], at["axis"], -4, 3));
  if (v.contains("axes")) spec.axes = int_list(v["axes"], at["axes"], 1, 4, -4, 3);
  if (v.contains("pads")) spec.pads = int_list(v["pads"], at["pads"], 2, 8, 0);
  if (v.contains("pad_value"))
    spec.pad_value = static_cast<int32_t>(integer(v["pad_value"], at["pad_value"], -128, 127));
  if (v.contains("perm")) spec.perm = int_list(v["perm"], at["perm"], 1, 4, 0, 3);
  constexpr long long kBig = 1LL << 30;
  if (v.contains("begin")) spec.begin = int_list(v["begin"], at["begin"], 1, 4, -kBig, kBig);
  if (v.contains("end")) spec.end = int_list(v["end"], at["end"], 1, 4, -kBig, kBig);
  if (v.contains("strides")) spec.strides = int_list(v["strides"], at["strides"], 1, 4, -kBig, kBig);
  if (v.contains("begin_mask")) spec.begin_mask = static_cast<int>(integer(v["begin_mask"], at["begin_mask"], 0, 15));
  if (v.contains("end_mask")) spec.end_mask = static_cast<int>(integer(v["end_mask"], at["end_mask"], 0, 15));
  if (v.contains("shrink_axis_mask"))
    spec.shrink_axis_mask = static_cast<int>(integer(v["shrink_axis_mask"], at["shrink_axis_mask"], 0, 15));
  if (v.contains("align_corners")) spec.align_corners = boolean(v["align_corners"], at["align_corners"]);
  if (v.contains("half_pixel_centers"))
    spec.half_pixel_centers = boolean(v["half_pixel_centers"], at["half_pixel_centers"]);
  if (v.contains("alpha")) {
    if (!v["alpha"].is_number()) at["alpha"].fail("expected a number");
    spec.alpha = v["alpha"].get<double>();
  }
  if (v.contains("beta")) spec.beta = positive(v["beta"], at["beta"]);
  if (v.contains("weights")) {
    const FileLocation wat = at["weights"];
    const json& w = v["weights"];
    check_keys(w, wat, {"shape", "scales", "data"});
    spec.weight_shape = int_list(need(w, "shape", wat), wat["shape"], 1, 4, 1);
    const json& scales = need(w, "scales", wat);
    if (!scales.is_array()) wat["scales"].fail("expected a list of per-channel scales");
    for (size_t k = 0; k < scales.size(); ++k)
      spec.weight_scales.push_back(scale(scales[k], wat["scales"][k]));
    const json data = need(w, "data", wat);
    spec.weights_source = data.is_array() ? "inline" : "file";
    spec.weights = [data, wat, blob](size_t n) { return read_data<int8_t>(data, wat["data"], n, *blob); };
  } else if (weighted(spec.type)) {
    at["weights"].fail("missing");
  }
  if (v.contains("bias")) {
    const FileLocation bat = at["bias"];
    if (!v.contains("weights")) at["weights"].fail(std::string(op_type_name(spec.type)) + " takes no weights");
    check_keys(v["bias"], bat, {"data"});
    const json data = need(v["bias"], "data", bat);
    spec.bias = [data, bat, blob](size_t n) { return read_data<int32_t>(data, bat["data"], n, *blob); };
  }
  return spec;
}

}  // namespace

Network parse_network(const json& doc, const std::string& base_dir, const std::string& origin) {
  const FileLocation top{origin, ""};
  check_keys(doc, top,
             {"schema", "name", "description", "source", "weights_file", "input", "constants", "ops", "output"});
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
  Tensor input = read_tensor(need(doc, "input", top), top["input"], {"raw_scale"});
  if (doc["input"].contains("raw_scale"))
    net.raw_scale = positive(doc["input"]["raw_scale"], top["input"]["raw_scale"]);
  net.tensors.push_back(input);
  if (doc.contains("constants")) {
    const json& cs = doc["constants"];
    if (!cs.is_array()) top["constants"].fail("expected a list of constant tensors");
    for (size_t i = 0; i < cs.size(); ++i) {
      const FileLocation at = top["constants"][i];
      Tensor t = read_tensor(cs[i], at, {"data"});
      t.data = read_data<int8_t>(need(cs[i], "data", at), at["data"], t.size(), *blob);
      add_constant(net, std::move(t), at);
    }
  }
  const json& ops = need(doc, "ops", top);
  if (!ops.is_array() || ops.empty()) top["ops"].fail("expected a non-empty list of ops");
  for (size_t i = 0; i < ops.size(); ++i) {
    const FileLocation at = top["ops"][i];
    add_op(net, read_op(ops[i], at, net, i, blob), at);
  }
  int output = static_cast<int>(net.tensors.size()) - 1;  // by default the last op's
  if (doc.contains("output")) {
    const json& o = doc["output"];
    if (!o.is_string()) top["output"].fail("expected a tensor name");
    output = net.tensor_index(o.get<std::string>());
    if (output < 0 || net.tensors[static_cast<size_t>(output)].constant())
      top["output"].fail("no tensor '" + o.get<std::string>() + "' that an op writes");
  }
  finish_network(net, output);
  return net;
}

ExportedNetwork export_network(const Network& net, const std::string& weights_file) {
  ExportedNetwork e;
  auto tensor_json = [](const Tensor& t) {
    return json{{"name", t.name}, {"shape", t.shape}, {"scale", t.scale}, {"zero_point", t.zero_point}};
  };
  // Appends data to the weights file, 4-byte aligned, and names where.
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
  json constants = json::array();
  for (const Tensor& t : net.tensors) {
    if (!t.constant()) continue;
    json c = tensor_json(t);
    c["data"] = blob(t.data.data(), t.data.size(), 1);
    constants.push_back(c);
  }
  if (!constants.empty()) d["constants"] = constants;
  json ops = json::array();
  for (const Op& op : net.ops) {
    const Tensor& in = net.tensors[static_cast<size_t>(op.inputs[0])];
    const Tensor& out = net.tensors[static_cast<size_t>(op.output)];
    const int rank_in = static_cast<int>(in.shape.size());
    const int lead = 4 - rank_in;  // 4-D axis of the input's first dimension
    json o = {{"name", op.name}, {"type", op_type_name(op.type)}};
    json ins = json::array();
    for (int t : op.inputs) ins.push_back(net.tensors[static_cast<size_t>(t)].name);
    o["inputs"] = ins;
    o["output"] = tensor_json(out);
    switch (op.type) {
      case OpType::AvgPool:
      case OpType::MaxPool: o["kernel"] = {op.kh, op.kw}; [[fallthrough]];
      case OpType::Conv2d:
      case OpType::DepthwiseConv2d:
        o["stride"] = {op.sh, op.sw};
        if (op.dh != 1 || op.dw != 1) o["dilation"] = {op.dh, op.dw};
        o["padding"] = op.same_padding ? "same" : "valid";
        break;
      case OpType::Softmax: o["beta"] = op.beta; break;
      case OpType::Concat: o["axis"] = op.axis - (4 - static_cast<int>(out.shape.size())); break;
      case OpType::Pad: {
        json pads = json::array();
        for (int a = 0; a < rank_in; ++a) {
          pads.push_back(op.pad_before[static_cast<size_t>(a + lead)]);
          pads.push_back(op.pad_after[static_cast<size_t>(a + lead)]);
        }
        o["pads"] = pads;
        o["pad_value"] = op.pad_value;
        break;
      }
      case OpType::Mean: {
        json axes = json::array();
        for (int a = 0; a < rank_in; ++a)
          if (op.reduce[static_cast<size_t>(a + lead)]) axes.push_back(a);
        o["axes"] = axes;
        break;
      }
      case OpType::Transpose: {
        json perm = json::array();
        for (int a = 0; a < rank_in; ++a) perm.push_back(op.perm[static_cast<size_t>(a + lead)] - lead);
        o["perm"] = perm;
        break;
      }
      case OpType::StridedSlice: {
        // The resolved slice: begin, step and count per axis (an end that would read as a
        // negative index is given by end_mask instead).
        json b = json::array(), en = json::array(), st = json::array();
        int end_mask = 0;
        for (int a = 0; a < rank_in; ++a) {
          const auto k = static_cast<size_t>(a + lead);
          const int stop = op.begin[k] + op.step[k] * op.slice_count[k];
          b.push_back(op.begin[k]);
          st.push_back(op.step[k]);
          en.push_back(stop < 0 ? 0 : stop);
          if (stop < 0) end_mask |= 1 << a;
        }
        o["begin"] = b;
        o["end"] = en;
        o["strides"] = st;
        if (end_mask) o["end_mask"] = end_mask;
        if (op.shrink_axis_mask) o["shrink_axis_mask"] = op.shrink_axis_mask;
        break;
      }
      case OpType::ResizeNearest:
      case OpType::ResizeBilinear:
        if (op.align_corners) o["align_corners"] = true;
        if (op.half_pixel_centers) o["half_pixel_centers"] = true;
        break;
      case OpType::LeakyRelu: o["alpha"] = op.alpha; break;
      default: break;
    }
    if (op.type == OpType::DepthwiseConv2d) o["depth_multiplier"] = op.depth_multiplier;
    if (fused_activation(op.type) && op.activation != Activation::None)
      o["activation"] = activation_name(op.activation);
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
  d["output"] = net.tensors[static_cast<size_t>(net.output)].name;
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
