// `resnet`: residual networks (He et al., CVPR 2016): a 7x7 stride-2 stem and a 3x3
// stride-2 max pool, four stages of basic (two 3x3 convs) or bottleneck (1x1, 3x3, 1x1
// with 4x expansion) blocks, widths doubling per stage from a base width, a 1x1
// projection shortcut where the shape changes, global average pool and a classifier.
// ResNet-18 is base width 64, depths 2-2-2-2, basic blocks, strides 1-2-2-2.
#include <algorithm>

#include "models/npu/spaces/space.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::npu::spaces {

namespace {

using config::Quantity;
using nlohmann::json;

const config::ParamTable kParams = image_space_params({
    {"width_min", Quantity::Integer, 16,
     "Smallest base width (first stage's channels; of 16, 24, 32, 48, 64)", 8, 256},
    {"width_max", Quantity::Integer, 64, "Largest base width", 8, 256},
    {"depth_min", Quantity::Integer, 1, "Fewest blocks per stage", 1, 16},
    {"depth_max", Quantity::Integer, 3, "Most blocks per stage", 1, 16},
    {"block", Quantity::String, "any", "Block type", 0, 0, {"any", "basic", "bottleneck"}},
    {"stride2_probability", Quantity::Real, 1.0,
     "Chance that each of stages 2-4 starts with stride 2 (else 1: a wider feature map)", 0, 1},
    {"classes", Quantity::Integer, 1000, "Classifier outputs", 1, 100000},
});

class ResNet final : public Space {
 public:
  explicit ResNet(const config::Params& p)
      : resolutions_(resolutions(p, "resnet")),
        depths_(values_in(static_cast<int>(p.integer("depth_min")), static_cast<int>(p.integer("depth_max")),
                          1, 1, "resnet.depth")),
        stride2_(p.number("stride2_probability")),
        classes_(static_cast<int>(p.integer("classes"))) {
    for (double w :
         choices_in(static_cast<double>(p.integer("width_min")), static_cast<double>(p.integer("width_max")),
                    {16, 24, 32, 48, 64}, "resnet.width"))
      widths_.push_back(static_cast<int>(w));
    const std::string& block = p.text("block");
    if (block != "bottleneck") blocks_.push_back(0);
    if (block != "basic") blocks_.push_back(1);
  }

  Sample generate(uint64_t seed, const Compression* c) const override {
    NetBuilder b("resnet", seed, c);
    Rng& r = b.rng();
    const int res = r.pick(resolutions_);
    const int width = r.pick(widths_);
    const bool bottleneck = r.pick(blocks_) == 1;
    int x = b.input(res, res, 3);
    x = b.conv(x, width, 7, 2, Activation::Relu);
    x = b.max_pool(x, 3, 2);
    json stages = json::array();
    for (int s = 0; s < 4; ++s) {
      const int depth = r.pick(depths_);
      const int stage_stride = s == 0 ? 1 : (r.chance(stride2_) ? 2 : 1);
      const int w = width << s, out = bottleneck ? 4 * w : w;
      for (int k = 0; k < depth; ++k) {
        const int stride = k == 0 ? stage_stride : 1;
        int y = x;
        if (bottleneck) {
          y = b.conv(y, w, 1, 1, Activation::Relu);
          y = b.conv(y, w, 3, stride, Activation::Relu);
          y = b.conv(y, out, 1, 1, Activation::None);
        } else {
          y = b.conv(y, w, 3, stride, Activation::Relu);
          y = b.conv(y, out, 3, 1, Activation::None);
        }
        const int shortcut =
            stride != 1 || b.tensor(x).c != out ? b.conv(x, out, 1, stride, Activation::None) : x;
        x = b.add(shortcut, y, Activation::Relu);
      }
      stages.push_back({{"depth", depth}, {"stride", stage_stride}, {"width", w}});
    }
    x = b.mean(x);
    x = b.fully_connected(x, classes_, Activation::None);
    x = b.softmax(x);
    return {b.finish(x),
            {{"resolution", res},
             {"width", width},
             {"block", bottleneck ? "bottleneck" : "basic"},
             {"stages", stages}}};
  }

 private:
  std::vector<int> resolutions_, depths_, widths_;
  std::vector<int> blocks_;  // 0 basic, 1 bottleneck
  double stride2_;
  int classes_;
};

const Registration<Space> kRegistration(
    "resnet",
    "Residual networks: basic or bottleneck blocks, base width, depth and "
    "stride per stage, resolution",
    kParams, [](const config::Params& p) { return std::make_unique<ResNet>(p); });

}  // namespace

}  // namespace edgesim::npu::spaces
