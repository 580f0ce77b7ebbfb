// Windowing ("LLM in a flash") end to end: a longer window reads less from flash and keeps
// more in DRAM, its memory management is reported on its own, window_tokens is a sweep
// axis, and a bad window exits 2 naming the key.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "tests/integration/run_cli.hpp"

using namespace edgesim::cli_test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {
// The tiny model with the neuron predictor over bundled neurons, attention pinned: the
// setting of the paper, scaled down.
std::vector<std::string> window_args(const std::vector<std::string>& sets) {
  std::vector<std::string> a = {"run", "-c", "builtin:experiments/tiny.json"};
  for (const char* s : {"policy.name=relu_predictor", "model.chunking=bundled", "weight_store.cache_policy=window",
                        "run.tokens=24"}) {
    a.insert(a.end(), {"--set", s});
  }
  for (const auto& s : sets) a.insert(a.end(), {"--set", s});
  return a;
}
json run_window(uint64_t k) {
  auto a = window_args({"weight_store.window_tokens=" + std::to_string(k)});
  a.insert(a.end(), {"--format", "json", "--no-progress"});
  return json::parse(run_expect(a, kOk).out)["metrics"];
}
}  // namespace

TEST_CASE("a longer window loads less from flash and keeps more rows in DRAM", "[cli][window]") {
  const json w1 = run_window(1), w5 = run_window(5);
  for (const json* m : {&w1, &w5}) {
    REQUIRE(m->contains("memory_management"));
    CHECK((*m)["memory_management"]["rows_inserted_per_token"].get<double>() > 0);
    CHECK((*m)["memory_management"]["time_per_token_s"].get<double>() > 0);
    CHECK((*m)["window"]["matrix_fraction"].get<double>() < 1);
    // Its DRAM is the matrices' size, not the capacity that bounds them.
    CHECK((*m)["memory_footprint_bytes"]["weight_cache"] == (*m)["window"]["matrix_bytes"]);
  }
  INFO("flash bytes/token: K=1 " << w1["flash_bytes_per_token"] << ", K=5 " << w5["flash_bytes_per_token"]);
  CHECK(w5["flash_bytes_per_token"].get<double>() < 0.8 * w1["flash_bytes_per_token"].get<double>());
  CHECK(w5["window"]["matrix_bytes"].get<double>() > w1["window"]["matrix_bytes"].get<double>());
  // With K = 1 every row a token used is deleted unless the next token uses it too, so as
  // many rows go as come, on average.
  const double del = w1["memory_management"]["rows_deleted_per_token"].get<double>();
  const double ins = w1["memory_management"]["rows_inserted_per_token"].get<double>();
  CHECK(del == Approx(ins).epsilon(0.1));
  // Another cache policy has no memory-management metrics.
  const auto lru = run_expect({"run", "-c", "builtin:experiments/tiny.json", "--format", "json", "--no-progress"}, kOk);
  CHECK_FALSE(json::parse(lru.out)["metrics"].contains("memory_management"));
}

TEST_CASE("row_copy_time adds its time for every row moved or inserted", "[cli][window]") {
  auto run = [](const std::string& t) {
    auto a = window_args({"weight_store.window_tokens=3", "weight_store.row_copy_time=" + t});
    a.insert(a.end(), {"--format", "json", "--no-progress"});
    return json::parse(run_expect(a, kOk).out)["metrics"]["memory_management"];
  };
  const json base = run("0 s"), slow = run("2 us");
  // The same rows either way: the rule does not depend on time.
  CHECK(slow["rows_moved_per_token"] == base["rows_moved_per_token"]);
  CHECK(slow["rows_inserted_per_token"] == base["rows_inserted_per_token"]);
  const double rows = base["rows_moved_per_token"].get<double>() + base["rows_inserted_per_token"].get<double>();
  CHECK(slow["time_per_token_s"].get<double>() - base["time_per_token_s"].get<double>() ==
        Approx(rows * 2e-6).epsilon(1e-9));
}

TEST_CASE("a bad window exits 2 naming the key", "[cli][window]") {
  // tiny.json runs 1 warm-up token + 24: a window of 26 is longer than the run.
  CHECK_THAT(run_expect(window_args({"weight_store.window_tokens=26"}), 2).err,
             Contains("weight_store.window_tokens") && Contains("longer than the run"));
  CHECK_THAT(run_expect(window_args({"weight_store.window_tokens=0"}), 2).err,
             Contains("weight_store.window_tokens"));
  CHECK_THAT(run_expect(window_args({"weight_store.window_tokens=two"}), 2).err,
             Contains("weight_store.window_tokens"));
  CHECK_THAT(run_expect(window_args({"weight_store.row_copy_time=-1 us"}), 2).err,
             Contains("weight_store.row_copy_time"));
  // window_tokens belongs to the window rule: with another policy it is an unknown key.
  CHECK_THAT(run_expect({"run", "-c", "builtin:experiments/tiny.json", "--set", "weight_store.window_tokens=3"}, 2).err,
             Contains("window_tokens"));
  // A window exactly as long as the run is allowed.
  auto whole = window_args({"weight_store.window_tokens=25"});
  whole.push_back("--no-progress");
  run_expect(whole, kOk);
}

TEST_CASE("window_tokens is a sweep axis", "[cli][window][sweep]") {
  TempDir tmp;
  write_text(tmp / "base.json", R"({"extends": ["builtin:experiments/tiny.json"],
    "policy": {"name": "relu_predictor"}, "model": {"chunking": "bundled"},
    "weight_store": {"cache_policy": "window"}, "run": {"tokens": 12}})");
  write_text(tmp / "spec.json", R"({"base": ")" + (tmp / "base.json") + R"(", "grid": {"weight_store.window_tokens": [1, 4]}})");
  const auto r = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o", "--jobs", "2"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::istringstream in(read_text(tmp / "o/results.jsonl"));
  std::string line;
  std::map<int, double> flash;
  while (std::getline(in, line)) {
    const json l = json::parse(line);
    REQUIRE(l["status"] == "ok");
    flash[l["axes"]["weight_store.window_tokens"].get<int>()] = l["metrics"]["flash_bytes_per_token"].get<double>();
  }
  REQUIRE(flash.size() == 2);
  CHECK(flash[4] < flash[1]);
}
