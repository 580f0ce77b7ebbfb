#pragma once
// An experiment = device + model + policy + weight store + run settings, validated and
// resolved from a config: every section checked against its declarations, every model
// created by name through its registry, defaults filled in.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "models/cache/weight_store.hpp"
#include "models/compute/engine.hpp"
#include "models/memory/dram.hpp"
#include "models/memory/flash.hpp"
#include "sim/decoding.hpp"
#include "traces/adapter.hpp"
#include "traces/model_layout.hpp"
#include "traces/policy.hpp"

namespace edgesim::sim {

using nlohmann::json;

struct RunSettings {
  uint64_t tokens = 0;         // measured decode steps
  uint64_t warmup_tokens = 0;  // steps simulated first, not measured (the cache warms up)
  uint64_t prompt_tokens = 0;  // context already in the KV cache when decoding starts (an
                               // encoder-decoder model: the encoded prompt cross-attention reads)
  uint64_t seed = 0;
  uint64_t prefill_chunk = 0;  // prompt tokens a prefill step runs over; 0: the prompt is not simulated
  uint64_t total_steps() const { return tokens + warmup_tokens; }
  /// Decoder position of the first decode step: after the prompt, or, for an
  /// encoder-decoder model, 0 (the prompt went to the encoder).
  uint64_t first_position(const traces::ModelLayout& l) const {
    return l.encoder_decoder() ? 0 : prompt_tokens;
  }
  /// Tokens the encoder ran over (what cross-attention reads); 0 for a decoder-only model.
  uint64_t encoder_tokens(const traces::ModelLayout& l) const {
    return l.encoder_decoder() ? prompt_tokens : 0;
  }
};

/// DRAM the run needs, by part. `weight_cache` is the cache's capacity.
struct Footprint {
  uint64_t weights_pinned = 0, weight_cache = 0, kv_cache = 0, activations = 0, staging = 0;
  uint64_t adapters = 0;     // the most DRAM the active adapters hold at once
  bool has_adapter = false;  // an adapter is configured (its line then shows, even at 0)
  uint64_t available = 0;    // DRAM capacity less the reserved part
  uint64_t total() const {
    return weights_pinned + weight_cache + kv_cache + activations + staging + adapters;
  }
  json to_json() const;
};

struct Experiment {
  json config;  // the full resolved config: what results record
  std::unique_ptr<memory::Dram> dram;
  std::unique_ptr<memory::Flash> flash;
  std::unique_ptr<compute::Engine> compute;
  std::unique_ptr<compute::Engine>
      prefill_compute;  // device.prefill_compute; null: `compute` runs prompts too
  std::unique_ptr<traces::ModelLayout> layout;
  std::unique_ptr<traces::ModelLayout> second;  // the draft (speculative) or small decoder (hybrid); or null
  DecodingSettings decoding;
  std::vector<RunModel> models;  // layout, then second: how the weight store holds them
  std::unique_ptr<traces::Policy> policy;
  std::unique_ptr<traces::Adapter> adapter;                 // method none when the config has no adapter
  cache::WeightStore::ReplacementFactory make_replacement;  // one per cache partition
  cache::StoreSettings store;
  RunSettings run;
  Footprint footprint;
  double static_power = 0;
  bool flash_dram_concurrent = true;
};

/// Validates and resolves a merged config (after extends and overrides). Throws
/// InputError naming the JSON path of the first problem.
Experiment build_experiment(const json& raw);

}  // namespace edgesim::sim
