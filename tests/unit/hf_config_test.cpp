// Model shapes from Hugging Face config.json files (traces/hf_config.*) and the layer
// structures they expand to: every fixture of configs/hf/ against its model card's
// parameter count, the per-token weight and KV bytes of three models worked out by hand,
// the built-in presets against their own config.json, each structure (tied and position
// embeddings, biases, LayerNorm, parallel blocks, sliding windows, MLA, encoder-decoder),
// the policies on them, and the errors a bad config.json gets.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/registry.hpp"
#include "traces/hf_config.hpp"
#include "traces/policies/input_pruning.hpp"
#include "traces/policy.hpp"

using namespace edgesim;
using namespace edgesim::traces;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kConfigs = std::string(EDGESIM_TEST_DATA) + "/../../configs/";

json hf_file(const std::string& name) {
  return config::parse_json_text(config::read_file(kConfigs + "hf/" + name + "/config.json"), name);
}

json model_section(const std::string& name, const json& over = json::object()) {
  json m = load_model_source(kConfigs + "hf/" + name + "/config.json").model;
  m.merge_patch(over);
  return m;
}

ModelLayout layout_of(const std::string& name, const json& over = json::object()) {
  return ModelLayout(config::Params(ModelLayout::param_table(), model_section(name, over), "model"));
}

const OpSpec& op_named(const ModelLayout& l, const std::string& name) {
  for (const auto& o : l.ops()) {
    if (o.name == name) return o;
  }
  throw std::runtime_error("no op " + name);
}

const Tensor& tensor_named(const ModelLayout& l, const std::string& name) {
  for (const auto& t : l.tensors()) {
    if (t.name == name) return t;
  }
  throw std::runtime_error("no tensor " + name);
}

// Parameters every token uses: all but the routed experts not chosen and, when `input_row`
// is false, the input embedding table (a tied table counts once, as the LM head).
double active_parameters(const ModelLayout& l, bool count_input_embedding) {
  double n = 0;
  const OpSpec& head = l.ops().back();
  for (size_t i = 0; i < l.tensors().size(); ++i) {
    const Tensor& t = l.tensors()[i];
    const double p = static_cast<double>(t.rows * t.cols);
    const bool read_by_head = std::find(head.tensors.begin(), head.tensors.end(), i) != head.tensors.end();
    if (t.klass == "moe.experts") {
      n += p * l.moe().top_k / l.moe().experts;
    } else if (t.kind != TensorKind::Embedding || count_input_embedding || read_by_head) {
      n += p;
    }
  }
  return n;
}

// A dense step's reads: one op's chunk sets under the dense policy, at `position`.
struct DenseStep {
  uint64_t weight_bytes = 0, kv_read = 0, kv_write = 0;
};
DenseStep dense_step(const ModelLayout& l, uint64_t position, uint64_t encoder_tokens = 0) {
  const config::Params none(config::ParamTable{}, json::object(), "policy");
  auto policy = Registry<Policy>::instance().at("dense", "policy.name").make(none);
  struct NoCache final : ResidencyView {
    bool resident(uint32_t) const override { return false; }
  } cache;
  std::mt19937_64 rng(1);
  PolicyContext ctx{l, cache, 0, {position, 7}, rng};
  DenseStep s;
  const TokenContext at{position, encoder_tokens};
  for (const auto& op : l.ops()) {
    std::vector<ChunkSet> sets(op.tensors.size());
    policy->select(ctx, op, sets);
    for (size_t i = 0; i < op.tensors.size(); ++i) {
      const Tensor& t = l.tensors()[op.tensors[i]];
      s.weight_bytes += sets[i].count(t.chunks) * t.chunk_bytes;
    }
    s.kv_read += l.op_kv_read_bytes(op, at);
    s.kv_write += l.op_kv_write_bytes(op);
  }
  return s;
}

}  // namespace

