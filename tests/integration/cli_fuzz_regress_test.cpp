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

// `edgesim dram --part PART` on a one-request trace: bad input, with `needles` in the error.
void expect_bad_part(const std::string& part, const std::vector<std::string>& needles) {
  TempDir dir;
  write_text(dir / "t.txt", "0 R 0x0 64\n");
  expect_bad_input({"dram", "--part", part, "--trace", dir / "t.txt"}, needles);
}

// A sweep_results input (fuzz/sweep_results_fuzz.cpp) unpacked as the target does: its
// sections, between "%%" lines, are sweep.json (of both folders), then results.jsonl and
// layers.jsonl of `a`, then those of `b`.
void unpack_folders(const std::string& file, const std::string& a, const std::string& b) {
  std::string text = read_text(file);
  std::vector<std::string> parts;
  for (size_t at; parts.size() < 4 && (at = text.find("\n%%\n")) != std::string::npos; text.erase(0, at + 4))
    parts.push_back(text.substr(0, at));
  parts.push_back(text);
  const char* files[] = {"sweep.json", "results.jsonl", "layers.jsonl"};
  for (const auto& d : {a, b}) {
    fs::create_directories(d);
    write_text(d + "/sweep.json", parts[0]);
  }
  for (size_t i = 1; i < parts.size(); ++i)
    write_text((i < 3 ? a : b) + "/" + files[1 + (i - 1) % 2], parts[i]);
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
  expect_bad_input(npu_args(f),
                   {f, "operator_codes (its offset would lie at byte", "past the end of the file"});
}

TEST_CASE("fuzz regression: a sweep range of 1e300 values is refused by its count", "[cli][fuzz][sweep]") {
  TempDir dir;
  const std::string f = input("sweep/range-1e300.json");
  expect_bad_input({"sweep", f, "--out", dir / "out"}, {f, "grid.run.seed.range: more than 100000 values"});
}

TEST_CASE("fuzz regression: a sweep of 10^12 points is refused before any point is built",
          "[cli][fuzz][sweep]") {
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

TEST_CASE("fuzz regression: a trace's chunk table with a float where a count belongs is bad input",
          "[cli][fuzz][trace]") {
  // libFuzzer's input (UBSan in a local run of the CI step): an op's tensor list holds
  // 16E17, which nlohmann's get<uint32_t> converted from 1.6e18 without a check.
  const std::string f = input("trace/crash-8fc37354-float-tensor-index.trc");
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"validate", f}, {"trace", "info", f}, {"replay", "--trace", f}})
    expect_bad_input(cmd, {f, "an op's tensor 1.6e+18 is not a whole number from 0 to 4294967295"});
}

TEST_CASE("fuzz regression: an input value far beyond int8 saturates instead of overflowing a long",
          "[cli][fuzz][npu]") {
  // libFuzzer's input: a first row with 7.8e45 (the quantization rounded it with
  // std::lround, undefined beyond a long, then added the zero point: UBSan signed overflow),
  // an empty line and a row of 4 values.
  const std::string crash = input("input_csv/crash-e8e0818d-huge-value.csv");
  const std::string digits = source_path("configs/networks/digits.json");
  std::vector<std::string> args = npu_args(digits);
  args.insert(args.end(), {"--input", crash});
  expect_bad_input(args, {crash + ":3: 4 values; the network's input has 64 elements"});

  // Its first row alone runs, and saturates as the same row with 1000 in that place does.
  TempDir dir;
  const std::string huge = input("input_csv/huge-value-one-row.csv");
  std::string row = read_text(huge);
  const std::string big = "7777777777777777777777777777777777777777777779";
  REQUIRE(row.find(big) != std::string::npos);
  row.replace(row.find(big), big.size(), "1000");
  write_text(dir / "thousand.csv", row);
  auto run = [&](const std::string& csv) {
    std::vector<std::string> a = npu_args(digits);
    a.insert(a.end(), {"--input", csv});
    return run_json(a)["metrics"]["inputs"];
  };
  const nlohmann::json a = run(huge), b = run(dir / "thousand.csv");
  CHECK(a["bit_exact"] == true);
  CHECK(a["first_prediction"] == b["first_prediction"]);
}

