#pragma once
// Mixture-of-experts shape of a decoder (docs/moe.md): which layers route, how many
// experts each holds and picks per token, their sizes, shared experts, and how the model
// turns router logits into mixture weights. Declared as model.moe_* parameters; a model
// with moe_experts = 0 is dense.
//
// A routed layer is laid out as two ops: "layers.L.moe_router" (the MLP norm, the router
// [experts x hidden] and any shared experts, read every token) and "layers.L.moe_experts"
// (one tensor whose chunk i is expert i's gate, up and down weights, 3 x hidden x
// expert_intermediate values). The experts op needs its input: which chunks it reads is
// known only once the router has run.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/core/config/params.hpp"

namespace edgesim::traces {

/// How router logits z become mixture weights over the chosen experts S.
enum class RouterNorm : uint8_t {
  SoftmaxTopK,        // w_e = softmax(z)_e, not renormalised (Qwen1.5-MoE, DeepSeek-V2-Lite, OLMoE)
  SoftmaxTopKRenorm,  // w_e = softmax(z)_e / sum over S (Mixtral)
  SparseMixer,        // Phi-3.5-MoE's sparsemixer at inference: per pick, a softmax over the
                      // experts within a relative margin 2 x eps of it
};

struct MoeShape {
  uint32_t experts = 0;       // routed experts per MoE layer; 0: a dense model
  uint32_t top_k = 0;         // experts per token
  uint64_t expert_inter = 0;  // one routed expert's SwiGLU width
  uint32_t shared = 0;        // shared experts (always active)
  uint64_t shared_inter = 0;  // one shared expert's SwiGLU width
  uint32_t first_dense = 0;   // leading layers with a dense MLP (DeepSeek's first_k_dense_replace)
  RouterNorm norm = RouterNorm::SoftmaxTopK;
  double sparsemixer_eps = 0.01;

  bool enabled() const { return experts > 0; }
  bool routed(uint64_t layer) const { return enabled() && layer >= first_dense; }
  /// Reads and checks the model.moe_* parameters (intermediate_size: the dense MLP width,
  /// the default expert width).
  static MoeShape from_params(const config::Params& p, uint64_t layers, uint64_t intermediate);
};

/// The model.moe_* parameter declarations (appended to the model section's).
const std::vector<config::ParamDecl>& moe_param_decls();
const char* router_norm_name(RouterNorm n);

/// softmax(z) into p.
void softmax(const std::vector<float>& z, std::vector<double>& p);
/// Mixture weights over all experts (0 for experts not in `chosen`) of the chosen set
/// under the model's normalisation, from the unmodified logits z.
void mixture_weights(const MoeShape& shape, const std::vector<float>& z, const std::vector<uint32_t>& chosen,
                     std::vector<double>& w);
/// The k largest of `score`, ties to the lower index, ordered by decreasing score.
void top_k(const std::vector<float>& score, uint32_t k, std::vector<uint32_t>& out);

}  // namespace edgesim::traces
