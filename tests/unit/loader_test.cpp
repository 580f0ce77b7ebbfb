#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"

using namespace edgesim;
using namespace edgesim::config;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  char tmpl[] = "/tmp/edgesim-loader-XXXXXX";
  return fs::path(::mkdtemp(tmpl));
}
void write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}
}  // namespace

TEST_CASE("extends merges parents in order and the file's own keys win", "[config]") {
  const fs::path d = temp_dir();
  write(d / "a.json", R"({"device": {"dram": {"channels": 2, "latency": "90 ns"}}, "run": {"tokens": 3}})");
  write(d / "b.json", R"({"device": {"dram": {"channels": 4}}})");
  write(d / "c.json", R"({"extends": ["a.json", "b.json"], "run": {"tokens": 5}})");
  const json c = load_config((d / "c.json").string());
  CHECK(c["device"]["dram"]["channels"] == 4);
  CHECK(c["device"]["dram"]["latency"] == "90 ns");
  CHECK(c["run"]["tokens"] == 5);
  CHECK_FALSE(c.contains("extends"));
  fs::remove_all(d);
}

TEST_CASE("an extends cycle is reported", "[config]") {
  const fs::path d = temp_dir();
  write(d / "a.json", R"({"extends": "b.json"})");
  write(d / "b.json", R"({"extends": "a.json"})");
  CHECK_THROWS_WITH(load_config((d / "a.json").string()), Catch::Contains("cycle"));
  fs::remove_all(d);
}

TEST_CASE("malformed JSON names the file, line and column", "[config]") {
  const fs::path d = temp_dir();
  write(d / "bad.json", "{\n  \"run\": {\n    \"tokens\": 3,,\n  }\n}\n");
  CHECK_THROWS_WITH(load_config((d / "bad.json").string()),
                    Catch::Contains("bad.json") && Catch::Contains("line 3"));
  fs::remove_all(d);
}

TEST_CASE("overrides set nested keys, parse JSON values and keep words as strings", "[config]") {
  json c = {{"device", {{"dram", {{"channels", 2}}}}}};
  apply_override(c, "device.dram.channels=8");
  apply_override(c, "device.dram.capacity=16 GiB");
  apply_override(c, "weight_store.pinned=[\"attn\"]");
  CHECK(c["device"]["dram"]["channels"] == 8);
  CHECK(c["device"]["dram"]["capacity"] == "16 GiB");
  CHECK(c["weight_store"]["pinned"] == json::array({"attn"}));
  CHECK_THROWS_AS(apply_override(c, "novalue"), InputError);
  CHECK_THROWS_AS(apply_override(c, "device.dram.channels.x=1"), InputError);
}

TEST_CASE("built-in presets are compiled in and extend each other", "[config]") {
  const json c = load_config(kDefaultExperiment);
  CHECK(c["model"]["name"] == "phi3-medium");
  CHECK(c["device"]["dram"]["model"] == "bandwidth");
  CHECK_THROWS_WITH(load_config("builtin:nope.json"), Catch::Contains("builtin:experiments/default.json"));
}

TEST_CASE("sources cite values of the same file and are dropped on loading", "[config]") {
  const fs::path d = temp_dir();
  write(d / "ok.json",
        R"({"device": {"dram": {"channels": 4}}, "sources": {"device.dram.channels": "JESD209-5B"}})");
  const json c = load_config((d / "ok.json").string());
  CHECK_FALSE(c.contains("sources"));
  CHECK(c["device"]["dram"]["channels"] == 4);
  write(d / "stale.json",
        R"({"device": {"dram": {"channels": 4}}, "sources": {"device.dram.latency": "x"}})");
  CHECK_THROWS_WITH(load_config((d / "stale.json").string()),
                    Catch::Contains("device.dram.latency") && Catch::Contains("does not set"));
  // An array element is cited by its index (a sweep's list, a part's rails).
  write(d / "list.json", R"({"sweep": [{"x": 1}, {"x": 2}], "sources": {"sweep.1.x": "a paper"}})");
  CHECK(load_config((d / "list.json").string())["sweep"][1]["x"] == 2);
  write(d / "bad.json", R"({"sources": {"a": 1}, "a": 2})");
  CHECK_THROWS_WITH(load_config((d / "bad.json").string()), Catch::Contains("expected a string"));
  fs::remove_all(d);
}

TEST_CASE("a dotted key names an object's member or an array's element", "[config]") {
  const json doc = json::parse(R"({"a": {"b": [10, {"c": 3}], "0": "zero"}, "x.y": 1})");
  REQUIRE(find_dotted(doc, "a.b.1.c"));
  CHECK(*find_dotted(doc, "a.b.1.c") == 3);
  CHECK(*find_dotted(doc, "a.b.0") == 10);
  CHECK(*find_dotted(doc, "a.0") == "zero");    // a digit key of an object is a member
  CHECK(find_dotted(doc, "a.b.2") == nullptr);  // past the end
  CHECK(find_dotted(doc, "a.b.c") == nullptr);  // not an index
  CHECK(find_dotted(doc, "a.b.-1") == nullptr);
  CHECK(find_dotted(doc, "a.b.0000000001") == nullptr);               // ten digits: no index
  CHECK(find_dotted(doc, "a.b." + std::string(72, '9')) == nullptr);  // no stoul overflow
  CHECK(find_dotted(doc, "a..b") == nullptr);
  CHECK(find_dotted(doc, "") == nullptr);
  CHECK(find_dotted(doc, "x.y") == nullptr);        // a dot always separates
  CHECK(find_dotted(doc, "a.b.1.c.d") == nullptr);  // below a number
}
