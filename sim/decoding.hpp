#pragma once
// How a run generates tokens (docs/decoding.md): plain decoding, speculative decoding
// with a draft model, or the hybrid LLM-SLM scheme; and, before any of them, the prompt
// run through the model in chunks (run.prefill_chunk). This file holds the `decoding`
// section's settings, the models a run keeps in one weight store, and the plan of steps a
// run follows.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/cache/weight_store.hpp"
#include "traces/model_layout.hpp"

namespace edgesim::sim {

enum class Scheme : uint8_t { Plain, Speculative, Hybrid };

struct DecodingSettings {
  Scheme scheme = Scheme::Plain;
  uint32_t gamma = 0;                     // speculative: tokens drafted per step
  double acceptance = 0;                  // speculative: chance the target accepts a drafted token
  std::vector<uint8_t> acceptance_trace;  // recorded accept (1) / reject (0) outcomes; empty: `acceptance`
  cache::Placement second_placement = cache::Placement::Dram;  // the draft's or small decoder's weights
  uint64_t projector_in = 0, projector_hidden = 0, projector_out = 0;  // hybrid: the MLP's widths
  bool compare_plain = true;  // run the experiment's model alone as well, and report the speed-up
  /// Hybrid: bytes of the projector's weights (pinned in DRAM) and FLOPs a token costs.
  uint64_t projector_bytes(Dtype weights) const;
  uint64_t projector_flops_per_token() const;
};

/// The `decoding` section's parameter table (docs/decoding.md; `describe section decoding`).
const config::ParamTable& decoding_param_table();

/// Reads a recorded acceptance trace: 0 (rejected) and 1 (accepted) per verified drafted
/// token, separated by white space or commas; '#' starts a comment. Throws InputError
/// naming `where` and the line of the first bad entry.
std::vector<uint8_t> read_acceptance_trace(const std::string& path, const std::string& where);

/// Expected tokens one speculative step yields with i.i.d. acceptance `a` of each drafted
/// token and `gamma` drafted (Leviathan et al. 2023, eq. 1): (1 - a^(gamma+1)) / (1 - a).
double expected_tokens_per_step(double a, uint32_t gamma);

/// Draws how many of `gamma` drafted tokens the target accepts: the leading accepted ones,
/// each accepted with probability `rate` (its own seeded generator) or, given a recorded
/// trace, as recorded (each verified token consumes one entry, the first rejection
/// included; the trace restarts at its end).
class Acceptance {
 public:
  Acceptance(double rate, const std::vector<uint8_t>* trace, uint64_t seed);
  uint32_t accepted(uint32_t gamma);
  uint64_t wraps() const { return wraps_; }  // times the trace restarted

 private:
  bool draw();
  double rate_;
  const std::vector<uint8_t>* trace_;
  size_t at_ = 0;
  uint64_t wraps_ = 0;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> u_{0.0, 1.0};
};

/// One of the models a run keeps in its weight store: the experiment's model (index 0),
/// then the draft (speculative) or the small decoder (hybrid). The second's tensors come
/// after the first's in the store, its chunk ids and flash image after the first's.
struct RunModel {
  const traces::ModelLayout* layout = nullptr;
  uint32_t tensor_base = 0, chunk_base = 0;
  uint64_t flash_base = 0;
  std::vector<std::vector<uint32_t>> op_tensors, encoder_op_tensors;  // store tensor ids per op

  /// The op table a phase runs: the encoder's for an encoder-decoder model's Encode steps,
  /// the decoder's otherwise.
  bool encoder_table(traces::Phase p) const {
    return p == traces::Phase::Encode && layout->encoder_decoder();
  }
  const std::vector<traces::OpSpec>& table(traces::Phase p) const {
    return encoder_table(p) ? layout->encoder_ops() : layout->ops();
  }
  const std::vector<uint32_t>& store_tensors(traces::Phase p, uint32_t op) const {
    return encoder_table(p) ? encoder_op_tensors[op] : op_tensors[op];
  }
};

/// The hybrid scheme's large model runs only to encode the prompt: without its LM head
/// and without an encoder-decoder's cross-attention key/value projections (its decoder
/// is not used at all).
inline bool hybrid_encoder_skips(const traces::OpSpec& op) {
  return op.kind == traces::OpKind::Head || op.kind == traces::OpKind::CrossKv;
}

/// The run's models, laid out one after the other.
std::vector<RunModel> lay_out_models(const traces::ModelLayout& first, const traces::ModelLayout* second);

/// What the step plan needs from the experiment.
struct PlanSettings {
  Scheme scheme = Scheme::Plain;
  uint64_t prompt_tokens = 0, prefill_chunk = 0, total_tokens = 0;
  uint32_t gamma = 0;
  const traces::ModelLayout* models[2] = {nullptr, nullptr};
};

/// The steps of a run, in order: the prompt's (prefill chunks of a decoder, one pass of an
/// encoder), then generation: a step a token (plain, hybrid), or rounds of gamma draft
/// steps and one verification (speculative) until total_tokens are generated.
class StepPlan {
 public:
  StepPlan(const PlanSettings& s, Acceptance* acceptance);
  /// The next step's position, phase, model, tokens and emitted tokens; false at the end.
  bool next(traces::StepInfo& info);
  /// The position right after the prompt of model `m` (its decoder's first position).
  uint64_t prompt_end(uint8_t m) const;

 private:
  void add_prompt(uint8_t m, traces::Phase decoder_phase);
  PlanSettings s_;
  Acceptance* acceptance_;
  std::vector<traces::StepInfo> prompt_;  // the prompt's steps, in order
  size_t prompt_at_ = 0;
  uint64_t generated_ = 0;  // tokens generated so far
  uint32_t drafted_ = 0;    // draft steps of the current round so far
};

}  // namespace edgesim::sim
