#include "sim/model_source.hpp"

#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "traces/hf_config.hpp"
#include "traces/model_layout.hpp"

namespace edgesim::sim {

using nlohmann::json;

void apply_model_source(json& config, const std::string& path) {
  const traces::ModelSource src = traces::load_model_source(path);
  json model = json::object();
  if (config.contains("model") && config["model"].is_object()) {
    for (const auto& [k, v] : config["model"].items()) {
      if (traces::is_model_storage_key(k) && k != "hf_config") model[k] = v;
    }
  }
  for (const auto& [k, v] : src.model.items()) model[k] = v;
  model["source"] = src.description;
  config["model"] = model;
}

void resolve_model_source(json& config) {
  if (!config.is_object() || !config.contains("model") || !config["model"].is_object()) return;
  const json& model = config["model"];
  if (!model.contains("hf_config")) return;
  if (!model["hf_config"].is_string()) {
    config::fail_at("model.hf_config", "expected a path, builtin:PATH or a built-in model's name, not " +
                                           model["hf_config"].dump());
  }
  const std::string path = model["hf_config"].get<std::string>();
  try {
    apply_model_source(config, path);
  } catch (const InputError& e) {
    config::fail_at("model.hf_config", e.what());
  }
}

json load_experiment_config(const std::string& path) {
  json cfg = config::load_config(path);
  resolve_model_source(cfg);
  return cfg;
}

}  // namespace edgesim::sim
