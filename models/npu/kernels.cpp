#include "models/npu/kernels.hpp"

#include <algorithm>

#include "models/npu/quant.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EDGESIM_X86 1
#endif

namespace edgesim::npu::kernels {

namespace {

void dot_rows_plain(const int16_t* x, const int16_t* w, size_t stride, int m, int n, int32_t* acc) {
  for (int j = 0; j < m; ++j) {
    const int16_t* r = w + static_cast<size_t>(j) * stride;
    int32_t s = 0;
    for (int i = 0; i < n; ++i) s = wrapping_add(s, static_cast<int32_t>(x[i]) * r[i]);
    acc[j] = wrapping_add(acc[j], s);
  }
}

void depthwise_plain(const Depthwise& d, int y0, int x0, int bh, int bw, int c0, int bc, int32_t* acc) {
  const auto c = static_cast<size_t>(d.c);
  for_each_tap(d.g, y0, x0, bh, bw, [&](int p, size_t pixel, size_t tap) {
    const int16_t* x = d.x + pixel * c + c0;
    const int16_t* w = d.w + tap * c + c0;
    int32_t* a = acc + p * bc;
    for (int k = 0; k < bc; ++k) a[k] = wrapping_add(a[k], static_cast<int32_t>(x[k]) * w[k]);
  });
}

void widen_plain(const int8_t* x, int n, int32_t zero_point, int16_t* out) {
  for (int i = 0; i < n; ++i) out[i] = static_cast<int16_t>(x[i] - zero_point);
}

int32_t requantize_one(int32_t acc, int32_t multiplier, int32_t shift) {
  // TFLite's MultiplyByQuantizedMultiplier: a left shift (wrapping), the saturating
  // rounding doubling high multiply, a rounding right shift.
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  const auto x = static_cast<int32_t>(static_cast<uint32_t>(acc) << left);
  const int64_t ab = static_cast<int64_t>(x) * multiplier;
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  const auto h = static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));  // multiplier > 0: no saturation
  const int32_t mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  const int32_t threshold = (mask >> 1) + (h < 0 ? 1 : 0);
  return (h >> right) + ((h & mask) > threshold ? 1 : 0);
}

void requantize_plain(const int32_t* acc, const int32_t* multiplier, const int32_t* shift, int n, int32_t zp,
                      int32_t lo, int32_t hi, int8_t* out) {
  for (int i = 0; i < n; ++i) {
    // Clamped before the zero point is added: a (faulty) accumulator near the int32 edge
    // cannot overflow.
    const int32_t v = std::clamp(requantize_one(acc[i], multiplier[i], shift[i]), lo - zp, hi - zp);
    out[i] = static_cast<int8_t>(v + zp);
  }
}

#ifdef EDGESIM_X86

/// The four sums of s0..s3, as one vector.
inline __m128i sum4(__m128i s0, __m128i s1, __m128i s2, __m128i s3) {
  const __m128i a = _mm_add_epi32(_mm_unpacklo_epi32(s0, s1), _mm_unpackhi_epi32(s0, s1));
  const __m128i b = _mm_add_epi32(_mm_unpacklo_epi32(s2, s3), _mm_unpackhi_epi32(s2, s3));
  return _mm_add_epi32(_mm_unpacklo_epi64(a, b), _mm_unpackhi_epi64(a, b));
}

inline int32_t sum1(__m128i s) {
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) inline __m128i fold(__m256i s) {
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

__attribute__((target("avx2"))) void dot_rows_avx2(const int16_t* x, const int16_t* w, size_t stride, int m,
                                                   int n, int32_t* acc) {
  int j = 0;
  for (; j + 4 <= m; j += 4) {
    const int16_t* r0 = w + static_cast<size_t>(j) * stride;
    const int16_t* r1 = r0 + stride;
    const int16_t* r2 = r1 + stride;
    const int16_t* r3 = r2 + stride;
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < n; i += 16) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
      s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + i))));
      s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + i))));
      s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r2 + i))));
      s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r3 + i))));
    }
    __m128i* a = reinterpret_cast<__m128i*>(acc + j);
    _mm_storeu_si128(a, _mm_add_epi32(_mm_loadu_si128(a), sum4(fold(s0), fold(s1), fold(s2), fold(s3))));
  }
  for (; j < m; ++j) {
    const int16_t* r = w + static_cast<size_t>(j) * stride;
    __m256i s = _mm256_setzero_si256();
    for (int i = 0; i < n; i += 16)
      s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)),
                                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r + i))));
    acc[j] = wrapping_add(acc[j], sum1(fold(s)));
  }
}

__attribute__((target("avx2"))) void depthwise_avx2(const Depthwise& d, int y0, int x0, int bh, int bw, int c0,
                                                    int bc, int32_t* acc) {
  // Eight channels at a time, their sums held in one register across the taps; the last,
  // partial group reads past the block's channels (the operands' slack, kSlack) and
  // stores only its own lanes.
  constexpr int kMaxTaps = 256;
  if (d.g.kh * d.g.kw > kMaxTaps) return depthwise_plain(d, y0, x0, bh, bw, c0, bc, acc);
  const auto c = static_cast<size_t>(d.c);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  size_t pixels[kMaxTaps], taps[kMaxTaps];
  for (int py = 0; py < bh; ++py)
    for (int px = 0; px < bw; ++px) {
      int32_t* a = acc + (py * bw + px) * bc;
      int n = 0;
      for_each_tap(d.g, y0 + py, x0 + px, 1, 1, [&](int, size_t pixel, size_t tap) {
        pixels[n] = pixel * c + c0;
        taps[n++] = tap * c + c0;
      });
      for (int k = 0; k < bc; k += 8) {
        const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(bc - k), lane);
        __m256i v = _mm256_maskload_epi32(a + k, keep);
        for (int t = 0; t < n; ++t) {
          const __m256i xv = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d.x + pixels[t] + k)));
          const __m256i wv = _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d.w + taps[t] + k)));
          v = _mm256_add_epi32(v, _mm256_mullo_epi32(xv, wv));
        }
        _mm256_maskstore_epi32(a + k, keep, v);
      }
    }
}

