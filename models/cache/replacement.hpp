#pragma once
// A replacement policy chooses which resident chunk to evict. The weight cache owns
// residency and byte accounting and tells the policy of every hit, insert and eviction.
// Contract: victim() is called only while at least one chunk is resident, and returns a
// resident chunk; the policy must not assume the cache evicts it (the cache then calls
// on_evict). `next_use` is the position of the chunk's next access in the access
// sequence (kNever if none); only policies that need_future() get real values.
// A retention rule by time (by_step(), windowing) keeps what recent steps used instead:
// the store gives it one partition per tensor, tells it where each step (token) begins,
// and drops what expired() returns before inserting the step's misses.
#include <cstdint>
#include <limits>
#include <vector>

namespace edgesim::cache {

class Replacement {
 public:
  static constexpr const char* kKind = "replacement";
  static constexpr const char* kKindDescription =
      "Weight-cache replacement policy (weight_store.cache_policy)";
  static constexpr const char* kConfigPath = "weight_store.cache_policy";
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

  virtual ~Replacement() = default;
  virtual void reset(uint32_t num_chunks) = 0;
  virtual void on_hit(uint32_t chunk, uint64_t next_use) = 0;
  virtual void on_insert(uint32_t chunk, uint64_t next_use) = 0;
  virtual uint32_t victim() = 0;
  virtual void on_evict(uint32_t chunk) = 0;
  /// Belady's OPT needs the future: the access sequence must be known in advance.
  virtual bool needs_future() const { return false; }
  /// True when a missing chunk should not be inserted at all (OPT: it is reused later
  /// than anything resident). Called only when an insert would need an eviction.
  virtual bool bypass(uint32_t /*chunk*/, uint64_t /*next_use*/) { return false; }
  /// True for a retention rule by time: residency follows the last steps' uses, and the
  /// capacity only bounds it (victim() is then asked only when the kept chunks overflow).
  virtual bool by_step() const { return false; }
  /// The step (token) the following accesses belong to; steps only increase.
  virtual void begin_step(uint64_t /*step*/) {}
  /// Appends the resident chunks the rule no longer keeps at the current step (each once);
  /// the store evicts them (on_evict) before it inserts the step's misses.
  virtual void expired(std::vector<uint32_t>& /*out*/) {}
};

}  // namespace edgesim::cache
