// libFuzzer target: an NPU device config (the device's NPU, host CPU, SRAM, flash and DRAM
// sections, `extends` of the built-in ones), read as `edgesim npu --config CONFIG` reads
// it, then the digits network planned, timed and run on that device (fuzz/npu_run.hpp).
#include "fuzz/fuzz_common.hpp"
#include "fuzz/npu_run.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  const fuzz::MemFile file(data, size);
  return fuzz::accept_input_errors(
      [&] { fuzz::run_npu(EDGESIM_SOURCE_DIR "/configs/networks/digits.json", file.path()); });
}
