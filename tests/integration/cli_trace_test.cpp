// End-to-end tests of traces: record, replay, trace info, validate, and rejection of
// malformed trace files (format: the comment at the top of traces/trace_format.hpp).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>

#include "tests/integration/run_cli.hpp"

using namespace edgesim::cli_test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kTiny = "builtin:experiments/tiny.json";

/// Records a trace of the tiny experiment (plus `sets`) to `path`; returns the run's results.
json record(const std::string& path, const std::vector<std::string>& sets = {}) {
  std::vector<std::string> args = {"trace", "record", "-c", kTiny, "-o", path};
  for (const auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  json res = run_json(args);
  REQUIRE(fs::exists(path));
  return res;
}

/// The bytes of a trace of the tiny experiment, recorded to `path`.
std::vector<uint8_t> record_bytes(const std::string& path) {
  record(path);
  return read_bytes(path);
}

uint32_t u32_at(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v = 0;
  std::memcpy(&v, b.data() + at, 4);  // little endian host, as the format
  return v;
}

/// Offset of the first body byte (after magic, version, header length and header).
size_t body_start(const std::vector<uint8_t>& b) {
  return 16 + u32_at(b, 12);
}

void put_varint(std::vector<uint8_t>& b, uint64_t v) {
  while (v >= 0x80) {
    b.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  b.push_back(static_cast<uint8_t>(v));
}

uint64_t fnv1a(const std::vector<uint8_t>& b) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t c : b) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

/// Expects both `replay` and `trace info` to reject `path` as bad input, with a byte
/// offset in the message, every needle in stderr and nothing on stdout.
void expect_bad_trace(const std::string& path, const std::vector<std::string>& needles) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"replay", path, "--format", "json"}, {"trace", "info", path}}) {
    const CliResult r = run_expect(args, kBadInput);
    INFO(describe(args, r));
    CHECK_THAT(r.err, Contains("byte offset"));
    for (const auto& n : needles) CHECK_THAT(r.err, Contains(n));
    CHECK(r.out.empty());
  }
}

/// Writes a trace with the header of `good` and one step whose first chunk set is a delta
/// list holding the single id `id`, with a correct end record and checksum. The op record
/// follows the format comment in traces/trace_format.hpp ("op: op_index flags flops
/// extra_dram_read extra_dram_write {set}*"); the tests that use this first check that the
/// same file with a valid id is accepted, so a format change shows up there.
void write_one_step_trace(const std::vector<uint8_t>& good, const std::string& path, uint64_t id,
                          uint64_t flops = 0) {
  const size_t start = body_start(good);
  const json header = json::parse(good.begin() + 16, good.begin() + static_cast<long>(start));
  const json& layout = header.at("layout");
  const auto tensors = layout.at("ops").at(0).at("tensors").get<std::vector<uint32_t>>();
  REQUIRE(!tensors.empty());
  std::vector<uint8_t> b(good.begin(), good.begin() + static_cast<long>(start));
  b.push_back('S');
  put_varint(b, 16);  // position
  put_varint(b, 0);   // token
  put_varint(b, 1);   // ops
  put_varint(b, 0);   // events
  put_varint(b, 0);   // op index
  b.push_back(0);     // flags
  put_varint(b, flops);
  put_varint(b, 0);  // extra DRAM read bytes
  put_varint(b, 0);  // extra DRAM write bytes
  b.push_back(3);    // delta list
  put_varint(b, 1);  // one id
  put_varint(b, id);
  for (size_t i = 1; i < tensors.size(); ++i) b.push_back(0);  // none
  b.push_back('E');
  put_varint(b, 1);
  const uint64_t h = fnv1a(b);
  const auto* hp = reinterpret_cast<const uint8_t*>(&h);
  b.insert(b.end(), hp, hp + 8);
  write_bytes(path, b);
}

}  // namespace

TEST_CASE("trace record then replay reproduces the closed-loop metrics exactly", "[cli][trace]") {
  TempDir tmp;
  const std::vector<std::vector<std::string>> variants = {
      {}, {"weight_store.cache_policy=opt"}, {"weight_store.cache_capacity=2 KiB"}};
  for (const auto& sets : variants) {
    const std::string name = sets.empty() ? "(defaults)" : sets[0];
    SECTION("with " + name) {
      const std::string t = tmp / "run.trace";
      const json recorded = record(t, sets);
      const json replayed = run_json({"replay", t});
      CHECK(replayed["config"] == recorded["config"]);
      CHECK(replayed["metrics"] == recorded["metrics"]);
      CHECK(replayed["run"]["mode"] == "replay");
      CHECK(replayed["run"]["replay"]["settings_differ_from_recording"] == json::array());
      // No temporary file is left next to the trace.
      for (const auto& e : fs::directory_iterator(tmp.path())) {
        CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
      }
    }
  }
}

