#include "models/memory/dram_ctrl.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <limits>

#include "sim/core/config/params.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::memory {

namespace {
constexpr int64_t kInf = std::numeric_limits<int64_t>::max() / 4;
constexpr int64_t kLongAgo = -(int64_t{1} << 40);
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kSeqLast = std::numeric_limits<uint64_t>::max() - 1;  // a closed-page PRE's age
constexpr int kACT = static_cast<int>(DramCmd::ACT), kRD = static_cast<int>(DramCmd::RD),
              kWR = static_cast<int>(DramCmd::WR);

unsigned log2u(uint64_t v) {
  unsigned n = 0;
  while ((uint64_t{1} << n) < v) ++n;
  return n;
}

enum FieldKind { kRow, kRank, kBankGroup, kBank, kColumn, kChannel, kFieldKinds };
const char* const kFieldNames[kFieldKinds] = {"row", "rank", "bankgroup", "bank", "column", "channel"};
}  // namespace

const char* dram_cmd_name(DramCmd c) {
  static const char* const kNames[kDramCmds] = {"ACT", "PRE", "RD", "WR", "REF", "REFpb"};
  return kNames[static_cast<int>(c)];
}

double DramCounters::row_hit_rate() const {
  const uint64_t col = column_commands();
  if (col == 0) return 0;
  const uint64_t acts = commands[static_cast<int>(DramCmd::ACT)];
  return acts >= col ? 0.0 : 1.0 - static_cast<double>(acts) / static_cast<double>(col);
}

// ---------------------------------------------------------------------------------------
// Address mapping

std::vector<std::string> AddressMapper::field_names() {
  return {kFieldNames, kFieldNames + kFieldKinds};
}

AddressMapper::AddressMapper(const DramOrganisation& org, unsigned channels, const std::string& scheme_in,
                             bool bank_xor, const std::string& path)
    : bank_xor_(bank_xor) {
  const std::string scheme = scheme_in == "auto" ? default_address_mapping(org) : scheme_in;
  if (channels == 0 || (channels & (channels - 1)) != 0) {
    config::fail_at(path, "the number of channels must be a power of two to map addresses");
  }
  const unsigned widths[kFieldKinds] = {log2u(org.rows),
                                        log2u(org.ranks),
                                        log2u(org.bank_groups),
                                        log2u(org.banks_per_group),
                                        log2u(org.columns / org.burst_length),
                                        log2u(channels)};
  bank_bits_ = widths[kBank];
  group_bits_ = widths[kBankGroup];
  // Fields most significant first; "column:N" places the N lowest column bits apart
  // from the rest of the column (e.g. below the bank group, so that a 64-byte line of
  // two 32-byte bursts stays in one row).
  struct Part {
    int kind;
    bool low;  // the "column:N" part
  };
  std::vector<Part> order;
  unsigned seen[kFieldKinds] = {};
  int low_column = -1;
  size_t start = 0;
  while (start <= scheme.size()) {
    const size_t dash = scheme.find('-', start);
    const std::string token =
        scheme.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    std::string name = token;
    const size_t colon = token.find(':');
    if (colon != std::string::npos) {
      const std::string n = token.substr(colon + 1);
      name.resize(colon);
      if (name != "column" || n.empty() || n.size() > 2 ||
          n.find_first_not_of("0123456789") != std::string::npos || std::stoul(n) > widths[kColumn]) {
        config::fail_at(path, "'" + token + "' in '" + scheme +
                                  "': only column takes ':N', N low column bits (0 to " +
                                  std::to_string(widths[kColumn]) + ")");
      }
      if (low_column >= 0) config::fail_at(path, "'" + scheme + "' splits the column twice");
      low_column = static_cast<int>(std::stoul(n));
    }
    const auto* it = std::find(kFieldNames, kFieldNames + kFieldKinds, name);
    if (it == kFieldNames + kFieldKinds) {
      std::string msg = "'" + name + "' in '" + scheme +
                        "' is not an address field (fields: row, rank, bankgroup, bank, column, channel, "
                        "most significant first, joined by '-'; column:N splits off N low column bits)";
      const std::string s = config::suggest(name, field_names());
      if (!s.empty()) msg += "; did you mean '" + s + "'?";
      config::fail_at(path, msg);
    }
    const int kind = static_cast<int>(it - kFieldNames);
    const bool low = colon != std::string::npos;
    if (!low && seen[kind]++ > 0) config::fail_at(path, "'" + name + "' appears twice in '" + scheme + "'");
    order.push_back({kind, low});
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  for (int k = 0; k < kFieldKinds; ++k) {
    if (seen[k] == 0) {
      config::fail_at(path,
                      "'" + scheme + "' must name each of row, rank, bankgroup, bank, column and channel");
    }
  }
  const unsigned low = low_column < 0 ? 0 : static_cast<unsigned>(low_column);
  unsigned shift = log2u(org.burst_bytes());
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    unsigned bits = widths[it->kind], into = 0;
    if (it->kind == kColumn) {
      bits = it->low ? low : widths[kColumn] - low;
      into = it->low ? 0 : low;
    }
    runs_[it->kind][it->low ? 1 : 0] = {shift, (uint64_t{1} << bits) - 1, into};
    shift += bits;
  }
  total_bits_ = shift;
}

uint64_t AddressMapper::column_bits() const {
  const Run& hi = runs_[kColumn][0];
  const Run& lo = runs_[kColumn][1];
  return (hi.mask << hi.shift) | (lo.mask << lo.shift);
}

std::string default_address_mapping(const DramOrganisation& org) {
  const unsigned low = org.burst_bytes() >= 64 ? 0 : log2u(64 / org.burst_bytes());
  return low == 0 ? "row-bank-column-bankgroup-rank-channel"
                  : "row-bank-column-bankgroup-column:" + std::to_string(low) + "-rank-channel";
}

void AddressMapper::map(uint64_t addr, DramAddress& a) const {
  uint64_t v[kFieldKinds];
  for (int k = 0; k < kFieldKinds; ++k) {
    const Run& hi = runs_[k][0];
    v[k] = ((addr >> hi.shift) & hi.mask) << hi.into;
  }
  const Run& lo = runs_[kColumn][1];  // only the column splits
  v[kColumn] |= (addr >> lo.shift) & lo.mask;
  if (bank_xor_) {
    v[kBank] ^= v[kRow] & ((uint64_t{1} << bank_bits_) - 1);
    v[kBankGroup] ^= (v[kRow] >> bank_bits_) & ((uint64_t{1} << group_bits_) - 1);
  }
  a.channel = static_cast<unsigned>(v[kChannel]);
  a.rank = static_cast<unsigned>(v[kRank]);
  a.bank_group = static_cast<unsigned>(v[kBankGroup]);
  a.bank = static_cast<unsigned>(v[kBank]);
  a.row = v[kRow];
  a.column = v[kColumn];
}

// ---------------------------------------------------------------------------------------
// Controller state

namespace {

struct Burst {
  uint64_t seq;
  uint64_t request;
  uint32_t row;
  bool write;
};

// What a bank would do next; depends only on the bank's own state, the mode and its
// rank's refresh, so it is cached until one of those changes. Its cycle is not cached:
// constraints shared with other banks move it.
struct Choice {
  int64_t base = 0;  // the bank's own constraint on the command
  uint64_t seq = 0;
  uint32_t burst = kNone;
  uint32_t row = 0;
  DramCmd cmd = DramCmd::ACT;
  uint8_t klass = 2;  // 0 refresh, 1 row hit (FR-FCFS), 2 other
  bool any = false;
};

// A bank's queue of burst indices, oldest first. The burst a column command takes is
// nearly always the oldest (the one its row was opened for): taking it moves the front
// on, without moving the others or testing how many there are (which is data, and
// mispredicted). The space before the front is reclaimed when the vector is full.
class BurstQueue {
 public:
  bool empty() const { return off_ == v_.size(); }
  size_t size() const { return v_.size() - off_; }
  uint32_t front() const { return v_[off_]; }
  const uint32_t* begin() const { return v_.data() + off_; }
  const uint32_t* end() const { return v_.data() + v_.size(); }
  void push_back(uint32_t burst) {
    if (v_.size() == v_.capacity() && off_ > 0) {
      v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(off_));
      off_ = 0;
    }
    v_.push_back(burst);
  }
  void erase(uint32_t burst) {
    uint32_t* d = v_.data() + off_;
    if (d[0] == burst) {
      ++off_;
      return;
    }
    const size_t n = size();
    size_t i = 1;
    while (d[i] != burst) ++i;
    for (; i + 1 < n; ++i) d[i] = d[i + 1];
    v_.pop_back();
  }

