// top_k: the model's own routing, the k largest router logits (ties to the lower index);
// mixture weights by the model's normalisation (model.moe_router). Ignores the cache.
#include "sim/core/registry.hpp"
#include "traces/policies/moe_routing.hpp"

namespace edgesim::traces {
namespace {

class TopK final : public MoeRouting {
 public:
  using MoeRouting::MoeRouting;

 protected:
  void route(int, const std::vector<float>&, const std::vector<uint8_t>&, uint32_t,
             const std::vector<uint32_t>& reference, std::vector<uint32_t>& out) override {
    out = reference;
  }
};

const config::ParamTable kParams = routing_table({});
const Registration<Policy> kTopK("top_k", "MoE routing: the model's top-k experts per token (cache-blind)",
                                 kParams, [](const config::Params& p) {
                                   return std::make_unique<TopK>(router_settings(p));
                                 });

}  // namespace
}  // namespace edgesim::traces
