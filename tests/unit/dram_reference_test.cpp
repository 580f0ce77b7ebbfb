// The controller's scheduling decisions against a reference written independently of it:
// a plain model of FR-FCFS (with its row-hit cap) and FCFS, open and closed pages, write
// draining between watermarks, all-bank and per-bank refresh, power-down and self-refresh,
// on one or two ranks and one or two channels, that looks at every bank at every step and
// keeps no cached choice, packed key or epoch. The constraint tests and the independent
// checker (dram_checker.hpp) show that each command is legal; this shows that each is the
// one the policy picks, at the first cycle it may issue. docs/dram.md (Controller) states
// the policy; its ninth speed pass measured a program of this shape against the controller.
#include <algorithm>
#include <catch2/catch.hpp>
#include <deque>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "dram_checker.hpp"
#include "models/memory/dram_ctrl.hpp"

using namespace edgesim::memory;

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max() / 4;
constexpr uint64_t kAfterAll = std::numeric_limits<uint64_t>::max();  // a closed-page PRE's age
constexpr int kRead = 0, kWrite = 1;

struct RefBurst {
  uint64_t row, seq, request;
};

struct RefBank {
  int64_t act = 0, pre = 0, col[2] = {0, 0};  // the bank's own bounds (col: RD, WR)
  int64_t refpb = 0;                          // its next per-bank refresh
  int64_t open = -1;                          // open row
  unsigned hits = 0;                          // column commands since the row opened
  std::vector<RefBurst> queue[2];             // reads, writes; oldest first
};

// Bounds shared by the banks of a group, or of a rank.
struct Shared {
  int64_t act = 0, col[2] = {0, 0};
};

struct RefRank {
  Shared bound;
  std::deque<int64_t> faw;                // the last four activations
  int64_t refresh_due = kNever, ref = 0;  // the next refresh falls due; REF's own bound
  bool ref_owed = false;                  // an all-bank refresh
  unsigned pb_owed = 0, pb_next = 0;      // per-bank refreshes owed; the next one's lead bank
  // Low-power states: bursts queued for the rank; when its last command's effect ended,
  // and its last read's or write's; no command before wake_ready (the exit from power-down
  // or self-refresh); in self-refresh from sr_entry; precharging to enter it.
  unsigned queued = 0;
  int64_t idle_from = 0, served_at = 0, wake_ready = 0, sr_entry = kNever;
  bool sr_closing = false;
  std::deque<int64_t> bursts[2];  // the rank's last reads and writes (interleaved bursts)
};

// One channel's controller: its banks (rank by rank, group by group), groups and ranks.
struct Chan {
  std::vector<RefBank> banks;
  std::vector<Shared> groups;
  std::vector<RefRank> ranks;
  bool write_mode = false;
  uint64_t queued[2] = {0, 0};
  int64_t next_cmd = 0;  // one command per clock on the channel's command bus
};

// Replays `requests` (arrivals not decreasing) and returns the commands and the request
// latencies, in the controller's log formats.
class Reference {
 public:
  Reference(const DramPart& part, const DramControllerSettings& s, const AddressMapper& mapper)
      : t_(part.t),
        o_(part.org),
        s_(s),
        mapper_(mapper),
        chans_(s.channels),
        per_bank_(s.refresh == DramControllerSettings::Refresh::PerBank),
        pb_banks_(per_bank_ ? part.refpb_banks() : 1),
        interval_(per_bank_ ? t_.REFIpb : t_.REFI) {
    for (Chan& c : chans_) {
      c.banks.resize(o_.ranks * o_.banks());
      c.groups.resize(o_.ranks * o_.bank_groups);
      c.ranks.resize(o_.ranks);
      // Refreshes staggered over the interval, rank by rank.
      for (unsigned r = 0; r < o_.ranks && s.refresh != DramControllerSettings::Refresh::Off; ++r) {
        c.ranks[r].refresh_due = interval_ * (r + 1) / o_.ranks;
      }
    }
  }

