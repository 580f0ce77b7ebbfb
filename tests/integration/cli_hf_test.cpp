// Models from Hugging Face config.json files end to end: `run --model` on every built-in
// preset against its own config.json (identical results), the model.hf_config key, OPT
// with the neuron predictor over bundled rows and columns, T5's cross-attention in the
// footprint, `trace record --model`, a sweep with the model as an axis, `validate` on a
// config.json, and the errors a bad config.json gets (exit 2 naming the key and file).
#include <catch2/catch.hpp>
#include <sstream>

#include "tests/integration/run_cli.hpp"

using namespace edgesim::cli_test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

std::vector<std::string> quick(std::vector<std::string> a) {
  a.insert(a.end(), {"--set", "run.tokens=2", "--set", "run.warmup_tokens=0", "--no-progress"});
  return a;
}

}  // namespace

TEST_CASE("each built-in preset and its config.json give identical results", "[cli][hf]") {
  for (const char* name : {"llama-7b", "llama3-8b", "phi3-medium", "mixtral-8x7b", "phi3.5-moe",
                           "qwen1.5-moe-a2.7b", "deepseek-v2-lite", "olmoe-1b-7b"}) {
    INFO(name);
    const json preset = run_json(quick({"run", "--model", std::string("builtin:models/") + name + ".json"}));
    const json hf = run_json(quick({"run", "--model", std::string("builtin:hf/") + name + "/config.json"}));
    CHECK(preset["metrics"] == hf["metrics"]);
    json a = preset["config"]["model"], b = hf["config"]["model"];
    CHECK_THAT(b["source"].get<std::string>(), Contains("Hugging Face config.json"));
    a.erase("source");
    b.erase("source");
    CHECK(a == b);
    // The experiment's storage keys stay: the default experiment runs int8 weights.
    CHECK(b["weight_dtype"] == "int8");
  }
}

TEST_CASE("run takes --model as a config.json path or a short name, and --set applies after it",
          "[cli][hf]") {
  const json gpt2 = run_json(quick({"run", "--model", source_path("configs/hf/gpt2/config.json")}));
  CHECK(gpt2["config"]["model"]["name"] == "gpt2");
  CHECK(gpt2["config"]["model"]["position_embeddings"] == 1024);
  CHECK(gpt2["metrics"]["tokens_per_s"].get<double>() > 0);
  const json two = run_json(quick({"run", "--model", "gpt2", "--set", "model.layers=2"}));
  CHECK(two["config"]["model"]["layers"] == 2);
  CHECK(two["metrics"]["flops_per_token"].get<double>() < gpt2["metrics"]["flops_per_token"].get<double>());
}

TEST_CASE("model.hf_config in a config file, or set from the command line, replaces the shape", "[cli][hf]") {
  TempDir tmp;
  write_text(tmp / "exp.json", json{{"extends", source_path("configs/experiments/tiny.json")},
                                    {"model", {{"hf_config", "falcon-7b"}, {"weight_dtype", "int4"}}}}
                                   .dump());
  const json r = run_json(quick({"run", "-c", tmp / "exp.json"}));
  const json& m = r["config"]["model"];
  CHECK(m["name"] == "falcon-7b");
  CHECK(m["kv_heads"] == 1);
  CHECK(m["block"] == "parallel_shared_norm");
  CHECK(m["weight_dtype"] == "int4");  // kept from the config
  CHECK(!m.contains("hf_config"));     // resolved: the results reproduce without the file
  CHECK_THAT(m["source"].get<std::string>(), Contains("model_type falcon"));
  // The results reproduce from themselves.
  write_text(tmp / "results.json", json{{"schema", "edgesim.results/1"}, {"config", r["config"]}}.dump());
  const json again = run_json({"run", "-c", tmp / "results.json", "--no-progress"});
  CHECK(again["metrics"] == r["metrics"]);
  const json set = run_json(quick({"run", "--set", "model.hf_config=opt-6.7b"}));
  CHECK(set["config"]["model"]["name"] == "opt-6.7b");
  CHECK(set["config"]["model"]["mlp"] == "relu");
}

