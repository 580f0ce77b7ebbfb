#include "traces/model_layout.hpp"

#include <algorithm>
#include <limits>

#include "sim/core/errors.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::traces {
namespace {

using config::ParamDecl;
using config::Quantity;

const config::ParamTable kModelParams = {{
    {"name", Quantity::String, "model", "Name shown in results"},
    {"source", Quantity::String, "",
     "Where the shape came from (set by --model and model.hf_config: the file, and its model_type); "
     "informational"},
    {"architecture",
     Quantity::String,
     "decoder",
     "Decoder-only, or encoder-decoder (T5: an encoder run once over the prompt, a decoder with self- and "
     "cross-attention); swiglu-decoder is the older name of a decoder with a SwiGLU MLP",
     -1e300,
     1e300,
     {"decoder", "encoder-decoder", "swiglu-decoder"}},
    {"layers", Quantity::Integer, nullptr, "Decoder layers", 1, 1024},
    {"encoder_layers", Quantity::Integer, 0, "Encoder layers (architecture encoder-decoder)", 0, 1024},
    {"hidden_size", Quantity::Integer, nullptr, "Model (residual) width", 1, 1 << 20},
    {"intermediate_size", Quantity::Integer, nullptr, "MLP inner width", 1, 1 << 22},
    {"mlp",
     Quantity::String,
     "swiglu",
     "MLP: gated with three matrices (gate, up, down: swiglu, geglu) or plain with two (fc1 = up, "
     "fc2 = down: relu, gelu)",
     -1e300,
     1e300,
     {"swiglu", "geglu", "relu", "gelu"}},
    {"mlp_bias", Quantity::Boolean, false, "The MLP's linear layers have biases"},
    {"heads", Quantity::Integer, nullptr, "Attention (query) heads", 1, 4096},
    {"kv_heads", Quantity::Integer, nullptr,
     "Key/value heads: heads (multi-head), fewer (grouped-query), 1 (multi-query)", 1, 4096},
    {"head_dim", Quantity::Integer, 0, "Per-head width; 0 means hidden_size / heads", 0, 1 << 16},
    {"attention",
     Quantity::String,
     "gqa",
     "Attention: grouped-query (gqa; also MHA and MQA) or multi-head latent attention (mla, DeepSeek-V2: "
     "a low-rank KV cache of kv_lora_rank + qk_rope_head_dim values a token and layer)",
     -1e300,
     1e300,
     {"gqa", "mla"}},
    {"q_lora_rank", Quantity::Integer, 0, "MLA: rank of the query's low-rank projection; 0: a full q_proj", 0,
     1 << 16},
    {"kv_lora_rank", Quantity::Integer, 0, "MLA: width of the compressed key/value latent", 0, 1 << 16},
    {"qk_nope_head_dim", Quantity::Integer, 0, "MLA: per-head query/key width without rotary embedding", 0,
     1 << 16},
    {"qk_rope_head_dim", Quantity::Integer, 0,
     "MLA: per-head query/key width with rotary embedding (the key part is shared and cached)", 0, 1 << 16},
    {"v_head_dim", Quantity::Integer, 0, "MLA: per-head value width", 0, 1 << 16},
    {"attention_bias",
     Quantity::String,
     "none",
     "Biases of the attention projections: none, q/k/v only (qkv, Qwen2), or q/k/v and o (all)",
     -1e300,
     1e300,
     {"none", "qkv", "all"}},
    {"qk_norm", Quantity::Boolean, false, "Norms on the query and key projections (OLMoE)"},
    {"sliding_window", Quantity::Integer, 0,
     "Positions a token attends to, itself included (Mistral: 4096); bounds the KV cache read per token "
     "and held; 0: the whole context",
     0, 1 << 24},
    {"full_attention_every", Quantity::Integer, 0,
     "With sliding_window: every N-th layer (layers N-1, 2N-1, ...) attends to the whole context (Gemma-2: "
     "2); 0: every layer uses the window",
     0, 1024},
    {"block",
     Quantity::String,
     "sequential",
     "Attention then MLP (sequential), or both on the layer's input (parallel: two norms, GPT-NeoX; "
     "parallel_shared_norm: one, Falcon-7B, GPT-J)",
     -1e300,
     1e300,
     {"sequential", "parallel", "parallel_shared_norm"}},
    {"norm",
     Quantity::String,
     "rmsnorm",
     "Norm layers: RMSNorm (a weight vector) or LayerNorm (a weight and a bias vector)",
     -1e300,
     1e300,
     {"rmsnorm", "layernorm"}},
    {"post_norms", Quantity::Boolean, false, "A norm after attention and after the MLP too (Gemma-2)"},
    {"tie_word_embeddings", Quantity::Boolean, false,
     "The LM head is the embedding table (one tensor, read as a row per token and whole by the head)"},
    {"lm_head_bias", Quantity::Boolean, false, "The LM head has a bias (Phi-3.5-MoE)"},
    {"position_embeddings", Quantity::Integer, 0,
     "Rows of a learned position-embedding table, read at the token's position (GPT-2, OPT); 0: none "
     "(rotary or relative positions)",
     0, 1 << 24},
    {"vocab_size", Quantity::Integer, nullptr, "Vocabulary entries (embedding rows, LM-head outputs)", 1,
     1 << 24},
    {"max_context", Quantity::Integer, 4096, "Longest context the model supports", 1, 1 << 24},
    {"weight_dtype", Quantity::String, "fp16", "Format of the linear layers' weights", -1e300, 1e300,
     dtype_names()},
    {"weight_format", Quantity::String, "",
     "Storage format of linear and embedding weights, with its overheads: \"int4 g128 s16 z0\", \"vq d2 b3 "
     "c8 g8192\", \"int8 s16\", \"bf16\" (docs/adapters.md); empty: weight_dtype with no scales"},
    {"weight_formats", Quantity::StringList, nlohmann::json::array(),
     "Per-class overrides \"PATTERN=FORMAT\" (patterns as weight_store.pinned; a later entry wins): "
     "[\"mlp=int4 g64\", \"lm_head=int8\"]"},
    {"kv_dtype", Quantity::String, "fp16", "Format of the KV cache", -1e300, 1e300, dtype_names()},
    {"activation_dtype", Quantity::String, "fp16",
     "Format of activations, norm weights and biases; the compute engine runs at this datatype's peak",
     -1e300, 1e300, dtype_names()},
    {"chunking",
     Quantity::String,
     "column",
     "Chunk of a linear layer: an input column (what input pruning skips), the whole tensor, a neuron "
     "(gate/up "
     "output row, down input column: what a neuron predictor skips) or bundled (a neuron's gate row, up row "
     "and "
     "down column stored together, as \"LLM in a flash\")",
     -1e300,
     1e300,
     {"column", "tensor", "neuron", "bundled"}},
}};

// The dense shape's parameters, then the mixture-of-experts ones (traces/moe.cpp).
const config::ParamTable kModelTable = [] {
  config::ParamTable t = kModelParams;
  for (const auto& d : moe_param_decls()) t.params.push_back(d);
  return t;
}();

const SectionRegistration kModelSection("model", "The LLM's shape: expanded into tensors, chunks and ops",
                                        "model", kModelTable);

}  // namespace

