// What every MoE routing rule shares: router logits per routed layer and token, the
// top-k reference, the chunk set (the chosen experts), and the accuracy and cache
// metrics (docs/moe.md).
#include "traces/policies/moe_routing.hpp"

#include <algorithm>
#include <cmath>

#include "sim/core/errors.hpp"

namespace edgesim::traces {
namespace {

bool is_experts_op(const OpSpec& op) {
  static const std::string suffix = "moe_experts";
  return op.layer >= 0 && op.name.size() >= suffix.size() &&
         op.name.compare(op.name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

config::ParamTable routing_table(std::vector<config::ParamDecl> own) {
  config::ParamTable t;
  t.params = std::move(own);
  for (const auto& d : router_param_decls()) t.params.push_back(d);
  return t;
}

bool MoeRouting::needs_input(const OpSpec& op) const {
  return is_experts_op(op);  // the router's output decides the chunks
}

void MoeRouting::check(const ModelLayout& layout) const {
  if (!layout.moe().enabled()) {
    config::fail_at("model.moe_experts", "a routing policy needs a mixture-of-experts model; model '" +
                                             layout.name() + "' has moe_experts = 0");
  }
  if (s_.file.empty()) return;
  try {
    RouterLogitFile(s_.file).check_matches(layout);  // every array read once, here
  } catch (const InputError& e) {
    config::fail_at("policy.router_logits", e.what());
  }
}

std::vector<uint32_t> MoeRouting::hot_chunks(const ModelLayout& layout, uint32_t per_tensor) const {
  // The profile: synthetic, 512 tokens of another text (seed 0: runs draw theirs from
  // run.seed) of the same model (same popularity); captured, the file's decoding rows,
  // the very tokens the run reads (an optimistic profile; docs/moe.md).
  RouterSourceSettings s = s_;
  s.seed = 0;
  uint64_t tokens = 512;
  if (!s.file.empty()) {
    const RouterLogitFile f(s.file);
    tokens = f.tokens() - f.prompt_tokens();
  }
  return profile_hot_experts(*make_router_source(s, layout), layout, per_tensor, tokens);
}

void MoeRouting::select(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) {
  if (!is_experts_op(op)) {
    select_dense(ctx, op, sets);
    return;
  }
  if (!source_) {
    s_.seed = ctx.rng();
    source_ = make_router_source(s_, ctx.layout);
  }
  const MoeShape& shape = ctx.layout.moe();
  const Tensor& t = ctx.layout.tensors()[op.tensors[0]];
  const std::vector<float>& z = source_->logits(ctx.step, op.layer);
  cached_.resize(shape.experts);
  for (uint32_t e = 0; e < shape.experts; ++e) cached_[e] = ctx.cache.resident(t.first_chunk + e) ? 1 : 0;
  top_k(z, shape.top_k, reference_);
  route(op.layer, z, cached_, shape.top_k, reference_, chosen_);
  account(shape, z, cached_, reference_, chosen_, t.chunk_bytes);
  if (ctx.step != last_step_) {
    last_step_ = ctx.step;
    ++steps_;
  }
  sets[0].set_list();
  sets[0].ids = chosen_;
  std::sort(sets[0].ids.begin(), sets[0].ids.end());
}

void MoeRouting::account(const MoeShape& shape, const std::vector<float>& z,
                         const std::vector<uint8_t>& cached, const std::vector<uint32_t>& reference,
                         const std::vector<uint32_t>& chosen, uint64_t expert_bytes) {
  softmax(z, p_);
  mixture_weights(shape, z, reference, w_ref_);
  mixture_weights(shape, z, chosen, w_);
  double lost = 0, l1 = 0;
  uint32_t outside = 0;
  for (uint32_t e : reference) lost += p_[e];
  for (uint32_t e : chosen) {
    lost -= p_[e];
    outside += std::find(reference.begin(), reference.end(), e) == reference.end();
    if (cached[e]) {
      ++hits_;
    } else {
      miss_bytes_ += expert_bytes;
    }
  }
  for (uint32_t e : reference) ref_hits_ += cached[e];
  for (size_t e = 0; e < z.size(); ++e) l1 += std::fabs(w_[e] - w_ref_[e]);
  ++picks_;
  changed_ += outside > 0;
  substituted_ += outside;
  experts_ += chosen.size();
  mass_lost_ += lost;
  weight_l1_ += l1;
}

nlohmann::json MoeRouting::metrics() const {
  if (picks_ == 0) return nullptr;  // never ran (a replay): nothing measured
  // A pick chooses top_k >= 1 experts in some step, so none of these is zero here.
  const double n = static_cast<double>(picks_);
  const double e = static_cast<double>(experts_);
  const double steps = static_cast<double>(steps_);
  // Counted over every routed token-layer of the run, warm-up included; the expert cache's
  // own hit rate over the measured tokens is metrics.weight_cache_hit_rate.
  return {
      {"token_layer_picks", picks_},
      {"changed_pick_fraction", static_cast<double>(changed_) / n},
      {"substituted_expert_fraction", static_cast<double>(substituted_) / e},
      {"probability_mass_lost", mass_lost_ / n},
      {"mixture_weight_l1", weight_l1_ / n},
      {"expert_hit_rate", static_cast<double>(hits_) / e},
      {"top_k_hit_rate_same_cache", static_cast<double>(ref_hits_) / e},
      {"experts_loaded_per_token", static_cast<double>(experts_ - hits_) / steps},
      {"expert_flash_bytes_per_token", static_cast<double>(miss_bytes_) / steps},
  };
}

}  // namespace edgesim::traces