TEST_CASE("fuzz regression: an NPU network's weight scale of 1e308 is bad input naming its JSON path",
          "[cli][fuzz][npu]") {
  // The second used to run to exit 0: its ratio of scales overflowed to infinity and the
  // multiplier became 0.
  for (const char* name :
       {"npu_network/weight-scale-1e308.json", "npu_network/weight-scale-1e308-ratio-inf.json"}) {
    const std::string f = input(name);
    expect_bad_input(npu_args(f),
                     {f + ": ops[0].weights.scales[0]: a scale of 1e+308: expected one TFLite can store"});
  }
}

TEST_CASE("fuzz regression: a requantization ratio of 2^30 or more is bad input naming the weight scale",
          "[cli][fuzz][npu]") {
  const std::string f = input("npu_network/weight-scale-ratio-2e29.json");
  expect_bad_input(npu_args(f),
                   {f + ": ops[0].weights.scales[0]: a ratio of scales of 1.95e+29 (2^30 or more)"});
  const std::string t = input("tflite/weight-scale-3e38.tflite");
  expect_bad_input(npu_args(t), {t + ": operators[0] CONV_2D (table at byte",
                                 ".weights.scales[0]: a ratio of scales of 2.5e+38 (2^30 or more)"});
}

TEST_CASE("fuzz regression: a weight shape claiming billions of channels over a few bytes is bad input",
          "[cli][fuzz][npu]") {
  // libFuzzer's input (out of memory in a local run of the CI step): a fully connected
  // layer's weights of shape claiming 25,769,803,968 values over 192 bytes; the per-channel
  // scales (8 bytes per output channel) were allocated from the shape before the data
  // was checked against it.
  const std::string t = input("tflite/oom-17ef45aa-weights-shape-25e9.tflite");
  expect_bad_input(npu_args(t), {t + ": tensors[7] 'fw' (table at byte 1016): 192 bytes of data for "
                                     "25769803968 int8 weights"});
}

TEST_CASE("fuzz regression: a dilated window past the int range is bad input, not a wrapped extent",
          "[cli][fuzz][npu]") {
  // libFuzzer's input (UBSan, 2026-12-03 campaign of the tflite target): a 3x3 CONV_2D
  // dilated by 1,073,741,826 with SAME padding; its dilated extent, (3 - 1) x dilation + 1,
  // overflowed an int, and the gcc build ran the network to 4.6e18 cycles (exit 0).
  const std::string t = input("tflite/ubsan-f5431137-dilation-1e9.tflite");
  expect_bad_input(npu_args(t), {t + ": operators[0] CONV_2D (table at byte",
                                 "kernel [3, 3] dilated by [1073741826, 514] with stride [1, 1] reaches "
                                 "2147483660 input positions with SAME padding; at most 2^31 - 1"});
  // The same through the JSON format, whose values are at most 2^24 each: a 200-row
  // kernel dilated by 2^24 reaches 3.3e9 positions.
  const std::string f = input("npu_network/dilation-2e7-kernel-200.json");
  expect_bad_input(npu_args(f), {f + ": ops[0]: kernel [200, 1] dilated by [16777216, 1] with stride [1, 1] "
                                     "reaches 3338665988 input positions"});
}

TEST_CASE("fuzz regression: a zero point outside int8 is bad input naming its JSON path",
          "[cli][fuzz][npu]") {
  const std::string f = input("npu_network/zero-point-300.json");
  expect_bad_input(npu_args(f), {f + ": ops[2].output.zero_point: value 300 out of range [-128, 127]"});
}

TEST_CASE("fuzz regression: a JSON number beyond a double is malformed JSON, not a failed simulation",
          "[cli][fuzz][config]") {
  // The config target's seed fuzz/corpus/config/not-json.json: nlohmann's out_of_range
  // (number overflow) escaped the loader, and the CLI exited 1.
  const std::string f = source_path("fuzz/corpus/config/not-json.json");
  expect_bad_input({"validate", f}, {"malformed JSON in " + f, "number overflow parsing '1e999'"});
  TempDir dir;
  write_text(dir / "big.json", R"({"extends": "builtin:experiments/tiny.json", "run": {"seed": 1e999}})");
  expect_bad_input({"validate", dir / "big.json"},
                   {"malformed JSON in " + dir / "big.json", "number overflow"});
}