const config::ParamTable& ModelLayout::param_table() {
  return kModelTable;
}

bool is_model_storage_key(const std::string& key) {
  static const char* const kStorage[] = {"weight_dtype",     "weight_format", "weight_formats", "kv_dtype",
                                         "activation_dtype", "chunking",      "hf_config"};
  for (const char* k : kStorage) {
    if (key == k) return true;
  }
  return false;
}

uint32_t ModelLayout::add_tensor(const std::string& name, const std::string& klass, TensorKind kind,
                                 int layer, uint64_t rows, uint64_t cols, Dtype dtype,
                                 bool whole_tensor_chunks, bool row_chunks) {
  Tensor t;
  t.name = name;
  t.klass = klass;
  t.kind = kind;
  t.layer = layer;
  t.rows = rows;
  t.cols = cols;
  if (whole_tensor_chunks || t.vector()) {
    t.chunks = 1;
    t.chunk_bytes = dtype_bytes(dtype, rows * cols);
  } else if (kind == TensorKind::Embedding || row_chunks) {
    t.chunks = static_cast<uint32_t>(rows);  // one row per token id, or per output neuron
    t.chunk_bytes = dtype_bytes(dtype, cols);
    t.row_chunks = kind != TensorKind::Embedding;
  } else {
    t.chunks = static_cast<uint32_t>(cols);  // one column per input feature
    t.chunk_bytes = dtype_bytes(dtype, rows);
  }
  if (uint64_t(total_chunks_) + t.chunks > std::numeric_limits<uint32_t>::max()) {
    throw InputError("config error at model: more than 2^32 chunks; use model.chunking = \"tensor\"");
  }
  t.first_chunk = total_chunks_;
  t.flash_offset = total_bytes_;
  total_chunks_ += t.chunks;
  total_bytes_ += t.bytes();
  tensors_.push_back(t);
  return static_cast<uint32_t>(tensors_.size() - 1);
}

