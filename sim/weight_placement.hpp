#pragma once
// Where the workload meets the weight store. The store (models/cache) knows tensors only
// as runs of chunks, and policies (traces/) know the cache only through ResidencyView; the
// engine joins them: it places the layout's tensor classes, hands the store their chunk
// runs, shows the store's residency to cache-aware policies, and turns a list of steps
// into OPT's next-use positions.
#include <string>
#include <vector>

#include "models/cache/weight_store.hpp"
#include "sim/decoding.hpp"
#include "traces/model_layout.hpp"
#include "traces/policy.hpp"

namespace edgesim::sim {

/// The store's view of the run's models' tensors (chunk ids, sizes, flash offsets), one
/// model after the other.
std::vector<cache::TensorChunks> store_tensors(const std::vector<RunModel>& models);
/// The same for a run of one model.
inline std::vector<cache::TensorChunks> store_tensors(const traces::ModelLayout& layout) {
  return store_tensors(lay_out_models(layout, nullptr));
}

/// Tensor placement from `pinned` class patterns (pattern_matches): matching tensors are
/// pinned in DRAM, the rest cached, or flash-only when there is no cache.
std::vector<cache::Placement> place_tensors(const traces::ModelLayout& layout,
                                            const std::vector<std::string>& pinned, bool have_cache);

/// For OPT: the next-use position of every cached-chunk access of `steps`, in the order
/// the store's access() consumes them (Replacement::kNever when a chunk is not used again),
/// after those of the first model's encoder pass over `encoder_tokens` prompt tokens.
std::vector<uint64_t> future_uses(const cache::WeightStore& store, const std::vector<RunModel>& models,
                                  const std::vector<traces::Step>& steps, uint64_t encoder_tokens = 0);
inline std::vector<uint64_t> future_uses(const cache::WeightStore& store, const traces::ModelLayout& layout,
                                         const std::vector<traces::Step>& steps, uint64_t encoder_tokens = 0) {
  return future_uses(store, lay_out_models(layout, nullptr), steps, encoder_tokens);
}

/// What a cache-aware policy sees of the store.
class StoreResidency final : public traces::ResidencyView {
 public:
  explicit StoreResidency(const cache::WeightStore& store) : store_(store) {}
  bool resident(uint32_t chunk) const override { return store_.resident(chunk); }

 private:
  const cache::WeightStore& store_;
};

}  // namespace edgesim::sim
