#include "traces/hf_config.hpp"

#include <array>
#include <cmath>
#include <filesystem>

#include "sim/core/config/embedded.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/json_count.hpp"
#include "traces/model_layout.hpp"

namespace edgesim::traces {

using nlohmann::json;

namespace {

// Reads a config.json's values; every error names the key, the file and the model_type.
class Reader {
 public:
  Reader(const json& hf, const std::string& origin, const std::string& type)
      : hf_(hf), origin_(origin), type_(type) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw InputError("Hugging Face config " + origin_ + ": '" + key + "' " + what + " (model_type " + type_ +
                     ")");
  }
  /// Present and not null (transformers reads a null as "use the default").
  bool has(const std::string& key) const { return hf_.contains(key) && !hf_[key].is_null(); }
  uint64_t count(const std::string& key) const {
    if (!has(key)) fail(key, "is missing");
    const json& v = hf_[key];
    if (!json_is_count(v)) fail(key, "must be a non-negative integer, not " + v.dump());
    return v.get<uint64_t>();
  }
  uint64_t count_or(const std::string& key, uint64_t fallback) const {
    return has(key) ? count(key) : fallback;
  }
  /// count(key), which feeds model.`model_key`: in that key's range (ModelLayout's table),
  /// so that no step computes with a value the layout would refuse (a zero head count, a
  /// width near 2^64).
  uint64_t count_for(const std::string& key, const std::string& model_key) const {
    const uint64_t v = count(key);
    const config::ParamDecl* d = ModelLayout::param_table().find(model_key);
    if (d && (static_cast<double>(v) < d->min || static_cast<double>(v) > d->max)) {
      fail(key, "is " + std::to_string(v) + ": it gives model." + model_key + ", which must be in " +
                    d->range_text());
    }
    return v;
  }
  uint64_t count_or_for(const std::string& key, const std::string& model_key, uint64_t fallback) const {
    return has(key) ? count_for(key, model_key) : fallback;
  }
  bool flag_or(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!hf_[key].is_boolean()) fail(key, "must be true or false, not " + hf_[key].dump());
    return hf_[key].get<bool>();
  }
  double number_or(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    if (!hf_[key].is_number()) fail(key, "must be a number, not " + hf_[key].dump());
    return hf_[key].get<double>();
  }
  std::string text_or(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!hf_[key].is_string()) fail(key, "must be a string, not " + hf_[key].dump());
    return hf_[key].get<std::string>();
  }
  const json& raw(const std::string& key) const { return hf_[key]; }

 private:
  const json& hf_;
  const std::string& origin_;
  const std::string& type_;
};

// One model key read from the first config.json key present; absent: `fallback` (null:
// required), or the value of another model key when the fallback is "=KEY".
struct Rule {
  const char* key;
  std::vector<const char*> from;
  json fallback = nullptr;
};

// How the MLP's activation is named: config.json keys tried in order, the default, and
// whether the MLP is gated (gate and up) or plain (fc1).
struct Activation {
  // Keys tried in order; unused slots are null. A fixed array rather than a vector: GCC 12
  // at -O3 reports a vector inside this static table as maybe-uninitialized.
  std::array<const char*, 2> keys;
  const char* fallback;
  bool gated;
};

using MapStep = void (*)(const Reader&, json&);

struct Family {
  const char* type;
  const char* maps_to;  // one line for docs/models.md
  std::vector<Rule> rules;
  Activation activation;  // no keys: a step sets model.mlp
  bool tie_default;       // tie_word_embeddings when the config does not say
  json fixed;             // model keys this type always sets
  std::vector<MapStep> steps;
};

// ---- rules shared by the Llama-style configs (Llama, Mistral, Qwen2, Phi-3, Gemma, ...)
std::vector<Rule> llama_rules() {
  return {{"layers", {"num_hidden_layers"}},
          {"hidden_size", {"hidden_size"}},
          {"intermediate_size", {"intermediate_size"}},
          {"heads", {"num_attention_heads"}},
          {"kv_heads", {"num_key_value_heads"}, "=heads"},
          {"head_dim", {"head_dim"}, 0},
          {"vocab_size", {"vocab_size"}},
          {"max_context", {"max_position_embeddings"}}};
}

