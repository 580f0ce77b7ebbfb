#include "models/memory/dram_trace.hpp"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "sim/core/errors.hpp"
#include "sim/core/hash.hpp"
#include "sim/core/input_file.hpp"

namespace edgesim::memory {

namespace {
constexpr char kMagic[8] = {'E', 'D', 'G', 'E', 'S', 'I', 'M', 'R'};
constexpr uint32_t kVersion = 1, kRecordBytes = 20;
constexpr uint64_t kHeaderBytes = 24;
constexpr uint32_t kWriteBit = 0x80000000u;

void put_le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t get_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
}  // namespace

RequestTraceReader::RequestTraceReader(const std::string& path) : path_(path) {
  open_input_file(in_, path, "request trace");
  char magic[8] = {};
  in_.read(magic, 8);
  binary_ = in_.gcount() == 8 && std::memcmp(magic, kMagic, 8) == 0;
  if (!binary_) {
    in_.clear();
    in_.seekg(0);
    return;
  }
  uint8_t h[16];
  in_.read(reinterpret_cast<char*>(h), 16);
  if (in_.gcount() != 16)
    throw InputError(path + ": truncated header (" + std::to_string(8 + in_.gcount()) + " of 24 bytes)");
  const uint32_t version = static_cast<uint32_t>(get_le(h, 4));
  const uint32_t rec = static_cast<uint32_t>(get_le(h + 4, 4));
  if (version != kVersion)
    throw InputError(path + ": request-trace version " + std::to_string(version) +
                     " (this edgesim reads version 1)");
  if (rec != kRecordBytes) throw InputError(path + ": record size " + std::to_string(rec) + " (expected 20)");
  expected_ = get_le(h + 8, 8);
  const uint64_t want = kHeaderBytes + expected_ * kRecordBytes + 8;
  const uint64_t have = std::filesystem::file_size(path);
  if (have != want) {
    throw InputError(path + ": " + (have < want ? "truncated" : "trailing bytes") +
                     ": the header announces " + std::to_string(expected_) + " requests (" +
                     std::to_string(want) + " bytes) but the file has " + std::to_string(have) + " bytes");
  }
  checksum_ = kFnv1aBasis;
}

RequestTraceReader::~RequestTraceReader() = default;

bool RequestTraceReader::next(TraceRequest& r) {
  const bool ok = binary_ ? next_binary(r) : next_text(r);
  if (!ok) return false;
  const auto where = [&] {
    return path_ + (binary_ ? ": request " + std::to_string(read_) : ":" + std::to_string(line_));
  };
  if (r.time_ps < last_time_) throw InputError(where() + ": time goes backwards (requests must be in time order)");
  if (r.addr > UINT64_MAX - (r.size - 1)) {
    throw InputError(where() + ": " + std::to_string(r.size) +
                     " bytes from that address run past the end of the 64-bit address space");
  }
  last_time_ = r.time_ps;
  ++read_;
  return true;
}

bool RequestTraceReader::next_binary(TraceRequest& r) {
  if (read_ == expected_) {
    uint8_t t[8];
    in_.read(reinterpret_cast<char*>(t), 8);
    if (get_le(t, 8) != checksum_) throw InputError(path_ + ": checksum mismatch: the records are corrupt");
    return false;
  }
  uint8_t b[kRecordBytes];
  in_.read(reinterpret_cast<char*>(b), kRecordBytes);
  if (in_.gcount() != kRecordBytes) {
    throw InputError(path_ + ": truncated at byte " + std::to_string(kHeaderBytes + read_ * kRecordBytes));
  }
  checksum_ = fnv1a(checksum_, b, kRecordBytes);
  r.time_ps = static_cast<int64_t>(get_le(b, 8));
  r.addr = get_le(b + 8, 8);
  const uint32_t sw = static_cast<uint32_t>(get_le(b + 16, 4));
  r.write = (sw & kWriteBit) != 0;
  r.size = sw & ~kWriteBit;
  if (r.time_ps < 0 || r.size == 0) {
    throw InputError(path_ + ": request " + std::to_string(read_) + " at byte " +
                     std::to_string(kHeaderBytes + read_ * kRecordBytes) + ": " +
                     (r.size == 0 ? "size 0" : "negative time"));
  }
  return true;
}

bool RequestTraceReader::next_text(TraceRequest& r) {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_;
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    char kind[8] = {}, addr[40] = {};
    double ns = 0;
    unsigned long long size = 0;
    char extra[2] = {};
    const int n = std::sscanf(line.c_str(), " %lf %7s %39s %llu %1s", &ns, kind, addr, &size, extra);
    if (n <= 0) continue;  // blank or comment
    const std::string where = path_ + ":" + std::to_string(line_);
    if (n != 4) {
      throw InputError(where + ": expected 'TIME_NS R|W ADDRESS_HEX SIZE_BYTES', got '" + line + "'");
    }
    if (!std::isfinite(ns) || ns < 0) throw InputError(where + ": time must be a non-negative number of ns");
    // Times are kept in picoseconds in 64 bits: 9.2e15 ns (about 106 days) is the end.
    if (ns >= 9.2e15) throw InputError(where + ": time must be below 9.2e15 ns (about 106 days)");
    const std::string k = kind;
    if (k != "R" && k != "W" && k != "r" && k != "w") {
      throw InputError(where + ": expected R or W, got '" + k + "'");
    }
    char* end = nullptr;
    errno = 0;
    r.addr = std::strtoull(addr, &end, 16);
    // strtoull takes a sign and negates: "-20" would read as 2^64 - 0x20.
    if (*end != '\0' || errno != 0 || !std::isxdigit(static_cast<unsigned char>(addr[0])))
      throw InputError(where + ": '" + std::string(addr) + "' is not a hex address");
    if (size == 0 || size >= kWriteBit) throw InputError(where + ": size must be 1 to 2^31-1 bytes");
    r.time_ps = static_cast<int64_t>(std::llround(ns * 1000.0));
    r.write = k == "W" || k == "w";
    r.size = static_cast<uint32_t>(size);
    return true;
  }
  return false;
}

