// Least frequently used, O(1) per access: one list per access count, ties broken by
// recency (the least recently used of the least frequent goes first). Counts start at
// one when a chunk is inserted and are forgotten when it is evicted.
#include "models/cache/index_list.hpp"
#include "models/cache/replacement.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::cache {
namespace {

class Lfu final : public Replacement {
 public:
  void reset(uint32_t n) override {
    links_.resize(n);
    count_.assign(n, 0);
    buckets_.assign(2, {});
    min_count_ = 1;
  }
  void on_hit(uint32_t c, uint64_t) override {
    const uint32_t f = count_[c];
    links_.remove(buckets_[f], c);
    if (buckets_[f].empty() && min_count_ == f) min_count_ = f + 1;
    if (f + 1 >= buckets_.size()) buckets_.resize(f + 2);
    count_[c] = f + 1;
    links_.push_back(buckets_[f + 1], c);
  }
  void on_insert(uint32_t c, uint64_t) override {
    count_[c] = 1;
    links_.push_back(buckets_[1], c);
    min_count_ = 1;
  }
  uint32_t victim() override {
    while (buckets_[min_count_].empty()) ++min_count_;  // only after evictions emptied it
    return buckets_[min_count_].head;
  }
  void on_evict(uint32_t c) override {
    links_.remove(buckets_[count_[c]], c);
    count_[c] = 0;
  }

 private:
  IndexLists links_;
  std::vector<uint32_t> count_;
  std::vector<IndexLists::List> buckets_;  // index: access count
  uint32_t min_count_ = 1;
};

const config::ParamTable kParams = {{}};
const Registration<Replacement> kLfu("lfu", "Least frequently used (ties: least recently used)", kParams,
                                     [](const config::Params&) { return std::make_unique<Lfu>(); });

}  // namespace
}  // namespace edgesim::cache
