#pragma once
// FNV-1a, 64 bit: the trace file's checksum, the binary DRAM trace's checksum and the
// identity of a sweep point. The prime is FNV's (1099511628211); the offset basis,
// 1469598103934665603, is not FNV's published one (14695981039346656037, a digit longer),
// a slip kept because every file and point id written so far depends on it. A program
// outside edgesim that writes or checks these checksums starts from this basis
// (docs/dram.md, "Request traces"; a CLI test writes a binary trace that way).
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
