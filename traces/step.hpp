#pragma once
// What one op needs (a chunk set per tensor), what it costs beyond its weights, and a
// step (a token) as a sequence of ops in execution order.
#include <cstdint>
#include <vector>

#include "sim/core/chunk_set.hpp"

namespace edgesim::traces {

/// Events inside a step, e.g. an adapter switch. Type 0 is reserved; later issues add types.
struct Event {
  uint32_t type = 0;
  uint64_t value = 0;
  bool operator==(const Event& o) const { return type == o.type && value == o.value; }
};

struct OpAccess {
  uint32_t op = 0;                      // index into the model's op table
  bool needs_input = false;             // its chunk set depends on the op's input activations
  uint64_t flops = 0;                   // compute the op costs
  uint64_t extra_dram_read_bytes = 0;   // DRAM reads beyond weights (the KV cache)
  uint64_t extra_dram_write_bytes = 0;  // DRAM writes beyond weights (this token's keys and values)
  std::vector<ChunkSet> sets;           // one per tensor of the op, in the op's tensor order
  bool operator==(const OpAccess& o) const {
    return op == o.op && needs_input == o.needs_input && flops == o.flops &&
           extra_dram_read_bytes == o.extra_dram_read_bytes &&
           extra_dram_write_bytes == o.extra_dram_write_bytes && sets == o.sets;
  }
};

/// What a step does (docs/decoding.md). Decode: one token of the model decoding;
/// Prefill: a chunk of the prompt through a decoder (its KV cache written); Encode: the
/// prompt through an encoder (an encoder-decoder model's, or the large model of the hybrid
/// scheme); Draft: one token of a speculative draft model; Verify: the target over the
/// drafted tokens at once.
enum class Phase : uint8_t { Decode = 0, Prefill = 1, Encode = 2, Draft = 3, Verify = 4 };
constexpr int kPhases = 5;
inline const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Decode: return "decode";
    case Phase::Prefill: return "prefill";
    case Phase::Encode: return "encode";
    case Phase::Draft: return "draft";
    case Phase::Verify: return "verify";
  }
  return "?";
}

struct StepInfo {
  uint64_t position = 0;  // context position of the (first) token the step runs over
  uint32_t token = 0;     // token id fed at this step
  Phase phase = Phase::Decode;
  uint8_t model = 0;     // 0: the experiment's model; 1: the draft or the hybrid scheme's small decoder
  uint32_t tokens = 1;   // positions the step runs over at once (a prefill chunk; G + 1 verified)
  uint32_t emitted = 1;  // tokens the step adds to the output (a verification: those accepted + 1)
  bool operator==(const StepInfo& o) const {
    return position == o.position && token == o.token && phase == o.phase && model == o.model &&
           tokens == o.tokens && emitted == o.emitted;
  }
};

struct Step {
  StepInfo info;
  std::vector<OpAccess> ops;
  std::vector<Event> events;
  bool operator==(const Step& o) const { return info == o.info && ops == o.ops && events == o.events; }
};

}  // namespace edgesim::traces
