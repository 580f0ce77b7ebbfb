#pragma once
// An LLM expanded into weight tensors, each split into chunks, and the ops a decode step
// runs in order. The layer structure is described by model keys (docs/models.md §2): a
// gated (SwiGLU, GeGLU) or plain (ReLU, GELU) MLP, grouped-query or multi-head latent
// attention, sliding windows, sequential or parallel attention and MLP, biases, LayerNorm
// or RMSNorm, tied and position embeddings, mixture-of-experts MLPs (traces/moe.hpp), and
// encoder-decoder models whose encoder runs once over the prompt (encoder_ops()).
// Chunks are the unit of caching and of sparsity: a column (one input feature) of a
// linear layer, a row (one token) of the embedding table, or the whole tensor. Chunk ids
// are global and follow the flash image's layout, so consecutive ids are consecutive
// bytes in flash.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/core/config/params.hpp"
#include "sim/core/dtype.hpp"
#include "traces/moe.hpp"
#include "traces/step.hpp"
#include "traces/weight_format.hpp"

namespace edgesim::traces {

// Norm: norm weights; Bias: a linear layer's bias. Both are vectors stored in the
// activation dtype and read whole (vector() below).
enum class TensorKind : uint8_t { Embedding, Linear, Norm, Bias };
// Attention: this token's self-attention over the decoder's KV cache; CrossAttention: its
// attention over the encoder's output (encoder-decoder); EncoderAttention: the encoder's
// bidirectional self-attention over the prompt, and CrossKv: a decoder layer's projection
// of the encoder's output into cross-attention keys and values (encoder_ops() only).
enum class OpKind : uint8_t { Embed, Attention, Linear, Head, CrossAttention, EncoderAttention, CrossKv };

/// The input a group of linear layers shares, which input pruning masks: q/k/v (and MLA's
/// q/kv down-projections) read the attention's input, o reads the attention output, the
/// MLP's first matrices (gate and up, or fc1) read its input, down (fc2) reads the
/// activated intermediate vector.
enum class LinearInput : uint8_t { AttnQkv, AttnO, MlpGateUp, MlpDown, None };
constexpr size_t kLinearInputs = 4;  // the sites, None excluded

enum class MlpKind : uint8_t { SwiGlu, GeGlu, Relu, Gelu };
enum class AttentionKind : uint8_t { Gqa, Mla };
/// Sequential: attention then MLP, each with its input norm. Parallel: both read the
/// layer's input, each through its own norm (GPT-NeoX). ParallelSharedNorm: both read one
/// normed input (Falcon-7B, GPT-J).
enum class BlockKind : uint8_t { Sequential, Parallel, ParallelSharedNorm };

struct Tensor {
  std::string name;   // "layers.3.mlp.gate"
  std::string klass;  // layer-independent class: "mlp.gate" (placement patterns match it)
  TensorKind kind = TensorKind::Linear;
  int layer = -1;     // -1 outside the decoder layers
  uint64_t rows = 0;  // output features (embedding: vocabulary entries)
  uint64_t cols = 0;  // input features (embedding: hidden size)
  uint32_t chunks = 0;
  uint64_t chunk_bytes = 0;
  uint32_t first_chunk = 0;   // global id of chunk 0
  uint64_t flash_offset = 0;  // byte offset in the flash image
  bool row_chunks = false;    // chunks are output rows (neurons), not input columns
  bool positional = false;    // an embedding read at the token's position, not its id
  uint64_t bytes() const { return uint64_t(chunks) * chunk_bytes; }
  /// Norm weights and biases: stored in the activation dtype, whole, never quantised.
  bool vector() const { return kind == TensorKind::Norm || kind == TensorKind::Bias; }
};

struct OpSpec {
  std::string name;  // "layers.3.attn"
  OpKind kind = OpKind::Linear;
  int layer = -1;
  std::vector<uint32_t> tensors;
  LinearInput site = LinearInput::None;  // the input its linears share, if pruning may mask it
};

/// Where a decode step stands: the position of the generated token in the decoder's own
/// context (earlier tokens are in its KV cache), and, for an encoder-decoder model, how
/// many tokens the encoder ran over (what cross-attention reads).
struct TokenContext {
  uint64_t position = 0;
  uint64_t encoder_tokens = 0;
};

/// Model keys that say how a model is stored and run rather than its shape (dtypes,
/// formats, chunking): kept from the experiment when --model or model.hf_config replaces
/// the shape.
bool is_model_storage_key(const std::string& key);

class ModelLayout {
 public:
  static const config::ParamTable& param_table();
  explicit ModelLayout(const config::Params& params);