// Multi-head attention configs with Llama's key names but no num_key_value_heads (OPT,
// GPT-NeoX); the MLP width comes from `inter`.
std::vector<Rule> mha_rules(const char* inter, json max_context_default) {
  return {{"layers", {"num_hidden_layers"}},
          {"hidden_size", {"hidden_size"}},
          {"intermediate_size", {inter}},
          {"heads", {"num_attention_heads"}},
          {"kv_heads", {}, "=heads"},
          {"vocab_size", {"vocab_size"}},
          {"max_context", {"max_position_embeddings"}, std::move(max_context_default)}};
}

// ---- steps: what a key-to-key rule cannot say
void llama_biases(const Reader& r, json& m) {
  m["attention_bias"] = r.flag_or("attention_bias", false) ? "all" : "none";
  m["mlp_bias"] = r.flag_or("mlp_bias", false);
}

// A window at least the model's context bounds nothing.
void sliding_window(const Reader& r, json& m) {
  const uint64_t w = r.count_or("sliding_window", 0);
  m["sliding_window"] = w >= m["max_context"].get<uint64_t>() ? 0 : w;
}

void qwen_window(const Reader& r, json&) {
  if (r.flag_or("use_sliding_window", false)) {
    r.fail("use_sliding_window",
           "is true: Qwen2's window on the layers from max_window_layers on is not modelled");
  }
}

void router_norm(const Reader& r, json& m, bool renorm_default) {
  m["moe_router"] = r.flag_or("norm_topk_prob", renorm_default) ? "softmax_topk_renorm" : "softmax_topk";
}

// Mixtral: every layer routes over num_local_experts full-width SwiGLU experts, and the
// top-k weights are renormalised (MixtralSparseMoeBlock).
void mixtral_moe(const Reader& r, json& m) {
  m["moe_experts"] = r.count_for("num_local_experts", "moe_experts");
  m["moe_top_k"] = r.count_for("num_experts_per_tok", "moe_top_k");
  m["moe_expert_intermediate_size"] = m["intermediate_size"];
  m["moe_router"] = "softmax_topk_renorm";
}

// Phi-3.5-MoE: Mixtral's shape, sparsemixer routing (eps = router_jitter_noise), biases
// on every attention projection and on the LM head.
void phimoe(const Reader& r, json& m) {
  mixtral_moe(r, m);
  m["moe_router"] = "sparsemixer";
  m["moe_sparsemixer_eps"] = r.number_or("router_jitter_noise", 0.01);
  m["attention_bias"] = r.flag_or("attention_bias", false) ? "all" : "none";
  m["lm_head_bias"] = r.flag_or("lm_head_bias", false);
}

void qwen2_moe(const Reader& r, json& m) {
  if (r.count_or("decoder_sparse_step", 1) != 1) {
    r.fail("decoder_sparse_step", "is not 1: MoE layers between dense ones are not modelled");
  }
  if (r.has("mlp_only_layers") &&
      !(r.raw("mlp_only_layers").is_array() && r.raw("mlp_only_layers").empty())) {
    r.fail("mlp_only_layers", "is not empty: dense layers among the MoE ones are not modelled");
  }
  m["moe_experts"] = r.count_for("num_experts", "moe_experts");
  m["moe_top_k"] = r.count_for("num_experts_per_tok", "moe_top_k");
  m["moe_expert_intermediate_size"] = r.count_for("moe_intermediate_size", "moe_expert_intermediate_size");
  const uint64_t shared =
      r.count_or_for("shared_expert_intermediate_size", "moe_shared_intermediate_size", 0);
  if (shared > 0) {
    m["moe_shared_experts"] = 1;
    m["moe_shared_intermediate_size"] = shared;
    m["moe_shared_expert_gate"] = true;
  }
  router_norm(r, m, false);
}

void olmoe(const Reader& r, json& m) {
  m["moe_experts"] = r.count_for("num_experts", "moe_experts");
  m["moe_top_k"] = r.count_for("num_experts_per_tok", "moe_top_k");
  m["moe_expert_intermediate_size"] = m["intermediate_size"];
  router_norm(r, m, false);
  llama_biases(r, m);
}

