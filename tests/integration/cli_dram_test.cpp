// End-to-end tests of `edgesim dram` and of the command-level DRAM inside a whole run:
// both trace forms, bad input (exit 2, naming file and line or byte), result files, and
// the bandwidth and command models' agreement on the default experiment.
#include <catch2/catch.hpp>

#include "tests/integration/run_cli.hpp"

using namespace edgesim::cli_test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

json dram_json(const std::vector<std::string>& args) {
  std::vector<std::string> a = {"dram"};
  a.insert(a.end(), args.begin(), args.end());
  a.insert(a.end(), {"--format", "json"});
  return json::parse(run_expect(a, kOk).out);
}
}  // namespace

TEST_CASE("dram replays text and binary traces of the same requests identically", "[cli][dram]") {
  TempDir tmp;
  for (const char* form : {"text", "binary"}) {
    std::vector<std::string> gen = {
        "dram", "gen",        "--pattern", "random", "--count", "20000", "--write-fraction",
        "0.3",  "--interval", "2",         "--span", "64 MiB",  "-o",    tmp / form};
    if (std::string(form) == "binary") gen.push_back("--binary");
    run_expect(gen, kOk);
  }
  const json t = dram_json({"--part", "lpddr5-6400", "--trace", tmp / "text"});
  const json b = dram_json({"--part", "lpddr5-6400", "--trace", tmp / "binary"});
  CHECK(t["metrics"] == b["metrics"]);
  CHECK(t["run"]["trace_form"] == "text");
  CHECK(b["run"]["trace_form"] == "binary");
  const json& m = t["metrics"];
  CHECK(m["requests"] == 20000);
  CHECK(m["write_requests"].get<int>() > 5000);
  CHECK(m["commands"]["WR"].get<int>() > 0);
  CHECK(m["energy_J"]["total"].get<double>() > 0);
  CHECK(m["latency_s"]["p99"].get<double>() >= m["latency_s"]["p50"].get<double>());
  CHECK(m["bandwidth_efficiency"].get<double>() <= 1.0);
}

TEST_CASE("dram accepts a part file as --config and --set on controller keys", "[cli][dram]") {
  TempDir tmp;
  write_text(tmp / "t.txt", "# a tiny trace\n0 R 0x0 64\n0.5 R 0x40 64\n10 W 0x100000 128  # comment\n");
  const std::string part = std::string(EDGESIM_SOURCE_DIR) + "/configs/dram/ddr4-3200.json";
  const json open = dram_json({"--config", part, "--trace", tmp / "t.txt"});
  const json closed =
      dram_json({"--config", part, "--trace", tmp / "t.txt", "--set", "device.dram.page_policy=closed"});
  CHECK(open["metrics"]["requests"] == 3);
  CHECK(open["config"]["device"]["dram"]["page_policy"] == "open");
  CHECK(closed["config"]["device"]["dram"]["page_policy"] == "closed");
  const CliResult table =
      run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "t.txt", "--out", tmp / "o"}, kOk);
  CHECK_THAT(table.out, Contains("row-buffer hit rate"));
  const json saved = json::parse(read_text(tmp / "o/results.json"));
  CHECK(saved["metrics"]["requests"] == 3);
  CHECK_THAT(read_text(tmp / "o/results.csv"), Contains("bandwidth_Bps"));
}

