// max_rank: the Max-Rank rule of Skliar et al. (arXiv 2412.00099) as far as its
// description could be retrieved (docs/moe.md): the keep_top highest-ranked experts always
// run; the other slots go to cached experts ranked below max_rank, best rank first, then
// to the best-ranked of the rest. cached_top_k_plus_m: the simple baseline, keep_top = 0
// and max_rank = k + m (prefer cached experts among the top k + m).
#include "sim/core/registry.hpp"
#include "traces/policies/moe_routing.hpp"

#include <algorithm>

namespace edgesim::traces {

void route_max_rank(const std::vector<float>& z, const std::vector<uint8_t>& cached, uint32_t k,
                    uint32_t keep_top, uint32_t max_rank, std::vector<uint32_t>& out) {
  const uint32_t n = static_cast<uint32_t>(z.size());
  std::vector<uint32_t> ranked;
  top_k(z, n, ranked);  // every expert, best first
  k = std::min(k, n);
  keep_top = std::min(keep_top, k);
  max_rank = std::min(max_rank, n);
  std::vector<uint8_t> taken(n, 0);
  out.assign(ranked.begin(), ranked.begin() + keep_top);
  for (uint32_t e : out) taken[e] = 1;
  for (uint32_t r = keep_top; r < max_rank && out.size() < k; ++r) {
    if (cached[ranked[r]]) {
      out.push_back(ranked[r]);
      taken[ranked[r]] = 1;
    }
  }
  for (uint32_t r = keep_top; r < n && out.size() < k; ++r) {
    if (!taken[ranked[r]]) out.push_back(ranked[r]);
  }
}

namespace {

class MaxRank final : public MoeRouting {
 public:
  // max_rank = 0: k + extra (the baseline's m; Max-Rank's default extra is k itself,
  // known only once the model is: extra < 0).
  MaxRank(const RouterSourceSettings& s, uint32_t keep_top, uint32_t max_rank, int64_t extra)
      : MoeRouting(s), keep_top_(keep_top), max_rank_(max_rank), extra_(extra) {}
  bool cache_aware() const override { return true; }

 protected:
  void route(int, const std::vector<float>& z, const std::vector<uint8_t>& cached, uint32_t k,
             const std::vector<uint32_t>&, std::vector<uint32_t>& out) override {
    const uint32_t extra = extra_ < 0 ? k : static_cast<uint32_t>(extra_);
    route_max_rank(z, cached, k, keep_top_, max_rank_ ? max_rank_ : k + extra, out);
  }

 private:
  uint32_t keep_top_, max_rank_;
  int64_t extra_;
};

using config::Quantity;

const config::ParamTable kMaxRankParams = routing_table({
    {"keep_top", Quantity::Integer, 1, "Highest-ranked experts that always run, cached or not", 0, 1 << 16},
    {"max_rank", Quantity::Integer, 0,
     "Cached experts ranked below this may take the other slots; 0: 2 x moe_top_k", 0, 1 << 16},
});
const Registration<Policy> kMaxRank(
    "max_rank",
    "MoE routing, Max-Rank (Skliar et al.): top keep_top kept, cached experts up to max_rank preferred",
    kMaxRankParams, [](const config::Params& p) {
      const auto keep = static_cast<uint32_t>(p.integer("keep_top"));
      const auto max_rank = static_cast<uint32_t>(p.integer("max_rank"));
      return std::make_unique<MaxRank>(router_settings(p), keep, max_rank, int64_t{-1});
    });

const config::ParamTable kBaselineParams = routing_table({
    {"m", Quantity::Integer, 2, "Candidates beyond the top k among which cached experts are preferred", 0,
     1 << 16},
});
const Registration<Policy> kBaseline("cached_top_k_plus_m",
                                     "MoE routing baseline: cached experts first among the top k + m",
                                     kBaselineParams, [](const config::Params& p) {
                                       return std::make_unique<MaxRank>(router_settings(p), 0u, 0u,
                                                                        static_cast<int64_t>(p.integer("m")));
                                     });

}  // namespace
}  // namespace edgesim::traces
