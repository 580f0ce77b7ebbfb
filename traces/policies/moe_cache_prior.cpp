// cache_prior: Cache-Prior routing (Skliar et al., "Mixture of Cache-Conditional Experts
// for Efficient Mobile Device Inference", arXiv 2412.00099). Each cached expert's logit
// gets a bonus lambda x delta_avg, where delta_avg is a running mean over the layer's
// tokens so far (this one included) of max(z) - min(z); the top-k of the biased logits
// run. Mixture weights come from the unmodified logits (MoeRouting's metrics). lambda = 0
// is top-k; a larger lambda trades fidelity to top-k for hits.
#include "sim/core/registry.hpp"
#include "traces/policies/moe_routing.hpp"

#include <algorithm>

namespace edgesim::traces {

void route_cache_prior(const std::vector<float>& z, const std::vector<uint8_t>& cached, uint32_t k,
                       double lambda, double delta_avg, std::vector<uint32_t>& out) {
  std::vector<float> biased(z);
  const float bonus = static_cast<float>(lambda * delta_avg);
  for (size_t e = 0; e < z.size(); ++e) {
    if (cached[e]) biased[e] += bonus;
  }
  top_k(biased, k, out);
}

namespace {

class CachePrior final : public MoeRouting {
 public:
  CachePrior(const RouterSourceSettings& s, double lambda) : MoeRouting(s), lambda_(lambda) {}
  bool cache_aware() const override { return lambda_ > 0; }

 protected:
  void route(int layer, const std::vector<float>& z, const std::vector<uint8_t>& cached, uint32_t k,
             const std::vector<uint32_t>&, std::vector<uint32_t>& out) override {
    const size_t l = static_cast<size_t>(layer);
    if (l >= sum_.size()) {
      sum_.resize(l + 1, 0.0);
      count_.resize(l + 1, 0);
    }
    const auto [lo, hi] = std::minmax_element(z.begin(), z.end());
    sum_[l] += static_cast<double>(*hi) - static_cast<double>(*lo);
    ++count_[l];
    route_cache_prior(z, cached, k, lambda_, sum_[l] / static_cast<double>(count_[l]), out);
  }

 private:
  double lambda_;
  std::vector<double> sum_;  // per layer: running sum of max - min, and its count
  std::vector<uint64_t> count_;
};

const config::ParamTable kParams = routing_table({
    {"lambda", config::Quantity::Real, 0.3,
     "Bonus of a cached expert's logit, in units of the layer's mean logit range (0: top-k)", 0, 100},
});
const Registration<Policy> kCachePrior(
    "cache_prior", "MoE routing, Cache-Prior (Skliar et al.): cached experts' logits + lambda x mean range",
    kParams, [](const config::Params& p) {
      return std::make_unique<CachePrior>(router_settings(p), p.number("lambda"));
    });

}  // namespace
}  // namespace edgesim::traces
