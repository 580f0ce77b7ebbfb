// `edgesim run --timeline FILE`: Chrome trace-event JSON of flash reads, DRAM and compute
// per op, for a range of tokens, consistent with the run's own times and metrics.
#include <catch2/catch.hpp>
#include <map>

#include "run_cli.hpp"

using namespace edgesim::cli_test;

namespace {

using nlohmann::json;

constexpr int kFlash = 1, kDram = 2, kCompute = 3, kTokens = 4;
constexpr double kEps = 1e-6;  // us: float rounding of times printed in microseconds

/// The "X" events of a trace, by lane (tid), each lane sorted by start time.
std::map<int, std::vector<json>> lanes_of(const json& trace) {
  std::map<int, std::vector<json>> lanes;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "X") lanes[e["tid"].get<int>()].push_back(e);
  }
  for (auto& [tid, events] : lanes) {
    std::stable_sort(events.begin(), events.end(), [](const json& a, const json& b) {
      return a["ts"].get<double>() < b["ts"].get<double>();
    });
  }
  return lanes;
}

double end_of(const json& e) {
  return e["ts"].get<double>() + e["dur"].get<double>();
}

/// key: token and op name -> the event of that op in one lane.
std::map<std::pair<int, std::string>, json> by_op(const std::vector<json>& lane) {
  std::map<std::pair<int, std::string>, json> out;
  for (const auto& e : lane) {
    const auto key = std::make_pair(e["args"]["token"].get<int>(), e["name"].get<std::string>());
    CHECK(out.count(key) == 0);  // one event per op and token in a lane
    out[key] = e;
  }
  return out;
}

}  // namespace

TEST_CASE("a timeline has named lanes and one event per op and lane, inside the run and in order",
          "[cli][timeline]") {
  TempDir tmp;
  // No weight cache: every token streams the same bytes from flash.
  const json results =
      run_json({"run", "-c", "builtin:experiments/tiny.json", "--set", "weight_store.cache_capacity=0",
                "--timeline", tmp / "t.json", "--timeline-tokens", "1:"});
  const json trace = json::parse(read_text(tmp / "t.json"));
  const double end_us = results["stats"]["systemc"]["simulated_time"]["value"].get<double>() * 1e6;
  const json& m = results["metrics"];

  std::map<int, std::string> names;
  for (const auto& e : trace["traceEvents"]) {
    REQUIRE(e.contains("ph"));
    if (e["ph"] == "M" && e["name"] == "thread_name") names[e["tid"].get<int>()] = e["args"]["name"];
  }
  CHECK(names == std::map<int, std::string>{{kFlash, "flash reads"},
                                            {kDram, "DRAM reads and writes"},
                                            {kCompute, "compute"},
                                            {kTokens, "tokens"}});

  auto lanes = lanes_of(trace);
  REQUIRE(lanes[kCompute].size() > 0);
  for (const auto& [tid, events] : lanes) {
    INFO("lane " << names[tid]);
    for (size_t i = 0; i < events.size(); ++i) {
      const json& e = events[i];
      CHECK(e["pid"] == 1);
      CHECK(e["ts"].get<double>() >= 0);
      CHECK(e["dur"].get<double>() > 0);
      CHECK(end_of(e) <= end_us + kEps);
      const int token = e["args"]["token"];
      CHECK((token >= 1 && token <= 4));  // the measured tokens, after one warm-up token
      // Each lane does one thing at a time here: loads are serialised by the replayer,
      // compute by the engine, tokens follow each other.
      if (i + 1 < events.size()) CHECK(end_of(e) <= events[i + 1]["ts"].get<double>() + kEps);
    }
  }

  // Four tokens, each with all its ops computed, and as many flash bytes and as much
  // compute time as the metrics say.
  REQUIRE(lanes[kTokens].size() == 4);
  double compute_us = 0;
  const auto flash = by_op(lanes[kFlash]);
  const auto compute = by_op(lanes[kCompute]);
  for (const auto& tok : lanes[kTokens]) {
    const int t = tok["args"]["token"];
    INFO("token " << t);
    CHECK(tok["name"] == "token " + std::to_string(t));
    size_t ops = 0;
    double flash_bytes = 0;
    for (const auto& [key, e] : compute) {
      if (key.first != t) continue;
      ++ops;
      compute_us += e["dur"].get<double>();
      CHECK(end_of(e) <= end_of(tok) + kEps);
      // An op computes once its weights are in.
      if (flash.count(key)) CHECK(e["ts"].get<double>() >= end_of(flash.at(key)) - kEps);
    }
    for (const auto& [key, e] : flash) {
      if (key.first == t) flash_bytes += e["args"]["bytes"].get<double>();
    }
    CHECK(ops == tok["args"]["ops"].get<size_t>());
    CHECK(flash_bytes == m["flash_bytes_per_token"].get<double>());
  }
  CHECK(compute_us / 4 == Approx(m["time_breakdown"]["compute"].get<double>() * 1e6).epsilon(1e-9));
  CHECK(lanes[kTokens][0]["ts"].get<double>() > 0);  // token 1 starts where token 0 ended
  CHECK(trace["otherData"]["tokens"] == json{{"first", 1}, {"last", 5}});
}