 private:
  std::vector<uint32_t> v_;
  size_t off_ = 0;
};

struct Bank {
  int64_t next_act = 0, next_pre = 0, next_rd = 0, next_wr = 0, next_refpb = 0;
  int64_t open_row = -1;
  BurstQueue q[2];    // reads, writes
  unsigned hits = 0;  // column commands since the row opened
  uint16_t rank = 0, group = 0, in_rank = 0;
};

// Constraints shared by the banks of a group or a rank, indexed by command (ACT, PRE,
// RD, WR; PRE has none).
struct Group {
  int64_t next[4] = {0, 0, 0, 0};
};

struct Rank {
  int64_t next[4] = {0, 0, 0, 0};
  int64_t next_ref = 0;
  int64_t faw[4] = {kLongAgo, kLongAgo, kLongAgo, kLongAgo};
  unsigned faw_i = 0;  // slot of the oldest of the last four ACTs
  unsigned open = 0;
  int64_t active_since = 0, active_cycles = 0;
  bool ref_pending = false;  // an all-bank refresh is owed
  unsigned pb_owed = 0;      // per-bank refreshes owed
  unsigned pb_next = 0;      // lead bank (in rank) of the next per-bank refresh
  int64_t refresh_due = kInf;
  // Interleaved bursts (DramTiming::half): per direction (read, write), the cycle at which
  // a burst may fill the gap of the rank's last burst, while that burst went alone; and
  // when the rank's last burst's span ends (docs/dram.md, Timing constraints).
  int64_t fill[2] = {kLongAgo, kLongAgo};
  int64_t span_end = kLongAgo;
  // Low-power states: the rank is idle once nothing is queued for it and no refresh is
  // owed; idle_from is when its last command's effect ended. Its state while idle follows
  // from idle_from and the settings, so nothing is stepped while it sleeps.
  unsigned queued = 0;      // bursts queued for the rank
  int64_t idle_from = 0;    // the rank's last command is over
  int64_t served_at = 0;    // its last read or write is over (self-refresh counts idle time from it)
  int64_t wake_ready = 0;   // no command before this cycle (power-down or self-refresh exit)
  int64_t sr_entry = kInf;  // in self-refresh from this cycle on (while idle)
  bool sr_closing = false;  // precharging its banks to enter self-refresh
};

// Packed keys (DramSystem::Channel::packed).
constexpr unsigned kAgeBits = 22, kKeyShift = kAgeBits + 6;
constexpr uint64_t kAgeLast = (uint64_t{1} << kAgeBits) - 1;  // after every request (closed-page PRE)
// The class is the key's two lowest bits (key = cycle * 4 + class): a bank's class, age
// and index are the bits below its cycle.
constexpr uint64_t kLowMask = (uint64_t{1} << (kKeyShift + 2)) - 1;
constexpr int64_t kKeyLimit = int64_t{1} << (64 - kKeyShift);
constexpr unsigned kIdleSlot = 8 * 4;  // after the slots of 8 ranks (decide()'s bounds)

struct Candidate {
  int64_t time = kInf;
  int klass = 3;  // 0 refresh, 1 row hit (FR-FCFS), 2 other
  uint64_t seq = 0;
  DramCmd cmd = DramCmd::ACT;
  uint32_t bank = 0;  // flat bank index in the channel; REF/REFpb: rank's first bank
  uint32_t burst = kNone;
  uint32_t row = 0;
  bool better_than(const Candidate& o) const {
    if (time != o.time) return time < o.time;
    if (klass != o.klass) return klass < o.klass;
    return seq < o.seq;
  }
};

}  // namespace

struct DramSystem::Channel {
  std::vector<Bank> banks;
  std::vector<Choice> choices;  // per bank
  std::vector<Group> groups;
  std::vector<Rank> ranks;
  std::vector<Burst> pool;
  std::vector<uint32_t> free;
  unsigned queued[2] = {0, 0};
  bool write_mode = false;
  int64_t next_cmd = 0;
  Candidate cand;
  bool valid = false;
  uint8_t index = 0;
  uint64_t dirty = ~uint64_t{0};  // banks whose choice must be recomputed
  uint64_t active = 0;            // banks with something to do
  unsigned active_count = 0;      // and how many
  // Per bank, for the scan: the slot of its rank's bound (rank and command: decide()'s
  // bound).
  std::vector<uint8_t> slot_of;
  // The same order as one unsigned integer per bank, so that the choice is one maximum
  // and one minimum per bank: from the top, the group key counted from `epoch` (36 bits:
  // the cycle, 0 for one before the epoch since the floor is later anyway, then the
  // class), the request's age counted from `seq_base` (22 bits), the bank's index (6
  // bits). The least packed key is the least key, then the oldest request, then the
  // lowest bank: the order of Candidate. A bank whose key or age does not fit is in
  // `unpacked`, and a decision with one of them active takes the unpacked scan. low_of:
  // a bank's class, age and index, as packed.
  std::vector<uint64_t> packed, low_of;
  uint64_t unpacked = 0;
  int64_t epoch = 0;
  uint64_t seq_base = 0;
  // The keys are packed again from this cycle or this request number on.
  int64_t repack_cycle = 0;
  uint64_t repack_seq = 0;
  // Below this request number every queued request's age fits its bits (all are at or
  // after seq_base): the lean decision packs ages without a test (decide<true>).
  uint64_t lean_seq = 0;
  bool owed = false;  // a rank owes a refresh (decide() looks at the ranks' refreshes)
  void update_owed() {
    owed = false;
    for (const Rank& r : ranks) owed = owed || r.ref_pending || r.pb_owed > 0;
  }
  // gk: the choice's cycle as far as the bank and its group allow, times 4 plus its class
  // (refreshed when either changes).
  // kFits: the key is known to fit (decide<true>'s bounds), and is not tested.
  template <bool kFits = false>
  void set_group_key(uint32_t bank, int64_t gk) {
    const int64_t rel = std::max<int64_t>(gk - epoch * 4, 0);
    packed[bank] = (static_cast<uint64_t>(rel) << kKeyShift) | low_of[bank];
    if (!kFits && rel >= kKeyLimit) unpacked |= uint64_t{1} << bank;
  }
  void touch(uint32_t bank) {
    dirty |= uint64_t{1} << bank;
    valid = false;
  }
  void touch_all() {
    dirty = ~uint64_t{0};
    valid = false;
  }
};

