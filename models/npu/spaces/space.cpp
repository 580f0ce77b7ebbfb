#include "models/npu/spaces/space.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "sim/core/errors.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::npu::spaces {

using nlohmann::json;

uint64_t network_seed(uint64_t dataset_seed, uint64_t index) {
  Rng r(dataset_seed ^ (0x632be59bd9b4e019ull * (index + 1)));
  return r.next();
}

std::unique_ptr<Space> make_space(const std::string& name, const json& options, json& resolved) {
  if (!options.is_object()) config::fail_at("--set", "space options must be an object of spaces");
  const std::vector<std::string> names = space_names();
  for (const auto& [k, v] : options.items()) {
    if (std::find(names.begin(), names.end(), k) == names.end()) {
      const std::string s = config::suggest(k, names);
      config::fail_at("--set " + k,
                      "no space named '" + k + "'" + (s.empty() ? "" : "; did you mean '" + s + "'?"));
    }
  }
  const auto& entry = Registry<Space>::instance().at(name, "--space");
  const json section = options.contains(name) ? options[name] : json::object();
  config::Params p(*entry.params, section, name);
  resolved[name] = p.resolved();
  std::unique_ptr<Space> s = entry.make(p);
  s->bind(options, resolved);
  return s;
}

std::vector<std::string> space_names() {
  return Registry<Space>::instance().names();
}

std::vector<int> values_in(int lo, int hi, int first, int step, const std::string& path) {
  std::vector<int> v;
  for (int x = first; x <= hi; x += step)
    if (x >= lo) v.push_back(x);
  if (v.empty())
    throw InputError("space " + path + ": the range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "] holds none of " + std::to_string(first) + ", " + std::to_string(first + step) +
                     ", ...: it yields no valid network");
  return v;
}

std::vector<double> choices_in(double lo, double hi, const std::vector<double>& choices,
                               const std::string& path) {
  std::vector<double> v;
  std::string all;
  for (double c : choices) {
    if (c >= lo - 1e-9 && c <= hi + 1e-9) v.push_back(c);
    char b[32];
    std::snprintf(b, sizeof b, "%g", c);
    all += (all.empty() ? "" : ", ") + std::string(b);
  }
  if (v.empty()) {
    char b[96];
    std::snprintf(b, sizeof b, "[%g, %g]", lo, hi);
    throw InputError("space " + path + ": the range " + b + " holds none of the choices (" + all +
                     "): it yields no valid network");
  }
  return v;
}

config::ParamTable image_space_params(std::vector<config::ParamDecl> more) {
  using config::Quantity;
  config::ParamTable t{{
      {"resolution_min", Quantity::Integer, 96, "Smallest input resolution (square, RGB)", 16, 1024},
      {"resolution_max", Quantity::Integer, 224, "Largest input resolution", 16, 1024},
      {"resolution_step", Quantity::Integer, 32, "Resolutions drawn from multiples of this", 1, 1024},
  }};
  t.params.insert(t.params.end(), more.begin(), more.end());
  return t;
}

std::vector<int> resolutions(const config::Params& p, const std::string& space) {
  const int step = static_cast<int>(p.integer("resolution_step"));
  return values_in(static_cast<int>(p.integer("resolution_min")),
                   static_cast<int>(p.integer("resolution_max")), step, step, space + ".resolution");
}

int make_divisible(double channels) {
  const int d = 8;
  int v = std::max(d, static_cast<int>(channels + d / 2.0) / d * d);
  if (v < 0.9 * channels) v += d;
  return v;
}

namespace {

/// 256 quantiles of a normal of standard deviation 127 / 3.3, rounded to int8 in
/// [-127, 127] and away from 0 (a quantile below half a step becomes -1 or 1): a byte
/// of a uniform draw indexes it (inverse transform sampling). Zeros come from the
/// sparsity asked for, nowhere else.
const std::array<int8_t, 256>& normal_table() {
  static const std::array<int8_t, 256> t = [] {
    std::array<int8_t, 256> a{};
    const double sigma = 127.0 / 3.3;
    for (size_t i = 0; i < a.size(); ++i) {
      // The quantile of (i + 0.5) / 256 by bisection on erfc (no inverse in <cmath>).
      const double p = (static_cast<double>(i) + 0.5) / 256.0;
      double lo = -8, hi = 8;
      for (int k = 0; k < 60; ++k) {
        const double mid = (lo + hi) / 2;
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
      }
      long v = std::clamp(std::lround(sigma * lo), -127L, 127L);
      if (v == 0) v = lo < 0 ? -1 : 1;
      a[i] = static_cast<int8_t>(v);
    }
    return a;
  }();
  return t;
}

/// The table's values for two bytes at once (a 16-bit draw: its low byte first), so that
/// dense weights take half as many lookups.
const std::vector<std::array<int8_t, 2>>& normal_pairs() {
  static const std::vector<std::array<int8_t, 2>> t = [] {
    const auto& normal = normal_table();
    std::vector<std::array<int8_t, 2>> p(65536);
    for (size_t x = 0; x < p.size(); ++x) p[x] = {normal[x & 0xff], normal[x >> 8]};
    return p;
  }();
  return t;
}

}  // namespace

