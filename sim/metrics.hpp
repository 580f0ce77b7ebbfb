#pragma once
// Per-token metrics of a run from its per-step records (warm-up steps excluded).
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/experiment.hpp"
#include "sim/step_record.hpp"

namespace edgesim::sim {

nlohmann::json compute_metrics(const std::vector<StepRecord>& steps, uint64_t warmup,
                               const Footprint& footprint, double static_power);

/// What a retention rule by step (cache_policy window) adds: its memory management per
/// token (rows deleted, inserted and moved, their DRAM bytes and time) and the size of its
/// matrices (`matrix_bytes`: the most rows each tensor held, the paper's Req_i) against the
/// cached tensors' bytes.
nlohmann::json window_metrics(const std::vector<StepRecord>& steps, uint64_t warmup, uint64_t window_tokens,
                              uint64_t matrix_bytes, uint64_t cached_bytes);

/// What the encoder pass of an encoder-decoder model cost, once per run (`metrics.encoder_pass`).
nlohmann::json encoder_metrics(const StepRecord& pass, double static_power);

/// The adapter's metrics (per-token cost, switches, memory) and the weight formats' (bits
/// per weight, decode time), each present only when the config uses them.
nlohmann::json adapter_metrics(const Experiment& exp, const std::vector<StepRecord>& steps,
                               const std::vector<SwitchRecord>& switches, uint64_t warmup);

}  // namespace edgesim::sim
