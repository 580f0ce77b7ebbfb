#pragma once
// Model shapes from a Hugging Face config.json (docs/models.md §12). One table row per
// model_type says which config.json key feeds which edgesim model key (with the default
// the transformers class uses when the key is absent), what the type fixes (MLP kind,
// norm, biases, block structure), and the few steps a table cannot say as a key-to-key
// rule (Falcon's multi-query flag, T5's feed_forward_proj, an MoE's router). An unknown
// model_type, a missing key or a value edgesim does not model is an InputError that names
// the key and the file.
//
// A model source (what `--model PATH` and `model.hf_config` take) is a built-in preset by
// short name ("opt-6.7b": configs/models/NAME.json, else configs/hf/NAME/config.json), a
// builtin: path, an edgesim model JSON (its model section), or a config.json.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgesim::traces {

/// True when `doc` is a Hugging Face config.json: an object naming a model_type.
bool is_hf_config(const nlohmann::json& doc);

/// The edgesim model section (shape keys only, no dtypes) a config.json maps to. `origin`
/// names the file in errors; `name` becomes model.name.
nlohmann::json model_from_hf_config(const nlohmann::json& hf, const std::string& origin,
                                    const std::string& name);

/// The model types understood, each with what it maps to (docs/models.md prints them).
struct HfModelType {
  std::string model_type, maps_to;
};
std::vector<HfModelType> hf_model_types();

/// A model shape loaded from a model source.
struct ModelSource {
  nlohmann::json model;     // the shape keys of a model section (is_model_storage_key: none)
  std::string description;  // "builtin:hf/opt-6.7b/config.json (Hugging Face config.json, model_type opt)"
};
/// Loads a model source. Throws InputError naming the path (and the key) on bad input.
ModelSource load_model_source(const std::string& path);

}  // namespace edgesim::traces