TEST_CASE("serialised flash and DRAM show each op's DRAM work after its flash read", "[cli][timeline]") {
  TempDir tmp;
  run_expect({"run", "-c", "builtin:experiments/tiny.json", "--set", "weight_store.cache_capacity=0", "--set",
              "weight_store.flash_dram_concurrent=false", "--timeline", tmp / "t.json", "--no-progress"},
             kOk);
  auto lanes = lanes_of(json::parse(read_text(tmp / "t.json")));
  const auto flash = by_op(lanes[kFlash]);
  const auto dram = by_op(lanes[kDram]);
  size_t both = 0;
  for (const auto& [key, f] : flash) {
    if (!dram.count(key)) continue;
    ++both;
    CHECK(dram.at(key)["ts"].get<double>() == Approx(end_of(f)).margin(kEps));
  }
  CHECK(both > 0);
  // The default range: the first four tokens, the warm-up token marked.
  REQUIRE(lanes[kTokens].size() == 4);
  CHECK(lanes[kTokens][0]["name"] == "token 0 (warm-up)");
  CHECK(lanes[kTokens][0]["args"]["warmup"] == true);
}

TEST_CASE("a replayed trace draws the same timeline as the run that recorded it", "[cli][timeline]") {
  TempDir tmp;
  run_expect({"trace", "record", "-c", "builtin:experiments/tiny.json", "-o", tmp / "r.trace", "--timeline",
              tmp / "a.json"},
             kOk);
  run_expect({"replay", tmp / "r.trace", "--timeline", tmp / "b.json"}, kOk);
  const json a = json::parse(read_text(tmp / "a.json")), b = json::parse(read_text(tmp / "b.json"));
  CHECK(a["traceEvents"].size() > 10);
  CHECK(a["traceEvents"] == b["traceEvents"]);
}

TEST_CASE("bad timeline options are bad input", "[cli][timeline]") {
  TempDir tmp;
  const std::string tiny = "builtin:experiments/tiny.json";
  expect_bad_input({"run", "-c", tiny, "--timeline", tmp / "t.json", "--timeline-tokens", "3:1"},
                   {"--timeline-tokens '3:1'", "A:B"});
  expect_bad_input({"run", "-c", tiny, "--timeline", tmp / "t.json", "--timeline-tokens", "x"},
                   {"--timeline-tokens 'x'"});
  expect_bad_input({"run", "-c", tiny, "--timeline", tmp / "t.json", "--timeline-tokens", "9:12"},
                   {"the run has 5 tokens"});
  expect_bad_input({"run", "-c", tiny, "--timeline-tokens", "0:2"}, {"needs --timeline FILE"});
  expect_bad_input({"run", "-c", tiny, "--timeline", tmp / "no/such/t.json"}, {"no folder"});
  CHECK_FALSE(fs::exists(tmp / "t.json"));
}