DramSystem::DramSystem(const DramPart& part, const DramControllerSettings& settings)
    : part_(part),
      refpb_n_(part.refpb_banks()),
      pb_stride_(part.org.banks() / refpb_n_),
      burst_shift_(log2u(part.org.burst_bytes())),
      bank_mask_(part.org.ranks * part.org.banks() >= 64
                     ? ~uint64_t{0}
                     : (uint64_t{1} << (part.org.ranks * part.org.banks())) - 1),
      s_(settings),
      e_(part.energy()),
      mapper_(part.org, settings.channels, settings.address_mapping, settings.bank_xor),
      column_bits_(mapper_.column_bits()) {
  if (s_.refresh == DramControllerSettings::Refresh::PerBank && !part_.per_bank_refresh()) {
    throw InputError("config error: DRAM part '" + part_.name +
                     "' has no per-bank refresh (tRFCpb, tREFIpb)");
  }
  const uint64_t bb = part_.org.burst_bytes();
  if (bb == 0 || (bb & (bb - 1)) != 0) {
    throw InputError("config error: DRAM part '" + part_.name + "' has bursts of " + std::to_string(bb) +
                     " bytes; the address mapping needs a power of two");
  }
  if (s_.read_queue == 0 || s_.write_queue == 0 || s_.write_low >= s_.write_high ||
      s_.write_high > s_.write_queue) {
    throw InputError("config error: DRAM controller queues need 0 <= write_low < write_high <= write_queue");
  }
  const auto& o = part_.org;
  const DramTiming& t = part_.t;
  // Each timing below 2^25 cycles: a sum of them, the furthest any command moves a time
  // ahead of its cycle, stays below 2^30 (decide<true>).
  bool short_timings = true;
  for (const int64_t v : {t.CL, t.CWL, t.BL, t.RCD, t.RP, t.RAS, t.RC, t.CCD_S, t.CCD_L, t.RRD_S, t.RRD_L,
                          t.FAW, t.WTR_S, t.WTR_L, t.RTP, t.WR, t.RFC, t.RFCpb, t.RTRS}) {
    short_timings = short_timings && v < (int64_t{1} << 25);
  }
  lean_ = o.ranks == 1 && s_.low_power == DramControllerSettings::LowPower::Off && short_timings;
  channels_.resize(s_.channels);
  for (unsigned c = 0; c < s_.channels; ++c) {
    Channel& ch = channels_[c];
    ch.index = static_cast<uint8_t>(c);
    ch.ranks.resize(o.ranks);
    ch.groups.resize(o.ranks * o.bank_groups);
    ch.banks.resize(o.ranks * o.banks());
    ch.choices.resize(ch.banks.size());
    ch.slot_of.assign(ch.banks.size(), kIdleSlot);
    ch.packed.assign(ch.banks.size(), 0);
    ch.low_of.assign(ch.banks.size(), 0);
    for (unsigned i = 0; i < ch.banks.size(); ++i) {
      ch.banks[i].rank = static_cast<uint16_t>(i / o.banks());
      ch.banks[i].in_rank = static_cast<uint16_t>(i % o.banks());
      ch.banks[i].group = static_cast<uint16_t>(i / o.banks_per_group);  // flat group index
    }
    for (unsigned r = 0; r < o.ranks; ++r) {
      // Ranks refresh staggered over the interval, as controllers do.
      const int64_t interval =
          s_.refresh == DramControllerSettings::Refresh::PerBank ? part_.t.REFIpb : part_.t.REFI;
      ch.ranks[r].refresh_due =
          s_.refresh == DramControllerSettings::Refresh::Off ? kInf : interval * (r + 1) / o.ranks;
    }
    ch.repack_cycle = int64_t{1} << 32;
    ch.repack_seq = kAgeLast / 2 + 1;
    ch.lean_seq = ch.repack_seq;
  }
  update_next_due();
}

// The first refresh to fall due, of every channel's ranks (the first channel of the
// least, as run() takes them).
void DramSystem::update_next_due() {
  due_at_ = kInf;
  due_channel_ = 0;
  for (unsigned c = 0; c < channels_.size(); ++c) {
    for (const Rank& r : channels_[c].ranks) {
      if (r.refresh_due < due_at_) {
        due_at_ = r.refresh_due;
        due_channel_ = c;
      }
    }
  }
}

DramSystem::~DramSystem() = default;

void DramSystem::submit(const DramRequest& r) {
  if (r.size == 0) throw InputError("DRAM request of 0 bytes");
  // The bursts are counted from the request's last byte: one past the top of the 64-bit
  // address space would wrap to a count of about 2^59 bursts.
  if (r.addr > std::numeric_limits<uint64_t>::max() - (r.size - 1)) {
    char at[24];
    std::snprintf(at, sizeof at, "0x%llx", static_cast<unsigned long long>(r.addr));
    throw InputError("DRAM request of " + std::to_string(r.size) + " bytes at address " + at +
                     " runs past the end of the 64-bit address space");
  }
  if (!frontend_.empty() && r.arrival < frontend_.back().arrival) {
    throw InputError("DRAM request arrivals must not decrease");
  }
  frontend_.push_back(r);
}

// Inlined into admit(): the call's cost was paid twice per burst (the call that admits
// it, and the one that maps the next and finds its queue full).
[[gnu::always_inline]] inline bool DramSystem::admit_one() {
  const DramRequest& r = frontend_.front();
  const uint64_t bb = part_.org.burst_bytes();
  // A burst whose queue is full is tried again after each column command: it is mapped
  // once, and its request's bursts are counted once.
  if (!next_mapped_) {
    if (head_offset_ == 0) {
      const uint64_t first = r.addr & ~(bb - 1), last = (r.addr + r.size - 1) & ~(bb - 1);
      // A shift: the burst is a power of two bytes (checked when constructed).
      head_bursts_ = ((last - first) >> burst_shift_) + 1;
      head_addr_ = first;
      mapper_.map(head_addr_, next_);
    } else if (((head_addr_ - bb) ^ head_addr_) & ~column_bits_) {
      mapper_.map(head_addr_, next_);
    }  // else only the column differs from the burst before, which the queues do not keep
    next_mapped_ = true;
  }
  const uint64_t n = head_bursts_;
  const DramAddress& a = next_;
  Channel& ch = channels_[a.channel];
  const int w = r.write ? 1 : 0;
  if (ch.queued[w] >= (r.write ? s_.write_queue : s_.read_queue)) return false;
  next_mapped_ = false;
  if (head_offset_ == 0) {
    if (inflight_.size() >= compact_at_) compact_inflight();
    inflight_.push_back({r.arrival, r.arrival, static_cast<uint32_t>(n)});
  }
  const uint64_t req = admitted_requests() - 1;
  uint32_t idx;
  if (ch.free.empty()) {
    idx = static_cast<uint32_t>(ch.pool.size());
    ch.pool.push_back({});
  } else {
    idx = ch.free.back();
    ch.free.pop_back();
  }
  ch.pool[idx] = {seq_++, req, static_cast<uint32_t>(a.row), r.write};
  const auto& o = part_.org;
  const unsigned bank = (a.rank * o.bank_groups + a.bank_group) * o.banks_per_group + a.bank;
  if (ch.ranks[a.rank].queued == 0) wake(ch, a.rank, now_);
  ++ch.ranks[a.rank].queued;
  Bank& b = ch.banks[bank];
  auto& q = b.q[w];
  q.push_back(idx);
  ++ch.queued[w];
  // With open pages, a burst joining the back of a queue changes its bank's choice only
  // when the queue is the current mode's and was empty, or the burst hits the open row
  // (FR-FCFS): an ACT or a PRE stays for the front request, and a row hit found earlier
  // stays the first. A switch of mode chooses every bank again anyway (the decision is
  // made again in any case: the queue counts decide the mode).
  // Without a branch: which case holds is data.
  ch.valid = false;
  const bool changes = (s_.page_policy != DramControllerSettings::PagePolicy::Open) |
                       ((w == (ch.write_mode ? 1 : 0)) & (q.size() == 1)) |
                       (b.open_row == static_cast<int64_t>(a.row));
  ch.dirty |= uint64_t{changes} << bank;
  head_addr_ += bb;
  if (++head_offset_ == n) {
    frontend_.pop_front();
    head_offset_ = 0;
  }
  return true;
}

// Admits the requests that have arrived, burst by burst, until a queue is full. Inlined
// into the run loop, which calls it after every column command (1 to 2 % on random traces,
// best of five whole bench runs, in both orders).
[[gnu::always_inline]] inline void DramSystem::admit() {
  while (!blocked_ && !frontend_.empty() && frontend_.front().arrival <= now_) {
    if (!admit_one()) blocked_ = true;
  }
}

[[gnu::always_inline]] inline void DramSystem::complete_burst(uint64_t request, int64_t done) {
  InFlight& f = inflight_[request - inflight_base_];
  f.done = std::max(f.done, done);
  last_data_ = std::max(last_data_, done);
  if (--f.remaining > 0) return;
  const int64_t latency = f.done - f.arrival;
  ++counters_.requests;
  counters_.latency_sum += static_cast<double>(latency);
  if (latencies_) latencies_->push_back(static_cast<uint32_t>(std::min<int64_t>(latency, kNone)));
  ++completed_;
}

void DramSystem::compact_inflight() {
  size_t done = 0;
  while (done < inflight_.size() && inflight_[done].remaining == 0) ++done;
  inflight_.erase(inflight_.begin(), inflight_.begin() + static_cast<std::ptrdiff_t>(done));
  inflight_base_ += done;
  compact_at_ = std::max<size_t>(2048, 2 * inflight_.size());
}