TEST_CASE("fuzz regression: a DRAM request that runs past the top of the address space is bad input",
          "[cli][fuzz][dram]") {
  // libFuzzer's dram_trace input (a timeout in CI): "-20" read as the hex address 2^64 - 32,
  // and its 4032 bytes wrapped the burst count to about 2^59: the controller never drained.
  const std::string f = input("dram_trace/negative-address-wraps.txt");
  expect_bad_input({"dram", "--part", "lpddr5-6400", "--trace", f}, {f + ":3", "'-20' is not a hex address"});
  TempDir dir;
  write_text(dir / "top.txt", "0 R 0x0 64\n1 W 0xffffffffffffffe0 64\n");
  expect_bad_input(
      {"dram", "--part", "lpddr5-6400", "--trace", dir / "top.txt"},
      {dir / "top.txt:2", "64 bytes from that address run past the end of the 64-bit address space"});
  // A time past 2^63 ps was said to "go backwards" (llround's overflow made it negative).
  write_text(dir / "late.txt", "0 R 0x0 64\n1e300 R 0x40 64\n");
  expect_bad_input({"dram", "--part", "lpddr5-6400", "--trace", dir / "late.txt"},
                   {dir / "late.txt:2", "time must be below 9.2e15 ns"});
  write_text(dir / "last.txt", "0 W 0xffffffffffffffc0 64\n");
  const auto ok = run_expect({"dram", "--part", "lpddr5-6400", "--trace", dir / "last.txt"}, kOk);
  CHECK_THAT(ok.out, Catch::Matchers::Contains("requests"));
}

TEST_CASE("fuzz regression: a DRAM part timing of 1e30 clock cycles is bad input naming the key",
          "[cli][fuzz][dram]") {
  // Converted to an integer, 1e30 was undefined behaviour and came out as a negative count:
  // "must be at least one clock cycle".
  const std::string f = input("dram_part/timing-1e30-nck.json");
  expect_bad_part(f, {f + ".timing.tRC", "'1e30 nCK' is 1e+30 clock cycles; a timing may be at most 2^30"});
}

TEST_CASE("fuzz regression: a DRAM part whose schema or description is not a string is bad input",
          "[cli][fuzz][dram]") {
  // libFuzzer's dram_part input: "schema" an object. nlohmann's value() threw its type_error,
  // which reached main as "simulation failed", exit 1.
  const std::string f = input("dram_part/crash-aaca71b4-schema-object.json");
  expect_bad_part(f, {f + ".schema", "expected a string"});
  const std::string part = read_text(source_path("configs/dram/lpddr5-6400.json"));
  const size_t at = part.find("\"description\": \""), end = part.find("\",\n", at);
  REQUIRE(end != std::string::npos);
  TempDir dir;
  write_text(dir / "p.json", part.substr(0, at) + "\"description\": 7" + part.substr(end + 1));
  expect_bad_part(dir / "p.json", {dir / "p.json.description", "expected a string"});
}

TEST_CASE("fuzz regression: a DRAM part with a 72-bit channel is bad input, not a hang",
          "[cli][fuzz][dram]") {
  // libFuzzer's dram_part input (a timeout): 144-byte bursts. The burst count of a request
  // was computed with a power-of-two mask and wrapped, so admission never ended.
  const std::string f = input("dram_part/timeout-5f8e1133-channel-72-bits.json");
  expect_bad_part(f, {f + ".organisation.channel_width_bits", "must be a power of two", "64 of 72"});
}

TEST_CASE("fuzz regression: a DRAM part source citing a 72-digit index is bad input", "[cli][fuzz][dram]") {
  // libFuzzer's dram_part input: "power.rails.0666...6.IDD2P" in sources. std::stoul threw
  // out_of_range on the index, "simulation failed: stoul", exit 1.
  const std::string f = input("dram_part/crash-a217cd9a-sources-index-overflow.json");
  expect_bad_part(f, {f + ".sources", "'power.rails.0666", "cites a value the part does not set"});
}

TEST_CASE("fuzz regression: a DRAM timing longer than tREFI is bad input, not a crawl", "[cli][fuzz][dram]") {
  // libFuzzer's dram_part input (a timeout): tRRD_L of "max(8 nCK, 5 ms)", 12 million cycles
  // between activations of a bank group, each gap stepped through thousands of refreshes.
  const std::string f = input("dram_part/timeout-4b9e4b90-trrd-5-ms.json");
  expect_bad_part(f, {f + ".timing.tRRD_L", "must be below tREFI (9360 nCK)"});
}

