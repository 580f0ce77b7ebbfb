// The inputs of tests/data/fuzz/ (docs/fuzzing.md, "Bugs found and fixed"), each replayed
// through the command a user would run on it: every one is refused as bad input (exit 2)
// with an error naming the file and where in it, where it used to crash, read outside a
// buffer, hit undefined behaviour or run out of memory.
#include <catch2/catch.hpp>

#include "tests/integration/run_cli.hpp"

using namespace edgesim::cli_test;

namespace {

std::string input(const std::string& rel) {
  return source_path("tests/data/fuzz/" + rel);
}

std::vector<std::string> npu_args(const std::string& network) {
  return {"npu", "--config", "builtin:npu/ethos-u55-128.json", "--network", network, "--timing", "fast"};
}

}  // namespace

TEST_CASE("fuzz regression: a TFLite subgraph whose vtable lies outside the file is located, not followed",
          "[cli][fuzz][tflite]") {
  const std::string f = input("tflite/locator-subgraph-vtable-outside.tflite");
  expect_bad_input(npu_args(f), {f, "subgraphs[0] (table at byte", "fails FlatBuffers verification"});
}

TEST_CASE("fuzz regression: a TFLite field offset stored past the end of the file is reported, not read",
          "[cli][fuzz][tflite]") {
  const std::string f = input("tflite/locator-offset-slot-outside.tflite");
  expect_bad_input(npu_args(f), {f, "operator_codes (its offset would lie at byte", "past the end of the file"});
}

TEST_CASE("fuzz regression: a sweep range of 1e300 values is refused by its count", "[cli][fuzz][sweep]") {
  TempDir dir;
  const std::string f = input("sweep/range-1e300.json");
  expect_bad_input({"sweep", f, "--out", dir / "out"}, {f, "grid.run.seed.range: more than 100000 values"});
}

TEST_CASE("fuzz regression: a sweep of 10^12 points is refused before any point is built", "[cli][fuzz][sweep]") {
  TempDir dir;
  const std::string f = input("sweep/grid-1e12-points.json");
  expect_bad_input({"sweep", f, "--out", dir / "out"},
                   {f, "the grid and zip axes make 1000000000000 points, more than the 100000"});
}

TEST_CASE("fuzz regression: a trace's chunk count larger than the file is refused before allocating",
          "[cli][fuzz][trace]") {
  const std::string f = input("trace/delta-count-4e9.trc");
  for (const std::vector<std::string>& cmd : {std::vector<std::string>{"validate", f}, {"trace", "info", f}})
    expect_bad_input(cmd, {f, "a chunk count the rest of the file can hold", "found 3999999999"});
}