namespace {

using Settings = DramControllerSettings;

// The command a bank would issue next in the current mode (cmd, burst, priority).
[[gnu::always_inline]] inline Choice choose(const Settings& s, const std::vector<Burst>& pool, const Bank& b,
                                            int mode, bool refresh_blocked) {
  Choice c;
  if (refresh_blocked) {
    if (b.open_row < 0) return c;  // the refresh itself is a rank-level candidate
    c.any = true;
    c.cmd = DramCmd::PRE;
    c.klass = 0;
    return c;
  }
  const auto& q = b.q[mode];
  if (b.open_row >= 0) {
    const uint32_t open = static_cast<uint32_t>(b.open_row);
    uint32_t hit = kNone;
    if (s.scheduler == Settings::Scheduler::FrFcfs) {
      for (uint32_t i : q) {
        if (pool[i].row == open) {
          hit = i;
          break;
        }
      }
      // Cap: past row_hit_cap hits, an older request for another row gets its turn.
      if (hit != kNone && hit != q.front() && b.hits >= s.row_hit_cap) hit = kNone;
    } else if (!q.empty() && pool[q.front()].row == open) {
      hit = q.front();
    }
    if (hit != kNone) {
      c.any = true;
      c.cmd = mode ? DramCmd::WR : DramCmd::RD;
      c.burst = hit;
      c.seq = pool[hit].seq;
      c.klass = s.scheduler == Settings::Scheduler::FrFcfs ? 1 : 2;
    } else if (!q.empty()) {
      c.any = true;
      c.cmd = DramCmd::PRE;  // row conflict
      c.seq = pool[q.front()].seq;
    } else if (s.page_policy == Settings::PagePolicy::Closed) {
      for (uint32_t i : b.q[1 - mode]) {
        if (pool[i].row == open) return c;  // keep it open for them
      }
      c.any = true;
      c.cmd = DramCmd::PRE;
      c.seq = kSeqLast;  // after every request; below "none"
    }
    return c;
  }
  if (q.empty()) return c;
  c.any = true;
  c.cmd = DramCmd::ACT;
  c.burst = q.front();
  c.row = pool[q.front()].row;
  c.seq = pool[q.front()].seq;
  return c;
}

[[gnu::always_inline]] inline Choice bank_choice(const Settings& s, const std::vector<Burst>& pool,
                                                 const Bank& b, int mode, bool refresh_blocked) {
  Choice c = choose(s, pool, b, mode, refresh_blocked);
  switch (c.cmd) {
    case DramCmd::ACT: c.base = b.next_act; break;
    case DramCmd::PRE: c.base = b.next_pre; break;
    case DramCmd::RD: c.base = b.next_rd; break;
    default: c.base = b.next_wr; break;
  }
  return c;
}

}  // namespace

void DramSystem::step_refresh_due(Channel& ch) {
  const bool per_bank = s_.refresh == Settings::Refresh::PerBank;
  bool owed = false;
  for (unsigned ri = 0; ri < ch.ranks.size(); ++ri) {
    Rank& r = ch.ranks[ri];
    if (r.refresh_due > now_) continue;
    if (rank_idle(ch, ri) && r.sr_entry <= now_) {
      r.refresh_due += per_bank ? part_.t.REFIpb : part_.t.REFI;  // the device refreshes itself
      continue;
    }
    owed = true;
    if (rank_idle(ch, ri)) wake(ch, ri, now_);  // leave power-down to refresh
    if (per_bank) {
      ++r.pb_owed;
      r.refresh_due += part_.t.REFIpb;
    } else {
      r.ref_pending = true;
      r.refresh_due += part_.t.REFI;
    }
  }
  if (owed) {
    ch.touch_all();  // a refresh in self-refresh changes nothing the banks see
    ch.owed = true;
  }
  update_next_due();
}

bool DramSystem::rank_idle(const Channel& ch, unsigned rank) const {
  const Rank& r = ch.ranks[rank];
  return r.queued == 0 && !r.ref_pending && r.pb_owed == 0 && !r.sr_closing;
}

// Rank-cycles of the idle rank's current stretch, up to `until`, spent in power-down
// (pd, of which apd with a bank open) and self-refresh (sr). The stretch is not closed.
void DramSystem::low_power_until(const Channel& ch, unsigned rank, int64_t until, int64_t& pd, int64_t& apd,
                                 int64_t& sr) const {
  pd = apd = sr = 0;
  if (s_.low_power == Settings::LowPower::Off || !rank_idle(ch, rank)) return;
  const Rank& r = ch.ranks[rank];
  const int64_t pd_from = r.idle_from + s_.power_down_after;
  const int64_t pd_to = std::min(until, r.sr_entry);
  pd = std::max<int64_t>(0, pd_to - pd_from);
  apd = r.open > 0 ? pd : 0;
  sr = std::max<int64_t>(0, until - r.sr_entry);
}

// The rank has work at `at`: it leaves power-down or self-refresh, and its commands wait
// for the exit (tXP after at least tCKE in power-down, tXS after at least tCKESR in
// self-refresh).
void DramSystem::wake(Channel& ch, unsigned rank, int64_t at) {
  if (s_.low_power == Settings::LowPower::Off) return;
  Rank& r = ch.ranks[rank];
  int64_t pd = 0, apd = 0, sr = 0;
  low_power_until(ch, rank, at, pd, apd, sr);
  if (pd == 0 && sr == 0) return;
  const DramTiming& t = part_.t;
  counters_.power_down_cycles += pd;
  counters_.active_power_down_cycles += apd;
  counters_.power_down_entries += pd > 0 ? 1 : 0;
  int64_t ready;
  if (sr > 0) {
    counters_.self_refresh_cycles += sr;
    ++counters_.self_refresh_entries;
    ready = std::max(at, r.sr_entry + t.CKESR) + t.XS;
    r.sr_entry = kInf;
  } else {
    ready = std::max(at, r.idle_from + s_.power_down_after + t.CKE) + t.XP;
  }
  r.wake_ready = std::max(r.wake_ready, ready);
  r.idle_from = at;  // counted up to here
  ch.touch_all();
}

// The idle rank falls due for self-refresh at `at`: it enters at once when its banks are
// closed, or precharges them first (the PREs issue as for a refresh, after the
// power-down exit).
void DramSystem::enter_self_refresh(Channel& ch, unsigned rank, int64_t at) {
  Rank& r = ch.ranks[rank];
  if (r.open == 0) {
    r.sr_entry = at;
    return;
  }
  wake(ch, rank, at);
  r.sr_closing = true;
  ch.touch_all();
}

// Every bank of the group, without a test of which ones the command constrains (the
// others come out unchanged): which bank waits for what is data, and a branch on it
// mispredicts more than the update costs.
template <bool kFits>
[[gnu::always_inline]] inline void DramSystem::refresh_group_times(Channel& ch, unsigned group) {
  const unsigned bpg = part_.org.banks_per_group;
  const Group& g = ch.groups[group];
  for (unsigned j = group * bpg; j < (group + 1) * bpg; ++j) {
    const Choice& k = ch.choices[j];
    ch.set_group_key<kFits>(j, std::max(k.base, g.next[static_cast<int>(k.cmd)]) * 4 + k.klass);
  }
}

