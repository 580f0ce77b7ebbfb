// Windowing ("LLM in a flash", Alizadeh et al., Apple, arXiv 2312.11514, Sec. 3.1): keep
// in DRAM exactly the chunks (neurons) used in the last K steps (tokens), load only those a
// step uses that are not there, and drop a chunk once K steps have passed without a use.
// Deciding by time, not by capacity, it keeps one partition per tensor (the paper's
// per-layer neuron matrices); the capacity only bounds it: if the window needs more, the
// chunk used longest ago goes first (then the rule is LRU at step granularity).
//
// Per chunk: the step of its last use. Per step: the chunks whose last use it was, in a
// deque of buckets from the oldest step still holding one; an entry whose chunk was used
// again (or evicted) since is stale and skipped. O(1) amortised per access.
#include <deque>

#include "models/cache/replacement.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::cache {
namespace {

class Window final : public Replacement {
 public:
  explicit Window(uint64_t tokens) : k_(tokens) {}
  bool by_step() const override { return true; }
  void reset(uint32_t n) override {
    last_.assign(n, kNone);
    buckets_.clear();
    first_ = step_ = 0;
  }
  void begin_step(uint64_t step) override { step_ = step; }
  void on_hit(uint32_t c, uint64_t) override { use(c); }
  void on_insert(uint32_t c, uint64_t) override { use(c); }
  void on_evict(uint32_t c) override { last_[c] = kNone; }
  uint32_t victim() override {
    for (; !buckets_.empty(); pop_front()) {
      Bucket& b = buckets_.front();
      for (; b.head < b.ids.size(); ++b.head) {
        const uint32_t c = b.ids[b.head];
        if (last_[c] == first_) return c;  // the resident chunk used longest ago
      }
    }
    throw SimError("internal: window asked for a victim with nothing resident");
  }
  void expired(std::vector<uint32_t>& out) override {
    // Kept: chunks last used in steps step_-K+1 .. step_. Buckets before that expire.
    while (!buckets_.empty() && first_ + k_ <= step_) {
      for (uint32_t c : buckets_.front().ids) {
        if (last_[c] != first_) continue;  // used again since, or already evicted
        last_[c] = kExpiring;              // listed once even if its bucket lists it twice
        out.push_back(c);
      }
      pop_front();
    }
  }

 private:
  static constexpr uint64_t kNone = ~uint64_t{0};          // not resident
  static constexpr uint64_t kExpiring = ~uint64_t{0} - 1;  // handed to the store to evict
  struct Bucket {
    std::vector<uint32_t> ids;
    size_t head = 0;  // entries before it are known stale
  };
  void use(uint32_t c) {
    if (last_[c] == step_) return;
    last_[c] = step_;
    if (buckets_.empty()) first_ = step_;
    while (first_ + buckets_.size() <= step_) buckets_.emplace_back();
    buckets_[step_ - first_].ids.push_back(c);
  }
  void pop_front() {
    buckets_.pop_front();
    ++first_;
  }
  uint64_t k_;
  std::vector<uint64_t> last_;  // per chunk: step of its last use, or kNone / kExpiring
  std::deque<Bucket> buckets_;  // buckets_[i]: chunks last used at step first_ + i
  uint64_t first_ = 0, step_ = 0;
};

// row_copy_time is a cost, not part of the rule: the engine hands it to the store
// (StoreSettings::row_copy_time), which charges it with the copies.
const config::ParamTable kParams = {{
    {"window_tokens", config::Quantity::Integer, 5,
     "Tokens whose chunks stay in DRAM (\"LLM in a flash\" uses 5 for OPT 6.7B, Sec. 4.1); at most the "
     "run's warmup_tokens + tokens",
     1, 1e6},
    {"row_copy_time", config::Quantity::Time, "0 s",
     "CPU time per row moved or inserted in the window's matrices, beyond the copy's DRAM traffic "
     "(bookkeeping, framework calls); 0: copies run at memory speed",
     0, 1},
}};
const Registration<Replacement> kWindow(
    "window", "Windowing: keep the chunks used in the last window_tokens tokens, per tensor (LLM in a flash)",
    kParams, [](const config::Params& p) {
      return std::make_unique<Window>(static_cast<uint64_t>(p.integer("window_tokens")));
    });

}  // namespace
}  // namespace edgesim::cache
