#pragma once
// Numeric formats of weights, activations and the KV cache. Bits per element; formats
// with per-group scales and codebooks (GPTVQ, grouped int4) extend this later.
#include <cstdint>
#include <string>
#include <vector>

namespace edgesim {

enum class Dtype : uint8_t { fp32, fp16, bf16, int8, int4 };

inline const std::vector<std::string>& dtype_names() {
  static const std::vector<std::string> names = {"fp32", "fp16", "bf16", "int8", "int4"};
  return names;
}
inline unsigned dtype_bits(Dtype d) {
  switch (d) {
    case Dtype::fp32: return 32;
    case Dtype::fp16:
    case Dtype::bf16: return 16;
    case Dtype::int8: return 8;
    case Dtype::int4: return 4;
  }
  return 0;
}
inline Dtype dtype_from_name(const std::string& name) {
  const auto& n = dtype_names();
  for (size_t i = 0; i < n.size(); ++i) {
    if (n[i] == name) return static_cast<Dtype>(i);
  }
  return Dtype::fp16;  // unreachable after validation (params declare the choices)
}
inline const std::string& dtype_name(Dtype d) {
  return dtype_names()[static_cast<size_t>(d)];
}

/// Bytes of `elements` values, rounded up to whole bytes.
inline uint64_t dtype_bytes(Dtype d, uint64_t elements) {
  return (elements * dtype_bits(d) + 7) / 8;
}

}  // namespace edgesim
