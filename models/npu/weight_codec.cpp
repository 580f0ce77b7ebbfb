#include "models/npu/weight_codec.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "sim/core/errors.hpp"

namespace edgesim::npu {

namespace {

// Header field codes of the format.
constexpr int kZeroDivDisabled = 6;  // no zero runs in this slice
constexpr int kEndOfStream = 7;      // in the zero-divisor field: the stream ends
constexpr int kWeightDivUncompressed = 7;
constexpr int kMaxPalette = 32;
constexpr int kNoUncompressed = 100;             // uncompressed mode not allowed for this palette
constexpr int kHeaderBits = 3 + 15 + 3 + 1 + 1;  // zero div, length - 1, weight div, trunc, new palette
constexpr int kPaletteHeaderBits = 5 + 5 + 3;    // direct offset, size - 1, entry bits - 2

// A signed value as the format stores it outside the palette: magnitude and sign bit.
int from_sign_magnitude(int p) {
  return (p & 1) ? -(p >> 1) : (p >> 1);
}

/// Golomb-Rice parameters a slice may use for weight indices: (trunc, divisor bits),
/// and the uncompressed mode last.
struct Grc {
  bool trunc, uncompressed;
  int div;
};
constexpr std::array<Grc, 13> kWeightGrc = {{{false, false, 0},
                                             {false, false, 1},
                                             {false, false, 2},
                                             {false, false, 3},
                                             {false, false, 4},
                                             {false, false, 5},
                                             {true, false, 0},
                                             {true, false, 1},
                                             {true, false, 2},
                                             {true, false, 3},
                                             {true, false, 4},
                                             {true, false, 5},
                                             {false, true, 0}}};
constexpr int kZeroDivs = 4;  // zero runs use divisors 0..3

/// The palette and direct-value mapping of a stream, from its value frequencies.
struct Palette {
  bool zero_runs = false, only_palette = false, only_zeros = false;
  int size = 0, bits = 2, direct_offset = 0;
  int amax = 0;  // the largest magnitude present: `index` holds values [-amax, amax]
  std::array<int16_t, kMaxPalette> entries{};  // sign-magnitude values
  std::array<int16_t, 511> index{};            // value + 255 -> coded index
  int uncompressed_bits() const {
    if (only_palette) {
      int b = 0;
      while ((1 << b) < size) ++b;
      return b;
    }
    return size == 0 ? bits : kNoUncompressed;
  }
};

}  // namespace

void add_counts(const int8_t* w, size_t n, ByteCounts& c) {
  if (n < 1024) {  // short spans (a depthwise block's few channels): the tables would cost more
    for (size_t i = 0; i < n; ++i) ++c[static_cast<uint8_t>(w[i])];
    return;
  }
  // Four tables, so that runs of one value do not wait on their own counts.
  std::array<ByteCounts, 4> t{};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    ++t[0][static_cast<uint8_t>(w[i])];
    ++t[1][static_cast<uint8_t>(w[i + 1])];
    ++t[2][static_cast<uint8_t>(w[i + 2])];
    ++t[3][static_cast<uint8_t>(w[i + 3])];
  }
  for (; i < n; ++i) ++t[0][static_cast<uint8_t>(w[i])];
  for (size_t u = 0; u < c.size(); ++u) c[u] += t[0][u] + t[1][u] + t[2][u] + t[3][u];
}

void add_histogram(const int8_t* w, size_t n, Histogram& h) {
  if (n < 1024) {
    for (size_t i = 0; i < n; ++i) ++h[static_cast<size_t>(w[i] + 255)];
    return;
  }
  ByteCounts c{};
  add_counts(w, n, c);
  for (int v = -128; v < 128; ++v) h[static_cast<size_t>(v + 255)] += c[static_cast<uint8_t>(v)];
}

// Zero runs pay off when zero is the most common value by a margin (4x the next): when its
// count exceeds four times every other value's (which makes it the only largest).
bool codes_zero_runs(const Histogram& freq) {
  uint32_t others = 0;
  for (size_t i = 0; i < 255; ++i) others = std::max(others, freq[i]);
  for (size_t i = 256; i < freq.size(); ++i) others = std::max(others, freq[i]);
  return freq[255] > 4 * others;
}

