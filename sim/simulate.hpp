#pragma once
// Runs one simulation point: builds the SystemC top for an experiment, runs it to the
// end, and turns the per-step records into metrics. SystemC elaborates once per process,
// so this runs at most once per process.
#include <nlohmann/json.hpp>

#include "sim/experiment.hpp"
#include "sim/timeline.hpp"
#include "traces/trace_format.hpp"

namespace edgesim::sim {

struct SimulateOptions {
  traces::TraceWriter* record = nullptr;  // closed loop: also write the steps here
  traces::TraceReader* replay = nullptr;  // open loop: replay this trace instead of the policy
  bool progress = false;                  // a progress bar on stderr
  Timeline* timeline = nullptr;           // record the ops of its tokens here
};

struct SimulationResult {
  nlohmann::json metrics;
  nlohmann::json stats;
  uint64_t steps = 0;
};

SimulationResult simulate(Experiment& exp, const SimulateOptions& options);

}  // namespace edgesim::sim
