// `edgesim regress`: the committed suite passes on its goldens and fails on perturbed ones.
#include <catch2/catch.hpp>
#include <map>

#include "run_cli.hpp"

using namespace edgesim::cli_test;

namespace {

using nlohmann::json;

// The committed spine suite less its experiments of the default model (seconds each under
// the sanitizers): the tiny experiments, checked against the committed goldens. ctest runs
// the whole suite too ("regress: the spine suite is within tolerance of its goldens").
struct TinySuite {
  std::string suite, goldens;
  size_t experiments = 0;
};

TinySuite tiny_suite(const TempDir& tmp) {
  json suite = json::parse(read_text(source_path("configs/regress/spine.json")));
  json kept = json::array();
  for (const auto& e : suite["experiments"]) {
    if (e["name"].get<std::string>().rfind("tiny", 0) == 0) kept.push_back(e);
  }
  REQUIRE(kept.size() >= 3);
  suite["experiments"] = kept;
  TinySuite t;
  t.goldens = tmp / "golden";
  suite["golden_dir"] = t.goldens;
  t.suite = tmp / "spine.json";
  write_text(t.suite, suite.dump(2));
  fs::create_directories(t.goldens);
  for (const auto& e : kept) {
    const std::string name = e["name"].get<std::string>() + ".json";
    fs::copy_file(source_path("tests/golden/spine/" + name), t.goldens + "/" + name);
  }
  t.experiments = kept.size();
  return t;
}

void scale_metric(const std::string& golden, const std::string& metric, double factor, double add = 0) {
  json g = json::parse(read_text(golden));
  REQUIRE(g["metrics"].contains(metric));
  g["metrics"][metric] = g["metrics"][metric].get<double>() * factor + add;
  write_text(golden, g.dump(2));
}

}  // namespace

