#pragma once
// An independent checker of DRAM command streams, for tests: it replays a command log
// against the JEDEC rules, written as a table of (earlier command, later command, scope,
// minimum distance) and checked by brute force against every earlier command in a
// window, with its own bank-state bookkeeping. It shares no code with the controller
// beyond the part's timing numbers, so a bookkeeping slip in one shows up in the other.
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "models/memory/dram_ctrl.hpp"

namespace edgesim::test {

using memory::DramCmd;
using memory::DramCommandRecord;

enum class Scope { SameBank, SameGroup, SameRank, OtherRank };

struct Rule {
  DramCmd before, after;
  Scope scope;
  int64_t gap;
  const char* name;
};

inline std::vector<Rule> jedec_rules(const memory::DramPart& p) {
  const auto& t = p.t;
  // A burst's data, first to last: an interleaved burst's two halves and the gap between.
  const int64_t span = p.org.burst_interleave ? t.BL / 2 * 3 : t.BL;
  using C = DramCmd;
  using S = Scope;
  std::vector<Rule> r = {
      {C::ACT, C::ACT, S::SameBank, t.RC, "tRC"},
      {C::ACT, C::ACT, S::SameGroup, t.RRD_L, "tRRD_L"},
      {C::ACT, C::ACT, S::SameRank, t.RRD_S, "tRRD_S"},
      {C::ACT, C::PRE, S::SameBank, t.RAS, "tRAS"},
      {C::ACT, C::RD, S::SameBank, t.RCD, "tRCD"},
      {C::ACT, C::WR, S::SameBank, t.RCD, "tRCD"},
      {C::PRE, C::ACT, S::SameBank, t.RP, "tRP"},
      {C::PRE, C::REF, S::SameRank, t.RP, "tRP before REF"},
      {C::PRE, C::REFPB, S::SameBank, t.RP, "tRP before REFpb"},
      {C::RD, C::RD, S::SameGroup, t.CCD_L, "tCCD_L"},
      {C::RD, C::RD, S::SameRank, t.CCD_S, "tCCD_S"},
      {C::RD, C::RD, S::OtherRank, span + t.RTRS, "tRTRS (RD-RD)"},
      {C::WR, C::WR, S::SameGroup, t.CCD_L, "tCCD_L"},
      {C::WR, C::WR, S::SameRank, t.CCD_S, "tCCD_S"},
      {C::WR, C::WR, S::OtherRank, span + t.RTRS, "tRTRS (WR-WR)"},
      {C::RD, C::WR, S::SameRank, t.CL + span + 2 - t.CWL, "RD-to-WR turnaround"},
      {C::RD, C::WR, S::OtherRank, t.CL + span + t.RTRS - t.CWL, "RD-to-WR other rank"},
      {C::WR, C::RD, S::SameGroup, t.CWL + span + t.WTR_L, "tWTR_L"},
      {C::WR, C::RD, S::SameRank, t.CWL + span + t.WTR_S, "tWTR_S"},
      {C::WR, C::RD, S::OtherRank, t.CWL + span + t.RTRS - t.CL, "WR-to-RD other rank"},
      {C::RD, C::PRE, S::SameBank, t.RTP, "tRTP"},
      {C::WR, C::PRE, S::SameBank, t.CWL + span + t.WR, "tWR"},
      {C::REF, C::ACT, S::SameRank, t.RFC, "tRFC"},
      {C::REF, C::REF, S::SameRank, t.RFC, "tRFC (REF-REF)"},
      {C::REFPB, C::ACT, S::SameBank, t.RFCpb, "tRFCpb"},
      {C::REFPB, C::ACT, S::SameRank, t.RRD_S, "tRRD after REFpb"},
  };
  return r;
}

/// A command as the messages name it: "cycle 120 ACT ch0 r1 bg2 b3".
inline std::string describe(const DramCommandRecord& c) {
  return "cycle " + std::to_string(c.cycle) + " " + memory::dram_cmd_name(c.cmd) + " ch" +
         std::to_string(c.channel) + " r" + std::to_string(c.rank) + " bg" + std::to_string(c.bank_group) +
         " b" + std::to_string(c.bank);
}

/// Returns the violations found (empty when the stream is legal), at most `max_report`.
inline std::vector<std::string> check_commands(const memory::DramPart& p, unsigned channels,
                                               const std::vector<DramCommandRecord>& log,
                                               size_t max_report = 10) {
  std::vector<std::string> errors;
  auto fail = [&](const DramCommandRecord& c, const std::string& what) {
    if (errors.size() < max_report) errors.push_back(describe(c) + ": " + what);
  };
  const auto rules = jedec_rules(p);
  int64_t window = 0;
  for (const auto& r : rules) window = std::max(window, r.gap);
  window = std::max(window, p.t.FAW);
  // Per channel: recent commands, open rows, last command cycle, data-bus busy intervals.
  struct ChannelState {
    std::deque<DramCommandRecord> recent;
    std::map<std::tuple<int, int, int>, int64_t> open;  // (rank, group, bank) -> row
    std::map<int, std::deque<int64_t>> acts;            // rank -> last ACT cycles
    int64_t last_cycle = -1;
    DramCmd last_cmd = DramCmd::ACT;
    std::deque<std::pair<int64_t, int64_t>> data;  // the data bus's recent busy intervals
  };
  std::vector<ChannelState> ch(channels);
  for (const auto& c : log) {
    ChannelState& s = ch[c.channel];
    // One command per cycle; a per-bank refresh of several banks is one command.
    const bool same_refpb =
        c.cmd == DramCmd::REFPB && s.last_cmd == DramCmd::REFPB && c.cycle == s.last_cycle;
    if (c.cycle <= s.last_cycle && !same_refpb) fail(c, "two commands in one cycle, or out of order");
    s.last_cycle = c.cycle;
    s.last_cmd = c.cmd;
    while (!s.recent.empty() && s.recent.front().cycle + window < c.cycle) s.recent.pop_front();
    for (const auto& e : s.recent) {
      const bool same_rank = e.rank == c.rank;
      const bool same_group = same_rank && e.bank_group == c.bank_group;
      const bool same_bank = same_group && e.bank == c.bank;
      for (const auto& r : rules) {
        if (r.before != e.cmd || r.after != c.cmd) continue;
        // REF covers every bank of its rank; REFpb its banks (logged one record per bank).
        bool applies = false;
        switch (r.scope) {
          case Scope::SameBank: applies = same_bank || (e.cmd == DramCmd::REF && same_rank); break;
          case Scope::SameGroup: applies = same_group; break;
          case Scope::SameRank: applies = same_rank; break;
          case Scope::OtherRank: applies = !same_rank; break;
        }
        if (applies && c.cycle - e.cycle < r.gap) {
          fail(c, std::string(r.name) + " needs " + std::to_string(r.gap) + " cycles after the " +
                      memory::dram_cmd_name(e.cmd) + " at " + std::to_string(e.cycle));
        }
      }
    }
    const auto key = std::make_tuple(int{c.rank}, int{c.bank_group}, int{c.bank});
    switch (c.cmd) {
      case DramCmd::ACT: {
        if (s.open.count(key)) fail(c, "ACT to an open bank");
        s.open[key] = c.row;
        auto& a = s.acts[c.rank];
        a.push_back(c.cycle);
        if (a.size() > 4) {
          if (c.cycle - a.front() < p.t.FAW) fail(c, "fifth ACT inside tFAW");
          a.pop_front();
        }
        break;
      }
      case DramCmd::PRE:
        if (!s.open.count(key)) fail(c, "PRE to a closed bank");
        s.open.erase(key);
        break;
      case DramCmd::RD:
      case DramCmd::WR: {
        auto it = s.open.find(key);
        if (it == s.open.end() || it->second != c.row)
          fail(c, "column command to a bank without its row open");
        // The burst's data: one interval, or an interleaved burst's two halves with a
        // half's gap between them. No interval may meet another on the data bus.
        const int64_t start = c.cycle + (c.cmd == DramCmd::RD ? p.t.CL : p.t.CWL);
        std::vector<std::pair<int64_t, int64_t>> mine;
        if (p.org.burst_interleave) {
          const int64_t h = p.t.BL / 2;
          mine = {{start, start + h}, {start + 2 * h, start + 3 * h}};
        } else {
          mine = {{start, start + p.t.BL}};
        }
        for (const auto& [b, e] : mine) {
          for (const auto& [ob, oe] : s.data) {
            if (b < oe && ob < e) fail(c, "data burst overlaps another one on the bus");
          }
        }
        for (const auto& i : mine) s.data.push_back(i);
        while (s.data.size() > 8) s.data.pop_front();
        break;
      }
      case DramCmd::REF:
        for (const auto& [k, row] : s.open) {
          if (std::get<0>(k) == c.rank) fail(c, "REF with a bank of the rank open");
        }
        break;
      case DramCmd::REFPB:
        if (s.open.count(key)) fail(c, "REFpb to an open bank");
        break;
    }
    s.recent.push_back(c);
  }
  return errors;
}

}  // namespace edgesim::test
