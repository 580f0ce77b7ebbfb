#pragma once
// A SwiGLU decoder-only LLM (Llama, Phi-3, Mistral shapes) expanded into weight tensors,
// each split into chunks, and the ops a decode step runs in order. Chunks are the unit
// of caching and of sparsity: a column (one input feature) of a linear layer, a row (one
// token) of the embedding table, or the whole tensor. Chunk ids are global and follow
// the flash image's layout, so consecutive ids are consecutive bytes in flash.
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

enum class TensorKind : uint8_t { Embedding, Linear, Norm };
enum class OpKind : uint8_t { Embed, Attention, Linear, Head };

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
  uint64_t bytes() const { return uint64_t(chunks) * chunk_bytes; }
};

struct OpSpec {
  std::string name;  // "layers.3.attn"
  OpKind kind = OpKind::Linear;
  int layer = -1;
  std::vector<uint32_t> tensors;
};

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

  /// FLOPs of one decode step of `op` at context `position` with the given chunk sets.
  uint64_t op_flops(const OpSpec& op, const std::vector<ChunkSet>& sets, uint64_t position) const;
  /// DRAM traffic of `op` beyond its weights: reading the KV cache of `position` earlier
  /// tokens, and writing this token's keys and values.
  uint64_t op_kv_read_bytes(const OpSpec& op, uint64_t position) const;
  uint64_t op_kv_write_bytes(const OpSpec& op) const;
  /// KV-cache bytes per context position, all layers.
  uint64_t kv_bytes_per_position() const;
  /// Bytes of the activation working set (a few hidden/intermediate/logit vectors).
  uint64_t activation_bytes() const;

  /// Tensor index of a tensor, by global chunk id.
  uint32_t tensor_of_chunk(uint32_t chunk) const;

  Dtype weight_dtype() const { return weight_dtype_; }
  /// Storage format of tensor `t` (model.weight_format, model.weight_formats; norms: activation_dtype).
  const WeightFormat& format(uint32_t t) const { return formats_[t]; }
  uint64_t layers() const { return layers_; }
  uint64_t hidden_size() const { return hidden_; }
  uint64_t intermediate_size() const { return inter_; }
  uint64_t attention_width() const { return heads_ * head_dim_; }
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
  /// A routed layer's router and experts ops (traces/moe_layout.cpp).
  void add_moe_mlp(const std::string& prefix, int layer, Dtype weights);
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
};

}  // namespace edgesim::traces
