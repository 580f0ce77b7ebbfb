// libFuzzer target: an experiment config, loaded and validated as `edgesim run CONFIG` and
// `edgesim validate CONFIG` do (extends, model source, units, keys, ranges, whether the
// model fits): sim::load_experiment_config, then sim::build_experiment.
#include "fuzz/fuzz_common.hpp"
#include "sim/experiment.hpp"
#include "sim/model_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  const fuzz::MemFile file(data, size);
  return fuzz::accept_input_errors([&] { sim::build_experiment(sim::load_experiment_config(file.path())); });
}