// Issues the decided command (ch.cand). Inlined into the run loop, its one caller (0 to
// 4 % on every case of the whole bench). The general decide() inlined there was 9 to 18 %
// slower; the lean one is inlined (docs/dram-speed.md, tenth pass).
template <bool kLean, bool kSplit>
[[gnu::always_inline]] inline void DramSystem::issue(Channel& ch) {
  const DramTiming& t = part_.t;
  const auto& o = part_.org;
  const Candidate& c = ch.cand;  // not a copy: a wide load of what decide() stored field by field stalls
  const int64_t at = c.time;
  now_ = at;
  ch.next_cmd = at + 1;  // one command per clock on the command bus
  ch.touch(c.bank);
  ++counters_.commands[static_cast<int>(c.cmd)];
  Bank& b = ch.banks[c.bank];
  Rank& r = ch.ranks[b.rank];
  Group& g = ch.groups[b.group];
  // When this command's effect on the rank ends (the rank may power down after it).
  auto busy_until = [&](int64_t end) {
    if constexpr (!kLean) r.idle_from = std::max(r.idle_from, end);
  };
  auto log = [&](unsigned bank, uint32_t row) {
    if (!log_) return;
    const Bank& lb = ch.banks[bank];
    log_->push_back({at, c.cmd, ch.index, static_cast<uint8_t>(lb.rank),
                     static_cast<uint8_t>(lb.in_rank / o.banks_per_group),
                     static_cast<uint8_t>(lb.in_rank % o.banks_per_group), row});
  };
  // Tests, not a switch: the jump through a table on the command, which is data,
  // mispredicted more than these branches (1 to 2 % of the time on random traces).
  if (c.cmd == DramCmd::RD || c.cmd == DramCmd::WR) {
    const bool wr = c.cmd == DramCmd::WR;
    log(c.bank, static_cast<uint32_t>(b.open_row));
    const uint64_t request = ch.pool[c.burst].request;
    b.q[wr ? 1 : 0].erase(c.burst);
    ch.free.push_back(c.burst);
    --ch.queued[wr ? 1 : 0];
    --r.queued;
    ++b.hits;
    // kSplit: interleaved bursts, known when compiled for the lean decision.
    const bool split = kLean ? kSplit : t.half != 0;
    const int64_t span = kLean && !kSplit ? t.BL : t.span();
    if constexpr (!kLean) {
      busy_until(at + (wr ? t.CWL + span + t.WR : t.CL + span));
      r.served_at = r.idle_from;
    }
    if (split) {
      // A burst in a lone burst's gap makes a pair, which nothing fills; a burst alone
      // leaves its gap to the next one of its direction.
      const int d = wr ? 1 : 0;
      r.fill[d] = at == r.fill[d] ? kLongAgo : at + t.half;
      r.fill[1 - d] = kLongAgo;
      r.span_end = at + span;
    }
    if (wr) {
      ++counters_.write_bursts;
      const int64_t data_end = at + t.CWL + span;
      b.next_pre = std::max(b.next_pre, data_end + t.WR);
      g.next[kWR] = std::max(g.next[kWR], at + t.CCD_L);
      r.next[kWR] = std::max(r.next[kWR], at + t.CCD_S);
      g.next[kRD] = std::max(g.next[kRD], data_end + t.WTR_L);
      r.next[kRD] = std::max(r.next[kRD], data_end + t.WTR_S);
      for (auto& other : ch.ranks) {
        if (kLean || &other == &r) continue;  // the lean decision has one rank
        other.next[kWR] = std::max(other.next[kWR], at + span + t.RTRS);
        other.next[kRD] = std::max(other.next[kRD], data_end + t.RTRS - t.CL);
      }
      complete_burst(request, data_end);
    } else {
      ++counters_.read_bursts;
      const int64_t data_end = at + t.CL + span;
      b.next_pre = std::max(b.next_pre, at + t.RTP);
      g.next[kRD] = std::max(g.next[kRD], at + t.CCD_L);
      r.next[kRD] = std::max(r.next[kRD], at + t.CCD_S);
      g.next[kWR] = std::max(g.next[kWR], at + t.RTW());
      r.next[kWR] = std::max(r.next[kWR], at + t.RTW());
      for (auto& other : ch.ranks) {
        if (kLean || &other == &r) continue;
        other.next[kRD] = std::max(other.next[kRD], at + span + t.RTRS);
        other.next[kWR] = std::max(other.next[kWR], data_end + t.RTRS - t.CWL);
      }
      complete_burst(request, data_end);
    }
    blocked_ = false;  // a queue slot is free
  } else if (c.cmd == DramCmd::ACT) {
    log(c.bank, c.row);
    b.open_row = c.row;
    b.hits = 0;
    b.next_act = std::max(b.next_act, at + t.RC);
    b.next_pre = std::max(b.next_pre, at + t.RAS);
    b.next_rd = std::max(b.next_rd, at + t.RCD);
    b.next_wr = std::max(b.next_wr, at + t.RCD);
    g.next[kACT] = std::max(g.next[kACT], at + t.RRD_L);
    r.next[kACT] = std::max(r.next[kACT], at + t.RRD_S);
    r.faw[r.faw_i] = at;
    r.faw_i = (r.faw_i + 1) % 4;
    if (r.open++ == 0) r.active_since = at;
    busy_until(at + t.RCD);
  } else if (c.cmd == DramCmd::PRE) {
    log(c.bank, static_cast<uint32_t>(b.open_row));
    b.open_row = -1;
    b.next_act = std::max(b.next_act, at + t.RP);
    b.next_refpb = std::max(b.next_refpb, at + t.RP);
    r.next_ref = std::max(r.next_ref, at + t.RP);
    if (--r.open == 0) r.active_cycles += at - r.active_since;
    busy_until(at + t.RP);
    if (r.sr_closing && r.open == 0) {  // the last bank closed: self-refresh from tRP on
      r.sr_closing = false;
      r.sr_entry = at + t.RP;
      ch.touch_all();
    }
  } else if (c.cmd == DramCmd::REF) {
    log(c.bank, 0);
    r.ref_pending = false;
    ch.update_owed();
    busy_until(at + t.RFC);
    r.next[kACT] = std::max(r.next[kACT], at + t.RFC);
    r.next_ref = at + t.RFC;
    ch.touch_all();  // the rank's banks may activate again
  } else {           // REFPB
    const unsigned n = refpb_n_, stride = o.banks() / n;
    const unsigned first = b.rank * o.banks();
    for (unsigned k = 0; k < n; ++k) {
      Bank& pb = ch.banks[first + r.pb_next + k * stride];
      log(first + r.pb_next + k * stride, 0);
      pb.next_act = std::max(pb.next_act, at + t.RFCpb);
      pb.next_refpb = at + t.RFCpb;
    }
    busy_until(at + t.RFCpb);
    // tRRD applies between a per-bank refresh and an ACT of another bank (JESD209-4).
    r.next[kACT] = std::max(r.next[kACT], at + t.RRD_S);
    --r.pb_owed;
    ch.update_owed();
    r.pb_next = (r.pb_next + 1) % stride;
    ch.touch_all();  // the refreshed banks unblock, the next ones block
  }
  // The command moved its group's constraints: the group's banks' times follow.
  if (c.cmd == DramCmd::ACT || c.cmd == DramCmd::RD || c.cmd == DramCmd::WR) {
    refresh_group_times<kLean>(ch, b.group);
  }
}