TEST_CASE("a 2 KiB weight cache holds at most 2 KiB and reads more from flash than the automatic one",
          "[cli][trace]") {
  TempDir tmp;
  const std::string t = tmp / "small.trace";
  const json small = record(t, {"weight_store.cache_capacity=2 KiB"});
  const json big = run_json({"run", "-c", kTiny});
  CHECK(small["metrics"]["memory_footprint_bytes"]["weight_cache"].get<double>() <= 2048);
  CHECK(small["metrics"]["flash_bytes_per_token"].get<double>() >
        big["metrics"]["flash_bytes_per_token"].get<double>());
}

TEST_CASE("trace info summarises a trace: steps = measured + warm-up tokens", "[cli][trace]") {
  TempDir tmp;
  const std::string t = tmp / "info.trace";
  const json recorded = record(t);
  const CliResult table = run_expect({"trace", "info", t}, kOk);
  CHECK_THAT(table.out, Contains("steps"));
  CHECK_THAT(table.out, Contains("tiny"));
  const json info = run_json({"trace", "info", t});
  const auto& run = recorded["config"]["run"];
  CHECK(info.at("steps").get<uint64_t>() ==
        run["tokens"].get<uint64_t>() + run["warmup_tokens"].get<uint64_t>());
  CHECK(info["model"] == "tiny");
  CHECK(info["format_version"] == 1);
  CHECK(info["file_bytes"].get<uint64_t>() == fs::file_size(t));
}

TEST_CASE("replay under a config of another model is rejected: the chunk table does not match",
          "[cli][trace]") {
  TempDir tmp;
  const std::string t = tmp / "tiny.trace";
  record(t);
  const CliResult r = expect_bad_input({"replay", t, "--config", "builtin:experiments/default.json"},
                                       {"chunk table", "model"});
  CHECK(r.out.empty());
}

TEST_CASE("replay under another cache policy runs and reports that its settings differ from the recording",
          "[cli][trace]") {
  TempDir tmp;
  const std::string t = tmp / "lru.trace";
  const json recorded = record(t, {"weight_store.cache_capacity=16 KiB"});
  const json replayed = run_json({"replay", t, "--set", "weight_store.cache_policy=fifo"});
  CHECK(replayed["config"]["weight_store"]["cache_policy"] == "fifo");
  CHECK(replayed["run"]["replay"]["settings_differ_from_recording"] == json::array({"weight_store"}));
  CHECK(replayed["config"]["device"] == recorded["config"]["device"]);
}

TEST_CASE("trace record into a missing folder is bad input and leaves nothing behind", "[cli][trace]") {
  TempDir tmp;
  const CliResult r =
      expect_bad_input({"trace", "record", "-c", kTiny, "-o", tmp / "no/such/dir/t.trace"}, {"no/such/dir"});
  CHECK(r.out.empty());
  CHECK(fs::is_empty(tmp.path()));
}

TEST_CASE("trace record of a config with bad input writes no trace", "[cli][trace]") {
  TempDir tmp;
  expect_bad_input({"trace", "record", "-c", kTiny, "-o", tmp / "t.trace", "--set", "run.tokens=0"},
                   {"run.tokens"});
  CHECK(fs::is_empty(tmp.path()));
}

TEST_CASE("validate accepts a good trace and rejects a truncated one", "[cli][trace][validate]") {
  TempDir tmp;
  const std::string t = tmp / "good.trace";
  record(t);
  const CliResult ok = run_expect({"validate", t}, kOk);
  CHECK_THAT(ok.out, Contains("valid trace"));
  CHECK_THAT(ok.out, Contains("5 steps"));
  auto b = read_bytes(t);
  b.resize(body_start(b) + (b.size() - body_start(b)) / 2);
  write_bytes(tmp / "cut.trace", b);
  const CliResult bad = expect_bad_input({"validate", tmp / "cut.trace"}, {"byte offset"});
  CHECK(bad.out.empty());
}

