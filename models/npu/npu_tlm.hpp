#pragma once
// Thin SystemC/TLM-2.0 wrapper of the NPU: a DMA process copies a plan's DMA items and a
// compute process runs its jobs, layer by layer, under the same rules as the pure C++
// schedule (timing.hpp, time_layer): an item waits for its gate and its buffer, a job for
// the items it needs. Both reach the memory models through TLM targets
// (models/memory/memory_tlm.hpp); the compute process waits each job's cycles, accounts
// the layer's own traffic at its end and runs the layer's bit-exact functional execution
// (executor.hpp) when one is given.
#include <tlm_utils/simple_initiator_socket.h>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/npu/executor.hpp"
#include "models/npu/timing.hpp"
#include "sim/core/stats.hpp"

namespace edgesim::npu {

class NpuModule : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(NpuModule);
  /// One initiator socket per memory the plan uses (index Mem); bind them before running.
  std::unique_ptr<tlm_utils::simple_initiator_socket<NpuModule>> port[kMemories];

  NpuModule(sc_core::sc_module_name name, const Plan& plan, Executor* exec, sim::Stats& stats);
  /// What the run measured, in the pure schedule's terms (filled when the processes end).
  const Timing& timing() const { return timing_; }

 private:
  void dma_process();
  void compute_process();
  Transfer access(Mem m, uint64_t bytes, bool write, sc_core::sc_time at);
  uint64_t now_cycles() const;

  const Plan& plan_;
  Executor* exec_;
  sc_core::sc_time period_;
  Timing timing_;
  // Per layer and job: the cycle a job started and ended (kNever until then); per layer
  // and DMA item: the cycle it arrived.
  static constexpr uint64_t kNever = ~uint64_t{0};
  std::vector<std::vector<uint64_t>> start_, end_, arrived_;
  std::vector<uint64_t> tail_start_;  // per layer: when its tail job started (kNever: not yet)
  sc_core::sc_event progress_;        // a job started or ended, or an item arrived
  sim::Stat &busy_, &jobs_;
  tlm::tlm_generic_payload trans_;
};

/// Elaborates an NPU with targets around the memory cores, simulates one inference and
/// returns its timing. SystemC elaborates once per process: call this once per process.
Timing run_systemc(const Plan& plan, const MemorySystem& mem, Executor* exec, sim::Stats& stats);

}  // namespace edgesim::npu
