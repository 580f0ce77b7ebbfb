// NpzReader: the ZIP container of .npz files (PKWARE APPNOTE.TXT 6.3.x). The central
// directory is the index: sizes, CRC-32 and method come from it, never from a local
// header. np.savez writes each entry through ZipFile.open(..., force_zip64=True): its local
// headers carry a ZIP64 extra field, their 32-bit sizes read 0xFFFFFFFF past 4 GiB, and
// to an unseekable stream the sizes follow the data in a descriptor instead.
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>

#include "sim/core/errors.hpp"
#include "sim/core/input_file.hpp"
#include "traces/npy.hpp"

namespace edgesim::traces {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50, kEnd64LocatorSig = 0x07064b50;
constexpr size_t kLocalBytes = 30, kCentralBytes = 46, kEndBytes = 22, kLocatorBytes = 20, kEnd64Bytes = 56;
constexpr uint16_t kStored = 0, kDeflated = 8;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr size_t kBufBytes = 1u << 16;
constexpr uint64_t kMaxRead = 1u << 30;  // zlib counts in 32-bit uInt

uint64_t le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

std::vector<uint8_t> read_at(std::ifstream& in, uint64_t at, uint64_t n) {
  std::vector<uint8_t> b(n);
  in.clear();
  in.seekg(static_cast<std::streamoff>(at));
  in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
  b.resize(static_cast<size_t>(in.gcount()));
  return b;
}

std::ifstream open_file(const std::string& path) {
  return open_input_file(path, ".npz file");
}

/// One entry's uncompressed bytes, read (and inflated) in pieces, with their CRC-32.
class EntrySource : public ByteSource {
 public:
  EntrySource(std::ifstream& in, uint64_t data_at, uint16_t method, uint64_t compressed, uint64_t size,
              std::string where)
      : in_(in), method_(method), in_left_(compressed), out_left_(size), where_(std::move(where)) {
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(data_at));
    if (method_ == kDeflated) {
      std::memset(&z_, 0, sizeof z_);
      if (inflateInit2(&z_, -MAX_WBITS) != Z_OK) throw SimError("internal: zlib inflateInit2 failed");
      inflating_ = true;
      inbuf_.resize(kBufBytes);
    }
  }
  ~EntrySource() override {
    if (inflating_) inflateEnd(&z_);
  }
  EntrySource(const EntrySource&) = delete;
  EntrySource& operator=(const EntrySource&) = delete;

  size_t read(uint8_t* dst, size_t n) override {
    n = static_cast<size_t>(std::min<uint64_t>({n, out_left_, kMaxRead}));
    const size_t got = method_ == kStored ? read_stored(dst, n) : inflate_into(dst, n);
    crc_ = crc32(crc_, dst, static_cast<uInt>(got));
    out_left_ -= got;
    return got;
  }
  uint64_t remaining() const override { return out_left_; }

  /// After the last byte: the stream must end here and match the directory's CRC-32.
  void finish(uint32_t want_crc) {
    if (out_left_ != 0) fail("its data ends " + std::to_string(out_left_) + " bytes early");
    if (method_ == kDeflated && !ended_) {
      uint8_t extra;
      if (inflate_into(&extra, 1) != 0 || !ended_) {
        fail("its deflate stream goes on past the entry's declared size");
      }
    }
    if (crc_ != want_crc) {
      char b[96];
      std::snprintf(b, sizeof b, "CRC-32 mismatch: the directory says %08x, the data gives %08x", want_crc,
                    static_cast<unsigned>(crc_));
      fail(b);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw InputError(where_ + ": " + what); }

  size_t read_stored(uint8_t* dst, size_t n) {
    n = static_cast<size_t>(std::min<uint64_t>(n, in_left_));
    in_.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
    const auto got = static_cast<size_t>(in_.gcount());
    in_left_ -= got;
    return got;
  }

  size_t inflate_into(uint8_t* dst, size_t n) {
    z_.next_out = dst;
    z_.avail_out = static_cast<uInt>(n);
    while (z_.avail_out > 0 && !ended_) {
      if (z_.avail_in == 0) {
        if (in_left_ == 0) break;  // cut short: the caller reports the missing bytes
        const size_t take = static_cast<size_t>(std::min<uint64_t>(inbuf_.size(), in_left_));
        in_.read(reinterpret_cast<char*>(inbuf_.data()), static_cast<std::streamsize>(take));
        const auto got = static_cast<size_t>(in_.gcount());
        if (got == 0) break;
        in_left_ -= got;
        z_.next_in = inbuf_.data();
        z_.avail_in = static_cast<uInt>(got);
      }
      const int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        ended_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        fail(std::string("corrupt deflate data (zlib: ") + (z_.msg ? z_.msg : "error " + std::to_string(rc)) +
             ")");
      }
    }
    return n - z_.avail_out;
  }