  const std::string& name() const { return name_; }
  const std::vector<Tensor>& tensors() const { return tensors_; }
  const std::vector<OpSpec>& ops() const { return ops_; }
  uint32_t total_chunks() const { return total_chunks_; }
  uint64_t total_weight_bytes() const { return total_bytes_; }
  Dtype activation_dtype() const { return act_dtype_; }
  uint64_t vocab_size() const { return vocab_; }
  uint64_t max_context() const { return max_context_; }

  /// FLOPs of `op` over `tokens` consecutive positions from `at.position` at once (1: a
  /// decode step; more: a prefill chunk or a speculative verification) with the given
  /// chunk sets: each weight read is multiplied by every token (a routed experts tensor:
  /// each token by its top_k experts of those read), and each token attends causally.
  uint64_t op_flops(const OpSpec& op, const std::vector<ChunkSet>& sets, const TokenContext& at,
                    uint64_t tokens = 1) const;
  /// DRAM traffic of `op` beyond its weights in a pass from `at`: reading the KV cache of
  /// the earlier tokens it attends to, once for the pass however many tokens it runs over
  /// (at most a sliding window's; the encoder's output for cross-attention), and writing
  /// the keys and values of the pass's `tokens` (or MLA's compressed latent).
  uint64_t op_kv_read_bytes(const OpSpec& op, const TokenContext& at) const;
  uint64_t op_kv_write_bytes(const OpSpec& op, uint64_t tokens = 1) const;
  /// Self-attention KV-cache bytes per context position, all decoder layers, windows aside.
  uint64_t kv_bytes_per_position() const;
  /// KV cache held at a decoder context of `context` tokens (each sliding-window layer
  /// holds at most its window) plus, for an encoder-decoder model, the cross-attention
  /// keys and values of `encoder_tokens`.
  uint64_t kv_cache_bytes(uint64_t context, uint64_t encoder_tokens) const;
  /// Bytes of the activation working set (a few hidden/intermediate/logit vectors).
  uint64_t activation_bytes() const;

  /// Encoder-decoder models: the ops of the encoder pass, run once over the prompt before
  /// decoding (the embedding rows, every encoder layer, the encoder's final norm, then each
  /// decoder layer's cross-attention key/value projections over the encoder output).
  /// Empty for a decoder-only model. The simulator runs them once before the first decode
  /// step (encoder_pass()).
  const std::vector<OpSpec>& encoder_ops() const { return encoder_ops_; }
  /// FLOPs of running `op` (of ops() or encoder_ops()) densely over `tokens` tokens at
  /// once, from position 0: 2 per weight per token, plus attention among them
  /// (bidirectional in the encoder, causal in the decoder, cross-attention over
  /// `encoder_tokens`).
  uint64_t pass_flops(const OpSpec& op, uint64_t tokens, uint64_t encoder_tokens = 0) const;
  /// KV-cache bytes `op` writes over `tokens` tokens: a decoder layer's keys and values
  /// (self-attention), or its cross-attention keys and values (a CrossKv op of the encoder).
  uint64_t pass_kv_write_bytes(const OpSpec& op, uint64_t tokens) const;
  /// The encoder pass over a prompt of `tokens` tokens, as accesses to encoder_ops() (`op`
  /// indexes that list): every chunk of every tensor, except the embedding table, read at
  /// `tokens` rows (the prompt's tokens, taken as distinct); the FLOPs of pass_flops and
  /// the cross keys and values written. Empty for a decoder-only model or no prompt.
  std::vector<OpAccess> encoder_pass(uint64_t tokens) const;
  bool encoder_decoder() const { return encoder_layers_ > 0; }
  uint64_t encoder_layers() const { return encoder_layers_; }

  /// Weights of the model (each tensor once: a tied embedding counts once), norms and
  /// biases included.
  uint64_t parameters() const;

  /// Input width of a linear input site (what input pruning masks and activations hold).
  uint64_t site_width(LinearInput site) const;

  /// Tensor index of a tensor, by global chunk id.
  uint32_t tensor_of_chunk(uint32_t chunk) const;

