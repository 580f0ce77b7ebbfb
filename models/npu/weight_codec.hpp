#pragma once
// Ethos-U's compressed weight streams. The NPU's weight decoder reads a layer's weights
// in a fixed order (output micro-blocks inside OFM blocks, kernel elements, input
// micro-blocks) as a bitstream of slices: each slice names a Golomb-Rice divisor for
// weight indices and, in "alternating" mode, another for the runs of zeros between them;
// a palette of up to 32 frequent values maps small indices to weights and values outside
// it are coded directly. The stream ends with an end-of-stream code and is padded to
// 16 bytes. The format is the one Arm's Vela compiler writes (ethosu/mlw_codec,
// Apache-2.0; read through its public mirror); this encoder is written from that
// description. It chooses one palette and one pair of Golomb-Rice parameters per stream
// where Vela searches palette restarts and parameter changes along the stream; on the
// networks in docs/reproduction/npu-vela.md the sizes agree to 0.1 %.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace edgesim::npu {

/// How the decoder walks a layer's weights (Vela's NpuBlockTraversal): depth first
/// (32-deep input slices, the kernel inside), part-kernel first (16-deep input slices,
/// kernel elements in fours), or depthwise (one input channel per output).
enum class WeightTraversal : uint8_t { DepthFirst, PartKernelFirst, Depthwise };

/// A weight volume in OHWI order and the hardware shapes its stream follows.
struct WeightLayout {
  int ofm_depth = 1, kernel_h = 1, kernel_w = 1, ifm_depth = 1;
  WeightTraversal traversal = WeightTraversal::DepthFirst;
  int ofm_block_depth = 8;                 // output channels of one OFM block
  int ofm_ublock_depth = 8;                // output channels the MAC array computes at once
  int ifm_ublock_depth = 8;                // input channels it reads at once
  int sub_kernel_h = 8, sub_kernel_w = 8;  // kernels are split into sub-kernels of at most this
};

/// Appends to `out` the weights of output channels [c0, c1) in the decoder's order,
/// with a zero wherever the hardware pads: a partial micro-block, kernel elements
/// rounded up to a multiple of 4 (part-kernel first, depthwise), the unused part of a
/// 32-deep input slice (depth first). Kernels are split into sub-kernels (8x8, fewer taps
/// when dilated).
void reorder_weights(const int8_t* ohwi, const WeightLayout& layout, int c0, int c1,
                     std::vector<int16_t>& out);
/// The same into `out`, stream_length(layout, c0, c1) values that the caller has set to
/// zero: only the weights are written, the padding is left as it is. Returns the end.
int16_t* reorder_weights(const int8_t* ohwi, const WeightLayout& layout, int c0, int c1, int16_t* out);
/// The stream of output channels [c0, c1) as bytes into `out` (resized): what
/// reorder_weights writes, as int8 values (the weights are int8, the padding zeros).
void reorder_bytes(const int8_t* ohwi, const WeightLayout& layout, int c0, int c1, std::vector<int8_t>& out);
/// The number of values reorder_weights appends for channels [c0, c1) (padding included).
size_t stream_length(const WeightLayout& layout, int c0, int c1);

/// What the encoder chose for one stream and how many bits it takes.
struct StreamCode {
  size_t values = 0;         // weights in the stream (zeros included)
  size_t coded_weights = 0;  // values coded as weight indices (the rest are zero runs)
  bool zero_runs = false;    // alternating mode: zeros coded as run lengths
  int palette_size = 0;      // 0: no palette (all values coded directly)
  int palette_bits = 2;      // bits of a palette entry (or, without a palette, of a direct value)
  int direct_offset = 0;
  int weight_div = 0;  // Golomb-Rice divisor bits for weight indices
  bool weight_trunc = false;
  bool uncompressed = false;  // indices written as plain uncompressed_bits-bit numbers
  int uncompressed_bits = 0;
  int zero_div = 0;         // Golomb-Rice divisor bits for zero runs
  size_t payload_bits = 0;  // slices, before the end code and padding
  size_t bytes = 0;         // the whole stream, padded to 16 bytes
  /// "palette", "direct", with "+zero runs" and "uncompressed" where they apply.
  std::string mode() const;
};

/// How often each value occurs in a stream (index: value + 255).
using Histogram = std::array<uint32_t, 511>;

/// Largest number of weight indices one slice holds (its 15-bit length field).
constexpr size_t kMaxSliceValues = 32767;

/// Counts of int8 values, indexed by the value's byte (static_cast<uint8_t>(value)).
using ByteCounts = std::array<uint32_t, 256>;

/// Adds the counts of w[0..n) to c.
void add_counts(const int8_t* w, size_t n, ByteCounts& c);
/// The same as a histogram: adds the counts of w[0..n) to h.
void add_histogram(const int8_t* w, size_t n, Histogram& h);