  std::ifstream& in_;
  uint16_t method_;
  uint64_t in_left_, out_left_;
  std::string where_;
  z_stream z_;
  bool inflating_ = false, ended_ = false;
  std::vector<uint8_t> inbuf_;
  uLong crc_ = crc32(0, nullptr, 0);
};

}  // namespace

// ---------------------------------------------------------------- directory

NpzReader::NpzReader(const std::string& path) : path_(path) {
  std::ifstream in = open_file(path);
  in.seekg(0, std::ios::end);
  file_size_ = static_cast<uint64_t>(in.tellg());
  const std::vector<uint8_t> head = read_at(in, 0, 6);
  if (head.size() == 6 && std::memcmp(head.data(), "\x93NUMPY", 6) == 0) {
    fail(0, "expected a ZIP archive, found a .npy file (read it with read_npy)");
  }

  // The end-of-central-directory record: the last 22 bytes, or earlier by a comment.
  const uint64_t tail_at = file_size_ > kEndBytes + 0xFFFF ? file_size_ - kEndBytes - 0xFFFF : 0;
  const std::vector<uint8_t> tail = read_at(in, tail_at, file_size_ - tail_at);
  size_t end = std::string::npos;
  for (size_t i = tail.size() >= kEndBytes ? tail.size() - kEndBytes + 1 : 0; i-- > 0;) {
    if (le(&tail[i], 4) == kEndSig && i + kEndBytes + le(&tail[i + 20], 2) == tail.size()) {
      end = i;
      break;
    }
  }
  if (end == std::string::npos) {
    fail(file_size_,
         "expected an end-of-central-directory record (signature PK\\5\\6) in the last bytes: not a ZIP "
         "archive, or truncated");
  }
  const uint8_t* e = &tail[end];
  const uint64_t end_at = tail_at + end;
  uint64_t count = le(e + 10, 2), dir_bytes = le(e + 12, 4), dir_at = le(e + 16, 4);
  if (le(e + 4, 2) != 0 || le(e + 6, 2) != 0 || le(e + 8, 2) != count) {
    fail(end_at + 4, "expected a single-disk archive (split archives are not supported)");
  }
  if (count == 0xFFFF || dir_bytes == 0xFFFFFFFF || dir_at == 0xFFFFFFFF) {
    // ZIP64: a locator just before the record points at the ZIP64 end record.
    if (end_at < kLocatorBytes) fail(end_at, "expected a ZIP64 end-of-directory locator before this record");
    const std::vector<uint8_t> loc = read_at(in, end_at - kLocatorBytes, kLocatorBytes);
    if (le(loc.data(), 4) != kEnd64LocatorSig) {
      fail(end_at - kLocatorBytes, "expected a ZIP64 end-of-directory locator (signature PK\\6\\7)");
    }
    const uint64_t end64_at = le(&loc[8], 8);
    const std::vector<uint8_t> e64 = read_at(in, end64_at, kEnd64Bytes);
    if (end64_at + kEnd64Bytes > end_at - kLocatorBytes || le(e64.data(), 4) != kEnd64Sig) {
      fail(end64_at, "expected a ZIP64 end-of-directory record (signature PK\\6\\6)");
    }
    count = le(&e64[32], 8);
    dir_bytes = le(&e64[40], 8);
    dir_at = le(&e64[48], 8);
    if (le(&e64[24], 8) != count) fail(end64_at + 24, "expected a single-disk archive");
  }
  if (dir_at > file_size_ || dir_bytes > file_size_ - dir_at || dir_bytes / kCentralBytes < count) {
    fail(end_at, "expected a central directory of " + std::to_string(count) +
                     " entries inside the file, found " + std::to_string(dir_bytes) + " bytes at offset " +
                     std::to_string(dir_at) + " in a file of " + std::to_string(file_size_) +
                     " bytes (truncated?)");
  }
  dir_offset_ = dir_at;
  read_directory(read_at(in, dir_at, dir_bytes), dir_at, count);
}

