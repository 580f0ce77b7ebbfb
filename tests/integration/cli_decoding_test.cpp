// Prefill, speculative decoding and the hybrid LLM-SLM scheme end to end (docs/decoding.md):
// their metrics, the speed-up speculative decoding gets on a flash-bound target, the
// timeline's phase lanes, sweeps over their keys, and bad input naming the key.
#include <cmath>
#include <set>

#include "run_cli.hpp"

using namespace edgesim::cli_test;
using nlohmann::json;

namespace {

json metrics_of(const std::vector<std::string>& sets,
                const std::string& config = "builtin:experiments/tiny.json") {
  std::vector<std::string> args = {"run", "-c", config, "--format", "json", "--no-progress"};
  for (const auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  const auto r = run_cli(args);
  INFO(describe(args, r));
  REQUIRE(r.code == 0);
  return json::parse(r.out)["metrics"];
}

const std::vector<std::string> kSpeculative = {"decoding.scheme=speculative",
                                               "decoding.draft=builtin:models/tiny-draft.json"};

/// The tiny model with its draft, and `extra` settings.
std::vector<std::string> speculative(const std::vector<std::string>& extra) {
  auto sets = kSpeculative;
  sets.insert(sets.end(), extra.begin(), extra.end());
  return sets;
}

}  // namespace

TEST_CASE(
    "prefill: the prompt runs in chunks before decoding, with time to first token and prefill throughput",
    "[cli][decoding]") {
  const json none = metrics_of({});
  const json m = metrics_of({"run.prompt_tokens=100", "run.prefill_chunk=32"});
  CHECK_FALSE(none.contains("time_to_first_token_s"));
  REQUIRE(m.contains("prefill"));
  CHECK(m["prefill"]["steps"] == 4);  // 32 + 32 + 32 + 4
  CHECK(m["prefill"]["prompt_tokens"] == 100);
  const double t = m["prefill"]["time_s"];
  CHECK(m["prefill"]["tokens_per_s"].get<double>() == Approx(100 / t));
  CHECK(m["time_to_first_token_s"].get<double>() == Approx(t));
  CHECK(m["prefill"]["energy_j"].get<double>() > 0);
  // A chunk of 32 tokens does 32 tokens' multiply-adds over one read of the weights.
  CHECK(m["prefill"]["flops"].get<double>() > 90 * none["flops_per_token"].get<double>());
  // Larger chunks read the weights fewer times: a faster prefill.
  const json one =
      metrics_of({"run.prompt_tokens=100", "run.prefill_chunk=1", "weight_store.cache_capacity=0B"});
  const json big =
      metrics_of({"run.prompt_tokens=100", "run.prefill_chunk=100", "weight_store.cache_capacity=0B"});
  CHECK(big["prefill"]["time_s"].get<double>() < one["prefill"]["time_s"].get<double>() / 10);
  CHECK(big["prefill"]["flash_bytes"].get<double>() < one["prefill"]["flash_bytes"].get<double>() / 50);
}

TEST_CASE("prefill on its own compute engine: a faster one shortens the prompt, not decoding",
          "[cli][decoding]") {
  const std::vector<std::string> base = {"run.prompt_tokens=128", "run.prefill_chunk=128"};
  const json same = metrics_of(base);
  auto fast = base;
  fast.push_back(
      R"(device.prefill_compute={"model": "roofline", "peak_fp32": "50 TFLOP/s", "peak_fp16": "100 TFLOP/s",
                  "peak_int8": "200 TFLOP/s", "op_overhead": "0 s"})");
  const json npu = metrics_of(fast);
  CHECK(npu["prefill"]["compute_time_s"].get<double>() <
        same["prefill"]["compute_time_s"].get<double>() / 10);
  CHECK(npu["tokens_per_s"].get<double>() == Approx(same["tokens_per_s"].get<double>()));
}

TEST_CASE("DIP runs the prompt dense, as its paper does, and prunes decode steps only", "[cli][decoding]") {
  const std::vector<std::string> prompt = {"run.prompt_tokens=64", "run.prefill_chunk=16"};
  auto dip = prompt;
  for (const char* s : {"policy.name=dip", "policy.sparsity_mlp_in=0.5", "policy.sparsity_mlp_down=0.5"})
    dip.push_back(s);
  const json dense = metrics_of(prompt), sparse = metrics_of(dip);
  CHECK(sparse["prefill"]["flops"] == dense["prefill"]["flops"]);
  CHECK(sparse["prefill"]["flash_bytes"] == dense["prefill"]["flash_bytes"]);
  CHECK(sparse["flops_per_token"].get<double>() < dense["flops_per_token"].get<double>());
  CHECK(sparse["prefill"]["policy"].get<std::string>().find("DIP's paper runs the prompt dense") !=
        std::string::npos);
}

