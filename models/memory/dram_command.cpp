#include "models/memory/dram_command.hpp"

#include <algorithm>
#include <cmath>

#include "sim/core/config/params.hpp"
#include "sim/core/registry.hpp"
#include "sim/core/stats.hpp"

namespace edgesim::memory {

using config::Quantity;

namespace {
const config::ParamTable kParams = {{
    {"part", Quantity::String, nullptr,
     "DRAM part: a built-in name (ddr4-3200, ddr5-4800, lpddr4x-4266, lpddr4x-4266-bl32, lpddr5-6400, "
     "lpddr5-6400-bl32, lpddr5-6400-8b, lpddr5x-8533, lpddr5x-8533-bl32) or a part file"},
    {"capacity",
     Quantity::Bytes,
     "auto",
     "Installed DRAM (auto: channels x ranks x the part's rank size)",
     1,
     1e15,
     {"auto"}},
    {"reserved", Quantity::Bytes, "0 B", "DRAM the model may not use (OS, other apps)", 0, 1e15},
    {"channels", Quantity::Integer, 1, "Independent channels (a power of two)", 1, 64},
    {"address_mapping", Quantity::String, "auto",
     "Address fields, most significant first (e.g. row-bank-column-bankgroup-rank-channel; column:N splits "
     "off N "
     "low column bits); auto: bank groups interleave every 64 bytes"},
    {"bank_xor", Quantity::Boolean, false, "XOR bank and bank-group bits with low row bits"},
    {"scheduler",
     Quantity::String,
     "fr-fcfs",
     "Command scheduling",
     -INFINITY,
     INFINITY,
     {"fr-fcfs", "fcfs"}},
    {"page_policy",
     Quantity::String,
     "open",
     "Keep rows open after an access, or close them",
     -INFINITY,
     INFINITY,
     {"open", "closed"}},
    {"refresh",
     Quantity::String,
     "auto",
     "Refresh mode (auto: per-bank where the part has it)",
     -INFINITY,
     INFINITY,
     {"auto", "all-bank", "per-bank", "off"}},
    {"read_queue", Quantity::Integer, 32, "Read queue entries (bursts) per channel", 1, 4096},
    {"write_queue", Quantity::Integer, 32, "Write queue entries (bursts) per channel", 1, 4096},
    {"write_high", Quantity::Integer, 24, "Writes queued that start a write drain", 1, 4096},
    {"write_low", Quantity::Integer, 8, "Writes queued that end a write drain", 0, 4096},
    {"row_hit_cap", Quantity::Integer, 16, "FR-FCFS: row hits served while an older miss waits", 1, 1 << 20},
    {"low_power",
     Quantity::String,
     "off",
     "Idle ranks enter power-down, then self-refresh (the part must give tXP, tXS, IDD2P, IDD3P, IDD6)",
     -INFINITY,
     INFINITY,
     {"off", "power-down", "self-refresh"}},
    {"power_down_idle", Quantity::Time, "50 ns", "Idle time before a rank powers down (controller policy)", 0,
     1},
    {"self_refresh_idle", Quantity::Time, "5 us",
     "Time without reads or writes before an idle rank enters self-refresh (controller policy)", 0, 10},
    {"sample_range_bytes", Quantity::Bytes, "64 KiB", "Simulate at most this much of one range (0: all)", 0,
     1e15},
    {"sample_batch_bytes", Quantity::Bytes, "1 MiB", "Simulate about this much of one batch (0: all)", 0,
     1e15},
}};
}  // namespace

const config::ParamTable& command_dram_params() {
  return kParams;
}

DramControllerSettings dram_controller_settings(const config::Params& p, const DramPart& part) {
  DramControllerSettings c;
  c.channels = static_cast<unsigned>(p.integer("channels"));
  c.address_mapping = p.text("address_mapping");
  c.bank_xor = p.flag("bank_xor");
  c.scheduler = p.text("scheduler") == "fcfs" ? DramControllerSettings::Scheduler::Fcfs
                                              : DramControllerSettings::Scheduler::FrFcfs;
  c.page_policy = p.text("page_policy") == "closed" ? DramControllerSettings::PagePolicy::Closed
                                                    : DramControllerSettings::PagePolicy::Open;
  const std::string& r = p.text("refresh");
  if (r == "per-bank" && !part.per_bank_refresh()) {
    config::fail_at(p.path_of("refresh"),
                    "part '" + part.name + "' has no per-bank refresh (tRFCpb, tREFIpb)");
  }
  c.refresh = r == "off"                                   ? DramControllerSettings::Refresh::Off
              : r == "all-bank"                            ? DramControllerSettings::Refresh::AllBank
              : r == "per-bank" || part.per_bank_refresh() ? DramControllerSettings::Refresh::PerBank
                                                           : DramControllerSettings::Refresh::AllBank;
  c.read_queue = static_cast<unsigned>(p.integer("read_queue"));
  c.write_queue = static_cast<unsigned>(p.integer("write_queue"));
  c.write_high = static_cast<unsigned>(p.integer("write_high"));
  c.write_low = static_cast<unsigned>(p.integer("write_low"));
  c.row_hit_cap = static_cast<unsigned>(p.integer("row_hit_cap"));
  if (c.write_high > c.write_queue) config::fail_at(p.path_of("write_high"), "must not exceed write_queue");
  if (c.write_low >= c.write_high) config::fail_at(p.path_of("write_low"), "must be below write_high");
  const std::string& lp = p.text("low_power");
  if (lp != "off") {
    if (!part.low_power_states()) {
      config::fail_at(p.path_of("low_power"),
                      "part '" + part.name +
                          "' gives no power-down and self-refresh data (timing tXP, tXS and rail currents IDD2P, "
                          "IDD3P, IDD6)");
    }
    c.low_power = lp == "power-down" ? DramControllerSettings::LowPower::PowerDown
                                     : DramControllerSettings::LowPower::SelfRefresh;
  }
  auto cycles = [&](const char* key) {
    return static_cast<int64_t>(std::ceil(p.number(key) / part.tCK - 1e-6));
  };
  c.power_down_after = cycles("power_down_idle");
  c.self_refresh_after = cycles("self_refresh_idle");
  if (c.low_power == DramControllerSettings::LowPower::SelfRefresh && c.self_refresh_after <= c.power_down_after) {
    config::fail_at(p.path_of("self_refresh_idle"), "must be longer than power_down_idle");
  }
  // The mapper checks the channel count and the scheme; errors name the config key.
  AddressMapper(part.org, c.channels, c.address_mapping, c.bank_xor, p.path_of("address_mapping"));
  return c;
}

CommandDram::CommandDram(const DramPart& part, const Settings& s)
    : s_(s), sys_(std::make_unique<DramSystem>(part, s.controller)) {}

// The cost of streaming on, measured once, the first time a range has a tail: a sequential
// read stream and a write stream, long enough to include refreshes, on a DRAM of the same
// part and settings.
void CommandDram::calibrate() {
  calibrated_ = true;
  const DramPart& part = sys_->part();
  const uint64_t bytes = std::max<uint64_t>(8 * s_.sample_range_bytes, uint64_t{1} << 22);
  for (int w = 0; w < 2; ++w) {
    DramSystem cal(part, s_.controller);
    for (uint64_t off = 0; off < bytes; off += s_.request_bytes) {
      cal.submit({0, off, s_.request_bytes, w == 1});
    }
    const int64_t end = cal.drain();
    const auto e = cal.energy(end);
    Stream& st = stream_[w];
    st.seconds_per_byte = static_cast<double>(end) * part.tCK / static_cast<double>(bytes);
    st.joules_per_byte = (e.total() - e.background) / static_cast<double>(bytes);
    for (int c = 0; c < kDramCmds; ++c) {
      st.commands_per_byte[c] = static_cast<double>(cal.counters().commands[c]) / static_cast<double>(bytes);
    }
  }
}

double CommandDram::peak_bandwidth() const {
  return s_.controller.channels * sys_->part().channel_peak_bandwidth();
}

DramCost CommandDram::access(const DramRange* ranges, size_t n, double start) {
  DramCost cost;
  const DramPart& part = sys_->part();
  const uint64_t bb = part.org.burst_bytes();
  // Sampling (docs/dram.md): each range is simulated up to sample_range_bytes and its
  // tail costs what a long sequential stream costs (calibrate()); when the capped ranges
  // still exceed sample_batch_bytes, every k-th is simulated and the time and energy of
  // the simulated ones scale to all of them.
  uint64_t capped = 0, tail[2] = {0, 0};
  auto head = [&](const DramRange& r) {
    if (s_.sample_range_bytes == 0 || r.bytes <= s_.sample_range_bytes) return r.bytes;
    return (s_.sample_range_bytes + bb - 1) / bb * bb;
  };
  for (size_t i = 0; i < n; ++i) {
    const uint64_t h = head(ranges[i]);
    capped += h;
    tail[ranges[i].write ? 1 : 0] += ranges[i].bytes - h;
  }
  if (capped == 0) return cost;
  if (tail[0] + tail[1] > 0 && !calibrated_) calibrate();
  size_t stride = 1;
  if (s_.sample_batch_bytes > 0 && capped > s_.sample_batch_bytes) {
    stride = static_cast<size_t>((capped + s_.sample_batch_bytes - 1) / s_.sample_batch_bytes);
  }
  chosen_.clear();
  uint64_t simulated = 0;
  for (size_t i = 0; i < n; i += stride) {
    if (ranges[i].bytes == 0) continue;
    chosen_.push_back(i);
    simulated += head(ranges[i]);
  }
  if (simulated == 0) return cost;
  const double scale = static_cast<double>(capped) / static_cast<double>(simulated);

  const int64_t start_cycle = static_cast<int64_t>(std::ceil(start / part.tCK - 1e-6));
  const int64_t arrival = std::max({start_cycle, busy_until_, sys_->now()});
  sys_->advance_to(arrival);
  const DramCounters before = sys_->counters();
  const auto e0 = sys_->energy(sys_->now());
  for (size_t i : chosen_) {
    const DramRange& r = ranges[i];
    uint64_t left = head(r), addr = r.addr;
    while (left > 0) {
      const uint32_t sz = static_cast<uint32_t>(std::min<uint64_t>(left, s_.request_bytes));
      sys_->submit({arrival, addr, sz, r.write});
      addr += sz;
      left -= sz;
    }
  }
  const int64_t end = sys_->drain();
  const auto e1 = sys_->energy(end);
  const DramCounters& after = sys_->counters();
  double tail_time = 0, tail_energy = 0;
  for (int w = 0; w < 2; ++w) {
    const double b = static_cast<double>(tail[w]);
    tail_time += b * stream_[w].seconds_per_byte;
    tail_energy += b * stream_[w].joules_per_byte;
    for (int c = 0; c < kDramCmds; ++c) scaled_[c] += b * stream_[w].commands_per_byte[c];
  }
  for (int c = 0; c < kDramCmds; ++c) {
    scaled_[c] += static_cast<double>(after.commands[c] - before.commands[c]) * scale;
  }
  bytes_asked_ += static_cast<double>(capped + tail[0] + tail[1]);
  bytes_simulated_ += static_cast<double>(simulated);
  const double seconds = static_cast<double>(end - arrival) * part.tCK * scale + tail_time;
  busy_until_ = arrival + static_cast<int64_t>(std::ceil(seconds / part.tCK));
  sys_->occupy_until(busy_until_);  // the unsimulated share of the batch keeps the ranks busy
  cost.time = static_cast<double>(busy_until_ - start_cycle) * part.tCK;
  cost.energy = ((e1.total() - e1.background) - (e0.total() - e0.background)) * scale + tail_energy;
  return cost;
}

void CommandDram::report(double end, sim::Stats& stats) const {
  static const char* const kDesc[kDramCmds] = {"Row activations", "Precharges",         "Read bursts",
                                               "Write bursts",    "All-bank refreshes", "Per-bank refreshes"};
  for (int c = 0; c < kDramCmds; ++c) {
    // Refreshes follow the clock, which runs at full length between batches: count them
    // as issued. Other commands scale with the bytes a sampled batch stands for.
    const auto cmd = static_cast<DramCmd>(c);
    const bool refresh = cmd == DramCmd::REF || cmd == DramCmd::REFPB;
    stats.counter(std::string("dram.commands.") + dram_cmd_name(cmd), "", kDesc[c])
        .add(refresh ? static_cast<double>(sys_->counters().commands[c]) : scaled_[c]);
  }
  const double col = scaled_[static_cast<int>(DramCmd::RD)] + scaled_[static_cast<int>(DramCmd::WR)];
  const double act = scaled_[static_cast<int>(DramCmd::ACT)];
  stats.counter("dram.row_hit_rate", "", "Column accesses that found their row open")
      .add(col > 0 ? std::max(0.0, 1.0 - act / col) : 0.0);
  const int64_t until = std::max(sys_->now(), static_cast<int64_t>(end / sys_->part().tCK));
  const auto e = sys_->energy(until);
  stats.counter("dram.background_energy", "J", "Standby energy over the run (not in dram.energy)")
      .add(e.background);
  if (s_.controller.low_power != DramControllerSettings::LowPower::Off) {
    stats.counter("dram.low_power_energy", "J", "Part of the background energy spent in power-down and self-refresh")
        .add(e.low_power);
    stats.counter("dram.power_down_share", "", "Share of the ranks' time in power-down").add(e.power_down_share);
    stats.counter("dram.self_refresh_share", "", "Share of the ranks' time in self-refresh")
        .add(e.self_refresh_share);
  }
  stats.counter("dram.simulated_fraction", "", "Bytes simulated burst by burst / bytes asked (sampling)")
      .add(bytes_asked_ > 0 ? bytes_simulated_ / bytes_asked_ : 1.0);
}

namespace {
const Registration<Dram> kRegistration(
    "command", "Command-level DRAM: banks, row buffers, FR-FCFS/FCFS, refresh, JEDEC timing and IDD energy",
    kParams, [](const config::Params& p) {
      const DramPart part = load_dram_part(p.text("part"), p.path_of("part"));
      CommandDram::Settings s;
      s.controller = dram_controller_settings(p, part);
      const uint64_t installed = s.controller.channels * part.org.ranks * part.org.rank_bytes();
      s.capacity = p.is_keyword("capacity") ? installed : static_cast<uint64_t>(p.number("capacity"));
      s.reserved = static_cast<uint64_t>(p.number("reserved"));
      if (s.reserved >= s.capacity) {
        config::fail_at(p.path_of("reserved"), "reserved DRAM must be smaller than the capacity");
      }
      s.sample_range_bytes = static_cast<uint64_t>(p.number("sample_range_bytes"));
      s.sample_batch_bytes = static_cast<uint64_t>(p.number("sample_batch_bytes"));
      return std::make_unique<CommandDram>(part, s);
    });
}  // namespace

}  // namespace edgesim::memory
