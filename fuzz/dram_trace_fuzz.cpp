// libFuzzer target: a DRAM request trace, text or binary (the form is detected from the
// first bytes), read with memory::RequestTraceReader and replayed on the command-level
// model of an LPDDR5-6400 part as `edgesim dram --part lpddr5-6400 --trace TRACE` does.
#include <cmath>
#include <memory>

#include "fuzz/fuzz_common.hpp"
#include "models/memory/dram.hpp"
#include "models/memory/dram_command.hpp"
#include "models/memory/dram_trace.hpp"

namespace {
// Requests and bytes replayed per input: the reader still checks the whole trace. A
// single valid request may ask for up to 2 GiB, and each of its 32-byte bursts is a
// command-level decision: a 6 MB request took 2 s under the sanitizers (a "timeout" of
// the dram_trace campaign), with nothing wrong but its size.
// Likewise the simulated time: idle time is simulated refresh by refresh (one every
// 3.9 us), so a valid trace whose last request comes days after its first takes minutes.
constexpr uint64_t kMaxReplayed = 4096;
constexpr uint64_t kMaxReplayedBytes = uint64_t{1} << 20;
constexpr int64_t kMaxReplayedPs = 10'000'000'000;  // 10 ms
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  const fuzz::MemFile file(data, size);
  // The device once (its calibration runs a stream through the model); a fresh controller
  // and banks for every input, as every `edgesim dram` run has.
  static const std::unique_ptr<memory::Dram> dram = [] {
    nlohmann::json resolved;
    return memory::make_dram({{"model", "command"}, {"part", "lpddr5-6400"}}, resolved);
  }();
  return fuzz::accept_input_errors([&] {
    const auto& cd = dynamic_cast<const memory::CommandDram&>(*dram);
    const memory::DramPart& p = cd.system().part();
    memory::DramSystem sys(p, cd.settings().controller);
    memory::RequestTraceReader reader(file.path());
    memory::TraceRequest r;
    const double tck_ps = p.tCK * 1e12;
    uint64_t n = 0, bytes = 0;
    while (reader.next(r)) {
      bytes += r.size;
      if (n++ >= kMaxReplayed || bytes > kMaxReplayedBytes || r.time_ps > kMaxReplayedPs) continue;
      const auto cycle = static_cast<int64_t>(std::ceil(static_cast<double>(r.time_ps) / tck_ps - 1e-9));
      sys.submit({cycle, r.addr, r.size, r.write});
    }
    sys.drain();
  });
}