TEST_CASE("fuzz regression: a directory where a file is expected is bad input naming it",
          "[cli][fuzz][sweep]") {
  // libFuzzer's sweep input (a crash in CI): the base "." is a directory, which opens as a
  // stream on Linux and claimed a size of 2^63 bytes: std::length_error, "simulation failed".
  TempDir dir;
  const std::string f = input("sweep/base-is-a-directory.json");
  expect_bad_input({"sweep", f, "--out", dir / "out"},
                   {"sweep spec " + f, "base: cannot open '.': it is a directory"});
  // Every reader of a user's file says the same.
  const std::string d = dir.path();
  expect_bad_input({"run", "--config", d}, {"cannot open '" + d + "': it is a directory"});
  expect_bad_input({"validate", d}, {"cannot open '" + d + "': it is a directory"});
  expect_bad_input({"replay", "--trace", d}, {"cannot open trace '" + d + "': it is a directory"});
  expect_bad_input({"dram", "--part", "lpddr5-6400", "--trace", d},
                   {"cannot open request trace '" + d + "': it is a directory"});
  expect_bad_input(npu_args(d), {"cannot open '" + d + "': it is a directory"});
  std::vector<std::string> inputs = npu_args(source_path("configs/networks/digits.json"));
  inputs.insert(inputs.end(), {"--input", d});
  expect_bad_input(inputs, {"cannot open input file '" + d + "': it is a directory"});
}

TEST_CASE("fuzz regression: a bias near the int32 limit wraps the accumulator as TFLite's kernels do",
          "[cli][fuzz][npu]") {
  // libFuzzer's npu_network input (UBSan in CI: signed integer overflow in the reference
  // convolution, an accumulator of 2147480425 plus a product of 28305): a bias read from
  // the weights file lies near INT32_MAX. The accumulator now wraps (two's complement) in
  // the reference kernels and in the NPU's execution alike, so both agree and the run is
  // defined.
  const std::string f = input("npu_network/bias-near-int32-max.json");
  const auto r = run_expect(npu_args(f), kOk);
  CHECK_THAT(r.out, Catch::Matchers::Contains("bit-exact with the reference: yes"));
}

TEST_CASE("fuzz regression: a config.json with no heads is bad input naming its key, not a division by zero",
          "[cli][fuzz][hf]") {
  // libFuzzer's input: GPT-2 with n_head 0, which the head width's default divided by.
  const std::string f = input("hf_config/ubsan-4f8505d4-gpt2-n-head-0.json");
  const std::vector<std::string> named = {
      f, "'n_head' is 0: it gives model.heads, which must be in [1, 4096]", "model_type gpt2"};
  expect_bad_input({"validate", f}, named);
  expect_bad_input({"run", "--model", f, "--set", "run.tokens=1", "--no-progress"}, named);
  // Every count that feeds a model key is held to that key's range where it is read,
  // before a step computes with it (OPT's learned positions are max_position_embeddings + 2,
  // which wrapped to 1 at 2^64 - 1), and a shape the layout refuses names the file.
  TempDir tmp;
  const nlohmann::json opt = {{"model_type", "opt"},
                              {"num_hidden_layers", 1},
                              {"hidden_size", 64},
                              {"ffn_dim", 64},
                              {"num_attention_heads", 4},
                              {"vocab_size", 10},
                              {"max_position_embeddings", nlohmann::json::parse("18446744073709551615")}};
  write_text(tmp / "opt.json", opt.dump());
  expect_bad_input({"validate", tmp / "opt.json"},
                   {tmp / "opt.json", "'max_position_embeddings' is 18446744073709551615",
                    "model.max_context, which must be in [1, 16777216]"});
  nlohmann::json mixtral =
      nlohmann::json::parse(read_text(source_path("configs/hf/mixtral-8x7b/config.json")));
  mixtral["num_experts_per_tok"] = 0;
  write_text(tmp / "mixtral.json", mixtral.dump());
  expect_bad_input({"validate", tmp / "mixtral.json"},
                   {"'num_experts_per_tok' is 0: it gives model.moe_top_k, which must be in [1, 65536]"});
  nlohmann::json llama = nlohmann::json::parse(read_text(source_path("configs/hf/llama-7b/config.json")));
  llama["num_key_value_heads"] = 3;
  write_text(tmp / "llama.json", llama.dump());
  expect_bad_input({"validate", tmp / "llama.json"},
                   {tmp / "llama.json", "(model_type llama) maps to a model edgesim cannot lay out",
                    "heads (32) must be a multiple of kv_heads (3)"});
}