uint32_t ModelLayout::add_norm(const std::string& name, const std::string& klass, int layer, uint64_t width,
                               bool with_post) {
  // LayerNorm keeps a weight and a bias vector, RMSNorm a weight; Gemma-2 normalises each
  // sublayer's output too.
  const uint64_t vectors = (layernorm_ ? 2 : 1) * (post_norms_ && with_post ? 2 : 1);
  return add_tensor(name, klass, TensorKind::Norm, layer, vectors, width, act_dtype_, true);
}

void ModelLayout::add_linear(OpSpec& op, const std::string& name, const std::string& klass, int layer,
                             uint64_t rows, uint64_t cols, bool bias, bool row_chunks) {
  op.tensors.push_back(add_tensor(name, klass, TensorKind::Linear, layer, rows, cols, weight_dtype_,
                                  chunking_ == "tensor", row_chunks));
  if (bias)
    op.tensors.push_back(
        add_tensor(name + ".bias", klass + ".bias", TensorKind::Bias, layer, 1, rows, act_dtype_, true));
}

void ModelLayout::set_chunk_bytes(const std::function<uint64_t(const Tensor&)>& bytes_of) {
  total_bytes_ = 0;
  for (auto& t : tensors_) {
    t.chunk_bytes = bytes_of(t);
    t.flash_offset = total_bytes_;
    total_bytes_ += t.bytes();
  }
}

namespace {

template <typename E>
E choice(const config::Params& p, const char* key, std::initializer_list<std::pair<const char*, E>> map) {
  const std::string& v = p.text(key);
  for (const auto& [name, e] : map) {
    if (v == name) return e;
  }
  return map.begin()->second;  // unreachable: the declaration restricts the choices
}

std::string num(uint64_t v) {
  return std::to_string(v);
}

}  // namespace

