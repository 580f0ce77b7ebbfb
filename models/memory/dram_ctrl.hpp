#pragma once
// Command-level DRAM: address mapping, a memory controller per channel (per-bank queues,
// FR-FCFS or FCFS, open or closed page, refresh, write draining with watermarks) and the
// JEDEC timing constraints between ACT, PRE, RD, WR, REF and REFpb. Pure C++, no SystemC.
//
// The controller is event-driven, not ticked: at each decision it computes, for every
// bank's candidate command, the first cycle all constraints allow, and jumps there. A
// cycle-by-cycle scheduler issues the same commands at the same cycles (nothing is ready
// earlier), at a cost per command instead of per cycle. docs/dram.md lists every
// constraint and its source.
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "models/memory/dram_part.hpp"

namespace edgesim::memory {

enum class DramCmd : uint8_t { ACT, PRE, RD, WR, REF, REFPB };
constexpr int kDramCmds = 6;
const char* dram_cmd_name(DramCmd c);

struct DramAddress {
  unsigned channel = 0, rank = 0, bank_group = 0, bank = 0;  // bank: within its group
  uint64_t row = 0, column = 0;                              // column: in bursts
};

/// Splits a byte address into DRAM coordinates. `scheme` lists the fields from the most to
/// the least significant bit, e.g. "row-bank-bankgroup-rank-column-channel"; the byte
/// offset inside a burst is always the lowest bits, and "column:N" places the N lowest
/// column bits apart from the rest ("row-bank-column-bankgroup-column:1-rank-channel"). With `bank_xor`, the
/// bank and bank group are XORed with low row bits (permutation-based interleaving, Zhang et al., MICRO
/// 2000), so rows that conflict in one bank spread over banks.
class AddressMapper {
 public:
  AddressMapper(const DramOrganisation& org, unsigned channels, const std::string& scheme, bool bank_xor,
                const std::string& path = "address_mapping");
  DramAddress map(uint64_t addr) const {
    DramAddress a;
    map(addr, a);
    return a;
  }
  /// The same into `out`, field by field: the controller maps a burst into its own
  /// record, since copying a returned address (stored field by field, loaded 16 bytes at
  /// a time) misses store forwarding.
  void map(uint64_t addr, DramAddress& out) const;
  /// Bytes the mapped fields cover; higher address bits wrap.
  uint64_t capacity() const { return uint64_t{1} << total_bits_; }
  /// The address bits that form the column: two addresses that differ only in these map
  /// to the same channel, rank, bank and row.
  uint64_t column_bits() const;
  static std::vector<std::string> field_names();