void random_weights(int8_t* w, size_t n, const WeightStyle& style, Rng& rng) {
  const auto& normal = normal_table();
  if (style.sparsity <= 0 && style.clusters <= 0) {  // dense: eight draws per 64 random bits
    const std::array<int8_t, 2>* pairs = normal_pairs().data();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {  // byte j of the draw makes weight i + j
      const uint64_t r = rng.next();
      for (size_t j = 0; j < 4; ++j) std::memcpy(w + i + 2 * j, pairs[(r >> (16 * j)) & 0xffff].data(), 2);
    }
    for (const uint64_t r = rng.next(); i < n; ++i) w[i] = normal[(r >> (8 * (i % 8))) & 0xff];
    return;
  }
  std::vector<int8_t> book;
  if (style.clusters > 0) {
    // A codebook of distinct values from the same distribution.
    for (int tries = 0; static_cast<int>(book.size()) < style.clusters && tries < 100000; ++tries) {
      const int8_t v = normal[rng.next() & 0xff];
      if (std::find(book.begin(), book.end(), v) == book.end()) book.push_back(v);
    }
  }
  const auto zero_below = static_cast<uint32_t>(std::clamp(style.sparsity, 0.0, 1.0) * 65536.0);
  const auto k = static_cast<uint32_t>(book.size());
  for (size_t i = 0; i < n; i += 2) {
    const uint64_t r = rng.next();
    for (size_t j = 0; j < 2 && i + j < n; ++j) {
      const auto bits = static_cast<uint32_t>(r >> (32 * j));
      const uint32_t value = bits & 0xffff, keep = bits >> 16;
      int8_t v = k ? book[(value * k) >> 16] : normal[value >> 8];
      if (keep < zero_below) v = 0;
      w[i + j] = v;
    }
  }
}

// ---- NetBuilder ----

namespace {
// Activation quantization as a converter calibrates it: after a ReLU the range [0, 12.75]
// (zero point -128), a linear output [-12.8, 12.7] (zero point 0). The values do not
// change the NPU's timing; they only have to be valid for the int8 kernels.
constexpr double kActScale = 0.05;
constexpr double kLinearScale = 0.1;
}  // namespace

NetBuilder::NetBuilder(std::string name, uint64_t seed, const Compression* c) : rng_(seed), c_(c) {
  net_.name = std::move(name);
}

Tensor NetBuilder::out_tensor(std::vector<int> shape, double scale, int32_t zero_point) {
  Tensor t;
  t.name = "t" + std::to_string(net_.tensors.size());
  set_shape(t, shape, FileLocation{net_.name, "tensors"});
  t.scale = static_cast<float>(scale);  // float32, as TFLite stores scales (the .tflite export is exact)
  t.zero_point = zero_point;
  return t;
}

int NetBuilder::add_spec(OpSpec spec) {
  spec.name = op_type_name(spec.type) + std::string("_") + std::to_string(count_++);
  add_op(net_, std::move(spec), FileLocation{net_.name, "ops[" + std::to_string(net_.ops.size()) + "]"});
  return net_.ops.back().output;
}

void NetBuilder::set_weights(OpSpec& spec, std::vector<int> shape, int oc) {
  const WeightStyle style = c_ && c_->layer_style ? c_->layer_style(rng_) : WeightStyle{};
  spec.weight_shape = std::move(shape);
  spec.weight_scales.resize(static_cast<size_t>(oc));
  // Per-channel scales for convolutions; one per-tensor scale for a fully connected layer,
  // as TFLite's converter writes them (and as Vela requires to run it on the NPU).
  const bool per_tensor = spec.type == OpType::FullyConnected;
  for (auto& s : spec.weight_scales)
    s = per_tensor && &s != &spec.weight_scales[0] ? spec.weight_scales[0]
                                                   : static_cast<float>(0.005 + 0.01 * rng_.unit());
  // The draws happen here, in op order, so that the network depends on the seed alone.
  Rng wr(rng_.next());
  spec.weights = [style, wr](size_t n) mutable {
    std::vector<int8_t> w(n);
    random_weights(w.data(), n, style, wr);
    return w;
  };
  Rng br(rng_.next());
  spec.bias = [br](size_t n) mutable {
    std::vector<int32_t> b(n);
    for (auto& v : b) v = static_cast<int32_t>(br.next() % 4001) - 2000;
    return b;
  };
}

int NetBuilder::input(int h, int w, int c) {
  Tensor t = out_tensor({1, h, w, c}, kLinearScale, 0);
  t.name = "input";
  net_.tensors.push_back(t);
  net_.input = static_cast<int>(net_.tensors.size()) - 1;
  return net_.input;
}