void ModelLayout::read_structure(const config::Params& p) {
  mlp_ = choice<MlpKind>(p, "mlp",
                         {{"swiglu", MlpKind::SwiGlu},
                          {"geglu", MlpKind::GeGlu},
                          {"relu", MlpKind::Relu},
                          {"gelu", MlpKind::Gelu}});
  const std::string& arch = p.text("architecture");
  if (arch == "swiglu-decoder" && mlp_ != MlpKind::SwiGlu) {
    config::fail_at(p.path_of("architecture"),
                    "swiglu-decoder is a decoder with a SwiGLU MLP, and mlp is \"" + p.text("mlp") +
                        "\"; set architecture to \"decoder\"");
  }
  encoder_layers_ = static_cast<uint64_t>(p.integer("encoder_layers"));
  if (arch == "encoder-decoder" && encoder_layers_ == 0) {
    config::fail_at(p.path_of("encoder_layers"), "an encoder-decoder model needs encoder_layers >= 1");
  }
  if (arch != "encoder-decoder" && encoder_layers_ > 0) {
    config::fail_at(p.path_of("encoder_layers"),
                    "only an encoder-decoder model has encoder layers (architecture is \"" + arch + "\")");
  }
  attention_ =
      choice<AttentionKind>(p, "attention", {{"gqa", AttentionKind::Gqa}, {"mla", AttentionKind::Mla}});
  q_lora_ = static_cast<uint64_t>(p.integer("q_lora_rank"));
  kv_lora_ = static_cast<uint64_t>(p.integer("kv_lora_rank"));
  qk_nope_ = static_cast<uint64_t>(p.integer("qk_nope_head_dim"));
  qk_rope_ = static_cast<uint64_t>(p.integer("qk_rope_head_dim"));
  v_head_dim_ = static_cast<uint64_t>(p.integer("v_head_dim"));
  for (const char* k : {"kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"}) {
    const bool set = p.integer(k) > 0;
    if (attention_ == AttentionKind::Mla && !set)
      config::fail_at(p.path_of(k), "attention mla needs it (> 0)");
    if (attention_ == AttentionKind::Gqa && set) {
      config::fail_at(p.path_of(k), "only multi-head latent attention (attention = \"mla\") has it");
    }
  }
  if (attention_ == AttentionKind::Gqa && q_lora_ > 0) {
    config::fail_at(p.path_of("q_lora_rank"),
                    "only multi-head latent attention (attention = \"mla\") has it");
  }
  block_ = choice<BlockKind>(p, "block",
                             {{"sequential", BlockKind::Sequential},
                              {"parallel", BlockKind::Parallel},
                              {"parallel_shared_norm", BlockKind::ParallelSharedNorm}});
  layernorm_ = p.text("norm") == "layernorm";
  post_norms_ = p.flag("post_norms");
  qk_norm_ = p.flag("qk_norm");
  const std::string& bias = p.text("attention_bias");
  qkv_bias_ = bias != "none";
  o_bias_ = bias == "all";
  mlp_bias_ = p.flag("mlp_bias");
  lm_head_bias_ = p.flag("lm_head_bias");
  tied_ = p.flag("tie_word_embeddings");
  position_rows_ = static_cast<uint64_t>(p.integer("position_embeddings"));
  const uint64_t window = static_cast<uint64_t>(p.integer("sliding_window"));
  const uint64_t every = static_cast<uint64_t>(p.integer("full_attention_every"));
  if (every > 0 && window == 0) {
    config::fail_at(p.path_of("full_attention_every"),
                    "it picks the layers without a window: set sliding_window");
  }
  if (window > 0) {
    window_.assign(layers_, window);
    for (uint64_t l = 0; every > 0 && l < layers_; ++l) {
      if ((l + 1) % every == 0) window_[l] = 0;
    }
  }
  if (attention_ == AttentionKind::Mla && (qk_norm_ || encoder_layers_ > 0)) {
    config::fail_at(p.path_of("attention"), std::string("multi-head latent attention with ") +
                                                (qk_norm_ ? "qk_norm" : "an encoder") + " is not modelled");
  }
  if (encoder_layers_ > 0 && p.integer("moe_experts") > 0) {
    config::fail_at(p.path_of("moe_experts"), "an encoder-decoder model with experts is not modelled");
  }
}

