// The .npy/.npz reader against files NumPy wrote (tests/data/npy/make_fixtures.py), and
// against those files cut short or with bytes changed.
#include <unistd.h>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "sim/core/errors.hpp"
#include "traces/npy.hpp"

using namespace edgesim;
using namespace edgesim::traces;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

std::string fixture(const std::string& name) {
  return std::string(EDGESIM_TEST_DATA) + "/npy/" + name;
}

std::vector<char> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A copy of a fixture, edited in memory and written to a temporary file.
class Mutant {
 public:
  Mutant(const std::string& name, std::string suffix)
      : bytes(bytes_of(fixture(name))),
        path_((fs::temp_directory_path() / ("edgesim-" + std::to_string(::getpid()) + "-" + name + suffix))
                  .string()) {}
  ~Mutant() { fs::remove(path_); }
  /// Writes the bytes (or their first n) and returns the path.
  const std::string& write(size_t n = std::numeric_limits<size_t>::max()) const {
    std::ofstream(path_, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(std::min(n, bytes.size())));
    return path_;
  }
  /// Offset of the first occurrence of `s`; fails the test when absent.
  size_t find(const std::string& s, size_t from = 0) const {
    const auto it = std::search(bytes.begin() + static_cast<long>(from), bytes.end(), s.begin(), s.end());
    REQUIRE(it != bytes.end());
    return static_cast<size_t>(it - bytes.begin());
  }
  void replace(const std::string& from, const std::string& to) {
    REQUIRE(from.size() == to.size());
    std::memcpy(bytes.data() + find(from), to.data(), to.size());
  }
  std::vector<char> bytes;

 private:
  std::string path_;
};

/// The message of the InputError `f` throws; other exceptions propagate and fail the test.
template <typename F>
std::string input_error(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Offset of an .npy stream's data: after the 10-byte preamble (v1.0) and the header.
size_t npy_data_offset(const std::vector<char>& b, size_t npy_at) {
  return npy_at + 10 + (uint8_t(b[npy_at + 8]) | uint8_t(b[npy_at + 9]) << 8);
}

}  // namespace

TEST_CASE("half_to_float gives the exact value of every binary16 bit pattern", "[npy]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    const uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    CAPTURE(h);
    if (exp == 0x1F && mant == 0) {
      CHECK(f == sign * std::numeric_limits<float>::infinity());
    } else if (exp == 0x1F) {
      REQUIRE(std::isnan(f));
      CHECK((bits_of(f) & 0x007FFFFFu) == mant << 13);  // payload kept, so quiet stays quiet
      CHECK(std::signbit(f) == bool(h & 0x8000));
    } else {
      const double want =
          exp == 0 ? sign * std::ldexp(mant, -24) : sign * std::ldexp(1024 + mant, int(exp) - 25);
      CHECK(double(f) == want);
      CHECK(std::signbit(f) == bool(h & 0x8000));  // -0 stays -0
    }
  }
}

TEST_CASE("npy: float16 with zeros, subnormals, extremes, infinities and NaNs reads exactly", "[npy]") {
  const NpyArray a = read_npy(fixture("f2_special.npy"));
  CHECK(a.dtype == "<f2");
  REQUIRE(a.shape == std::vector<uint64_t>{15});
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> want = {0.0f,      -0.0f,    1.0f,     -2.5f,    0.0999755859375f, 65504.0f,
                                   -65504.0f, 0x1p-14f, 0x1p-24f, 0x1p-15f, -1023 * 0x1p-24f, inf,
                                   -inf};
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    CHECK(bits_of(a.data[i]) == bits_of(want[i]));
  }
  CHECK(bits_of(a.data[13]) == 0x7FC00000u);  // quiet NaN
  CHECK(bits_of(a.data[14]) == 0x7F802000u);  // signalling NaN, payload 1 << 13
}