RequestTraceWriter::RequestTraceWriter(const std::string& path, bool binary)
    : path_(path), binary_(binary), checksum_(kFnv1aBasis) {
  out_.open(path_ + ".tmp", std::ios::binary | std::ios::trunc);
  if (!out_) throw InputError("cannot write '" + path_ + ".tmp': " + std::strerror(errno));
  if (binary_) {
    uint8_t h[kHeaderBytes] = {};
    std::memcpy(h, kMagic, 8);
    put_le(h + 8, kVersion, 4);
    put_le(h + 12, kRecordBytes, 4);
    out_.write(reinterpret_cast<const char*>(h), kHeaderBytes);  // count patched on close
  } else {
    out_ << "# time_ns R|W address size_bytes\n";
  }
}

RequestTraceWriter::~RequestTraceWriter() {
  if (!closed_) {
    out_.close();
    std::remove((path_ + ".tmp").c_str());
  }
}

void RequestTraceWriter::write(const TraceRequest& r) {
  if (binary_) {
    uint8_t b[kRecordBytes];
    put_le(b, static_cast<uint64_t>(r.time_ps), 8);
    put_le(b + 8, r.addr, 8);
    put_le(b + 16, r.size | (r.write ? kWriteBit : 0), 4);
    checksum_ = fnv1a(checksum_, b, kRecordBytes);
    out_.write(reinterpret_cast<const char*>(b), kRecordBytes);
  } else {
    char buf[96];
    const int n =
        std::snprintf(buf, sizeof buf, "%.3f %c 0x%llx %u\n", static_cast<double>(r.time_ps) / 1000.0,
                      r.write ? 'W' : 'R', static_cast<unsigned long long>(r.addr), r.size);
    out_.write(buf, n);
  }
  ++count_;
}

void RequestTraceWriter::close() {
  if (binary_) {
    uint8_t t[8];
    put_le(t, checksum_, 8);
    out_.write(reinterpret_cast<const char*>(t), 8);
    uint8_t c[8];
    put_le(c, count_, 8);
    out_.seekp(16);
    out_.write(reinterpret_cast<const char*>(c), 8);
  }
  out_.flush();
  if (!out_) throw SimError("write to '" + path_ + ".tmp' failed");
  out_.close();
  if (std::rename((path_ + ".tmp").c_str(), path_.c_str()) != 0) {
    throw InputError("cannot rename '" + path_ + ".tmp' to '" + path_ + "': " + std::strerror(errno));
  }
  closed_ = true;
}

}  // namespace edgesim::memory
