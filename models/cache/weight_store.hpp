#pragma once
// Where the model's weights live and what reading them costs. Each tensor is pinned in
// DRAM, cached in a DRAM weight cache over flash, or read from flash every time. The
// cache works per chunk over flat arrays (O(1) per access for LRU, LFU and FIFO), and
// consecutive missing chunks coalesce into one flash read.
//
// The store knows tensors only as runs of equal-sized chunks (TensorChunks): which model
// they come from, and which op reads them, is the engine's business (sim/weight_placement).
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "models/cache/replacement.hpp"
#include "models/memory/dram.hpp"
#include "sim/core/chunk_set.hpp"

namespace edgesim::cache {

enum class Placement : uint8_t { Dram, Cache, Flash };

/// One tensor as the store sees it: `chunks` chunks of `chunk_bytes` each, with global
/// ids from `first_chunk` (tensors in increasing order, back to back), stored at
/// `flash_offset` in the flash image.
struct TensorChunks {
  uint32_t first_chunk = 0;
  uint32_t chunks = 0;
  uint64_t chunk_bytes = 0;
  uint64_t flash_offset = 0;
  uint64_t bytes() const { return uint64_t(chunks) * chunk_bytes; }
};

/// What one op's weight reads cost, accumulated over its tensors.
struct LoadCost {
  uint64_t dram_read_bytes = 0;
  uint64_t dram_write_bytes = 0;
  uint64_t flash_bytes = 0;       // logical bytes requested from flash
  uint64_t hits = 0, misses = 0;  // chunk accesses to cached tensors
  uint64_t hit_bytes = 0, miss_bytes = 0;
  /// Memory management of a retention rule by step (windowing, "LLM in a flash" Sec. 3.3):
  /// rows deleted from and inserted into the per-tensor matrices, rows moved to close the
  /// holes, and the DRAM bytes those copies read and write.
  uint64_t rows_deleted = 0, rows_inserted = 0, rows_moved = 0;
  uint64_t mm_read_bytes = 0, mm_write_bytes = 0;
  std::vector<uint64_t> flash_runs;  // sizes of the coalesced flash reads, in issue order
  /// With StoreSettings::dram_addresses: where the DRAM reads and writes fall, in order,
  /// consecutive ranges merged.
  std::vector<memory::DramRange> dram_ranges;
  void clear() {
    dram_read_bytes = dram_write_bytes = flash_bytes = hits = misses = hit_bytes = miss_bytes = 0;
    rows_deleted = rows_inserted = rows_moved = mm_read_bytes = mm_write_bytes = 0;
    flash_runs.clear();  // keeps capacity: no allocation per op
    dram_ranges.clear();
  }
  void add_dram(uint64_t addr, uint64_t bytes, bool write) {
    if (!dram_ranges.empty()) {
      auto& last = dram_ranges.back();
      if (last.write == write && last.addr + last.bytes == addr) {
        last.bytes += bytes;
        return;
      }
    }
    dram_ranges.push_back({addr, bytes, write});
  }
};

struct StoreSettings {
  std::vector<Placement> placement;  // per tensor
  uint64_t cache_capacity = 0;       // bytes of DRAM for the weight cache
  bool staging_traffic = true;       // flash data passes through DRAM: written, then read
  bool dram_addresses = false;       // record DRAM addresses (a command-level DRAM wants them)
  /// One cache over every cached tensor, or the capacity split evenly over the cached
  /// tensors, each with its own replacement state (the DIP paper's accounting).
  bool partition_per_tensor = false;
  uint64_t kv_bytes_per_layer = 0;  // KV-cache region of one layer at the longest context
  /// Chunks of cached tensors held in DRAM for the whole run, outside the cache's capacity
  /// and its replacement (e.g. an MoE model's most used experts): always hits.
  std::vector<uint32_t> pinned_chunks;
  /// A retention rule by step: time per row copied (moved or inserted) beyond its DRAM
  /// traffic, the CPU's share of the bookkeeping (0: copies run at memory speed).
  double row_copy_time = 0;
};

/// Where things live in DRAM when addresses matter: pinned tensors back to back from 0,
/// then the weight cache, then the streaming buffers, then the KV cache, layer by layer.
/// A cached chunk sits at its offset among the cached tensors modulo the cache size (so
/// a tensor's resident chunks are contiguous, as an allocator that keeps model order
/// would place them); docs/dram.md says what this leaves out.
struct DramLayout {
  std::vector<uint64_t> tensor_base;  // pinned: address; cached: offset in its cache partition
  uint64_t cache_base = 0, staging_base = 0, kv_base = 0, kv_layer_stride = 0;
};

class WeightStore final {
 public:
  using ReplacementFactory = std::function<std::unique_ptr<Replacement>()>;
  WeightStore(std::vector<TensorChunks> tensors, StoreSettings settings,
              const ReplacementFactory& make_replacement);