// DeepSeek-V2: multi-head latent attention, and an MoE after the first dense layers.
void deepseek_v2(const Reader& r, json& m) {
  m["attention"] = "mla";
  m["q_lora_rank"] = r.count_or_for("q_lora_rank", "q_lora_rank", 0);  // null: a full-rank q_proj (V2-Lite)
  m["kv_lora_rank"] = r.count_for("kv_lora_rank", "kv_lora_rank");
  m["qk_nope_head_dim"] = r.count_for("qk_nope_head_dim", "qk_nope_head_dim");
  m["qk_rope_head_dim"] = r.count_for("qk_rope_head_dim", "qk_rope_head_dim");
  m["v_head_dim"] = r.count_for("v_head_dim", "v_head_dim");
  m["kv_heads"] = m["heads"];  // MLA expands the latent into every head's keys and values
  m.erase("head_dim");
  m["attention_bias"] = r.flag_or("attention_bias", false) ? "all" : "none";
  if (!r.has("n_routed_experts")) return;  // a dense model
  if (r.count_or("moe_layer_freq", 1) != 1)
    r.fail("moe_layer_freq", "is not 1: dense layers between MoE ones are not modelled");
  const std::string scoring = r.text_or("scoring_func", "softmax");
  if (scoring != "softmax") r.fail("scoring_func", "is '" + scoring + "': only softmax routing is modelled");
  const std::string method = r.text_or("topk_method", "greedy");
  if (method != "greedy" && method != "group_limited_greedy") {
    r.fail("topk_method", "is '" + method + "': greedy (or group-limited greedy, modelled as greedy) only");
  }
  m["moe_experts"] = r.count_for("n_routed_experts", "moe_experts");
  m["moe_top_k"] = r.count_for("num_experts_per_tok", "moe_top_k");
  m["moe_expert_intermediate_size"] = r.count_for("moe_intermediate_size", "moe_expert_intermediate_size");
  const uint64_t shared = r.count_or_for("n_shared_experts", "moe_shared_experts", 0);
  if (shared > 0) {
    m["moe_shared_experts"] = shared;
    m["moe_shared_intermediate_size"] = r.count("moe_intermediate_size");
  }
  m["moe_first_dense_layers"] = r.count_or_for("first_k_dense_replace", "moe_first_dense_layers", 0);
  router_norm(r, m, false);
}

void gemma2(const Reader& r, json& m) {
  sliding_window(r, m);
  if (m["sliding_window"] != 0) m["full_attention_every"] = 2;  // even layers slide (Gemma2DecoderLayer)
}

// OPT: fc1/fc2 of ffn_dim, learned positions with an offset of 2 rows, biases everywhere
// unless enable_bias is false.
void opt(const Reader& r, json& m) {
  if (r.has("word_embed_proj_dim") && r.count("word_embed_proj_dim") != m["hidden_size"].get<uint64_t>()) {
    r.fail("word_embed_proj_dim",
           "differs from hidden_size: OPT-350m's embedding projections are not modelled");
  }
  m["position_embeddings"] = m["max_context"].get<uint64_t>() + 2;  // OPTLearnedPositionalEmbedding
  const bool bias = r.flag_or("enable_bias", true);
  m["attention_bias"] = bias ? "all" : "none";
  m["mlp_bias"] = bias;
}

void gpt2(const Reader& r, json& m) {
  m["intermediate_size"] =
      r.count_or_for("n_inner", "intermediate_size", 4 * m["hidden_size"].get<uint64_t>());
  m["position_embeddings"] = m["max_context"];
}

void gpt_neox(const Reader& r, json& m) {
  m["attention_bias"] = r.flag_or("attention_bias", true) ? "all" : "none";
  m["block"] = r.flag_or("use_parallel_residual", true) ? "parallel" : "sequential";
}

// Falcon: multi-query unless new_decoder_architecture gives num_kv_heads; parallel
// attention and MLP sharing one norm, unless the new architecture keeps two.
void falcon(const Reader& r, json& m) {
  const uint64_t heads = m["heads"];
  const bool new_arch = r.flag_or("new_decoder_architecture", false);
  if (new_arch) {
    m["kv_heads"] = r.count_or_for("num_kv_heads", "kv_heads", heads);
  } else {
    m["kv_heads"] = r.flag_or("multi_query", true) ? 1 : heads;
  }
  m["intermediate_size"] =
      r.count_or_for("ffn_hidden_size", "intermediate_size", 4 * m["hidden_size"].get<uint64_t>());
  const bool bias = r.flag_or("bias", false);
  m["attention_bias"] = bias ? "all" : "none";
  m["mlp_bias"] = bias;
  if (!r.flag_or("parallel_attn", true)) {
    m["block"] = "sequential";
  } else {
    m["block"] =
        new_arch && r.count_or("num_ln_in_parallel_attn", 2) == 2 ? "parallel" : "parallel_shared_norm";
  }
}

