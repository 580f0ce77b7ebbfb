#pragma once
// Per-token metrics of a run from its per-step records (warm-up steps excluded).
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/experiment.hpp"
#include "sim/step_record.hpp"

namespace edgesim::sim {

/// Index of the first measured step: the first generation step once run.warmup_tokens
/// tokens have been generated (prompt steps and warm-up come before it). Throws InputError
/// when no step is left to measure.
size_t first_measured(const std::vector<StepRecord>& steps, uint64_t warmup_tokens);

/// Per-token metrics of the generation steps from `first` on (tokens/s counts the tokens
/// they emit), and, when the run simulated its prompt, time to first token and the
/// prompt's throughput and energy ("prefill").
nlohmann::json compute_metrics(const std::vector<StepRecord>& steps, size_t first, const Footprint& footprint,
                               double static_power);

/// The decoding scheme's metrics: "speculative" (tokens per step against (1 - A^(G+1)) /
/// (1 - A), the draft/verify split) or "hybrid" (the large model's encoding, the small
/// model's decoding); empty for plain decoding.
nlohmann::json decoding_metrics(const Experiment& exp, const std::vector<StepRecord>& steps, size_t first);

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
                               const std::vector<SwitchRecord>& switches, size_t first);

}  // namespace edgesim::sim
