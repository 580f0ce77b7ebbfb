#include "models/npu/activations.hpp"

#include <algorithm>
#include <limits>

#include <gemmlowp/fixedpoint/fixedpoint.h>

#include "models/npu/quant.hpp"

namespace edgesim::npu {

namespace {

// Fixed-point formats of TFLite's kernels: logistic and tanh take their input with 4
// integer bits; softmax scales differences to 5 integer bits and sums exps with 12.
constexpr int kActivationInputBits = 4;
constexpr int kSoftmaxDiffBits = 5;
constexpr int kSoftmaxSumBits = 12;

int8_t saturate(int32_t v) {
  return static_cast<int8_t>(std::clamp<int32_t>(v, -128, 127));
}

/// logistic or tanh of (x - zp) in Q0.31, or the saturated end (-1 below, +1 above the
/// radius), as reference_integer_ops::Logistic and Tanh.
template <class F>
int32_t sigmoid_like(const Op& op, int32_t x, F f, int32_t below, int32_t above, int& saturated) {
  saturated = 0;
  if (x <= -op.input_radius) {
    saturated = -1;
    return below;
  }
  if (x >= op.input_radius) {
    saturated = 1;
    return above;
  }
  using F4 = gemmlowp::FixedPoint<int32_t, kActivationInputBits>;
  const int32_t q4 = multiply_by_quantized_multiplier(x, {op.input_multiplier, op.input_shift});
  return f(F4::FromRaw(q4)).raw();
}

/// x x 2^amount saturated to int16 (TFLite's SaturatingLeftShift).
int16_t saturating_left_shift(int16_t v, int amount) {
  const int64_t r = static_cast<int64_t>(v) * (int64_t{1} << amount);
  return static_cast<int16_t>(std::clamp<int64_t>(r, std::numeric_limits<int16_t>::min(),
                                                  std::numeric_limits<int16_t>::max()));
}

/// The doubling high multiply rounding toward zero (TFLite's SaturatingDoublingHighMul,
/// as ARM's SQDMULH).
int16_t saturating_doubling_high_mul(int16_t a, int16_t b) {
  if (a == b && a == std::numeric_limits<int16_t>::min()) return std::numeric_limits<int16_t>::max();
  return static_cast<int16_t>((static_cast<int32_t>(a) * b) / (1 << 15));
}

/// TFLite's int8 HardSwish on x - zp_in, before the output zero point.
int32_t hard_swish(const Op& op, int32_t x) {
  const auto hires = static_cast<int16_t>(x * (1 << 7));
  const int16_t preshift = gemmlowp::SaturatingRoundingDoublingHighMul(hires, op.swish_multiplier);
  int16_t reluish = hires;
  if (op.reluish_exponent > 0) reluish = saturating_left_shift(reluish, op.reluish_exponent - 1);
  reluish = gemmlowp::SaturatingRoundingDoublingHighMul(reluish, op.reluish_multiplier);
  if (op.reluish_exponent > 0) reluish = saturating_left_shift(reluish, 1);
  if (op.reluish_exponent < 0) reluish = gemmlowp::RoundingDivideByPOT(reluish, -op.reluish_exponent);
  reluish = static_cast<int16_t>((reluish + (1 << 15)) >> 1);  // [-1, 1] to [0, 1]
  const int16_t product = saturating_doubling_high_mul(reluish, preshift);
  return gemmlowp::RoundingDivideByPOT(product, -op.swish_exponent);
}

}  // namespace

bool table_op(OpType t) {
  switch (t) {
    case OpType::Logistic:
    case OpType::Tanh:
    case OpType::HardSwish:
    case OpType::LeakyRelu:
    case OpType::Relu:
    case OpType::Relu6:
    case OpType::ReluN1To1:
    case OpType::Quantize: return true;
    default: return false;
  }
}

int8_t activation_element(const Op& op, int8_t q, const Tensor& in, const Tensor& out) {
  const int32_t x = q - in.zero_point;
  int sat = 0;
  switch (op.type) {
    case OpType::Logistic: {
      const int32_t v = sigmoid_like(
          op, x, [](auto a) { return gemmlowp::logistic(a); }, 0, 0, sat);
      if (sat) return sat < 0 ? -128 : 127;
      return saturate(gemmlowp::RoundingDivideByPOT(v, 31 - 8) - 128);  // Q0.31 to 1/256, zero point -128
    }
    case OpType::Tanh: {
      const int32_t v = sigmoid_like(
          op, x, [](auto a) { return gemmlowp::tanh(a); }, 0, 0, sat);
      if (sat) return sat < 0 ? -128 : 127;
      return saturate(gemmlowp::RoundingDivideByPOT(v, 31 - 7));  // Q0.31 to 1/128, zero point 0
    }
    case OpType::HardSwish: return saturate(hard_swish(op, x) + out.zero_point);
    case OpType::LeakyRelu:
      return saturate(out.zero_point + multiply_by_quantized_multiplier(x, x >= 0 ? op.rescale : op.rescale_alpha));
    case OpType::Relu:
    case OpType::Relu6:
    case OpType::ReluN1To1:
      return clamp_i8(out.zero_point + multiply_by_quantized_multiplier(x, op.rescale), op.act_min, op.act_max);
    case OpType::Quantize: return saturate(out.zero_point + multiply_by_quantized_multiplier(x, op.rescale));
    default: return 0;
  }
}

int32_t softmax_exp(const Op& op, int32_t diff) {
  if (diff < -op.input_radius) return 0;  // below diff_min: TFLite skips it (output -128)
  using Diff = gemmlowp::FixedPoint<int32_t, kSoftmaxDiffBits>;
  // MultiplyByQuantizedMultiplierGreaterThanOne: the shift is a left shift.
  const int32_t scaled =
      gemmlowp::SaturatingRoundingDoublingHighMul(static_cast<int32_t>(static_cast<uint32_t>(diff) << op.input_shift),
                                                  op.input_multiplier);
  return gemmlowp::exp_on_negative_values(Diff::FromRaw(scaled)).raw();
}

int32_t softmax_accumulate(int32_t exp) {
  return gemmlowp::RoundingDivideByPOT(exp, kSoftmaxSumBits);  // Rescale<12> from Q0.31
}

SoftmaxScale softmax_scale(int32_t sum) {
  // TFLite's GetReciprocal: 1 / sum as a Q0.31 scale and the bits of sum above 1.
  const int headroom_plus_one = __builtin_clz(static_cast<uint32_t>(sum));
  const int bits_over_unit = kSoftmaxSumBits - headroom_plus_one;
  const auto shifted_minus_one =
      static_cast<int32_t>((static_cast<uint32_t>(sum) << headroom_plus_one) - (uint32_t{1} << 31));
  using F0 = gemmlowp::FixedPoint<int32_t, 0>;
  SoftmaxScale s;
  s.reciprocal = gemmlowp::one_over_one_plus_x_for_x_in_0_1(F0::FromRaw(shifted_minus_one)).raw();
  s.exponent = bits_over_unit + 31 - 8;
  return s;
}

int8_t softmax_output(int32_t exp, const SoftmaxScale& s) {
  if (exp == 0) return -128;
  const int32_t v = gemmlowp::RoundingDivideByPOT(gemmlowp::SaturatingRoundingDoublingHighMul(s.reciprocal, exp),
                                                  s.exponent);
  return saturate(v - 128);
}

}  // namespace edgesim::npu