  void run(const std::vector<DramRequest>& requests, std::vector<DramCommandRecord>& log,
           std::vector<uint32_t>& latency) {
    size_t next = 0;
    uint64_t burst = 0;  // of the next request, already admitted
    bool blocked = false;
    // Far more steps than commands and arrivals: a reference that gets stuck fails, not hangs.
    for (uint64_t steps = 0;; ++steps) {
      if (steps > 100 * requests.size() + 10000) FAIL("the reference does not finish");
      // Admission: bursts of arrived requests, in order, while their queue has room.
      while (!blocked && next < requests.size() && requests[next].arrival <= now_) {
        const DramRequest& r = requests[next];
        const int w = r.write ? kWrite : kRead;
        const uint64_t bb = o_.burst_bytes(), first = r.addr / bb * bb,
                       last = (r.addr + r.size - 1) / bb * bb;
        const DramAddress a = mapper_.map(first + burst * bb);
        Chan& c = chans_[a.channel];
        if (c.queued[w] == (r.write ? s_.write_queue : s_.read_queue)) {  // blocks every channel
          blocked = true;
          break;
        }
        if (burst == 0) pending_.push_back({r.arrival, r.arrival, (last - first) / bb + 1});
        const unsigned bank = (a.rank * o_.bank_groups + a.bank_group) * o_.banks_per_group + a.bank;
        if (c.ranks[a.rank].queued == 0) wake(c, a.rank, now_);  // work for an idle rank
        ++c.ranks[a.rank].queued;
        c.banks[bank].queue[w].push_back({a.row, seq_++, next});
        ++c.queued[w];
        if (first + ++burst * bb > last) {
          ++next;
          burst = 0;
        }
      }
      if (next == requests.size() && done_ == requests.size()) return;
      const int64_t t_arr = !blocked && next < requests.size() ? requests[next].arrival : kNever;
      int64_t t_due = kNever;
      for (const Chan& c : chans_) {
        for (const RefRank& r : c.ranks) t_due = std::min(t_due, r.refresh_due);
      }
      // An idle rank falls asleep once it has been idle long enough (self-refresh only).
      int64_t t_sleep = kNever;
      Chan* sleeper = nullptr;
      unsigned sleeper_rank = 0;
      for (Chan& c : chans_) {
        for (unsigned ri = 0;
             s_.low_power == DramControllerSettings::LowPower::SelfRefresh && ri < c.ranks.size(); ++ri) {
          const RefRank& r = c.ranks[ri];
          const int64_t at = std::max(r.served_at + s_.self_refresh_after, r.idle_from);
          if (r.sr_entry == kNever && idle(r) && at < t_sleep) {
            t_sleep = at;
            sleeper = &c;
            sleeper_rank = ri;
          }
        }
      }
      // Each channel's command; the earliest wins, then the lower class, then the older
      // request, then the lower channel.
      Pick p;
      unsigned ci = 0;
      for (unsigned i = 0; i < chans_.size(); ++i) {
        const Pick q = decide(chans_[i]);
        if (std::tie(q.time, q.klass, q.seq) < std::tie(p.time, p.klass, p.seq)) {
          p = q;
          ci = i;
        }
      }
      const int64_t t = std::min({t_arr, t_due, t_sleep, p.time});
      if (t == kNever) FAIL("the reference has nothing to do with requests pending");
      if (t_arr == t) {  // an arrival first: admit it, then decide again
        now_ = t_arr;
        continue;
      }
      if (t_due == t) {  // a refresh falls due before the command: owe it, decide again
        now_ = t_due;
        for (Chan& c : chans_) {
          for (unsigned ri = 0; ri < c.ranks.size(); ++ri) {
            RefRank& r = c.ranks[ri];
            if (r.refresh_due > now_) continue;
            r.refresh_due += interval_;
            if (idle(r) && r.sr_entry <= now_) continue;  // in self-refresh, the device refreshes itself
            if (idle(r)) wake(c, ri, now_);
            if (per_bank_) {
              ++r.pb_owed;
            } else {
              r.ref_owed = true;
            }
          }
        }
        continue;
      }
      if (t_sleep == t) {
        now_ = t_sleep;
        RefRank& r = sleeper->ranks[sleeper_rank];
        if (open_banks(*sleeper, sleeper_rank) == 0) {
          r.sr_entry = t_sleep;
        } else {  // close its banks first, as for a refresh; self-refresh from the last PRE's tRP
          wake(*sleeper, sleeper_rank, t_sleep);
          r.sr_closing = true;
        }
        continue;
      }
      issue(chans_[ci], ci, p, log, latency);
      blocked = blocked && p.cmd != DramCmd::RD && p.cmd != DramCmd::WR;
    }
  }