TEST_CASE("fuzz regression: a results line with a number beyond a double is bad input naming the line",
          "[cli][fuzz][sweep]") {
  // libFuzzer's sweep_results input: two shards of an npu-dataset, B's layers.jsonl line 16
  // holding "cycles":3721e308. nlohmann's out_of_range escaped the line reader, and
  // merging (or resuming) exited 1, "simulation failed".
  TempDir tmp;
  unpack_folders(input("sweep_results/crash-41b7ed2a-number-overflow.txt"), tmp / "a", tmp / "b");
  expect_bad_input({"npu-dataset", "merge", "--out", tmp / "m", tmp / "a", tmp / "b"},
                   {tmp / "b/layers.jsonl line 16: not a JSON object (number overflow parsing '3721e308')"});
  CHECK_FALSE(fs::exists(tmp / "m"));  // nothing half-merged is left behind
  // The same line in a sweep's results.jsonl, on resume.
  write_text(tmp / "spec.json", R"({"base": "builtin:experiments/tiny.json", "grid": {"run.tokens": [1]}})");
  REQUIRE(run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o"}).code == 0);
  const std::string results = read_text(tmp / "o/results.jsonl");
  write_text(tmp / "o/results.jsonl", results + R"({"point": "x", "status": "ok", "metrics": {"a": 1e999}})"
                                                "\n");
  expect_bad_input({"sweep", tmp / "spec.json", "--out", tmp / "o", "--resume"},
                   {tmp / "o/results.jsonl line 2: not a JSON object (number overflow parsing '1e999')"});
}

TEST_CASE("fuzz regression: a sweep manifest's shard of 1e308 is bad input, not a float cast",
          "[cli][fuzz][sweep]") {
  // libFuzzer's sweep_results input: a sweep.json whose shard.index is 1e308. The manifest
  // reader converted it to a count without a check (UBSan: 1e+308 is outside the range of
  // unsigned long); merging and resuming read every manifest.
  TempDir tmp;
  unpack_folders(input("sweep_results/ubsan-48fefe37-shard-index-1e308.txt"), tmp / "a", tmp / "b");
  const std::string manifest = tmp / "a/sweep.json";
  expect_bad_input(
      {"sweep", "merge", "--out", tmp / "m", tmp / "a", tmp / "b"},
      {manifest + ": not an edgesim sweep manifest (edgesim.sweep/1): shard.index 1e+308 is not a whole "
                  "number from 0 to 18446744073709551615"});
  // Negative and fractional counts likewise.
  for (const char* bad : {R"("points": -4)", R"("points": 4.5)"}) {
    std::string text = read_text(manifest);
    text.replace(text.find(R"("points": 4)"), std::string(R"("points": 4)").size(), bad);
    write_text(tmp / "b/sweep.json", text);
    expect_bad_input({"sweep", "merge", "--out", tmp / "m", tmp / "b"},
                     {tmp / "b/sweep.json", "points", "is not a whole number"});
  }
}

TEST_CASE(
    "fuzz regression: a TFLite zero-point vector 4 bytes off its alignment is read, not loaded misaligned",
    "[cli][fuzz][tflite]") {
  // libFuzzer's tflite input (UBSan: load of misaligned address for type 'const long', in
  // Vector<int64_t>::Get): FlatBuffers' Verifier checks a vector's length field, not that
  // its int64 values are 8-byte aligned. The zero point is now copied out byte by byte,
  // and this one, 2^34, is refused as outside int8 (the sanitized suite aborted before).
  const std::string f = input("tflite/ubsan-e07aba79-misaligned-zero-point.tflite");
  expect_bad_input(npu_args(f),
                   {f, "tensors[3] 'Reshape_1' (table at byte 18200): zero point 17179869184 outside int8"});
}