TEST_CASE("an MoE prompt chunk loads every expert of each routed layer, each token computing only its top_k",
          "[cli][decoding]") {
  const std::string moe = "builtin:experiments/moe/tiny.json";
  const json one = metrics_of({"run.prompt_tokens=32", "run.prefill_chunk=1"}, moe);
  const json all = metrics_of({"run.prompt_tokens=32", "run.prefill_chunk=32"}, moe);
  // The same multiply-adds whether routed token by token or as one chunk: top_k experts a
  // token (and the LM head for the prompt's last token only).
  CHECK(all["prefill"]["flops"].get<double>() == Approx(one["prefill"]["flops"].get<double>()));
  // The chunk streams all 8 experts of each of the 3 routed layers past the cache of 3 a
  // layer: 24 experts of 3 x 64 x 32 fp16 weights; token by token, the routing reuses the
  // cached ones.
  CHECK(all["prefill"]["flash_bytes"].get<double>() == 24 * 3 * 64 * 32 * 2);
  CHECK(one["prefill"]["flash_bytes"].get<double>() < all["prefill"]["flash_bytes"].get<double>());
}

TEST_CASE("the draft's placement: pinned beats streamed from flash every draft step", "[cli][decoding]") {
  const auto sets = speculative({"decoding.compare_plain=false", "run.tokens=32"});
  auto streamed = sets;
  streamed.push_back("decoding.placement=streamed");
  const json p = metrics_of(sets), f = metrics_of(streamed);
  CHECK(f["speculative"]["draft_time_per_step_s"].get<double>() >
        p["speculative"]["draft_time_per_step_s"].get<double>());
  CHECK(f["memory_footprint_bytes"]["weights_pinned"].get<double>() <
        p["memory_footprint_bytes"]["weights_pinned"].get<double>());
}

TEST_CASE("hybrid with a decoder-only large model: its layers run over the prompt, without the LM head",
          "[cli][decoding]") {
  const json m = metrics_of({"decoding.scheme=hybrid", "decoding.decoder=builtin:models/tiny-draft.json",
                             "run.prompt_tokens=32", "run.prefill_chunk=16", "decoding.compare_plain=false"});
  CHECK(m["hybrid"]["encoder_model"] == "tiny");
  CHECK(m["hybrid"]["decoder_model"] == "tiny-draft");
  CHECK(m["hybrid"]["projector_parameters"] == 64 * 32 + 32 * 32);
  // Two chunks of the large model, two of the small one.
  CHECK(m["prefill"]["steps"] == 4);
  CHECK(m["hybrid"]["encode_time_s"].get<double>() > 0);
  CHECK(m["hybrid"]["decoder_prompt_time_s"].get<double>() > 0);
}

TEST_CASE("speculative decoding: mean tokens per step within its interval of (1 - A^(G+1)) / (1 - A)",
          "[cli][decoding]") {
  const json m = metrics_of(speculative({"decoding.gamma=3", "decoding.acceptance=0.6", "run.tokens=200",
                                         "run.prompt_tokens=8", "decoding.compare_plain=false"}));
  const json& s = m["speculative"];
  const double expected = (1 - std::pow(0.6, 4)) / (1 - 0.6);
  CHECK(s["tokens_per_step"]["expected"].get<double>() == Approx(expected));
  CHECK(s["tokens_per_step"]["ci95"][0].get<double>() <= expected);
  CHECK(s["tokens_per_step"]["ci95"][1].get<double>() >= expected);
  CHECK(s["gamma"] == 3);
  CHECK(s["steps"].get<int>() > 50);
  CHECK(s["accepted_per_step"].get<double>() == Approx(s["tokens_per_step"]["mean"].get<double>() - 1));
  CHECK(s["draft_time_share"].get<double>() > 0);
  CHECK(s["draft_time_share"].get<double>() < 1);
  CHECK_FALSE(s.contains("plain"));
}