void NpzReader::read_directory(const std::vector<uint8_t>& dir, uint64_t dir_offset, uint64_t count) {
  size_t p = 0;
  for (uint64_t k = 0; k < count; ++k) {
    const uint64_t at = dir_offset + p;
    if (p + kCentralBytes > dir.size() || le(&dir[p], 4) != kCentralSig) {
      fail(at, "expected central directory entry " + std::to_string(k) + " (signature PK\\1\\2)");
    }
    const uint8_t* h = &dir[p];
    const size_t name_len = le(h + 28, 2), extra_len = le(h + 30, 2), comment_len = le(h + 32, 2);
    if (p + kCentralBytes + name_len + extra_len + comment_len > dir.size()) {
      fail(at, "expected central directory entry " + std::to_string(k) + " to fit in the directory");
    }
    Entry en;
    en.flags = static_cast<uint16_t>(le(h + 8, 2));
    en.method = static_cast<uint16_t>(le(h + 10, 2));
    en.crc = static_cast<uint32_t>(le(h + 16, 4));
    en.compressed = le(h + 20, 4);
    en.size = le(h + 24, 4);
    en.local_offset = le(h + 42, 4);
    en.name.assign(reinterpret_cast<const char*>(h + kCentralBytes), name_len);
    // ZIP64 extra field: the 64-bit values of whichever fields above read 0xFFFFFFFF, in order.
    const uint8_t* x = h + kCentralBytes + name_len;
    for (size_t q = 0; q + 4 <= extra_len;) {
      const uint64_t id = le(x + q, 2), len = le(x + q + 2, 2);
      if (q + 4 + len > extra_len)
        fail(at + kCentralBytes + name_len + q, "expected an extra field that fits");
      if (id == kZip64ExtraId) {
        size_t f = q + 4;
        for (uint64_t* v : {&en.size, &en.compressed, &en.local_offset}) {
          if (*v != 0xFFFFFFFF) continue;
          if (f + 8 > q + 4 + len)
            fail(at + kCentralBytes + name_len + q, "expected a ZIP64 extra field with 8 more bytes");
          *v = le(x + f, 8);
          f += 8;
        }
      }
      q += 4 + len;
    }
    for (const auto& other : entries_) {
      if (other.name == en.name) fail(at, "expected entry names to be unique, found '" + en.name + "' twice");
    }
    entries_.push_back(std::move(en));
    p += kCentralBytes + name_len + extra_len + comment_len;
  }
}

void NpzReader::fail(uint64_t at, const std::string& what) const {
  throw InputError("npz " + path_ + ": at byte offset " + std::to_string(at) + ": " + what);
}

std::vector<std::string> NpzReader::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) {
    const size_t n = e.name.size();
    out.push_back(n > 4 && e.name.compare(n - 4, 4, ".npy") == 0 ? e.name.substr(0, n - 4) : e.name);
  }
  return out;
}

