// The controller's scheduling decisions against a reference written independently of it:
// a plain model of FR-FCFS with a row-hit cap and open pages, for reads on one rank with
// refresh off, that looks at every bank at every step and keeps no cached choice, packed
// key or epoch. The constraint tests and the independent checker (dram_checker.hpp) show
// that each command is legal; this shows that each is the one the policy picks, at the
// first cycle it may issue. docs/dram.md (Controller) states the policy; its ninth speed
// pass measured a program of this shape against the controller.
#include <algorithm>
#include <catch2/catch.hpp>
#include <deque>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "models/memory/dram_ctrl.hpp"

using namespace edgesim::memory;

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max() / 4;

struct RefBurst {
  uint64_t row, seq, request;
};

struct RefBank {
  int64_t act = 0, pre = 0, rd = 0;  // the bank's own bounds
  int64_t open = -1;                 // open row
  unsigned hits = 0;                 // reads since the row opened
  std::vector<RefBurst> queue;       // oldest first
};

// Replays `requests` (arrivals not decreasing) and returns the commands and the request
// latencies, in the controller's log formats.
class Reference {
 public:
  Reference(const DramPart& part, const DramControllerSettings& s, const AddressMapper& mapper)
      : t_(part.t), o_(part.org), s_(s), mapper_(mapper), banks_(o_.banks()), group_(o_.bank_groups) {}

  void run(const std::vector<DramRequest>& requests, std::vector<DramCommandRecord>& log,
           std::vector<uint32_t>& latency) {
    size_t next = 0;
    uint64_t burst = 0;  // of the next request, already admitted
    bool blocked = false;
    for (;;) {
      // Admission: bursts of arrived requests, in order, while the read queue has room.
      while (!blocked && next < requests.size() && requests[next].arrival <= now_) {
        const DramRequest& r = requests[next];
        const uint64_t bb = o_.burst_bytes(), first = r.addr / bb * bb,
                       last = (r.addr + r.size - 1) / bb * bb;
        if (queued_ == s_.read_queue) {
          blocked = true;
          break;
        }
        if (burst == 0) pending_.push_back({r.arrival, r.arrival, (last - first) / bb + 1});
        const DramAddress a = mapper_.map(first + burst * bb);
        banks_[a.bank_group * o_.banks_per_group + a.bank].queue.push_back({a.row, seq_++, next});
        ++queued_;
        if (first + ++burst * bb > last) {
          ++next;
          burst = 0;
        }
      }
      if (next == requests.size() && done_ == requests.size()) return;
      const int64_t t_arr = !blocked && next < requests.size() ? requests[next].arrival : kNever;
      const Pick p = decide();
      if (std::min(t_arr, p.time) == kNever) FAIL("the reference has nothing to do with requests pending");
      if (t_arr <= p.time) {  // an arrival first: admit it, then decide again
        now_ = t_arr;
        continue;
      }
      issue(p, log, latency);
      blocked = blocked && p.cmd != DramCmd::RD;
    }
  }

 private:
  struct Pick {
    int64_t time = kNever;
    int klass = 3;  // 1: row hit, 2: activation or precharge
    uint64_t seq = 0;
    unsigned bank = 0;
    size_t index = 0;  // of the burst a read takes
    DramCmd cmd = DramCmd::ACT;
    bool before(const Pick& o) const {
      return std::tie(time, klass, seq, bank) < std::tie(o.time, o.klass, o.seq, o.bank);
    }
  };