ModelLayout::ModelLayout(const config::Params& p) {
  name_ = p.text("name");
  layers_ = p.integer("layers");
  hidden_ = p.integer("hidden_size");
  inter_ = p.integer("intermediate_size");
  heads_ = p.integer("heads");
  kv_heads_ = p.integer("kv_heads");
  head_dim_ = p.integer("head_dim");
  vocab_ = p.integer("vocab_size");
  max_context_ = p.integer("max_context");
  read_structure(p);
  if (attention_ == AttentionKind::Mla) {
    head_dim_ = qk_nope_ + qk_rope_;  // a query head's width
  } else {
    if (head_dim_ == 0) {
      if (hidden_ % heads_ != 0) {
        config::fail_at(p.path_of("head_dim"), "hidden_size " + num(hidden_) + " is not divisible by heads " +
                                                   num(heads_) + "; give head_dim explicitly");
      }
      head_dim_ = hidden_ / heads_;
    }
    if (heads_ % kv_heads_ != 0) {
      config::fail_at(p.path_of("kv_heads"),
                      "heads (" + num(heads_) + ") must be a multiple of kv_heads (" + num(kv_heads_) + ")");
    }
    v_head_dim_ = head_dim_;
  }
  const Dtype w = dtype_from_name(p.text("weight_dtype"));
  weight_dtype_ = w;
  act_dtype_ = dtype_from_name(p.text("activation_dtype"));
  kv_dtype_ = dtype_from_name(p.text("kv_dtype"));
  chunking_ = p.text("chunking");
  const bool whole = chunking_ == "tensor";
  moe_ = MoeShape::from_params(p, layers_, inter_);
  if (attention_ == AttentionKind::Mla) {
    // The cache holds the compressed latent and the shared rotary key. Per attended
    // position a head scores its absorbed query (kv_lora + rope values) and sums the
    // latent (kv_lora values): the weight-absorbed form inference engines decode with.
    kv_values_ = kv_lora_ + qk_rope_;
    attn_flops_per_pos_ = 2 * heads_ * (2 * kv_lora_ + qk_rope_);
  } else {
    kv_values_ = 2 * kv_heads_ * head_dim_;
    attn_flops_per_pos_ = 2 * 2 * heads_ * head_dim_;  // q.K^T and the weighted sum over V
  }

  // Flash image order = execution order, so that a dense stream reads flash sequentially.
  OpSpec embed{"embed", OpKind::Embed, -1, {}};
  embed.tensors.push_back(add_tensor("embed", "embed", TensorKind::Embedding, -1, vocab_, hidden_, w, whole));
  if (position_rows_ > 0) {
    embed.tensors.push_back(
        add_tensor("embed.pos", "embed.pos", TensorKind::Embedding, -1, position_rows_, hidden_, w, whole));
    tensors_.back().positional = true;
  }
  ops_.push_back(embed);
  if (encoder_layers_ > 0) {
    // The encoder reads the shared embedding table, then its layers, then its final norm.
    encoder_ops_.push_back({"encoder.embed", OpKind::Embed, -1, {0}});
    for (uint64_t l = 0; l < encoder_layers_; ++l) {
      const std::string pre = "encoder.layers." + num(l) + ".";
      add_attention(pre, "encoder.", static_cast<int>(l), OpKind::EncoderAttention, encoder_ops_);
      add_mlp(pre, "encoder.", static_cast<int>(l), true, encoder_ops_);
    }
    encoder_ops_.push_back({"encoder.final",
                            OpKind::Linear,
                            -1,
                            {add_norm("encoder.final.norm", "encoder.final.norm", -1, hidden_, false)}});
  }
  for (uint64_t l = 0; l < layers_; ++l) {
    const int li = static_cast<int>(l);
    const std::string pre = "layers." + num(l) + ".";
    add_attention(pre, "", li, OpKind::Attention, ops_);
    if (encoder_layers_ > 0) add_cross_attention(pre, li);
    const bool mlp_norm = block_ != BlockKind::ParallelSharedNorm;
    if (moe_.routed(l)) {
      add_moe_mlp(pre, li, w, mlp_norm);
    } else {
      add_mlp(pre, "", li, mlp_norm, ops_);
    }
  }
  OpSpec head{"lm_head", OpKind::Head, -1, {}};
  head.tensors.push_back(add_norm("final.norm", "final.norm", -1, hidden_, false));
  if (tied_) {
    head.tensors.push_back(0);  // the embedding table, read whole
  } else {
    head.tensors.push_back(
        add_tensor("lm_head", "lm_head", TensorKind::Linear, -1, vocab_, hidden_, w, whole));
  }
  if (lm_head_bias_) {
    head.tensors.push_back(
        add_tensor("lm_head.bias", "lm_head.bias", TensorKind::Bias, -1, 1, vocab_, act_dtype_, true));
  }
  ops_.push_back(head);
  apply_weight_formats(p);
}

