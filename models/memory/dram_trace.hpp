#pragma once
// Memory request traces for `edgesim dram`, in two forms:
//  - text: one request a line, "TIME R|W ADDRESS SIZE": TIME in ns (a decimal number),
//    ADDRESS in hex (0x optional), SIZE in bytes; '#' starts a comment;
//  - binary: "EDGESIMR", u32 version (1), u32 record size (20), u64 count, then count
//    records of u64 time in ps, u64 address, u32 size with bit 31 set for a write (all
//    little-endian), then a u64 FNV-1a checksum of the records (from edgesim's offset
//    basis, sim/core/hash.hpp, not FNV's published one).
// Readers stream, check every field, and name the file and line (or byte offset) of the
// first problem; times must not decrease.
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

namespace edgesim::memory {

struct TraceRequest {
  int64_t time_ps = 0;
  uint64_t addr = 0;
  uint32_t size = 0;
  bool write = false;
};

class RequestTraceReader {
 public:
  /// Opens a trace; the form is detected from the first bytes.
  explicit RequestTraceReader(const std::string& path);
  ~RequestTraceReader();
  /// The next request, or false at the end. Throws InputError on a malformed record.
  bool next(TraceRequest& r);
  bool binary() const { return binary_; }
  uint64_t count() const { return read_; }

 private:
  bool next_text(TraceRequest& r);
  bool next_binary(TraceRequest& r);
  std::string path_;
  std::ifstream in_;
  bool binary_ = false;
  uint64_t line_ = 0, read_ = 0, expected_ = 0, checksum_ = 0;
  int64_t last_time_ = 0;
};

class RequestTraceWriter {
 public:
  /// Writes to `path` + ".tmp" and renames on close(), so a reader never sees half a trace.
  RequestTraceWriter(const std::string& path, bool binary);
  ~RequestTraceWriter();
  void write(const TraceRequest& r);
  void close();

 private:
  std::string path_;
  std::ofstream out_;
  bool binary_;
  uint64_t count_ = 0, checksum_;
  bool closed_ = false;
};

}  // namespace edgesim::memory