TEST_CASE("a binary DRAM trace written from the documented format alone is read", "[cli][dram]") {
  // docs/dram.md, "Request traces": EDGESIMR, u32 version 1, u32 record size 20, u64
  // count, records of u64 time (ps), u64 address, u32 size (bit 31: write), then the
  // records' FNV-1a from the offset basis 1469598103934665603 (not FNV's published
  // 14695981039346656037), all little-endian. Written here byte by byte, not by edgesim.
  auto put = [](std::string& b, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  auto fnv = [](const std::string& b, uint64_t h) {
    for (unsigned char c : b) h = (h ^ c) * 1099511628211ull;
    return h;
  };
  std::string records;
  for (uint64_t i = 0; i < 3; ++i) {
    put(records, i * 10000, 8);                     // every 10 ns
    put(records, 0x1000 + i * 64, 8);               // consecutive 64-byte lines
    put(records, 64 | (i == 1 ? 1u << 31 : 0), 4);  // the second one a write
  }
  auto trace = [&](uint64_t basis) {
    std::string b = "EDGESIMR";
    put(b, 1, 4);
    put(b, 20, 4);
    put(b, 3, 8);
    b += records;
    put(b, fnv(records, basis), 8);
    return b;
  };
  TempDir tmp;
  write_text(tmp / "t.bin", trace(1469598103934665603ull));
  const json r = dram_json({"--part", "ddr4-3200", "--trace", tmp / "t.bin"});
  CHECK(r["run"]["trace_form"] == "binary");
  CHECK(r["metrics"]["requests"] == 3);
  write_text(tmp / "standard-basis.bin", trace(14695981039346656037ull));
  expect_bad_input({"dram", "--part", "ddr4-3200", "--trace", tmp / "standard-basis.bin"}, {"checksum"});
}

TEST_CASE("dram rejects bad input with exit 2, naming what and where", "[cli][dram]") {
  TempDir tmp;
  write_text(tmp / "bad.txt", "0 R 0x0 64\n1 X 0x40 64\n");
  CHECK_THAT(run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "bad.txt"}, kBadInput).err,
             Contains("bad.txt:2") && Contains("R or W"));
  write_text(tmp / "back.txt", "5 R 0x0 64\n1 R 0x40 64\n");
  CHECK_THAT(run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "back.txt"}, kBadInput).err,
             Contains("back.txt:2") && Contains("backwards"));
  write_text(tmp / "short.txt", "0 R 0x0\n");
  CHECK_THAT(run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "short.txt"}, kBadInput).err,
             Contains("short.txt:1"));

  run_expect({"dram", "gen", "--count", "100", "--binary", "-o", tmp / "t.bin"}, kOk);
  auto bytes = read_bytes(tmp / "t.bin");
  bytes.resize(bytes.size() - 30);
  write_bytes(tmp / "cut.bin", bytes);
  CHECK_THAT(run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "cut.bin"}, kBadInput).err,
             Contains("cut.bin") && Contains("truncated"));
  bytes = read_bytes(tmp / "t.bin");
  bytes[24 + 20 * 7 + 9] ^= 0x5a;  // an address byte of request 7
  write_bytes(tmp / "flip.bin", bytes);
  CHECK_THAT(run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "flip.bin"}, kBadInput).err,
             Contains("checksum"));

  CHECK_THAT(run_expect({"dram", "--part", "lpddr5x-8553", "--trace", tmp / "t.bin"}, kBadInput).err,
             Contains("device.dram.part") && Contains("did you mean 'lpddr5x-8533'"));
  CHECK_THAT(
      run_expect({"dram", "--config", "builtin:hw/phone.json", "--trace", tmp / "t.bin"}, kBadInput).err,
      Contains("device.dram.model") && Contains("command"));
  // A DRAM model or part schema that is not a string, a DRAM section that is not an object
  // (the first two were JSON type errors, exit 1).
  for (const auto& [text, needle] : std::vector<std::pair<std::string, std::string>>{
           {R"({"extends": "builtin:hw/phone.json", "device": {"dram": {"model": 5}}})",
            "device.dram.model: expected a model name, not 5"},
           {R"({"extends": "builtin:hw/phone.json", "device": {"dram": 5}})",
            "device.dram: expected the DRAM section (an object), not number"},
           {R"({"schema": 5})", "the config has no DRAM section"}}) {
    write_text(tmp / "c.json", text);
    CHECK_THAT(run_expect({"dram", "--config", tmp / "c.json", "--trace", tmp / "t.bin"}, kBadInput).err,
               Contains(needle));
  }
  CHECK_THAT(run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "t.bin", "--set",
                         "device.dram.address_mapping=row-bank-colum-bankgroup-rank-channel"},
                        kBadInput)
                 .err,
             Contains("device.dram.address_mapping") && Contains("did you mean 'column'"));
  CHECK_THAT(run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "t.bin", "--set",
                         "device.dram.refresh=per-bank"},
                        kBadInput)
                 .err,
             Contains("device.dram.refresh") && Contains("per-bank"));
  // An override outside device.dram would change nothing: refused, with the key it meant.
  CHECK_THAT(
      run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "t.bin", "--set", "refresh=off"}, kBadInput)
          .err,
      Contains("--set 'refresh=off'") && Contains("did you mean device.dram.refresh"));
  CHECK_THAT(run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "t.bin", "--set", "run.tokens=3"},
                        kBadInput)
                 .err,
             Contains("reads only device.dram"));
  CHECK_THAT(run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "none.txt"}, kBadInput).err,
             Contains("none.txt"));
  CHECK_THAT(run_expect({"dram", "--part", "ddr5-4800", "--trace", tmp / "t.bin", "--set",
                         "device.dram.low_power=self-refresh"},
                        kBadInput)
                 .err,
             Contains("device.dram.low_power") && Contains("ddr5-4800") && Contains("IDD6"));
  CHECK_THAT(
      run_expect({"dram", "--part", "ddr4-3200", "--trace", tmp / "t.bin", "--set",
                  "device.dram.low_power=self-refresh", "--set", "device.dram.self_refresh_idle=10 ns"},
                 kBadInput)
          .err,
      Contains("device.dram.self_refresh_idle") && Contains("power_down_idle"));
  json part = json::parse(read_text(std::string(EDGESIM_SOURCE_DIR) + "/configs/dram/ddr4-3200.json"));
  part["timing"]["tRCD"] = "fast";
  write_text(tmp / "part.json", part.dump());
  CHECK_THAT(run_expect({"dram", "--config", tmp / "part.json", "--trace", tmp / "t.bin"}, kBadInput).err,
             Contains("part.json.timing.tRCD"));
}

