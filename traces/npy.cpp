#include "traces/npy.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "sim/core/errors.hpp"
#include "sim/core/input_file.hpp"

namespace edgesim::traces {

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the .npy reader copies little-endian floats as they are: build on a little-endian host"
#endif

namespace {

constexpr char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
// numpy itself refuses headers over 10,000 bytes unless told otherwise (max_header_size);
// the cap here only keeps a corrupt length from allocating gigabytes.
constexpr uint64_t kMaxHeaderBytes = 1u << 20;
constexpr size_t kChunkValues = 1u << 14;

enum class Kind { F2, F4, F8 };

struct Header {
  Kind kind = Kind::F4;
  std::string dtype;
  std::vector<uint64_t> shape;
};

/// Pulls bytes from a source, counting the offset for error messages.
class Cursor {
 public:
  Cursor(ByteSource& src, const std::string& where, const std::string& offset_of)
      : src_(src), where_(where), offset_of_(offset_of) {}

  [[noreturn]] void fail(uint64_t at, const std::string& what) const {
    throw InputError(where_ + ": at byte offset " + std::to_string(at) + offset_of_ + ": " + what);
  }
  /// Reads exactly n bytes or fails saying what was being read and where the data ends.
  void exact(void* dst, size_t n, const std::string& what) {
    const size_t got = src_.read(static_cast<uint8_t*>(dst), n);
    if (got < n) {
      fail(pos_ + got,
           "expected " + what + ", but the data ends at byte " + std::to_string(pos_ + got) + " (truncated)");
    }
    pos_ += n;
  }
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return src_.remaining(); }

 private:
  ByteSource& src_;
  const std::string& where_;
  const std::string& offset_of_;
  uint64_t pos_ = 0;
};

/// The header is a Python dict literal, e.g.
///   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
/// This parses exactly that grammar: string keys; string, bool or int-tuple values.
class DictParser {
 public:
  DictParser(const std::string& text, uint64_t base, const Cursor& cur) : s_(text), base_(base), cur_(cur) {}

  Header parse() {
    Header h;
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    expect('{');
    while (!peek('}')) {
      const size_t key_at = i_;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        if (!peek('\'') && !peek('"')) {
          fail_here("a dtype string for 'descr' (structured dtypes are not supported)");
        }
        h.dtype = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = boolean();
        have_order = true;
      } else if (key == "shape") {
        h.shape = int_tuple();
        have_shape = true;
      } else {
        fail_at(key_at, "only the keys 'descr', 'fortran_order' and 'shape', found '" + key + "'");
      }
      if (!peek(',')) break;
      expect(',');
    }
    expect('}');
    if (!have_descr || !have_order || !have_shape) {
      fail_at(0, "a header with the keys 'descr', 'fortran_order' and 'shape'");
    }
    if (fortran) {
      fail_at(0,
              "fortran_order False: column-major arrays are not supported (save "
              "np.ascontiguousarray(a) instead)");
    }
    h.kind = kind_of(h.dtype);
    return h;
  }

 private:
  [[noreturn]] void fail_at(size_t i, const std::string& what) const {
    cur_.fail(base_ + i, "expected " + what + " in the header " + printable());
  }
  /// The header for a message: at most 200 characters, unprintable bytes escaped, no padding.
  std::string printable() const {
    std::string out;
    const size_t end = s_.find_last_not_of(" \n");
    for (size_t i = 0; end != std::string::npos && i <= end && out.size() < 200; ++i) {
      const auto c = static_cast<unsigned char>(s_[i]);
      if (c >= 0x20 && c < 0x7F) {
        out += static_cast<char>(c);
      } else {
        const char* hex = "0123456789abcdef";
        out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
      }
    }
    return out;
  }
  [[noreturn]] void fail_here(const std::string& what) const { fail_at(i_, what); }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool peek(char c) {
    skip_space();
    return i_ < s_.size() && s_[i_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail_here(std::string("'") + c + "'");
    ++i_;
  }
  std::string string_literal() {
    skip_space();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail_here("a quoted string");
    const char q = s_[i_++];
    const size_t end = s_.find(q, i_);
    if (end == std::string::npos) fail_here("a closing quote");
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    fail_here("True or False");
  }
  std::vector<uint64_t> int_tuple() {
    std::vector<uint64_t> dims;
    expect('(');
    while (!peek(')')) {
      if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') fail_here("a dimension (a non-negative integer)");
      uint64_t v = 0;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        const uint64_t d = static_cast<uint64_t>(s_[i_] - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) fail_here("a dimension below 2^64");
        v = v * 10 + d;
        ++i_;
      }
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 longs, as old numpy wrote them
      dims.push_back(v);
      if (!peek(',')) break;
      expect(',');
    }
    expect(')');
    return dims;
  }
  Kind kind_of(const std::string& d) const {
    if (d == "<f2") return Kind::F2;
    if (d == "<f4") return Kind::F4;
    if (d == "<f8") return Kind::F8;
    if (d.size() == 3 && d[0] == '>' && d[1] == 'f') {
      fail_at(0, "little-endian data, found dtype '" + d + "' (big-endian; save a.astype('<" + d.substr(1) +
                     "') instead)");
    }
    fail_at(0,
            "dtype '<f2' (float16), '<f4' (float32) or '<f8' (float64), found unsupported dtype '" + d + "'");
  }
  const std::string& s_;
  uint64_t base_;
  const Cursor& cur_;
  size_t i_ = 0;
};