TEST_CASE("speculative decoding speeds up a flash-bound target: verification reads its weights once for G+1",
          "[cli][decoding]") {
  // The target streams from flash every step (no cache); the small draft is pinned.
  auto sets = speculative({"weight_store.cache_capacity=0B", "decoding.gamma=4", "decoding.acceptance=0.8",
                           "run.tokens=64", "run.prompt_tokens=8"});
  const json m = metrics_of(sets);
  const json& s = m["speculative"];
  REQUIRE(s.contains("plain"));
  CHECK(s["plain"]["model"] == "tiny");
  CHECK(s["speedup_tokens_per_s"].get<double>() > 1.5);
  CHECK(m["tokens_per_s"].get<double>() ==
        Approx(s["speedup_tokens_per_s"].get<double>() * s["plain"]["tokens_per_s"].get<double>()));
  // Nothing accepted: every step pays gamma drafts and a verification for one token.
  sets.push_back("decoding.acceptance=0");
  const json none = metrics_of(sets);
  CHECK(none["speculative"]["tokens_per_step"]["mean"] == 1.0);
  CHECK(none["speculative"]["speedup_tokens_per_s"].get<double>() < 1);
}

TEST_CASE("speculative decoding replays a recorded accept/reject trace", "[cli][decoding]") {
  TempDir tmp;
  write_text(tmp / "accept.txt", "1 1 1 0\n1 0\n");
  const auto sets = speculative({"decoding.gamma=4", "decoding.acceptance_trace=" + (tmp / "accept.txt"),
                                 "run.tokens=40", "decoding.compare_plain=false"});
  const json m = metrics_of(sets);
  // Steps alternate 4 tokens (1 1 1 0) and 2 tokens (1 0): a mean of 3.
  CHECK(m["speculative"]["tokens_per_step"]["mean"].get<double>() == Approx(3).margin(0.15));
  CHECK(m["speculative"]["acceptance_trace_rate"].get<double>() == Approx(4.0 / 6));
  CHECK(m["speculative"]["acceptance_trace_restarts"].get<int>() > 0);
}

TEST_CASE("a malformed acceptance trace is bad input naming the file, line and word", "[cli][decoding]") {
  TempDir tmp;
  const std::string f = tmp / "accept.txt";
  const auto run = [&](const std::string& text) {
    write_text(f, text);
    const auto sets = speculative({"decoding.acceptance_trace=" + f, "run.tokens=4"});
    std::vector<std::string> args = {"run", "-c", "builtin:experiments/tiny.json", "--no-progress"};
    for (const auto& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    return args;
  };
  expect_bad_input(run("1 0 # a comment\n1, 1\t0 x\n"),
                   {"decoding.acceptance_trace", f + ":2: 'x' is not 0 (rejected) or 1 (accepted)"});
  // A word of a megabyte is shown by its start and its size, not whole.
  const auto r = run_cli(run("1\n" + std::string(1 << 20, '1') + "\n"));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Matchers::Contains(f + ":2: '" + std::string(32, '1') + "...' (1048576 bytes)"));
  CHECK(r.err.size() < 1000);
  expect_bad_input(run("# nothing\n\n"), {"acceptance trace '" + f + "' holds no 0/1 outcome"});
}

TEST_CASE("hybrid: a T5 encoder encodes the prompt once, GPT-2 decodes, faster than T5 alone",
          "[cli][decoding]") {
  const json m =
      metrics_of({"decoding.scheme=hybrid", "decoding.encoder=flan-t5-large", "decoding.decoder=gpt2",
                  "run.prompt_tokens=128", "run.tokens=8", "run.warmup_tokens=1"},
                 "builtin:experiments/default.json");
  const json& h = m["hybrid"];
  CHECK(h["encoder_model"] == "flan-t5-large");
  CHECK(h["decoder_model"] == "gpt2");
  CHECK(h["encode_time_s"].get<double>() > 0);
  CHECK(h["projector_parameters"] == 1024 * 768 + 768 * 768);  // T5-large width 1024 to GPT-2's 768
  REQUIRE(h.contains("plain"));
  CHECK(h["plain"]["model"] == "flan-t5-large");
  CHECK(h["speedup_tokens_per_s"].get<double>() > 1.5);
  CHECK(m["time_to_first_token_s"].get<double>() > h["encode_time_s"].get<double>());
}

