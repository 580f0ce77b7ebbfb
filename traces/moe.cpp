#include "traces/moe.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace edgesim::traces {

using config::Quantity;

const std::vector<config::ParamDecl>& moe_param_decls() {
  static const std::vector<config::ParamDecl> decls = {
      {"moe_experts", Quantity::Integer, 0, "Routed experts per MoE layer; 0: a dense model", 0, 1 << 16},
      {"moe_top_k", Quantity::Integer, 2, "Experts each token is routed to per MoE layer", 1, 1 << 16},
      {"moe_expert_intermediate_size", Quantity::Integer, 0,
       "SwiGLU width of one routed expert; 0: intermediate_size", 0, 1 << 22},
      {"moe_shared_experts", Quantity::Integer, 0, "Shared experts per MoE layer, active for every token", 0,
       1 << 10},
      {"moe_shared_intermediate_size", Quantity::Integer, 0,
       "SwiGLU width of one shared expert; 0: moe_expert_intermediate_size", 0, 1 << 22},
      {"moe_shared_expert_gate", Quantity::Boolean, false,
       "The shared experts' output is scaled by a sigmoid gate (a 1 x hidden projection; Qwen2-MoE)"},
      {"moe_first_dense_layers", Quantity::Integer, 0,
       "Leading layers with a dense MLP of intermediate_size instead of experts", 0, 1024},
      {"moe_router",
       Quantity::String,
       "softmax_topk",
       "Mixture weights from router logits: softmax then top-k (softmax_topk), renormalised over the chosen "
       "(softmax_topk_renorm), or Phi-3.5-MoE's sparsemixer",
       -INFINITY,
       INFINITY,
       {"softmax_topk", "softmax_topk_renorm", "sparsemixer"}},
      {"moe_sparsemixer_eps", Quantity::Real, 0.01, "sparsemixer's jitter eps (relative logit margin / 2)", 0,
       1},
  };
  return decls;
}

const char* router_norm_name(RouterNorm n) {
  switch (n) {
    case RouterNorm::SoftmaxTopK: return "softmax_topk";
    case RouterNorm::SoftmaxTopKRenorm: return "softmax_topk_renorm";
    case RouterNorm::SparseMixer: return "sparsemixer";
  }
  return "?";
}

MoeShape MoeShape::from_params(const config::Params& p, uint64_t layers, uint64_t intermediate) {
  MoeShape s;
  s.experts = static_cast<uint32_t>(p.integer("moe_experts"));
  if (!s.enabled()) return s;
  s.top_k = static_cast<uint32_t>(p.integer("moe_top_k"));
  if (s.top_k > s.experts) {
    config::fail_at(p.path_of("moe_top_k"), "moe_top_k (" + std::to_string(s.top_k) +
                                                ") exceeds moe_experts (" + std::to_string(s.experts) + ")");
  }
  s.expert_inter = static_cast<uint64_t>(p.integer("moe_expert_intermediate_size"));
  if (s.expert_inter == 0) s.expert_inter = intermediate;
  s.shared = static_cast<uint32_t>(p.integer("moe_shared_experts"));
  s.shared_inter = static_cast<uint64_t>(p.integer("moe_shared_intermediate_size"));
  if (s.shared_inter == 0) s.shared_inter = s.expert_inter;
  s.shared_gate = p.flag("moe_shared_expert_gate");
  if (s.shared_gate && s.shared == 0) {
    config::fail_at(p.path_of("moe_shared_expert_gate"), "gates shared experts, and moe_shared_experts is 0");
  }
  s.first_dense = static_cast<uint32_t>(p.integer("moe_first_dense_layers"));
  if (s.first_dense >= layers) {
    config::fail_at(p.path_of("moe_first_dense_layers"),
                    "every one of the " + std::to_string(layers) +
                        " layers would be dense; set moe_experts = 0 for a dense model");
  }
  const std::string& n = p.text("moe_router");
  s.norm = n == "softmax_topk_renorm" ? RouterNorm::SoftmaxTopKRenorm
           : n == "sparsemixer"       ? RouterNorm::SparseMixer
                                      : RouterNorm::SoftmaxTopK;
  s.sparsemixer_eps = p.number("moe_sparsemixer_eps");
  return s;
}

void softmax(const std::vector<float>& z, std::vector<double>& p) {
  p.resize(z.size());
  if (z.empty()) return;
  const double m = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (size_t i = 0; i < z.size(); ++i) sum += p[i] = std::exp(static_cast<double>(z[i]) - m);
  for (double& v : p) v /= sum;
}

void top_k(const std::vector<float>& score, uint32_t k, std::vector<uint32_t>& out) {
  out.resize(score.size());
  std::iota(out.begin(), out.end(), 0u);
  k = std::min<uint32_t>(k, static_cast<uint32_t>(score.size()));
  std::partial_sort(out.begin(), out.begin() + k, out.end(), [&](uint32_t a, uint32_t b) {
    return score[a] > score[b] || (score[a] == score[b] && a < b);
  });
  out.resize(k);
}

void mixture_weights(const MoeShape& shape, const std::vector<float>& z, const std::vector<uint32_t>& chosen,
                     std::vector<double>& w) {
  w.assign(z.size(), 0.0);
  if (shape.norm != RouterNorm::SparseMixer) {
    std::vector<double> p;
    softmax(z, p);
    double sum = 0;
    for (uint32_t e : chosen) sum += w[e] = p[e];
    if (shape.norm == RouterNorm::SoftmaxTopKRenorm && sum > 0) {
      for (uint32_t e : chosen) w[e] /= sum;
    }
    return;
  }
  // sparsemixer (Phi-3.5-MoE, Hugging Face modeling_phimoe.py, inference branch): the
  // chosen experts in decreasing logit order; each one's weight is its softmax over the
  // experts not picked before it whose logit is within a relative margin of its own:
  // (z_e - z_j) / max(|z_j|, z_e) <= 2 eps.
  std::vector<uint32_t> order = chosen;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
  std::vector<uint8_t> picked(z.size(), 0);
  for (uint32_t e : order) {
    const double ze = z[e];
    double sum = 0;
    for (size_t j = 0; j < z.size(); ++j) {
      if (picked[j]) continue;
      const double factor = std::max(std::fabs(static_cast<double>(z[j])), ze);
      const bool masked = factor > 0 && (ze - z[j]) / factor > 2 * shape.sparsemixer_eps;
      if (!masked) sum += std::exp(static_cast<double>(z[j]) - ze);
    }
    w[e] = sum > 0 ? 1.0 / sum : 0.0;
    picked[e] = 1;
  }
}

}  // namespace edgesim::traces