void ModelLayout::add_attention(const std::string& pre, const std::string& cls, int li, OpKind kind,
                                std::vector<OpSpec>& ops) {
  OpSpec attn{pre + "attn", kind, li, {}, LinearInput::AttnQkv};
  attn.tensors.push_back(add_norm(pre + "attn.norm", cls + "attn.norm", li, hidden_));
  if (attention_ == AttentionKind::Mla) {
    // DeepSeek-V2: the query directly (or through a low-rank q_a, normed), the latent and
    // shared rotary key (kv_a, normed), and kv_b, which expands the latent into per-head
    // keys and values (absorbed into the query and the output at decode).
    const uint64_t q_out = heads_ * (qk_nope_ + qk_rope_);
    if (q_lora_ > 0) {
      add_linear(attn, pre + "attn.q_a", cls + "attn.q_a", li, q_lora_, hidden_, qkv_bias_);
      attn.tensors.push_back(add_norm(pre + "attn.q_a.norm", cls + "attn.q_a.norm", li, q_lora_, false));
      add_linear(attn, pre + "attn.q_b", cls + "attn.q_b", li, q_out, q_lora_, false);
    } else {
      add_linear(attn, pre + "attn.q", cls + "attn.q", li, q_out, hidden_, false);
    }
    add_linear(attn, pre + "attn.kv_a", cls + "attn.kv_a", li, kv_lora_ + qk_rope_, hidden_, qkv_bias_);
    attn.tensors.push_back(add_norm(pre + "attn.kv_a.norm", cls + "attn.kv_a.norm", li, kv_lora_, false));
    add_linear(attn, pre + "attn.kv_b", cls + "attn.kv_b", li, heads_ * (qk_nope_ + v_head_dim_), kv_lora_,
               false);
  } else {
    const uint64_t q_out = heads_ * head_dim_, kv_out = kv_heads_ * head_dim_;
    add_linear(attn, pre + "attn.q", cls + "attn.q", li, q_out, hidden_, qkv_bias_);
    add_linear(attn, pre + "attn.k", cls + "attn.k", li, kv_out, hidden_, qkv_bias_);
    add_linear(attn, pre + "attn.v", cls + "attn.v", li, kv_out, hidden_, qkv_bias_);
    if (qk_norm_) {
      attn.tensors.push_back(add_tensor(pre + "attn.qk_norm", cls + "attn.qk_norm", TensorKind::Norm, li, 1,
                                        q_out + kv_out, act_dtype_, true));
    }
  }
  ops.push_back(attn);
  OpSpec out{pre + "attn_out", OpKind::Linear, li, {}, LinearInput::AttnO};
  add_linear(out, pre + "attn.o", cls + "attn.o", li, hidden_, attention_width(), o_bias_);
  ops.push_back(out);
}

void ModelLayout::add_cross_attention(const std::string& pre, int li) {
  // Per token: the query and the output projection; the keys and values of the encoder's
  // output are projected once, in the encoder pass, and read from the cache. Input pruning
  // leaves these ops dense.
  const uint64_t q_out = heads_ * head_dim_, kv_out = kv_heads_ * head_dim_;
  OpSpec q{pre + "cross_attn", OpKind::CrossAttention, li, {}};
  q.tensors.push_back(add_norm(pre + "attn.cross.norm", "attn.cross.norm", li, hidden_));
  add_linear(q, pre + "attn.cross.q", "attn.cross.q", li, q_out, hidden_, qkv_bias_);
  OpSpec kv{pre + "cross_kv", OpKind::CrossKv, li, {}};
  add_linear(kv, pre + "attn.cross.k", "attn.cross.k", li, kv_out, hidden_, qkv_bias_);
  add_linear(kv, pre + "attn.cross.v", "attn.cross.v", li, kv_out, hidden_, qkv_bias_);
  ops_.push_back(q);
  OpSpec out{pre + "cross_attn_out", OpKind::Linear, li, {}};
  add_linear(out, pre + "attn.cross.o", "attn.cross.o", li, hidden_, q_out, o_bias_);
  ops_.push_back(out);
  encoder_ops_.push_back(kv);
}

void ModelLayout::add_mlp(const std::string& pre, const std::string& cls, int li, bool with_norm,
                          std::vector<OpSpec>& ops) {
  const bool gated = gated_mlp();
  const bool neuron = chunking_ == "neuron", bundled = chunking_ == "bundled";
  OpSpec up{pre + (gated ? "mlp_gate_up" : "mlp_up"), OpKind::Linear, li, {}, LinearInput::MlpGateUp};
  if (with_norm) up.tensors.push_back(add_norm(pre + "mlp.norm", cls + "mlp.norm", li, hidden_));
  OpSpec down{pre + "mlp_down", OpKind::Linear, li, {}, LinearInput::MlpDown};
  if (bundled) {
    // Neuron i's gate row, up row and down column (fc1 row and fc2 column of a plain MLP),
    // one chunk, read (and computed) by the first op; the down op then has no weights of
    // its own but its bias.
    up.tensors.push_back(add_tensor(pre + "mlp.bundle", cls + "mlp.bundle", TensorKind::Linear, li, inter_,
                                    (gated ? 3 : 2) * hidden_, weight_dtype_, false, true));
    if (mlp_bias_) {
      for (const char* m : {"mlp.gate", "mlp.up"}) {
        if (!gated && std::string(m) == "mlp.gate") continue;
        up.tensors.push_back(add_tensor(pre + m + ".bias", cls + m + ".bias", TensorKind::Bias, li, 1, inter_,
                                        act_dtype_, true));
      }
      down.tensors.push_back(add_tensor(pre + "mlp.down.bias", cls + "mlp.down.bias", TensorKind::Bias, li, 1,
                                        hidden_, act_dtype_, true));
    }
  } else {
    if (gated) add_linear(up, pre + "mlp.gate", cls + "mlp.gate", li, inter_, hidden_, mlp_bias_, neuron);
    add_linear(up, pre + "mlp.up", cls + "mlp.up", li, inter_, hidden_, mlp_bias_, neuron);
    add_linear(down, pre + "mlp.down", cls + "mlp.down", li, hidden_, inter_, mlp_bias_);
  }
  ops.push_back(up);
  ops.push_back(down);
}

