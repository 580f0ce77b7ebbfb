// Static unstructured pruning: a share of every targeted linear layer's weights is zero
// for good (as magnitude or cyclical pruning leaves them) and stored sparse, so every
// column is read every token but each column is smaller. Storage formats:
//  - bitmap: a bit per weight saying whether it is kept, then the kept values;
//  - index16: each kept value with a 16-bit row index (CSC).
// Compute is left as dense (decode is memory-bound; docs/sparsity.md).
#include <cmath>

#include "sim/core/pattern.hpp"
#include "sim/core/registry.hpp"
#include "traces/policy.hpp"

namespace edgesim::traces {
namespace {

class StaticPruning final : public Policy {
 public:
  StaticPruning(double sparsity, bool bitmap, std::vector<std::string> targets)
      : sparsity_(sparsity), bitmap_(bitmap), targets_(std::move(targets)) {}
  bool needs_input(const OpSpec&) const override { return false; }
  void select(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) override {
    select_dense(ctx, op, sets);
  }
  const char* pass_behaviour() const override {
    return "as decode: every column, each stored sparse (the pruned weights are gone for every token)";
  }
  uint64_t stored_chunk_bytes(const Tensor& t, Dtype w) const override {
    if (t.kind != TensorKind::Linear || t.chunks <= 1 || !targeted(t.klass)) return t.chunk_bytes;
    // A column of t.rows weights keeps round((1 - s) x rows) of them.
    const uint64_t kept = static_cast<uint64_t>(std::llround((1 - sparsity_) * static_cast<double>(t.rows)));
    const uint64_t values = dtype_bytes(w, kept);
    return bitmap_ ? (t.rows + 7) / 8 + values : values + 2 * kept;
  }
  nlohmann::json metrics() const override { return {{"static_sparsity", sparsity_}}; }

 private:
  bool targeted(const std::string& klass) const {
    for (const auto& p : targets_) {
      if (pattern_matches(p, klass)) return true;
    }
    return false;
  }
  double sparsity_;
  bool bitmap_;
  std::vector<std::string> targets_;
};

using config::Quantity;
const config::ParamTable kParams = {{
    {"sparsity", Quantity::Real, 0.5, "Share of each targeted linear layer's weights pruned to zero", 0,
     0.99},
    {"format",
     Quantity::String,
     "bitmap",
     "How the kept weights are stored",
     -INFINITY,
     INFINITY,
     {"bitmap", "index16"}},
    {"targets", Quantity::StringList, nlohmann::json::array({"mlp", "attn"}),
     "Tensor classes pruned (patterns as weight_store.pinned)"},
}};
const Registration<Policy> kRegistration(
    "static_pruning", "Unstructured weight pruning stored sparse: every column read, each one smaller",
    kParams, [](const config::Params& p) {
      return std::make_unique<StaticPruning>(p.number("sparsity"), p.text("format") == "bitmap",
                                             p.list("targets"));
    });

}  // namespace
}  // namespace edgesim::traces