// The channel's next command and the first cycle it may issue (ch.cand).
//
// kLean: the decision in the controller's common state, compiled without what the other
// states need: one rank, no low-power states (lean_), no refresh owed, and every key and
// age known to fit its packed bits, so that none is tested. The times fit: every bank,
// group and rank time is at most the current cycle plus a sum of timings (the last command
// plus its constraints), lean_ bounds that sum by 2^30 cycles, and the epoch moves before
// the cycle is 2^32 past it, so a key counts fewer than 4 * (2^32 + 2^31) < kKeyLimit
// cycle quarters. The ages fit below lean_seq. Outside that state it decides as below.
template <bool kLean, bool kSplit>
[[gnu::always_inline]] inline void DramSystem::decide(Channel& ch) {
  const int64_t floor = std::max(now_, ch.next_cmd);
  if constexpr (kLean) {
    if (ch.owed || ch.unpacked || floor >= ch.repack_cycle || seq_ >= ch.lean_seq) {
      decide_general(ch);
      return;
    }
  }
  const auto& o = part_.org;
  const bool per_bank = s_.refresh == Settings::Refresh::PerBank;
  const unsigned pb_n = refpb_n_, pb_stride = pb_stride_;
  const uint64_t bank_mask = bank_mask_;
  // Write draining with watermarks: switch to writes at the high mark (or when no
  // read waits), back to reads at the low mark (or when no write is left).
  const bool was_write = ch.write_mode;
  if (!ch.write_mode) {
    if (ch.queued[1] >= s_.write_high || (ch.queued[0] == 0 && ch.queued[1] > 0)) ch.write_mode = true;
  } else if (ch.queued[1] == 0 || (ch.queued[1] <= s_.write_low && ch.queued[0] > 0)) {
    ch.write_mode = false;
  }
  if (ch.write_mode != was_write) ch.dirty = ~uint64_t{0};
  const int mode = ch.write_mode ? 1 : 0;
  // Packed keys count from an epoch and a request number; both move forward, rarely
  // (every 2^32 cycles, every 2^20 requests), and every bank's key is packed again.
  if (!kLean && (floor >= ch.repack_cycle || seq_ >= ch.repack_seq)) {
    ch.epoch = floor;
    ch.repack_cycle = floor + (int64_t{1} << 32);
    uint64_t oldest = seq_;
    for (const Bank& b : ch.banks) {
      for (const auto& q : b.q) {
        for (uint32_t i : q) oldest = std::min(oldest, ch.pool[i].seq);
      }
    }
    ch.seq_base = oldest;
    // Again once the ages fill half their range, and not before another quarter of it
    // (a request that stays queued for long holds seq_base back).
    ch.repack_seq = std::max(oldest + kAgeLast / 2 + 1, seq_ + (kAgeLast + 1) / 4);
    ch.lean_seq = std::min(ch.repack_seq, oldest + kAgeLast);
    ch.dirty = ~uint64_t{0};
  }
  // Banks a refresh (or a self-refresh entry) holds: a mask made once per decision, and
  // only while a rank owes a refresh or may close for self-refresh, not a test per bank.
  uint64_t held = 0;
  const unsigned ranks = kLean ? 1 : static_cast<unsigned>(ch.ranks.size());
  if (!kLean && (ch.owed || s_.low_power == Settings::LowPower::SelfRefresh)) {
    for (unsigned ri = 0; ri < ranks; ++ri) {
      const Rank& r = ch.ranks[ri];
      const unsigned first = ri * o.banks();
      if (r.ref_pending || r.sr_closing) {
        for (unsigned j = 0; j < o.banks(); ++j) held |= uint64_t{1} << (first + j);
      } else if (r.pb_owed > 0) {
        for (unsigned k = 0; k < pb_n; ++k) held |= uint64_t{1} << (first + r.pb_next + k * pb_stride);
      }
    }
  }
  for (uint64_t d = ch.dirty & bank_mask; d; d &= d - 1) {
    const uint32_t bi = static_cast<uint32_t>(__builtin_ctzll(d));
    Bank& b = ch.banks[bi];
    const bool blocked = (held >> bi) & 1;
    const Choice& k = ch.choices[bi] = bank_choice(s_, ch.pool, b, mode, blocked);
    // A bank with nothing to do has the slot whose bound is above every key (kIdleSlot).
    const unsigned rank = kLean ? 0 : b.rank;
    ch.slot_of[bi] = static_cast<uint8_t>(k.any ? rank * 4 + static_cast<int>(k.cmd) : kIdleSlot);
    // Age: refresh PREs (class 0) all have request number 0, closed-page PREs come last.
    const uint64_t age = k.klass == 0 ? 0 : k.seq == kSeqLast ? kAgeLast : k.seq - ch.seq_base;
    if constexpr (!kLean) {
      ch.unpacked &= ~(uint64_t{1} << bi);
      if (age > kAgeLast || (age == kAgeLast && k.seq != kSeqLast)) ch.unpacked |= uint64_t{1} << bi;
    }
    ch.low_of[bi] = (uint64_t{k.klass} << kKeyShift) | ((age & kAgeLast) << 6) | bi;
    ch.set_group_key<kLean>(bi,
                            std::max(k.base, ch.groups[b.group].next[static_cast<int>(k.cmd)]) * 4 + k.klass);
    ch.active_count += static_cast<unsigned>(k.any) - static_cast<unsigned>((ch.active >> bi) & 1);
    if (k.any) {
      ch.active |= uint64_t{1} << bi;
    } else {
      ch.active &= ~(uint64_t{1} << bi);
    }
  }
  ch.dirty = 0;
  // Each bank's cycle is its bank-and-group time, its rank's constraint on the
  // command (the same for every bank of the rank, by slot_of) and the floor; its
  // key is that cycle times 4 plus its class, and the least key wins, then the oldest
  // request, then the lowest bank.
  // rank_packed: the rank's bound packed (shifted to the cycle's place), for the packed
  // scan; the unpacked scan computes the bounds again for itself.
  uint64_t rank_packed[8 * 4 + 1];
  rank_packed[kIdleSlot] = ~uint64_t{0};
  int64_t latest = floor;
  for (unsigned ri = 0; ri < ranks; ++ri) {
    const Rank& r = ch.ranks[ri];
    const int64_t f = kLean ? floor : std::max(floor, r.wake_ready);
    const int64_t act = std::max({r.next[kACT], r.faw[r.faw_i] + part_.t.FAW, f});
    const int64_t rd = std::max(r.next[kRD], f), wr = std::max(r.next[kWR], f);
    uint64_t* rp = rank_packed + ri * 4;
    rp[kACT] = static_cast<uint64_t>(act - ch.epoch) << (kKeyShift + 2);
    rp[static_cast<int>(DramCmd::PRE)] = static_cast<uint64_t>(f - ch.epoch) << (kKeyShift + 2);
    rp[kRD] = static_cast<uint64_t>(rd - ch.epoch) << (kKeyShift + 2);
    rp[kWR] = static_cast<uint64_t>(wr - ch.epoch) << (kKeyShift + 2);
    latest = std::max({latest, act, rd, wr});
  }
  // Interleaved bursts: a read or write slot has a second bound. A bank that the other
  // bounds allow by the fill cycle of its rank's lone last burst (the first bound) issues
  // there, in the gap; a later one waits for that burst's span to end (the second bound).
  // Without a fill cycle both bounds are the later of the slot's bound and the span's end.
  // The rule is non-decreasing in the cycle the other bounds allow, so keys still only rise.
  // first_at, late_at: the two bounds of the read and write slots, as cycles, for both scans.
  const bool interleave = kLean ? kSplit : part_.t.half != 0;
  uint64_t rank_late[8 * 4 + 1];
  int64_t first_at[8 * 4], late_at[8 * 4];
  if (interleave) {
    std::copy(rank_packed, rank_packed + ranks * 4, rank_late);
    rank_late[kIdleSlot] = rank_packed[kIdleSlot];
    for (unsigned ri = 0; ri < ranks; ++ri) {
      const Rank& r = ch.ranks[ri];
      const int64_t f = std::max(floor, r.wake_ready);
      const int64_t end = std::max(r.span_end, f);
      for (const int d : {0, 1}) {
        const unsigned slot = ri * 4 + (d ? kWR : kRD);
        const int64_t bound = std::max(r.next[d ? kWR : kRD], f);
        late_at[slot] = std::max(bound, end);
        first_at[slot] = r.fill[d] >= bound ? r.fill[d] : late_at[slot];
        rank_packed[slot] = static_cast<uint64_t>(first_at[slot] - ch.epoch) << (kKeyShift + 2);
        rank_late[slot] = static_cast<uint64_t>(late_at[slot] - ch.epoch) << (kKeyShift + 2);
      }
      latest = std::max(latest, end);
    }
  }
  Candidate c;
  uint32_t pick = 0;
  if (ch.active && (kLean || ((ch.active & ch.unpacked) == 0 && (latest - ch.epoch) * 4 + 3 < kKeyLimit))) {
    // The rank's bound packed with the bank's class, age and index: max(key, bound) keeps
    // them (both sides carry them), and the least of these maxima wins.
    uint64_t best = ~uint64_t{0};
    const uint64_t* packed = ch.packed.data();
    const uint8_t* slot_of = ch.slot_of.data();
    const unsigned n = static_cast<unsigned>(ch.banks.size());
    if (interleave) {
      // The second bound applies to a bank whose key is past the first (masks, not a
      // branch: which banks are is data). Every bank, two minima, as below; an idle bank's
      // first bound is above every key.
      auto key = [&](unsigned bi) {
        const uint64_t p = packed[bi], low = p & kLowMask;
        const uint64_t first = rank_packed[slot_of[bi]] | low;
        const uint64_t late = (rank_late[slot_of[bi]] | low) & (0 - static_cast<uint64_t>(p > first));
        return std::max({p, first, late});
      };
      uint64_t other = ~uint64_t{0};
      for (unsigned bi = 0; bi + 1 < n; bi += 2) {
        best = std::min(best, key(bi));
        other = std::min(other, key(bi + 1));
      }
      if (n & 1) best = std::min(best, key(n - 1));
      best = std::min(best, other);
    } else if (n <= 32 && ch.active_count * 2 >= n) {
      // Every bank, a fixed count (idle ones have the bound above every key): no branch on
      // how many banks have work, which is data and ends the loop at an unpredictable turn.
      // Where few banks have work (sequential streams), the loop over them costs less.
      // Two minima, over even and odd banks, halve the chain of dependent comparisons
      // (bank counts are even).
      uint64_t other = ~uint64_t{0};
      for (unsigned bi = 0; bi + 1 < n; bi += 2) {
        const uint64_t p = packed[bi], q = packed[bi + 1];
        best = std::min(best, std::max(p, rank_packed[slot_of[bi]] | (p & kLowMask)));
        other = std::min(other, std::max(q, rank_packed[slot_of[bi + 1]] | (q & kLowMask)));
      }
      if (n & 1) {
        const uint64_t p = packed[n - 1];
        best = std::min(best, std::max(p, rank_packed[slot_of[n - 1]] | (p & kLowMask)));
      }
      best = std::min(best, other);
    } else {
      for (uint64_t a = ch.active; a; a &= a - 1) {
        const unsigned bi = static_cast<unsigned>(__builtin_ctzll(a));
        const uint64_t p = packed[bi];
        best = std::min(best, std::max(p, rank_packed[slot_of[bi]] | (p & kLowMask)));
      }
    }
    pick = static_cast<uint32_t>(best & 63);
    c.time = ch.epoch + static_cast<int64_t>(best >> kKeyShift) / 4;
  } else if (ch.active) {
    // The same order, unpacked: both the bank's part and the rank's come with the class
    // added (max(a, b) * 4 + k = max(a * 4 + k, b * 4 + k)), so a bank costs one max and
    // one branch-free comparison.
    int64_t rank_key[8 * 4 * 4];
    for (unsigned ri = 0; ri < ch.ranks.size(); ++ri) {
      const Rank& r = ch.ranks[ri];
      const int64_t f = std::max(floor, r.wake_ready);
      const int64_t bound[4] = {std::max({r.next[kACT], r.faw[r.faw_i] + part_.t.FAW, f}), f,
                                std::max(r.next[kRD], f), std::max(r.next[kWR], f)};
      for (unsigned i = 0; i < 4; ++i) {
        for (int k = 0; k < 3; ++k) rank_key[(ri * 4 + i) * 4 + k] = bound[i] * 4 + k;
      }
    }
    int64_t least = std::numeric_limits<int64_t>::max();
    uint64_t best_seq = std::numeric_limits<uint64_t>::max();
    for (uint64_t a = ch.active; a; a &= a - 1) {
      const uint32_t bi = static_cast<uint32_t>(__builtin_ctzll(a));
      // Branch-free (masks, not conditional moves the compiler may turn into branches):
      // ties are common (banks waiting on one rank constraint) and hard to predict.
      const Choice& k = ch.choices[bi];
      const int64_t gk =
          std::max(k.base, ch.groups[ch.banks[bi].group].next[static_cast<int>(k.cmd)]) * 4 + k.klass;
      const int64_t rk = rank_key[ch.slot_of[bi] * 4 + k.klass];
      int64_t key = gk ^ ((gk ^ rk) & -static_cast<int64_t>(gk < rk));
      if (interleave && (k.cmd == DramCmd::RD || k.cmd == DramCmd::WR)) {  // as in the packed scan
        const unsigned slot = ch.slot_of[bi];
        key = key / 4 <= first_at[slot] ? first_at[slot] * 4 + k.klass : std::max(key, late_at[slot] * 4 + k.klass);
      }
      const uint64_t sq = ch.choices[bi].seq;
      const bool better = (key < least) | ((key == least) & (sq < best_seq));
      const uint64_t m = 0 - static_cast<uint64_t>(better);
      least ^= (least ^ key) & static_cast<int64_t>(m);
      best_seq ^= (best_seq ^ sq) & m;
      pick ^= (pick ^ bi) & static_cast<uint32_t>(m);
    }
    c.time = least / 4;
  }
  if (ch.active) {
    const Choice& k = ch.choices[pick];
    c.klass = k.klass;
    c.seq = k.seq;
    c.cmd = k.cmd;
    c.bank = pick;
    c.burst = k.burst;
    c.row = k.row;
  }
  for (unsigned ri = 0; !kLean && ch.owed && ri < ranks; ++ri) {
    const Rank& r = ch.ranks[ri];
    Candidate rc;
    rc.klass = 0;
    rc.bank = ri * o.banks();
    if (r.ref_pending && r.open == 0) {
      rc.cmd = DramCmd::REF;
      rc.time = std::max({r.next_ref, floor, r.wake_ready});
    } else if (per_bank && r.pb_owed > 0) {
      bool closed = true;
      int64_t ready = std::max({r.next[kACT], floor, r.wake_ready});
      for (unsigned k = 0; k < pb_n; ++k) {
        const Bank& pb = ch.banks[ri * o.banks() + r.pb_next + k * pb_stride];
        closed = closed && pb.open_row < 0;
        ready = std::max(ready, pb.next_refpb);
      }
      if (!closed) continue;
      rc.cmd = DramCmd::REFPB;
      rc.time = ready;
    } else {
      continue;
    }
    if (rc.better_than(c)) c = rc;
  }
  ch.cand = c;
  ch.valid = true;
}

