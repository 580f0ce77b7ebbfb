// Dense streaming: every chunk of every linear layer, every token; the embedding table
// is read at one row, the current token's (a position table at the token's position),
// and whole when it is tied to the LM head. The baseline every sparsity policy is
// compared with.
#include <algorithm>

#include "sim/core/registry.hpp"
#include "traces/policy.hpp"

namespace edgesim::traces {

void select_dense(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) {
  for (size_t i = 0; i < op.tensors.size(); ++i) {
    const Tensor& t = ctx.layout.tensors()[op.tensors[i]];
    if (t.kind == TensorKind::Embedding && t.chunks > 1 && op.kind == OpKind::Embed) {
      sets[i].set_list();
      sets[i].ids.push_back(
          static_cast<uint32_t>((t.positional ? ctx.info.position : ctx.info.token) % t.chunks));
    } else {
      sets[i].set_all();
    }
  }
}

void select_dense_pass(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) {
  select_dense(ctx, op, sets);
  if (op.kind != OpKind::Embed || ctx.info.tokens <= 1) return;
  for (size_t i = 0; i < op.tensors.size(); ++i) {
    const Tensor& t = ctx.layout.tensors()[op.tensors[i]];
    if (sets[i].kind != ChunkSet::Kind::List) continue;
    std::vector<uint32_t>& ids = sets[i].ids;
    for (uint32_t k = 1; k < ctx.info.tokens; ++k) {
      ids.push_back(static_cast<uint32_t>((t.positional ? ctx.info.position + k : ctx.rng()) % t.chunks));
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
}

void Policy::select_pass(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) {
  select_dense_pass(ctx, op, sets);
}

namespace {

class DensePolicy final : public Policy {
 public:
  bool needs_input(const OpSpec&) const override { return false; }
  void select(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) override {
    select_dense(ctx, op, sets);
  }
};

const config::ParamTable kDenseParams = {{}};
const Registration<Policy> kDense("dense", "Every weight every token (no sparsity)", kDenseParams,
                                  [](const config::Params&) { return std::make_unique<DensePolicy>(); });

}  // namespace
}  // namespace edgesim::traces