namespace {

/// Counts of each value (value + 255) of w[0..n).
Histogram value_histogram(const int16_t* w, size_t n) {
  Histogram freq{};
  for (size_t i = 0; i < n; ++i) {
    if (w[i] < -255 || w[i] > 255)
      throw SimError("weight stream: value " + std::to_string(w[i]) + " outside [-255, 255] at index " +
                     std::to_string(i));
    ++freq[static_cast<size_t>(w[i] + 255)];
  }
  return freq;
}


Palette make_palette(const Histogram& freq) {
  Palette p;
  const uint32_t* f = freq.data() + 255;  // f[v]: the count of value v
  int amax = 255;                          // the largest magnitude present (int8 weights: 128 at most)
  while (amax > 0 && f[amax] == 0 && f[-amax] == 0) --amax;
  uint32_t others = 0;  // codes_zero_runs over the values present
  for (int a = 1; a <= amax; ++a) others = std::max(others, std::max(f[a], f[-a]));
  p.zero_runs = f[0] > 4 * others;
  p.amax = amax;

  // Counts by sign-magnitude value (value a at 2a, -a at 2a + 1; zero left out in zero-run
  // mode), as keys count << 16 | code for the values present, so that the larger key is
  // the more frequent value (ties: the larger code). Only the 33 largest matter (a palette
  // holds 32): they are kept in order as the keys arrive (the codes come in rising
  // magnitude, which for bell-shaped weights is about falling frequency: few insertions).
  constexpr int kTop = kMaxPalette + 1;
  std::array<uint64_t, kTop> order;
  int present = 0, largest = -1, smallest = -1, top = 0;
  uint32_t total = 0;
  auto put = [&](int s, uint32_t c) {
    total += c;
    if (c == 0) return;
    ++present;
    largest = s;  // codes arrive in rising order
    if (smallest < 0) smallest = s;
    const uint64_t key = static_cast<uint64_t>(c) << 16 | static_cast<uint64_t>(s);
    if (top == kTop && key <= order[kTop - 1]) return;
    int i = top < kTop ? top++ : kTop - 1;
    for (; i > 0 && order[static_cast<size_t>(i - 1)] < key; --i)
      order[static_cast<size_t>(i)] = order[static_cast<size_t>(i - 1)];
    order[static_cast<size_t>(i)] = key;
  };
  put(0, p.zero_runs ? 0 : f[0]);
  for (int a = 1; a <= amax; ++a) {
    put(2 * a, f[a]);
    put(2 * a + 1, f[-a]);
  }
  largest = std::max(largest, 0);
  // The direct offset: the smallest code present, at most 31.
  p.direct_offset = present ? std::min(31, smallest) : 31;
  p.only_zeros = present == 0;
  if (p.only_zeros) p.direct_offset = 0;
  p.only_palette = present > 0 && present <= kMaxPalette;
  int max_size = p.only_palette ? kMaxPalette : std::min(kMaxPalette, 511 - largest);
  if (max_size == 1) max_size = 0;  // a palette of one entry is not allowed

  int taken = 0, entry_max = 0;
  uint32_t in_palette = 0;
  for (; taken < std::min(max_size, present); ++taken) {
    const uint64_t key = order[static_cast<size_t>(taken)];
    const auto s = static_cast<int16_t>(key & 0xffff);
    p.entries[static_cast<size_t>(taken)] = s;
    entry_max = std::max<int>(entry_max, s);
    in_palette += static_cast<uint32_t>(key >> 16);
  }
  if (taken == 1) p.entries[static_cast<size_t>(taken++)] = 0;  // padded to two entries
  // A palette only when it covers more than half of the coded values.
  int bits_for = largest;
  if (in_palette > total / 2) {
    p.size = taken;
    bits_for = entry_max;
  }
  while ((1 << p.bits) <= bits_for) ++p.bits;

  const int shift = p.size - p.direct_offset;
  int16_t* index = p.index.data() + 255;  // index[v]: value v's coded index
  for (int v = 0; v <= amax; ++v) index[v] = static_cast<int16_t>(2 * v + shift);
  for (int v = -amax; v < 0; ++v) index[v] = static_cast<int16_t>(1 - 2 * v + shift);
  for (int i = 0; i < p.size; ++i)
    index[from_sign_magnitude(p.entries[static_cast<size_t>(i)])] = static_cast<int16_t>(i);
  return p;
}

/// The stream as the encoder codes it: weight indices and, in zero-run mode, the run of
/// zeros before each of them and after the last (one more run than indices).
struct Symbols {
  std::vector<uint16_t> index;
  std::vector<uint32_t> runs;
};

void make_symbols(const int16_t* w, size_t n, const Palette& p, Symbols& s) {
  s.index.clear();
  s.runs.clear();
  size_t i = 0;
  for (;;) {
    if (p.zero_runs) {
      uint32_t z = 0;
      // An all-zero stream still codes its first zero as a weight (a slice is never empty).
      if (!p.only_zeros || i > 0) {
        while (i < n && w[i] == 0) {
          ++z;
          ++i;
        }
      }
      s.runs.push_back(z);
    }
    if (i == n) break;
    s.index.push_back(static_cast<uint16_t>(p.index[static_cast<size_t>(w[i] + 255)]));
    ++i;
  }
}

/// Slice k holds indices [k * kMaxSliceValues, ...) and, in zero-run mode, the runs
/// after them; the first slice also the run before its first index.
struct SliceRange {
  size_t begin, end;          // indices
  size_t run_begin, run_end;  // runs
};
SliceRange slice_range(size_t k, size_t indices, bool zero_runs) {
  SliceRange r;
  r.begin = k * kMaxSliceValues;
  r.end = std::min(indices, r.begin + kMaxSliceValues);
  r.run_begin = zero_runs ? (k == 0 ? 0 : r.begin + 1) : 0;
  r.run_end = zero_runs ? r.end + 1 : 0;
  return r;
}
size_t slice_count(size_t indices) {
  return std::max<size_t>(1, (indices + kMaxSliceValues - 1) / kMaxSliceValues);
}

size_t ceil_to(size_t a, size_t b) {
  return (a + b - 1) / b * b;
}

/// What the bits of one slice's weight indices under every parameter set follow from,
/// with c_i the count of index i: shifted[k] = sum of c_i * (i >> k), below[d] = the count
/// of indices under 2^d, count = the sum of c_i.
struct IndexSums {
  std::array<uint64_t, 7> shifted{};
  std::array<uint64_t, 6> below{};
  uint64_t count = 0;
};

/// The sums of the index histogram `hist` (indices up to `max_index`), from its suffix sums
/// at[x] (the count of indices >= x): i >> k counts the multiples m * 2^k (m >= 1) up to i,
/// so the sum of c_i * (i >> k) is the sum of at[m * 2^k].
IndexSums index_sums(const std::array<uint32_t, 512>& hist, int max_index) {
  std::array<uint64_t, 513> at;
  const auto top = static_cast<size_t>(max_index);
  at[top + 1] = 0;
  for (size_t x = top + 1; x-- > 0;) at[x] = at[x + 1] + hist[x];
  IndexSums s;
  s.count = at[0];
  for (size_t k = 0; k < s.shifted.size(); ++k)
    for (size_t x = size_t{1} << k; x <= top; x += size_t{1} << k) s.shifted[k] += at[x];
  for (size_t d = 0; d < s.below.size(); ++d) s.below[d] = s.count - at[std::min(size_t{1} << d, top + 1)];
  return s;
}

/// The histogram of a slice's indices from its values' (`freq`), value 0 left out when it is
/// coded as zero runs; returns the largest index.
int index_histogram(const Palette& p, const Histogram& freq, std::array<uint32_t, 512>& hist) {
  hist.fill(0);
  int m = 0;
  // The values present lie within [-amax, amax] (freq is the stream's, or a slice's of it).
  for (auto v = static_cast<size_t>(255 - p.amax); v <= static_cast<size_t>(255 + p.amax); ++v) {
    if (!freq[v] || (v == 255 && p.zero_runs)) continue;
    const int idx = p.index[v];
    hist[static_cast<size_t>(idx)] += freq[v];
    m = std::max(m, idx);
  }
  return m;
}

/// Bits of one slice's `n` weight indices coded with `g`. Each chunk carries 12 unary
/// positions; with q = i >> div, index i takes q / 2 + 1 of them (q / 2 = i >> (div + 1)),
/// (q + 1) / 2 = q - q / 2 second unary bits and div remainder bits; truncated, one position
/// and a second unary bit when q > 0 (i >= 2^div).
size_t weight_bits(const IndexSums& s, size_t n, const Grc& g, int ub) {
  if (g.uncompressed) return static_cast<size_t>(ub) * n;
  const auto d = static_cast<size_t>(g.div);
  size_t positions = s.count, unary1 = s.count - s.below[d];
  if (!g.trunc) {
    positions = s.shifted[d + 1] + s.count;
    unary1 = s.shifted[d] - s.shifted[d + 1];
  }
  return ceil_to(positions, 12) + unary1 + d * n;
}

/// Adds the bits of one slice's weight part under each parameter set (`n` indices).
void add_weight_bits(const IndexSums& sums, size_t n, int ub, std::array<size_t, kWeightGrc.size()>& wbits) {
  for (size_t g = 0; g < kWeightGrc.size(); ++g) wbits[g] += weight_bits(sums, n, kWeightGrc[g], ub);
}

/// Adds the costs of one slice's `n` indices under each parameter set, from their
/// histogram; raises `max_index` to the slice's largest.
void add_index_slice(const std::array<uint32_t, 512>& hist, size_t n, int ub,
                     std::array<size_t, kWeightGrc.size()>& wbits, int& max_index) {
  int m = 0;
  for (int v = 511; v > 0; --v)
    if (hist[static_cast<size_t>(v)]) {
      m = v;
      break;
    }
  add_weight_bits(index_sums(hist, m), n, ub, wbits);
  max_index = std::max(max_index, m);
}

bool grc_fits(const Grc& g, int max_index, int ub) {
  if (g.uncompressed) return ub != kNoUncompressed;
  const int q = max_index >> g.div;
  return g.trunc ? q <= 2 : q <= 31;
}

int zero_chunk_len(int div) {
  return div < 3 ? 12 : 8;
}

}  // namespace

std::string StreamCode::mode() const {
  std::string m = palette_size ? "palette" : "direct";
  if (uncompressed) m += "+uncompressed";
  if (zero_runs) m += "+zero runs";
  return m;
}

namespace {

/// The loops of the decoder's order, shared by the length and the reorder: calls
/// `f(ob, ob_depth, ib, ib_depth, sy, sh, sx, sw, elements, outer, inner)` per ifm slice and
/// sub-kernel of each OFM block.
template <class F>
void for_each_subkernel(const WeightLayout& l, int c0, int c1, F&& f) {
  const bool depthwise = l.traversal == WeightTraversal::Depthwise;
  const bool part_kernel = l.traversal == WeightTraversal::PartKernelFirst;
  const int ifm_slice = part_kernel ? 16 : 32;  // input channels per pass (int8)
  const int block = std::max(1, l.ofm_block_depth);
  for (int ob = c0; ob < c1; ob += block) {
    const int ob_depth = std::min(block, c1 - ob);
    for (int ib = 0; ib < (depthwise ? 1 : l.ifm_depth); ib += ifm_slice) {
      const int ib_depth =
          depthwise ? l.ifm_ublock_depth : part_kernel ? std::min(ifm_slice, l.ifm_depth - ib) : ifm_slice;
      for (int sy = 0; sy < l.kernel_h; sy += l.sub_kernel_h) {
        const int sh = std::min(l.kernel_h - sy, l.sub_kernel_h);
        for (int sx = 0; sx < l.kernel_w; sx += l.sub_kernel_w) {
          const int sw = std::min(l.kernel_w - sx, l.sub_kernel_w);
          int elements = sw * sh;
          if (part_kernel || depthwise) elements = (elements + 3) / 4 * 4;
          f(ob, ob_depth, ib, ib_depth, sy, sh, sx, sw, elements, part_kernel ? ib_depth : 1,
            part_kernel ? 1 : ib_depth);
        }
      }
    }
  }
}

int steps(int n, int step) {
  return (n + step - 1) / step;
}

}  // namespace