  /// Reads `set` of tensor `tensor`, adding its cost to `cost`. For a policy that
  /// needs_future(), `next_use` points at the next-use positions of the coming cached
  /// accesses and is advanced past those this call consumes; otherwise it may be null.
  void access(uint32_t tensor, const ChunkSet& set, LoadCost& cost, const uint64_t*& next_use);
  /// The step (token) of the accesses that follow. A retention rule by step first drops what
  /// the step before no longer keeps in tensors that step did not read (their memory
  /// management is added to `cost`); other rules ignore it.
  void begin_step(uint64_t step, LoadCost& cost);

  bool resident(uint32_t chunk) const { return resident_[chunk] != 0; }
  /// Bytes of `tensor` in DRAM: all of a pinned tensor, the resident chunks of a cached one.
  uint64_t dram_bytes(uint32_t tensor) const;
  Placement placement(uint32_t tensor) const { return settings_.placement[tensor]; }
  uint64_t capacity() const { return settings_.cache_capacity; }
  uint64_t used() const;
  bool needs_future() const { return needs_future_; }
  /// True when the replacement is a retention rule by step (windowing): one partition per
  /// cached tensor, each a preallocated matrix of rows (ManagedRows).
  bool by_step() const { return by_step_; }
  double row_copy_time() const { return settings_.row_copy_time; }
  /// Windowing: the most rows each cached tensor's matrix held at once (the paper's Req_i),
  /// summed in bytes: the DRAM its preallocated matrices take.
  uint64_t peak_rows_bytes() const;
  /// Cache partitions: one, or one per cached tensor.
  size_t partitions() const { return parts_.size(); }
  const DramLayout& dram_layout() const { return dram_; }
  bool dram_addresses() const { return settings_.dram_addresses; }
  /// DRAM address of local chunk `local` of `tensor` (dram_addresses only).
  uint64_t chunk_address(uint32_t tensor, uint64_t local) const;
  const std::vector<TensorChunks>& tensors() const { return tensors_; }
  uint32_t total_chunks() const { return static_cast<uint32_t>(resident_.size()); }

 private:
  // A cache (or one tensor's share of it): replacement state over local chunk ids.
  // A retention rule's matrix of rows ("LLM in a flash" Sec. 3.3): resident chunks occupy
  // rows 0 .. rows-1; a deleted row's hole is filled by moving the last row into it, and a
  // new chunk is written at the end.
  struct ManagedRows {
    std::vector<uint32_t> row_of;    // per local chunk: its row (meaningful while resident)
    std::vector<uint32_t> chunk_at;  // per row: its local chunk
    uint32_t rows = 0, peak = 0;
  };
  struct Partition {
    std::unique_ptr<Replacement> replacement;
    uint32_t first_chunk = 0;  // global id of local chunk 0
    uint64_t capacity = 0, used = 0, dram_offset = 0;
    uint64_t chunk_bytes = 0;  // by_step: the one tensor's chunk size
    ManagedRows matrix;        // by_step only
  };
  void touch(Partition& p, uint32_t chunk, uint64_t chunk_bytes, uint64_t next_use, LoadCost& cost);
  /// Evicts the partition's chunks (global ids), closing the holes in its matrix.
  void remove(Partition& p, const std::vector<uint32_t>& chunks, LoadCost& cost);
  /// Evicts what the partition's rule no longer keeps.
  void expire(Partition& p, LoadCost& cost);
  uint32_t tensor_of_chunk(uint32_t chunk) const;
  std::vector<TensorChunks> tensors_;
  StoreSettings settings_;
  std::vector<Partition> parts_;
  std::vector<int32_t> part_of_;                        // per tensor: its partition, or -1
  std::vector<std::pair<uint32_t, uint64_t>> pending_;  // an op's misses: chunk, next use
  bool needs_future_ = false, by_step_ = false;
  uint64_t step_ = 0;
  std::vector<uint32_t> dropped_;  // scratch: chunks to evict
  std::vector<uint8_t> resident_;  // per global chunk
  std::vector<uint8_t> pinned_;    // per global chunk: StoreSettings::pinned_chunks
  DramLayout dram_;
};

/// For OPT: the next-use position of each access in `accesses` (global chunk ids in the
/// order access() will see them), kNever when the chunk is not accessed again.
std::vector<uint64_t> next_uses(const std::vector<uint32_t>& accesses, uint32_t total_chunks);

}  // namespace edgesim::cache