// T5: an encoder of num_layers and a decoder of num_decoder_layers; the MLP from
// feed_forward_proj ("relu", "gated-gelu", ...).
void t5(const Reader& r, json& m) {
  m["architecture"] = "encoder-decoder";
  m["encoder_layers"] = m["layers"];
  m["layers"] = r.count_or_for("num_decoder_layers", "layers", m["layers"].get<uint64_t>());
  m["kv_heads"] = m["heads"];
  const std::string ff = r.text_or("feed_forward_proj", "relu");
  const std::string act = ff.rfind("gated-", 0) == 0 ? ff.substr(6) : ff;
  const bool gated = act != ff;
  if ((act == "gelu" || act == "gelu_new") && gated) {
    m["mlp"] = "geglu";
  } else if ((act == "silu" || act == "swish") && gated) {
    m["mlp"] = "swiglu";
  } else if (act == "relu" && !gated) {
    m["mlp"] = "relu";
  } else if ((act == "gelu" || act == "gelu_new") && !gated) {
    m["mlp"] = "gelu";
  } else {
    r.fail("feed_forward_proj", "is '" + ff + "': relu, gelu, gated-gelu or gated-silu are modelled");
  }
}

// The MLP kind from an activation name.
std::string mlp_kind(const Reader& r, const Family& f) {
  std::string key = f.activation.keys.front(), act = f.activation.fallback;
  for (const char* k : f.activation.keys) {
    if (k != nullptr && r.has(k)) {
      key = k;
      act = r.text_or(k, act);
      break;
    }
  }
  const bool gelu = act.rfind("gelu", 0) == 0;  // gelu, gelu_new, gelu_pytorch_tanh, gelu_fast
  if (f.activation.gated) {
    if (act == "silu" || act == "swish") return "swiglu";
    if (gelu) return "geglu";
  } else {
    if (act == "relu") return "relu";
    if (gelu) return "gelu";
  }
  r.fail(key, "is '" + act + "': a " + std::string(f.activation.gated ? "gated" : "plain") + " MLP with " +
                  act + " is not modelled (gated: silu, gelu; plain: relu, gelu)");
}

const Activation kSilu{{"hidden_act"}, "silu", true};

