#pragma once
// TFLite's int8 element-wise functions, one element at a time, with the arithmetic of
// tflite-micro's reference kernels (reference_integer_ops::Logistic and Tanh,
// reference_ops::HardSwish, QuantizeLeakyRelu, ReluX, Requantize, and the fixed-point
// int8 Softmax): gemmlowp's fixed-point exp, logistic, tanh and reciprocal (Debian's
// libgemmlowp-dev, the header TFLite itself uses). The parameters come from the op, as
// add_op derives them from the tensors' quantization. The reference kernels call these
// per element; the NPU's execution tabulates them once per layer (a 256-entry table, as
// Ethos-U runs these functions through its lookup table).
#include <cstdint>

#include "models/npu/network.hpp"

namespace edgesim::npu {

/// One output of `op` (logistic, tanh, hard swish, leaky relu, relu, relu6,
/// relu_n1_to_1, quantize) for input value `x` (zero points from `in` and `out`).
int8_t activation_element(const Op& op, int8_t x, const Tensor& in, const Tensor& out);

/// Whether `op` is one of the functions activation_element computes.
bool table_op(OpType t);

/// Softmax, in TFLite's fixed point: exp of a difference d = x - max (<= 0) in Q0.31
/// (0 below the op's diff_min).
int32_t softmax_exp(const Op& op, int32_t diff);
/// The reciprocal of a row's sum of exps and its exponent (TFLite's GetReciprocal of the
/// sum accumulated with 12 integer bits); `sum` adds softmax_accumulate of each exp.
int32_t softmax_accumulate(int32_t exp);
struct SoftmaxScale {
  int32_t reciprocal = 0;
  int exponent = 0;
};
SoftmaxScale softmax_scale(int32_t sum);
/// One int8 output (scale 1/256, zero point -128) from an exp and the row's scale.
int8_t softmax_output(int32_t exp, const SoftmaxScale& s);

}  // namespace edgesim::npu
