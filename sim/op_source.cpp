#include "sim/op_source.hpp"

namespace edgesim::sim {

ClosedLoopSource::ClosedLoopSource(const Experiment& exp, const traces::ResidencyView& cache,
                                   traces::TraceWriter* recorder)
    : exp_(exp), cache_(cache), recorder_(recorder), rng_(exp.run.seed) {}

void ClosedLoopSource::flush() {
  if (in_step_ && recorder_) recorder_->write_step(current_);
  in_step_ = false;
}

bool ClosedLoopSource::begin_step(traces::StepInfo& info) {
  flush();
  if (step_ >= exp_.run.total_steps()) return false;
  current_.info.position = exp_.run.first_position(*exp_.layout) + step_;
  current_.info.token = static_cast<uint32_t>(rng_() % exp_.layout->vocab_size());
  current_.ops.clear();
  current_.events.clear();
  exp_.adapter->events_at(step_, current_.events);
  info = current_.info;
  op_ = 0;
  in_step_ = true;
  return true;
}

bool ClosedLoopSource::next_op(traces::OpAccess& op) {
  const auto& ops = exp_.layout->ops();
  if (op_ >= ops.size()) {
    ++step_;
    return false;
  }
  const traces::OpSpec& spec = ops[op_];
  op.op = static_cast<uint32_t>(op_);
  op.sets.resize(spec.tensors.size());
  traces::PolicyContext ctx{*exp_.layout, cache_, step_, current_.info, rng_};
  exp_.policy->select(ctx, spec, op.sets);
  op.needs_input = exp_.policy->needs_input(spec);
  const traces::TokenContext at{current_.info.position, exp_.run.encoder_tokens(*exp_.layout)};
  op.flops = exp_.layout->op_flops(spec, op.sets, at) + exp_.policy->extra_flops(spec);
  op.extra_dram_read_bytes = exp_.layout->op_kv_read_bytes(spec, at) + exp_.policy->extra_read_bytes(spec);
  op.extra_dram_write_bytes = exp_.layout->op_kv_write_bytes(spec);
  if (recorder_) current_.ops.push_back(op);
  ++op_;
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