size_t stream_length(const WeightLayout& l, int c0, int c1) {
  const bool depthwise = l.traversal == WeightTraversal::Depthwise;
  const int ub_i = l.ifm_ublock_depth, ub_o = l.ofm_ublock_depth;
  size_t n = 0;
  for_each_subkernel(l, c0, c1, [&](int, int ob_depth, int, int, int, int, int, int, int elements, int outer, int inner) {
    n += static_cast<size_t>(steps(outer, ub_i)) * steps(ob_depth, ub_o) * elements * steps(inner, ub_i) * ub_o *
         (depthwise ? 1 : ub_i);
  });
  return n;
}

void reorder_weights(const int8_t* ohwi, const WeightLayout& l, int c0, int c1, std::vector<int16_t>& out) {
  const size_t start = out.size();
  out.resize(start + stream_length(l, c0, c1));  // zeros: the padding stays so
  reorder_weights(ohwi, l, c0, c1, out.data() + start);
}

namespace {

/// One micro-block of a stream as the decoder reads it: `rows` present output channels,
/// each `len` weights (OHWI offset at + r * stride) followed by `pad` padding zeros, then
/// `tail` padding zeros (absent output channels; a micro-block of padding only has no rows).
struct Segment {
  size_t at, stride;
  int rows, len, pad, tail;
  size_t size() const {
    return static_cast<size_t>(rows) * static_cast<size_t>(len + pad) + static_cast<size_t>(tail);
  }
};

/// The micro-blocks of the stream of output channels [c0, c1) in the decoder's order (the
/// walk behind reorder_weights): calls f(const Segment&) for each.
template <class F>
void for_each_segment(const WeightLayout& l, int c0, int c1, F&& f) {
  const bool depthwise = l.traversal == WeightTraversal::Depthwise;
  const int ub_i = l.ifm_ublock_depth, ub_o = l.ofm_ublock_depth, I = l.ifm_depth;
  const size_t o_stride = static_cast<size_t>(l.kernel_h) * l.kernel_w * I;  // one output channel further
  const int width = depthwise ? 1 : ub_i;  // values per output channel of a micro-block
  for_each_subkernel(l, c0, c1, [&](int ob, int ob_depth, int ib, int, int sy, int sh, int sx, int sw, int elements,
                                    int outer, int inner) {
    for (int io = 0; io < outer; io += ub_i) {
      for (int ou = 0; ou < ob_depth; ou += ub_o) {
        const int real_o = std::min(ub_o, ob_depth - ou);  // the output channels that exist
        // (kx, ky): element e's column and row (e % sw, e / sw), counted without dividing.
        for (int e = 0, kx = 0, ky = 0; e < elements; ++e) {
          for (int ii = 0; ii < inner; ii += ub_i) {
            const int i0 = ib + io + ii;
            // The input channels of this micro-block that exist (depthwise: the one); none
            // in a padding kernel element.
            const int real_i = ky >= sh ? 0 : depthwise ? 1 : std::clamp(I - i0, 0, ub_i);
            if (real_i == 0) {
              f(Segment{0, 0, 0, 0, 0, ub_o * width});
              continue;
            }
            const size_t at =
                ((static_cast<size_t>(ob + ou) * l.kernel_h + sy + ky) * l.kernel_w + sx + kx) * I +
                static_cast<size_t>(depthwise ? 0 : i0);
            f(Segment{at, o_stride, real_o, real_i, width - real_i, (ub_o - real_o) * width});
          }
          if (++kx == sw) kx = 0, ++ky;
        }
      }
    }
  });
}

}  // namespace

int16_t* reorder_weights(const int8_t* ohwi, const WeightLayout& l, int c0, int c1, int16_t* p) {
  for_each_segment(l, c0, c1, [&p, ohwi](const Segment& s) {
    const int8_t* src = ohwi + s.at;
    if (s.len == 8) {  // a whole 8-deep micro-block row: a fixed-length copy
      for (int r = 0; r < s.rows; ++r, p += 8 + s.pad)
        for (int k = 0; k < 8; ++k) p[k] = src[static_cast<size_t>(r) * s.stride + static_cast<size_t>(k)];
    } else {
      for (int r = 0; r < s.rows; ++r, p += s.len + s.pad)
        for (int k = 0; k < s.len; ++k)
          p[k] = src[static_cast<size_t>(r) * s.stride + static_cast<size_t>(k)];
    }
    p += s.tail;
  });
  return p;
}

namespace {

/// The sum over the runs of zeros in w[0..n) of each run's length >> d (d = 1, 2, 3: index
/// d - 1). Runs of fewer than two zeros add nothing, so the scan passes 8 bytes of values
/// at a time where none is zero and only measures the runs it meets.
template <class T>
RunSums run_sums(const T* w, size_t n) {
  constexpr size_t kLanes = sizeof(uint64_t) / sizeof(T);
  constexpr uint64_t kOnes = sizeof(T) == 1 ? 0x0101010101010101ULL : 0x0001000100010001ULL;
  constexpr uint64_t kHigh = kOnes << (8 * sizeof(T) - 1);
  RunSums sums{};
  size_t i = 0;
  for (;;) {
    for (; i + kLanes <= n; i += kLanes) {  // to the next lanes holding a zero
      uint64_t x = 0;
      std::memcpy(&x, w + i, sizeof x);
      if ((x - kOnes) & ~x & kHigh) break;  // a lane is zero
    }
    while (i < n && w[i] != 0) ++i;
    if (i == n) return sums;
    const size_t start = i;
    for (; i + kLanes <= n; i += kLanes) {  // through the run, a word at a time
      uint64_t x = 0;
      std::memcpy(&x, w + i, sizeof x);
      if (x) break;
    }
    while (i < n && w[i] == 0) ++i;
    const size_t z = i - start;
    if (z >= 2)
      for (size_t d = 1; d <= 3; ++d) sums[d - 1] += z >> d;
  }
}

/// Counts `len` bytes of each of `rows` rows (`stride` apart) into t, a word at a time
/// where the rows allow.
void count_rows(const int8_t* first, size_t stride, int rows, int len, std::array<ByteCounts, 4>& t) {
  for (int r = 0; r < rows; ++r) {
    const int8_t* p = first + static_cast<size_t>(r) * stride;
    int j = 0;
    for (; j + 8 <= len; j += 8) {
      uint64_t x = 0;
      std::memcpy(&x, p + j, 8);
      ++t[0][x & 0xff], ++t[1][(x >> 8) & 0xff], ++t[2][(x >> 16) & 0xff], ++t[3][(x >> 24) & 0xff];
      ++t[0][(x >> 32) & 0xff], ++t[1][(x >> 40) & 0xff], ++t[2][(x >> 48) & 0xff], ++t[3][x >> 56];
    }
    for (; j < len; ++j) ++t[static_cast<size_t>(j) & 3][static_cast<uint8_t>(p[j])];
  }
}

/// Adds counts kept in four tables (by byte) to a histogram (by value).
void add_tables(const std::array<ByteCounts, 4>& t, Histogram& h) {
  for (int v = -128; v < 128; ++v) {
    const auto u = static_cast<uint8_t>(v);
    h[static_cast<size_t>(v + 255)] += t[0][u] + t[1][u] + t[2][u] + t[3][u];
  }
}

/// The stream of one OFM block of a 1x1 kernel read depth first, the bulk of a network's
/// weights (pointwise convolutions, fully connected layers), as tiles: tile (m, g) holds
/// output micro-block g's channels (ub_o of them, the absent ones padding) over input
/// slice m (32 channels, past the last input padding), ub_o x 32 positions in all, its
/// micro-blocks in the order the decoder reads them. Which weights a run of whole tiles
/// holds does not depend on that order, so whole tiles are counted from the weights row
/// by row (whole input slices together, as one run per channel); the tiles across a cut
/// are built and counted value by value.
class PointwiseBlock {
 public:
  static bool applies(const WeightLayout& l, int c0, int c1, bool by_index) {
    return !by_index && l.kernel_h == 1 && l.kernel_w == 1 && l.traversal == WeightTraversal::DepthFirst &&
           c1 > c0 && c1 - c0 <= std::max(1, l.ofm_block_depth) && l.ofm_ublock_depth > 0 &&
           l.ifm_ublock_depth > 0 && 32 % l.ifm_ublock_depth == 0;
  }
  PointwiseBlock(const int8_t* ohwi, const WeightLayout& l, int c0, int c1)
      : ohwi_(ohwi),
        c0_(c0),
        depth_(c1 - c0),
        in_(l.ifm_depth),
        ub_o_(l.ofm_ublock_depth),
        ub_i_(l.ifm_ublock_depth),
        groups_((depth_ + ub_o_ - 1) / ub_o_),
        tile_(static_cast<size_t>(ub_o_) * kSlice) {}
  size_t length() const {
    return tile_ * static_cast<size_t>(groups_) * static_cast<size_t>((in_ + kSlice - 1) / kSlice);
  }

