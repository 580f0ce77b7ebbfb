// `edgesim sweep --shard K/N` and `edgesim sweep merge`: shards run as separate processes
// cover every point exactly once, and their merge equals the unsharded sweep.
#include <sys/wait.h>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>

#include "run_cli.hpp"

using namespace edgesim::cli_test;

namespace {

using nlohmann::json;

/// point id -> record of a results.jsonl.
std::map<std::string, json> records_by_id(const std::string& path) {
  std::map<std::string, json> out;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line)) {
    const json r = json::parse(line);
    out[r["point"].get<std::string>()] = r;
  }
  return out;
}

size_t line_count(const std::string& path) {
  const std::string text = read_text(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// 3 x 4 grid points, two of which repeat a seed: 9 distinct points.
const char* kSpec = R"({"base": "builtin:experiments/tiny.json",
  "grid": {"weight_store.cache_policy": ["lru", "fifo", "opt"], "run.seed": [1, 2, 1, 3]}})";

}  // namespace

TEST_CASE("shards run as separate processes cover every point once and merge into the unsharded sweep",
          "[cli][sweep][shard]") {
  TempDir tmp;
  write_text(tmp / "spec.json", kSpec);
  run_expect({"sweep", tmp / "spec.json", "--out", tmp / "whole", "--jobs", "2"}, kOk);
  const auto whole = records_by_id(tmp / "whole/results.jsonl");
  REQUIRE(whole.size() == 9);

  constexpr int kShards = 4;
  std::vector<pid_t> pids;
  std::vector<std::string> dirs;
  for (int k = 0; k < kShards; ++k) {
    const std::string dir = tmp / ("shard-" + std::to_string(k));
    dirs.push_back(dir);
    pids.push_back(spawn_cli({"sweep", tmp / "spec.json", "--out", dir, "--jobs", "1", "--shard",
                              std::to_string(k) + "/" + std::to_string(kShards)},
                             dir + ".stdout", dir + ".stderr"));
  }
  for (int k = 0; k < kShards; ++k) {
    int status = 0;
    REQUIRE(::waitpid(pids[k], &status, 0) == pids[k]);
    INFO("shard " << k << " stderr: " << read_text(dirs[k] + ".stderr"));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  std::map<std::string, int> owners;
  for (int k = 0; k < kShards; ++k) {
    const json manifest = json::parse(read_text(dirs[k] + "/sweep.json"));
    CHECK(manifest["shard"] == json{{"index", k}, {"count", kShards}});
    CHECK(manifest["points"] == 9);
    const auto recs = records_by_id(dirs[k] + "/results.jsonl");
    CHECK(line_count(dirs[k] + "/results.jsonl") == recs.size());
    CHECK((recs.size() == 2 || recs.size() == 3));  // 9 points over 4 shards
    for (const auto& [id, r] : recs) {
      ++owners[id];
      CHECK(r["index"].get<int>() % kShards == k);
    }
  }
  for (const auto& [id, r] : whole) {
    INFO("point " << id);
    CHECK(owners[id] == 1);
  }
  CHECK(owners.size() == whole.size());

  std::vector<std::string> merge = {"sweep", "merge", "--out", tmp / "merged"};
  merge.insert(merge.end(), dirs.rbegin(), dirs.rend());  // the order of the folders does not matter
  const auto m = run_expect(merge, kOk);
  CHECK_THAT(m.out, Catch::Matchers::Contains("9 of 9 points"));
  const auto merged = records_by_id(tmp / "merged/results.jsonl");
  REQUIRE(merged.size() == whole.size());
  for (const auto& [id, r] : whole) {
    INFO("point " << id);
    REQUIRE(merged.count(id));
    CHECK(merged.at(id)["metrics"] == r["metrics"]);
    CHECK(merged.at(id)["axes"] == r["axes"]);
    CHECK(fs::exists(tmp / ("merged/points/" + id + ".json")));
  }
  CHECK(read_text(tmp / "merged/results.csv") == read_text(tmp / "whole/results.csv"));
  CHECK(json::parse(read_text(tmp / "merged/sweep.json"))["sweep_id"] ==
        json::parse(read_text(tmp / "whole/sweep.json"))["sweep_id"]);
}

TEST_CASE("merging shards with a missing shard says what is missing, and resume completes it",
          "[cli][sweep][shard]") {
  TempDir tmp;
  write_text(tmp / "spec.json", kSpec);
  run_expect({"sweep", tmp / "spec.json", "--out", tmp / "s0", "--shard", "0/3"}, kOk);
  run_expect({"sweep", tmp / "spec.json", "--out", tmp / "s2", "--shard", "2/3"}, kOk);
  const auto m = run_expect({"sweep", "merge", "--out", tmp / "m", tmp / "s0", tmp / "s2"}, kOk);
  CHECK_THAT(m.out, Catch::Matchers::Contains("6 of 9 points"));
  CHECK_THAT(m.err, Catch::Matchers::Contains("shard(s) 1 of the 3 shards"));
  const auto rest = run_expect({"sweep", tmp / "spec.json", "--out", tmp / "m", "--resume"}, kOk);
  CHECK_THAT(rest.out, Catch::Matchers::Contains("3 run now, 6 already done"));
  CHECK(records_by_id(tmp / "m/results.jsonl").size() == 9);
}

TEST_CASE("merge refuses other sweeps, conflicting results, non-sweep folders and a used output",
          "[cli][sweep][shard]") {
  TempDir tmp;
  write_text(tmp / "spec.json", kSpec);
  write_text(tmp / "other.json",
             R"({"base": "builtin:experiments/tiny.json", "grid": {"run.seed": [7, 8]}})");
  run_expect({"sweep", tmp / "spec.json", "--out", tmp / "a", "--shard", "0/2"}, kOk);
  run_expect({"sweep", tmp / "other.json", "--out", tmp / "b", "--shard", "1/2"}, kOk);
  expect_bad_input({"sweep", "merge", "--out", tmp / "m", tmp / "a", tmp / "b"},
                   {"not shards of one sweep", tmp / "b", "other.json"});

  // A copy of shard a with one metric changed: two different results for one point.
  fs::copy(tmp / "a", tmp / "a2", fs::copy_options::recursive);
  std::string text = read_text(tmp / "a2/results.jsonl");
  json first = json::parse(text.substr(0, text.find('\n')));
  first["metrics"]["tokens_per_s"] = first["metrics"]["tokens_per_s"].get<double>() * 1.5;
  write_text(tmp / "a2/results.jsonl", first.dump() + text.substr(text.find('\n')));
  expect_bad_input({"sweep", "merge", "--out", tmp / "m", tmp / "a", tmp / "a2"},
                   {"conflicting results for point " + first["point"].get<std::string>(), "tokens_per_s"});
  CHECK_FALSE(fs::exists(tmp / "m/results.jsonl"));

  fs::create_directories(tmp / "empty");
  expect_bad_input({"sweep", "merge", "--out", tmp / "m", tmp / "empty"}, {"not a sweep output folder"});
  expect_bad_input({"sweep", "merge", "--out", tmp / "m", tmp / "nothing"}, {"is not a folder"});
  expect_bad_input({"sweep", "merge", tmp / "a"}, {"--out"});
  run_expect({"sweep", "merge", "--out", tmp / "m", tmp / "a"}, kOk);
  expect_bad_input({"sweep", "merge", "--out", tmp / "m", tmp / "a"}, {"already holds results"});
}

TEST_CASE("the shard option is checked and a Slurm array task picks its shard", "[cli][sweep][shard]") {
  TempDir tmp;
  write_text(tmp / "spec.json", kSpec);
  expect_bad_input({"sweep", tmp / "spec.json", "--out", tmp / "x", "--shard", "3/3"},
                   {"--shard '3/3'", "K/N"});
  expect_bad_input({"sweep", tmp / "spec.json", "--out", tmp / "x", "--shard", "one"}, {"--shard 'one'"});

  // --array=2-4: task 4 is shard 2 of 3.
  const Env slurm = {
      {"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_MIN", "2"}, {"SLURM_ARRAY_TASK_COUNT", "3"}};
  REQUIRE(run_cli({"sweep", tmp / "spec.json", "--out", tmp / "env"}, slurm).code == 0);
  CHECK(json::parse(read_text(tmp / "env/sweep.json"))["shard"] == json{{"index", 2}, {"count", 3}});
  run_expect({"sweep", tmp / "spec.json", "--out", tmp / "opt", "--shard", "2/3"}, kOk);
  auto ids = [](const std::map<std::string, json>& m) {
    std::set<std::string> s;
    for (const auto& [id, r] : m) s.insert(id);
    return s;
  };
  CHECK(ids(records_by_id(tmp / "env/results.jsonl")) == ids(records_by_id(tmp / "opt/results.jsonl")));
  // --shard wins over the environment; 0/1 is the whole sweep.
  REQUIRE(run_cli({"sweep", tmp / "spec.json", "--out", tmp / "all", "--shard", "0/1"}, slurm).code == 0);
  CHECK(records_by_id(tmp / "all/results.jsonl").size() == 9);
  // A task outside the array's range.
  const auto bad = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "y"},
                           {{"SLURM_ARRAY_TASK_ID", "9"}, {"SLURM_ARRAY_TASK_COUNT", "3"}});
  CHECK(bad.code == kBadInput);
  CHECK_THAT(bad.err, Catch::Matchers::Contains("Slurm array task 9"));
  // Resuming into a folder that holds another shard is refused.
  expect_bad_input({"sweep", tmp / "spec.json", "--out", tmp / "opt", "--shard", "1/3", "--resume"},
                   {"holds shard 2/3"});
  expect_bad_input({"sweep", tmp / "spec.json", "--out", tmp / "env", "--shard", "0/3", "--resume"},
                   {"holds shard 2/3"});
}
