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
  write(d / "bad.json", R"({"sources": {"a": 1}, "a": 2})");
  CHECK_THROWS_WITH(load_config((d / "bad.json").string()), Catch::Contains("expected a string"));
  fs::remove_all(d);
}