TEST_CASE("the bandwidth and command DRAM models agree on the default experiment", "[cli][dram]") {
  // docs/dram.md: the phone preset's efficiency (0.9) is what the command model sustains
  // on this traffic, so DRAM time per token agrees within 10 %; tokens/s, bound by flash,
  // agrees closely.
  auto run = [](const std::string& hw) {
    TempDir tmp;
    write_text(
        tmp / "e.json",
        json{{"extends", {"builtin:experiments/default.json"}},
             {"device",
              json::parse(read_text(std::string(EDGESIM_SOURCE_DIR) + "/configs/hw/" + hw)).at("device")}}
            .dump());
    return json::parse(
        run_expect(
            {"run", "-c", tmp / "e.json", "--set", "run.tokens=3", "--format", "json", "--no-progress"}, kOk)
            .out);
  };
  const json bw = run("phone.json");
  const json cmd = run("phone-lpddr5x-command.json");
  REQUIRE(cmd["config"]["device"]["dram"]["model"] == "command");
  const double t_bw = bw["metrics"]["time_breakdown"]["dram"].get<double>();
  const double t_cmd = cmd["metrics"]["time_breakdown"]["dram"].get<double>();
  INFO("DRAM s/token: bandwidth " << t_bw << ", command " << t_cmd);
  CHECK(t_cmd == Approx(t_bw).epsilon(0.10));
  CHECK(cmd["metrics"]["tokens_per_s"].get<double>() ==
        Approx(bw["metrics"]["tokens_per_s"].get<double>()).epsilon(0.05));
  const json& d = cmd["stats"]["dram"];
  CHECK(d["row_hit_rate"]["value"].get<double>() > 0.9);
  CHECK(d["commands"]["ACT"]["value"].get<double>() > 0);
  CHECK(d["simulated_fraction"]["value"].get<double>() < 1.0);
}

TEST_CASE("sampling long DRAM batches stays within 2% of simulating every burst", "[cli][dram]") {
  // A mid-size model pinned whole in DRAM: about 27 MB of reads per token, long enough
  // that the default sampling simulates 4 % of the bytes.
  TempDir tmp;
  write_text(tmp / "e.json",
             json{{"extends", {"builtin:hw/phone-lpddr5x-command.json", "builtin:models/tiny.json"}},
                  {"model",
                   {{"layers", 4},
                    {"hidden_size", 512},
                    {"intermediate_size", 1408},
                    {"heads", 8},
                    {"kv_heads", 2},
                    {"head_dim", 64},
                    {"vocab_size", 4096}}},
                  {"weight_store", {{"pinned", {"*"}}}},
                  {"run", {{"tokens", 2}, {"warmup_tokens", 1}, {"prompt_tokens", 16}}}}
                 .dump());
  auto dram_time = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = {"run", "-c", tmp / "e.json", "--format", "json", "--no-progress"};
    a.insert(a.end(), extra.begin(), extra.end());
    const json r = json::parse(run_expect(a, kOk).out);
    return std::pair{r["metrics"]["time_breakdown"]["dram"].get<double>(),
                     r["stats"]["dram"]["simulated_fraction"]["value"].get<double>()};
  };
  const auto [sampled, fraction] = dram_time({});
  const auto [exact, all] =
      dram_time({"--set", "device.dram.sample_range_bytes=0", "--set", "device.dram.sample_batch_bytes=0"});
  INFO("sampled " << sampled << " s (" << fraction << " simulated), exact " << exact << " s");
  CHECK(all == 1.0);
  CHECK(fraction < 0.1);
  CHECK(sampled == Approx(exact).epsilon(0.02));
}

TEST_CASE("dram reports power-down and self-refresh of an idle trace", "[cli][dram]") {
  // Two bursts of reads 20 us apart: in between the rank powers down after 50 ns and
  // enters self-refresh after 5 us (docs/dram.md, "Power-down and self-refresh").
  TempDir tmp;
  write_text(tmp / "t.txt", "0 R 0x0 64\n10 R 0x40 64\n20000 R 0x80 64\n20010 R 0x100000 64\n");
  const json off = dram_json({"--part", "ddr4-3200", "--trace", tmp / "t.txt"});
  const json sr = dram_json(
      {"--part", "ddr4-3200", "--trace", tmp / "t.txt", "--set", "device.dram.low_power=self-refresh"});
  CHECK_FALSE(off["metrics"].contains("low_power"));
  const json& lp = sr["metrics"]["low_power"];
  CHECK(lp["self_refresh_entries"] == 1);
  CHECK(lp["self_refresh_share"].get<double>() > 0.7);
  // DDR4's IDD6 (30 mA) is below its IDD2N (37 mA): the background drops, if not by much.
  CHECK(sr["metrics"]["energy_J"]["background"].get<double>() <
        0.9 * off["metrics"]["energy_J"]["background"].get<double>());
  // The read after the sleep waits for the self-refresh exit (tXS = 360 ns).
  CHECK(sr["metrics"]["latency_s"]["p99"].get<double>() >
        off["metrics"]["latency_s"]["p99"].get<double>() + 3e-7);
  const CliResult table = run_expect(
      {"dram", "--part", "ddr4-3200", "--trace", tmp / "t.txt", "--set", "device.dram.low_power=power-down"},
      kOk);
  CHECK_THAT(table.out, Contains("low-power states") && Contains("power-down"));
}
