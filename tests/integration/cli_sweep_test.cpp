// `edgesim sweep`: points in child processes, atomic JSON-lines results, resume, failures.
#include <sys/wait.h>
#include <catch2/catch.hpp>
#include <csignal>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "run_cli.hpp"

using namespace edgesim::cli_test;

namespace {

using nlohmann::json;

std::vector<json> result_lines(const std::string& path) {
  std::vector<json> out;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

const char* kSpec = R"({"base": "builtin:experiments/tiny.json",
  "grid": {"weight_store.cache_policy": ["lru", "fifo"], "run.seed": {"range": [1, 2]}},
  "skip": [{"weight_store.cache_policy": "fifo", "run.seed": 2}]})";

}  // namespace

TEST_CASE("a sweep runs every grid point less the skipped ones and matches single runs", "[cli][sweep]") {
  TempDir tmp;
  write_text(tmp / "spec.json", kSpec);
  const auto r = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o", "--jobs", "2"});
  REQUIRE(r.code == 0);
  const auto lines = result_lines(tmp / "o/results.jsonl");
  REQUIRE(lines.size() == 3);
  for (const auto& l : lines) CHECK(l["status"] == "ok");
  // The CSV: a header and one row per point.
  const std::string csv = read_text(tmp / "o/results.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);
  CHECK(csv.rfind("point,status,run.seed,weight_store.cache_policy,", 0) == 0);
  // A point's metrics are those of `edgesim run` with the same settings.
  const auto single = run_cli({"run", "-c", "builtin:experiments/tiny.json", "--set",
                               "weight_store.cache_policy=fifo", "--set", "run.seed=1", "--format", "json"});
  REQUIRE(single.code == 0);
  bool found = false;
  for (const auto& l : lines) {
    if (l["axes"]["weight_store.cache_policy"] == "fifo") {
      CHECK(l["metrics"] == json::parse(single.out)["metrics"]);
      found = true;
    }
  }
  CHECK(found);
}

TEST_CASE("resume skips finished points and reruns only what is missing", "[cli][sweep]") {
  TempDir tmp;
  write_text(tmp / "spec.json", kSpec);
  REQUIRE(run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o"}).code == 0);
  // Without --resume an existing sweep is not overwritten.
  const auto again = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o"});
  CHECK(again.code == 2);
  CHECK(again.err.find("--resume") != std::string::npos);
  const auto none = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o", "--resume"});
  REQUIRE(none.code == 0);
  CHECK(none.out.find("0 run now, 3 already done") != std::string::npos);
  // Lose the last line half-written, as an interrupted write would: resume reruns that point.
  std::string text = read_text(tmp / "o/results.jsonl");
  write_text(tmp / "o/results.jsonl", text.substr(0, text.size() - 20));
  const auto one = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o", "--resume"});
  REQUIRE(one.code == 0);
  CHECK(one.out.find("1 run now, 2 already done") != std::string::npos);
  CHECK(result_lines(tmp / "o/results.jsonl").size() == 3);
}

TEST_CASE("a damaged results file is bad input naming its line, on resume and on merge", "[cli][sweep]") {
  TempDir tmp;
  write_text(tmp / "spec.json", kSpec);
  REQUIRE(run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o"}).code == 0);
  const std::vector<json> good = result_lines(tmp / "o/results.jsonl");
  const std::string path = tmp / "o/results.jsonl";
  // Each field that resuming, the CSV and merging read, of another type than they read it
  // as: they were JSON type errors, "simulation failed" (exit 1), before.
  const std::vector<std::pair<std::function<void(json&)>, std::string>> damage = {
      {[](json& r) { r["status"] = 5; }, "no 'status' string"},
      {[](json& r) {
         r["axes"] = json::array({1, 2});
       },
       "'axes' is array, not an object"},
      {[](json& r) { r["index"] = -3; }, "'index' is -3, not a point number"},
      {[](json& r) { r["metrics"] = "x"; }, "an ok record without a 'metrics' object"},
      {[](json& r) { r.erase("point"); }, "no 'point' string"}};
  for (const auto& [change, message] : damage) {
    INFO(message);
    std::string text;
    for (size_t i = 0; i < good.size(); ++i) {
      json r = good[i];
      if (i == 1) change(r);
      text += r.dump() + "\n";
    }
    write_text(path, text);
    expect_bad_input({"sweep", tmp / "spec.json", "--out", tmp / "o", "--resume"},
                     {path + " line 2: not a sweep results record (" + message + ")"});
    fs::remove_all(tmp / "m");
    expect_bad_input({"sweep", "merge", "--out", tmp / "m", tmp / "o"}, {path + " line 2", message});
    CHECK(read_text(path) == text);  // refused, not rewritten
  }
}

TEST_CASE("a failing point is recorded with its error and the sweep goes on", "[cli][sweep]") {
  TempDir tmp;
  write_text(tmp / "spec.json",
             R"({"base": "builtin:experiments/tiny.json", "zip": {"run.tokens": [2, 0, 3]}})");
  const auto r = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o"});
  CHECK(r.code == 1);
  const auto lines = result_lines(tmp / "o/results.jsonl");
  REQUIRE(lines.size() == 3);
  size_t ok = 0;
  for (const auto& l : lines) {
    if (l["status"] == "ok") {
      ++ok;
    } else {
      CHECK(l["axes"]["run.tokens"] == 0);
      CHECK(l["error"].get<std::string>().find("run.tokens") != std::string::npos);
    }
  }
  CHECK(ok == 2);
}

TEST_CASE("a malformed sweep spec is bad input", "[cli][sweep]") {
  TempDir tmp;
  write_text(tmp / "a.json", R"({"grid": {"run.seed": [1]}})");
  write_text(tmp / "b.json",
             R"({"base": "builtin:experiments/tiny.json", "zip": {"run.seed": [1, 2], "run.tokens": [1]}})");
  write_text(tmp / "c.json",
             R"({"base": "builtin:experiments/tiny.json", "grid": {"run.seed": {"range": [3, 1]}}})");
  write_text(tmp / "d.json", R"({"base": "builtin:experiments/tiny.json", "axes": {}})");
  for (const char* f : {"a.json", "b.json", "c.json", "d.json"}) {
    const auto r = run_cli({"sweep", tmp / f, "--out", tmp / "o"});
    CAPTURE(f, r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find("sweep spec") != std::string::npos);
  }
}

TEST_CASE("an interrupted sweep keeps its finished points and resume completes it", "[cli][sweep]") {
  TempDir tmp;
  // Eight points of ~0.3 s each, one at a time.
  write_text(tmp / "spec.json", R"({"base": "builtin:experiments/default.json",
    "grid": {"run.seed": {"range": [1, 8]}}, "zip": {"run.tokens": [16]}})");
  const std::string out = tmp / "o";
  const pid_t pid =
      spawn_cli({"sweep", tmp / "spec.json", "--out", out, "--jobs", "1"}, tmp / "stdout", tmp / "stderr");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  const int code = WEXITSTATUS(status);
  const size_t before = result_lines(out + "/results.jsonl").size();
  if (code == 130) CHECK(before < 8);  // stopped early: only finished points are there
  for (const auto& l : result_lines(out + "/results.jsonl")) CHECK(l["status"] == "ok");
  const auto rest = run_cli({"sweep", tmp / "spec.json", "--out", out, "--resume"});
  REQUIRE(rest.code == 0);
  const auto resumed = result_lines(out + "/results.jsonl");
  CHECK(resumed.size() == 8);
  // The same results as a sweep that was never interrupted, point by point.
  const auto whole = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "whole", "--jobs", "2"});
  REQUIRE(whole.code == 0);
  std::map<std::string, json> want;
  for (const auto& l : result_lines(tmp / "whole/results.jsonl")) want[l["point"].get<std::string>()] = l;
  REQUIRE(want.size() == 8);
  for (const auto& l : resumed) {
    const std::string id = l["point"].get<std::string>();
    INFO("point " << id);
    REQUIRE(want.count(id));
    CHECK(l["metrics"] == want[id]["metrics"]);
  }
  CHECK(read_text(out + "/results.csv") == read_text(tmp / "whole/results.csv"));
}

TEST_CASE("a point that failed and then succeeded on resume has one row in the CSV, the ok one",
          "[cli][sweep]") {
  TempDir tmp;
  write_text(tmp / "spec.json", kSpec);
  REQUIRE(run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o"}).code == 0);
  const std::string csv = read_text(tmp / "o/results.csv");
  // Turn the first point's record into a failure, as if its run had crashed.
  const std::string text = read_text(tmp / "o/results.jsonl");
  json first = json::parse(text.substr(0, text.find('\n')));
  first["status"] = "failed";
  first["error"] = "killed";
  first.erase("metrics");
  write_text(tmp / "o/results.jsonl", first.dump() + text.substr(text.find('\n')));
  const auto r = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o", "--resume"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("1 run now, 2 already done") != std::string::npos);
  CHECK(result_lines(tmp / "o/results.jsonl").size() == 4);  // the failed attempt stays on record
  CHECK(read_text(tmp / "o/results.csv") == csv);
}
