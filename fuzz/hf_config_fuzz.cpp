// libFuzzer target: a model source (a Hugging Face config.json, or an edgesim model file),
// read as `edgesim validate CONFIG.json` and `edgesim run --model CONFIG.json` read it:
// traces::load_model_source (the model_type's table row, its keys and steps), the layout
// the mapped shape expands to with its parameter, weight and KV-cache counts (what
// validate prints), then the built-in default experiment with that model
// (sim::apply_model_source, sim::build_experiment: ranges, the layout in the config's
// dtypes, whether it fits).
#include "fuzz/fuzz_common.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/experiment.hpp"
#include "sim/model_source.hpp"
#include "traces/hf_config.hpp"
#include "traces/model_layout.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  const fuzz::MemFile file(data, size);
  return fuzz::accept_input_errors([&] {
    const traces::ModelSource src = traces::load_model_source(file.path());
    const traces::ModelLayout layout(config::Params(traces::ModelLayout::param_table(), src.model, "model"));
    volatile uint64_t sink =
        layout.parameters() + layout.total_weight_bytes() + layout.kv_bytes_per_position();
    (void)sink;
    nlohmann::json cfg = sim::load_experiment_config(config::kDefaultExperiment);
    sim::apply_model_source(cfg, file.path());
    sim::build_experiment(cfg);
  });
}