  /// Adds the counts of positions [from, to) to t.
  void count(size_t from, size_t to, std::array<ByteCounts, 4>& t) {
    size_t weights = 0, positions = 0;  // of the whole tiles counted from the weights
    while (from < to) {
      const size_t tile = from / tile_, off = from % tile_;
      if (off != 0 || to - from < tile_) {  // part of a tile: built
        const size_t end = std::min(to, (tile + 1) * tile_) - tile * tile_;
        build(tile);
        for (size_t i = off; i < end; ++i) ++t[i & 3][static_cast<uint8_t>(buf_[i])];
        from += end - off;
        continue;
      }
      // Whole tiles: the rest of input slice m's micro-blocks, then whole slices, then
      // the first micro-blocks of a slice.
      const int m = static_cast<int>(tile / static_cast<size_t>(groups_)),
                g = static_cast<int>(tile % static_cast<size_t>(groups_));
      const size_t whole = (to - from) / tile_;
      int m_end = m, g_end = g;  // the tiles [(m, g), (m_end, g_end)) in slice-major order
      if (g == 0 && whole >= static_cast<size_t>(groups_)) {
        m_end = m + static_cast<int>(whole / static_cast<size_t>(groups_));  // whole slices
      } else {
        g_end = static_cast<int>(std::min<size_t>(static_cast<size_t>(groups_), g + whole));
        m_end = m + 1;
      }
      const int ch0 = g_end > g ? g * ub_o_ : 0;
      const int ch1 = g_end > g ? std::min(depth_, g_end * ub_o_) : depth_;
      const int i0 = m * kSlice, i1 = std::min(in_, m_end * kSlice);
      const size_t tiles = g_end > g ? static_cast<size_t>(g_end - g)
                                     : static_cast<size_t>(m_end - m) * static_cast<size_t>(groups_);
      if (i1 > i0) {
        count_rows(ohwi_ + static_cast<size_t>(c0_ + ch0) * in_ + i0, static_cast<size_t>(in_), ch1 - ch0,
                   i1 - i0, t);
        weights += static_cast<size_t>(ch1 - ch0) * static_cast<size_t>(i1 - i0);
      }
      positions += tiles * tile_;
      from += tiles * tile_;
    }
    t[0][0] += static_cast<uint32_t>(positions - weights);  // the whole tiles' padding
  }

 private:
  static constexpr int kSlice = 32;  // input channels of a depth-first pass (int8)
  /// Tile `tile` in the decoder's order into buf_.
  void build(size_t tile) {
    if (built_ == tile) return;
    built_ = tile;
    buf_.assign(tile_, 0);
    const int m = static_cast<int>(tile / static_cast<size_t>(groups_)),
              g = static_cast<int>(tile % static_cast<size_t>(groups_));
    const int real_o = std::min(ub_o_, depth_ - g * ub_o_);
    size_t at = 0;
    for (int ii = 0; ii < kSlice; ii += ub_i_) {
      const int i0 = m * kSlice + ii, real_i = std::clamp(in_ - i0, 0, ub_i_);
      for (int r = 0; r < real_o; ++r) {
        const int8_t* row = ohwi_ + static_cast<size_t>(c0_ + g * ub_o_ + r) * in_ + i0;
        for (int j = 0; j < real_i; ++j) buf_[at + static_cast<size_t>(j)] = row[j];
        at += static_cast<size_t>(ub_i_);
      }
      at += static_cast<size_t>((ub_o_ - real_o) * ub_i_);
    }
  }

  const int8_t* ohwi_;
  int c0_, depth_, in_, ub_o_, ub_i_, groups_;
  size_t tile_;
  size_t built_ = SIZE_MAX;
  std::vector<int8_t> buf_;
};

}  // namespace

void add_part_histograms(const int8_t* ohwi, const WeightLayout& l, int c0, int c1, bool by_index,
                         const std::vector<size_t>& ends, const std::vector<Histogram*>& parts) {
  if (ends.empty() || ends.size() != parts.size())
    throw SimError("weight stream: " + std::to_string(ends.size()) + " part ends for " +
                   std::to_string(parts.size()) + " parts");
  if (!std::is_sorted(ends.begin(), ends.end())) throw SimError("weight stream: part ends out of order");
  if (PointwiseBlock::applies(l, c0, c1, by_index)) {
    PointwiseBlock block(ohwi, l, c0, c1);
    if (block.length() != ends.back())
      throw SimError("weight stream: parts of " + std::to_string(ends.back()) + " positions in a stream of " +
                     std::to_string(block.length()));
    for (size_t k = 0, from = 0; k < ends.size(); from = ends[k++]) {
      if (!parts[k] || ends[k] <= from) continue;
      std::array<ByteCounts, 4> t{};
      block.count(from, ends[k], t);
      add_tables(t, *parts[k]);
    }
    return;
  }
  // Each part counted straight from the weights as the decoder walks them (the stream is
  // not built), micro-block by micro-block; a micro-block across a cut value by value.
  // Four tables per part, so that repeated values do not wait on their own counts.
  thread_local std::vector<std::array<ByteCounts, 4>> counts;
  counts.assign(parts.size(), std::array<ByteCounts, 4>{});
  size_t at = 0, k = 0;  // the next position; its part
  auto put = [&](int8_t v) {
    while (k < ends.size() && at >= ends[k]) ++k;
    if (k < ends.size() && parts[k]) ++counts[k][0][static_cast<uint8_t>(v)];
    ++at;
  };
  for_each_segment(l, c0, c1, [&](const Segment& s) {
    const auto pad = static_cast<size_t>(by_index ? 0 : s.pad),
               tail = static_cast<size_t>(by_index ? 0 : s.tail);
    const size_t size = static_cast<size_t>(s.rows) * (static_cast<size_t>(s.len) + pad) + tail;
    while (k < ends.size() && at >= ends[k]) ++k;
    const int8_t* src = ohwi + s.at;
    if (k < ends.size() && at + size <= ends[k]) {  // inside part k
      at += size;
      if (!parts[k]) return;
      std::array<ByteCounts, 4>& c = counts[k];
      count_rows(src, s.stride, s.rows, s.len, c);
      c[0][0] += static_cast<uint32_t>(static_cast<size_t>(s.rows) * pad + tail);
      return;
    }
    for (int r = 0; r < s.rows; ++r) {
      const int8_t* row = src + static_cast<size_t>(r) * s.stride;
      for (int j = 0; j < s.len; ++j) put(row[j]);
      for (size_t j = 0; j < pad; ++j) put(0);
    }
    for (size_t j = 0; j < tail; ++j) put(0);
  });
  if (at != ends.back())
    throw SimError("weight stream: parts of " + std::to_string(ends.back()) + " positions in a stream of " +
                   std::to_string(at));
  for (size_t p = 0; p < parts.size(); ++p)
    if (parts[p]) add_tables(counts[p], *parts[p]);
}