__attribute__((target("avx2"))) void widen_avx2(const int8_t* x, int n, int32_t zero_point, int16_t* out) {
  const __m256i zp = _mm256_set1_epi16(static_cast<int16_t>(zero_point));
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_sub_epi16(v, zp));
  }
  widen_plain(x + i, n - i, zero_point, out + i);
}

/// SaturatingRoundingDoublingHighMul of the low 32 bits of each 64-bit lane (a multiplier
/// > 0: no saturation): the 64-bit product, (ab + nudge) / 2^31 rounded toward zero as
/// |ab| + (2^30, or 2^30 - 1 when negative) shifted right, with the sign put back.
__attribute__((target("avx2"))) inline __m256i doubling_high(__m256i x, __m256i m) {
  const __m256i ab = _mm256_mul_epi32(x, m);
  const __m256i neg = _mm256_cmpgt_epi64(_mm256_setzero_si256(), ab);
  const __m256i mag = _mm256_sub_epi64(_mm256_xor_si256(ab, neg), neg);
  const __m256i q =
      _mm256_srli_epi64(_mm256_add_epi64(mag, _mm256_add_epi64(_mm256_set1_epi64x(int64_t{1} << 30), neg)), 31);
  return _mm256_sub_epi64(_mm256_xor_si256(q, neg), neg);
}

__attribute__((target("avx2"))) void requantize_avx2(const int32_t* acc, const int32_t* multiplier,
                                                     const int32_t* shift, int n, int32_t zp, int32_t lo, int32_t hi,
                                                     int8_t* out) {
  const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
  const __m256i vlo = _mm256_set1_epi32(lo - zp), vhi = _mm256_set1_epi32(hi - zp), vzp = _mm256_set1_epi32(zp);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(shift + i));
    const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(multiplier + i));
    const __m256i left = _mm256_max_epi32(s, zero), right = _mm256_max_epi32(_mm256_sub_epi32(zero, s), zero);
    const __m256i x = _mm256_sllv_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + i)), left);
    const __m256i even = doubling_high(x, m);
    const __m256i odd = doubling_high(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32));
    const __m256i h = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xaa);
    // RoundingDivideByPOT by each lane's right shift.
    const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one);
    const __m256i threshold =
        _mm256_add_epi32(_mm256_srai_epi32(mask, 1), _mm256_and_si256(_mm256_cmpgt_epi32(zero, h), one));
    const __m256i r = _mm256_add_epi32(_mm256_srav_epi32(h, right),
                                       _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_and_si256(h, mask), threshold), one));
    const __m256i v = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(r, vlo), vhi), vzp);
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
    for (int k = 0; k < 8; ++k) out[i + k] = static_cast<int8_t>(lanes[k]);
  }
  requantize_plain(acc + i, multiplier + i, shift + i, n - i, zp, lo, hi, out + i);
}

#endif

Isa& current() {
  static Isa isa = best_isa();
  return isa;
}

}  // namespace

Isa best_isa() {
#ifdef EDGESIM_X86
  return __builtin_cpu_supports("avx2") ? Isa::kAvx2 : Isa::kPlain;
#else
  return Isa::kPlain;
#endif
}

void use_isa(Isa isa) {
  current() = std::min(isa, best_isa());
}

void dot_rows(const int16_t* x, const int16_t* w, size_t stride, int m, int n, int32_t* acc) {
#ifdef EDGESIM_X86
  if (current() == Isa::kAvx2) return dot_rows_avx2(x, w, stride, m, n, acc);
#endif
  dot_rows_plain(x, w, stride, m, n, acc);
}

void depthwise_block(const Depthwise& d, int y0, int x0, int bh, int bw, int c0, int bc, int32_t* acc) {
#ifdef EDGESIM_X86
  if (current() == Isa::kAvx2) return depthwise_avx2(d, y0, x0, bh, bw, c0, bc, acc);
#endif
  depthwise_plain(d, y0, x0, bh, bw, c0, bc, acc);
}

void widen(const int8_t* x, int n, int32_t zero_point, int16_t* out) {
#ifdef EDGESIM_X86
  if (current() == Isa::kAvx2) return widen_avx2(x, n, zero_point, out);
#endif
  widen_plain(x, n, zero_point, out);
}

void requantize(const int32_t* acc, const int32_t* multiplier, const int32_t* shift, int n, int32_t zp, int32_t lo,
                int32_t hi, int8_t* out) {
#ifdef EDGESIM_X86
  if (current() == Isa::kAvx2) return requantize_avx2(acc, multiplier, shift, n, zp, lo, hi, out);
#endif
  requantize_plain(acc, multiplier, shift, n, zp, lo, hi, out);
}

}  // namespace edgesim::npu::kernels