TEST_CASE("every config.json fixture gives its model card's parameter count", "[hf]") {
  struct Card {
    const char* name;
    double total;       // parameters, as the source states them
    double active;      // MoE: parameters active per token (0: dense)
    bool embed_active;  // whether the source counts the input embedding as active
    double tolerance;   // relative
    const char* source;
  };
  // Sources (configs/hf/README.md gives the links). The tolerance is 1% except where the
  // card's figure is rounded more coarsely than that, as noted.
  const Card cards[] = {
      {"llama-7b", 6.7e9, 0, true, 0.01, "LLaMA paper (arXiv 2302.13971) Table 2: 6.7B"},
      {"llama3-8b", 8.0e9, 0, true, 0.01, "Meta Llama 3 model card: 8B"},
      {"phi3-medium", 14e9, 0, true, 0.01, "Phi-3-medium model card: 14B"},
      {"mistral-7b", 7.3e9, 0, true, 0.01, "Mistral AI announcement: a 7.3B parameter model"},
      // Falcon-7B's card says "7B", one significant digit; the count is 1.1% below it.
      {"falcon-7b", 7e9, 0, true, 0.012, "Falcon-7B model card: 7B"},
      {"opt-6.7b", 6.7e9, 0, true, 0.01, "OPT paper (arXiv 2205.01068) Table 1: 6.7B"},
      {"gpt2", 124e6, 0, true, 0.01, "gpt2 model card: 124M"},
      {"flan-t5-large", 780e6, 0, true, 0.01, "Flan-T5 paper (arXiv 2210.11416) Table 2: 780M"},
      {"qwen2-1.5b", 1.54e9, 0, true, 0.01, "Qwen2 blog/report: 1.54B (1.31B non-embedding)"},
      {"gemma-2b", 2506434560.0, 0, true, 0.01,
       "Gemma report (arXiv 2403.08295) Table 2: 524,550,144 + 1,981,884,416"},
      {"gemma-2-2b", 2614636800.0, 0, true, 0.01,
       "Gemma 2 report (arXiv 2408.00118) Table 2: 590,118,912 + 2,024,517,888"},
      {"pythia-1.4b", 1414647808.0, 0, true, 0.01, "Pythia paper (arXiv 2304.01373) Table 1: 1,414,647,808"},
      {"mixtral-8x7b", 46.7e9, 12.9e9, true, 0.01, "Mixtral paper (arXiv 2401.04088): 46.7B, 12.9B active"},
      {"phi3.5-moe", 41.9e9, 6.6e9, true, 0.01, "Phi-3.5-MoE model card: 41.9B, 6.6B active"},
      {"qwen1.5-moe-a2.7b", 14.3e9, 2.7e9, true, 0.01, "Qwen1.5-MoE-A2.7B model card: 14.3B, 2.7B active"},
      // The cards' active counts have two significant digits: OLMoE's 1.28B is 1.5% below
      // "1.3B", DeepSeek-V2-Lite's 2.45B (input embedding left out, as its card does) 2.1%
      // above "2.4B"; their totals are within 1%.
      {"olmoe-1b-7b", 6.9e9, 1.3e9, true, 0.016, "OLMoE paper (arXiv 2409.02060): 6.9B, 1.3B active"},
      {"deepseek-v2-lite", 15.7e9, 2.4e9, false, 0.022,
       "DeepSeek-V2 paper (arXiv 2405.04434): 15.7B, 2.4B active"},
  };
  for (const auto& c : cards) {
    INFO(c.name << ": " << c.source);
    const ModelLayout l = layout_of(c.name);
    const double total = static_cast<double>(l.parameters());
    CHECK(std::fabs(total / c.total - 1) < (c.active > 0 ? 0.01 : c.tolerance));
    // fp16 weights: two bytes a parameter, each tensor once.
    CHECK(l.total_weight_bytes() == 2 * l.parameters());
    if (c.active > 0) CHECK(std::fabs(active_parameters(l, c.embed_active) / c.active - 1) < c.tolerance);
  }
}