  Dtype weight_dtype() const { return weight_dtype_; }
  /// Storage format of tensor `t` (model.weight_format, model.weight_formats; norms: activation_dtype).
  const WeightFormat& format(uint32_t t) const { return formats_[t]; }
  uint64_t layers() const { return layers_; }
  uint64_t hidden_size() const { return hidden_; }
  uint64_t intermediate_size() const { return inter_; }
  /// Input width of the attention output projection (heads x head_dim; MLA: heads x v_head_dim).
  uint64_t attention_width() const { return heads_ * v_head_dim_; }
  MlpKind mlp() const { return mlp_; }
  /// Gate and up (three matrices), or fc1 and fc2 (two).
  bool gated_mlp() const { return mlp_ == MlpKind::SwiGlu || mlp_ == MlpKind::GeGlu; }
  AttentionKind attention() const { return attention_; }
  /// The sliding window of decoder layer `layer` (0: it attends to the whole context).
  uint64_t window(uint64_t layer) const { return window_.empty() ? 0 : window_[layer]; }
  /// "column", "tensor", "neuron" (gate/up by output row, down by input column) or
  /// "bundled" (gate row, up row and down column of a neuron stored as one chunk).
  const std::string& chunking() const { return chunking_; }
  /// Mixture-of-experts shape (experts == 0: a dense model); traces/moe.hpp.
  const MoeShape& moe() const { return moe_; }
  /// Changes how many bytes each tensor's chunks take in storage (e.g. weights pruned and
  /// stored sparse), and lays the flash image out again.
  void set_chunk_bytes(const std::function<uint64_t(const Tensor&)>& bytes_of);

 private:
  uint32_t add_tensor(const std::string& name, const std::string& klass, TensorKind kind, int layer,
                      uint64_t rows, uint64_t cols, Dtype dtype, bool whole_tensor_chunks,
                      bool row_chunks = false);
  /// A norm before (and after, Gemma-2) a sublayer: its vectors of `width` values.
  uint32_t add_norm(const std::string& name, const std::string& klass, int layer, uint64_t width,
                    bool with_post = true);
  /// A linear layer, then its bias when the model has one; both go into `op`.
  void add_linear(OpSpec& op, const std::string& name, const std::string& klass, int layer, uint64_t rows,
                  uint64_t cols, bool bias, bool row_chunks = false);
  /// One layer's attention ops (self-attention of `prefix`, classes under `klass`).
  void add_attention(const std::string& prefix, const std::string& klass, int layer, OpKind kind,
                     std::vector<OpSpec>& ops);
  /// A decoder layer's cross-attention: the per-token ops, and the key/value projections
  /// the encoder pass runs.
  void add_cross_attention(const std::string& prefix, int layer);
  /// A dense MLP's ops; `with_norm` false when a parallel block shares the attention's norm.
  void add_mlp(const std::string& prefix, const std::string& klass, int layer, bool with_norm,
               std::vector<OpSpec>& ops);
  /// A routed layer's router and experts ops (traces/moe_layout.cpp).
  void add_moe_mlp(const std::string& prefix, int layer, Dtype weights, bool with_norm);
  void read_structure(const config::Params& p);
  uint64_t attention_flops(const OpSpec& op, const TokenContext& at, uint64_t tokens) const;
  MoeShape moe_;
  void apply_weight_formats(const config::Params& p);  // traces/weight_format.cpp
  std::vector<WeightFormat> formats_;                  // per tensor
  std::string chunking_;
  std::string name_;
  std::vector<Tensor> tensors_;
  std::vector<OpSpec> ops_;
  uint32_t total_chunks_ = 0;
  uint64_t total_bytes_ = 0;
  uint64_t layers_ = 0, hidden_ = 0, inter_ = 0, heads_ = 0, kv_heads_ = 0, head_dim_ = 0;
  uint64_t vocab_ = 0, max_context_ = 0;
  Dtype act_dtype_ = Dtype::fp16, kv_dtype_ = Dtype::fp16, weight_dtype_ = Dtype::fp16;
  // Layer structure (docs/models.md §2).
  MlpKind mlp_ = MlpKind::SwiGlu;
  AttentionKind attention_ = AttentionKind::Gqa;
  BlockKind block_ = BlockKind::Sequential;
  bool layernorm_ = false, post_norms_ = false, qk_norm_ = false;
  bool qkv_bias_ = false, o_bias_ = false, mlp_bias_ = false, lm_head_bias_ = false, tied_ = false;
  uint64_t position_rows_ = 0, encoder_layers_ = 0;
  uint64_t q_lora_ = 0, kv_lora_ = 0, qk_nope_ = 0, qk_rope_ = 0,
           v_head_dim_ = 0;          // MLA; v_head_dim_ also GQA
  std::vector<uint64_t> window_;     // per decoder layer; empty: no sliding window anywhere
  uint64_t kv_values_ = 0;           // self-attention cache values per position and layer
  uint64_t attn_flops_per_pos_ = 0;  // attention FLOPs per attended position and layer
  std::vector<OpSpec> encoder_ops_;
};

}  // namespace edgesim::traces
