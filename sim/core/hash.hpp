#pragma once
// FNV-1a, 64 bit: the trace file's checksum and the identity of a sweep point.
#include <cstddef>
#include <cstdint>

namespace edgesim {

constexpr uint64_t kFnv1aBasis = 1469598103934665603ull;

inline uint64_t fnv1a(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace edgesim