TEST_CASE("a trace truncated in its body is rejected with the byte offset", "[cli][trace][bad-trace]") {
  TempDir tmp;
  const auto good = record_bytes(tmp / "good.trace");
  const size_t start = body_start(good);
  for (size_t cut : {start + (good.size() - start) / 2, good.size() - 4, start + 1}) {
    auto b = good;
    b.resize(cut);
    write_bytes(tmp / "cut.trace", b);
    INFO("cut at " << cut << " of " << good.size());
    expect_bad_trace(tmp / "cut.trace", {});
  }
}

TEST_CASE("a trace that ends inside a multi-byte varint is reported as truncated",
          "[cli][trace][bad-trace]") {
  TempDir tmp;
  const auto good = record_bytes(tmp / "good.trace");
  write_one_step_trace(good, tmp / "one.trace", 0, 300);  // FLOPs 300: the 2-byte varint AC 02
  run_expect({"trace", "info", tmp / "one.trace"}, kOk);
  auto b = read_bytes(tmp / "one.trace");
  const size_t flops_at = body_start(b) + 7;  // after S, position, token, #ops, #events, op, flags
  REQUIRE(b[flops_at] == 0xAC);
  b.resize(flops_at + 1);
  write_bytes(tmp / "cut.trace", b);
  expect_bad_trace(tmp / "cut.trace", {"truncated"});
}

TEST_CASE("a trace truncated inside its header or preamble is rejected with the byte offset",
          "[cli][trace][bad-trace]") {
  TempDir tmp;
  const auto good = record_bytes(tmp / "good.trace");
  for (size_t cut : {size_t(16) + u32_at(good, 12) / 2, size_t(10)}) {
    auto b = good;
    b.resize(cut);
    write_bytes(tmp / "cut.trace", b);
    INFO("cut at " << cut);
    expect_bad_trace(tmp / "cut.trace", {"truncated"});
  }
}

TEST_CASE("a file with the wrong magic is rejected as not a trace", "[cli][trace][bad-trace]") {
  TempDir tmp;
  auto b = record_bytes(tmp / "good.trace");
  b[0] ^= 0xFF;
  write_bytes(tmp / "magic.trace", b);
  expect_bad_trace(tmp / "magic.trace", {"byte offset 0", "magic"});
}

TEST_CASE("a trace of an unknown format version is rejected naming the version", "[cli][trace][bad-trace]") {
  TempDir tmp;
  auto b = record_bytes(tmp / "good.trace");
  const uint32_t v = 99;
  std::memcpy(b.data() + 8, &v, 4);
  write_bytes(tmp / "v99.trace", b);
  expect_bad_trace(tmp / "v99.trace", {"byte offset 8", "version", "99"});
}

TEST_CASE("a chunk id past the tensor's chunk count is rejected as out of range", "[cli][trace][bad-trace]") {
  TempDir tmp;
  const auto good = record_bytes(tmp / "good.trace");
  const json header = json::parse(good.begin() + 16, good.begin() + static_cast<long>(body_start(good)));
  const uint32_t first_tensor = header["layout"]["ops"][0]["tensors"][0].get<uint32_t>();
  const uint64_t chunks = header["layout"]["tensors"][first_tensor]["chunks"].get<uint64_t>();
  REQUIRE(chunks > 0);

  // Control: the same hand-made file with the last valid id is accepted, so the rejection
  // below is about the id alone.
  write_one_step_trace(good, tmp / "last_id.trace", chunks - 1);
  const json info = run_json({"trace", "info", tmp / "last_id.trace"});
  CHECK(info["steps"] == 1);

  for (uint64_t id : {chunks, chunks + 1000}) {
    write_one_step_trace(good, tmp / "bad_id.trace", id);
    INFO("id " << id << " with " << chunks << " chunks");
    expect_bad_trace(tmp / "bad_id.trace", {"out of range", std::to_string(id)});
  }
}

TEST_CASE("a corrupted byte in a trace body is caught by decoding or the checksum",
          "[cli][trace][bad-trace]") {
  TempDir tmp;
  const auto good = record_bytes(tmp / "good.trace");
  const size_t start = body_start(good);
  const size_t n = good.size() - start;
  for (size_t at :
       {start + n / 7, start + n / 3, start + n / 2, start + 3 * n / 4, good.size() - 9, good.size() - 1}) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80)}) {
      auto b = good;
      b[at] ^= mask;
      write_bytes(tmp / "corrupt.trace", b);
      INFO("byte " << at << " of " << good.size() << " xor " << int(mask));
      const CliResult r = run_expect({"replay", tmp / "corrupt.trace", "--format", "json"}, kBadInput);
      INFO(r.err);
      CHECK_THAT(r.err, Contains("byte offset"));
      CHECK(r.out.empty());
      const CliResult v = run_expect({"validate", tmp / "corrupt.trace"}, kBadInput);
      CHECK(v.out.empty());
    }
  }
}

