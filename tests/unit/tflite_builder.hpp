#pragma once
// The TFLite builder (models/npu/tflite_builder.hpp) with patterned constant weights, for
// the reader tests (one model per op and per failure mode) and the Arm NN check.
#include <string>
#include <vector>

#include "models/npu/tflite_builder.hpp"

namespace edgesim::npu::test {

class TfliteBuilder : public npu::TfliteModelBuilder {
 public:
  /// Constant int8 weights, per-tensor (one scale) or per-channel along `dimension`.
  int weights(const std::string& name, std::vector<int> shape, std::vector<float> scales, int dimension) {
    size_t n = 1;
    for (int d : shape) n *= static_cast<size_t>(d);
    std::vector<int8_t> w(n);
    for (size_t i = 0; i < n; ++i) w[i] = static_cast<int8_t>(static_cast<int>((i * 37 + 11) % 251) - 125);
    return tensor(name, std::move(shape), tfl::TensorType_INT8, std::move(scales), {}, dimension, bytes(w));
  }
};

}  // namespace edgesim::npu::test
