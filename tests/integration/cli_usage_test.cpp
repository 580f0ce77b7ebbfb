// End-to-end tests of the command line itself: help, version, usage errors and `describe`.
#include <catch2/catch.hpp>

#include "tests/integration/run_cli.hpp"

using namespace edgesim::cli_test;
using Catch::Matchers::Contains;
using Catch::Matchers::Matches;
using Catch::Matchers::StartsWith;

TEST_CASE("the version flag prints the version and exits 0", "[cli][usage]") {
  const CliResult r = run_expect({"--version"}, kOk);
  CHECK_THAT(r.out, Matches("edgesim [0-9]+\\.[0-9]+\\.[0-9]+.*\n"));
  CHECK(r.err.empty());
}

TEST_CASE("the help flag of the program and of every command prints usage and exits 0", "[cli][usage]") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                               {"-h"},
                                               {"run", "--help"},
                                               {"replay", "--help"},
                                               {"trace", "--help"},
                                               {"trace", "record", "--help"},
                                               {"trace", "info", "--help"},
                                               {"validate", "--help"},
                                               {"describe", "--help"}}) {
    const CliResult r = run_expect(args, kOk);
    INFO(describe(args, r));
    CHECK_THAT(r.out, Contains("Usage"));
  }
  // The top-level help lists every command.
  const CliResult top = run_expect({"--help"}, kOk);
  for (const char* c : {"run", "replay", "trace", "validate", "describe"}) CHECK_THAT(top.out, Contains(c));
}

TEST_CASE("no command prints usage to stderr and exits 2", "[cli][usage]") {
  const CliResult r = run_expect({}, kBadInput);
  CHECK_THAT(r.err, Contains("Usage"));
  CHECK(r.out.empty());
  const CliResult t = run_expect({"trace"}, kBadInput);
  CHECK_THAT(t.out + t.err, Contains("Usage"));
}

TEST_CASE("an unknown command exits 2 and lists the commands", "[cli][usage]") {
  const CliResult r = expect_bad_input({"rnu"}, {"unknown command 'rnu'", "run"});
  CHECK(r.out.empty());
  expect_bad_input({"trace", "recrod"}, {"recrod"});
}

TEST_CASE("an unknown option exits 2", "[cli][usage]") {
  expect_bad_input({"--bogus"}, {"--bogus"});
  expect_bad_input({"run", "--bogus"}, {"bogus"});
  expect_bad_input({"replay", "x.trace", "--bogus"}, {"bogus"});
  expect_bad_input({"run", "--seed", "abc"}, {"seed"});
  expect_bad_input({"--log-level", "loud", "run"}, {"loud"});
}

TEST_CASE("a negative number for an unsigned option is bad input, not a wrapped count", "[cli][usage]") {
  // Boost reads "-1" for an unsigned option as 2^64 - 1: `dram gen --count -1` wrote
  // requests until it was killed, and `sweep --jobs -1` asked for 2^32 - 1 workers.
  TempDir tmp;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"dram", "gen", "--count", "-1", "-o", tmp / "t.txt"}, "--count '-1'"},
      {{"sweep", "--jobs", "-1", tmp / "spec.json"}, "--jobs '-1'"},
      {{"regress", "-j", "-2", tmp / "suite.json"}, "--jobs '-2'"},
      {{"npu-dataset", "--space", "dscnn", "--count", "1", "--seed", "-1", "--out", tmp / "d"},
       "--seed '-1'"},
      {{"fault", "--seed", "-3"}, "--seed '-3'"},
      // run's --seed was signed with -1 for "not given": any negative seed was ignored.
      {{"run", "-c", "builtin:experiments/tiny.json", "--seed", "-5"}, "--seed '-5'"}};
  for (const auto& [cmd, option] : cases)
    expect_bad_input(cmd, {option + ": expected a whole number from 0"});
  CHECK_FALSE(fs::exists(tmp / "t.txt"));
  CHECK(run_cli({"dram", "gen", "--count", "3", "-o", tmp / "t.txt"}).code == 0);
}

TEST_CASE("replay without a trace exits 2", "[cli][usage]") {
  expect_bad_input({"replay"}, {"no trace"});
  expect_bad_input({"trace", "info"}, {"no trace"});
  expect_bad_input({"trace", "record", "-c", "builtin:experiments/tiny.json"}, {"-o"});
  expect_bad_input({"validate"}, {"no file"});
}

TEST_CASE("an unknown output format exits 2 before simulating", "[cli][usage]") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", "--format", "xml"},
        {"run", "-c", "builtin:experiments/tiny.json", "--format", "xml"},
        {"trace", "info", "x.trace", "--format", "xml"}}) {
    const CliResult r = expect_bad_input(args, {"xml"});
    CHECK(r.out.empty());
  }
}

TEST_CASE("a missing trace file is bad input", "[cli][usage]") {
  TempDir tmp;
  expect_bad_input({"replay", tmp / "none.trace"}, {"none.trace"});
  expect_bad_input({"trace", "info", tmp / "none.trace"}, {"none.trace"});
}

TEST_CASE("describe lists every kind of part", "[cli][describe]") {
  const CliResult r = run_expect({"describe"}, kOk);
  for (const char* kind :
       {"dram", "flash", "compute", "replacement", "policy", "model", "weight_store", "run"}) {
    INFO(kind);
    // One line per kind: "KIND (config path): description".
    const bool listed = r.out.rfind(std::string(kind) + " (", 0) == 0 ||
                        r.out.find("\n" + std::string(kind) + " (") != std::string::npos;
    CHECK(listed);
  }
  for (const char* impl : {"lru", "lfu", "fifo", "opt", "dense", "roofline", "queued", "bandwidth"}) {
    CHECK_THAT(r.out, Contains(std::string("    ") + impl + ":"));
  }
}

TEST_CASE("describe KIND NAME shows one implementation and a misspelt name gets a suggestion",
          "[cli][describe]") {
  const CliResult lru = run_expect({"describe", "replacement", "lru"}, kOk);
  CHECK_THAT(lru.out, StartsWith("replacement lru"));
  CHECK_THAT(lru.out, !Contains("lfu"));
  const CliResult dram = run_expect({"describe", "dram"}, kOk);
  CHECK_THAT(dram.out, Contains("capacity"));
  CHECK_THAT(dram.out, Contains("channels"));
  const CliResult run = run_expect({"describe", "run"}, kOk);
  CHECK_THAT(run.out, Contains("tokens"));
  expect_bad_input({"describe", "dram", "bandwith"}, {"bandwith", "did you mean 'bandwidth'"});
  expect_bad_input({"describe", "replacment"}, {"did you mean 'replacement'"});
}

TEST_CASE("docs/config.md is up to date with `edgesim describe --markdown`", "[cli][describe][docs]") {
  const std::string doc = source_path("docs/config.md");
  REQUIRE(fs::exists(doc));
  const CliResult r = run_expect({"describe", "--markdown"}, kOk);
  CHECK_THAT(r.out, StartsWith("# Configuration reference"));
  const bool same = r.out == read_text(doc);
  INFO("regenerate with: edgesim describe --markdown > docs/config.md");
  CHECK(same);
}
