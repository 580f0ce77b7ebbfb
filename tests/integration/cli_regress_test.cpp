// `edgesim regress`: the committed suite passes on its goldens and fails on perturbed ones.
#include <catch2/catch.hpp>

#include "run_cli.hpp"

using namespace edgesim::cli_test;

namespace {

using nlohmann::json;

const std::string kSuite = source_path("configs/regress/spine.json");

/// A copy of the committed goldens in a temporary folder.
std::string copy_goldens(const TempDir& tmp) {
  const std::string dir = tmp / "golden";
  fs::copy(source_path("tests/golden/spine"), dir, fs::copy_options::recursive);
  return dir;
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
  const std::string dir = copy_goldens(tmp);
  const auto pass = run_expect({"regress", kSuite, "--golden-dir", dir}, kOk);
  CHECK_THAT(pass.out, Catch::Matchers::Contains("all within tolerance"));

  // Within the default tolerance (rel 1e-6): still passes.
  scale_metric(dir + "/tiny.json", "tokens_per_s", 1 + 1e-8);
  run_expect({"regress", kSuite, "--golden-dir", dir}, kOk);

  scale_metric(dir + "/tiny.json", "tokens_per_s", 1.01);
  scale_metric(dir + "/default-opt.json", "memory_footprint_bytes.kv_cache", 1, 1);  // exact: abs 0
  const auto fail = run_expect({"regress", kSuite, "--golden-dir", dir}, kSimFailure);
  CHECK_THAT(fail.out, Catch::Matchers::Contains("2 experiment(s) fail, 2 metric(s) past tolerance"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("experiment"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("tolerance"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("tokens_per_s"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("-0.99 %"));  // now is 1 % below the perturbed golden
  CHECK_THAT(fail.out, Catch::Matchers::Contains("memory_footprint_bytes.kv_cache"));
  CHECK_THAT(fail.out, Catch::Matchers::Contains("abs 0"));

  const auto js = run_expect({"regress", kSuite, "--golden-dir", dir, "--format", "json"}, kSimFailure);
  const json report = json::parse(js.out);
  CHECK(report["status"] == "fail");
  std::map<std::string, std::vector<std::string>> failing;
  for (const auto& e : report["experiments"]) {
    for (const auto& f : e["failures"]) failing[e["name"].get<std::string>()].push_back(f["metric"]);
  }
  CHECK(failing == std::map<std::string, std::vector<std::string>>{
                       {"tiny", {"tokens_per_s"}}, {"default-opt", {"memory_footprint_bytes.kv_cache"}}});

  const auto csv = run_expect({"regress", kSuite, "--golden-dir", dir, "--format", "csv"}, kSimFailure);
  CHECK(csv.out.rfind("experiment,metric,golden,now,diff,tolerance_rel,tolerance_abs,pass\n", 0) == 0);
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') > 100);  // every metric checked, one row each
  CHECK_THAT(csv.out, Catch::Matchers::Contains("tiny,tokens_per_s,"));
  CHECK(std::count(csv.out.begin(), csv.out.end(), 'f') >= 2);

  // --update accepts the current estimates: the suite passes again.
  const auto upd = run_expect({"regress", kSuite, "--golden-dir", dir, "--update"}, kOk);
  CHECK_THAT(upd.out, Catch::Matchers::Contains("wrote 8 of 8 goldens"));
  run_expect({"regress", kSuite, "--golden-dir", dir}, kOk);
}

TEST_CASE("regress --update writes the goldens the repository holds", "[cli][regress]") {
  TempDir tmp;
  run_expect({"regress", kSuite, "--golden-dir", tmp / "new", "--update"}, kOk);
  for (const auto& e : fs::directory_iterator(source_path("tests/golden/spine"))) {
    const std::string name = e.path().filename().string();
    INFO(name);
    REQUIRE(fs::exists(tmp / ("new/" + name)));
    const json want = json::parse(read_text(e.path().string()));
    const json got = json::parse(read_text(tmp / ("new/" + name)));
    CHECK(got == want);
  }
}

TEST_CASE("regress without a golden is bad input that says how to create it", "[cli][regress]") {
  TempDir tmp;
  fs::create_directories(tmp / "none");
  expect_bad_input({"regress", kSuite, "--golden-dir", tmp / "none"},
                   {"no golden for experiment", "--update", tmp / "none"});
  write_text(tmp / "none/tiny.json", R"({"metrics": {}})");
  expect_bad_input({"regress", kSuite, "--golden-dir", tmp / "none"}, {"not an edgesim golden"});
  expect_bad_input({"regress"}, {"no suite given"});
  expect_bad_input({"regress", kSuite, "--format", "xml"}, {"--format 'xml'"});
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
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string suite = tmp / ("s" + std::to_string(i) + ".json");
    write_text(suite, cases[i].first);
    auto needles = cases[i].second;
    needles.push_back("regress suite " + suite);
    expect_bad_input({"regress", suite, "--golden-dir", tmp.path()}, needles);
  }
}