 private:
  struct Pick {
    int64_t time = kNever;
    int klass = 3;  // 0: refresh, 1: row hit (FR-FCFS), 2: any other command
    uint64_t seq = 0;
    unsigned bank = 0;
    size_t index = 0;  // of the burst a column command takes
    DramCmd cmd = DramCmd::ACT;
    bool before(const Pick& o) const {
      return std::tie(time, klass, seq, bank) < std::tie(o.time, o.klass, o.seq, o.bank);
    }
  };

  // A rank is idle, and may power down, while nothing is queued for it and it owes no
  // refresh.
  static bool idle(const RefRank& r) {
    return r.queued == 0 && !r.ref_owed && r.pb_owed == 0 && !r.sr_closing;
  }
  unsigned open_banks(const Chan& c, unsigned rank) const {
    unsigned n = 0;
    for (unsigned b = 0; b < o_.banks(); ++b) n += c.banks[rank * o_.banks() + b].open >= 0 ? 1 : 0;
    return n;
  }
  // The idle rank gets work at `at`: it leaves power-down (tXP, after at least tCKE in it)
  // or self-refresh (tXS, after at least tCKESR), if it had entered either.
  void wake(Chan& c, unsigned rank, int64_t at) const {
    RefRank& r = c.ranks[rank];
    if (s_.low_power == DramControllerSettings::LowPower::Off || !idle(r)) return;
    const int64_t pd_from = r.idle_from + s_.power_down_after;
    const bool in_pd = std::min(at, r.sr_entry) > pd_from, in_sr = at > r.sr_entry;
    if (!in_pd && !in_sr) return;
    const int64_t ready =
        in_sr ? std::max(at, r.sr_entry + t_.CKESR) + t_.XS : std::max(at, pd_from + t_.CKE) + t_.XP;
    if (in_sr) r.sr_entry = kNever;
    r.wake_ready = std::max(r.wake_ready, ready);
    r.idle_from = at;
  }

  // Writes drain from write_high down to write_low, or while no read waits.
  void update_mode(Chan& c) const {
    if (!c.write_mode) {
      c.write_mode = c.queued[kWrite] >= s_.write_high || (c.queued[kRead] == 0 && c.queued[kWrite] > 0);
    } else {
      c.write_mode = !(c.queued[kWrite] == 0 || (c.queued[kWrite] <= s_.write_low && c.queued[kRead] > 0));
    }
  }