  Pick decide() const {
    const int64_t floor = std::max(now_, next_cmd_);
    const int64_t faw = faw_.size() == 4 ? faw_.front() + t_.FAW : 0;
    Pick best;
    for (unsigned b = 0; b < banks_.size(); ++b) {
      const RefBank& k = banks_[b];
      const auto& g = group_[b / o_.banks_per_group];
      if (k.queue.empty()) continue;
      Pick p;
      p.bank = b;
      if (k.open >= 0) {
        size_t i = 0;
        while (i < k.queue.size() && k.queue[i].row != static_cast<uint64_t>(k.open)) ++i;
        if (i > 0 && k.hits >= s_.row_hit_cap) i = k.queue.size();  // capped: the oldest goes first
        if (i < k.queue.size()) {
          p = {std::max({k.rd, g.rd, rank_rd_, floor}), 1, k.queue[i].seq, b, i, DramCmd::RD};
        } else {
          p = {std::max(k.pre, floor), 2, k.queue[0].seq, b, 0, DramCmd::PRE};
        }
      } else {
        p = {std::max({k.act, g.act, rank_act_, faw, floor}), 2, k.queue[0].seq, b, 0, DramCmd::ACT};
      }
      if (p.before(best)) best = p;
    }
    return best;
  }

  void issue(const Pick& p, std::vector<DramCommandRecord>& log, std::vector<uint32_t>& latency) {
    const int64_t at = p.time;
    RefBank& k = banks_[p.bank];
    auto& g = group_[p.bank / o_.banks_per_group];
    now_ = at;
    next_cmd_ = at + 1;
    uint64_t row = 0;
    if (p.cmd == DramCmd::ACT) {
      row = k.queue[0].row;
      k.open = static_cast<int64_t>(row);
      k.hits = 0;
      k.act = std::max(k.act, at + t_.RC);
      k.pre = std::max(k.pre, at + t_.RAS);
      k.rd = std::max(k.rd, at + t_.RCD);
      g.act = std::max(g.act, at + t_.RRD_L);
      rank_act_ = std::max(rank_act_, at + t_.RRD_S);
      faw_.push_back(at);
      if (faw_.size() > 4) faw_.pop_front();
    } else if (p.cmd == DramCmd::PRE) {
      row = static_cast<uint64_t>(k.open);
      k.open = -1;
      k.act = std::max(k.act, at + t_.RP);
    } else {
      row = static_cast<uint64_t>(k.open);
      const RefBurst taken = k.queue[p.index];
      k.queue.erase(k.queue.begin() + static_cast<std::ptrdiff_t>(p.index));
      --queued_;
      ++k.hits;
      k.pre = std::max(k.pre, at + t_.RTP);
      g.rd = std::max(g.rd, at + t_.CCD_L);
      rank_rd_ = std::max(rank_rd_, at + t_.CCD_S);
      Pending& r = pending_[taken.request - pending_base_];
      r.done = std::max(r.done, at + t_.CL + t_.BL);
      if (--r.bursts == 0) {
        latency.push_back(static_cast<uint32_t>(r.done - r.arrival));
        ++done_;
      }
      while (!pending_.empty() && pending_.front().bursts == 0) {
        pending_.pop_front();
        ++pending_base_;
      }
    }
    log.push_back({at, p.cmd, 0, 0, static_cast<uint8_t>(p.bank / o_.banks_per_group),
                   static_cast<uint8_t>(p.bank % o_.banks_per_group), static_cast<uint32_t>(row)});
  }

  struct Group {
    int64_t act = 0, rd = 0;
  };
  struct Pending {
    int64_t arrival, done;
    uint64_t bursts;
  };
  const DramTiming t_;
  const DramOrganisation o_;
  const DramControllerSettings s_;
  const AddressMapper& mapper_;
  std::vector<RefBank> banks_;
  std::vector<Group> group_;
  int64_t rank_act_ = 0, rank_rd_ = 0;
  std::deque<int64_t> faw_;  // the last four activations
  int64_t now_ = 0, next_cmd_ = 0;
  uint64_t seq_ = 0, queued_ = 0, done_ = 0, pending_base_ = 0;
  std::deque<Pending> pending_;
};

enum class Stream { Saturated, Spaced, Hotspot };