TEST_CASE("timelines put prefill, draft and verification steps on lanes of their own", "[cli][decoding]") {
  TempDir tmp;
  std::vector<std::string> args = {"run",          "-c",           "builtin:experiments/tiny.json",
                                   "--timeline",   tmp / "t.json", "--timeline-tokens",
                                   "0:12",         "--format",     "json",
                                   "--no-progress"};
  for (const auto& s : kSpeculative) {
    args.push_back("--set");
    args.push_back(s);
  }
  for (const char* s : {"run.prefill_chunk=8", "decoding.compare_plain=false", "decoding.gamma=2"}) {
    args.push_back("--set");
    args.push_back(s);
  }
  const auto r = run_cli(args);
  INFO(describe(args, r));
  REQUIRE(r.code == 0);
  const json t = json::parse(read_text(tmp / "t.json"));
  std::set<std::string> lanes, cats;
  for (const auto& e : t["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") lanes.insert(e["args"]["name"].get<std::string>());
    if (e["ph"] == "X") cats.insert(e["cat"].get<std::string>());
  }
  CHECK(lanes.count("prefill and encoding") == 1);
  CHECK(lanes.count("draft") == 1);
  CHECK(lanes.count("verify") == 1);
  CHECK(cats.count("prefill") == 1);
  CHECK(cats.count("draft") == 1);
  CHECK(cats.count("verify") == 1);
}

TEST_CASE("sweeps take prompt length, gamma and acceptance as axes", "[cli][decoding][sweep]") {
  TempDir tmp;
  write_text(tmp / "spec.json", R"({"base": "builtin:experiments/tiny.json",
    "grid": {"decoding.scheme": ["speculative"], "decoding.draft": ["builtin:models/tiny-draft.json"],
             "decoding.compare_plain": [false], "run.prefill_chunk": [16],
             "run.prompt_tokens": [16, 64], "decoding.gamma": [1, 4], "decoding.acceptance": [0.5, 0.9]}})");
  const auto r = run_cli({"sweep", tmp / "spec.json", "--out", tmp / "o", "--jobs", "2"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::ifstream in(tmp / "o/results.jsonl");
  std::string line;
  int points = 0;
  while (std::getline(in, line)) {
    const json l = json::parse(line);
    CHECK(l["status"] == "ok");
    const json& m = l["metrics"];
    CHECK(m["prefill"]["prompt_tokens"] == l["axes"]["run.prompt_tokens"]);
    CHECK(m["speculative"]["gamma"] == l["axes"]["decoding.gamma"]);
    CHECK(m["speculative"]["acceptance"] == l["axes"]["decoding.acceptance"]);
    ++points;
  }
  CHECK(points == 8);
}

TEST_CASE("bad decoding input exits 2 naming the key", "[cli][decoding]") {
  struct Case {
    std::vector<std::string> sets;
    std::string key;
  };
  const std::vector<Case> cases = {
      {{"decoding.scheme=speculative", "decoding.draft=builtin:models/tiny-draft.json", "decoding.gamma=0"},
       "decoding.gamma"},
      {{"decoding.scheme=speculative", "decoding.draft=builtin:models/tiny-draft.json",
        "decoding.acceptance=1.5"},
       "decoding.acceptance"},
      {{"decoding.scheme=speculative", "decoding.draft=builtin:models/tiny-draft.json",
        "decoding.acceptance=-0.1"},
       "decoding.acceptance"},
      // gpt2's vocabulary (50257) is not the tiny model's (256).
      {{"decoding.scheme=speculative", "decoding.draft=gpt2"}, "decoding.draft"},
      {{"decoding.scheme=speculative"}, "decoding.draft"},
      {{"decoding.scheme=hybrid"}, "decoding.decoder"},
      {{"decoding.scheme=speculative", "decoding.draft=builtin:models/tiny-draft.json",
        "decoding.acceptance_trace=/no/such/file"},
       "decoding.acceptance_trace"},
      {{"decoding.scheme=greedy"}, "decoding.scheme"},
      {{"run.prefill_chunk=-1"}, "run.prefill_chunk"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"run", "-c", "builtin:experiments/tiny.json", "--no-progress"};
    for (const auto& s : c.sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    const auto r = run_cli(args);
    INFO(describe(args, r));
    CHECK(r.code == 2);
    CHECK(r.err.find(c.key) != std::string::npos);
  }
}

TEST_CASE("trace record refuses what the trace format cannot hold, naming the key", "[cli][decoding]") {
  TempDir tmp;
  const auto r = run_cli({"trace", "record", "-c", "builtin:experiments/tiny.json", "-o", tmp / "t.trace",
                          "--set", "run.prefill_chunk=8", "--no-progress"});
  CHECK(r.code == 2);
  CHECK(r.err.find("run.prefill_chunk") != std::string::npos);
}
