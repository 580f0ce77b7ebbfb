// libFuzzer target: an NPU network in edgesim.npu_network/1 JSON with its weights file
// (npu::load_network, as `edgesim npu --network NET.json`), then planned, timed and run
// (fuzz/npu_run.hpp).
//
// The input is the JSON, then optionally kSeparator and the bytes of the weights file.
// The weights file is memory-backed at descriptor kWeightsFd, and the JSON sits at
// /proc/self/fd/N: "weights_file": "900" (relative to the JSON's folder, /proc/self/fd)
// names it, as the seeds in fuzz/corpus/npu_network do.
#include "fuzz/fuzz_common.hpp"
#include "fuzz/npu_run.hpp"

namespace {
constexpr int kWeightsFd = 900;
const std::string kSeparator = "\n--weights--\n";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  std::string json_text, weights;
  fuzz::split_input(data, size, kSeparator, json_text, weights);
  const fuzz::MemFile weights_file(weights, kWeightsFd);
  const fuzz::MemFile file(json_text);
  return fuzz::accept_input_errors([&] { fuzz::run_npu(file.path()); });
}