std::vector<DramRequest> make_stream(Stream kind, uint64_t capacity, uint64_t row_bytes, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<DramRequest> out;
  int64_t at = 0;
  for (int i = 0; i < 6000; ++i) {
    DramRequest r;
    r.size = std::vector<uint32_t>{64, 64, 32, 128, 100}[rng() % 5];
    if (kind == Stream::Hotspot) {
      // A few rows in a few banks, so that row hits queue up and the cap binds.
      r.addr = (rng() % 8) * row_bytes * 37 + (rng() % 32) * 64;
    } else {
      r.addr = rng() % (capacity / 64) * 64 + (rng() % 2) * 8;
    }
    r.addr %= capacity - 256;
    if (kind == Stream::Spaced) at += static_cast<int64_t>(rng() % 40);
    r.arrival = at;
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("dram: every decision is the one FR-FCFS picks (reference scheduler)") {
  for (const std::string& name : builtin_dram_parts()) {
    const DramPart part = load_dram_part(name);
    if (part.org.ranks != 1) continue;
    double saturated_hits = 1;
    for (const Stream kind : {Stream::Saturated, Stream::Spaced, Stream::Hotspot}) {
      for (const unsigned queue : {32u, 5u}) {
        DramControllerSettings s;
        s.refresh = DramControllerSettings::Refresh::Off;
        s.read_queue = queue;
        s.write_queue = queue;
        s.write_high = std::min(queue, 24u);
        s.write_low = std::min(queue - 1, 8u);
        s.row_hit_cap = kind == Stream::Hotspot ? 3 : 16;
        DramSystem sys(part, s);
        std::vector<DramCommandRecord> got;
        std::vector<uint32_t> got_latency;
        sys.set_command_log(&got);
        sys.set_latency_log(&got_latency);
        const auto requests = make_stream(kind, sys.mapper().capacity(), part.org.row_bytes(),
                                          static_cast<unsigned>(kind) * 10 + queue);
        for (const DramRequest& r : requests) sys.submit(r);
        sys.drain();

        std::vector<DramCommandRecord> want;
        std::vector<uint32_t> want_latency;
        Reference(part, s, sys.mapper()).run(requests, want, want_latency);

        CAPTURE(name, static_cast<int>(kind), queue, got.size(), want.size());
        auto key = [](const DramCommandRecord& r) {
          return std::tie(r.cycle, r.cmd, r.bank_group, r.bank, r.row);
        };
        size_t i = 0;
        while (i < got.size() && i < want.size() && key(got[i]) == key(want[i])) ++i;
        if (i < got.size() || i < want.size()) {  // report the first command that differs
          const DramCommandRecord none{-1, DramCmd::ACT, 0, 0, 0, 0, 0};
          const auto& a = i < got.size() ? got[i] : none;
          const auto& b = i < want.size() ? want[i] : none;
          FAIL_CHECK("command " << i << ": controller " << dram_cmd_name(a.cmd) << " at " << a.cycle
                                << " in group " << int{a.bank_group} << " bank " << int{a.bank} << " row "
                                << a.row << "; reference " << dram_cmd_name(b.cmd) << " at " << b.cycle
                                << " in group " << int{b.bank_group} << " bank " << int{b.bank} << " row "
                                << b.row);
        }
        const auto diff =
            std::mismatch(got_latency.begin(), got_latency.end(), want_latency.begin(), want_latency.end());
        if (diff.first != got_latency.end() || diff.second != want_latency.end()) {
          FAIL_CHECK("latency of completed request " << (diff.first - got_latency.begin()) << " differs ("
                                                     << got_latency.size() << " and " << want_latency.size()
                                                     << " completed)");
        }
        // Every request completed, and the hot rows hit more often than random ones.
        const auto& c = sys.counters();
        CHECK(c.requests == requests.size());
        if (kind == Stream::Saturated) saturated_hits = c.row_hit_rate();
        if (kind == Stream::Hotspot) CHECK(c.row_hit_rate() > saturated_hits + 0.1);
      }
    }
  }
}
