// libFuzzer target: a trace file (binary, varint-coded, JSON header), as `edgesim
// validate TRACE` (TraceReader::validate) and `edgesim trace info` / `edgesim replay`
// (TraceReader::next, step by step) read it.
#include "fuzz/fuzz_common.hpp"
#include "traces/trace_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  const fuzz::MemFile file(data, size);
  return fuzz::accept_input_errors([&] {
    traces::TraceReader reader(file.path());
    reader.validate();
    traces::Step step;
    while (reader.next(step)) {
    }
  });
}
