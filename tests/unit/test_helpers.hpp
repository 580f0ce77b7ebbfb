#pragma once
// Small builders shared by the unit tests.
#include <nlohmann/json.hpp>

#include "sim/core/config/params.hpp"
#include "traces/model_layout.hpp"

namespace edgesim::test {

/// The synthetic tiny model (configs/models/tiny.json's shape), with overrides.
inline nlohmann::json tiny_model_json(const nlohmann::json& over = nlohmann::json::object()) {
  nlohmann::json m = {{"name", "tiny"},           {"layers", 2},        {"hidden_size", 64},
                      {"intermediate_size", 128}, {"heads", 4},         {"kv_heads", 2},
                      {"vocab_size", 256},        {"max_context", 256}, {"weight_dtype", "fp16"}};
  m.merge_patch(over);
  return m;
}

inline traces::ModelLayout tiny_layout(const nlohmann::json& over = nlohmann::json::object()) {
  return traces::ModelLayout(
      config::Params(traces::ModelLayout::param_table(), tiny_model_json(over), "model"));
}

}  // namespace edgesim::test
