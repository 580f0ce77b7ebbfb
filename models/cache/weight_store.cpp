#include "models/cache/weight_store.hpp"

#include <algorithm>

#include "sim/core/errors.hpp"

namespace edgesim::cache {

WeightStore::WeightStore(std::vector<TensorChunks> tensors, StoreSettings settings,
                         const ReplacementFactory& make_replacement)
    : tensors_(std::move(tensors)), settings_(std::move(settings)) {
  const uint32_t total = tensors_.empty() ? 0 : tensors_.back().first_chunk + tensors_.back().chunks;
  resident_.assign(total, 0);
  part_of_.assign(tensors_.size(), -1);
  uint32_t n_cached = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) n_cached += settings_.placement[i] == Placement::Cache;
  // A retention rule by step keeps one matrix per tensor (LLM in a flash, Sec. 3.3).
  by_step_ = make_replacement()->by_step();
  if (!(settings_.partition_per_tensor || by_step_) || n_cached == 0) {
    parts_.push_back({make_replacement(), 0, settings_.cache_capacity, 0, 0, 0, {}});
    parts_[0].replacement->reset(total);
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (settings_.placement[i] == Placement::Cache) part_of_[i] = 0;
    }
  } else {
    const uint64_t share = settings_.cache_capacity / n_cached;
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (settings_.placement[i] != Placement::Cache) continue;
      const auto& t = tensors_[i];
      part_of_[i] = static_cast<int32_t>(parts_.size());
      parts_.push_back({make_replacement(), t.first_chunk, share, 0, parts_.size() * share, t.chunk_bytes, {}});
      parts_.back().replacement->reset(t.chunks);
      if (by_step_) {
        parts_.back().matrix.row_of.assign(t.chunks, 0);
        parts_.back().matrix.chunk_at.assign(t.chunks, 0);
      }
    }
  }
  needs_future_ = parts_[0].replacement->needs_future();
  pinned_.assign(total, 0);
  for (uint32_t c : settings_.pinned_chunks) {
    if (c >= total || part_of_[tensor_of_chunk(c)] < 0)
      throw SimError("internal: pinned chunk " + std::to_string(c) + " is not a chunk of a cached tensor");
    pinned_[c] = resident_[c] = 1;
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (settings_.placement[i] != Placement::Dram) continue;
    const auto& t = tensors_[i];
    std::fill(resident_.begin() + t.first_chunk, resident_.begin() + t.first_chunk + t.chunks, 1);
  }
  if (!settings_.dram_addresses) return;
  // The DRAM layout (see DramLayout); regions start on 4 KiB boundaries.
  auto align = [](uint64_t v) { return (v + 4095) & ~uint64_t{4095}; };
  // Streamed tensors alternate between two buffers the size of the largest.
  uint64_t pinned = 0, cached = 0, largest_streamed = 0, n_streamed = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    if (settings_.placement[i] == Placement::Flash)
      largest_streamed = std::max(largest_streamed, tensors_[i].bytes());
  }
  largest_streamed = align(largest_streamed);
  dram_.tensor_base.resize(tensors_.size());
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const uint64_t bytes = tensors_[i].bytes();
    switch (settings_.placement[i]) {
      case Placement::Dram: dram_.tensor_base[i] = pinned, pinned += bytes; break;
      case Placement::Cache:  // offset within its partition: among all cached tensors, or 0
        dram_.tensor_base[i] = parts_.size() == 1 ? cached : 0, cached += bytes;
        break;
      case Placement::Flash: dram_.tensor_base[i] = (n_streamed++ % 2) * largest_streamed; break;
    }
  }
  dram_.cache_base = align(pinned);
  dram_.staging_base = align(dram_.cache_base + settings_.cache_capacity);
  dram_.kv_base = dram_.staging_base + 2 * largest_streamed;
  dram_.kv_layer_stride = align(settings_.kv_bytes_per_layer);
}

uint64_t WeightStore::used() const {
  uint64_t u = 0;
  for (const auto& p : parts_) u += p.used;
  return u;
}

uint64_t WeightStore::chunk_address(uint32_t tensor, uint64_t local) const {
  const uint64_t off = dram_.tensor_base[tensor] + local * tensors_[tensor].chunk_bytes;
  switch (settings_.placement[tensor]) {
    case Placement::Dram: return off;
    case Placement::Cache: {
      const Partition& p = parts_[static_cast<size_t>(part_of_[tensor])];
      return dram_.cache_base + p.dram_offset + off % std::max<uint64_t>(p.capacity, 1);
    }
    case Placement::Flash: break;
  }
  return dram_.staging_base + off;
}