TEST_CASE("the exact counts of two reports are met to the parameter outside the embedding", "[hf]") {
  // Gemma's reports count a vocabulary padded to 256,128 rows; the config's 256,000 is what
  // the tokenizer uses. Outside the embedding the layouts match to the parameter.
  const ModelLayout gemma = layout_of("gemma-2b"), gemma2 = layout_of("gemma-2-2b"),
                    pythia = layout_of("pythia-1.4b");
  CHECK(gemma.parameters() - 256000ull * 2048 == 1'981'884'416ull);
  CHECK(gemma2.parameters() - 256000ull * 2304 == 2'024'517'888ull);
  CHECK(pythia.parameters() == 1'414'647'808ull);
}

TEST_CASE("OPT-6.7B's per-token bytes, by hand", "[hf]") {
  const ModelLayout l = layout_of("opt-6.7b");
  // Per layer (fp16, 2 bytes): q, k, v, o 4096 x 4096 with 4096-value biases; fc1 16384 x
  // 4096 with its bias, fc2 4096 x 16384 with its bias; two LayerNorms of 2 x 4096.
  const uint64_t layer =
      2 * (4 * (4096ull * 4096 + 4096) + 2 * 4096ull * 16384 + 16384 + 4096 + 2 * 2 * 4096);
  // The token's embedding row and position row (4096 values each); the tied table read
  // whole as the LM head (50272 x 4096); the final LayerNorm.
  const uint64_t outside = 2 * (4096 + 4096 + 50272ull * 4096 + 2 * 4096);
  const DenseStep s = dense_step(l, 100);
  CHECK(s.weight_bytes == 32 * layer + outside);
  // KV cache: 100 earlier positions of 2 x 4096 fp16 values in each of 32 layers, and this token's.
  CHECK(s.kv_read == 32ull * 100 * 2 * 4096 * 2);
  CHECK(s.kv_write == 32ull * 2 * 4096 * 2);
  CHECK(l.tensors()[0].klass == "embed");
  CHECK(op_named(l, "lm_head").tensors.back() == 0u);  // the embedding table, no lm_head tensor
}

TEST_CASE("DeepSeek-V2-Lite's per-token bytes with multi-head latent attention, by hand", "[hf]") {
  const ModelLayout l = layout_of("deepseek-v2-lite");
  // Attention per layer: q_proj 3072 x 2048, kv_a 576 x 2048, its norm 512, kv_b 4096 x
  // 512, o 2048 x 2048, the input norm 2048.
  const uint64_t attn = 3072ull * 2048 + 576 * 2048 + 512 + 4096 * 512 + 2048 * 2048 + 2048;
  const uint64_t expert = 3ull * 2048 * 1408;
  // Layer 0: a dense MLP of 10944; layers 1-26: norm, router 64 x 2048, 2 shared
  // experts; the dense policy reads all 64 routed experts.
  const uint64_t dense_mlp = 2048 + 3ull * 2048 * 10944;
  const uint64_t moe_mlp = 2048 + 64 * 2048 + 2 * expert + 64 * expert;
  const uint64_t outside = 2048 + 2048 + 102400ull * 2048;  // embedding row, final norm, LM head
  const DenseStep s = dense_step(l, 1000);
  CHECK(s.weight_bytes == 2 * (27 * attn + dense_mlp + 26 * moe_mlp + outside));
  // The cache holds kv_lora_rank + qk_rope_head_dim = 576 values a token and layer.
  CHECK(s.kv_read == 27ull * 1000 * 576 * 2);
  CHECK(s.kv_write == 27ull * 576 * 2);
  CHECK(l.kv_bytes_per_position() == 27ull * 576 * 2);
  // Attention FLOPs per attended position: 16 heads x 2 x (2 x 512 + 64).
  const OpSpec& a = op_named(l, "layers.0.attn");
  std::vector<ChunkSet> none(a.tensors.size());
  CHECK(l.op_flops(a, none, {9}) == 10ull * 16 * 2 * (2 * 512 + 64));
}

TEST_CASE("Flan-T5-Large's per-token bytes, by hand: the decoder with cross-attention", "[hf]") {
  const ModelLayout l = layout_of("flan-t5-large");
  REQUIRE(l.encoder_decoder());
  // Per decoder token and layer: self-attention (norm, q, k, v) and o, cross-attention's
  // norm, q and o (its keys and values come from the cache), the GeGLU MLP (norm, wi_0,
  // wi_1 2816 x 1024, wo); RMS norms of 1024.
  const uint64_t self_attn = 1024 + 4 * 1024ull * 1024;
  const uint64_t cross = 1024 + 2 * 1024ull * 1024;
  const uint64_t mlp = 1024 + 3 * 2816ull * 1024;
  const uint64_t outside = 1024 + 1024 + 32128ull * 1024;  // embedding row, final norm, untied LM head
  const DenseStep s = dense_step(l, 10, 300);
  CHECK(s.weight_bytes == 2 * (24 * (self_attn + cross + mlp) + outside));
  // Self-attention over the 10 tokens decoded so far, cross-attention over the 300 encoded
  // ones: 2 x 16 heads x 64 values each, per layer.
  CHECK(s.kv_read == 24ull * (10 + 300) * 2 * 1024 * 2);
  CHECK(s.kv_write == 24ull * 2 * 1024 * 2);
  CHECK(l.kv_cache_bytes(11, 300) == 24ull * (11 + 300) * 2 * 1024 * 2);
  // The encoder never runs per token: its 24 layers, then each decoder layer's cross k/v.
  const auto& enc = l.encoder_ops();
  REQUIRE(enc.size() == 1 + 24 * 4 + 1 + 24);
  CHECK(enc.front().name == "encoder.embed");
  CHECK(enc[1].name == "encoder.layers.0.attn");
  CHECK(enc[1].kind == OpKind::EncoderAttention);
  CHECK(enc.back().name == "layers.23.cross_kv");
  CHECK(l.pass_kv_write_bytes(enc.back(), 300) == 300ull * 2 * 1024 * 2);
  // An encoder layer over 300 tokens: 2 FLOPs per weight per token, attention all to all.
  CHECK(l.pass_flops(enc[1], 300) == 2 * 3 * 1024ull * 1024 * 300 + 4ull * 16 * 64 * 300 * 300);
  for (const auto& op : l.ops()) CHECK(op.name.rfind("encoder.", 0) != 0);
  // The pass the simulator runs once before decoding: every encoder weight (q, k, v, o and
  // the GeGLU MLP a layer) and each decoder layer's cross k and v, 2 FLOPs a weight a token,
  // plus attention all to all in the 24 encoder layers; the embedding table read at the
  // 300 prompt rows; the cross keys and values written.
  const uint64_t enc_layer = 4 * 1024ull * 1024 + 3 * 2816ull * 1024, cross_kv = 2 * 1024ull * 1024;
  const std::vector<OpAccess> pass = l.encoder_pass(300);
  REQUIRE(pass.size() == enc.size());
  uint64_t flops = 0, written = 0;
  for (const OpAccess& op : pass) {
    flops += op.flops;
    written += op.extra_dram_write_bytes;
  }
  CHECK(flops == 2 * 300ull * 24 * (enc_layer + cross_kv) + 24 * 4ull * 16 * 64 * 300 * 300);
  CHECK(written == 24 * 300ull * 2 * 1024 * 2);
  CHECK(pass.front().sets[0].count(32128) == 300);
  CHECK(pass[1].sets[1].kind == ChunkSet::Kind::All);
  CHECK(l.encoder_pass(0).empty());
  CHECK(layout_of("gpt2").encoder_pass(300).empty());
}

TEST_CASE("the built-in presets equal their own config.json", "[hf]") {
  for (const char* name : {"llama-7b", "llama3-8b", "phi3-medium", "mixtral-8x7b", "phi3.5-moe",
                           "qwen1.5-moe-a2.7b", "deepseek-v2-lite", "olmoe-1b-7b"}) {
    INFO(name);
    const json preset = load_model_source(kConfigs + "models/" + name + ".json").model;
    const json hf = load_model_source(kConfigs + "hf/" + name + "/config.json").model;
    const config::Params pp(ModelLayout::param_table(), preset, "model"),
        hp(ModelLayout::param_table(), hf, "model");
    CHECK(pp.resolved() == hp.resolved());
    const ModelLayout a(pp), b(hp);
    REQUIRE(a.tensors().size() == b.tensors().size());
    for (size_t i = 0; i < a.tensors().size(); ++i) {
      CHECK(a.tensors()[i].name == b.tensors()[i].name);
      CHECK(a.tensors()[i].bytes() == b.tensors()[i].bytes());
    }
    CHECK(a.ops().size() == b.ops().size());
  }
}

TEST_CASE("each model_type maps its structure", "[hf]") {
  SECTION("Falcon-7B: multi-query, parallel attention and MLP sharing one LayerNorm, tied") {
    const json m = model_section("falcon-7b");
    CHECK(m["kv_heads"] == 1);
    CHECK(m["block"] == "parallel_shared_norm");
    CHECK(m["intermediate_size"] == 4 * 4544);
    CHECK(m["mlp"] == "gelu");
    const ModelLayout l = layout_of("falcon-7b");
    const OpSpec& up = op_named(l, "layers.0.mlp_up");
    CHECK(l.tensors()[up.tensors[0]].klass == "mlp.up");     // no norm of its own
    CHECK(tensor_named(l, "layers.0.attn.norm").rows == 2);  // LayerNorm: weight and bias
    CHECK(tensor_named(l, "layers.0.attn.k").rows == 64);    // one KV head of 64
  }
  SECTION("GPT-2: learned positions read at the token's position, biases, tied") {
    const ModelLayout l = layout_of("gpt2");
    const Tensor& pos = tensor_named(l, "embed.pos");
    CHECK(pos.rows == 1024);
    CHECK(pos.positional);
    CHECK(tensor_named(l, "layers.0.attn.q.bias").kind == TensorKind::Bias);
    CHECK(tensor_named(l, "layers.0.mlp.down.bias").cols == 768);
    CHECK(l.intermediate_size() == 3072);
  }
  SECTION("GPT-NeoX: parallel attention and MLP, each with its own LayerNorm") {
    const ModelLayout l = layout_of("pythia-1.4b");
    const OpSpec& up = op_named(l, "layers.0.mlp_up");
    CHECK(l.tensors()[up.tensors[0]].klass == "mlp.norm");
  }
  SECTION("Mistral: every layer's window bounds the KV read; Gemma-2: every other layer's") {
    const ModelLayout m = layout_of("mistral-7b");
    const OpSpec& a = op_named(m, "layers.5.attn");
    CHECK(m.op_kv_read_bytes(a, {10000}) == 4095ull * 2 * 8 * 128 * 2);
    CHECK(m.op_kv_read_bytes(a, {100}) == 100ull * 2 * 8 * 128 * 2);
    CHECK(m.kv_cache_bytes(10000, 0) == 32ull * 4096 * 2 * 8 * 128 * 2);
    const ModelLayout g = layout_of("gemma-2-2b");
    CHECK(g.window(0) == 4096);
    CHECK(g.window(1) == 0);
    CHECK(tensor_named(g, "layers.0.mlp.norm").rows == 2);  // pre- and post-MLP norms
  }
  SECTION("Qwen2: biases on q, k and v only, tied embeddings") {
    const ModelLayout l = layout_of("qwen2-1.5b");
    CHECK(tensor_named(l, "layers.0.attn.v.bias").cols == 256);
    CHECK_THROWS(tensor_named(l, "layers.0.attn.o.bias"));
    CHECK(op_named(l, "lm_head").tensors.back() == 0u);
  }
  SECTION("Gemma: GeGLU and one KV head of 256") {
    const json m = model_section("gemma-2b");
    CHECK(m["mlp"] == "geglu");
    CHECK(m["head_dim"] == 256);
    CHECK(m["tie_word_embeddings"] == true);
  }
  SECTION("MoE types: experts, shared experts, router normalisation") {
    CHECK(model_section("qwen1.5-moe-a2.7b")["moe_shared_expert_gate"] == true);
    CHECK(model_section("mixtral-8x7b")["moe_router"] == "softmax_topk_renorm");
    CHECK(model_section("phi3.5-moe")["moe_router"] == "sparsemixer");
    CHECK(model_section("deepseek-v2-lite")["moe_first_dense_layers"] == 1);
    CHECK(model_section("olmoe-1b-7b")["qk_norm"] == true);
  }
}

TEST_CASE("a bad config.json is an error naming the key and the file", "[hf]") {
  json hf = hf_file("llama-7b");
  hf["model_type"] = "bloom";
  CHECK_THROWS_WITH(model_from_hf_config(hf, "x/config.json", "x"), Contains("x/config.json") &&
                                                                        Contains("'model_type' is 'bloom'") &&
                                                                        Contains("llama, mistral"));
  hf = hf_file("llama-7b");
  hf.erase("num_hidden_layers");
  CHECK_THROWS_WITH(model_from_hf_config(hf, "x/config.json", "x"),
                    Contains("x/config.json") && Contains("'num_hidden_layers' is missing"));
  hf = hf_file("gpt2");
  hf["n_embd"] = "wide";
  CHECK_THROWS_WITH(model_from_hf_config(hf, "g.json", "g"),
                    Contains("'n_embd' must be a non-negative integer"));
  hf = hf_file("flan-t5-large");
  hf["feed_forward_proj"] = "gated-relu";
  CHECK_THROWS_WITH(model_from_hf_config(hf, "t.json", "t"), Contains("'feed_forward_proj' is 'gated-relu'"));
  hf = hf_file("qwen2-1.5b");
  hf["use_sliding_window"] = true;
  CHECK_THROWS_WITH(model_from_hf_config(hf, "q.json", "q"), Contains("'use_sliding_window'"));
  CHECK_THROWS_AS(model_from_hf_config(json{{"hidden_size", 4}}, "n.json", "n"), InputError);
  CHECK_THROWS_WITH(load_model_source("no-such-model"),
                    Contains("no built-in model") && Contains("opt-6.7b"));
  CHECK(load_model_source("opt-6.7b").model["name"] == "opt-6.7b");
  CHECK(load_model_source("llama3-8b").description.find("models/llama3-8b.json") != std::string::npos);
}

TEST_CASE("the existing decoder's tensors, ops and costs are unchanged", "[hf]") {
  // Phi-3-medium as the original swiglu-decoder laid it out: four ops a layer in this
  // order, no bias or position tensor, norms of one vector.
  const ModelLayout l(config::Params(ModelLayout::param_table(),
                                     config::load_config(kConfigs + "models/phi3-medium.json")["model"],
                                     "model"));
  REQUIRE(l.ops().size() == 2 + 4 * 40);
  CHECK(l.ops()[1].name == "layers.0.attn");
  CHECK(l.ops()[2].name == "layers.0.attn_out");
  CHECK(l.ops()[3].name == "layers.0.mlp_gate_up");
  CHECK(l.ops()[4].name == "layers.0.mlp_down");
  CHECK(l.tensors().size() == 2 + 9 * 40 + 1);
  CHECK(l.parameters() == 13'960'238'080ull);
}

TEST_CASE("relu_predictor bundles OPT's fc1 rows and fc2 columns, and DIP masks fc1's and fc2's inputs",
          "[hf][sparsity]") {
  const ModelLayout bundled = layout_of("opt-6.7b", {{"chunking", "bundled"}, {"layers", 2}});
  const Tensor& b = tensor_named(bundled, "layers.0.mlp.bundle");
  CHECK(b.chunks == 16384u);
  CHECK(b.chunk_bytes == 2 * 2 * 4096u);  // fc1 row and fc2 column
  CHECK(bundled.mlp() == MlpKind::Relu);
  struct NoCache final : ResidencyView {
    bool resident(uint32_t) const override { return false; }
  } cache;
  std::mt19937_64 rng(3);
  {
    InputPruning::Settings s;
    s.predictor = true;
    s.keep[static_cast<int>(LinearInput::MlpDown)] = 0.1;
    s.recall = 1;
    InputPruning p(s);
    p.check(bundled);
    const OpSpec& up = op_named(bundled, "layers.0.mlp_up");
    std::vector<ChunkSet> sets(up.tensors.size());
    p.select({bundled, cache, 0, {5, 1}, rng}, up, sets);
    for (size_t i = 0; i < up.tensors.size(); ++i) {
      const Tensor& t = bundled.tensors()[up.tensors[i]];
      if (t.klass == "mlp.bundle") CHECK(sets[i].count(t.chunks) == 1638u);  // 10% of 16384 neurons
      if (t.kind == TensorKind::Bias) CHECK(sets[i].kind == ChunkSet::Kind::All);
    }
  }
  {
    const ModelLayout cols = layout_of("opt-6.7b", {{"layers", 2}});
    InputPruning::Settings s;
    s.keep[static_cast<int>(LinearInput::MlpGateUp)] = 0.5;
    s.keep[static_cast<int>(LinearInput::MlpDown)] = 0.25;
    InputPruning p(s);
    for (const char* name : {"layers.1.mlp_up", "layers.1.mlp_down"}) {
      const OpSpec& op = op_named(cols, name);
      CHECK(p.needs_input(op));
      std::vector<ChunkSet> sets(op.tensors.size());
      p.select({cols, cache, 0, {5, 1}, rng}, op, sets);
      const Tensor& fc = cols.tensors()[op.tensors[std::string(name).back() == 'p' ? 1 : 0]];
      const size_t i = std::string(name).back() == 'p' ? 1 : 0;
      CHECK(fc.kind == TensorKind::Linear);
      CHECK(sets[i].count(fc.chunks) ==
            (fc.cols == 4096 ? 2048u : 4096u));  // fc1: half of 4096, fc2: a quarter of 16384
    }
  }
}

TEST_CASE("MoE routing runs on every MoE model type", "[hf][moe]") {
  for (const char* name :
       {"mixtral-8x7b", "qwen1.5-moe-a2.7b", "phi3.5-moe", "deepseek-v2-lite", "olmoe-1b-7b"}) {
    INFO(name);
    const ModelLayout l = layout_of(name);
    const json policy = {{"name", "cache_prior"}};
    const auto& entry = Registry<Policy>::instance().at("cache_prior", "policy.name");
    auto p = entry.make(config::Params(*entry.params, policy, "policy", {{"name"}}));
    p->check(l);
    struct NoCache final : ResidencyView {
      bool resident(uint32_t) const override { return false; }
    } cache;
    std::mt19937_64 rng(1);
    uint64_t routed = 0;
    for (const auto& op : l.ops()) {
      std::vector<ChunkSet> sets(op.tensors.size());
      p->select({l, cache, 0, {16, 1}, rng}, op, sets);
      if (op.name.find("moe_experts") == std::string::npos) continue;
      ++routed;
      CHECK(p->needs_input(op));
      CHECK(sets[0].count(l.tensors()[op.tensors[0]].chunks) == l.moe().top_k);
    }
    CHECK(routed == l.layers() - l.moe().first_dense);
  }
}
