#pragma once
// Where the simulator's ops come from, one step (token) at a time. Closed loop, a policy
// decides each op's chunks inside the simulation (seeing the cache as it is then); open
// loop, a recorded trace or a list of steps held in memory supplies them. The simulator
// cannot tell the two apart, so a replay of a recording gives identical results.
#include <memory>
#include <random>
#include <vector>

#include "sim/experiment.hpp"
#include "traces/trace_format.hpp"

namespace edgesim::sim {

class OpSource {
 public:
  virtual ~OpSource() = default;
  /// Starts the next step; false when there are no more.
  virtual bool begin_step(traces::StepInfo& info) = 0;
  /// The step's next op; false when the step has no more ops.
  virtual bool next_op(traces::OpAccess& op) = 0;
  /// Events of the step begun last (adapter switches), applied before its first op.
  virtual const std::vector<traces::Event>& events() const = 0;
};

/// The policy runs here. If a recorder is given, every step is also written to it.
/// Steps follow the experiment's plan (sim/decoding.hpp): the prompt's, then generation.
/// The policy chooses the chunks of the experiment's model; a second model reads densely.
class ClosedLoopSource final : public OpSource {
 public:
  ClosedLoopSource(const Experiment& exp, const traces::ResidencyView& cache, traces::TraceWriter* recorder);
  bool begin_step(traces::StepInfo& info) override;
  bool next_op(traces::OpAccess& op) override;
  const std::vector<traces::Event>& events() const override { return current_.events; }
  /// Times a recorded acceptance trace restarted from its beginning.
  uint64_t acceptance_wraps() const { return acceptance_.wraps(); }

 private:
  void flush();
  /// False when the step skips `op`: an LM head no token of the pass needs, or, in the
  /// hybrid scheme's encoding, the large model's cross-attention projections.
  bool runs(const traces::OpSpec& op) const;
  const Experiment& exp_;
  const traces::ResidencyView& cache_;
  traces::TraceWriter* recorder_;
  std::mt19937_64 rng_;
  Acceptance acceptance_;
  StepPlan plan_;
  uint64_t decode_step_ = 0;  // decode steps of the experiment's model begun (what policies count)
  size_t op_ = 0;
  bool in_step_ = false;
  traces::Step current_;
};

/// Replays steps held in memory (a decoded trace, or a policy's steps made in advance).
class StepListSource final : public OpSource {
 public:
  explicit StepListSource(std::vector<traces::Step> steps) : steps_(std::move(steps)) {}
  bool begin_step(traces::StepInfo& info) override;
  bool next_op(traces::OpAccess& op) override;
  const std::vector<traces::Event>& events() const override {
    static const std::vector<traces::Event> none;
    return step_ < steps_.size() ? steps_[step_].events : none;
  }
  const std::vector<traces::Step>& steps() const { return steps_; }

 private:
  std::vector<traces::Step> steps_;
  size_t step_ = 0, op_ = 0;
  bool started_ = false;
};

/// Streams a trace file step by step.
class TraceSource final : public OpSource {
 public:
  explicit TraceSource(traces::TraceReader& reader) : reader_(reader) {}
  bool begin_step(traces::StepInfo& info) override;
  bool next_op(traces::OpAccess& op) override;
  const std::vector<traces::Event>& events() const override { return step_.events; }

 private:
  traces::TraceReader& reader_;
  traces::Step step_;
  size_t op_ = 0;
};

/// Runs a cache-independent policy for every step of the run, without simulating.
std::vector<traces::Step> generate_steps(const Experiment& exp);

}  // namespace edgesim::sim