  Pick decide(Chan& c) const {
    update_mode(c);
    const int m = c.write_mode ? kWrite : kRead;
    const int64_t floor = std::max(now_, c.next_cmd);
    Pick best;
    const bool fr_fcfs = s_.scheduler == DramControllerSettings::Scheduler::FrFcfs;
    for (unsigned b = 0; b < c.banks.size(); ++b) {
      const RefBank& k = c.banks[b];
      const auto& q = k.queue[m];
      const Shared& g = c.groups[b / o_.banks_per_group];
      const RefRank& r = c.ranks[b / o_.banks()];
      const int64_t f = std::max(floor, r.wake_ready);
      Pick p;
      if (held(c, b)) {  // a refresh owed here: close the bank, serve nothing
        if (k.open < 0) continue;
        p = {std::max(k.pre, f), 0, 0, b, 0, DramCmd::PRE};
      } else if (k.open >= 0) {
        const auto open = static_cast<uint64_t>(k.open);
        // FR-FCFS: the oldest burst for the open row, unless capped; FCFS: the oldest burst
        // only, if it is for the open row.
        size_t i = 0;
        if (fr_fcfs) {
          while (i < q.size() && q[i].row != open) ++i;
          if (i > 0 && k.hits >= s_.row_hit_cap) i = q.size();  // capped: the oldest goes first
        } else if (!q.empty() && q[0].row != open) {
          i = q.size();
        }
        auto other_wants = [&] {
          return std::any_of(k.queue[1 - m].begin(), k.queue[1 - m].end(),
                             [&](const RefBurst& x) { return x.row == open; });
        };
        if (i < q.size()) {
          const DramCmd cmd = m == kWrite ? DramCmd::WR : DramCmd::RD;
          p = {first_free(r, m, std::max({k.col[m], g.col[m], r.bound.col[m], f})), fr_fcfs ? 1 : 2, q[i].seq, b,
               i, cmd};
        } else if (!q.empty()) {
          p = {std::max(k.pre, f), 2, q[0].seq, b, 0, DramCmd::PRE};
        } else if (s_.page_policy == DramControllerSettings::PagePolicy::Closed && !other_wants()) {
          // Closed page: nothing queued wants the row; after every request.
          p = {std::max(k.pre, f), 2, kAfterAll, b, 0, DramCmd::PRE};
        } else {
          continue;
        }
      } else if (q.empty()) {
        continue;
      } else {
        const int64_t faw = r.faw.size() == 4 ? r.faw.front() + t_.FAW : 0;
        p = {std::max({k.act, g.act, r.bound.act, faw, f}), 2, q[0].seq, b, 0, DramCmd::ACT};
      }
      if (p.before(best)) best = p;
    }
    // A rank's refresh, once its banks are closed; a bank's command wins a tie.
    for (unsigned ri = 0; ri < c.ranks.size(); ++ri) {
      const RefRank& r = c.ranks[ri];
      Pick p;
      p.klass = 0;
      p.bank = ri * o_.banks();
      bool closed = true;
      if (r.ref_owed) {
        closed = open_banks(c, ri) == 0;
        p.cmd = DramCmd::REF;
        p.time = std::max({r.ref, floor, r.wake_ready});
      } else if (r.pb_owed > 0) {
        p.cmd = DramCmd::REFPB;
        p.time = std::max({r.bound.act, floor, r.wake_ready});
        for (unsigned k = 0; k < pb_banks_; ++k) {
          const RefBank& pb = c.banks[pb_bank(c, ri, k)];
          closed = closed && pb.open < 0;
          p.time = std::max(p.time, pb.refpb);
        }
      } else {
        continue;
      }
      if (closed && std::tie(p.time, p.klass, p.seq) < std::tie(best.time, best.klass, best.seq)) best = p;
    }
    return best;
  }

  // Interleaved bursts: the first cycle from x at which a burst's two halves (a half's gap
  // between them) meet none of the rank's recent bursts of its kind on the data bus. The
  // other kind and other ranks are kept off by their turnarounds.
  int64_t first_free(const RefRank& r, int kind, int64_t x) const {
    if (!o_.burst_interleave) return x;
    const int64_t h = t_.BL / 2;
    for (int64_t c = x;; ++c) {
      bool free = true;
      for (const int64_t u : r.bursts[kind]) {
        for (const int64_t a : {u, u + 2 * h}) {
          for (const int64_t b : {c, c + 2 * h}) free = free && (b + h <= a || a + h <= b);
        }
      }
      if (free) return c;
    }
  }

  // The banks a per-bank refresh covers are pb_banks_ banks a stride apart, its lead bank
  // below the stride: bank `in_rank` of the rank is among them when in_rank % stride is
  // the lead.
  unsigned pb_stride() const { return o_.banks() / pb_banks_; }
  unsigned pb_bank(const Chan& c, unsigned rank, unsigned k) const {
    return rank * o_.banks() + c.ranks[rank].pb_next + k * pb_stride();
  }
  bool held(const Chan& c, unsigned bank) const {
    const RefRank& r = c.ranks[bank / o_.banks()];
    return r.ref_owed || r.sr_closing || (r.pb_owed > 0 && bank % o_.banks() % pb_stride() == r.pb_next);
  }