TEST_CASE("a header field of another type than the writer gives it is bad input naming the field",
          "[cli][trace][bad-trace]") {
  TempDir tmp;
  const auto good = record_bytes(tmp / "good.trace");
  const size_t start = body_start(good);
  const json header = json::parse(good.begin() + 16, good.begin() + static_cast<long>(start));
  // The trace with `header` in place of its own: the same body, the checksum made again.
  auto with_header = [&](const json& h, const std::string& path) {
    const std::string text = h.dump();
    std::vector<uint8_t> b(good.begin(), good.begin() + 12);
    const uint32_t len = static_cast<uint32_t>(text.size());
    b.insert(b.end(), reinterpret_cast<const uint8_t*>(&len), reinterpret_cast<const uint8_t*>(&len) + 4);
    b.insert(b.end(), text.begin(), text.end());
    b.insert(b.end(), good.begin() + static_cast<long>(start), good.end() - 8);
    const uint64_t sum = fnv1a(b);
    b.insert(b.end(), reinterpret_cast<const uint8_t*>(&sum), reinterpret_cast<const uint8_t*>(&sum) + 8);
    write_bytes(path, b);
  };
  // Control: the header written again as it is, and without a field, is accepted.
  with_header(header, tmp / "same.trace");
  run_expect({"trace", "info", tmp / "same.trace"}, kOk);
  json no_model = header;
  no_model.erase("model");
  with_header(no_model, tmp / "no-model.trace");
  run_expect({"trace", "info", tmp / "no-model.trace"}, kOk);
  // `trace info` and `replay` read these; each was a JSON type error (exit 1) before.
  const std::vector<std::pair<std::string, json>> damage = {{"/model", 5},
                                                            {"/policy", "dense"},
                                                            {"/config", json::array({1})},
                                                            {"/version", "1"},
                                                            {"/edgesim_version", 3},
                                                            {"/weight_store/cache_policy", 7},
                                                            {"/config/adapter", 3},
                                                            {"/config/run/warmup_tokens", "x"}};
  for (const auto& [pointer, value] : damage) {
    json h = header;
    h[json::json_pointer(pointer)] = value;
    with_header(h, tmp / "bad.trace");
    std::string key = pointer.substr(1);
    std::replace(key.begin(), key.end(), '/', '.');
    INFO(key);
    expect_bad_trace(tmp / "bad.trace", {"at byte offset 16", "'" + key + "' is "});
  }
}

TEST_CASE("replay takes the step count from the trace and may only move the warm-up split", "[cli][trace]") {
  TempDir tmp;
  const std::string trace = tmp / "t.trc";
  REQUIRE(run_cli({"trace", "record", "-c", "builtin:experiments/tiny.json", "-o", trace}).code == 0);
  // tiny: 4 measured + 1 warm-up steps.
  const auto more = run_cli({"replay", trace, "--format", "json", "--set", "run.tokens=10"});
  REQUIRE(more.code == 0);
  CHECK(more.err.find("ignored") != std::string::npos);
  const json r = json::parse(more.out);
  CHECK(r["metrics"]["tokens_measured"] == 4);
  CHECK(r["config"]["run"]["tokens"] == 4);
  const auto split = run_cli({"replay", trace, "--format", "json", "--set", "run.warmup_tokens=2"});
  REQUIRE(split.code == 0);
  CHECK(json::parse(split.out)["metrics"]["tokens_measured"] == 3);
  const auto none = run_cli({"replay", trace, "--set", "run.warmup_tokens=5"});
  CHECK(none.code == 2);
  CHECK(none.err.find("leaves none to measure") != std::string::npos);
  // The run section is read before the config is checked: its type first (exit 1 before).
  expect_bad_input({"replay", trace, "--set", "run.warmup_tokens=x"},
                   {"run.warmup_tokens: expected a whole number of tokens, not \"x\""});
  expect_bad_input({"replay", trace, "--set", "run=3"}, {"config error at run: expected an object"});
}
