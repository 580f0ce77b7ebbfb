#pragma once
// The experiment's model shape from a model source (`--model PATH`, `model.hf_config`):
// a built-in preset, an edgesim model JSON or a Hugging Face config.json
// (traces/hf_config.hpp). The source replaces every shape key of the config's model
// section; the keys that say how the model is stored and run (weight_dtype,
// weight_format(s), kv_dtype, activation_dtype, chunking) stay the config's.
#include <string>

#include <nlohmann/json.hpp>

namespace edgesim::sim {

/// Replaces the shape of `config`'s model section with the one `path` gives, and records
/// where it came from in model.source.
void apply_model_source(nlohmann::json& config, const std::string& path);

/// When the config's model section names a source in model.hf_config, applies it and drops
/// the key (model.source keeps it), so that the resolved config stands on its own.
void resolve_model_source(nlohmann::json& config);

/// A config file (extends resolved, config::load_config) with its model source applied.
nlohmann::json load_experiment_config(const std::string& path);

}  // namespace edgesim::sim
