#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "sim/core/stats.hpp"
#include "sim/results.hpp"

using namespace edgesim::sim;
using nlohmann::json;

TEST_CASE("percentiles use the nearest rank", "[stats]") {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  CHECK(percentile(v, 50) == 50);
  CHECK(percentile(v, 99) == 99);
  CHECK(percentile(v, 100) == 100);
  CHECK(percentile({3.0}, 99) == 3.0);
}

TEST_CASE("statistics dump as a tree split at dots, with kind-specific fields", "[stats]") {
  Stats s;
  Stat& c = s.counter("flash.bytes", "B", "bytes");
  Stat& d = s.distribution("token.latency", "s", "latency");
  c.add(10);
  c.add(5);
  for (double x : {1.0, 2.0, 3.0, 4.0}) d.add(x);
  const json j = s.to_json();
  CHECK(j["flash"]["bytes"]["value"] == 15.0);
  CHECK(j["token"]["latency"]["p50"] == 2.0);
  CHECK(j["token"]["latency"]["histogram"]["counts"].size() == 10);
  CHECK_THROWS(s.counter("flash.bytes", "B", "again"));
}

TEST_CASE("results files are replaced atomically and leave no temporary behind", "[results]") {
  const auto dir = std::filesystem::temp_directory_path() / "edgesim-results-test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "r.json").string();
  write_atomic(path, "first");
  write_atomic(path, "second");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "second");
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("nested metrics flatten to dotted CSV columns", "[results]") {
  const json m = {{"a", 1}, {"b", {{"c", 2}, {"d", nullptr}}}};
  const json f = flatten_metrics(m);
  CHECK(f["a"] == 1);
  CHECK(f["b.c"] == 2);
  CHECK(f["b.d"].is_null());
}
