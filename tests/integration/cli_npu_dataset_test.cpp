// `edgesim npu-dataset`: rows and layers for every (network, configuration); a row's
// seed regenerates its network (and `edgesim npu` times it the same); an interrupted run
// resumes losing and duplicating nothing; shards merge into the unsharded run (through
// `npu-dataset merge` and `sweep merge`); bad input exits 2.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "run_cli.hpp"

using namespace edgesim::cli_test;

namespace {

using nlohmann::json;

std::vector<json> jsonl(const std::string& path) {
  std::vector<json> out;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

size_t lines(const std::string& path) {
  const std::string t = read_text(path);
  return static_cast<size_t>(std::count(t.begin(), t.end(), '\n'));
}

/// A small dataset: DS-CNNs of few channels on two configurations.
std::vector<std::string> dataset(const std::string& out, const std::string& count = "6") {
  return {"npu-dataset",
          "--space",
          "dscnn",
          "--count",
          count,
          "--configs",
          "32,128",
          "--seed",
          "11",
          "--set",
          "dscnn.channels_max=64",
          "--out",
          out};
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

}  // namespace

TEST_CASE("npu-dataset writes a row per network and configuration and a row per layer",
          "[cli][npu-dataset]") {
  TempDir tmp;
  run_expect(dataset(tmp / "d"), kOk);
  const std::vector<json> rows = jsonl(tmp / "d/results.jsonl");
  REQUIRE(rows.size() == 12);
  std::set<std::string> networks;
  size_t layer_rows = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& r = rows[i];
    CHECK(r["index"] == i);
    CHECK(r["status"] == "ok");
    networks.insert(r["axes"]["network"].get<std::string>());
    const json& m = r["metrics"];
    CHECK(m["cycles"].get<uint64_t>() > 0);
    CHECK(m["latency_s"].get<double>() == Approx(m["cycles"].get<double>() / 500e6));
    CHECK(m["inferences_per_s"].get<double>() == Approx(1 / m["latency_s"].get<double>()));
    CHECK(m["macs_per_cycle"] == (i % 2 == 0 ? 32 : 128));
    CHECK(m["flash_bytes"].get<uint64_t>() > 0);
    CHECK(m["peak_sram_bytes"].get<uint64_t>() >= m["peak_activation_bytes"].get<uint64_t>());
    CHECK(m["mac_utilisation"].get<double>() > 0);
    CHECK(m["mac_utilisation"].get<double>() <= 1);
    layer_rows += m["layers"].get<size_t>();
  }
  CHECK(networks.size() == 6);
  // The same network is faster on the larger NPU.
  for (size_t i = 0; i < rows.size(); i += 2)
    CHECK(rows[i]["metrics"]["cycles"].get<uint64_t>() > rows[i + 1]["metrics"]["cycles"].get<uint64_t>());
  const std::vector<json> layers = jsonl(tmp / "d/layers.jsonl");
  CHECK(layers.size() == layer_rows);
  // Per-layer cycles add up to no more than the row's (layers overlap only through DMA).
  std::map<std::string, uint64_t> sum;
  for (const json& l : layers) sum[l["point"].get<std::string>()] += l["cycles"].get<uint64_t>();
  for (const json& r : rows)
    CHECK(sum[r["point"].get<std::string>()] == r["metrics"]["cycles"].get<uint64_t>());
  // The layer rows, written as text without json objects, are what a json dump writes
  // (keys sorted; the merge test checks the CSVs the same way).
  std::istringstream layer_lines(read_text(tmp / "d/layers.jsonl"));
  for (std::string line; std::getline(layer_lines, line);) CHECK(json::parse(line).dump() == line);
  // CSVs: a header and one line per record.
  CHECK(lines(tmp / "d/results.csv") == rows.size() + 1);
  CHECK(lines(tmp / "d/layers.csv") == layers.size() + 1);
  CHECK(read_text(tmp / "d/results.csv").rfind("point,index,space,network,seed,config,layers,", 0) == 0);
}

TEST_CASE("a row's seed regenerates its network, and edgesim npu times it the same", "[cli][npu-dataset]") {
  TempDir tmp;
  run_expect(dataset(tmp / "d", "2"), kOk);
  const json row = jsonl(tmp / "d/results.jsonl")[3];  // network 1 on 128 MACs
  const std::string seed = std::to_string(row["axes"]["seed"].get<uint64_t>());
  run_expect({"npu-dataset", "generate", "--space", "dscnn", "--network-seed", seed, "--set",
              "dscnn.channels_max=64", "--tflite", tmp / "n.tflite", "--json", tmp / "n.json"},
             kOk);
  for (const std::string& file : {tmp / "n.tflite", tmp / "n.json"}) {
    INFO(file);
    const json r = run_json(
        {"npu", "--config", "builtin:npu/ethos-u55-128.json", "--network", file, "--timing", "fast"});
    CHECK(r["metrics"]["cycles"] == row["metrics"]["cycles"]);
    CHECK(r["metrics"]["weight_stream_bytes"] == row["metrics"]["flash_bytes"]);
    CHECK(r["metrics"]["macs"] == row["metrics"]["macs"]);
  }
}

TEST_CASE("an interrupted npu-dataset resumes losing and duplicating nothing", "[cli][npu-dataset][resume]") {
  TempDir tmp;
  run_expect(dataset(tmp / "whole"), kOk);
  const std::string rows = read_text(tmp / "whole/results.jsonl");
  const std::string layers = read_text(tmp / "whole/layers.jsonl");

  // A run killed while writing network 2: its layers whole, its first row whole and the
  // second cut, the CSV cut too.
  run_expect(dataset(tmp / "cut"), kOk);
  auto nth_line_end = [](const std::string& t, size_t n) {
    size_t at = 0;
    for (size_t k = 0; k < n; ++k) at = t.find('\n', at) + 1;
    return at;
  };
  const std::vector<json> all_layers = jsonl(tmp / "whole/layers.jsonl");
  size_t layers_of_first_three = 0;
  for (const json& l : all_layers) layers_of_first_three += l["index"].get<uint64_t>() < 6 ? 1 : 0;
  write_text(tmp / "cut/layers.jsonl", layers.substr(0, nth_line_end(layers, layers_of_first_three)));
  const size_t five = nth_line_end(rows, 5);
  write_text(tmp / "cut/results.jsonl", rows.substr(0, five + 40));  // rows 0-4 and part of row 5
  const std::string csv = read_text(tmp / "cut/results.csv");
  write_text(tmp / "cut/results.csv", csv.substr(0, csv.size() / 2));

  // Without --resume the folder is refused; with it the run completes.
  run_expect(dataset(tmp / "cut"), kBadInput);
  const CliResult r = run_expect(with(dataset(tmp / "cut"), {"--resume"}), kOk);
  CHECK_THAT(r.out, Catch::Contains("4 made now") && Catch::Contains("2 already done") &&
                        Catch::Contains("1 partial rows"));
  CHECK(read_text(tmp / "cut/results.jsonl") == rows);
  CHECK(read_text(tmp / "cut/layers.jsonl") == layers);
  CHECK(read_text(tmp / "cut/results.csv") == read_text(tmp / "whole/results.csv"));
  CHECK(read_text(tmp / "cut/layers.csv") == read_text(tmp / "whole/layers.csv"));
  // Resuming a complete folder makes nothing.
  const CliResult again = run_expect(with(dataset(tmp / "cut"), {"--resume"}), kOk);
  CHECK_THAT(again.out, Catch::Contains("0 made now") && Catch::Contains("6 already done"));
  CHECK(read_text(tmp / "cut/results.jsonl") == rows);
}

TEST_CASE("a damaged dataset file is bad input naming its line, on resume and on merge",
          "[cli][npu-dataset][resume]") {
  TempDir tmp;
  run_expect(dataset(tmp / "d", "2"), kOk);
  const std::string rows = read_text(tmp / "d/results.jsonl"), layers = read_text(tmp / "d/layers.jsonl");
  // The second line of each file with a field that resuming and merging read as a count
  // made a string or removed: they were JSON type errors (exit 1) before.
  auto damage = [](const std::string& text, const std::function<void(json&)>& change) {
    std::istringstream in(text);
    std::string line, out;
    for (int n = 1; std::getline(in, line); ++n) {
      json r = json::parse(line);
      if (n == 2) change(r);
      out += r.dump() + "\n";
    }
    return out;
  };
  write_text(tmp / "d/layers.jsonl", damage(layers, [](json& r) { r["layer"] = "x"; }));
  const std::string where = tmp / "d/layers.jsonl line 2: not an npu-dataset record (no 'layer' count)";
  expect_bad_input(with(dataset(tmp / "d", "2"), {"--resume"}), {where});
  expect_bad_input({"npu-dataset", "merge", "--out", tmp / "m", tmp / "d"}, {where});
  write_text(tmp / "d/layers.jsonl", layers);
  write_text(tmp / "d/results.jsonl", damage(rows, [](json& r) { r.erase("point"); }));
  expect_bad_input(with(dataset(tmp / "d", "2"), {"--resume"}),
                   {tmp / "d/results.jsonl line 2: not an npu-dataset record (no 'point' string)"});
  write_text(tmp / "d/results.jsonl", damage(rows, [](json& r) { r["index"] = -1; }));
  expect_bad_input(with(dataset(tmp / "d", "2"), {"--resume"}),
                   {tmp / "d/results.jsonl line 2: not an npu-dataset record (no 'index' count)"});
}

TEST_CASE("npu-dataset shards merge into the unsharded run, and threads change nothing",
          "[cli][npu-dataset][shard]") {
  TempDir tmp;
  run_expect(dataset(tmp / "whole", "7"), kOk);
  run_expect(with(dataset(tmp / "threads", "7"), {"--jobs", "3"}), kOk);
  CHECK(read_text(tmp / "threads/results.jsonl") == read_text(tmp / "whole/results.jsonl"));
  CHECK(read_text(tmp / "threads/layers.jsonl") == read_text(tmp / "whole/layers.jsonl"));
  std::vector<std::string> dirs;
  for (int k = 0; k < 3; ++k) {
    dirs.push_back(tmp / ("s" + std::to_string(k)));
    run_expect(with(dataset(dirs.back(), "7"), {"--shard", std::to_string(k) + "/3"}), kOk);
  }
  CHECK(jsonl(dirs[0] + "/results.jsonl").size() == 3 * 2);  // networks 0, 3, 6
  run_expect(with({"npu-dataset", "merge", "--out", tmp / "m"}, dirs), kOk);
  run_expect(with({"sweep", "merge", "--out", tmp / "m2"}, dirs), kOk);
  for (const std::string m : {"m", "m2"}) {
    INFO(m);
    CHECK(read_text(tmp / (m + "/results.jsonl")) == read_text(tmp / "whole/results.jsonl"));
    CHECK(read_text(tmp / (m + "/layers.jsonl")) == read_text(tmp / "whole/layers.jsonl"));
    CHECK(read_text(tmp / (m + "/results.csv")) == read_text(tmp / "whole/results.csv"));
    CHECK(read_text(tmp / (m + "/layers.csv")) == read_text(tmp / "whole/layers.csv"));
  }
  // Shards of another dataset (another seed) do not merge with these.
  run_expect({"npu-dataset", "--space", "dscnn", "--count", "7", "--configs", "32,128", "--seed", "12",
              "--set", "dscnn.channels_max=64", "--out", tmp / "other"},
             kOk);
  expect_bad_input({"npu-dataset", "merge", "--out", tmp / "m3", dirs[0], tmp / "other"},
                   {"not shards of one sweep"});
}

TEST_CASE("npu-dataset rejects bad input with exit code 2", "[cli][npu-dataset][errors]") {
  TempDir tmp;
  expect_bad_input({"npu-dataset", "--space", "mobilenet", "--count", "2", "--out", tmp / "a"},
                   {"no space named 'mobilenet'"});
  expect_bad_input(
      {"npu-dataset", "--space", "mobilenetv2", "--count", "2", "--set", "mobilenetv2.resolution_min=100",
       "--set", "mobilenetv2.resolution_max=120", "--out", tmp / "b"},
      {"yields no valid network"});
  expect_bad_input(with(dataset(tmp / "c"), {"--shard", "3/3"}), {"0 <= K < N"});
  expect_bad_input({"npu-dataset", "--space", "dscnn", "--count", "0", "--out", tmp / "d"}, {"--count"});
  expect_bad_input({"npu-dataset", "--space", "dscnn", "--count", "2", "--configs", "48", "--out", tmp / "e"},
                   {"--configs '48'"});
  expect_bad_input(
      {"npu-dataset", "--space", "dscnn", "--count", "2", "--set", "dscnn.chanels_max=8", "--out", tmp / "f"},
      {"did you mean 'channels_max'"});
  CHECK_FALSE(fs::exists(tmp / "b/results.jsonl"));
}