  void issue(Chan& c, unsigned channel, const Pick& p, std::vector<DramCommandRecord>& log,
             std::vector<uint32_t>& latency) {
    const int64_t at = p.time;
    RefBank& k = c.banks[p.bank];
    Shared& g = c.groups[p.bank / o_.banks_per_group];
    const unsigned rank = p.bank / o_.banks();
    RefRank& r = c.ranks[rank];
    // The command's record, for bank `b` of the channel (a REF's: the rank's first bank).
    auto record = [&](unsigned b, uint64_t row) {
      const unsigned in_rank = b % o_.banks();
      log.push_back({at, p.cmd, static_cast<uint8_t>(channel), static_cast<uint8_t>(rank),
                     static_cast<uint8_t>(in_rank / o_.banks_per_group),
                     static_cast<uint8_t>(in_rank % o_.banks_per_group), static_cast<uint32_t>(row)});
    };
    now_ = at;
    c.next_cmd = at + 1;
    uint64_t row = static_cast<uint64_t>(k.open);
    if (p.cmd == DramCmd::REF) {
      r.ref_owed = false;
      r.bound.act = std::max(r.bound.act, at + t_.RFC);
      r.ref = at + t_.RFC;
      r.idle_from = std::max(r.idle_from, at + t_.RFC);
      record(p.bank, 0);
      return;
    }
    if (p.cmd == DramCmd::REFPB) {
      for (unsigned i = 0; i < pb_banks_; ++i) {
        const unsigned b = pb_bank(c, rank, i);
        c.banks[b].act = std::max(c.banks[b].act, at + t_.RFCpb);
        c.banks[b].refpb = at + t_.RFCpb;
        record(b, 0);
      }
      r.bound.act = std::max(r.bound.act, at + t_.RRD_S);  // tRRD after REFpb (JESD209-4)
      r.idle_from = std::max(r.idle_from, at + t_.RFCpb);
      --r.pb_owed;
      r.pb_next = (r.pb_next + 1) % pb_stride();
      return;
    }
    if (p.cmd == DramCmd::ACT) {
      row = k.queue[c.write_mode ? kWrite : kRead][0].row;
      k.open = static_cast<int64_t>(row);
      k.hits = 0;
      k.act = std::max(k.act, at + t_.RC);
      k.pre = std::max(k.pre, at + t_.RAS);
      for (int64_t& col : k.col) col = std::max(col, at + t_.RCD);
      g.act = std::max(g.act, at + t_.RRD_L);
      r.bound.act = std::max(r.bound.act, at + t_.RRD_S);
      r.faw.push_back(at);
      if (r.faw.size() > 4) r.faw.pop_front();
      r.idle_from = std::max(r.idle_from, at + t_.RCD);
    } else if (p.cmd == DramCmd::PRE) {
      k.open = -1;
      k.act = std::max(k.act, at + t_.RP);
      k.refpb = std::max(k.refpb, at + t_.RP);
      r.ref = std::max(r.ref, at + t_.RP);
      r.idle_from = std::max(r.idle_from, at + t_.RP);
      if (r.sr_closing && open_banks(c, rank) == 0) {  // the last bank closed: self-refresh from tRP on
        r.sr_closing = false;
        r.sr_entry = at + t_.RP;
      }
    } else {
      const bool wr = p.cmd == DramCmd::WR;
      const int w = wr ? kWrite : kRead, o = 1 - w;
      auto& q = k.queue[w];
      const RefBurst taken = q[p.index];
      q.erase(q.begin() + static_cast<std::ptrdiff_t>(p.index));
      --c.queued[w];
      --r.queued;
      ++k.hits;
      // Same kind: tCCD; the other kind: the turnaround (write-to-read from the end of the
      // write's data, read-to-write as tRTW); other ranks: the data bus's rank switch.
      // An interleaved burst's data runs over its two halves and the gap between them.
      const int64_t span = o_.burst_interleave ? t_.BL / 2 * 3 : t_.BL;
      const int64_t data_end = at + (wr ? t_.CWL : t_.CL) + span;
      r.bursts[w].push_back(at);
      if (r.bursts[w].size() > 3) r.bursts[w].pop_front();
      r.idle_from = std::max(r.idle_from, wr ? data_end + t_.WR : data_end);
      r.served_at = r.idle_from;
      k.pre = std::max(k.pre, wr ? data_end + t_.WR : at + t_.RTP);
      g.col[w] = std::max(g.col[w], at + t_.CCD_L);
      r.bound.col[w] = std::max(r.bound.col[w], at + t_.CCD_S);
      const int64_t rtw = t_.CL + span + 2 - t_.CWL;
      g.col[o] = std::max(g.col[o], wr ? data_end + t_.WTR_L : at + rtw);
      r.bound.col[o] = std::max(r.bound.col[o], wr ? data_end + t_.WTR_S : at + rtw);
      for (unsigned other = 0; other < c.ranks.size(); ++other) {
        if (other == rank) continue;
        Shared& b = c.ranks[other].bound;
        b.col[w] = std::max(b.col[w], at + span + t_.RTRS);
        b.col[o] = std::max(b.col[o], data_end + t_.RTRS - (wr ? t_.CL : t_.CWL));
      }
      Pending& req = pending_[taken.request - pending_base_];
      req.done = std::max(req.done, data_end);
      if (--req.bursts == 0) {
        latency.push_back(static_cast<uint32_t>(req.done - req.arrival));
        ++done_;
      }
      while (!pending_.empty() && pending_.front().bursts == 0) {
        pending_.pop_front();
        ++pending_base_;
      }
    }
    record(p.bank, row);
  }