void reorder_bytes(const int8_t* ohwi, const WeightLayout& l, int c0, int c1, std::vector<int8_t>& out) {
  out.resize(stream_length(l, c0, c1));
  size_t at = 0;  // the next position
  for_each_segment(l, c0, c1, [&](const Segment& s) {
    const auto pad = static_cast<size_t>(s.pad), tail = static_cast<size_t>(s.tail);
    int8_t* p = out.data() + at;
    at += s.size();
    const int8_t* src = ohwi + s.at;
    if (s.len == 8 && pad == 0) {  // whole 8-deep micro-block rows: fixed-length copies
      for (int r = 0; r < s.rows; ++r, p += 8) std::memcpy(p, src + static_cast<size_t>(r) * s.stride, 8);
    } else if (s.len == 1 && pad == 0) {  // depthwise: one weight per output channel
      for (int r = 0; r < s.rows; ++r) p[r] = src[static_cast<size_t>(r) * s.stride];
      p += s.rows;
    } else {
      for (int r = 0; r < s.rows; ++r) {
        const int8_t* row = src + static_cast<size_t>(r) * s.stride;
        for (int k = 0; k < s.len; ++k) *p++ = row[k];
        for (size_t k = 0; k < pad; ++k) *p++ = 0;
      }
    }
    for (size_t k = 0; k < tail; ++k) *p++ = 0;
  });
  if (at != out.size())
    throw SimError("weight stream: " + std::to_string(at) + " values walked, " + std::to_string(out.size()) +
                   " expected");
}

namespace {

/// What the zero bytes of an 8-byte word contribute to its runs of zeros, by the word's
/// mask of zero bytes (bit j: byte j is zero): the zeros it starts with (which continue the
/// run before it) and ends with (which start the run after it), and the sums of the runs
/// inside it (d = 1, 2, 3).
struct WordRuns {
  uint8_t lead, trail;
  std::array<uint8_t, 3> inner;
};

const std::array<WordRuns, 256>& word_runs() {
  static const std::array<WordRuns, 256> table = [] {
    std::array<WordRuns, 256> t{};
    for (unsigned m = 0; m < 256; ++m) {
      WordRuns& r = t[m];
      unsigned j = 0;
      while (j < 8 && (m >> j & 1)) ++j;
      r.lead = static_cast<uint8_t>(j);
      unsigned run = 0;
      for (; j < 8; ++j) {
        if (m >> j & 1) {
          ++run;
        } else {
          for (unsigned d = 1; d <= 3; ++d)
            r.inner[d - 1] = static_cast<uint8_t>(r.inner[d - 1] + (run >> d));
          run = 0;
        }
      }
      r.trail = static_cast<uint8_t>(m == 255 ? 8 : run);
    }
    return t;
  }();
  return table;
}

}  // namespace

RunSums zero_run_sums(const int8_t* w, size_t n) {
  // Eight values at a time: the word's mask of zero bytes gives its part in the runs.
  const std::array<WordRuns, 256>& table = word_runs();
  size_t s1 = 0, s2 = 0, s3 = 0, run = 0, i = 0;
  auto end_run = [&]() {  // a run of one zero adds nothing (1 >> d is 0)
    s1 += run >> 1;
    s2 += run >> 2;
    s3 += run >> 3;
  };
  constexpr uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  for (; i + 8 <= n; i += 8) {
    uint64_t x = 0;
    std::memcpy(&x, w + i, sizeof x);
    // A byte's high bit in `nonzero` is set when the byte is not zero (exact, per byte).
    const uint64_t nonzero = (((x & kLow7) + kLow7) | x) & ~kLow7;
    if (nonzero == ~kLow7) {  // no zero
      end_run();
      run = 0;
      continue;
    }
    const auto mask = static_cast<uint8_t>((((~nonzero & ~kLow7) >> 7) * 0x0102040810204080ULL) >> 56);
    if (mask == 0xff) {
      run += 8;
      continue;
    }
    const WordRuns& r = table[mask];
    run += r.lead;
    end_run();
    s1 += r.inner[0];
    s2 += r.inner[1];
    s3 += r.inner[2];
    run = r.trail;
  }
  for (; i < n; ++i) {
    if (w[i] == 0) {
      ++run;
    } else {
      end_run();
      run = 0;
    }
  }
  end_run();
  return {s1, s2, s3};
}

void padding_runs(const WeightLayout& l, int c0, int c1, std::vector<RunSlice>& slices) {
  // Weights end the current run of zeros (which belongs to the slice of the index before
  // it), padding lengthens it.
  const bool depthwise = l.traversal == WeightTraversal::Depthwise;
  const size_t indices = static_cast<size_t>(c1 - c0) * l.kernel_h * l.kernel_w *
                         (depthwise ? 1 : static_cast<size_t>(l.ifm_depth));
  slices.resize(slice_count(indices));
  for (RunSlice& s : slices) s.zeros = 0, s.sums = {};
  size_t run = 0, seen = 0;  // the current run; indices before it
  auto end_run = [&]() {
    RunSlice& s = slices[seen == 0 ? 0 : (seen - 1) / kMaxSliceValues];
    s.zeros += run;
    if (run >= 2)
      for (size_t d = 1; d <= 3; ++d) s.sums[d - 1] += run >> d;
    run = 0;
  };
  for_each_segment(l, c0, c1, [&](const Segment& s) {
    if (s.rows > 0 && s.pad == 0) {  // the rows' weights in a row: the runs between them are empty
      end_run();
      seen += static_cast<size_t>(s.rows) * static_cast<size_t>(s.len);
    } else {
      for (int r = 0; r < s.rows; ++r) {
        end_run();
        seen += static_cast<size_t>(s.len);
        run += static_cast<size_t>(s.pad);
      }
    }
    run += static_cast<size_t>(s.tail);
  });
  end_run();  // the run after the last index
  if (seen != indices)
    throw SimError("weight stream: the padding walk met " + std::to_string(seen) + " weights, not " +
                   std::to_string(indices));
}

namespace {

StreamCode describe(const Palette& p, size_t n) {
  StreamCode c;
  c.values = n;
  c.zero_runs = p.zero_runs;
  c.palette_size = p.size;
  c.palette_bits = p.bits;
  c.direct_offset = p.direct_offset;
  const int ub = p.uncompressed_bits();
  c.uncompressed_bits = ub == kNoUncompressed ? 0 : ub;
  return c;
}

/// Chooses the weights' parameters from their per-slice costs and totals the size.
void finish(StreamCode& c, const Palette& p, const std::array<size_t, kWeightGrc.size()>& wbits,
            const std::array<size_t, kZeroDivs>& zbits, int max_index, size_t slices) {
  const int ub = p.uncompressed_bits();
  size_t best = SIZE_MAX, g_best = 0;
  for (size_t g = 0; g < kWeightGrc.size(); ++g) {
    if (grc_fits(kWeightGrc[g], max_index, ub) && wbits[g] < best) {
      best = wbits[g];
      g_best = g;
    }
  }
  c.weight_div = kWeightGrc[g_best].div;
  c.weight_trunc = kWeightGrc[g_best].trunc;
  c.uncompressed = kWeightGrc[g_best].uncompressed;
  size_t bits = best + slices * kHeaderBits + kPaletteHeaderBits + static_cast<size_t>(p.size * p.bits);
  if (p.zero_runs) {
    const auto zb = std::min_element(zbits.begin(), zbits.end());
    c.zero_div = static_cast<int>(zb - zbits.begin());
    bits += *zb;
  }
  c.payload_bits = bits;
  c.bytes = ceil_to(ceil_to(bits + 3, 8) / 8, 16);  // end code, byte alignment, 16-byte padding
}

}  // namespace

namespace {

/// Adds the costs of one slice of indices, from the histogram of its values.
void add_slice(const Palette& p, const Histogram& freq, size_t n, std::array<size_t, kWeightGrc.size()>& wbits,
               int& max_index) {
  std::array<uint32_t, 512> hist;
  const int m = index_histogram(p, freq, hist);
  add_weight_bits(index_sums(hist, m), n, p.uncompressed_bits(), wbits);
  max_index = std::max(max_index, m);
}

}  // namespace

bool analyse_histogram(const Histogram& freq, size_t n, StreamCode& out) {
  // Without zero runs every value is an index; one slice holds them all when few enough.
  if (n > kMaxSliceValues || n == 0 || codes_zero_runs(freq)) return false;
  const Palette p = make_palette(freq);
  out = describe(p, n);
  std::array<size_t, kWeightGrc.size()> wbits{};
  int max_index = 0;
  add_slice(p, freq, n, wbits, max_index);
  out.coded_weights = n;
  finish(out, p, wbits, {}, max_index, 1);
  return true;
}

