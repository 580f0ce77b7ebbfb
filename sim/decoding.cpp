#include "sim/decoding.hpp"

#include <cmath>
#include <fstream>

#include "sim/core/errors.hpp"
#include "sim/core/input_file.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::sim {

using config::Quantity;
using traces::Phase;
using traces::StepInfo;

namespace {

const config::ParamTable kDecodingParams = {{
    {"scheme",
     Quantity::String,
     "plain",
     "How tokens are generated: plain (the model, a token a step), speculative (a draft model proposes "
     "gamma tokens, the model verifies them in one pass) or hybrid (a large model encodes the prompt once, "
     "a small model decodes)",
     -INFINITY,
     INFINITY,
     {"plain", "speculative", "hybrid"}},
    {"draft", Quantity::String, "",
     "speculative: the draft model (what --model takes: a built-in model, an edgesim model JSON or a "
     "Hugging Face config.json); same vocabulary as the model"},
    {"gamma", Quantity::Integer, 4, "speculative: tokens the draft proposes per step", 1, 64},
    {"acceptance", Quantity::Real, 0.7,
     "speculative: chance the model accepts each drafted token (independent draws)", 0, 1},
    {"acceptance_trace", Quantity::String, "",
     "speculative: a recorded accept (1) / reject (0) sequence of verified drafted tokens; replaces "
     "acceptance"},
    {"encoder", Quantity::String, "",
     "hybrid: the large model that encodes the prompt (replaces the model section); empty: the model"},
    {"decoder", Quantity::String, "", "hybrid: the small model that decodes every token"},
    {"projector_hidden", Quantity::Integer, 0,
     "hybrid: inner width of the projector MLP (linear, ReLU, linear) from the large model's width to the "
     "small one's; 0: the small model's width",
     0, 1 << 20},
    {"placement",
     Quantity::String,
     "pinned",
     "Where the draft's or small decoder's weights live: pinned in DRAM, cached (sharing the weight cache) "
     "or streamed from flash",
     -INFINITY,
     INFINITY,
     {"pinned", "cached", "streamed"}},
    {"compare_plain", Quantity::Boolean, true,
     "Also run the model alone with plain decoding (a second process) and report the speed-up"},
}};

const SectionRegistration kDecodingSection("decoding",
                                           "How tokens are generated: plain, speculative or hybrid LLM-SLM",
                                           "decoding", kDecodingParams);

}  // namespace

const config::ParamTable& decoding_param_table() {
  return kDecodingParams;
}

uint64_t DecodingSettings::projector_bytes(Dtype weights) const {
  return dtype_bytes(weights, projector_in * projector_hidden + projector_hidden * projector_out);
}

uint64_t DecodingSettings::projector_flops_per_token() const {
  return 2 * (projector_in * projector_hidden + projector_hidden * projector_out);
}

std::vector<uint8_t> read_acceptance_trace(const std::string& path, const std::string& where) {
  std::ifstream in;
  try {
    open_input_file(in, path, "acceptance trace");
  } catch (const InputError& e) {
    config::fail_at(where, e.what());
  }
  std::vector<uint8_t> out;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    line = line.substr(0, line.find('#'));
    std::string word;
    auto flush = [&] {
      if (word.empty()) return;
      if (word != "0" && word != "1") {
        const std::string shown =  // a damaged file may hold a word of megabytes
            word.size() <= 40 ? "'" + word + "'"
                              : "'" + word.substr(0, 32) + "...' (" + std::to_string(word.size()) + " bytes)";
        config::fail_at(
            where, path + ":" + std::to_string(n) + ": " + shown + " is not 0 (rejected) or 1 (accepted)");
      }
      out.push_back(word == "1");
      word.clear();
    };
    for (char c : line) {
      if (c == ' ' || c == '\t' || c == ',' || c == '\r') {
        flush();
      } else {
        word += c;
      }
    }
    flush();
  }
  if (out.empty()) config::fail_at(where, "acceptance trace '" + path + "' holds no 0/1 outcome");
  return out;
}

double expected_tokens_per_step(double a, uint32_t gamma) {
  if (a >= 1) return gamma + 1.0;
  return (1 - std::pow(a, gamma + 1.0)) / (1 - a);
}

