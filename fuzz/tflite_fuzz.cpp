// libFuzzer target: a TFLite model (npu::load_network, as `edgesim npu --network
// MODEL.tflite`: the FlatBuffers Verifier, the Locator that places a failed verification,
// the reader), then planned, timed and run (fuzz/npu_run.hpp).
//
// load_network takes a file as TFLite when bytes 4-7 hold the identifier "TFL3" (or the
// name ends in .tflite): the target writes "TFL3" there so that every input of 8 bytes or
// more reaches the TFLite reader rather than the JSON one (the npu_network target's).
#include <cstring>

#include "fuzz/fuzz_common.hpp"
#include "fuzz/npu_run.hpp"
#include "models/npu/tflite.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  if (size < 8) {
    // As load_network does for a file named .tflite.
    return fuzz::accept_input_errors([&] { npu::parse_tflite(data, size, "short.tflite"); });
  }
  std::string bytes(reinterpret_cast<const char*>(data), size);
  std::memcpy(&bytes[4], "TFL3", 4);
  const fuzz::MemFile file(bytes);
  return fuzz::accept_input_errors([&] { fuzz::run_npu(file.path()); });
}