TEST_CASE("OPT-6.7B runs the neuron predictor over bundled fc1 rows and fc2 columns", "[cli][hf][sparsity]") {
  const std::vector<std::string> base = {"run", "--model", "opt-6.7b", "--set",
                                         "weight_store.cache_partition=per_tensor"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return run_json(quick(a));
  };
  const json dense = with({});
  const json neuron =
      with({"--set", "policy={\"name\": \"relu_predictor\"}", "--set", "model.chunking=neuron"});
  const json bundled =
      with({"--set", "policy={\"name\": \"relu_predictor\"}", "--set", "model.chunking=bundled"});
  const double d = dense["metrics"]["flash_bytes_per_token"], n = neuron["metrics"]["flash_bytes_per_token"],
               b = bundled["metrics"]["flash_bytes_per_token"];
  INFO("flash bytes per token: dense " << d << ", neuron " << n << ", bundled " << b);
  CHECK(n < 0.6 * d);
  CHECK(b < 0.6 * d);
  CHECK(bundled["metrics"]["tokens_per_s"].get<double>() > dense["metrics"]["tokens_per_s"].get<double>());
  CHECK(bundled["metrics"]["sparsity"]["mlp.down"]["kept_fraction"].get<double>() < 0.5);
  // OPT's MLP is ReLU: no warning that the sparsity is assumed.
  const CliResult r =
      run_expect(quick({"run", "--model", "opt-6.7b", "--set", "policy={\"name\": \"relu_predictor\"}",
                        "--set", "model.chunking=bundled", "--format", "json"}),
                 kOk);
  CHECK(r.err.find("assumption") == std::string::npos);
  const CliResult swiglu =
      run_expect(quick({"run", "-c", source_path("configs/experiments/tiny.json"), "--set",
                        "policy={\"name\": \"relu_predictor\"}", "--set", "model.chunking=bundled"}),
                 kOk);
  CHECK_THAT(swiglu.err, Contains("is an assumption"));
}

TEST_CASE("Flan-T5's decoder cross-attends to the encoded prompt", "[cli][hf]") {
  const auto run = [](int prompt) {
    return run_json(
        quick({"run", "--model", "flan-t5-large", "--set", "run.prompt_tokens=" + std::to_string(prompt)}));
  };
  const json short_prompt = run(100), long_prompt = run(400);
  // 24 layers x 300 more encoded tokens x 2 x 1024 fp16 keys and values, read each token
  // and held in DRAM.
  const double extra = 24.0 * 300 * 2 * 1024 * 2;
  CHECK(long_prompt["metrics"]["memory_footprint_bytes"]["kv_cache"].get<double>() -
            short_prompt["metrics"]["memory_footprint_bytes"]["kv_cache"].get<double>() ==
        extra);
  CHECK(long_prompt["metrics"]["dram_bytes_per_token"].get<double>() -
            short_prompt["metrics"]["dram_bytes_per_token"].get<double>() ==
        Approx(extra));
  // The encoder runs once over the prompt before the first token: 2 FLOPs per encoder
  // weight (12,845,056 a layer) and cross k/v weight (2,097,152 a decoder layer) per prompt
  // token, plus bidirectional attention, 4 x 16 heads x 64 x T^2 a layer.
  const auto encoder_flops = [](double t) {
    return 2 * t * 24 * (12845056.0 + 2097152.0) + 24 * 4096 * t * t;
  };
  const json& enc_short = short_prompt["metrics"]["encoder_pass"];
  const json& enc_long = long_prompt["metrics"]["encoder_pass"];
  CHECK(enc_short["flops"].get<double>() == encoder_flops(100));
  CHECK(enc_long["flops"].get<double>() == encoder_flops(400));
  CHECK(enc_long["time_s"].get<double>() > enc_short["time_s"].get<double>());
  CHECK(enc_short["time_s"].get<double>() > 0);
  // Its cross keys and values are written once: 24 layers x T x 2 x 1024 fp16 values.
  CHECK(enc_long["dram_bytes"].get<double>() - enc_short["dram_bytes"].get<double>() >= extra);
  // A decoder-only model has no encoder pass.
  CHECK_FALSE(run_json(quick({"run", "--model", "gpt2"}))["metrics"].contains("encoder_pass"));
  expect_bad_input(quick({"run", "--model", "flan-t5-large", "--set", "run.prompt_tokens=600"}),
                   {"run.prompt_tokens", "max_context (512)"});
}