TEST_CASE("npy: a 3-D float32 array keeps its shape and C order", "[npy]") {
  const NpyArray a = read_npy(fixture("f4_3d.npy"));
  CHECK(a.dtype == "<f4");
  REQUIRE(a.shape == std::vector<uint64_t>{2, 3, 4});
  REQUIRE(a.data.size() == 24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(a.data[i * 12 + j * 4 + k] == (i * 12 + j * 4 + k) * 0.25f - 3);
}

TEST_CASE("npy: float64 is rounded to the nearest float", "[npy]") {
  const NpyArray a = read_npy(fixture("f8_2d.npy"));
  CHECK(a.dtype == "<f8");
  REQUIRE(a.shape == std::vector<uint64_t>{4, 2});
  CHECK(a.data[0] == static_cast<float>(1.0 / 3.0));
  CHECK(a.data[1] == static_cast<float>(-2.0 / 7.0));
  CHECK(a.data[2] == 0.1f);
  CHECK(bits_of(a.data[3]) == 0x80000000u);                     // -0
  CHECK(a.data[4] == std::numeric_limits<float>::infinity());   // 1e300 overflows
  CHECK(bits_of(a.data[5]) == 0u);                              // 5e-324 underflows to +0
  CHECK(a.data[6] == std::numeric_limits<float>::max());        // less than half an ulp above it
  CHECK(a.data[7] == -std::numeric_limits<float>::infinity());  // -1e39
}

TEST_CASE("npy: format versions 2.0 and 3.0 read like 1.0", "[npy]") {
  for (const char* name : {"v2_header.npy", "v3_header.npy"}) {
    CAPTURE(name);
    const auto b = bytes_of(fixture(name));
    REQUIRE(b[6] == (name[1] - '0'));  // the fixture really has that version
    const NpyArray a = read_npy(fixture(name));
    REQUIRE(a.shape == std::vector<uint64_t>{5});
    CHECK(a.data == std::vector<float>{-2, -1, 0, 1, 2});
  }
}

TEST_CASE("npy: a 0-d array holds one value, an empty one none", "[npy]") {
  const NpyArray s = read_npy(fixture("scalar.npy"));
  CHECK(s.shape.empty());
  CHECK(s.data == std::vector<float>{2.5f});
  const NpyArray e = read_npy(fixture("empty.npy"));
  CHECK(e.shape == std::vector<uint64_t>{0, 3});
  CHECK(e.data.empty());
}

TEST_CASE("npy: Fortran order, integer and big-endian arrays are rejected, saying why", "[npy]") {
  CHECK_THAT(input_error([] { read_npy(fixture("fortran.npy")); }),
             Contains("fortran.npy") && Contains("column-major"));
  CHECK_THAT(input_error([] { read_npy(fixture("i4.npy")); }),
             Contains("i4.npy") && Contains("unsupported dtype '<i4'"));
  CHECK_THAT(input_error([] { read_npy(fixture("be_f4.npy")); }),
             Contains("be_f4.npy") && Contains("'>f4'") && Contains("big-endian"));
  CHECK_THAT(input_error([] { read_npy(fixture("no-such-file.npy")); }), Contains("cannot open"));
}

TEST_CASE("npy: a file cut anywhere is rejected as truncated with its offset", "[npy]") {
  const Mutant m("f4_3d.npy", ".cut");
  for (size_t n = 0; n < m.bytes.size(); ++n) {
    CAPTURE(n);
    CHECK_THAT(input_error([&] { read_npy(m.write(n)); }),
               Contains("f4_3d.npy.cut") && Contains("byte offset") && Contains("truncated"));
  }
}

TEST_CASE("npy: corrupt magic, version, header and sizes are each named", "[npy]") {
  {
    Mutant m("f4_3d.npy", ".magic");
    m.bytes[1] = 'X';
    CHECK_THAT(input_error([&] { read_npy(m.write()); }), Contains("byte offset 0") && Contains("magic"));
  }
  {
    Mutant m("f4_3d.npy", ".version");
    m.bytes[6] = 4;
    CHECK_THAT(input_error([&] { read_npy(m.write()); }),
               Contains("byte offset 6") && Contains("found version 4.0"));
  }
  {
    Mutant m("v2_header.npy", ".length");
    std::memset(m.bytes.data() + 8, 0xFF, 4);
    CHECK_THAT(input_error([&] { read_npy(m.write()); }),
               Contains("byte offset 8") && Contains("header length of at most"));
  }
  {
    Mutant m("f4_3d.npy", ".key");
    m.replace("'shape'", "'shapf'");
    CHECK_THAT(input_error([&] { read_npy(m.write()); }), Contains("found 'shapf'"));
  }
  {
    Mutant m("f4_3d.npy", ".dim");
    m.replace("(2, 3, 4)", "(2, x, 4)");
    CHECK_THAT(input_error([&] { read_npy(m.write()); }),
               Contains("byte offset " + std::to_string(m.find("x, 4)"))) && Contains("a dimension"));
  }
  {
    Mutant m("f4_3d.npy", ".shape");
    m.replace("(2, 3, 4)", "(2, 3, 5)");
    CHECK_THAT(input_error([&] { read_npy(m.write()); }),
               Contains("shape (2, 3, 5)") && Contains("needs 120 bytes of data, found 96"));
  }
  {
    Mutant m("f4_3d.npy", ".extra");
    m.bytes.push_back(0);
    CHECK_THAT(input_error([&] { read_npy(m.write()); }), Contains("extra bytes after the array"));
  }
}

TEST_CASE("npz: an archive np.savez stored lists and reads its arrays", "[npz]") {
  const NpzReader z(fixture("stored.npz"));
  CHECK(z.names() == std::vector<std::string>{"a", "b"});
  CHECK(z.contains("a"));
  CHECK(z.contains("b.npy"));
  CHECK_FALSE(z.contains("c"));
  const NpyArray a = z.read("a");
  CHECK(a.shape == std::vector<uint64_t>{2, 3});
  CHECK(a.data == std::vector<float>{-4, -2.5, -1, 0.5, 2, 3.5});
  const NpyArray b = z.read("b.npy");
  CHECK(b.dtype == "<f2");
  CHECK(b.data == std::vector<float>{0.5f, -1, 65504, 0x1p-24f});
}

TEST_CASE("npz: an archive np.savez_compressed deflated reads the same", "[npz]") {
  const NpzReader z(fixture("compressed.npz"));
  CHECK(z.names() == std::vector<std::string>{"a", "b", "zeros"});
  CHECK(z.read("a").data == std::vector<float>{-4, -2.5, -1, 0.5, 2, 3.5});
  CHECK(z.read("b").data == std::vector<float>{0.5f, -1, 65504, 0x1p-24f});
  const NpyArray zeros = z.read("zeros");
  CHECK(zeros.shape == std::vector<uint64_t>{256});
  CHECK(zeros.data == std::vector<float>(256, 0.0f));
}

TEST_CASE("npz: ZIP64 sizes, offsets and end record are followed", "[npz]") {
  const Mutant m("zip64.npz", "");
  REQUIRE(m.find("PK\x06\x06") > 0);  // the fixture really has a ZIP64 end record
  const NpzReader z(fixture("zip64.npz"));
  CHECK(z.names() == std::vector<std::string>{"a", "b"});
  CHECK(z.read("a").data == std::vector<float>{-4, -2.5, -1, 0.5, 2, 3.5});
  CHECK(z.read("b").data == std::vector<float>{0.5f, -1, 65504, 0x1p-24f});
}

TEST_CASE("npz: a missing entry is named, with the entries there are", "[npz]") {
  const NpzReader z(fixture("stored.npz"));
  CHECK_THAT(input_error([&] { z.read("c"); }),
             Contains("stored.npz") && Contains("no entry 'c'") && Contains("it has: a, b"));
}

TEST_CASE("npz: a changed data byte fails the entry's CRC-32 check", "[npz]") {
  Mutant m("stored.npz", ".crc");
  const size_t b_data = npy_data_offset(m.bytes, m.find("\x93NUMPY", m.find("b.npy")));
  m.bytes[b_data + 1] ^= 0x01;  // 0.5 (0x3800) becomes 0.625 (0x3900): still a valid float16
  const NpzReader z(m.write());
  CHECK(z.read("a").data.size() == 6);  // the other entry is intact
  CHECK_THAT(input_error([&] { z.read("b"); }), Contains("entry 'b.npy'") && Contains("CRC-32 mismatch"));
}

TEST_CASE("npz: corrupt deflate data is rejected naming the entry", "[npz]") {
  Mutant m("compressed.npz", ".deflate");
  const size_t data = m.find("a.npy") + 5 + 20;  // past the name and its ZIP64 extra field
  for (size_t i = 0; i < 16; ++i) m.bytes[data + i] = static_cast<char>(0xFF);
  const NpzReader z(m.write());
  CHECK_THAT(input_error([&] { z.read("a"); }), Contains("compressed.npz.deflate: entry 'a.npy'"));
  CHECK(z.read("zeros").data.size() == 256);
}

TEST_CASE("npz: an archive cut anywhere is rejected at open or read", "[npz]") {
  const Mutant m("stored.npz", ".cut");
  for (size_t n = 0; n < m.bytes.size(); ++n) {
    CAPTURE(n);
    CHECK_THAT(input_error([&] {
                 const NpzReader z(m.write(n));
                 for (const auto& name : z.names()) z.read(name);
               }),
               Contains("stored.npz.cut") && Contains("end-of-central-directory"));
  }
}

TEST_CASE("npz: broken headers and unsupported entries are each named", "[npz]") {
  {
    Mutant m("stored.npz", ".central");
    m.bytes[m.find("PK\x01\x02") + 3] = 9;
    CHECK_THAT(input_error([&] { NpzReader{m.write()}; }), Contains("central directory entry 0"));
  }
  {
    Mutant m("stored.npz", ".local");
    m.bytes[m.find("PK\x03\x04", 1) + 3] = 9;  // the second entry's local header
    const NpzReader z(m.write());
    CHECK_THAT(input_error([&] { z.read("b"); }), Contains("local header of entry 'b.npy'"));
  }
  {
    Mutant m("stored.npz", ".method");
    m.bytes[m.find("PK\x01\x02") + 10] = 12;  // bzip2
    const NpzReader z(m.write());
    CHECK_THAT(input_error([&] { z.read("a"); }),
               Contains("entry 'a.npy'") && Contains("compression method 12 is not supported"));
  }
  {
    Mutant m("stored.npz", ".sizes");
    m.bytes[m.find("PK\x01\x02") + 24] = 0x7F;  // the first entry's uncompressed size
    const NpzReader z(m.write());
    CHECK_THAT(input_error([&] { z.read("a"); }), Contains("entry 'a.npy'") && Contains("sizes disagree"));
  }
  CHECK_THAT(input_error([] { NpzReader{fixture("f4_3d.npy")}; }), Contains("found a .npy file"));
  CHECK_THAT(input_error([] { NpzReader{fixture("absent.npz")}; }), Contains("cannot open"));
}
