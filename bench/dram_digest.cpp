// Fingerprints of the command-level DRAM model's results, for changes that must not move
// them (speed work): for each case (every built-in part, 9 now, x 1 or 2 ranks x 12
// controller settings x 5 request streams: 1080) and one long run, an FNV-1a hash of
// every issued command (cycle, kind, coordinates, row), every request latency, the
// counters, the energy and the end cycle.
// Run it before and after a change and compare the outputs: any line that differs names
// the case. The hashes are compared between builds, never against stored values.
// Usage: dram_digest [REQUESTS]   (per case, default 20000)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "models/memory/dram_ctrl.hpp"

using namespace edgesim::memory;
using Settings = DramControllerSettings;

namespace {

struct Fnv {
  uint64_t h = 1469598103934665603ull;
  template <class T>
  void add(const T& x) {
    const auto* p = reinterpret_cast<const unsigned char*>(&x);
    for (size_t i = 0; i < sizeof x; ++i) {
      h ^= p[i];
      h *= 1099511628211ull;
    }
  }
};

// Controller settings of case `cfg`: refresh kinds, schedulers, page policies, channels,
// address mappings, queue sizes and low-power states.
Settings settings_of(const DramPart& part, int cfg) {
  Settings s;
  s.refresh =
      part.per_bank_refresh() && cfg % 2 == 1 ? Settings::Refresh::PerBank : Settings::Refresh::AllBank;
  switch (cfg) {
    case 2: s.scheduler = Settings::Scheduler::Fcfs; break;
    case 3: s.page_policy = Settings::PagePolicy::Closed; break;
    case 4:
      s.channels = 2;
      s.bank_xor = true;
      break;
    case 5:
      s.low_power = Settings::LowPower::PowerDown;
      s.power_down_after = 10;
      break;
    case 6:
      s.low_power = Settings::LowPower::SelfRefresh;
      s.power_down_after = 8;
      s.self_refresh_after = 300;
      break;
    case 7:
      s.read_queue = s.write_queue = 8;
      s.write_high = 6;
      s.write_low = 2;
      s.row_hit_cap = 2;
      break;
    case 8: s.refresh = Settings::Refresh::Off; break;
    case 9:
      s.low_power = Settings::LowPower::SelfRefresh;
      s.self_refresh_after = 50;
      s.page_policy = Settings::PagePolicy::Closed;
      break;
    case 10:
      s.channels = 4;
      s.address_mapping = "row-rank-bank-bankgroup-column-channel";
      break;
    case 11:
      s.scheduler = Settings::Scheduler::Fcfs;
      s.page_policy = Settings::PagePolicy::Closed;
      s.low_power = Settings::LowPower::PowerDown;
      break;
    default: break;
  }
  return s;
}

// Every command and every latency of a run so far.
void add_events(Fnv& h, const std::vector<DramCommandRecord>& log, const std::vector<uint32_t>& latencies) {
  for (const auto& c : log) {
    h.add(c.cycle);
    h.add(static_cast<int>(c.cmd));
    h.add(c.channel);
    h.add(c.rank);
    h.add(c.bank_group);
    h.add(c.bank);
    h.add(c.row);
  }
  for (uint32_t l : latencies) h.add(l);
}

// The counters, the energy and the end of a run.
void add_totals(Fnv& h, const DramSystem& sys, int64_t end) {
  const DramCounters& k = sys.counters();
  for (uint64_t c : k.commands) h.add(c);
  h.add(k.read_bursts);
  h.add(k.write_bursts);
  h.add(k.requests);
  h.add(k.latency_sum);
  h.add(k.power_down_cycles);
  h.add(k.active_power_down_cycles);
  h.add(k.self_refresh_cycles);
  h.add(k.power_down_entries);
  h.add(k.self_refresh_entries);
  const DramSystem::Energy e = sys.energy(end);
  h.add(e.total());
  h.add(e.low_power);
  h.add(e.background);
  h.add(end);
}

// One long run, for the controller's ranges rather than its settings: 5 writes, then
// 110 x REQUESTS random reads (2.2 million by default), all at once, so that the writes
// wait behind millions of reads (more bursts than the packed request ages of
// DramSystem's scan cover), then an idle stretch of 2^33 cycles (more than its packed
// cycles cover) and 20 000 more requests. Commands and latencies are hashed as they come,
// not kept.
uint64_t long_run(uint64_t n) {
  const DramPart part = load_dram_part("lpddr5x-8533");
  DramSystem sys(part, Settings{});
  std::vector<DramCommandRecord> log;
  std::vector<uint32_t> latencies;
  sys.set_command_log(&log);
  sys.set_latency_log(&latencies);
  std::mt19937_64 rng(7);
  const uint64_t span = sys.mapper().capacity() / 64;
  for (int i = 0; i < 5; ++i) sys.submit({0, rng() % span * 64, 64, true});
  for (uint64_t i = 0; i < 110 * n; ++i) sys.submit({0, rng() % span * 64, 64, false});
  Fnv h;
  auto hash_and_clear = [&] {
    add_events(h, log, latencies);
    log.clear();
    latencies.clear();
  };
  for (int step = 0; step < 10000 && sys.counters().requests < 110 * n + 5; ++step) {
    sys.advance_to(sys.now() + 1'000'000);
    hash_and_clear();
  }
  sys.drain();
  hash_and_clear();
  sys.advance_to(sys.now() + (int64_t{1} << 33));
  for (uint64_t i = 0; i < 20000; ++i) sys.submit({sys.now(), rng() % span * 64, 64, i % 3 == 0});
  const int64_t end = sys.drain();
  hash_and_clear();
  add_totals(h, sys, end);
  return h.h;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  Fnv all;
  for (const std::string& name : builtin_dram_parts()) {
    for (unsigned ranks : {1u, 2u}) {
      for (int cfg = 0; cfg < 12; ++cfg) {
        // Streams: 0 sequential reads at once; 1 random reads at once; 2 random, 30 %
        // writes, with idle gaps; 3 a hot region with misses, close arrivals; 4 mixed
        // sizes, with drains and long idle stretches (advance_to).
        for (int pattern = 0; pattern < 5; ++pattern) {
          DramPart part = load_dram_part(name);
          part.org.ranks = ranks;
          DramSystem sys(part, settings_of(part, cfg));
          std::vector<DramCommandRecord> log;
          std::vector<uint32_t> latencies;
          sys.set_command_log(&log);
          sys.set_latency_log(&latencies);
          std::mt19937_64 rng(1000 + static_cast<uint64_t>(cfg) * 7 + static_cast<uint64_t>(pattern));
          const uint64_t span = sys.mapper().capacity() / 64;
          int64_t t = 0;
          for (uint64_t i = 0; i < n; ++i) {
            DramRequest r;
            uint64_t slot = pattern == 0 ? i : rng() % span;
            if (pattern == 3) slot = i % 7 == 0 ? rng() % span : slot % 4096;
            r.addr = slot * 64;
            r.size = pattern == 4 ? static_cast<uint32_t>(32 + (rng() % 8) * 32) : 64;
            r.write = pattern >= 2 && rng() % 10 < 3;
            if (pattern == 2 || pattern == 4)
              t += rng() % 100 < 2 ? static_cast<int64_t>(rng() % 20000) : static_cast<int64_t>(rng() % 12);
            if (pattern == 3) t += static_cast<int64_t>(rng() % 3);
            r.arrival = t;
            sys.submit(r);
            if (pattern == 4 && i % 5000 == 4999) {
              sys.drain();
              sys.advance_to(sys.now() + 200000 + static_cast<int64_t>(rng() % 100000));
              t = std::max(t, sys.now());
            }
          }
          const int64_t end = sys.drain();
          Fnv run;
          add_events(run, log, latencies);
          add_totals(run, sys, end);
          const uint64_t h = run.h;
          std::printf("%-13s ranks %u settings %-2d stream %d commands %-8zu end %-10lld %016llx\n",
                      name.c_str(), ranks, cfg, pattern, log.size(), static_cast<long long>(end),
                      static_cast<unsigned long long>(h));
          all.add(h);
        }
      }
    }
  }
  const uint64_t h = long_run(n);
  std::printf("long run %016llx\n", static_cast<unsigned long long>(h));
  all.add(h);
  std::printf("all %016llx\n", static_cast<unsigned long long>(all.h));
  return 0;
}
