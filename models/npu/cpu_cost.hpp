#pragma once
// The host CPU beside the NPU (`device.cpu`): a Cortex-M-class core that runs, with
// TFLite Micro's optimised kernels, the ops Vela leaves off Ethos-U55 (support.hpp). A
// simple cost model: a fixed cost per op, cycles per multiply-accumulate for the
// weighted ops, per element for data movement and simple element-wise ops, and per
// element for transcendental ones (softmax, logistic, tanh, hard swish); converted to NPU
// cycles at the two clocks. The numbers are assumptions with their anchors in
// docs/npu.md ("The host CPU").
#include <cstdint>
#include <string>

#include "sim/core/config/params.hpp"

namespace edgesim::npu {

struct Network;
struct Op;
struct LayerPlan;
struct NpuSettings;

struct CpuSettings {
  std::string name = "cortex-m55";
  double clock = 500e6;                  // Hz
  double cycles_per_mac = 0.5;           // weighted ops (conv, depthwise, fully connected)
  double cycles_per_element = 2;         // pools, elementwise, data movement (per element read or written)
  double cycles_per_transcendental = 20;  // softmax, logistic, tanh, hard swish (per element)
  uint64_t op_overhead_cycles = 2000;    // per op: interpreter dispatch, kernel setup
  double energy_per_cycle = 20e-12;      // J per CPU cycle (core and its memory system)
};

/// The declarations of `device.cpu` (registered for describe and docs/config.md).
const config::ParamTable& cpu_params();
CpuSettings cpu_settings(const config::Params& p);

/// CPU cycles `op` of `net` costs.
uint64_t cpu_op_cycles(const Network& net, const Op& op, const CpuSettings& cpu);

/// The plan of an op the CPU runs: one job whose transfers are what the CPU reads and
/// writes (its weights and biases, uncompressed, from the weights' memory; its inputs
/// and output in the activations' memory) and whose compute is the CPU's cycles at the
/// NPU's clock; its energy the CPU's. Transfers and compute do not overlap (an
/// assumption: a Cortex-M stalls on its loads).
void plan_cpu_layer(LayerPlan& lp, const Network& net, const Op& op, const NpuSettings& s);

}  // namespace edgesim::npu