namespace {
StreamCode analyse_known(const int16_t* w, size_t n, const Histogram& freq, const std::vector<Histogram>* segments);
}  // namespace

bool analyse_slices(const Histogram& freq, size_t n, const std::vector<Histogram>& slices, StreamCode& out) {
  if (n == 0 || codes_zero_runs(freq)) return false;
  if (slices.size() != slice_count(n))
    throw SimError("weight stream: " + std::to_string(slices.size()) + " slice histograms for " +
                   std::to_string(n) + " values");
  out = analyse_known(nullptr, n, freq, &slices);  // without zero runs the values are not read
  return true;
}

bool estimate_histogram(const Histogram& freq, size_t n, size_t& bytes) {
  if (n == 0 || codes_zero_runs(freq)) return false;
  const Palette p = make_palette(freq);
  StreamCode c;
  // Several slices: costed as one, plus their headers (their unary chunks' rounding, a few
  // bits per slice, is left out).
  std::array<size_t, kWeightGrc.size()> wbits{};
  int max_index = 0;
  add_slice(p, freq, n, wbits, max_index);
  c = describe(p, n);
  finish(c, p, wbits, {}, max_index, slice_count(n));
  bytes = c.bytes;
  return true;
}

namespace {

/// Adds the bits of one slice's zero runs under each divisor: `runs` runs holding `zeros`
/// zeros, whose lengths z give the sums of z >> d in `sums`. With q = z >> d a run takes
/// q + 1 unary positions and d remainder bits.
void add_run_bits(size_t runs, size_t zeros, const RunSums& sums, std::array<size_t, kZeroDivs>& zbits) {
  for (int d = 0; d < kZeroDivs; ++d) {
    const size_t positions = runs + (d == 0 ? zeros : sums[static_cast<size_t>(d - 1)]);
    zbits[static_cast<size_t>(d)] += ceil_to(positions, zero_chunk_len(d)) + static_cast<size_t>(d) * runs;
  }
}

/// A stream with zero runs (at least one non-zero value) from its slices: each slice's
/// indices' costs from their histogram (every non-zero value is an index), its runs' from
/// their count (one per index, the first slice one more), zeros and sums.
StreamCode runs_code(const Palette& p, StreamCode c, size_t indices, const std::vector<RunSlice>& slices) {
  std::array<size_t, kWeightGrc.size()> wbits{};
  std::array<size_t, kZeroDivs> zbits{};
  int max_index = 0;
  for (size_t k = 0; k < slices.size(); ++k) {
    const RunSlice& s = slices[k];
    const size_t in_slice = std::min(kMaxSliceValues, indices - k * kMaxSliceValues);
    add_slice(p, s.values, in_slice, wbits, max_index);
    add_run_bits(in_slice + (k == 0 ? 1 : 0), s.zeros, s.sums, zbits);
  }
  c.coded_weights = indices;
  finish(c, p, wbits, zbits, max_index, slices.size());
  return c;
}

/// A stream with zero runs over several slices (at least one non-zero value), in one walk.
/// Slice k holds indices [k * kMaxSliceValues, ...) and the run after each of them; the
/// first also the run before its first index. Per slice: its indices' histogram, its zeros,
/// and the sums of z >> d over its runs of two or more zeros (as in analyse_runs).
StreamCode analyse_sliced_runs(const int16_t* w, size_t n, const Palette& p, StreamCode c) {
  const int ub = p.uncompressed_bits();
  const int16_t* index_of = p.index.data() + 255;
  std::array<size_t, kWeightGrc.size()> wbits{};
  std::array<size_t, kZeroDivs> zbits{};
  std::array<uint32_t, 512> hist;
  size_t i = 0, indices = 0, slices = 0;
  int max_index = 0;
  size_t zeros = 0;
  RunSums long_sums{};
  auto run = [&]() {  // the run of zeros from i
    if (i == n || w[i] != 0) return;
    const size_t start = i;
    for (; i + 4 <= n; i += 4) {  // four values at a time
      uint64_t x = 0;
      std::memcpy(&x, w + i, sizeof x);
      if (x) break;
    }
    while (i < n && w[i] == 0) ++i;
    const size_t z = i - start;
    zeros += z;
    if (z >= 2)
      for (size_t d = 1; d <= 3; ++d) long_sums[d - 1] += z >> d;
  };
  run();  // before the first index: the first slice's
  while (i < n) {
    hist.fill(0);
    const size_t runs_before = slices == 0 ? 1 : 0;
    size_t in_slice = 0;
    for (; in_slice < kMaxSliceValues && i < n; ++in_slice) {
      ++hist[static_cast<size_t>(index_of[w[i]])];  // w[i] != 0: run() stopped here
      ++i;
      run();  // after this index: this slice's
    }
    add_index_slice(hist, in_slice, ub, wbits, max_index);
    add_run_bits(in_slice + runs_before, zeros, long_sums, zbits);
    indices += in_slice;
    zeros = 0;
    long_sums.fill(0);
    ++slices;
  }
  c.coded_weights = indices;
  finish(c, p, wbits, zbits, max_index, slices);
  return c;
}

/// The encoder's choices for w[0..n) whose value histogram is `freq`; `segments`, when
/// given, the histograms of its slice-long segments (made here when needed).
StreamCode analyse_known(const int16_t* w, size_t n, const Histogram& freq, const std::vector<Histogram>* segments) {
  const Palette p = make_palette(freq);
  StreamCode c = describe(p, n);
  if (!p.zero_runs && n > 0) {
    // Every value is an index: each slice's costs from its values' histogram.
    std::array<size_t, kWeightGrc.size()> wbits{};
    int max_index = 0;
    size_t slices = 0;
    // Without the slices' histograms: the first (a full one) holds what the others leave,
    // so the others are counted (the last often holds a few values only).
    Histogram first = freq;
    for (size_t b = kMaxSliceValues; !segments && b < n; b += kMaxSliceValues) {
      Histogram h{};
      const size_t e = std::min(n, b + kMaxSliceValues);
      for (size_t i = b; i < e; ++i) ++h[static_cast<size_t>(w[i] + 255)];  // the caller vouches for them
      for (size_t v = 0; v < h.size(); ++v) first[v] -= h[v];
      add_slice(p, h, e - b, wbits, max_index);
    }
    for (size_t b = 0; b < n; b += kMaxSliceValues, ++slices) {
      const size_t len = std::min(kMaxSliceValues, n - b);
      if (segments) {
        add_slice(p, (*segments)[slices], len, wbits, max_index);
      } else if (b == 0) {
        add_slice(p, first, len, wbits, max_index);
      }
    }
    c.coded_weights = n;
    finish(c, p, wbits, {}, max_index, slices);
    return c;
  }
  const int ub = p.uncompressed_bits();
  const size_t nonzero = n - freq[255];
  if (!p.only_zeros && nonzero <= kMaxSliceValues) {
    // One slice of indices: its runs' sums from one scan.
    thread_local std::vector<RunSlice> one(1);
    one[0].values = freq;
    one[0].zeros = freq[255];
    one[0].sums = run_sums(w, n);
    return runs_code(p, c, nonzero, one);
  }
  if (!p.only_zeros) return analyse_sliced_runs(w, n, p, c);

  // One pass: each slice's histogram of indices and of its zero runs' lengths (the runs'
  // unary positions per divisor follow from it when the slice closes). Index i falls in
  // slice i / kMaxSliceValues; the run before index i (i >= 1) and the run after the last
  // index belong to the slice of the index before them, the run before index 0 to the
  // first slice.
  constexpr uint32_t kShortRuns = 64;  // runs shorter than this are counted by length
  std::array<size_t, kWeightGrc.size()> wbits{};
  std::array<size_t, kZeroDivs> zbits{};
  std::array<uint32_t, 512> hist{};
  std::array<uint32_t, kShortRuns> run_hist{};
  std::array<size_t, kZeroDivs> zpos{};  // positions of the slice's long runs
  size_t indices = 0, slices = 0, in_slice = 0, runs_in_slice = 0;
  int max_index = 0;
  auto close_slice = [&]() {
    add_index_slice(hist, in_slice, ub, wbits, max_index);
    for (uint32_t z = 0; z < kShortRuns; ++z)
      if (run_hist[z])
        for (int d = 0; d < kZeroDivs; ++d) zpos[static_cast<size_t>(d)] += run_hist[z] * ((z >> d) + 1);
    for (int d = 0; d < kZeroDivs; ++d)
      zbits[static_cast<size_t>(d)] +=
          ceil_to(zpos[static_cast<size_t>(d)], zero_chunk_len(d)) + static_cast<size_t>(d) * runs_in_slice;
    hist.fill(0);
    run_hist.fill(0);
    zpos.fill(0);
    in_slice = runs_in_slice = 0;
    ++slices;
  };
  auto add_run = [&](uint32_t z) {
    if (z < kShortRuns) {
      ++run_hist[z];
    } else {
      for (int d = 0; d < kZeroDivs; ++d) zpos[static_cast<size_t>(d)] += (z >> d) + 1;
    }
    ++runs_in_slice;
  };
  size_t i = 0, to_close = kMaxSliceValues;  // indices until the slice is full
  // Locals, not the palette's fields: the counts' stores could alias them.
  const bool zero_runs = p.zero_runs, only_zeros = p.only_zeros;
  const int16_t* index_of = p.index.data() + 255;
  for (;;) {
    uint32_t z = 0;
    if (zero_runs && (!only_zeros || i > 0)) {
      const size_t start = i;
      while (i + 4 <= n) {  // four values at a time through a run
        uint64_t four = 0;
        std::memcpy(&four, w + i, sizeof four);
        if (four) break;
        i += 4;
      }
      while (i < n && w[i] == 0) ++i;
      z = static_cast<uint32_t>(i - start);
    }
    if (i == n) {
      if (zero_runs) add_run(z);  // the run after the last index
      break;
    }
    // The run before this index belongs to the previous index's slice (the first's for
    // index 0); then the index may open a new slice.
    if (zero_runs) add_run(z);
    if (to_close == 0) {
      close_slice();
      to_close = kMaxSliceValues;
    }
    const auto v = static_cast<uint16_t>(index_of[w[i]]);
    ++hist[v];
    ++in_slice;
    ++indices;
    --to_close;
    ++i;
  }
  close_slice();
  c.coded_weights = indices;
  finish(c, p, wbits, zbits, max_index, slices);
  return c;
}

}  // namespace