 private:
  // Each field's bits: at most two runs (a split column), as shift and mask, so that
  // map() is a fixed sequence of shifts and masks (it runs once per burst).
  struct Run {
    unsigned shift = 0;
    uint64_t mask = 0;  // of the run's width; 0 for an empty run
    unsigned into = 0;  // position of these bits within the field's value (split column)
  };
  Run runs_[6][2] = {};  // by field kind (field_names() order)
  unsigned total_bits_ = 0;
  unsigned bank_bits_ = 0, group_bits_ = 0;
  bool bank_xor_ = false;
};

/// The default scheme for a part: bank groups interleave every 64 bytes (so streams see
/// tCCD_S, and a 64-byte line stays in one row), then ranks and channels.
std::string default_address_mapping(const DramOrganisation& org);

struct DramControllerSettings {
  enum class Scheduler { FrFcfs, Fcfs };
  enum class PagePolicy { Open, Closed };
  enum class Refresh { AllBank, PerBank, Off };
  unsigned channels = 1;
  std::string address_mapping = "auto";  // "auto": default_address_mapping()
  bool bank_xor = false;
  Scheduler scheduler = Scheduler::FrFcfs;
  PagePolicy page_policy = PagePolicy::Open;
  Refresh refresh = Refresh::AllBank;
  unsigned read_queue = 32, write_queue = 32;  // bursts per channel
  unsigned write_high = 24, write_low = 8;     // drain writes from high down to low
  unsigned row_hit_cap = 16;                   // FR-FCFS: hits served past an older miss
  // Low-power states of an idle rank (docs/dram.md, "Power-down and self-refresh"): after
  // power_down_after idle cycles it enters power-down (active or precharge, as its banks
  // are), after self_refresh_after idle cycles self-refresh (its banks precharged first).
  enum class LowPower { Off, PowerDown, SelfRefresh };
  LowPower low_power = LowPower::Off;
  int64_t power_down_after = 0, self_refresh_after = 0;  // cycles
};

struct DramRequest {
  int64_t arrival = 0;  // cycle
  uint64_t addr = 0;
  uint32_t size = 0;  // bytes
  bool write = false;
};

struct DramCommandRecord {
  int64_t cycle;
  DramCmd cmd;
  uint8_t channel, rank, bank_group, bank;  // bank within group; REF: rank only
  uint32_t row;
};

struct DramCounters {
  uint64_t commands[kDramCmds] = {};
  uint64_t read_bursts = 0, write_bursts = 0;
  uint64_t requests = 0;
  double latency_sum = 0;  // cycles, over completed requests
  // Rank-cycles in each low-power state and the entries into them (power-down entries
  // count every entry, including the one that precedes self-refresh).
  int64_t power_down_cycles = 0, active_power_down_cycles = 0, self_refresh_cycles = 0;
  uint64_t power_down_entries = 0, self_refresh_entries = 0;
  uint64_t column_commands() const {
    return commands[static_cast<int>(DramCmd::RD)] + commands[static_cast<int>(DramCmd::WR)];
  }
  /// Column accesses that found their row open (no activation of their own).
  double row_hit_rate() const;
};

class DramSystem {
 public:
  DramSystem(const DramPart& part, const DramControllerSettings& settings);
  ~DramSystem();
  DramSystem(const DramSystem&) = delete;
  DramSystem& operator=(const DramSystem&) = delete;

  /// Queues a request at the front end; arrivals must not decrease.
  void submit(const DramRequest& r);
  /// Runs until every submitted request has completed; returns the cycle the last data
  /// moved (or now() when nothing was pending).
  int64_t drain();
  /// Lets time pass with no requests until `cycle`: refreshes that fall due are issued.
  void advance_to(int64_t cycle);
  /// Cycle of the last decision (the controller's clock).
  int64_t now() const { return now_; }
  /// Every rank counts as busy until `cycle`: traffic that a sampled run costs without
  /// simulating it (docs/dram.md, Sampling) keeps the ranks out of low-power states.
  void occupy_until(int64_t cycle);

  const DramCounters& counters() const { return counters_; }
  /// Energy of commands, background (over [0, until]) and I/O, in joules.
  struct Energy {
    double act = 0, pre = 0, rd = 0, wr = 0, ref = 0, background = 0, io = 0;
    double low_power = 0;  // the part of `background` spent in power-down and self-refresh
    double power_down_share = 0, self_refresh_share = 0;  // of the ranks' time
    double total() const { return act + pre + rd + wr + ref + background + io; }
  };
  Energy energy(int64_t until) const;
  const DramPart& part() const { return part_; }
  /// Whether the run loop takes the lean decision while no refresh is owed (one rank, no
  /// low-power states; docs/dram.md, Controller).
  bool lean() const { return lean_; }
  const AddressMapper& mapper() const { return mapper_; }

  /// Every issued command is appended to `log` (for checkers and tests); null to stop.
  void set_command_log(std::vector<DramCommandRecord>* log) { log_ = log; }
  /// Each completed request's latency in cycles is appended to `out`; null to stop.
  void set_latency_log(std::vector<uint32_t>* out) { latencies_ = out; }

