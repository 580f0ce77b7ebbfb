// libFuzzer target: a labelled-input CSV for a network, plain or gzip-compressed (one
// reader serves both: gzread passes a plain file through), read with npu::load_dataset
// as `edgesim npu --input FILE` does, for configs/networks/digits.json (64 inputs, 10
// classes).
#include "fuzz/fuzz_common.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/network.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  static const npu::Network net = npu::load_network(EDGESIM_SOURCE_DIR "/configs/networks/digits.json");
  const fuzz::MemFile file(data, size);
  return fuzz::accept_input_errors([&] { npu::load_dataset(file.path(), net); });
}