inline void WeightStore::touch(Partition& p, uint32_t chunk, uint64_t chunk_bytes, uint64_t next_use,
                               LoadCost& cost) {
  Replacement& r = *p.replacement;
  const uint32_t local = chunk - p.first_chunk;
  if (resident_[chunk]) {
    ++cost.hits;
    cost.hit_bytes += chunk_bytes;
    if (!pinned_[chunk]) r.on_hit(local, next_use);  // pinned chunks are not the policy's
    return;
  }
  ++cost.misses;
  cost.miss_bytes += chunk_bytes;
  if (chunk_bytes > p.capacity) return;  // can never fit: read through
  if (p.used + chunk_bytes > p.capacity && r.bypass(local, next_use)) return;
  while (p.used + chunk_bytes > p.capacity) {
    const uint32_t v = r.victim() + p.first_chunk;
    const auto& vt = tensors_[tensor_of_chunk(v)];
    if (!resident_[v]) throw SimError("internal: replacement policy chose a chunk that is not resident");
    if (by_step_) {  // the window overflows its matrix: the row goes as an expired one would
      remove(p, {v - p.first_chunk}, cost);
      continue;
    }
    r.on_evict(v - p.first_chunk);
    resident_[v] = 0;
    p.used -= vt.chunk_bytes;
  }
  resident_[chunk] = 1;
  p.used += chunk_bytes;
  r.on_insert(local, next_use);
  if (by_step_) {  // written at the end of the matrix, from the buffer the flash read filled
    ManagedRows& m = p.matrix;
    m.row_of[local] = m.rows;
    m.chunk_at[m.rows++] = local;
    m.peak = std::max(m.peak, m.rows);
    ++cost.rows_inserted;
    cost.mm_read_bytes += chunk_bytes;
    cost.mm_write_bytes += chunk_bytes;
  }
}

void WeightStore::remove(Partition& p, const std::vector<uint32_t>& locals, LoadCost& cost) {
  constexpr uint32_t kHole = ~uint32_t{0};
  ManagedRows& m = p.matrix;
  for (uint32_t local : locals) {
    p.replacement->on_evict(local);
    resident_[p.first_chunk + local] = 0;
    p.used -= p.chunk_bytes;
    m.chunk_at[m.row_of[local]] = kHole;
  }
  // Each hole below the new end takes the last live row; holes at the end just go.
  uint32_t rows = m.rows;
  auto trim = [&] {
    while (rows > 0 && m.chunk_at[rows - 1] == kHole) --rows;
  };
  for (uint32_t local : locals) {
    trim();
    const uint32_t hole = m.row_of[local];
    if (hole >= rows) continue;
    const uint32_t last = m.chunk_at[--rows];
    m.chunk_at[hole] = last;
    m.row_of[last] = hole;
    ++cost.rows_moved;
    cost.mm_read_bytes += p.chunk_bytes;
    cost.mm_write_bytes += p.chunk_bytes;
  }
  trim();
  m.rows = rows;
  cost.rows_deleted += locals.size();
}

void WeightStore::expire(Partition& p, LoadCost& cost) {
  dropped_.clear();
  p.replacement->expired(dropped_);
  if (!dropped_.empty()) remove(p, dropped_, cost);
}

void WeightStore::begin_step(uint64_t step, LoadCost& cost) {
  if (!by_step_ || step == step_) return;
  // What the previous step no longer keeps, in tensors it did not read (those it read were
  // trimmed when it read them); then the rules move on.
  for (Partition& p : parts_) expire(p, cost);
  for (Partition& p : parts_) p.replacement->begin_step(step);
  step_ = step;
}

uint64_t WeightStore::peak_rows_bytes() const {
  uint64_t b = 0;
  if (by_step_) {
    for (const Partition& p : parts_) b += uint64_t(p.matrix.peak) * p.chunk_bytes;
  }
  return b;
}

