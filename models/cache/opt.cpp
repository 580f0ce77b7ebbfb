// Belady's OPT (MIN): evict the resident chunk whose next use is furthest in the future,
// and do not insert a chunk that is reused later than everything resident. With equal
// chunk sizes this minimises misses; with mixed sizes it is the classic furthest-next-use
// heuristic, not an exact optimum (that is a knapsack problem). It needs the whole access
// sequence in advance, so it runs on recorded traces or on policies that ignore the cache.
// A max-heap with lazy deletion: O(log n) per access, compacted when stale entries pile up.
#include <queue>

#include "models/cache/replacement.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::cache {
namespace {

class Opt final : public Replacement {
 public:
  bool needs_future() const override { return true; }
  void reset(uint32_t n) override {
    next_.assign(n, kNever);
    in_cache_.assign(n, 0);
    heap_ = {};
    resident_ = 0;
  }
  void on_hit(uint32_t c, uint64_t next_use) override { update(c, next_use); }
  void on_insert(uint32_t c, uint64_t next_use) override {
    in_cache_[c] = 1;
    ++resident_;
    update(c, next_use);
  }
  uint32_t victim() override {
    drop_stale();
    return heap_.top().second;
  }
  void on_evict(uint32_t c) override {
    in_cache_[c] = 0;
    --resident_;
  }
  bool bypass(uint32_t, uint64_t next_use) override {
    drop_stale();
    return !heap_.empty() && next_use >= heap_.top().first;
  }

 private:
  using Entry = std::pair<uint64_t, uint32_t>;  // (next use, chunk): the top is furthest
  void update(uint32_t c, uint64_t next_use) {
    next_[c] = next_use;
    heap_.push({next_use, c});
    if (heap_.size() > 4 * resident_ + 1024) compact();
  }
  bool stale(const Entry& e) const { return !in_cache_[e.second] || next_[e.second] != e.first; }
  void drop_stale() {
    while (!heap_.empty() && stale(heap_.top())) heap_.pop();
  }
  void compact() {
    std::vector<Entry> live;
    live.reserve(resident_);
    while (!heap_.empty()) {
      if (!stale(heap_.top())) live.push_back(heap_.top());
      heap_.pop();
    }
    heap_ = std::priority_queue<Entry>(std::less<Entry>(), std::move(live));
  }

  std::vector<uint64_t> next_;
  std::vector<uint8_t> in_cache_;
  std::priority_queue<Entry> heap_;
  size_t resident_ = 0;
};

const config::ParamTable kParams = {{}};
const Registration<Replacement> kOpt("opt", "Belady's OPT: furthest next use (needs the future)", kParams,
                                     [](const config::Params&) { return std::make_unique<Opt>(); });

}  // namespace
}  // namespace edgesim::cache
