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
    {"architecture",
     Quantity::String,
     "swiglu-decoder",
     "Layer structure: pre-norm attention (GQA) then a SwiGLU MLP, as in Llama and Phi-3",
     -1e300,
     1e300,
     {"swiglu-decoder"}},
    {"layers", Quantity::Integer, nullptr, "Decoder layers", 1, 1024},
    {"hidden_size", Quantity::Integer, nullptr, "Model (residual) width", 1, 1 << 20},
    {"intermediate_size", Quantity::Integer, nullptr, "SwiGLU MLP inner width", 1, 1 << 22},
    {"heads", Quantity::Integer, nullptr, "Attention (query) heads", 1, 4096},
    {"kv_heads", Quantity::Integer, nullptr, "Key/value heads (grouped-query attention)", 1, 4096},
    {"head_dim", Quantity::Integer, 0, "Per-head width; 0 means hidden_size / heads", 0, 1 << 16},
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
     "Format of activations; the compute engine runs at this datatype's peak", -1e300, 1e300, dtype_names()},
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
  if (whole_tensor_chunks || kind == TensorKind::Norm) {
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

void ModelLayout::set_chunk_bytes(const std::function<uint64_t(const Tensor&)>& bytes_of) {
  total_bytes_ = 0;
  for (auto& t : tensors_) {
    t.chunk_bytes = bytes_of(t);
    t.flash_offset = total_bytes_;
    total_bytes_ += t.bytes();
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
  if (head_dim_ == 0) {
    if (hidden_ % heads_ != 0) {
      config::fail_at(p.path_of("head_dim"), "hidden_size " + std::to_string(hidden_) +
                                                 " is not divisible by heads " + std::to_string(heads_) +
                                                 "; give head_dim explicitly");
    }
    head_dim_ = hidden_ / heads_;
  }
  if (heads_ % kv_heads_ != 0) {
    config::fail_at(p.path_of("kv_heads"), "heads (" + std::to_string(heads_) +
                                               ") must be a multiple of kv_heads (" +
                                               std::to_string(kv_heads_) + ")");
  }
  const Dtype w = dtype_from_name(p.text("weight_dtype"));
  weight_dtype_ = w;
  act_dtype_ = dtype_from_name(p.text("activation_dtype"));
  kv_dtype_ = dtype_from_name(p.text("kv_dtype"));
  chunking_ = p.text("chunking");
  const bool whole = chunking_ == "tensor";
  const bool neuron = chunking_ == "neuron", bundled = chunking_ == "bundled";
  const uint64_t q_out = heads_ * head_dim_, kv_out = kv_heads_ * head_dim_;
  moe_ = MoeShape::from_params(p, layers_, inter_);

  // Flash image order = execution order, so that a dense stream reads flash sequentially.
  OpSpec embed{"embed", OpKind::Embed, -1, {}};
  embed.tensors.push_back(add_tensor("embed", "embed", TensorKind::Embedding, -1, vocab_, hidden_, w, whole));
  ops_.push_back(embed);
  for (uint64_t l = 0; l < layers_; ++l) {
    const int li = static_cast<int>(l);
    const std::string pre = "layers." + std::to_string(l) + ".";
    OpSpec attn{pre + "attn", OpKind::Attention, li, {}};
    attn.tensors.push_back(
        add_tensor(pre + "attn.norm", "attn.norm", TensorKind::Norm, li, 1, hidden_, act_dtype_, whole));
    attn.tensors.push_back(
        add_tensor(pre + "attn.q", "attn.q", TensorKind::Linear, li, q_out, hidden_, w, whole));
    attn.tensors.push_back(
        add_tensor(pre + "attn.k", "attn.k", TensorKind::Linear, li, kv_out, hidden_, w, whole));
    attn.tensors.push_back(
        add_tensor(pre + "attn.v", "attn.v", TensorKind::Linear, li, kv_out, hidden_, w, whole));
    ops_.push_back(attn);
    OpSpec out{pre + "attn_out", OpKind::Linear, li, {}};
    out.tensors.push_back(
        add_tensor(pre + "attn.o", "attn.o", TensorKind::Linear, li, hidden_, q_out, w, whole));
    ops_.push_back(out);
    if (moe_.routed(l)) {
      add_moe_mlp(pre, li, w);
      continue;
    }
    OpSpec gate_up{pre + "mlp_gate_up", OpKind::Linear, li, {}};
    gate_up.tensors.push_back(
        add_tensor(pre + "mlp.norm", "mlp.norm", TensorKind::Norm, li, 1, hidden_, act_dtype_, whole));
    OpSpec down{pre + "mlp_down", OpKind::Linear, li, {}};
    if (bundled) {
      // Neuron i's gate row, up row and down column, one chunk of 3 x hidden weights, read
      // (and computed) by the gate/up op; the down op then has no weights of its own.
      gate_up.tensors.push_back(add_tensor(pre + "mlp.bundle", "mlp.bundle", TensorKind::Linear, li, inter_,
                                           3 * hidden_, w, false, true));
    } else {
      gate_up.tensors.push_back(add_tensor(pre + "mlp.gate", "mlp.gate", TensorKind::Linear, li, inter_,
                                           hidden_, w, whole, neuron));
      gate_up.tensors.push_back(
          add_tensor(pre + "mlp.up", "mlp.up", TensorKind::Linear, li, inter_, hidden_, w, whole, neuron));
      down.tensors.push_back(
          add_tensor(pre + "mlp.down", "mlp.down", TensorKind::Linear, li, hidden_, inter_, w, whole));
    }
    ops_.push_back(gate_up);
    ops_.push_back(down);
  }
  OpSpec head{"lm_head", OpKind::Head, -1, {}};
  head.tensors.push_back(
      add_tensor("final.norm", "final.norm", TensorKind::Norm, -1, 1, hidden_, act_dtype_, whole));
  head.tensors.push_back(add_tensor("lm_head", "lm_head", TensorKind::Linear, -1, vocab_, hidden_, w, whole));
  ops_.push_back(head);
  apply_weight_formats(p);
}

uint64_t ModelLayout::op_flops(const OpSpec& op, const std::vector<ChunkSet>& sets, uint64_t position) const {
  uint64_t flops = 0;
  for (size_t i = 0; i < op.tensors.size(); ++i) {
    const Tensor& t = tensors_[op.tensors[i]];
    if (t.kind != TensorKind::Linear) continue;
    const ChunkSet& s = sets[i];
    if (t.chunks == 1) {
      flops += s.kind == ChunkSet::Kind::None ? 0 : 2 * t.rows * t.cols;
    } else {
      // A multiply-add per weight of each column (or row) read.
      flops += 2 * (t.row_chunks ? t.cols : t.rows) * s.count(t.chunks);
    }
  }
  if (op.kind == OpKind::Attention) {
    const uint64_t ctx = position + 1;
    flops += 2 * 2 * heads_ * head_dim_ * ctx;  // q.K^T and the weighted sum over V
  }
  return flops;
}

uint64_t ModelLayout::kv_bytes_per_position() const {
  return layers_ * dtype_bytes(kv_dtype_, 2 * kv_heads_ * head_dim_);
}

uint64_t ModelLayout::op_kv_read_bytes(const OpSpec& op, uint64_t position) const {
  if (op.kind != OpKind::Attention) return 0;
  return dtype_bytes(kv_dtype_, 2 * kv_heads_ * head_dim_) * position;
}

uint64_t ModelLayout::op_kv_write_bytes(const OpSpec& op) const {
  return op.kind == OpKind::Attention ? dtype_bytes(kv_dtype_, 2 * kv_heads_ * head_dim_) : 0;
}

uint64_t ModelLayout::activation_bytes() const {
  // Residual stream, normed input, q/k/v, attention output, gate, up, and the logits.
  const uint64_t elems = 3 * hidden_ + (heads_ + 2 * kv_heads_) * head_dim_ + 2 * inter_ + vocab_;
  return dtype_bytes(act_dtype_, elems);
}

uint32_t ModelLayout::tensor_of_chunk(uint32_t chunk) const {
  auto it = std::upper_bound(tensors_.begin(), tensors_.end(), chunk,
                             [](uint32_t c, const Tensor& t) { return c < t.first_chunk; });
  return static_cast<uint32_t>(std::distance(tensors_.begin(), it) - 1);
}

}  // namespace edgesim::traces