void WeightStore::access(uint32_t tensor, const ChunkSet& set, LoadCost& cost, const uint64_t*& next_use) {
  const TensorChunks& t = tensors_[tensor];
  const uint64_t cb = t.chunk_bytes;
  const Placement where = settings_.placement[tensor];
  const bool addresses = settings_.dram_addresses;
  // A flash read of `bytes` whose first chunk is local chunk `first`.
  auto add_flash_run = [&](uint64_t bytes, uint32_t first) {
    cost.flash_runs.push_back(bytes);
    cost.flash_bytes += bytes;
    if (settings_.staging_traffic) {
      cost.dram_write_bytes += bytes;
      cost.dram_read_bytes += bytes;
      if (addresses) {
        const uint64_t a = chunk_address(tensor, first);
        cost.add_dram(a, bytes, true);
        cost.add_dram(a, bytes, false);
      }
    }
  };
  const uint32_t n = set.count(t.chunks);
  if (n == 0) return;

  if (where == Placement::Dram) {
    cost.dram_read_bytes += n * cb;
    if (!addresses) return;
    if (set.kind == ChunkSet::Kind::All) {
      cost.add_dram(chunk_address(tensor, 0), t.bytes(), false);
    } else {
      for (uint32_t id : set.ids) cost.add_dram(chunk_address(tensor, id), cb, false);
    }
    return;
  }
  if (where == Placement::Flash) {
    if (set.kind == ChunkSet::Kind::All) {
      add_flash_run(t.bytes(), 0);
      return;
    }
    uint64_t run = 0;
    uint32_t first = set.ids.empty() ? 0 : set.ids[0];
    for (size_t i = 0; i < set.ids.size(); ++i) {
      if (i > 0 && set.ids[i] != set.ids[i - 1] + 1) {
        add_flash_run(run, first);
        run = 0;
        first = set.ids[i];
      }
      run += cb;
    }
    add_flash_run(run, first);
    return;
  }

  // Cached: the op's chunks are looked up as a batch against the cache as it was before
  // the op (a hit is read from DRAM and becomes most recent), then its misses are
  // inserted, so one op's misses never evict its own hits before they are read.
  // Consecutive misses form one flash read.
  const bool future = next_use != nullptr;
  Partition& part = parts_[static_cast<size_t>(part_of_[tensor])];
  uint64_t run = 0;
  uint32_t prev_local = 0, run_first = 0;
  const uint64_t hits_before = cost.hit_bytes;
  pending_.clear();
  auto visit = [&](uint32_t local) {
    const uint32_t chunk = t.first_chunk + local;
    const bool hit = resident_[chunk] != 0;
    const uint64_t nu = future ? *next_use++ : Replacement::kNever;
    if (hit) {
      touch(part, chunk, cb, nu, cost);
    } else {
      pending_.push_back({chunk, nu});
    }
    if (hit || (run > 0 && local != prev_local + 1)) {
      if (run > 0) add_flash_run(run, run_first);
      run = 0;
    }
    if (hit && addresses) cost.add_dram(chunk_address(tensor, local), cb, false);
    if (!hit) {
      if (run == 0) run_first = local;
      run += cb;
    }
    prev_local = local;
  };
  if (set.kind == ChunkSet::Kind::All) {
    for (uint32_t i = 0; i < t.chunks; ++i) visit(i);
  } else {
    for (uint32_t id : set.ids) visit(id);
  }
  if (run > 0) add_flash_run(run, run_first);
  // A window deletes the rows it no longer keeps before it inserts the new ones (Sec. 3.3).
  if (by_step_) expire(part, cost);
  for (const auto& [chunk, nu] : pending_) touch(part, chunk, cb, nu, cost);
  cost.dram_read_bytes += cost.hit_bytes - hits_before;
}

uint32_t WeightStore::tensor_of_chunk(uint32_t chunk) const {
  auto it = std::upper_bound(tensors_.begin(), tensors_.end(), chunk,
                             [](uint32_t c, const TensorChunks& t) { return c < t.first_chunk; });
  return static_cast<uint32_t>(std::distance(tensors_.begin(), it) - 1);
}

std::vector<uint64_t> next_uses(const std::vector<uint32_t>& accesses, uint32_t total_chunks) {
  // Backwards: each access's next use is the last position seen of its chunk.
  std::vector<uint64_t> next(accesses.size());
  std::vector<uint64_t> last(total_chunks, Replacement::kNever);
  for (size_t i = accesses.size(); i-- > 0;) {
    next[i] = last[accesses[i]];
    last[accesses[i]] = i;
  }
  return next;
}

uint64_t WeightStore::dram_bytes(uint32_t tensor) const {
  const TensorChunks& t = tensors_[tensor];
  switch (settings_.placement[tensor]) {
    case Placement::Dram: return t.bytes();
    case Placement::Flash: return 0;
    case Placement::Cache: break;
  }
  uint64_t n = 0;
  for (uint32_t c = t.first_chunk; c < t.first_chunk + t.chunks; ++c) n += resident_[c] != 0;
  return n * t.chunk_bytes;
}

}  // namespace edgesim::cache