[[gnu::noinline]] void DramSystem::decide_general(Channel& ch) {
  decide<false, false>(ch);  // interleaved bursts: a test of the part inside
}

// kOne: one channel without self-refresh, the usual case, which run() takes with the
// choice of a channel and of a rank falling asleep compiled out. kLean: also one rank and
// no low-power states; the decisions while no refresh is owed are then compiled without
// what ranks, refreshes and low-power states need. kSplit: the lean decisions and the
// commands of a part with interleaved bursts (the others compile without their rule).
template <bool kOne, bool kLean, bool kSplit>
void DramSystem::run_loop(int64_t limit, bool until_drained) {
  for (;;) {
    if (!blocked_ && !frontend_.empty()) admit();
    if (until_drained && frontend_.empty() && completed_ == admitted_requests()) break;
    const int64_t t_arr = (!blocked_ && !frontend_.empty()) ? frontend_.front().arrival : kInf;
    Channel* best = nullptr;
    const int64_t t_due = due_at_;
    int64_t t_sleep = kInf;
    Channel* sleeper = nullptr;
    unsigned sleeper_rank = 0;
    if constexpr (kOne) {
      best = &channels_[0];
      if (!best->valid) {
        if constexpr (kLean) {
          decide<true, kSplit>(*best);
        } else {
          decide_general(*best);
        }
      }
    } else {
      for (Channel& ch : channels_) {
        for (unsigned ri = 0; s_.low_power == Settings::LowPower::SelfRefresh && ri < ch.ranks.size(); ++ri) {
          // An idle rank that falls due for self-refresh.
          const Rank& r = ch.ranks[ri];
          const int64_t sleep_at = std::max(r.served_at + s_.self_refresh_after, r.idle_from);
          if (r.sr_entry == kInf && rank_idle(ch, ri) && sleep_at < t_sleep) {
            t_sleep = sleep_at;
            sleeper = &ch;
            sleeper_rank = ri;
          }
        }
        if (!ch.valid) decide_general(ch);
        if (ch.cand.time < kInf && (!best || ch.cand.better_than(best->cand))) best = &ch;
      }
    }
    const int64_t t_cmd = best ? std::min(best->cand.time, kInf) : kInf;
    const int64_t t = std::min({t_arr, t_cmd, t_due, t_sleep});
    if (t >= limit || t == kInf) {
      if (until_drained && t == kInf)
        throw SimError("internal: DRAM controller stalled with requests pending");
      break;
    }
    if (t_arr == t) {
      now_ = t;
      continue;
    }
    if (t_due == t && t_due <= t_cmd) {
      now_ = t;
      step_refresh_due(channels_[due_channel_]);
      continue;
    }
    if (t_sleep == t && t_sleep <= t_cmd) {
      now_ = t;
      enter_self_refresh(*sleeper, sleeper_rank, t);
      continue;
    }
    issue<kLean, kSplit>(*best);
  }
}