bool analyse_runs(const Histogram& freq, size_t n, const std::vector<RunSlice>& slices, StreamCode& out) {
  if (n == 0) return false;
  const Palette p = make_palette(freq);
  if (!p.zero_runs || p.only_zeros) return false;
  const size_t indices = n - freq[255];
  if (slices.size() != slice_count(indices))
    throw SimError("weight stream: " + std::to_string(slices.size()) + " slices for " +
                   std::to_string(indices) + " indices");
  out = runs_code(p, describe(p, n), indices, slices);
  return true;
}

StreamCode analyse_stream(const int16_t* w, size_t n) {
  // The histogram of each slice-long segment (they matter without zero runs), and of all.
  thread_local std::vector<Histogram> segments;
  segments.clear();
  Histogram freq{};
  for (size_t b = 0; b < n || b == 0; b += kMaxSliceValues) {
    segments.push_back(value_histogram(w + b, std::min(kMaxSliceValues, n - b)));
    for (size_t v = 0; v < freq.size(); ++v) freq[v] += segments.back()[v];
    if (n == 0) break;
  }
  return analyse_known(w, n, freq, &segments);
}

StreamCode analyse_stream(const int16_t* w, size_t n, const Histogram& freq) {
  return analyse_known(w, n, freq, nullptr);
}

namespace {

class BitWriter {
 public:
  void put(int len, uint32_t data) {
    for (int i = 0; i < len; ++i) {
      if ((pos_ & 7) == 0) bytes_.push_back(0);
      bytes_.back() = static_cast<uint8_t>(bytes_.back() | (((data >> i) & 1u) << (pos_ & 7)));
      ++pos_;
    }
  }
  size_t pos() const { return pos_; }
  std::vector<uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

/// One Golomb-Rice coded sequence cut into chunks of unary positions: the state the
/// encoder keeps between chunks.
struct GrcStream {
  const uint32_t* values;
  size_t n, pos = 0;
  int div, step;  // step: how much one unary position takes off the quotient (2, or 3 truncated)
  long q = -1;
  long r = 0;
  /// Fills one chunk of `len` unary positions; `first`/`second` get the unary bits,
  /// `rem` the remainders of the values the chunk completes.
  void chunk(int len, uint32_t& first, uint32_t& second, int& second_len, std::vector<uint32_t>& rem,
             bool two_level) {
    first = second = 0;
    second_len = 0;
    rem.clear();
    int j = 0;
    while (j < len) {
      if (q < 0) {
        if (pos + rem.size() < n) {
          const uint32_t v = values[pos + rem.size()];
          q = static_cast<long>(v >> div);
          r = static_cast<long>(v & ((1u << div) - 1));
        } else {
          q = 0;
          r = -1;  // padding: no remainder
        }
      }
      while (q >= 0 && j < len) {
        if (q > 0) {
          first |= 1u << j;
          if (two_level) second |= (q > 1 ? 1u : 0u) << second_len++;
        }
        ++j;
        q -= two_level ? step : 1;
      }
      if (q < 0 && r >= 0) rem.push_back(static_cast<uint32_t>(r));
    }
    pos += rem.size();
  }
};

}  // namespace

std::vector<uint8_t> encode_stream(const int16_t* w, size_t n) {
  const Palette p = make_palette(value_histogram(w, n));
  Symbols s;
  make_symbols(w, n, p, s);
  const StreamCode c = analyse_stream(w, n);
  std::vector<uint32_t> idx(s.index.begin(), s.index.end());
  BitWriter bw;
  const size_t slices = slice_count(idx.size());
  const int wdiv = c.uncompressed ? c.uncompressed_bits : c.weight_div;
  for (size_t k = 0; k < slices; ++k) {
    const SliceRange r = slice_range(k, idx.size(), p.zero_runs);
    const bool new_palette = k == 0;
    bw.put(3, static_cast<uint32_t>(p.zero_runs ? c.zero_div : kZeroDivDisabled));
    bw.put(15, static_cast<uint32_t>(r.end - r.begin - 1));
    bw.put(3, static_cast<uint32_t>(c.uncompressed ? kWeightDivUncompressed : c.weight_div));
    bw.put(1, c.weight_trunc ? 1u : 0u);
    bw.put(1, new_palette ? 1u : 0u);
    if (new_palette) {
      bw.put(5, static_cast<uint32_t>(p.direct_offset));
      bw.put(5, static_cast<uint32_t>(std::max(0, p.size - 1)));
      bw.put(3, static_cast<uint32_t>(p.bits - 2));
      for (int i = 0; i < p.size; ++i)
        bw.put(p.bits, static_cast<uint32_t>(p.entries[static_cast<size_t>(i)]));
    }
    GrcStream ws{idx.data() + r.begin, r.end - r.begin, 0, wdiv, c.weight_trunc ? 3 : 2};
    GrcStream zs{p.zero_runs ? s.runs.data() + r.run_begin : nullptr, r.run_end - r.run_begin, 0, c.zero_div,
                 1};
    const int wlen = c.uncompressed && wdiv > 5 ? 8 : 12, zlen = zero_chunk_len(c.zero_div);
    std::vector<uint32_t> wrem, zrem, wrem_prev, zrem_prev;
    bool w_prev = false, z_prev = false;
    do {
      const long balance = p.zero_runs ? static_cast<long>(ws.pos) - static_cast<long>(zs.pos) : 0;
      const bool w_on = balance < 8 && ws.pos < ws.n;
      const bool z_on = balance >= 0 && p.zero_runs && zs.pos < zs.n;
      uint32_t wu0 = 0, wu1 = 0, zu = 0, unused = 0;
      int wu1_len = 0, unused_len = 0;
      if (w_on) ws.chunk(wlen, wu0, wu1, wu1_len, wrem, !c.uncompressed);
      if (z_on) zs.chunk(zlen, zu, unused, unused_len, zrem, false);
      if (w_on && !c.uncompressed) bw.put(12, wu0);
      if (z_on) bw.put(zlen, zu);
      if (w_on && !c.uncompressed) bw.put(wu1_len, wu1);
      if (w_prev)
        for (uint32_t v : wrem_prev) bw.put(wdiv, v);
      if (z_prev)
        for (uint32_t v : zrem_prev) bw.put(c.zero_div, v);
      w_prev = w_on;
      z_prev = z_on;
      wrem_prev = w_on ? wrem : std::vector<uint32_t>{};
      zrem_prev = z_on ? zrem : std::vector<uint32_t>{};
    } while (w_prev || z_prev);
  }
  bw.put(3, kEndOfStream);
  bw.put(static_cast<int>((8 - (bw.pos() & 7)) & 7), 0xff);
  while (bw.pos() % 128) bw.put(8, 0xff);
  std::vector<uint8_t> out = bw.take();
  if (out.size() != c.bytes)
    throw SimError("weight stream: encoder wrote " + std::to_string(out.size()) + " bytes, analysis said " +
                   std::to_string(c.bytes));
  return out;
}

namespace {

class BitReader {
 public:
  BitReader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  uint32_t get(int len, const char* what) {
    uint32_t v = 0;
    for (int i = 0; i < len; ++i) {
      if (pos_ >= 8 * n_)
        throw InputError("weight stream: " + std::string(what) + " runs past the end (bit " +
                         std::to_string(pos_) + ")");
      v |= static_cast<uint32_t>((d_[pos_ >> 3] >> (pos_ & 7)) & 1) << i;
      ++pos_;
    }
    return v;
  }
  size_t pos() const { return pos_; }
  bool at_end() const { return pos_ >= 8 * n_; }

