// libFuzzer target: a .npy array, read with traces::read_npy (captured router logits and
// activations), then every row decoded as the sources do.
#include "fuzz/fuzz_common.hpp"
#include "traces/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  const fuzz::MemFile file(data, size);
  return fuzz::accept_input_errors([&] {
    const traces::NpyArray a = traces::read_npy(file.path());
    if (a.shape.size() == 2 && a.shape[0] > 0) {
      std::vector<float> row;
      for (uint64_t step = 0; step < a.shape[0] && step < 4; ++step) traces::decode_row(a, 0, step, row);
    }
  });
}