// The table. A row's rules run first, then its fixed keys, then its steps in order.
const std::vector<Family>& families() {
  static const std::vector<Family> kFamilies = {
      {"llama",
       "decoder, SwiGLU (hidden_act), GQA, RMSNorm; attention_bias, mlp_bias",
       llama_rules(),
       kSilu,
       false,
       json::object(),
       {llama_biases}},
      {"mistral",
       "as llama, with sliding_window",
       llama_rules(),
       kSilu,
       false,
       json::object(),
       {llama_biases, sliding_window}},
      {"mixtral",
       "as mistral; every layer routes num_local_experts full-width experts, top-k renormalised",
       llama_rules(),
       kSilu,
       false,
       json::object(),
       {llama_biases, sliding_window, mixtral_moe}},
      {"qwen2",
       "as llama, biases on q/k/v; use_sliding_window must be false",
       llama_rules(),
       kSilu,
       false,
       {{"attention_bias", "qkv"}},
       {qwen_window}},
      {"qwen2_moe",
       "as qwen2; num_experts of moe_intermediate_size, one shared expert with its sigmoid gate, "
       "norm_topk_prob",
       llama_rules(),
       kSilu,
       false,
       {{"attention_bias", "qkv"}},
       {qwen_window, qwen2_moe}},
      {"phi3",
       "as mistral (Phi-3's fused qkv and gate_up projections split; same bytes)",
       llama_rules(),
       kSilu,
       false,
       json::object(),
       {llama_biases, sliding_window}},
      {"phimoe",
       "as mixtral with LayerNorm, attention and LM-head biases, sparsemixer routing",
       llama_rules(),
       kSilu,
       false,
       {{"norm", "layernorm"}},
       {sliding_window, phimoe}},
      {"gemma",
       "decoder, GeGLU (hidden_activation), GQA/MQA with head_dim, tied embeddings",
       llama_rules(),
       {{"hidden_activation", "hidden_act"}, "gelu_pytorch_tanh", true},
       true,
       json::object(),
       {llama_biases}},
      {"gemma2",
       "as gemma, post-norms, sliding_window on every other layer",
       llama_rules(),
       {{"hidden_activation", "hidden_act"}, "gelu_pytorch_tanh", true},
       true,
       {{"post_norms", true}},
       {llama_biases, gemma2}},
      {"deepseek_v2",
       "decoder, multi-head latent attention, MoE after first_k_dense_replace dense layers",
       llama_rules(),
       kSilu,
       false,
       json::object(),
       {deepseek_v2}},
      {"olmoe",
       "decoder, q/k norms, num_experts of intermediate_size, norm_topk_prob",
       llama_rules(),
       kSilu,
       false,
       {{"qk_norm", true}},
       {olmoe}},
      {"opt",
       "decoder, plain MLP of ffn_dim (activation_function), LayerNorm, learned positions, biases, tied",
       mha_rules("ffn_dim", 2048),
       {{"activation_function"}, "relu", false},
       true,
       {{"norm", "layernorm"}},
       {opt}},
      {"gpt2",
       "decoder, plain GELU MLP of n_inner (4 n_embd), LayerNorm, learned positions, biases, tied",
       {{"layers", {"n_layer"}},
        {"hidden_size", {"n_embd"}},
        {"heads", {"n_head"}},
        {"kv_heads", {}, "=heads"},
        {"vocab_size", {"vocab_size"}},
        {"max_context", {"n_positions"}, 1024}},
       {{"activation_function"}, "gelu_new", false},
       true,
       {{"norm", "layernorm"}, {"attention_bias", "all"}, {"mlp_bias", true}},
       {gpt2}},
      {"gpt_neox",
       "decoder, plain GELU MLP, LayerNorm, biases, parallel attention and MLP (two norms)",
       mha_rules("intermediate_size", nullptr),
       {{"hidden_act"}, "gelu", false},
       false,
       {{"norm", "layernorm"}, {"mlp_bias", true}},
       {gpt_neox}},
      {"falcon",
       "decoder, plain GELU MLP, LayerNorm, multi-query, parallel attention and MLP sharing a norm",
       {{"layers", {"num_hidden_layers", "n_layer"}},
        {"hidden_size", {"hidden_size"}},
        {"heads", {"num_attention_heads", "n_head"}},
        {"vocab_size", {"vocab_size"}},
        {"max_context", {"max_position_embeddings"}, 2048}},
       {{"activation"}, "gelu", false},
       true,
       {{"norm", "layernorm"}},
       {falcon}},
      {"t5",
       "encoder-decoder (num_layers, num_decoder_layers), MLP from feed_forward_proj, RMS norms, d_kv heads",
       {{"layers", {"num_layers"}},
        {"hidden_size", {"d_model"}},
        {"intermediate_size", {"d_ff"}},
        {"heads", {"num_heads"}},
        {"head_dim", {"d_kv"}},
        {"vocab_size", {"vocab_size"}},
        {"max_context", {"n_positions"}, 512}},
       {{nullptr, nullptr}, "", false},
       true,
       json::object(),
       {t5}},
  };
  return kFamilies;
}

std::string file_name(const std::string& path) {
  const std::string plain = path.rfind(config::kBuiltinPrefix, 0) == 0
                                ? path.substr(std::string(config::kBuiltinPrefix).size())
                                : path;
  const std::filesystem::path p(plain);
  // ".../opt-6.7b/config.json" is named by its folder, "x.json" by its stem.
  if (p.filename() == "config.json" && p.has_parent_path()) return p.parent_path().filename().string();
  return p.stem().string();
}

// Is `name` a short name (no folder, not a .json file, no builtin: prefix)?
bool short_name(const std::string& name) {
  const bool json_file = name.size() >= 5 && name.compare(name.size() - 5, 5, ".json") == 0;
  return !name.empty() && name.find('/') == std::string::npos && !json_file &&
         name.rfind(config::kBuiltinPrefix, 0) != 0;
}

// Short names: NAME is builtin:models/NAME.json, else builtin:hf/NAME/config.json.
std::string expand_short_name(const std::string& name) {
  const auto& files = config::embedded_configs();
  for (const std::string& key : {"models/" + name + ".json", "hf/" + name + "/config.json"}) {
    if (files.count(key)) return config::kBuiltinPrefix + key;
  }
  std::string known;
  for (const auto& [k, v] : files) {
    const bool preset = k.rfind("models/", 0) == 0 && k.find('/', 7) == std::string::npos;
    const bool hf =
        k.rfind("hf/", 0) == 0 && k.size() > 12 && k.compare(k.size() - 12, 12, "/config.json") == 0;
    if (preset) known += " " + k.substr(7, k.size() - 12);
    if (hf) known += " " + k.substr(3, k.size() - 15);
  }
  throw InputError("model '" + name + "': no built-in model of that name (built in:" + known +
                   "); give a path to an edgesim model JSON or a Hugging Face config.json");
}

}  // namespace