uint64_t ModelLayout::attention_flops(const OpSpec& op, const TokenContext& at, uint64_t tokens) const {
  switch (op.kind) {
    case OpKind::EncoderAttention: return attn_flops_per_pos_ * tokens * tokens;  // all to all
    case OpKind::CrossAttention: return 2 * 2 * heads_ * head_dim_ * at.encoder_tokens * tokens;
    case OpKind::Attention: {
      // Causal: the token at position p attends to min(p + 1, window) positions; summed
      // over the positions at.position .. at.position + tokens - 1.
      const uint64_t w = window(static_cast<uint64_t>(op.layer));
      const uint64_t first = at.position + 1, last = at.position + tokens;  // attended, unwindowed
      if (w == 0 || last <= w) return attn_flops_per_pos_ * ((first + last) * tokens / 2);
      if (first >= w) return attn_flops_per_pos_ * w * tokens;
      return attn_flops_per_pos_ * ((first + w) * (w - first + 1) / 2 + (last - w) * w);
    }
    default: return 0;
  }
}

uint64_t ModelLayout::op_flops(const OpSpec& op, const std::vector<ChunkSet>& sets, const TokenContext& at,
                               uint64_t tokens) const {
  uint64_t flops = 0;
  for (size_t i = 0; i < op.tensors.size(); ++i) {
    const Tensor& t = tensors_[op.tensors[i]];
    // A linear layer, or a tied embedding table read as the LM head.
    const bool head_table = t.kind == TensorKind::Embedding && op.kind == OpKind::Head;
    if (t.kind != TensorKind::Linear && !head_table) continue;
    const ChunkSet& s = sets[i];
    if (t.chunks == 1) {
      flops += s.kind == ChunkSet::Kind::None ? 0 : 2 * t.rows * t.cols * tokens;
    } else {
      // A multiply-add per weight of each column (or row) read, per token; of the experts
      // read for many tokens, each token runs its top_k.
      uint64_t used = s.count(t.chunks);
      if (tokens > 1 && t.klass == "moe.experts") used = std::min<uint64_t>(used, moe_.top_k);
      flops += 2 * (t.row_chunks || head_table ? t.cols : t.rows) * used * tokens;
    }
  }
  return flops + attention_flops(op, at, tokens);
}

uint64_t ModelLayout::kv_bytes_per_position() const {
  return layers_ * dtype_bytes(kv_dtype_, kv_values_);
}

uint64_t ModelLayout::kv_cache_bytes(uint64_t context, uint64_t encoder_tokens) const {
  const uint64_t per_position = dtype_bytes(kv_dtype_, kv_values_);
  uint64_t bytes = 0;
  for (uint64_t l = 0; l < layers_; ++l) {
    const uint64_t w = window(l);
    bytes += per_position * (w > 0 ? std::min(context, w) : context);
  }
  if (encoder_layers_ > 0)
    bytes += layers_ * dtype_bytes(kv_dtype_, 2 * kv_heads_ * head_dim_) * encoder_tokens;
  return bytes;
}

