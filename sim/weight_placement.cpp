#include "sim/weight_placement.hpp"

#include "sim/core/pattern.hpp"

namespace edgesim::sim {

std::vector<cache::TensorChunks> store_tensors(const traces::ModelLayout& layout) {
  std::vector<cache::TensorChunks> out;
  out.reserve(layout.tensors().size());
  for (const auto& t : layout.tensors())
    out.push_back({t.first_chunk, t.chunks, t.chunk_bytes, t.flash_offset});
  return out;
}

std::vector<cache::Placement> place_tensors(const traces::ModelLayout& layout,
                                            const std::vector<std::string>& pinned, bool have_cache) {
  std::vector<cache::Placement> out;
  for (const auto& t : layout.tensors()) {
    bool pin = false;
    for (const auto& p : pinned) pin = pin || pattern_matches(p, t.klass);
    out.push_back(pin          ? cache::Placement::Dram
                  : have_cache ? cache::Placement::Cache
                               : cache::Placement::Flash);
  }
  return out;
}

std::vector<uint64_t> future_uses(const cache::WeightStore& store, const traces::ModelLayout& layout,
                                  const std::vector<traces::Step>& steps, uint64_t encoder_tokens) {
  // The sequence of cached-chunk accesses, in the order access() sees them: the encoder
  // pass first, then the steps.
  std::vector<uint32_t> seq;
  const auto add = [&](const traces::OpSpec& spec, const traces::OpAccess& op) {
    for (size_t i = 0; i < spec.tensors.size(); ++i) {
      const uint32_t ti = spec.tensors[i];
      if (store.placement(ti) != cache::Placement::Cache) continue;
      const auto& t = layout.tensors()[ti];
      const ChunkSet& s = op.sets[i];
      if (s.kind == ChunkSet::Kind::All) {
        for (uint32_t c = 0; c < t.chunks; ++c) seq.push_back(t.first_chunk + c);
      } else if (s.kind == ChunkSet::Kind::List) {
        for (uint32_t c : s.ids) seq.push_back(t.first_chunk + c);
      }
    }
  };
  for (const auto& op : layout.encoder_pass(encoder_tokens)) add(layout.encoder_ops()[op.op], op);
  for (const auto& step : steps) {
    for (const auto& op : step.ops) add(layout.ops()[op.op], op);
  }
  return cache::next_uses(seq, store.total_chunks());
}

}  // namespace edgesim::sim
