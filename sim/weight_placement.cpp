#include "sim/weight_placement.hpp"

#include "sim/core/pattern.hpp"

namespace edgesim::sim {

std::vector<cache::TensorChunks> store_tensors(const std::vector<RunModel>& models) {
  std::vector<cache::TensorChunks> out;
  for (const RunModel& m : models) {
    for (const auto& t : m.layout->tensors())
      out.push_back({m.chunk_base + t.first_chunk, t.chunks, t.chunk_bytes, m.flash_base + t.flash_offset});
  }
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

std::vector<uint64_t> future_uses(const cache::WeightStore& store, const std::vector<RunModel>& models,
                                  const std::vector<traces::Step>& steps, uint64_t encoder_tokens) {
  // The sequence of cached-chunk accesses, in the order access() sees them: the first
  // model's encoder pass, then the steps.
  std::vector<uint32_t> seq;
  const auto add = [&](const std::vector<uint32_t>& tensors, const traces::OpAccess& op) {
    for (size_t i = 0; i < tensors.size(); ++i) {
      const uint32_t ti = tensors[i];
      if (store.placement(ti) != cache::Placement::Cache) continue;
      const auto& t = store.tensors()[ti];
      const ChunkSet& s = op.sets[i];
      if (s.kind == ChunkSet::Kind::All) {
        for (uint32_t c = 0; c < t.chunks; ++c) seq.push_back(t.first_chunk + c);
      } else if (s.kind == ChunkSet::Kind::List) {
        for (uint32_t c : s.ids) seq.push_back(t.first_chunk + c);
      }
    }
  };
  const RunModel& first = models[0];
  for (const auto& op : first.layout->encoder_pass(encoder_tokens)) add(first.encoder_op_tensors[op.op], op);
  for (const auto& step : steps) {
    const RunModel& m = models[step.info.model];
    for (const auto& op : step.ops) add(m.store_tensors(step.info.phase, op.op), op);
  }
  return cache::next_uses(seq, store.total_chunks());
}

}  // namespace edgesim::sim