uint64_t ModelLayout::op_kv_read_bytes(const OpSpec& op, const TokenContext& at) const {
  if (op.kind == OpKind::CrossAttention) {
    return dtype_bytes(kv_dtype_, 2 * kv_heads_ * head_dim_) * at.encoder_tokens;
  }
  if (op.kind != OpKind::Attention) return 0;
  uint64_t earlier = at.position;
  const uint64_t w = window(static_cast<uint64_t>(op.layer));
  // The first token of the pass reaches back furthest: w - 1 earlier positions at most
  // (the window holds the token itself), a union that covers the later tokens' windows.
  if (w > 0) earlier = std::min(earlier, w - 1);
  return dtype_bytes(kv_dtype_, kv_values_) * earlier;
}

uint64_t ModelLayout::op_kv_write_bytes(const OpSpec& op, uint64_t tokens) const {
  return op.kind == OpKind::Attention ? dtype_bytes(kv_dtype_, kv_values_) * tokens : 0;
}

uint64_t ModelLayout::pass_flops(const OpSpec& op, uint64_t tokens, uint64_t encoder_tokens) const {
  uint64_t flops = 0;
  for (uint32_t ti : op.tensors) {
    const Tensor& t = tensors_[ti];
    if (t.kind == TensorKind::Linear || (t.kind == TensorKind::Embedding && op.kind == OpKind::Head)) {
      flops += 2 * t.rows * t.cols * tokens;
    }
  }
  return flops + attention_flops(op, {0, encoder_tokens}, tokens);
}

uint64_t ModelLayout::pass_kv_write_bytes(const OpSpec& op, uint64_t tokens) const {
  if (op.kind == OpKind::CrossKv) return dtype_bytes(kv_dtype_, 2 * kv_heads_ * head_dim_) * tokens;
  return op_kv_write_bytes(op, tokens);
}

std::vector<OpAccess> ModelLayout::encoder_pass(uint64_t tokens) const {
  std::vector<OpAccess> pass;
  if (tokens == 0) return pass;
  for (size_t i = 0; i < encoder_ops_.size(); ++i) {
    const OpSpec& spec = encoder_ops_[i];
    OpAccess& op = pass.emplace_back();
    op.op = static_cast<uint32_t>(i);
    op.flops = pass_flops(spec, tokens);
    op.extra_dram_write_bytes = pass_kv_write_bytes(spec, tokens);
    op.sets.resize(spec.tensors.size());
    for (size_t t = 0; t < spec.tensors.size(); ++t) {
      const Tensor& tensor = tensors_[spec.tensors[t]];
      if (tensor.kind == TensorKind::Embedding && tokens < tensor.chunks) {
        op.sets[t].set_list();
        for (uint32_t r = 0; r < tokens; ++r) op.sets[t].ids.push_back(r);
      } else {
        op.sets[t].set_all();
      }
    }
  }
  return pass;
}

uint64_t ModelLayout::activation_bytes() const {
  // Residual stream, normed input, the attention projections' outputs, attention output,
  // the MLP's intermediate vectors (gate and up, or fc1's), and the logits.
  const uint64_t attn = attention_ == AttentionKind::Mla
                            ? q_lora_ + heads_ * (qk_nope_ + qk_rope_) + kv_lora_ + qk_rope_
                            : (heads_ + 2 * kv_heads_) * head_dim_;
  const uint64_t elems = 3 * hidden_ + attn + (gated_mlp() ? 2 : 1) * inter_ + vocab_;
  return dtype_bytes(act_dtype_, elems);
}

uint64_t ModelLayout::parameters() const {
  uint64_t n = 0;
  for (const auto& t : tensors_) n += t.rows * t.cols;
  return n;
}

uint64_t ModelLayout::site_width(LinearInput site) const {
  switch (site) {
    case LinearInput::AttnQkv: return hidden_;
    case LinearInput::AttnO: return attention_width();
    case LinearInput::MlpGateUp: return hidden_;
    case LinearInput::MlpDown: return inter_;
    case LinearInput::None: break;
  }
  return 0;
}

uint32_t ModelLayout::tensor_of_chunk(uint32_t chunk) const {
  auto it = std::upper_bound(tensors_.begin(), tensors_.end(), chunk,
                             [](uint32_t c, const Tensor& t) { return c < t.first_chunk; });
  return static_cast<uint32_t>(std::distance(tensors_.begin(), it) - 1);
}

}  // namespace edgesim::traces