/// Adds the counts of the stream of output channels [c0, c1), read from the weights
/// without building the stream, to the histograms of the parts it is cut into: part k holds
/// positions [ends[k - 1], ends[k]) (part 0 from 0) and parts[k] gets its counts (null: not
/// counted). Positions count every value (padding zeros included) or, `by_index`, the
/// weights alone.
void add_part_histograms(const int8_t* ohwi, const WeightLayout& layout, int c0, int c1, bool by_index,
                         const std::vector<size_t>& ends, const std::vector<Histogram*>& parts);

/// Whether the encoder codes the zeros of a stream with this histogram as run lengths.
bool codes_zero_runs(const Histogram& freq);

/// The encoder's choices and the exact size of the stream encode_stream writes. Values
/// must lie in [-255, 255] (int8 weights less their zero point).
StreamCode analyse_stream(const int16_t* w, size_t n);
/// The same when the stream's value histogram is known (`freq`: its n values' counts,
/// which the caller vouches for; the values are not checked again).
StreamCode analyse_stream(const int16_t* w, size_t n, const Histogram& freq);
inline size_t encoded_stream_bytes(const int16_t* w, size_t n) {
  return analyse_stream(w, n).bytes;
}

/// The same from the stream's histogram alone (n values), when that is enough: the stream
/// codes no zero runs and fits one slice (the order of the values matters otherwise).
/// Returns false when it is not.
bool analyse_histogram(const Histogram& freq, size_t n, StreamCode& out);

/// The same for a stream of several slices from the histograms of its slices (slice k:
/// values [k * kMaxSliceValues, ...)) and of all its n values, when its order is not needed
/// (no zero runs). Returns false for a stream with zero runs.
bool analyse_slices(const Histogram& freq, size_t n, const std::vector<Histogram>& slices, StreamCode& out);

/// The sums over a stream's runs of zeros of each run's length >> d, for d = 1, 2, 3 (runs
/// of one zero add nothing): with its histogram, all that the size of a stream with zero
/// runs and one slice of non-zero values depends on.
using RunSums = std::array<size_t, 3>;

/// What the size of a stream with zero runs depends on, slice by slice: slice k holds
/// weight indices [k * kMaxSliceValues, ...) (the stream's non-zero values), the run of
/// zeros after each of them and, in the first slice, the run before the first.
struct RunSlice {
  Histogram values{};  // its indices' values (zeros, if counted, are ignored)
  size_t zeros = 0;    // zeros in its runs
  RunSums sums{};      // its runs' sums
};

/// The slices' zeros and run sums of the stream of output channels [c0, c1) when those
/// channels' weights hold no zero, so that its runs of zeros are the padding's: from the
/// layout alone, walking micro-blocks instead of values (the stream is not built).
/// `slices` is resized to the stream's slices; their `values` are left as they were.
void padding_runs(const WeightLayout& layout, int c0, int c1, std::vector<RunSlice>& slices);

/// The run sums of w[0..n) (a stream as bytes, reorder_bytes).
RunSums zero_run_sums(const int8_t* w, size_t n);

/// The code of a stream of n values with zero runs from its histogram and its slices'
/// (all of them): what analyse_stream returns for it. Returns false for a stream without
/// zero runs or of zeros only.
bool analyse_runs(const Histogram& freq, size_t n, const std::vector<RunSlice>& slices, StreamCode& out);

/// The stream's size from its histogram: exact where analyse_histogram is; for a stream of
/// several slices without zero runs, within a few bytes (the slices' unary chunks are
/// rounded as one). Returns false for a stream with zero runs (their lengths need the order).
bool estimate_histogram(const Histogram& freq, size_t n, size_t& bytes);

/// The bitstream itself (analyse_stream(w, n).bytes long).
std::vector<uint8_t> encode_stream(const int16_t* w, size_t n);

/// Decodes a stream encode_stream wrote (or any stream of the format); throws InputError
/// naming the bit offset where the data is malformed or runs out.
std::vector<int16_t> decode_stream(const uint8_t* data, size_t n);

/// Bias and requantization per output channel: a 40-bit bias, a 32-bit scale and a
/// 6-bit shift packed in 10 bytes (Vela, weight_compressor.py, encode_bias).
constexpr uint64_t kBiasScaleBytes = 10;

/// Bytes of one weight range as the NPU reads it: the channels' bias and scale, padded
/// to 16 bytes, then their weight stream.
inline uint64_t weight_range_bytes(int channels, uint64_t stream_bytes) {
  return (kBiasScaleBytes * static_cast<uint64_t>(channels) + 15) / 16 * 16 + stream_bytes;
}

}  // namespace edgesim::npu
