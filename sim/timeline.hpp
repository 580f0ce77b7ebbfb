#pragma once
// A timeline of a run for people to look at: Chrome trace-event JSON, which Perfetto
// (ui.perfetto.dev) and chrome://tracing open. One process with four lanes (threads):
// flash reads, DRAM reads and writes, compute, and the tokens (and adapter switches). Each op's weight load
// and its compute are "X" (complete) events named after the op ("layers.3.mlp"), with the token, layer and
// bytes or FLOPs in their args; times in microseconds of simulated time. Only the tokens in a chosen range
// are recorded, to keep files small; with no timeline the simulation pays one null-pointer test per op.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/decoding.hpp"
#include "sim/step_record.hpp"

namespace edgesim::sim {

/// Steps (tokens) [first, last), counted from 0 at the first warm-up token.
struct TokenRange {
  uint64_t first = 0, last = 4;
  bool contains(uint64_t step) const { return step >= first && step < last; }
};

/// Parses "A:B" (tokens A to B-1), "A:" (A to the end), ":B" or "A" (token A alone).
/// Throws InputError naming `where` otherwise.
TokenRange parse_token_range(const std::string& text, const std::string& where);

class Timeline {
 public:
  /// `concurrent`: flash and DRAM work on a load at the same time (else flash, then DRAM).
  Timeline(TokenRange tokens, bool concurrent) : tokens_(tokens), concurrent_(concurrent) {}

  bool wants(uint64_t step) const { return tokens_.contains(step); }
  const TokenRange& tokens() const { return tokens_; }

  /// An op's weights loaded from `start` (s): flash busy `flash_time`, DRAM `dram_time`.
  void load(uint64_t step, uint32_t op, double start, double flash_time, double dram_time,
            uint64_t flash_bytes, uint64_t dram_read_bytes, uint64_t dram_write_bytes);
  /// An op computed from `start` (s) for `duration` (s).
  void compute(uint64_t step, uint32_t op, double start, double duration, uint64_t flops);

  /// An adapter switch (bitmasks of active adapter ids `from` -> `to`) from `start` (s).
  void adapter_switch(uint64_t step, double start, double duration, uint64_t from, uint64_t to);

  /// After the run: an event per step in range, from the end of the previous step to the
  /// end of this one, on its phase's lane (decode tokens, prefill and encoding, draft,
  /// verification). Steps before `first_measured` are warm-up (or the prompt's).
  void add_tokens(const std::vector<StepRecord>& steps, size_t first_measured);

  /// The trace-event document: lane names, then the recorded events, ops named from the
  /// run's models. `about` goes to otherData; its "title" names the process.
  nlohmann::json to_json(const std::vector<RunModel>& models, const nlohmann::json& about) const;

 private:
  enum class Lane : uint8_t {
    Flash = 1,
    Dram = 2,
    Compute = 3,
    Tokens = 4,
    Adapter = 5,
    Prompt = 6,
    Draft = 7,
    Verify = 8
  };
  struct Event {
    double start, duration;  // s
    uint64_t step;
    uint64_t a, b;  // flash: bytes; DRAM: read, write bytes; compute: FLOPs; token: ops, warm-up;
                    // adapter: adapters before, after
    uint32_t op;
    Lane lane;
  };
  TokenRange tokens_;
  bool concurrent_;
  std::vector<Event> events_;
  uint64_t steps_ = 0;                  // steps the run had
  std::vector<traces::StepInfo> info_;  // per step of the run: its phase and model
};

}  // namespace edgesim::sim
