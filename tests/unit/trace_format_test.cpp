#include <unistd.h>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sim/core/errors.hpp"
#include "test_helpers.hpp"
#include "traces/adapter.hpp"
#include "traces/trace_format.hpp"

using namespace edgesim;
using namespace edgesim::traces;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("edgesim-" + std::to_string(::getpid()) + "-" + name)).string();
}

// Two steps exercising every encoding: none, all, a dense list (bitmap), a sparse list (delta).
std::vector<Step> sample_steps(const ModelLayout& l) {
  std::vector<Step> steps;
  for (uint32_t s = 0; s < 2; ++s) {
    Step st;
    st.info = {100 + s, 7 * s};
    for (uint32_t o = 0; o < l.ops().size(); ++o) {
      OpAccess op;
      op.op = o;
      op.needs_input = (o % 2) == 1;
      op.flops = 1000 + o;
      op.extra_dram_read_bytes = 7 * o;
      op.extra_dram_write_bytes = 3 * o;
      for (size_t i = 0; i < l.ops()[o].tensors.size(); ++i) {
        const Tensor& t = l.tensors()[l.ops()[o].tensors[i]];
        ChunkSet set;
        switch ((o + i + s) % 4) {
          case 0: set.set_none(); break;
          case 1: set.set_all(); break;
          case 2:  // dense list: all but one chunk -> bitmap is smaller
            set.set_list();
            for (uint32_t c = 0; c + 1 < t.chunks; ++c) set.ids.push_back(c);
            break;
          default:  // sparse list -> delta
            set.set_list();
            set.ids.push_back(t.chunks - 1);
        }
        op.sets.push_back(set);
      }
      st.ops.push_back(op);
    }
    st.events.push_back({1, 42 + s});
    steps.push_back(st);
  }
  return steps;
}

std::string write_sample(const ModelLayout& l, const std::string& name) {
  const std::string path = temp_path(name);
  TraceWriter w(path, {{"policy", {{"name", "test"}}}}, l);
  for (const auto& s : sample_steps(l)) w.write_step(s);
  w.finish();
  return path;
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& b) {
  std::ofstream(path, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
}

}  // namespace

TEST_CASE("a trace round-trips every step, op, chunk set and event", "[trace]") {
  const auto l = test::tiny_layout();
  const std::string path = write_sample(l, "roundtrip.trc");
  TraceReader r(path);
  CHECK(r.header()["policy"]["name"] == "test");
  CHECK(r.header()["version"] == kTraceVersion);
  check_layout_matches(r.header(), l, path);
  const auto want = sample_steps(l);
  Step got;
  for (const auto& w : want) {
    REQUIRE(r.next(got));
    CHECK(got == w);
  }
  CHECK_FALSE(r.next(got));
  const uint64_t* enc = r.encoding_counts();
  CHECK(enc[0] > 0);
  CHECK(enc[1] > 0);
  CHECK(enc[2] > 0);  // the writer chose bitmaps for dense lists
  CHECK(enc[3] > 0);  // and deltas for sparse ones
  CHECK(r.validate() == 2u);
  fs::remove(path);
}

TEST_CASE("the writer leaves nothing at the path until finish", "[trace]") {
  const auto l = test::tiny_layout();
  const std::string path = temp_path("unfinished.trc");
  {
    TraceWriter w(path, nlohmann::json::object(), l);
    w.write_step(sample_steps(l)[0]);
    CHECK_FALSE(fs::exists(path));
  }
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(path + ".tmp." + std::to_string(::getpid())));
}

TEST_CASE("a truncated trace is rejected at every cut with the byte offset", "[trace]") {
  const auto l = test::tiny_layout();
  const std::string path = write_sample(l, "truncate.trc");
  const auto bytes = read_bytes(path);
  const std::string cut = temp_path("cut.trc");
  for (size_t n :
       {size_t(0), size_t(5), size_t(15), size_t(40), bytes.size() / 2, bytes.size() - 9, bytes.size() - 1}) {
    write_bytes(cut, std::vector<char>(bytes.begin(), bytes.begin() + static_cast<long>(n)));
    CAPTURE(n);
    CHECK_THROWS_WITH(
        [&] {
          TraceReader r(cut);
          r.validate();
        }(),
        Catch::Contains("byte offset") && Catch::Contains("truncated"));
  }
  fs::remove(path);
  fs::remove(cut);
}