const NpzReader::Entry* NpzReader::find(const std::string& name) const {
  for (const std::string& want : {name + ".npy", name}) {
    for (const auto& e : entries_) {
      if (e.name == want) return &e;
    }
  }
  return nullptr;
}

const NpzReader::Entry& NpzReader::require(const std::string& name) const {
  if (const Entry* e = find(name)) return *e;
  std::string list;
  const auto all = names();
  for (size_t i = 0; i < all.size() && i < 8; ++i) list += (i ? ", " : "") + all[i];
  if (all.size() > 8) list += ", ... (" + std::to_string(all.size()) + " in all)";
  throw InputError("npz " + path_ + ": no entry '" + name + "' (it has: " + (list.empty() ? "none" : list) +
                   ")");
}

// ---------------------------------------------------------------- entries

void NpzReader::with_entry(const std::string& name,
                           const std::function<void(ByteSource&, const std::string&)>& body) const {
  const Entry& e = require(name);
  std::ifstream in = open_file(path_);
  const std::string where = "npz " + path_ + ": entry '" + e.name + "'";
  if (e.flags & 1u) throw InputError(where + ": encrypted entries are not supported");
  if (e.method != kStored && e.method != kDeflated) {
    throw InputError(
        where + ": compression method " + std::to_string(e.method) +
        " is not supported (only stored and deflate, as np.savez and np.savez_compressed write)");
  }
  // Sizes no archiver writes: caught here, before anything is allocated for them. Deflate
  // expands at most 1032:1 (zlib's technical details, "Maximum compression factor").
  if (e.method == kStored ? e.size != e.compressed : e.size / 1032 > e.compressed + 1) {
    throw InputError(where + ": the directory's sizes disagree (" + std::to_string(e.compressed) +
                     " bytes stored for " + std::to_string(e.size) + " bytes of data)");
  }
  // The local header: its name must match; its sizes are not used (see the top of this file).
  const std::vector<uint8_t> lh = read_at(in, e.local_offset, kLocalBytes);
  if (lh.size() < kLocalBytes || le(lh.data(), 4) != kLocalSig) {
    fail(e.local_offset, "expected the local header of entry '" + e.name + "' (signature PK\\3\\4)");
  }
  const uint64_t name_len = le(&lh[26], 2), extra_len = le(&lh[28], 2);
  const std::vector<uint8_t> local_name = read_at(in, e.local_offset + kLocalBytes, name_len);
  if (std::string(local_name.begin(), local_name.end()) != e.name) {
    fail(e.local_offset + kLocalBytes,
         "expected the local header to name '" + e.name + "' as the directory does");
  }
  const uint64_t data_at = e.local_offset + kLocalBytes + name_len + extra_len;
  if (data_at > dir_offset_ || e.compressed > dir_offset_ - data_at) {
    fail(data_at, "expected the " + std::to_string(e.compressed) + " bytes of entry '" + e.name +
                      "' before the central directory at byte " + std::to_string(dir_offset_));
  }
  EntrySource src(in, data_at, e.method, e.compressed, e.size, where);
  body(src, where);
  src.finish(e.crc);
}

NpyArray NpzReader::read(const std::string& name) const {
  NpyArray a;
  with_entry(name,
             [&](ByteSource& src, const std::string& where) { a = decode_npy(src, where, " of the entry"); });
  return a;
}

std::string NpzReader::read_raw(const std::string& name) const {
  std::string out;
  with_entry(name, [&](ByteSource& src, const std::string&) {
    out.resize(src.remaining());
    for (size_t done = 0; done < out.size();) {
      const size_t got = src.read(reinterpret_cast<uint8_t*>(out.data()) + done, out.size() - done);
      if (got == 0) break;  // finish() reports how much is missing
      done += got;
    }
  });
  return out;
}

}  // namespace edgesim::traces