Acceptance::Acceptance(double rate, const std::vector<uint8_t>* trace, uint64_t seed)
    : rate_(rate), trace_(trace && !trace->empty() ? trace : nullptr), rng_(seed) {}

bool Acceptance::draw() {
  if (!trace_) return u_(rng_) < rate_;
  if (at_ == trace_->size()) {
    at_ = 0;
    ++wraps_;
  }
  return (*trace_)[at_++] != 0;
}

uint32_t Acceptance::accepted(uint32_t gamma) {
  uint32_t a = 0;
  while (a < gamma && draw()) ++a;
  return a;
}

std::vector<RunModel> lay_out_models(const traces::ModelLayout& first, const traces::ModelLayout* second) {
  std::vector<RunModel> out;
  uint32_t tensors = 0, chunks = 0;
  uint64_t flash = 0;
  for (const traces::ModelLayout* l : {&first, second}) {
    if (!l) continue;
    RunModel m;
    m.layout = l;
    m.tensor_base = tensors;
    m.chunk_base = chunks;
    m.flash_base = flash;
    auto ids = [&](const std::vector<traces::OpSpec>& ops) {
      std::vector<std::vector<uint32_t>> t;
      for (const auto& op : ops) {
        t.emplace_back(op.tensors);
        for (uint32_t& i : t.back()) i += tensors;
      }
      return t;
    };
    m.op_tensors = ids(l->ops());
    m.encoder_op_tensors = ids(l->encoder_ops());
    tensors += static_cast<uint32_t>(l->tensors().size());
    chunks += l->total_chunks();
    flash += l->total_weight_bytes();
    out.push_back(std::move(m));
  }
  return out;
}

StepPlan::StepPlan(const PlanSettings& s, Acceptance* acceptance) : s_(s), acceptance_(acceptance) {
  if (s_.scheme == Scheme::Hybrid) {
    // The large model encodes the prompt (its decoder-only form without the LM head), then
    // the small model takes the projected prompt in (its encoder, or a prefill).
    add_prompt(0, Phase::Encode);
    add_prompt(1, Phase::Prefill);
  } else if (s_.prefill_chunk > 0) {
    add_prompt(0, Phase::Prefill);
    if (s_.scheme == Scheme::Speculative) add_prompt(1, Phase::Prefill);
  }
}

uint64_t StepPlan::prompt_end(uint8_t m) const {
  return s_.models[m]->encoder_decoder() ? 0 : s_.prompt_tokens;
}

void StepPlan::add_prompt(uint8_t m, Phase decoder_phase) {
  if (s_.prompt_tokens == 0) return;
  StepInfo info;
  info.model = m;
  info.emitted = 0;
  if (s_.models[m]->encoder_decoder()) {
    // An encoder attends over the whole prompt in every layer: one pass, not chunked.
    info.phase = Phase::Encode;
    info.tokens = static_cast<uint32_t>(s_.prompt_tokens);
    prompt_.push_back(info);
    return;
  }
  info.phase = decoder_phase;
  const uint64_t chunk = s_.prefill_chunk > 0 ? s_.prefill_chunk : s_.prompt_tokens;
  for (uint64_t p = 0; p < s_.prompt_tokens; p += chunk) {
    info.position = p;
    info.tokens = static_cast<uint32_t>(std::min(chunk, s_.prompt_tokens - p));
    prompt_.push_back(info);
  }
}

bool StepPlan::next(StepInfo& info) {
  if (prompt_at_ < prompt_.size()) {
    info = prompt_[prompt_at_++];
    return true;
  }
  if (generated_ >= s_.total_tokens) return false;
  info = StepInfo{};
  if (s_.scheme != Scheme::Speculative) {
    info.model = s_.scheme == Scheme::Hybrid ? 1 : 0;
    info.position = prompt_end(info.model) + generated_;
    ++generated_;
    return true;
  }
  if (drafted_ < s_.gamma) {
    info.phase = Phase::Draft;
    info.model = 1;
    info.position = prompt_end(1) + generated_ + drafted_;
    info.emitted = 0;
    ++drafted_;
    return true;
  }
  info.phase = Phase::Verify;
  info.position = prompt_end(0) + generated_;
  info.tokens = s_.gamma + 1;
  info.emitted = acceptance_->accepted(s_.gamma) + 1;
  generated_ += info.emitted;
  drafted_ = 0;
  return true;
}

}  // namespace edgesim::sim
