#include "models/npu/cpu_cost.hpp"

#include <cmath>

#include "models/npu/network.hpp"
#include "models/npu/timing.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::npu {

namespace {
using config::Quantity;
// Defaults: a Cortex-M55 at the NPU's clock running TFLite Micro with CMSIS-NN kernels
// (Lai, Suda, Chandra, "CMSIS-NN: Efficient Neural Network Kernels for Arm Cortex-M
// CPUs", arXiv 1801.06601, 2018: int8 MACs through the DSP extension's 2-lane SMLAD on
// Cortex-M4/M7). Helium (MVE) on the M55 has 4x the int8 lanes; 0.5 cycles per MAC is our
// assumption for it, not a measurement. The other figures are assumptions too
// (docs/npu.md, "The host CPU").
const config::ParamTable kParams = {{
    {"name", Quantity::String, "cortex-m55", "Name shown in results"},
    {"clock", Quantity::Frequency, "500 MHz", "CPU core clock", 1e6, 1e10},
    {"cycles_per_mac", Quantity::Real, 0.5,
     "CPU cycles per multiply-accumulate of a conv, depthwise or fully connected op it runs", 0, 1e6},
    {"cycles_per_element", Quantity::Real, 2.0,
     "CPU cycles per element of a pool, elementwise or data-movement op it runs", 0, 1e6},
    {"cycles_per_transcendental", Quantity::Real, 20.0,
     "CPU cycles per element of softmax, logistic, tanh or hard swish", 0, 1e6},
    {"op_overhead_cycles", Quantity::Integer, 2000, "CPU cycles per op (interpreter dispatch, kernel setup)",
     0, 1e9},
    {"energy_per_cycle", Quantity::Energy, "20 pJ", "Energy per CPU cycle (core and its memory system)", 0,
     1e-6},
}};
const SectionRegistration kSection("cpu", "Host CPU running the ops the NPU cannot (edgesim npu)",
                                   "device.cpu", kParams);
}  // namespace

const config::ParamTable& cpu_params() {
  return kParams;
}

CpuSettings cpu_settings(const config::Params& p) {
  CpuSettings s;
  s.name = p.text("name");
  s.clock = p.number("clock");
  s.cycles_per_mac = p.number("cycles_per_mac");
  s.cycles_per_element = p.number("cycles_per_element");
  s.cycles_per_transcendental = p.number("cycles_per_transcendental");
  s.op_overhead_cycles = static_cast<uint64_t>(p.integer("op_overhead_cycles"));
  s.energy_per_cycle = p.number("energy_per_cycle");
  return s;
}

uint64_t cpu_op_cycles(const Network& net, const Op& op, const CpuSettings& cpu) {
  const Tensor& in = net.tensors[static_cast<size_t>(op.inputs[0])];
  const Tensor& out = net.tensors[static_cast<size_t>(op.output)];
  double work = 0;
  switch (op.type) {
    case OpType::Conv2d:
    case OpType::DepthwiseConv2d:
    case OpType::FullyConnected: work = static_cast<double>(op.macs) * cpu.cycles_per_mac; break;
    case OpType::Softmax:
    case OpType::Logistic:
    case OpType::Tanh:
    case OpType::HardSwish: work = static_cast<double>(out.size()) * cpu.cycles_per_transcendental; break;
    case OpType::Reshape: work = 0; break;  // the same bytes under another shape
    case OpType::AvgPool:
    case OpType::MaxPool:
    case OpType::Mean:
      work = static_cast<double>(std::max(op.macs, in.size())) * cpu.cycles_per_element;  // every value read
      break;
    default: work = static_cast<double>(out.size()) * cpu.cycles_per_element;
  }
  return cpu.op_overhead_cycles + static_cast<uint64_t>(std::ceil(work));
}

void plan_cpu_layer(LayerPlan& lp, const Network& net, const Op& op, const NpuSettings& s) {
  lp.on_cpu = true;
  lp.jobs.clear();
  lp.dma.clear();
  lp.block_h = lp.block_w = lp.block_c = 0;
  lp.macs = 0;  // no MAC of the NPU's array
  const uint64_t cycles = cpu_op_cycles(net, op, s.cpu);
  const bool moves = op.type != OpType::Reshape;
  uint64_t in_bytes = 0;
  for (int t : op.inputs) in_bytes += net.tensors[static_cast<size_t>(t)].size();
  // What the CPU reads and writes: its inputs and output in the activations' memory, its
  // weights and biases, uncompressed, from the weights' memory.
  lp.fm_read_bytes = moves ? in_bytes : 0;
  lp.fm_write_bytes = moves ? net.tensors[static_cast<size_t>(op.output)].size() : 0;
  lp.direct_bytes = op.weights.size() + 4 * op.bias.size();
  Job j;
  j.fm_bytes = static_cast<uint32_t>(lp.fm_read_bytes + lp.fm_write_bytes);
  j.direct_bytes = static_cast<uint32_t>(lp.direct_bytes);
  j.compute_cycles = static_cast<uint64_t>(std::ceil(static_cast<double>(cycles) * s.clock / s.cpu.clock));
  lp.weight_stream_bytes = lp.direct_bytes;
  lp.weight_fetches = op.weights.empty() ? 0 : 1;
  lp.cpu_energy = static_cast<double>(cycles) * s.cpu.energy_per_cycle;
  lp.jobs.push_back(j);
}

}  // namespace edgesim::npu
