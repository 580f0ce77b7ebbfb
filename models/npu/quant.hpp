#pragma once
// TFLite-style fixed-point requantization (gemmlowp's SaturatingRoundingDoublingHighMul
// and RoundingDivideByPOT, TFLite's MultiplyByQuantizedMultiplier). Shared by the
// reference kernels and the NPU's output unit: both must round the same way, bit for bit.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "models/npu/network.hpp"

namespace edgesim::npu {

/// round(a x b / 2^31), saturating the one overflowing case (INT32_MIN x INT32_MIN).
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  const int64_t ab = static_cast<int64_t>(a) * b;
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

/// x / 2^exponent rounded to nearest, ties away from zero.
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/// a + b with two's complement wrap-around: the 32-bit accumulator of a convolution or a
/// fully connected layer where a bias near the int32 limits (which no check bounds:
/// TFLite's neither) carries it over. TFLite's compiled kernels wrap there in practice;
/// this is the same result without undefined behaviour.
inline int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

/// x x multiplier x 2^shift in fixed point (TFLite's MultiplyByQuantizedMultiplier).
inline int32_t multiply_by_quantized_multiplier(int32_t x, Requant r) {
  const int left = r.shift > 0 ? r.shift : 0;
  const int right = r.shift > 0 ? 0 : -r.shift;
  // Shift as unsigned: wraps instead of undefined behaviour where TFLite would overflow.
  const auto shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, r.multiplier), right);
}

inline int8_t clamp_i8(int32_t v, int32_t lo, int32_t hi) {
  return static_cast<int8_t>(v < lo ? lo : (v > hi ? hi : v));
}

/// TFLite's rounded integer average (round half away from zero).
inline int32_t rounded_average(int32_t sum, int32_t count) {
  // In 64 bits: a sum a fault pushed to the edge of int32 must not overflow.
  const int64_t s = sum;
  return static_cast<int32_t>(s > 0 ? (s + count / 2) / count : (s - count / 2) / count);
}

/// A requantized accumulator plus the output zero point, clamped to the activation range;
/// summed in 64 bits so a faulty accumulator cannot overflow.
inline int8_t requantize_output(int32_t acc, Requant r, int32_t zero_point, int32_t lo, int32_t hi) {
  const int64_t v = static_cast<int64_t>(multiply_by_quantized_multiplier(acc, r)) + zero_point;
  return static_cast<int8_t>(v < lo ? lo : (v > hi ? hi : v));
}

/// One element of TFLite's int8 add (sub: the difference), before the output zero point:
/// both inputs (less their zero points) to a common scale with op.left_shift bits of
/// headroom, summed, then rescaled to the output.
inline int32_t add_element(int32_t x, int32_t y, const Op& op) {
  const int32_t sx = multiply_by_quantized_multiplier(x * (1 << op.left_shift), op.in_requant[0]);
  const int32_t sy = multiply_by_quantized_multiplier(y * (1 << op.left_shift), op.in_requant[1]);
  return multiply_by_quantized_multiplier(op.type == OpType::Sub ? sx - sy : sx + sy, op.out_requant);
}

/// One element of an int8 add, sub or mul from its inputs' values (less their zero
/// points), before the output zero point.
inline int32_t binary_element(int32_t x, int32_t y, const Op& op) {
  return op.type == OpType::Mul ? multiply_by_quantized_multiplier(x * y, op.out_requant) : add_element(x, y, op);
}

/// TFLite's GetNearestNeighbor: the input row (column) output row `out_index` copies
/// (in float, as TFLite computes it).
inline int nearest(int out_index, int in_size, int out_size, bool align_corners, bool half_pixel) {
  const float scale = (align_corners && out_size > 1) ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
                                                      : static_cast<float>(in_size) / static_cast<float>(out_size);
  const float offset = half_pixel ? 0.5f : 0.0f;
  const float v = (static_cast<float>(out_index) + offset) * scale;
  int r = std::min(align_corners ? static_cast<int>(std::round(v)) : static_cast<int>(std::floor(v)), in_size - 1);
  if (half_pixel) r = std::max(0, r);
  return r;
}

/// TFLite's integer bilinear interpolation (ResizeBilinearInteger): an output row's
/// (column's) position in the input in 1/1024, and the two input rows it lies between.
struct Lerp {
  int32_t pos = 0, lo = 0, hi = 0;
};

inline Lerp lerp(int out_index, int in_size, int out_size, bool align_corners, bool half_pixel) {
  const int32_t scale_10 = (align_corners && out_size > 1)
                               ? ((1 << 10) * (in_size - 1) + (out_size - 1) / 2) / (out_size - 1)
                               : ((1 << 10) * in_size + out_size / 2) / out_size;
  Lerp l;
  l.pos = half_pixel ? out_index * scale_10 + scale_10 / 2 - (1 << 9) : out_index * scale_10;
  l.lo = std::max(l.pos / (1 << 10), 0);
  l.hi = std::min((l.pos + (1 << 10) - 1) / (1 << 10), in_size - 1);
  return l;
}

/// One interpolated value from the four neighbours (rows y.lo/y.hi, columns x.lo/x.hi),
/// weights in 1/1024, rounded half away from zero.
inline int8_t bilinear(int32_t ll, int32_t hl, int32_t lh, int32_t hh, const Lerp& y, const Lerp& x) {
  const int64_t fy = y.pos - (1 << 10) * y.lo, fx = x.pos - (1 << 10) * x.lo;
  const int64_t v = ll * ((1 << 10) - fy) * ((1 << 10) - fx) + hl * fy * ((1 << 10) - fx) +
                    lh * ((1 << 10) - fy) * fx + hh * fy * fx;
  const int64_t round = v > 0 ? (1 << 19) : -(1 << 19);
  return static_cast<int8_t>((v + round) / (1 << 20));
}

}  // namespace edgesim::npu