TEST_CASE("wrong magic, wrong version and a corrupt byte are rejected", "[trace]") {
  const auto l = test::tiny_layout();
  const std::string path = write_sample(l, "bad.trc");
  const auto good = read_bytes(path);
  auto b = good;
  b[0] = 'X';
  write_bytes(path, b);
  CHECK_THROWS_WITH(TraceReader(path), Catch::Contains("byte offset 0") && Catch::Contains("magic"));
  b = good;
  b[8] = 9;
  write_bytes(path, b);
  CHECK_THROWS_WITH(TraceReader(path), Catch::Contains("byte offset 8") && Catch::Contains("version 9"));
  b = good;
  b[b.size() - 12] ^= 0x01;  // inside the step count or checksum region of the end record
  write_bytes(path, b);
  CHECK_THROWS_AS(TraceReader(path).validate(), InputError);
  fs::remove(path);
}

TEST_CASE("a chunk id past the tensor's chunk count is rejected with its offset", "[trace]") {
  const auto l = test::tiny_layout();
  const std::string path = temp_path("range.trc");
  {
    TraceWriter w(path, nlohmann::json::object(), l);
    Step st;
    OpAccess op;
    op.op = 0;  // embed: one tensor of 256 chunks
    ChunkSet s;
    s.set_list();
    s.ids = {5};
    op.sets.push_back(s);
    st.ops.push_back(op);
    w.write_step(st);
    w.finish();
  }
  auto b = read_bytes(path);
  // The set is the last thing of the step: encoding 3, count 1, id 5. Make the id 300.
  const std::vector<char> pattern = {3, 1, 5};
  auto it = std::search(b.begin(), b.end(), pattern.begin(), pattern.end());
  REQUIRE(it != b.end());
  const size_t at = static_cast<size_t>(it - b.begin()) + 2;
  b[at] = static_cast<char>(0xAC);  // 300 = 0b10'0101100: varint AC 02
  b.insert(b.begin() + static_cast<long>(at) + 1, 0x02);
  write_bytes(path, b);
  CHECK_THROWS_WITH(TraceReader(path).validate(),
                    Catch::Contains("byte offset " + std::to_string(at)) && Catch::Contains("out of range"));
  fs::remove(path);
}

TEST_CASE("a trace recorded for one model does not replay on another", "[trace]") {
  const auto l = test::tiny_layout();
  const std::string path = write_sample(l, "model.trc");
  TraceReader r(path);
  const auto other = test::tiny_layout({{"layers", 3}});
  CHECK_THROWS_WITH(check_layout_matches(r.header(), other, path), Catch::Contains("chunk table"));
  fs::remove(path);
}

TEST_CASE("adapter switch events round-trip, and an unknown event type is rejected with its byte offset",
          "[trace][adapter]") {
  const auto l = test::tiny_layout();
  std::vector<Step> steps = sample_steps(l);
  steps[0].events = {{kEventAdapterSet, 0b01}};
  steps[1].events = {{kEventAdapterSet, 0b11}, {kEventAdapterSet, 0b10}};
  const std::string good = temp_path("events.trace");
  {
    TraceWriter w(good, {{"policy", {{"name", "test"}}}}, l);
    for (const auto& s : steps) w.write_step(s);
    w.finish();
  }
  TraceReader r(good);
  CHECK(r.validate() == 2);
  CHECK(r.events() == 3);
  Step s;
  REQUIRE(r.next(s));
  CHECK(s.events == steps[0].events);
  REQUIRE(r.next(s));
  CHECK(s.events == steps[1].events);
  std::remove(good.c_str());

  steps[1].events = {{7, 1}};  // no such event type
  const std::string bad = temp_path("bad-event.trace");
  {
    TraceWriter w(bad, {{"policy", {{"name", "test"}}}}, l);
    for (const auto& st : steps) w.write_step(st);
    w.finish();
  }
  TraceReader rb(bad);
  CHECK_THROWS_WITH(rb.validate(), Catch::Contains("byte offset") && Catch::Contains("event type 1") &&
                                       Catch::Contains("found 7"));
  std::remove(bad.c_str());
}
