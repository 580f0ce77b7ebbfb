// Sweep specs expand into points; shards partition them; Slurm array variables name a shard.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "sim/core/errors.hpp"
#include "sim/sweep.hpp"

using namespace edgesim;
using nlohmann::json;

namespace {

json tiny_spec(const json& axes) {
  json spec = axes;
  spec["base"] = json{{"run", {{"seed", 1}}}};
  return spec;
}

}  // namespace

TEST_CASE("a grid multiplies its axes, a zip advances together, and skip rules drop points", "[sweep]") {
  const json spec = tiny_spec({{"grid", {{"a", {1, 2}}, {"b", {{"range", {10, 30, 10}}}}}},
                               {"zip", {{"c", {"x", "y"}}, {"d", {true, false}}}},
                               {"skip", {{{"a", 2}, {"c", "y"}}}}});
  const auto points = sim::expand_sweep(spec, "spec.json");
  REQUIRE(points.size() == 2 * 3 * 2 - 3);  // 3 points have a = 2 and c = y
  std::set<std::string> seen;
  for (const auto& p : points) {
    CHECK_FALSE((p.axes["a"] == 2 && p.axes["c"] == "y"));
    CHECK(p.config["a"] == p.axes["a"]);
    CHECK(p.config["c"] == p.axes["c"]);
    CHECK(p.config["run"]["seed"] == 1);  // the base stays under the axes
    CHECK((p.axes["c"] == "x") == (p.axes["d"] == true));
    seen.insert(p.axes.dump());
  }
  CHECK(seen.size() == points.size());
  // Deterministic order: the last grid axis varies fastest, the zip inside it.
  CHECK(points[0].axes == json{{"a", 1}, {"b", 10}, {"c", "x"}, {"d", true}});
  CHECK(points[1].axes == json{{"a", 1}, {"b", 10}, {"c", "y"}, {"d", false}});
  CHECK(points[2].axes["b"] == 20);
}

TEST_CASE("ranges are integral when their ends are, and fractional steps work", "[sweep]") {
  const auto ints = sim::expand_sweep(tiny_spec({{"grid", {{"k", {{"range", {1, 3}}}}}}}), "s");
  REQUIRE(ints.size() == 3);
  CHECK(ints[2].axes["k"].is_number_integer());
  const auto reals = sim::expand_sweep(tiny_spec({{"grid", {{"k", {{"range", {0.5, 1.0, 0.25}}}}}}}), "s");
  REQUIRE(reals.size() == 3);
  CHECK(reals[2].axes["k"] == 1.0);
}

TEST_CASE("every point is in exactly one shard, and shards differ in size by one at most", "[sweep]") {
  for (uint64_t n : {1, 2, 3, 7}) {
    std::map<uint64_t, uint64_t> size;
    for (uint64_t i = 0; i < 50; ++i) {
      int owners = 0;
      for (uint64_t k = 0; k < n; ++k) {
        if (sim::Shard{k, n}.contains(i)) {
          ++owners;
          ++size[k];
        }
      }
      CHECK(owners == 1);
    }
    for (const auto& [k, s] : size) CHECK((s == 50 / n || s == 50 / n + 1));
  }
}

TEST_CASE("the shard option takes K/N with a 0-based K below N", "[sweep]") {
  const sim::Shard s = sim::parse_shard("2/5", "--shard");
  CHECK(s.index == 2);
  CHECK(s.count == 5);
  CHECK(s.str() == "2/5");
  for (const char* bad : {"5/5", "1/0", "1", "a/3", "-1/3", "1/3/4", "/3", ""}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(sim::parse_shard(bad, "--shard"), InputError);
  }
}

TEST_CASE("a Slurm array task names its shard whatever the array's first index and step", "[sweep]") {
  std::map<std::string, std::string> env;
  auto get = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  CHECK_FALSE(sim::shard_from_slurm(get).has_value());
  env = {{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}};
  CHECK(sim::shard_from_slurm(get)->str() == "3/4");
  env["SLURM_ARRAY_TASK_MIN"] = "1";  // --array=1-4
  CHECK(sim::shard_from_slurm(get)->str() == "2/4");
  env = {{"SLURM_ARRAY_TASK_ID", "14"},
         {"SLURM_ARRAY_TASK_COUNT", "8"},
         {"SLURM_ARRAY_TASK_MIN", "0"},
         {"SLURM_ARRAY_TASK_STEP", "2"}};  // --array=0-14:2
  CHECK(sim::shard_from_slurm(get)->str() == "7/8");
  env["SLURM_ARRAY_TASK_ID"] = "3";  // not on the step: a list such as --array=0,3,7
  CHECK_THROWS_AS(sim::shard_from_slurm(get), InputError);
  env = {{"SLURM_ARRAY_TASK_ID", "9"}, {"SLURM_ARRAY_TASK_COUNT", "4"}};
  CHECK_THROWS_AS(sim::shard_from_slurm(get), InputError);
  env = {{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_COUNT", "4"}};
  CHECK_THROWS_AS(sim::shard_from_slurm(get), InputError);
}

TEST_CASE("a sweep's id follows its points and their order", "[sweep]") {
  CHECK(sim::sweep_id({"a", "b"}) == sim::sweep_id({"a", "b"}));
  CHECK(sim::sweep_id({"a", "b"}) != sim::sweep_id({"b", "a"}));
  CHECK(sim::sweep_id({"ab"}) != sim::sweep_id({"a", "b"}));
  CHECK(sim::sweep_id({"a", "b"}).size() == 16);
}
