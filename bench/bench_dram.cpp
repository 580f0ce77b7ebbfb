// Speed of the command-level DRAM model, printed as figures (never asserted): simulated
// requests per wall second on one core for 1-million-request sequential and random
// read traces of 64-byte requests, all arriving at once, per built-in part. The trace
// is generated in memory before the clock starts, so the figure is the model's (submit()
// and drain()), not the trace parser's or the random generator's.
// Usage: bench_dram [REQUESTS [PART [PATTERN]]]   (default 1000000, every part, both
// patterns); one part and pattern make a run short enough for valgrind's instruction counts.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "models/memory/dram_ctrl.hpp"

using namespace edgesim::memory;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  std::printf("%-14s %-10s %12s %10s %12s %9s\n", "part", "pattern", "requests/s", "wall s", "GB/s (sim)",
              "row hits");
  const char* only_part = argc > 2 ? argv[2] : nullptr;
  const char* only_pattern = argc > 3 ? argv[3] : nullptr;
  for (const std::string& name : builtin_dram_parts()) {
    if (only_part && name != only_part) continue;
    const DramPart part = load_dram_part(name);
    for (const char* pattern : {"sequential", "random"}) {
      if (only_pattern && std::strcmp(pattern, only_pattern) != 0) continue;
      DramControllerSettings s;
      s.refresh = part.per_bank_refresh() ? DramControllerSettings::Refresh::PerBank
                                          : DramControllerSettings::Refresh::AllBank;
      DramSystem sys(part, s);
      // The addresses are drawn before the clock starts: the figure is the model's (its
      // submit() and drain()), not the random generator's (a 64-bit modulo per request).
      std::mt19937_64 rng(1);
      const uint64_t span = sys.mapper().capacity() / 64;
      std::vector<uint64_t> addr(n);
      for (uint64_t i = 0; i < n; ++i) addr[i] = (pattern[0] == 's' ? i : rng() % span) * 64;
      const auto t0 = Clock::now();
      for (uint64_t i = 0; i < n; ++i) sys.submit({0, addr[i], 64, false});
      const int64_t end = sys.drain();
      const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
      const double sim = static_cast<double>(end) * part.tCK;
      std::printf("%-14s %-10s %12.3g %10.3f %12.2f %8.1f%%\n", name.c_str(), pattern, n / wall, wall,
                  n * 64 / sim / 1e9, 100 * sys.counters().row_hit_rate());
    }
  }
  return 0;
}
