#pragma once
// Search spaces of int8 CNNs for NPU datasets (docs/npu-dataset.md): each space is a
// seeded, deterministic generator of networks in the NPU model's graph form
// (network.hpp), registered by name in its own file (mobilenetv2.cpp, resnet.cpp,
// dscnn.cpp, compressible.cpp) with its ranges declared as parameters, so that
// `--set SPACE.KEY=VALUE`, `edgesim describe space NAME` and the docs come from one
// declaration. The same seed gives the same network, bit for bit, on every machine.
//
// Weights are random: the NPU's timing and the encoded weight stream depend on the
// shapes and on the weights' value statistics (zeros, distinct values, magnitudes), not
// on what a trained network would hold where. Dense layers draw a discretised normal
// (per-channel int8 quantization maps a trained channel's largest |w| to 127; that is
// about 3.3 standard deviations for a channel of a few hundred weights), rounded away
// from 0: zeros come only from the sparsity the compressible space asks for per layer,
// with clustering.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/npu/network.hpp"
#include "sim/core/config/params.hpp"

namespace edgesim::npu::spaces {

/// splitmix64 (Steele, Lea and Flood, OOPSLA 2014): tiny, fast, and every 64-bit seed is
/// a good one, so per-network seeds can be derived from a dataset seed and an index.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform integer in [lo, hi] (both inclusive).
  int uniform(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<uint64_t>(hi - lo + 1)); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  bool chance(double p) { return unit() < p; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(next() % v.size())];
  }

 private:
  uint64_t s_;
};

/// The seed of network `index` of a dataset made with `seed`.
uint64_t network_seed(uint64_t dataset_seed, uint64_t index);

/// How one weighted layer's weights are drawn: a fraction of zeros and, when `clusters`
/// is above 0, that many distinct non-zero values (a clustered layer's codebook).
struct WeightStyle {
  double sparsity = 0;
  int clusters = 0;
};

/// The knobs the compressible space sets on top of a base space (UDC, RAN): the weight
/// style of each weighted layer, and activation restructuring (hard swish and
/// squeeze-excite replaced by ReLU-only equivalents, as RAN-e does).
struct Compression {
  bool relu_only = false;
  std::function<WeightStyle(Rng&)> layer_style;  // unset: dense weights
};

/// A generated network and the choices that made it (resolution, widths, blocks...).
struct Sample {
  Network net;
  nlohmann::json arch;
};

class Space {
 public:
  static constexpr const char* kKind = "space";
  static constexpr const char* kKindDescription =
      "Search spaces of int8 CNNs that `edgesim npu-dataset` samples (docs/npu-dataset.md)";
  static constexpr const char* kConfigPath = "npu-dataset --set SPACE.KEY";
  virtual ~Space() = default;
  /// The network of `seed`; `c` (may be null) adds the compressible space's knobs.
  /// Throws InputError when the space's ranges admit no network.
  virtual Sample generate(uint64_t seed, const Compression* c) const = 0;
  /// Called once after construction with every space's options (`{SPACE: {KEY: value}}`),
  /// for spaces built on others: they make theirs and add their resolved sections.
  virtual void bind(const nlohmann::json& /*options*/, nlohmann::json& /*resolved*/) {}
};

/// The space `name` with its section of `options` (`{SPACE: {KEY: value}}`) validated;
/// `resolved` receives every space's resolved section that it uses. Throws InputError
/// naming the space or the key.
std::unique_ptr<Space> make_space(const std::string& name, const nlohmann::json& options,
                                  nlohmann::json& resolved);
std::vector<std::string> space_names();

/// The values of {first, first + step, ...} within [lo, hi]; throws InputError naming
/// `path` ("mobilenetv2.resolution") when there are none: a range that yields no network.
std::vector<int> values_in(int lo, int hi, int first, int step, const std::string& path);
/// The `choices` within [lo, hi], likewise.
std::vector<double> choices_in(double lo, double hi, const std::vector<double>& choices,
                               const std::string& path);
/// The parameters of an image space: `resolution_min`, `resolution_max` and
/// `resolution_step` (square RGB inputs), then `more`.
config::ParamTable image_space_params(std::vector<config::ParamDecl> more);
/// The resolutions those parameters admit; throws InputError naming `space` when none.
std::vector<int> resolutions(const config::Params& p, const std::string& space);
/// Channels scaled by a width multiplier, rounded to a multiple of 8 and never below 90%
/// of the scaled value (the MobileNet reference code's make_divisible).
int make_divisible(double channels);

/// Builds a network op by op through add_op, with the quantization a converter would
/// write (per-channel weight scales, int32 biases) and random weights in the style
/// asked for. Every op gets a unique name; ops use SAME padding.
class NetBuilder {
 public:
  NetBuilder(std::string name, uint64_t seed, const Compression* c);
  Rng& rng() { return rng_; }
  bool relu_only() const { return c_ && c_->relu_only; }

  int input(int h, int w, int c);
  int conv(int x, int oc, int kh, int kw, int sh, int sw, Activation act);
  int conv(int x, int oc, int k, int stride, Activation act) {
    return conv(x, oc, k, k, stride, stride, act);
  }
  int depthwise(int x, int k, int stride, Activation act);
  int fully_connected(int x, int n, Activation act);
  int add(int a, int b, Activation act);
  int mul(int a, int b);
  int mean(int x);  // global average over H and W: [1, 1, 1, C]
  int max_pool(int x, int k, int stride);
  int hard_swish(int x);
  int logistic(int x);
  int softmax(int x);
  /// A squeeze-excite gate (MobileNetV3): mean, 1x1 conv + ReLU, 1x1 conv, logistic,
  /// times the input.
  int squeeze_excite(int x, int reduced);
  /// A conv's fused activation: ReLU6, or none when a hard swish op follows (hard swish
  /// chosen and not restructured to ReLU).
  Activation fused(bool hard_swish) const {
    return hard_swish && !relu_only() ? Activation::None : Activation::Relu6;
  }
  /// The hard swish op after a conv whose fused activation was fused(hard_swish), if any.
  int activate(int x, bool hard_swish);
  Network finish(int output);

  const Tensor& tensor(int t) const { return net_.tensors[static_cast<size_t>(t)]; }

 private:
  int add_spec(OpSpec spec);
  Tensor out_tensor(std::vector<int> shape, double scale, int32_t zero_point);
  void set_weights(OpSpec& spec, std::vector<int> shape, int oc);
  Network net_;
  Rng rng_;
  const Compression* c_;
  int count_ = 0;
};

/// Fills `w` with `n` int8 weights in `style` (discretised normal values, then zeros and
/// a codebook as asked).
void random_weights(int8_t* w, size_t n, const WeightStyle& style, Rng& rng);

}  // namespace edgesim::npu::spaces