int NetBuilder::conv(int x, int oc, int kh, int kw, int sh, int sw, Activation act) {
  const Tensor& in = tensor(x);
  OpSpec s;
  s.type = OpType::Conv2d;
  s.inputs = {x};
  s.stride_h = sh;
  s.stride_w = sw;
  s.same_padding = true;
  s.activation = act;
  const int oh = (in.h + sh - 1) / sh, ow = (in.w + sw - 1) / sw;
  s.output = out_tensor({1, oh, ow, oc}, act == Activation::None ? kLinearScale : kActScale,
                        act == Activation::None ? 0 : -128);
  set_weights(s, {oc, kh, kw, in.c}, oc);
  return add_spec(std::move(s));
}

int NetBuilder::depthwise(int x, int k, int stride, Activation act) {
  const Tensor& in = tensor(x);
  OpSpec s;
  s.type = OpType::DepthwiseConv2d;
  s.inputs = {x};
  s.stride_h = s.stride_w = stride;
  s.same_padding = true;
  s.activation = act;
  const int oh = (in.h + stride - 1) / stride, ow = (in.w + stride - 1) / stride;
  s.output = out_tensor({1, oh, ow, in.c}, act == Activation::None ? kLinearScale : kActScale,
                        act == Activation::None ? 0 : -128);
  set_weights(s, {1, k, k, in.c}, in.c);
  return add_spec(std::move(s));
}

int NetBuilder::fully_connected(int x, int n, Activation act) {
  const Tensor& in = tensor(x);
  OpSpec s;
  s.type = OpType::FullyConnected;
  s.inputs = {x};
  s.activation = act;
  s.output = out_tensor({1, n}, act == Activation::None ? kLinearScale : kActScale,
                        act == Activation::None ? 0 : -128);
  set_weights(s, {n, static_cast<int>(in.size())}, n);
  return add_spec(std::move(s));
}

int NetBuilder::add(int a, int b, Activation act) {
  OpSpec s;
  s.type = OpType::Add;
  s.inputs = {a, b};
  s.activation = act;
  s.output = out_tensor(tensor(a).shape, act == Activation::None ? kLinearScale : kActScale,
                        act == Activation::None ? 0 : -128);
  return add_spec(std::move(s));
}

int NetBuilder::mul(int a, int b) {
  const Tensor& in = tensor(a);
  OpSpec s;
  s.type = OpType::Mul;
  s.inputs = {a, b};
  s.output = out_tensor(in.shape, in.scale, in.zero_point);
  return add_spec(std::move(s));
}

int NetBuilder::mean(int x) {
  const Tensor& in = tensor(x);
  OpSpec s;
  s.type = OpType::Mean;
  s.inputs = {x};
  s.axes = {1, 2};
  s.output = out_tensor({1, 1, 1, in.c}, in.scale, in.zero_point);
  return add_spec(std::move(s));
}

int NetBuilder::max_pool(int x, int k, int stride) {
  const Tensor& in = tensor(x);
  OpSpec s;
  s.type = OpType::MaxPool;
  s.inputs = {x};
  s.kernel = {k, k};
  s.stride_h = s.stride_w = stride;
  s.same_padding = true;
  s.output = out_tensor({1, (in.h + stride - 1) / stride, (in.w + stride - 1) / stride, in.c}, in.scale,
                        in.zero_point);
  return add_spec(std::move(s));
}

int NetBuilder::hard_swish(int x) {
  const Tensor& in = tensor(x);
  OpSpec s;
  s.type = OpType::HardSwish;
  s.inputs = {x};
  s.output = out_tensor(in.shape, in.scale, in.zero_point);
  return add_spec(std::move(s));
}

int NetBuilder::logistic(int x) {
  OpSpec s;
  s.type = OpType::Logistic;
  s.inputs = {x};
  s.output = out_tensor(tensor(x).shape, 1.0 / 256, -128);
  return add_spec(std::move(s));
}

int NetBuilder::softmax(int x) {
  OpSpec s;
  s.type = OpType::Softmax;
  s.inputs = {x};
  s.output = out_tensor(tensor(x).shape, 1.0 / 256, -128);
  return add_spec(std::move(s));
}

int NetBuilder::squeeze_excite(int x, int reduced) {
  const int c = tensor(x).c;
  int g = mean(x);
  g = conv(g, reduced, 1, 1, Activation::Relu);
  g = conv(g, c, 1, 1, Activation::None);
  g = logistic(g);
  return mul(x, g);
}

int NetBuilder::activate(int x, bool hard_swish_wanted) {
  return hard_swish_wanted && !relu_only() ? hard_swish(x) : x;
}

Network NetBuilder::finish(int output) {
  finish_network(net_, output);
  return std::move(net_);
}

}  // namespace edgesim::npu::spaces
