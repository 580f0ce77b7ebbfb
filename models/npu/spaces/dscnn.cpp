// `dscnn`: depthwise-separable CNNs for keyword spotting (Zhang et al., "Hello Edge:
// Keyword Spotting on Microcontrollers", 2017, Table 4 and Fig. 5): an MFCC spectrogram
// (frames x coefficients x 1) into a 10x4 stride-2 convolution, then depthwise-separable
// blocks (3x3 depthwise, 1x1 pointwise, each with ReLU), global average pool and a
// classifier over the 12 Speech Commands classes. DS-CNN-S is 64 channels and 4 blocks,
// DS-CNN-M 172 and 4, DS-CNN-L 276 and 5.
#include <algorithm>

#include "models/npu/spaces/space.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::npu::spaces {

namespace {

using config::Quantity;
using nlohmann::json;

const config::ParamTable kParams = {{
    {"frames_min", Quantity::Integer, 49, "Fewest spectrogram frames (49: 1 s at a 20 ms stride)", 8, 1000},
    {"frames_max", Quantity::Integer, 49, "Most spectrogram frames", 8, 1000},
    {"coefficients_min", Quantity::Integer, 10, "Fewest MFCC coefficients per frame", 4, 128},
    {"coefficients_max", Quantity::Integer, 40, "Most MFCC coefficients per frame", 4, 128},
    {"channels_min", Quantity::Integer, 32, "Fewest channels (multiples of 8)", 8, 1024},
    {"channels_max", Quantity::Integer, 276, "Most channels", 8, 1024},
    {"blocks_min", Quantity::Integer, 2, "Fewest depthwise-separable blocks", 1, 16},
    {"blocks_max", Quantity::Integer, 6, "Most depthwise-separable blocks", 1, 16},
    {"kernel_min", Quantity::Integer, 3, "Smallest depthwise kernel (of 3, 5)", 3, 5},
    {"kernel_max", Quantity::Integer, 3, "Largest depthwise kernel", 3, 5},
    {"classes", Quantity::Integer, 12, "Classifier outputs (Speech Commands: 10 words, silence, unknown)", 1,
     10000},
}};

class DsCnn final : public Space {
 public:
  explicit DsCnn(const config::Params& p)
      : frames_(values_in(static_cast<int>(p.integer("frames_min")),
                          static_cast<int>(p.integer("frames_max")), 1, 1, "dscnn.frames")),
        coefficients_(values_in(static_cast<int>(p.integer("coefficients_min")),
                                static_cast<int>(p.integer("coefficients_max")), 1, 1, "dscnn.coefficients")),
        channels_(values_in(static_cast<int>(p.integer("channels_min")),
                            static_cast<int>(p.integer("channels_max")), 8, 8, "dscnn.channels")),
        blocks_(values_in(static_cast<int>(p.integer("blocks_min")),
                          static_cast<int>(p.integer("blocks_max")), 1, 1, "dscnn.blocks")),
        kernels_(values_in(static_cast<int>(p.integer("kernel_min")),
                           static_cast<int>(p.integer("kernel_max")), 3, 2, "dscnn.kernel")),
        classes_(static_cast<int>(p.integer("classes"))) {}

  Sample generate(uint64_t seed, const Compression* c) const override {
    NetBuilder b("dscnn", seed, c);
    Rng& r = b.rng();
    const int frames = r.pick(frames_), coefficients = r.pick(coefficients_);
    const int channels = r.pick(channels_), blocks = r.pick(blocks_);
    int x = b.input(frames, coefficients, 1);
    // The first layer's kernel as Hello Edge's (10 in time, 4 in frequency), never wider
    // than the input.
    x = b.conv(x, channels, std::min(10, frames), std::min(4, coefficients), 2, 2, Activation::Relu);
    json ks = json::array();
    for (int k = 0; k < blocks; ++k) {
      const int kernel = r.pick(kernels_);
      x = b.depthwise(x, kernel, 1, Activation::Relu);
      x = b.conv(x, channels, 1, 1, Activation::Relu);
      ks.push_back(kernel);
    }
    x = b.mean(x);
    x = b.fully_connected(x, classes_, Activation::None);
    x = b.softmax(x);
    return {b.finish(x),
            {{"frames", frames}, {"coefficients", coefficients}, {"channels", channels}, {"kernels", ks}}};
  }

 private:
  std::vector<int> frames_, coefficients_, channels_, blocks_, kernels_;
  int classes_;
};

const Registration<Space> kRegistration(
    "dscnn",
    "Keyword-spotting DS-CNNs (Hello Edge) over MFCC spectrograms: frames, "
    "coefficients, channels, blocks, kernel",
    kParams, [](const config::Params& p) { return std::make_unique<DsCnn>(p); });

}  // namespace

}  // namespace edgesim::npu::spaces
