#pragma once
// Thin SystemC/TLM-2.0 wrapper of the NPU: a DMA process and a compute process run a
// plan's jobs layer by layer through the same slot rule as the pure C++ schedule
// (timing.hpp, Pipeline). The DMA process times its transfers through TLM targets around
// the memory models (models/memory/memory_tlm.hpp); the compute process waits each job's
// compute cycles and, at the end of a layer, runs the layer's bit-exact functional
// execution (executor.hpp) when one is given.
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
  Transfer dma(Mem m, uint64_t bytes, bool write, sc_core::sc_time& delay);
  uint64_t now_cycles() const;

  const Plan& plan_;
  Executor* exec_;
  sc_core::sc_time period_;
  Timing timing_;
  size_t layers_opened_ = 0;             // layers whose jobs may run (the last one is open)
  size_t dma_done_ = 0, comp_done_ = 0;  // jobs of the open layer
  std::vector<uint64_t> comp_end_;       // cycles each job's compute ended
  sc_core::sc_event layer_opened_, dma_progress_, comp_progress_;
  sim::Stat &busy_, &jobs_;
  tlm::tlm_generic_payload trans_;
};

/// Elaborates an NPU with targets around the memory cores, simulates one inference and
/// returns its timing. SystemC elaborates once per process: call this once per process.
Timing run_systemc(const Plan& plan, const MemorySystem& mem, Executor* exec, sim::Stats& stats);

}  // namespace edgesim::npu