TEST_CASE("trace record and replay take --model", "[cli][hf][trace]") {
  TempDir tmp;
  run_expect(quick({"trace", "record", "--model", "gpt2", "-o", tmp / "t.trace", "-c",
                    source_path("configs/experiments/tiny.json"), "--format", "json"}),
             kOk);
  const json replay = run_json({"replay", tmp / "t.trace", "--no-progress"});
  CHECK(replay["config"]["model"]["name"] == "gpt2");
  expect_bad_input(
      {"replay", tmp / "t.trace", "-c", source_path("configs/experiments/tiny.json"), "--no-progress"},
      {"does not match the model"});
  // An encoder-decoder model: the replay runs the encoder pass again and matches the run.
  const CliResult rec =
      run_expect(quick({"trace", "record", "--model", "flan-t5-large", "--set", "run.prompt_tokens=64", "-o",
                        tmp / "t5.trace", "--format", "json"}),
                 kOk);
  const json t5 = json::parse(rec.out), t5_replay = run_json({"replay", tmp / "t5.trace", "--no-progress"});
  CHECK(t5["metrics"]["encoder_pass"]["flops"].get<double>() > 0);
  CHECK(t5_replay["metrics"] == t5["metrics"]);
}

TEST_CASE("a sweep takes the model as an axis", "[cli][hf][sweep]") {
  TempDir tmp;
  write_text(
      tmp / "spec.json",
      json{{"base", source_path("configs/experiments/tiny.json")},
           {"grid",
            {{"model.hf_config", {"gpt2", "opt-6.7b", source_path("configs/hf/pythia-1.4b/config.json")}},
             {"run.tokens", {2}}}}}
          .dump());
  run_expect({"sweep", tmp / "spec.json", "--jobs", "2", "--out", tmp / "out"}, kOk);
  const std::string csv = read_text(tmp / "out/results.csv");
  CHECK_THAT(csv, Contains("gpt2") && Contains("opt-6.7b") && Contains("pythia-1.4b/config.json"));
  size_t ok = 0;
  std::istringstream lines(read_text(tmp / "out/results.jsonl"));
  for (std::string line; std::getline(lines, line);) ok += json::parse(line).value("status", "") == "ok";
  CHECK(ok == 3);
}

TEST_CASE("validate reads a config.json and says what it maps to", "[cli][hf]") {
  const CliResult r = run_expect({"validate", source_path("configs/hf/deepseek-v2-lite/config.json")}, kOk);
  CHECK_THAT(r.out,
             Contains("model_type deepseek_v2") && Contains("15.7") && Contains("\"attention\":\"mla\""));
  run_expect({"validate", source_path("configs/experiments/tiny.json"), "--model", "gemma-2b"}, kOk);
}

TEST_CASE("a bad config.json exits 2 naming the key and the file", "[cli][hf]") {
  TempDir tmp;
  json hf = json::parse(read_text(source_path("configs/hf/mistral-7b/config.json")));
  hf["model_type"] = "mamba";
  write_text(tmp / "config.json", hf.dump());
  expect_bad_input(quick({"run", "--model", tmp / "config.json"}),
                   {tmp / "config.json", "'model_type' is 'mamba'", "llama, mistral"});
  hf["model_type"] = "mistral";
  hf.erase("num_attention_heads");
  write_text(tmp / "config.json", hf.dump());
  expect_bad_input(quick({"run", "--model", tmp / "config.json"}),
                   {tmp / "config.json", "'num_attention_heads' is missing"});
  expect_bad_input({"validate", tmp / "config.json"}, {"'num_attention_heads' is missing"});
  // A negative count is refused by the reader; a count of 2^63 or more (here 2^64 - 1) is
  // still a count, and the model's range check refuses it.
  hf["num_attention_heads"] = -32;
  write_text(tmp / "config.json", hf.dump());
  expect_bad_input({"validate", tmp / "config.json"},
                   {"'num_attention_heads' must be a non-negative integer"});
  hf["num_attention_heads"] = 32;
  hf["hidden_size"] = json::parse("18446744073709551615");
  write_text(tmp / "config.json", hf.dump());
  expect_bad_input({"validate", tmp / "config.json"},
                   {"'hidden_size' is 18446744073709551615: it gives model.hidden_size, which must be in "
                    "[1, 1048576]"});
  expect_bad_input(quick({"run", "--set", "model.hf_config=" + tmp / "nothing.json"}),
                   {"model.hf_config", "nothing.json"});
  expect_bad_input(quick({"run", "--model", "gpt-5"}), {"--model", "no built-in model", "opt-6.7b"});
  write_text(tmp / "neither.json", "{\"layers\": 3}");
  expect_bad_input(quick({"run", "--model", tmp / "neither.json"}), {"neither a Hugging Face config.json"});
}
