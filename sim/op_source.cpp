#include "sim/op_source.hpp"

namespace edgesim::sim {

namespace {

PlanSettings plan_settings(const Experiment& exp) {
  PlanSettings p;
  p.scheme = exp.decoding.scheme;
  p.prompt_tokens = exp.run.prompt_tokens;
  p.prefill_chunk = exp.run.prefill_chunk;
  p.total_tokens = exp.run.total_steps();
  p.gamma = exp.decoding.gamma;
  p.models[0] = exp.layout.get();
  p.models[1] = exp.second.get();
  return p;
}

}  // namespace

ClosedLoopSource::ClosedLoopSource(const Experiment& exp, const traces::ResidencyView& cache,
                                   traces::TraceWriter* recorder)
    : exp_(exp),
      cache_(cache),
      recorder_(recorder),
      rng_(exp.run.seed),
      // Its own generator: the tokens' and the policy's draws stay those of plain decoding.
      acceptance_(exp.decoding.acceptance, &exp.decoding.acceptance_trace, exp.run.seed ^ 0x5eed5a11u),
      plan_(plan_settings(exp), &acceptance_) {}

void ClosedLoopSource::flush() {
  if (in_step_ && recorder_) recorder_->write_step(current_);
  in_step_ = false;
}

bool ClosedLoopSource::begin_step(traces::StepInfo& info) {
  flush();
  if (!plan_.next(current_.info)) return false;
  const bool policy_step = current_.info.model == 0 && current_.info.phase == traces::Phase::Decode;
  if (policy_step) ++decode_step_;
  current_.info.token = static_cast<uint32_t>(rng_() % exp_.models[current_.info.model].layout->vocab_size());
  current_.ops.clear();
  current_.events.clear();
  // Adapter switches are counted in the experiment's model's decode steps.
  if (policy_step) exp_.adapter->events_at(decode_step_ - 1, current_.events);
  info = current_.info;
  op_ = 0;
  in_step_ = true;
  return true;
}

bool ClosedLoopSource::runs(const traces::OpSpec& op) const {
  const traces::StepInfo& i = current_.info;
  if (exp_.decoding.scheme == Scheme::Hybrid && i.model == 0) return !hybrid_encoder_skips(op);
  // A prompt step needs logits only for the prompt's last token, in the model that
  // generates next.
  if (op.kind == traces::OpKind::Head && i.phase == traces::Phase::Prefill)
    return i.position + i.tokens == exp_.run.prompt_tokens;
  return true;
}

bool ClosedLoopSource::next_op(traces::OpAccess& op) {
  const traces::StepInfo& info = current_.info;
  const RunModel& model = exp_.models[info.model];
  const traces::ModelLayout& layout = *model.layout;
  const auto& ops = model.table(info.phase);
  while (op_ < ops.size() && !runs(ops[op_])) ++op_;
  if (op_ >= ops.size()) return false;
  const traces::OpSpec& spec = ops[op_];
  op.op = static_cast<uint32_t>(op_);
  op.sets.resize(spec.tensors.size());
  // The policy steers the experiment's model; decode steps count its tokens.
  const bool policy = info.model == 0;
  const uint64_t step = decode_step_ > 0 ? decode_step_ - 1 : 0;
  traces::PolicyContext ctx{layout, cache_, step, info, rng_};
  const bool single = info.tokens == 1 && info.phase != traces::Phase::Encode;
  if (policy && single) {
    exp_.policy->select(ctx, spec, op.sets);
  } else if (policy) {
    exp_.policy->select_pass(ctx, spec, op.sets);
  } else {
    traces::select_dense_pass(ctx, spec, op.sets);
  }
  op.needs_input = policy && single && exp_.policy->needs_input(spec);
  if (model.encoder_table(info.phase)) {
    op.flops = layout.pass_flops(spec, info.tokens);
    op.extra_dram_read_bytes = 0;
    op.extra_dram_write_bytes = layout.pass_kv_write_bytes(spec, info.tokens);
  } else {
    traces::TokenContext at{info.position, exp_.run.encoder_tokens(layout)};
    uint64_t tokens = info.tokens;
    if (spec.kind == traces::OpKind::Head && info.phase == traces::Phase::Prefill) {
      at.position += tokens - 1;  // the LM head computes the prompt's last token's logits only
      tokens = 1;
    }
    op.flops = layout.op_flops(spec, op.sets, at, tokens);
    op.extra_dram_read_bytes = layout.op_kv_read_bytes(spec, at);
    op.extra_dram_write_bytes = layout.op_kv_write_bytes(spec, info.tokens);
  }
  if (policy && single) {
    op.flops += exp_.policy->extra_flops(spec);
    op.extra_dram_read_bytes += exp_.policy->extra_read_bytes(spec);
  }
  ++op_;
  if (exp_.decoding.scheme == Scheme::Hybrid && info.model == 0 && info.phase == traces::Phase::Encode &&
      info.position + info.tokens == exp_.run.prompt_tokens) {
    // The projector maps the large model's representation of every prompt token to the
    // small model's width once, after the prompt's last encoding op: its weights (pinned)
    // read from DRAM, its FLOPs computed with that op.
    bool last = true;
    for (size_t k = op_; k < ops.size(); ++k) last = last && !runs(ops[k]);
    if (last) {
      op.flops += exp_.decoding.projector_flops_per_token() * exp_.run.prompt_tokens;
      op.extra_dram_read_bytes += exp_.decoding.projector_bytes(layout.weight_dtype());
    }
  }
  if (recorder_) current_.ops.push_back(op);
  return true;
}

bool StepListSource::begin_step(traces::StepInfo& info) {
  if (started_) ++step_;
  started_ = true;
  op_ = 0;
  if (step_ >= steps_.size()) return false;
  info = steps_[step_].info;
  return true;
}

bool StepListSource::next_op(traces::OpAccess& op) {
  const auto& ops = steps_[step_].ops;
  if (op_ >= ops.size()) return false;
  op = ops[op_++];
  return true;
}

bool TraceSource::begin_step(traces::StepInfo& info) {
  if (!reader_.next(step_)) return false;
  info = step_.info;
  op_ = 0;
  return true;
}

bool TraceSource::next_op(traces::OpAccess& op) {
  if (op_ >= step_.ops.size()) return false;
  op = step_.ops[op_++];
  return true;
}

namespace {
// A cache that holds nothing: what a cache-independent policy is shown when its steps are
// generated ahead of the simulation.
class NoResidency final : public traces::ResidencyView {
 public:
  bool resident(uint32_t) const override { return false; }
};
}  // namespace

std::vector<traces::Step> generate_steps(const Experiment& exp) {
  NoResidency none;
  ClosedLoopSource src(exp, none, nullptr);
  std::vector<traces::Step> steps;
  traces::StepInfo info;
  while (src.begin_step(info)) {
    traces::Step s;
    s.info = info;
    s.events = src.events();
    traces::OpAccess op;
    while (src.next_op(op)) s.ops.push_back(op);
    steps.push_back(std::move(s));
  }
  return steps;
}

}  // namespace edgesim::sim
