#pragma once
// MoE routing policies (docs/moe.md): for each routed layer and token, which experts run,
// from the router's logits and, for cache-aware rules, the expert cache's contents.
// MoeRouting does what every rule shares (logits from a source, the top-k reference, the
// metrics); each rule is one file in traces/policies/ (moe_top_k.cpp, moe_cache_prior.cpp,
// moe_max_rank.cpp). The rules' cores are plain functions, declared here for tests.
#include <memory>
#include <vector>

#include "traces/policy.hpp"
#include "traces/router_logits.hpp"

namespace edgesim::traces {

/// Cache-Prior (Skliar et al., arXiv 2412.00099): z'_e = z_e + lambda x delta_avg x m_e
/// with m_e = 1 for a cached expert; the top-k of z'.
void route_cache_prior(const std::vector<float>& z, const std::vector<uint8_t>& cached, uint32_t k,
                       double lambda, double delta_avg, std::vector<uint32_t>& out);
/// Max-Rank: the `keep_top` highest-ranked experts always; the other k - keep_top slots go
/// to cached experts of rank < max_rank (best rank first), then to the best-ranked rest.
/// keep_top = 0, max_rank = k + m is the "prefer cached among the top k + m" baseline.
void route_max_rank(const std::vector<float>& z, const std::vector<uint8_t>& cached, uint32_t k,
                    uint32_t keep_top, uint32_t max_rank, std::vector<uint32_t>& out);

class MoeRouting : public Policy {
 public:
  /// With no `source`, the settings' source is made at the first step (seeded from the
  /// run's generator).
  explicit MoeRouting(const RouterSourceSettings& s, std::unique_ptr<RouterLogitSource> source = nullptr)
      : s_(s), source_(std::move(source)) {}

  bool needs_input(const OpSpec& op) const override;
  void check(const ModelLayout& layout) const override;
  void select(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) override;
  const char* metrics_key() const override { return "routing"; }
  const char* pass_behaviour() const override {
    return "every expert of each routed layer is read (a pass's tokens together pick nearly all), each "
           "token computes its top_k; routing metrics count decode steps only";
  }
  std::vector<uint32_t> hot_chunks(const ModelLayout& layout, uint32_t per_tensor) const override;
  nlohmann::json metrics() const override;

 protected:
  /// The rule: k experts of `layer` from logits z, given which are cached (top-k
  /// reference in `reference`, by decreasing logit).
  virtual void route(int layer, const std::vector<float>& z, const std::vector<uint8_t>& cached, uint32_t k,
                     const std::vector<uint32_t>& reference, std::vector<uint32_t>& out) = 0;

 private:
  void account(const MoeShape& shape, const std::vector<float>& z, const std::vector<uint8_t>& cached,
               const std::vector<uint32_t>& reference, const std::vector<uint32_t>& chosen,
               uint64_t expert_bytes);

  RouterSourceSettings s_;
  std::unique_ptr<RouterLogitSource> source_;
  std::vector<uint8_t> cached_;
  std::vector<uint32_t> reference_, chosen_;
  std::vector<double> p_, w_ref_, w_;
  // Accumulated over every routed token-layer (warm-up included).
  uint64_t picks_ = 0, changed_ = 0, experts_ = 0, substituted_ = 0, hits_ = 0, ref_hits_ = 0;
  uint64_t miss_bytes_ = 0, steps_ = 0, last_step_ = UINT64_MAX;
  double mass_lost_ = 0, weight_l1_ = 0;
};

/// Declarations every routing policy accepts (the router source's) plus its own.
config::ParamTable routing_table(std::vector<config::ParamDecl> own);

}  // namespace edgesim::traces