 private:
  struct Channel;
  bool admit_one();
  void admit();
  void step_refresh_due(Channel& ch);
  template <bool kLean, bool kSplit>
  void decide(Channel& ch);
  void decide_general(Channel& ch);
  template <bool kLean, bool kSplit>
  void issue(Channel& ch);
  template <bool kFits>
  void refresh_group_times(Channel& ch, unsigned group);
  void update_next_due();
  void complete_burst(uint64_t request, int64_t done);
  void run(int64_t limit, bool until_drained);
  template <bool kOne, bool kLean, bool kSplit>
  void run_loop(int64_t limit, bool until_drained);
  bool quiet() const;  // no request anywhere, every bank closed, no refresh owed
  void skip_refreshes(int64_t until);
  // Low-power states: an idle rank's state at cycle `at`, and leaving it at `at` (the
  // residency is counted and the rank's commands wait for the exit).
  bool rank_idle(const Channel& ch, unsigned rank) const;
  void wake(Channel& ch, unsigned rank, int64_t at);
  void enter_self_refresh(Channel& ch, unsigned rank, int64_t at);
  void low_power_until(const Channel& ch, unsigned rank, int64_t until, int64_t& pd, int64_t& apd,
                       int64_t& sr) const;

  DramPart part_;
  unsigned refpb_n_ = 1;  // banks one per-bank refresh covers (part_.refpb_banks(), computed once)
  // Banks between those of one per-bank refresh (a power of two: banks and refpb_n_ are),
  // and the channel's banks as a mask; computed once, decide() needs them per command.
  unsigned pb_stride_ = 1;
  unsigned burst_shift_ = 0;  // log2 of the burst's bytes (a power of two: the part's validation)
  // One rank, no low-power states and every timing below 2^25 cycles: the run loop takes
  // the lean decision (decide<true>) while no refresh is owed.
  bool lean_ = false;
  uint64_t bank_mask_ = 0;
  DramControllerSettings s_;
  DramEnergy e_;
  AddressMapper mapper_;
  std::vector<Channel> channels_;
  // Requests not yet wholly admitted, the next to admit first. A deque: a trace submitted
  // at once grows it by blocks, not by copying it into ever larger arrays, and the blocks
  // admitted are released as it goes.
  std::deque<DramRequest> frontend_;
  uint64_t head_offset_ = 0;  // bursts of it already admitted
  uint64_t head_bursts_ = 0;  // its bursts (while head_offset_ > 0 or next_mapped_)
  uint64_t head_addr_ = 0;    // its next burst's address
  uint64_t column_bits_ = 0;  // mapper_.column_bits()
  struct InFlight {
    int64_t arrival, done;
    uint32_t remaining;  // bursts not yet completed
  };
  // Requests admitted and not all completed: inflight_[k] is request id inflight_base_ + k
  // (a vector, not a deque: its indexing costs a division). Its completed front is dropped
  // once it holds compact_at_ entries, and compact_at_ then doubles past what is left, so
  // that each entry moves a bounded number of times and a completion moves nothing.
  std::vector<InFlight> inflight_;
  uint64_t inflight_base_ = 0;
  size_t compact_at_ = 2048;
  uint64_t completed_ = 0;
  void compact_inflight();
  bool blocked_ = false;  // the next burst's queue is full
  DramAddress next_;      // the next burst's coordinates, while next_mapped_
  bool next_mapped_ = false;
  uint64_t admitted_requests() const { return inflight_base_ + inflight_.size(); }
  int64_t now_ = 0, last_data_ = 0;
  uint64_t seq_ = 0;
  int64_t due_at_ = 0;        // the first rank refresh to fall due (update_next_due())
  unsigned due_channel_ = 0;  // and its channel
  DramCounters counters_;
  std::vector<DramCommandRecord>* log_ = nullptr;
  std::vector<uint32_t>* latencies_ = nullptr;
};

}  // namespace edgesim::memory
