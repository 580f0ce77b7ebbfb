// `mobilenetv2`: inverted-residual networks (Sandler et al., CVPR 2018, Table 2) with
// the per-block choices of the MnasNet/ProxylessNAS/EfficientNet-Lite search spaces:
// kernel 3, 5 or 7, expansion ratio, blocks per stage, a width multiplier and the input
// resolution; squeeze-excite and hard swish as MobileNetV3 adds them (Howard et al.,
// ICCV 2019). The stage skeleton (output channels and strides) is MobileNetV2's.
#include <algorithm>

#include "models/npu/spaces/space.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::npu::spaces {

namespace {

using config::Quantity;
using nlohmann::json;

const config::ParamTable kParams = image_space_params({
    {"width_min", Quantity::Real, 0.35, "Smallest width multiplier (of 0.35, 0.5, 0.75, 1.0, 1.3, 1.4)", 0.1,
     4},
    {"width_max", Quantity::Real, 1.0, "Largest width multiplier", 0.1, 4},
    {"depth_min", Quantity::Integer, 1, "Fewest inverted-residual blocks per stage", 1, 8},
    {"depth_max", Quantity::Integer, 4, "Most inverted-residual blocks per stage (the first stage has one)",
     1, 8},
    {"kernel_min", Quantity::Integer, 3, "Smallest depthwise kernel (of 3, 5, 7)", 3, 7},
    {"kernel_max", Quantity::Integer, 7, "Largest depthwise kernel", 3, 7},
    {"expand_min", Quantity::Integer, 1, "Smallest expansion ratio (stages after the first)", 1, 8},
    {"expand_max", Quantity::Integer, 6, "Largest expansion ratio", 1, 8},
    {"se_probability", Quantity::Real, 0.25, "Chance that a block has a squeeze-excite gate", 0, 1},
    {"hswish_probability", Quantity::Real, 0.25,
     "Chance that a stage (and the stem and head for stage 1) uses hard swish instead of ReLU6", 0, 1},
    {"classes", Quantity::Integer, 1000, "Classifier outputs", 1, 100000},
});

struct Stage {
  int channels, stride;
};
// MobileNetV2 Table 2: output channels and first-block stride of the seven stages.
constexpr Stage kStages[] = {{16, 1}, {24, 2}, {32, 2}, {64, 2}, {96, 1}, {160, 2}, {320, 1}};

class MobileNetV2 final : public Space {
 public:
  explicit MobileNetV2(const config::Params& p)
      : resolutions_(resolutions(p, "mobilenetv2")),
        widths_(choices_in(p.number("width_min"), p.number("width_max"), {0.35, 0.5, 0.75, 1.0, 1.3, 1.4},
                           "mobilenetv2.width")),
        depths_(values_in(static_cast<int>(p.integer("depth_min")), static_cast<int>(p.integer("depth_max")),
                          1, 1, "mobilenetv2.depth")),
        kernels_(values_in(static_cast<int>(p.integer("kernel_min")),
                           static_cast<int>(p.integer("kernel_max")), 3, 2, "mobilenetv2.kernel")),
        expands_(values_in(static_cast<int>(p.integer("expand_min")),
                           static_cast<int>(p.integer("expand_max")), 1, 1, "mobilenetv2.expand")),
        se_(p.number("se_probability")),
        hswish_(p.number("hswish_probability")),
        classes_(static_cast<int>(p.integer("classes"))) {}

  Sample generate(uint64_t seed, const Compression* c) const override {
    NetBuilder b("mobilenetv2", seed, c);
    Rng& r = b.rng();
    const int res = r.pick(resolutions_);
    const double width = r.pick(widths_);
    json stages = json::array();
    bool hs = r.chance(hswish_);
    int x = b.input(res, res, 3);
    x = b.activate(b.conv(x, make_divisible(32 * width), 3, 2, b.fused(hs)), hs);
    for (size_t s = 0; s < std::size(kStages); ++s) {
      const int out = make_divisible(kStages[s].channels * width);
      const int depth = s == 0 ? 1 : r.pick(depths_);
      if (s > 0) hs = r.chance(hswish_);
      json blocks = json::array();
      for (int k = 0; k < depth; ++k) {
        const int stride = k == 0 ? kStages[s].stride : 1;
        const int kernel = r.pick(kernels_);
        const int expand = s == 0 ? 1 : r.pick(expands_);
        const bool se = r.chance(se_) && !b.relu_only();
        const int in_c = b.tensor(x).c;
        int y = x;
        if (expand != 1) y = b.activate(b.conv(y, in_c * expand, 1, 1, b.fused(hs)), hs);
        y = b.activate(b.depthwise(y, kernel, stride, b.fused(hs)), hs);
        if (se) y = b.squeeze_excite(y, make_divisible(in_c * expand / 4.0));
        y = b.conv(y, out, 1, 1, Activation::None);
        if (stride == 1 && in_c == out) y = b.add(x, y, Activation::None);
        x = y;
        blocks.push_back({{"kernel", kernel}, {"expand", expand}, {"se", se}});
      }
      stages.push_back({{"blocks", blocks}, {"hswish", hs && !b.relu_only()}});
    }
    x = b.activate(b.conv(x, make_divisible(1280 * std::max(1.0, width)), 1, 1, b.fused(hs)), hs);
    x = b.mean(x);
    x = b.fully_connected(x, classes_, Activation::None);
    x = b.softmax(x);
    Sample out{b.finish(x), {{"resolution", res}, {"width", width}, {"stages", stages}}};
    return out;
  }

 private:
  std::vector<int> resolutions_;
  std::vector<double> widths_;
  std::vector<int> depths_, kernels_, expands_;
  double se_, hswish_;
  int classes_;
};

const Registration<Space> kRegistration(
    "mobilenetv2",
    "Inverted-residual stages (MobileNetV2/V3, EfficientNet-Lite): kernel, "
    "expansion, depth, width, resolution, squeeze-excite, hard swish",
    kParams, [](const config::Params& p) { return std::make_unique<MobileNetV2>(p); });

}  // namespace

}  // namespace edgesim::npu::spaces
