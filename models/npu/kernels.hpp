#pragma once
// The inner loops of the NPU's functional execution, over int16 operands (int8 values
// less their zero point, and int8 weights, widened once): products are exact in int32,
// so the order the kernels sum in does not change a result. On x86 CPUs with AVX2 they
// use its multiply-add of int16 pairs (chosen once, at the first call); elsewhere plain
// loops (which the compiler vectorises where it can).
#include <cstddef>
#include <cstdint>

namespace edgesim::npu::kernels {

/// Rows of the dot-product kernels are padded with zeros to a multiple of this.
constexpr size_t kRowAlign = 16;
/// Elements the depthwise kernel may read past its operands' last (and write, masked,
/// past the accumulators'): the arrays it takes are this much longer.
constexpr size_t kSlack = 16;
inline size_t padded(size_t n) {
  return (n + kRowAlign - 1) / kRowAlign * kRowAlign;
}

/// acc[j] += sum_{i<n} x[i] * w[j * stride + i] for j < m: one input row against m weight
/// rows (n a multiple of kRowAlign).
void dot_rows(const int16_t* x, const int16_t* w, size_t stride, int m, int n, int32_t* acc);

/// A kernel window over an input of ih x iw pixels: size, stride, dilation, padding.
struct Window {
  int ih, iw, kh, kw, sh, sw, dh, dw, pad_top, pad_left;
};

/// Calls f(block pixel, input pixel, kernel tap) for every tap of every output of the
/// block (y0, x0, bh, bw) whose input lies inside the input (padding adds nothing).
template <class F>
inline void for_each_tap(const Window& g, int y0, int x0, int bh, int bw, F&& f) {
  for (int py = 0; py < bh; ++py)
    for (int px = 0; px < bw; ++px)
      for (int ky = 0; ky < g.kh; ++ky) {
        const int iy = (y0 + py) * g.sh - g.pad_top + ky * g.dh;
        if (iy < 0 || iy >= g.ih) continue;
        for (int kx = 0; kx < g.kw; ++kx) {
          const int ix = (x0 + px) * g.sw - g.pad_left + kx * g.dw;
          if (ix < 0 || ix >= g.iw) continue;
          f(py * bw + px, static_cast<size_t>(iy) * g.iw + ix, static_cast<size_t>(ky * g.kw + kx));
        }
      }
}

/// A depthwise layer's int16 operands and geometry: the input with one value per output
/// channel ([ih][iw][c]) and the weights ([kh * kw][c]).
struct Depthwise {
  const int16_t* x;
  const int16_t* w;
  int c;
  Window g;
};
/// acc[(py * bw + px) * bc + k] += the taps of output (y0 + py, x0 + px, c0 + k) that lie
/// inside the input. d.x, d.w and acc have kSlack elements past their last.
void depthwise_block(const Depthwise& d, int y0, int x0, int bh, int bw, int c0, int bc, int32_t* acc);

/// out[i] = x[i] - zero_point, widened to int16.
void widen(const int8_t* x, int n, int32_t zero_point, int16_t* out);

/// TFLite's requantization of n accumulators of consecutive channels:
/// out[i] = clamp(zp + MultiplyByQuantizedMultiplier(acc[i], multiplier[i], shift[i]), lo, hi).
void requantize(const int32_t* acc, const int32_t* multiplier, const int32_t* shift, int n, int32_t zp, int32_t lo,
                int32_t hi, int8_t* out);

/// The instruction sets the kernels have versions for; by default the best the CPU has.
enum class Isa { kPlain, kAvx2 };
Isa best_isa();
/// Makes the kernels use `isa` (at most best_isa()): tests compare the versions.
void use_isa(Isa isa);

}  // namespace edgesim::npu::kernels