size_t item_bytes(Kind k) {
  return k == Kind::F2 ? 2 : k == Kind::F4 ? 4 : 8;
}

/// double to float, rounded to nearest. A plain cast of a finite value beyond the float
/// range is undefined ([conv.double]/2), so those are rounded here as IEEE 754 would:
/// to FLT_MAX below FLT_MAX + half an ulp (2^103), to infinity from there (ties to even).
float narrow(double d) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (!(std::fabs(d) > kMax)) return static_cast<float>(d);  // NaN included
  const float big = std::fabs(d) < 0x1.ffffffp127 ? std::numeric_limits<float>::max()
                                                  : std::numeric_limits<float>::infinity();
  return std::signbit(d) ? -big : big;
}

/// Converts n little-endian values of type T (unaligned in `in`) with `to_float`.
template <typename T, typename F>
void convert_each(const uint8_t* in, size_t n, float* out, F to_float) {
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, in + sizeof(T) * i, sizeof(T));
    out[i] = to_float(v);
  }
}

void convert(Kind k, const uint8_t* in, size_t n, float* out) {
  switch (k) {
    case Kind::F4: std::memcpy(out, in, n * 4); return;
    case Kind::F2: convert_each<uint16_t>(in, n, out, half_to_float); return;
    case Kind::F8: convert_each<double>(in, n, out, narrow); return;
  }
}

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// A whole file as a byte source.
class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path) {
    open_input_file(in_, path, ".npy file");
    in_.seekg(0, std::ios::end);
    left_ = static_cast<uint64_t>(in_.tellg());
    in_.seekg(0);
  }
  size_t read(uint8_t* dst, size_t n) override {
    in_.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(n));
    const auto got = static_cast<size_t>(in_.gcount());
    left_ -= got;
    return got;
  }
  uint64_t remaining() const override { return left_; }

 private:
  std::ifstream in_;
  uint64_t left_ = 0;
};

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);  // infinity, or NaN with its payload
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal half: mant * 2^-24, a normal float. Shift the leading 1 into the hidden bit.
    int e = -1;
    uint32_t m = mant;
    do {
      ++e;
      m <<= 1;
    } while (!(m & 0x400u));
    bits = sign | (uint32_t(127 - 15 - e) << 23) | ((m & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

NpyArray decode_npy(ByteSource& src, const std::string& where, const std::string& offset_of) {
  Cursor cur(src, where, offset_of);
  uint8_t pre[8];
  cur.exact(pre, 8, "the magic \\x93NUMPY and a format version (8 bytes)");
  if (std::memcmp(pre, kMagic, 6) != 0)
    cur.fail(0, "expected the magic \\x93NUMPY (this is not a .npy array)");
  const unsigned major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0) {
    cur.fail(6, "expected format version 1.0, 2.0 or 3.0, found version " + std::to_string(major) + "." +
                    std::to_string(minor));
  }
  uint8_t len_bytes[4] = {0, 0, 0, 0};
  const size_t len_size = major == 1 ? 2 : 4;
  cur.exact(len_bytes, len_size, "the header length (" + std::to_string(len_size) + " bytes)");
  const uint64_t len = uint64_t(len_bytes[0]) | uint64_t(len_bytes[1]) << 8 | uint64_t(len_bytes[2]) << 16 |
                       uint64_t(len_bytes[3]) << 24;
  if (len > kMaxHeaderBytes) {
    cur.fail(8, "expected a header length of at most " + std::to_string(kMaxHeaderBytes) + " bytes, found " +
                    std::to_string(len));
  }
  const uint64_t header_at = cur.pos();
  std::string text(len, '\0');
  cur.exact(text.data(), len, "a header of " + std::to_string(len) + " bytes");
  Header h = DictParser(text, header_at, cur).parse();

  NpyArray a;
  a.dtype = h.dtype;
  a.shape = h.shape;
  uint64_t count = 1;
  for (uint64_t d : h.shape) {
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / 8 / d) {
      cur.fail(header_at, "expected a shape of fewer than 2^61 values, found " + shape_text(h.shape));
    }
    count *= d;
  }
  const size_t item = item_bytes(h.kind);
  const uint64_t want = count * item, have = cur.remaining();
  if (want != have) {
    cur.fail(cur.pos(), "the header's shape " + shape_text(h.shape) + " of '" + h.dtype + "' needs " +
                            std::to_string(want) + " bytes of data, found " + std::to_string(have) +
                            (have < want ? " (truncated)" : " (extra bytes after the array)"));
  }
  a.data.resize(count);
  std::vector<uint8_t> buf(kChunkValues * item);
  for (uint64_t done = 0; done < count;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunkValues, count - done));
    cur.exact(buf.data(), n * item, "array data (" + std::to_string(want) + " bytes in all)");
    convert(h.kind, buf.data(), n, a.data.data() + done);
    done += n;
  }
  return a;
}

NpyArray read_npy(const std::string& path) {
  FileSource src(path);
  return decode_npy(src, "npy " + path);
}

void decode_row(const NpyArray& a, uint64_t prompt_tokens, uint64_t step, std::vector<float>& row) {
  const uint64_t decode = a.shape[0] - prompt_tokens;
  const uint64_t r = prompt_tokens + step % decode;
  const uint64_t n = a.shape[1];
  row.assign(a.data.begin() + static_cast<std::ptrdiff_t>(r * n),
             a.data.begin() + static_cast<std::ptrdiff_t>((r + 1) * n));
}

}  // namespace edgesim::traces