  struct Pending {
    int64_t arrival, done;
    uint64_t bursts;
  };
  const DramTiming t_;
  const DramOrganisation o_;
  const DramControllerSettings s_;
  const AddressMapper& mapper_;
  std::vector<Chan> chans_;
  const bool per_bank_;
  const unsigned pb_banks_;
  const int64_t interval_;
  int64_t now_ = 0;
  uint64_t seq_ = 0, done_ = 0, pending_base_ = 0;
  std::deque<Pending> pending_;
};

enum class Stream { Saturated, Spaced, Hotspot };

std::vector<DramRequest> make_stream(Stream kind, double writes, uint64_t capacity, uint64_t row_bytes,
                                     unsigned seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution write(writes);
  std::vector<DramRequest> out;
  int64_t at = 0;
  for (int i = 0; i < 2500; ++i) {
    DramRequest r;
    r.size = std::vector<uint32_t>{64, 64, 32, 128, 100}[rng() % 5];
    if (kind == Stream::Hotspot) {
      // A few rows in a few banks, so that row hits queue up and the cap binds.
      r.addr = (rng() % 8) * row_bytes * 37 + (rng() % 32) * 64;
    } else {
      r.addr = rng() % (capacity / 64) * 64 + (rng() % 2) * 8;
    }
    r.addr %= capacity - 256;
    r.write = write(rng);
    // Spaced: a request every 20 cycles on average, and a pause of 3 000 every 150, in
    // which ranks may power down and enter self-refresh.
    if (kind == Stream::Spaced) at += static_cast<int64_t>(rng() % 40) + (i % 150 == 149 ? 3000 : 0);
    r.arrival = at;
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("dram: every decision is the one the scheduling policy picks (reference scheduler)") {
  for (const std::string& name : builtin_dram_parts()) {
    // One rank on one channel, two ranks, two channels.
    for (const auto& [ranks, channels] : {std::pair{1u, 1u}, {2u, 1u}, {1u, 2u}}) {
      DramPart part = load_dram_part(name);
      part.org.ranks = ranks;
      double read_hits = 1;
      // Reads alone and with a third of the requests writes; FR-FCFS with open pages,
      // with closed pages, and FCFS; each part's own refresh (per-bank where it has it),
      // all-bank refresh and none; power-down and self-refresh.
      using Refresh = DramControllerSettings::Refresh;
      const Refresh own = part.per_bank_refresh() ? Refresh::PerBank : Refresh::AllBank;
      struct Setup {
        double writes;
        int policy;  // 0 FR-FCFS open page, 1 FR-FCFS closed page, 2 FCFS open page
        Refresh refresh;
        DramControllerSettings::LowPower low_power = DramControllerSettings::LowPower::Off;
      };
      using LowPower = DramControllerSettings::LowPower;
      const std::vector<Setup> setups = {{0.0, 0, own},
                                         {0.3, 0, own},
                                         {0.3, 1, own},
                                         {0.3, 2, own},
                                         {0.3, 0, Refresh::Off},
                                         {0.3, 0, own, LowPower::PowerDown},
                                         {0.3, 0, own, LowPower::SelfRefresh},
                                         {0.3, 1, own, LowPower::SelfRefresh},
                                         {0.3, 0, Refresh::AllBank}};
      for (const Stream kind : {Stream::Saturated, Stream::Spaced, Stream::Hotspot}) {
        for (const unsigned queue : {32u, 5u}) {
          for (const Setup& setup : setups) {
            const auto [writes, policy, refresh, low_power] = setup;
            if (&setup == &setups.back() && own == Refresh::AllBank) continue;  // the same as the second
            // The shallow queue with the main setup only; low-power states where ranks idle.
            if (queue == 5 && &setup != &setups[1]) continue;
            if (low_power != LowPower::Off && kind != Stream::Spaced) continue;
            DramControllerSettings s;
            if (policy == 1) s.page_policy = DramControllerSettings::PagePolicy::Closed;
            if (policy == 2) s.scheduler = DramControllerSettings::Scheduler::Fcfs;
            s.refresh = refresh;
            s.channels = channels;
            s.low_power = low_power;
            s.power_down_after = 10;
            s.self_refresh_after = 400;
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
            const auto requests =
                make_stream(kind, writes, sys.mapper().capacity(), part.org.row_bytes(),
                            static_cast<unsigned>(kind) * 10 + queue + ranks * 100 + channels * 1000);
            for (const DramRequest& r : requests) sys.submit(r);
            const int64_t end = sys.drain();

            std::vector<DramCommandRecord> want;
            std::vector<uint32_t> want_latency;
            Reference(part, s, sys.mapper()).run(requests, want, want_latency);

            CAPTURE(name, ranks, channels, static_cast<int>(kind), queue, writes, policy,
                    static_cast<int>(refresh), static_cast<int>(low_power), got.size(), want.size());
            auto key = [](const DramCommandRecord& r) {
              return std::tie(r.cycle, r.cmd, r.channel, r.rank, r.bank_group, r.bank, r.row);
            };
            size_t i = 0;
            while (i < got.size() && i < want.size() && key(got[i]) == key(want[i])) ++i;
            if (i < got.size() || i < want.size()) {  // report the first command that differs
              const DramCommandRecord none{-1, DramCmd::ACT, 0, 0, 0, 0, 0};
              const auto& a = i < got.size() ? got[i] : none;
              const auto& b = i < want.size() ? want[i] : none;
              FAIL_CHECK("command " << i << ": controller " << edgesim::test::describe(a) << " row " << a.row
                                    << "; reference " << edgesim::test::describe(b) << " row " << b.row);
            }
            const auto diff = std::mismatch(got_latency.begin(), got_latency.end(), want_latency.begin(),
                                            want_latency.end());
            if (diff.first != got_latency.end() || diff.second != want_latency.end()) {
              FAIL_CHECK("latency of completed request " << (diff.first - got_latency.begin()) << " differs ("
                                                         << got_latency.size() << " and "
                                                         << want_latency.size() << " completed)");
            }
            // Every request completed, and each stream exercised what it was made for: ranks
            // powered down and slept, hot rows hit more often than random ones, writes and
            // refreshes were issued.
            const auto& c = sys.counters();
            CHECK(c.requests == requests.size());
            if (low_power != LowPower::Off) CHECK(c.power_down_entries > 0);
            if (low_power == LowPower::SelfRefresh) CHECK(c.self_refresh_entries > 0);
            if (kind == Stream::Saturated && writes == 0) read_hits = c.row_hit_rate();
            if (kind == Stream::Hotspot && writes == 0) CHECK(c.row_hit_rate() > read_hits + 0.1);
            CHECK((c.commands[static_cast<int>(DramCmd::WR)] > 0) == (writes > 0));
            const auto refreshes =
                c.commands[static_cast<int>(DramCmd::REF)] + c.commands[static_cast<int>(DramCmd::REFPB)];
            // (A run shorter than the first refresh interval has none.)
            const int64_t first_due = refresh == Refresh::PerBank ? part.t.REFIpb : part.t.REFI;
            if (refresh == Refresh::Off) CHECK(refreshes == 0);
            if (refresh != Refresh::Off && end > first_due) CHECK(refreshes > 0);
          }
        }
      }
    }
  }
}
