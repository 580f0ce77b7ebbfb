// libFuzzer target: a DRAM part file, loaded and validated as `edgesim dram --part FILE`
// does (memory::load_dram_part), then run on the command-level controller: 64 requests of
// mixed sizes and spacing, a fifth of them writes, then an idle stretch, once with the
// default controller and once with power-down and self-refresh. A part the loader accepts
// must neither crash nor stall the model, whatever its organisation and timings.
#include "fuzz/fuzz_common.hpp"
#include "models/memory/dram_ctrl.hpp"
#include "models/memory/dram_part.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  const fuzz::MemFile file(data, size);
  return fuzz::accept_input_errors([&] {
    const memory::DramPart part = memory::load_dram_part(file.path());
    for (int run = 0; run < 2; ++run) {
      memory::DramControllerSettings s;
      if (part.per_bank_refresh()) s.refresh = memory::DramControllerSettings::Refresh::PerBank;
      if (run == 1) {
        s.low_power = memory::DramControllerSettings::LowPower::SelfRefresh;
        s.power_down_after = 16;
        s.self_refresh_after = 200;
      }
      memory::DramSystem sys(part, s);
      const uint64_t span = sys.mapper().capacity();
      uint64_t x = 0x9e3779b97f4a7c15ull;  // a fixed stream: the input is the part
      int64_t t = 0;
      for (int i = 0; i < 64; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t += static_cast<int64_t>(x % 7 == 0 ? x % 5000 : x % 8);
        sys.submit({t, x % span, static_cast<uint32_t>(32 << (x % 3)), x % 5 == 0});
      }
      sys.drain();
      sys.advance_to(sys.now() + 1'000'000);
      sys.drain();
      (void)sys.energy(sys.now());
    }
  });
}