bool is_hf_config(const json& doc) {
  return doc.is_object() && doc.contains("model_type") && doc["model_type"].is_string();
}

json model_from_hf_config(const json& hf, const std::string& origin, const std::string& name) {
  if (!is_hf_config(hf)) {
    throw InputError("Hugging Face config " + origin +
                     ": 'model_type' is missing (a config.json names its model_type)");
  }
  const std::string type = hf["model_type"].get<std::string>();
  const Family* family = nullptr;
  for (const auto& f : families()) {
    if (type == f.type) family = &f;
  }
  if (!family) {
    std::string known;
    for (const auto& f : families()) known += (known.empty() ? "" : ", ") + std::string(f.type);
    throw InputError("Hugging Face config " + origin + ": 'model_type' is '" + type +
                     "', which edgesim does not map (model types: " + known + ")");
  }
  const Reader r(hf, origin, type);
  json m = {{"name", name}};
  for (const Rule& rule : family->rules) {
    const char* found = nullptr;
    for (const char* k : rule.from) {
      if (r.has(k)) {
        found = k;
        break;
      }
    }
    if (found) {
      m[rule.key] = r.count_for(found, rule.key);
    } else if (rule.fallback.is_string()) {
      m[rule.key] = m.at(rule.fallback.get<std::string>().substr(1));  // "=KEY"
    } else if (!rule.fallback.is_null()) {
      m[rule.key] = rule.fallback;
    } else {
      r.fail(rule.from.front(), "is missing (it gives model." + std::string(rule.key) + ")");
    }
  }
  if (family->activation.keys[0] != nullptr) m["mlp"] = mlp_kind(r, *family);
  m["tie_word_embeddings"] = r.flag_or("tie_word_embeddings", family->tie_default);
  for (const auto& [k, v] : family->fixed.items()) m[k] = v;
  for (MapStep step : family->steps) step(r, m);
  // transformers' default head width, written out as the presets write it.
  const uint64_t hidden = m["hidden_size"], heads = m["heads"];
  if (m.value("attention", "gqa") == "gqa" && m.value("head_dim", uint64_t{0}) == 0 && hidden % heads == 0) {
    m["head_dim"] = hidden / heads;
  }
  // The values are each in range (count_for); what the layout checks across them (heads
  // that kv_heads divide, a window below the context, ...) is reported against this file
  // too, not only against the model key it became.
  try {
    const ModelLayout layout(config::Params(ModelLayout::param_table(), m, "model"));
  } catch (const InputError& e) {
    throw InputError("Hugging Face config " + origin + " (model_type " + type +
                     ") maps to a model edgesim cannot lay out: " + e.what());
  }
  return m;
}

std::vector<HfModelType> hf_model_types() {
  std::vector<HfModelType> out;
  for (const auto& f : families()) out.push_back({f.type, f.maps_to});
  return out;
}

ModelSource load_model_source(const std::string& given) {
  const std::string path = short_name(given) ? expand_short_name(given) : given;
  std::string text;
  if (path.rfind(config::kBuiltinPrefix, 0) == 0) {
    const auto& files = config::embedded_configs();
    auto it = files.find(path.substr(std::string(config::kBuiltinPrefix).size()));
    if (it == files.end()) throw InputError("model '" + given + "': no built-in config '" + path + "'");
    text = it->second;
  } else {
    text = config::read_file(path);
  }
  const json doc = config::parse_json_text(text, path);
  ModelSource out;
  if (is_hf_config(doc)) {
    out.model = model_from_hf_config(doc, path, file_name(path));
    out.description =
        path + " (Hugging Face config.json, model_type " + doc["model_type"].get<std::string>() + ")";
    return out;
  }
  // An edgesim model file (or any config with a model section), extends resolved.
  const json cfg = config::load_config(path);
  if (!cfg.is_object() || !cfg.contains("model") || !cfg["model"].is_object()) {
    throw InputError(
        "model '" + given + "': " + path +
        " is neither a Hugging Face config.json (it has no model_type) nor an edgesim model file (it "
        "has no model section)");
  }
  if (cfg["model"].contains("hf_config")) {
    throw InputError("model '" + given + "': " + path +
                     " names another model in model.hf_config; give that file to --model instead");
  }
  out.model = json::object();
  for (const auto& [k, v] : cfg["model"].items()) {
    if (!is_model_storage_key(k) && k != "source") out.model[k] = v;
  }
  out.description = path + " (edgesim model)";
  return out;
}

}  // namespace edgesim::traces