TEST_CASE("regress passes on the committed goldens and fails on perturbed ones, listing what moved",
          "[cli][regress]") {
  TempDir tmp;
  const TinySuite t = tiny_suite(tmp);
  const std::string dir = t.goldens;
  const auto pass = run_expect({"regress", t.suite}, kOk);
  CHECK_THAT(pass.out, Catch::Matchers::Contains("all within tolerance"));

  // Within the default tolerance (rel 1e-6): still passes.
  scale_metric(dir + "/tiny.json", "tokens_per_s", 1 + 1e-8);
  run_expect({"regress", t.suite}, kOk);

  scale_metric(dir + "/tiny.json", "tokens_per_s", 1.01);
  scale_metric(dir + "/tiny-small-cache-opt.json", "memory_footprint_bytes.kv_cache", 1, 1);  // exact: abs 0
  const auto fail = run_expect({"regress", t.suite}, kSimFailure);
  CHECK_THAT(fail.out, Catch::Matchers::Contains("2 experiment(s) fail, 2 metric(s) past tolerance"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("experiment"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("tolerance"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("tokens_per_s"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("-0.99 %"));  // now is 1 % below the perturbed golden
  CHECK_THAT(fail.out, Catch::Matchers::Contains("memory_footprint_bytes.kv_cache"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("exact (abs 0)"));

  const auto js = run_expect({"regress", t.suite, "--format", "json"}, kSimFailure);
  const json report = json::parse(js.out);
  CHECK(report["status"] == "fail");
  std::map<std::string, std::vector<std::string>> failing;
  for (const auto& e : report["experiments"]) {
    for (const auto& f : e["failures"]) failing[e["name"].get<std::string>()].push_back(f["metric"]);
  }
  CHECK(failing ==
        std::map<std::string, std::vector<std::string>>{
            {"tiny", {"tokens_per_s"}}, {"tiny-small-cache-opt", {"memory_footprint_bytes.kv_cache"}}});

  const auto csv = run_expect({"regress", t.suite, "--format", "csv"}, kSimFailure);
  CHECK(csv.out.rfind("experiment,metric,golden,now,diff,tolerance_rel,tolerance_abs,pass\n", 0) == 0);
  CHECK(static_cast<size_t>(std::count(csv.out.begin(), csv.out.end(), '\n')) > 20 * t.experiments);
  CHECK_THAT(csv.out, Catch::Matchers::Contains("tiny,tokens_per_s,"));

  // The same perturbed goldens through --golden-dir, with the suite naming other ones.
  TempDir other;
  json suite = json::parse(read_text(t.suite));
  suite["golden_dir"] = other / "nowhere";
  write_text(other / "suite.json", suite.dump());
  run_expect({"regress", other / "suite.json", "--golden-dir", dir}, kSimFailure);

  // --update accepts the current estimates: the suite passes again.
  const auto upd = run_expect({"regress", t.suite, "--update"}, kOk);
  CHECK_THAT(upd.out, Catch::Matchers::Contains("wrote " + std::to_string(t.experiments) + " of " +
                                                std::to_string(t.experiments) + " goldens"));
  run_expect({"regress", t.suite}, kOk);
}

TEST_CASE("regress --update writes the goldens the repository holds", "[cli][regress]") {
  TempDir tmp;
  const TinySuite t = tiny_suite(tmp);
  run_expect({"regress", t.suite, "--golden-dir", tmp / "new", "--update"}, kOk);
  size_t compared = 0;
  for (const auto& e : fs::directory_iterator(t.goldens)) {
    const std::string name = e.path().filename().string();
    INFO(name);
    REQUIRE(fs::exists(tmp / ("new/" + name)));
    CHECK(json::parse(read_text(tmp / ("new/" + name))) == json::parse(read_text(e.path().string())));
    ++compared;
  }
  CHECK(compared == t.experiments);
}

TEST_CASE("regress without a golden is bad input that says how to create it", "[cli][regress]") {
  TempDir tmp;
  const TinySuite t = tiny_suite(tmp);
  fs::create_directories(tmp / "none");
  expect_bad_input({"regress", t.suite, "--golden-dir", tmp / "none"},
                   {"no golden for experiment", "--update", tmp / "none"});
  write_text(tmp / "none/tiny.json", R"({"metrics": {}})");
  expect_bad_input({"regress", t.suite, "--golden-dir", tmp / "none"}, {"not an edgesim golden"});
  // A schema that is not a string (a JSON type error, exit 1, before).
  write_text(tmp / "none/tiny.json", R"({"schema": 5, "config_hash": "x", "metrics": {}})");
  expect_bad_input({"regress", t.suite, "--golden-dir", tmp / "none"}, {"not an edgesim golden"});
  expect_bad_input({"regress"}, {"no suite given"});
  expect_bad_input({"regress", t.suite, "--format", "xml"}, {"--format 'xml'"});
}

TEST_CASE("a malformed regression suite is bad input naming where", "[cli][regress]") {
  TempDir tmp;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {R"({"experiments": [{"name": "a", "config": "builtin:experiments/tiny.json"}], "tolerances": {}})",
       {"unknown key 'tolerances'"}},
      {R"({"experiments": []})", {"experiments: expected a non-empty list"}},
      {R"({"experiments": [{"name": "a", "config": "builtin:experiments/tiny.json"},
                           {"name": "a", "config": "builtin:experiments/tiny.json"}]})",
       {"experiments[1].name", "appears twice"}},
      {R"({"experiments": [{"name": "a/b", "config": "builtin:experiments/tiny.json"}]})",
       {"experiments[0].name"}},
      {R"({"experiments": [{"name": "a", "config": "builtin:experiments/tiny.json"}],
           "tolerance": {"tokens_per_s": {"rel": -1}}})",
       {"tolerance.tokens_per_s.rel", "non-negative"}},
      {R"({"experiments": [{"name": "a", "config": "builtin:experiments/tiny.json",
                            "set": {"weight_store.cache_polcy": "lru"}}]})",
       {"experiment 'a'", "did you mean 'cache_policy'"}},
      {R"({"experiments": [{"name": "a", "config": "nowhere.json"}]})", {"experiment 'a'", "nowhere.json"}},
      {R"({"experiments": [{"name": "n", "config": "builtin:npu/ethos-u55-128.json", "network": "none.json"}]})",
       {"experiment 'n'", "none.json"}},
      {R"({"experiments": [{"name": "n", "config": "builtin:experiments/tiny.json", "input": "x.csv"}]})",
       {"experiments[0].input", "only with a network"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string suite = tmp / ("s" + std::to_string(i) + ".json");
    write_text(suite, cases[i].first);
    auto needles = cases[i].second;
    needles.push_back("regress suite " + suite);
    expect_bad_input({"regress", suite, "--golden-dir", tmp.path()}, needles);
  }
}

TEST_CASE("regress runs NPU experiments and compares their layers by name", "[cli][regress][npu]") {
  TempDir tmp;
  json suite = json::parse(read_text(source_path("configs/regress/spine.json")));
  json kept = json::array();
  for (auto e : suite["experiments"]) {
    if (!e.contains("network")) continue;
    const std::string name = e["name"].get<std::string>() + ".json";
    fs::copy_file(source_path("tests/golden/spine/" + name), tmp / name);
    e["network"] =
        source_path("configs/networks/" + fs::path(e["network"].get<std::string>()).filename().string());
    if (e.contains("input"))
      e["input"] = source_path("data/" + fs::path(e["input"].get<std::string>()).filename().string());
    kept.push_back(e);
  }
  REQUIRE(kept.size() == 2);
  suite["experiments"] = kept;
  suite["golden_dir"] = tmp.path();
  write_text(tmp / "suite.json", suite.dump(2));
  run_expect({"regress", tmp / "suite.json"}, kOk);

  // One layer's cycles and the held-out accuracy move: both are named, by layer.
  const std::string golden = tmp / "npu-digits-128-flash.json";
  scale_metric(golden, "layers.conv1.cycles", 1, 1);
  scale_metric(golden, "inputs.accuracy", 1, -0.01);
  const auto fail = run_expect({"regress", tmp / "suite.json"}, kSimFailure);
  CHECK_THAT(fail.out, Catch::Matchers::Contains("1 experiment(s) fail, 2 metric(s) past tolerance"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("layers.conv1.cycles"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("inputs.accuracy"));
}