 private:
  const uint8_t* d_;
  size_t n_, pos_ = 0;
};

/// Reads unary positions back into quotients: `carry` holds a quotient that continues
/// into the next chunk.
struct UnaryReader {
  long carry = 0;
  /// One chunk of `len` positions. One-level codes (zero runs, uncompressed weights):
  /// a 1 adds one to the quotient, a 0 ends it. Two-level codes (weights): a 1 in the
  /// first part reads a bit of the second part (`second_src`), so a position adds 0, 1
  /// or 2, and a value ends at a position that adds less than 2 (or at every position
  /// when truncated).
  void chunk(int len, uint32_t first, BitReader* second_src, bool truncated, std::vector<long>& q) {
    q.clear();
    uint32_t second = 0;
    if (second_src) {
      int ones = 0;
      for (int i = 0; i < len; ++i) ones += (first >> i) & 1;
      second = second_src->get(ones, "second unary part");
    }
    long cnt = carry;
    for (int i = 0; i < len; ++i) {
      const int bit = static_cast<int>((first >> i) & 1);
      if (!second_src) {
        if (bit) {
          ++cnt;
        } else {
          q.push_back(cnt);
          cnt = 0;
        }
        continue;
      }
      int code = bit;
      if (bit) {
        code += static_cast<int>(second & 1);
        second >>= 1;
      }
      cnt += code;
      if (code < 2 || truncated) {
        q.push_back(cnt);
        cnt = 0;
      }
    }
    carry = cnt;
  }
};

}  // namespace

std::vector<int16_t> decode_stream(const uint8_t* data, size_t n) {
  BitReader br(data, n);
  std::vector<int16_t> out;
  int palette_size = 0, palette_bits = 2, direct_offset = 0;
  std::array<int, kMaxPalette> palette{};
  bool first = true;
  for (;;) {
    if (br.at_end()) break;
    const size_t slice_at = br.pos();
    const int zdiv = static_cast<int>(br.get(3, "zero divisor"));
    if (zdiv == kEndOfStream) break;
    if (zdiv > 3 && zdiv != kZeroDivDisabled)
      throw InputError("weight stream: bad zero-run divisor " + std::to_string(zdiv) + " at bit " +
                       std::to_string(slice_at));
    const bool zero_runs = zdiv != kZeroDivDisabled;
    const size_t count = br.get(15, "slice length") + 1;
    const int wdiv_code = static_cast<int>(br.get(3, "weight divisor"));
    const bool trunc = br.get(1, "truncation flag") != 0;
    const bool new_palette = br.get(1, "palette flag") != 0;
    if (first && !new_palette)
      throw InputError("weight stream: the first slice defines no palette (bit " + std::to_string(slice_at) +
                       ")");
    first = false;
    if (new_palette) {
      direct_offset = static_cast<int>(br.get(5, "direct offset"));
      palette_size = static_cast<int>(br.get(5, "palette size"));
      if (palette_size > 0) ++palette_size;
      palette_bits = static_cast<int>(br.get(3, "palette entry bits")) + 2;
      for (int i = 0; i < palette_size; ++i)
        palette[static_cast<size_t>(i)] = static_cast<int>(br.get(palette_bits, "palette entry"));
    }
    const bool uncompressed = wdiv_code == kWeightDivUncompressed;
    if (!uncompressed && wdiv_code > 5)
      throw InputError("weight stream: bad weight divisor " + std::to_string(wdiv_code) + " at bit " +
                       std::to_string(slice_at));
    int wdiv = wdiv_code;
    if (uncompressed) {
      wdiv = 0;
      if (palette_size > 0) {
        while ((1 << wdiv) < palette_size) ++wdiv;
      } else {
        wdiv = palette_bits;
      }
    }
    const size_t zcount = zero_runs ? count + (new_palette ? 1 : 0) : 0;
    std::vector<long> wq_all, zq_all, wq, zq;
    std::vector<uint32_t> wvals, zvals;
    UnaryReader wr, zr;
    std::vector<long> wq_prev, zq_prev;
    bool w_prev = false, z_prev = false;
    size_t wpos = 0, zpos = 0;
    const int wlen = uncompressed && wdiv > 5 ? 8 : 12, zlen = zero_chunk_len(zdiv);
    do {
      const long balance = zero_runs ? static_cast<long>(wpos) - static_cast<long>(zpos) : 0;
      const bool w_on = balance < 8 && wpos < count;
      const bool z_on = balance >= 0 && zero_runs && zpos < zcount;
      uint32_t wu0 = 0;
      if (w_on && !uncompressed) wu0 = br.get(12, "weight unary part");
      if (z_on) {
        zr.chunk(zlen, br.get(zlen, "zero-run unary part"), nullptr, false, zq);
        zpos += zq.size();
      }
      if (w_on) {
        wr.chunk(wlen, wu0, uncompressed ? nullptr : &br, trunc, wq);
        wpos += wq.size();
      }
      if (w_prev)
        for (long q : wq_prev)
          if (wvals.size() < count)
            wvals.push_back(static_cast<uint32_t>((q << wdiv) + br.get(wdiv, "weight remainder")));
      if (z_prev)
        for (long q : zq_prev)
          if (zvals.size() < zcount)
            zvals.push_back(static_cast<uint32_t>((q << zdiv) + br.get(zdiv, "zero-run remainder")));
      w_prev = w_on;
      z_prev = z_on;
      wq_prev = w_on ? wq : std::vector<long>{};
      zq_prev = z_on ? zq : std::vector<long>{};
    } while (w_prev || z_prev);
    if (wvals.size() != count || zvals.size() != zcount)
      throw InputError("weight stream: slice at bit " + std::to_string(slice_at) + " ends early");
    size_t zi = 0;
    if (zero_runs && new_palette) out.insert(out.end(), zvals[zi++], int16_t{0});
    for (size_t i = 0; i < count; ++i) {
      const int v = static_cast<int>(wvals[i]);
      const int code = v < palette_size ? palette[static_cast<size_t>(v)] : v - palette_size + direct_offset;
      out.push_back(static_cast<int16_t>(from_sign_magnitude(code)));
      if (zero_runs) out.insert(out.end(), zvals[zi++], int16_t{0});
    }
  }
  return out;
}

}  // namespace edgesim::npu
