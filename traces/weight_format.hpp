#pragma once
// Storage formats of weight tensors: plain floats, integers with per-channel or per-group
// scales, and vector quantization with per-group codebooks (GPTVQ, van Baalen et al.,
// arXiv 2402.15319). A format knows how many bits a tensor of rows x cols weights takes,
// overheads (scales, zero points, codebooks) included; a chunk stores its share of the
// tensor's bits rounded up to whole bytes (docs/adapters.md, "Weight formats").
//
// Written in configs as a short string: a kind, then options:
//   "fp16" | "bf16" | "fp32"
//   "int8 [s16]"                      per-output-channel scale of s bits
//   "int4 [g128] [s16] [z0]"          a scale (s bits) and zero point (z bits) per group of g
//                                     weights along a row
//   "vq [d2] [b3 | k64] [c8] [g2048]" d-dimensional vectors, b index bits per dimension (a
//                                     codebook of k = 2^(b d) entries), c-bit codebook entries,
//                                     one codebook per group of g weights
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/dtype.hpp"

namespace edgesim::traces {

enum class FormatKind : uint8_t { fp32, fp16, bf16, int8, int4, vq };

struct WeightFormat {
  FormatKind kind = FormatKind::fp16;
  uint32_t group_size = 0;     // int4: weights per scale group; vq: weights per codebook
  uint32_t scale_bits = 16;    // int8 / int4
  uint32_t zero_bits = 0;      // int4
  uint32_t vq_dim = 2;         // vq: weights per vector
  uint32_t bits_per_dim = 3;   // vq: index bits per weight (the index has vq_dim x this bits)
  uint32_t codebook_bits = 8;  // vq: bits of one codebook value

  /// Bits a rows x cols tensor takes in this format, overheads included.
  uint64_t tensor_bits(uint64_t rows, uint64_t cols) const;
  /// Average bits per weight of such a tensor (tensor_bits / weights).
  double bits_per_weight(uint64_t rows, uint64_t cols) const;
  /// Codebook entries (vq).
  uint64_t codebook_entries() const { return uint64_t(1) << (vq_dim * bits_per_dim); }
  /// The element type the kind stands for in compute and in the old weight_dtype key.
  Dtype dtype() const;
  /// The canonical text ("int4 g128 s16 z0"), which parse_format reads back.
  std::string text() const;
  bool operator==(const WeightFormat& o) const { return text() == o.text(); }
};

/// Parses a format string; throws InputError naming `path` and the bad token.
WeightFormat parse_format(const std::string& text, const std::string& path);

/// Bytes of one chunk holding `chunk_weights` of a rows x cols tensor split into `chunks`
/// equal chunks: the chunk's share of the tensor's bits, rounded up to whole bytes.
uint64_t format_chunk_bytes(const WeightFormat& f, uint64_t rows, uint64_t cols, uint32_t chunks);

const char* format_kind_name(FormatKind k);

}  // namespace edgesim::traces