void DramSystem::run(int64_t limit, bool until_drained) {
  if (channels_.size() == 1 && s_.low_power != Settings::LowPower::SelfRefresh) {
    if (lean_ && part_.t.half != 0) {
      run_loop<true, true, true>(limit, until_drained);
    } else if (lean_) {
      run_loop<true, true, false>(limit, until_drained);
    } else {
      run_loop<true, false, false>(limit, until_drained);
    }
  } else {
    run_loop<false, false, false>(limit, until_drained);
  }
}

int64_t DramSystem::drain() {
  run(kInf, true);
  return std::max(now_, last_data_);
}

bool DramSystem::quiet() const {
  if (!frontend_.empty() || completed_ != admitted_requests()) return false;
  for (const auto& ch : channels_) {
    if (ch.queued[0] + ch.queued[1] > 0) return false;
    for (const auto& r : ch.ranks) {
      if (r.open > 0 || r.ref_pending || r.pb_owed > 0 || r.sr_closing) return false;
    }
  }
  return true;
}

void DramSystem::skip_refreshes(int64_t until) {
  const bool per_bank = s_.refresh == Settings::Refresh::PerBank;
  const DramTiming& t = part_.t;
  const auto& o = part_.org;
  const unsigned n = refpb_n_, stride = o.banks() / n;
  const int64_t interval = per_bank ? t.REFIpb : t.REFI;
  int64_t latest = now_;
  for (auto& ch : channels_) {
    for (unsigned ri = 0; ri < ch.ranks.size(); ++ri) {
      Rank& r = ch.ranks[ri];
      if (r.refresh_due >= until) continue;
      const int64_t k = (until - r.refresh_due) / interval + 1;  // due times before `until`
      if (r.sr_entry <= r.refresh_due) {  // in self-refresh: the device refreshes itself
        r.refresh_due += k * interval;
        latest = std::max(latest, until - 1);  // nothing happens on this rank until then
        continue;
      }
      // In power-down, each refresh first leaves it (tXP) and the rank powers down again
      // power_down_after cycles after the refresh ends.
      const int64_t rfc = per_bank ? t.RFCpb : t.RFC;
      const bool sleeps = s_.low_power != Settings::LowPower::Off && interval > rfc + s_.power_down_after;
      const int64_t exit = sleeps ? t.XP : 0;
      const int64_t last = r.refresh_due + (k - 1) * interval + exit;
      if (sleeps) {
        const int64_t first = std::max<int64_t>(0, r.refresh_due - (r.idle_from + s_.power_down_after));
        const int64_t each = std::max<int64_t>(0, interval - exit - rfc - s_.power_down_after);
        counters_.power_down_cycles += first + (k - 1) * each;
        counters_.power_down_entries += (first > 0 ? 1 : 0) + static_cast<uint64_t>(each > 0 ? k - 1 : 0);
        r.idle_from = last + rfc;
      }
      counters_.commands[static_cast<int>(per_bank ? DramCmd::REFPB : DramCmd::REF)] +=
          static_cast<uint64_t>(k);
      if (per_bank) {
        // The last refresh's banks are the ones it leaves busy; earlier ones are long done.
        const unsigned lead = static_cast<unsigned>((r.pb_next + k - 1) % stride);
        for (unsigned j = 0; j < n; ++j) {
          Bank& b = ch.banks[ri * o.banks() + lead + j * stride];
          b.next_act = std::max(b.next_act, last + t.RFCpb);
          b.next_refpb = last + t.RFCpb;
        }
        r.next[kACT] = std::max(r.next[kACT], last + t.RRD_S);
        r.pb_next = static_cast<unsigned>((r.pb_next + k) % stride);
      } else {
        r.next[kACT] = std::max(r.next[kACT], last + t.RFC);
        r.next_ref = last + t.RFC;
      }
      r.refresh_due += k * interval;
      latest = std::max(latest, last + 1);
      ch.touch_all();
    }
  }
  update_next_due();
  now_ = latest;
}

void DramSystem::occupy_until(int64_t cycle) {
  for (auto& ch : channels_) {
    for (auto& r : ch.ranks) {
      r.idle_from = std::max(r.idle_from, cycle);
      r.served_at = std::max(r.served_at, cycle);
    }
  }
}

void DramSystem::advance_to(int64_t cycle) {
  if (cycle <= now_) return;
  // A long idle stretch: once every bank is closed and no refresh is owed, the refreshes
  // that fall in it are counted, not simulated one by one; they issue on time (nothing
  // delays them), so the outcome is the same.
  const int64_t round = s_.refresh == Settings::Refresh::Off ? 0 : 2 * part_.t.REFI;
  if (round > 0 && cycle - now_ > 3 * round && frontend_.empty()) {
    run(now_ + round, false);
    if (s_.low_power == Settings::LowPower::SelfRefresh) {
      // Let every rank reach self-refresh first (the stretch then holds no refresh at all).
      int64_t asleep = -1;  // when the last rank still awake falls due; -1: all asleep
      for (const auto& ch : channels_) {
        for (const auto& r : ch.ranks) {
          if (r.sr_entry == kInf) asleep = std::max(asleep, r.served_at + s_.self_refresh_after);
        }
      }
      if (asleep >= 0 && asleep < cycle - 2 * round) run(std::max(asleep, now_) + round, false);
    }
    if (quiet()) skip_refreshes(cycle - round);
  }
  run(cycle, false);
  now_ = std::max(now_, cycle);
}

DramSystem::Energy DramSystem::energy(int64_t until) const {
  Energy e;
  auto n = [&](DramCmd c) { return static_cast<double>(counters_.commands[static_cast<int>(c)]); };
  e.act = n(DramCmd::ACT) * e_.act;
  e.pre = n(DramCmd::PRE) * e_.pre;
  e.rd = n(DramCmd::RD) * e_.rd;
  e.wr = n(DramCmd::WR) * e_.wr;
  e.ref = n(DramCmd::REF) * e_.ref + n(DramCmd::REFPB) * e_.refpb;
  // Standby power by state: banks open (IDD3N), closed (IDD2N), and the low-power states
  // (IDD3P, IDD2P, IDD6) counted out of the first two.
  double pd = static_cast<double>(counters_.power_down_cycles);
  double apd = static_cast<double>(counters_.active_power_down_cycles);
  double sr = static_cast<double>(counters_.self_refresh_cycles);
  for (const auto& ch : channels_) {
    for (unsigned ri = 0; ri < ch.ranks.size(); ++ri) {
      const Rank& r = ch.ranks[ri];
      int64_t p = 0, a = 0, s = 0;
      low_power_until(ch, ri, until, p, a, s);
      pd += static_cast<double>(p);
      apd += static_cast<double>(a);
      sr += static_cast<double>(s);
      const double active = static_cast<double>(r.active_cycles + (r.open ? until - r.active_since : 0));
      const double total = static_cast<double>(std::max<int64_t>(until, 0));
      e.background += (active * e_.active_standby + (total - active) * e_.precharge_standby) * part_.tCK;
    }
  }
  e.low_power =
      (apd * e_.active_power_down + (pd - apd) * e_.precharge_power_down + sr * e_.self_refresh) * part_.tCK;
  e.background +=
      e.low_power - (apd * e_.active_standby + (pd - apd + sr) * e_.precharge_standby) * part_.tCK;
  const double rank_time = static_cast<double>(std::max<int64_t>(until, 0)) *
                           static_cast<double>(channels_.size() * part_.org.ranks);
  if (rank_time > 0) {
    e.power_down_share = pd / rank_time;
    e.self_refresh_share = sr / rank_time;
  }
  e.io = static_cast<double>(counters_.read_bursts + counters_.write_bursts) * part_.org.burst_bytes() * 8 *
         e_.io_per_bit;
  return e;
}

}  // namespace edgesim::memory
