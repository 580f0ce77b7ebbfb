#pragma once
// The NPU's timing model, pure C++ (no SystemC). A network is compiled once into a plan
// (as Vela does): per layer an OFM block shape that fits the shared buffer and a list of
// jobs, one per OFM block, each with the bytes its DMA moves (compressed weights from the
// weight memory, the IFM block with its halo from the activation memory, the OFM block
// back) and the cycles the MAC array, output unit and weight decoder need for it. The
// schedule then overlaps each job's DMA with the previous job's compute through
// `buffers` slots (2: double buffering); a layer's cycles are its command overhead plus
// the span of that pipeline. Transfers are timed by the memory models (models/memory)
// and capped by the AXI port width. docs/npu.md states every assumption.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/memory/dram.hpp"
#include "models/memory/flash.hpp"
#include "models/npu/arch.hpp"
#include "models/npu/compress.hpp"
#include "models/npu/network.hpp"

namespace edgesim::npu {

/// The memories the NPU's DMA reaches; `flash` and `dram` may be null when unused.
struct MemorySystem {
  memory::Dram* sram = nullptr;
  memory::Flash* flash = nullptr;
  memory::Dram* dram = nullptr;
};

/// One DMA transfer as the memory model times it.
struct Transfer {
  double seconds = 0, energy = 0;
  uint64_t device_bytes = 0;
};
/// Times `bytes` read from (or written to) memory `m`, issued at `start` seconds.
Transfer transfer(const MemorySystem& mem, Mem m, uint64_t bytes, bool write, double start);
/// NPU cycles a transfer occupies the DMA: the memory's time, at least the AXI port's.
uint64_t transfer_cycles(const Transfer& t, uint64_t bytes, const NpuSettings& s);

/// One OFM block: what its DMA moves and what its compute costs.
struct Job {
  uint32_t weight_bytes = 0, ifm_bytes = 0, ofm_bytes = 0;
  uint64_t compute_cycles = 0;
};

/// A job's DMA, in order: its weights, its IFM block, the previous block's OFM out.
struct DmaPart {
  Mem mem;
  uint64_t bytes;
  bool write;
};
std::array<DmaPart, 3> dma_parts(const Job& job, const NpuSettings& s);

struct LayerPlan {
  size_t op = 0;
  int block_h = 0, block_w = 0, block_c = 0;  // OFM block (0 for non-block ops)
  std::vector<Job> jobs;
  uint64_t mac_cycles = 0, output_cycles = 0, decode_cycles = 0;  // summed over jobs
  uint64_t macs = 0;                                              // useful MACs (or elementary operations)
  WeightEncoding encoding;                                        // the layer's whole weight stream
  uint64_t weight_stream_bytes = 0;  // compressed weights + 10 B bias/scale per channel
  uint64_t weight_fetches = 0;       // times the stream is read (once per spatial block)
  // Storage a fault can hit (for fault injection): the int32 accumulators of one block
  // and the shared-buffer bytes one block occupies (IFM slice and accumulators, both
  // double-buffered); a block's accumulators live for its compute cycles.
  uint64_t accumulator_bits = 0, shared_buffer_bytes = 0;
  // An op the host CPU runs (cpu_cost.hpp): one job, its compute the CPU's cycles.
  bool on_cpu = false;
  double cpu_energy = 0;  // J
  uint64_t compute_cycles() const;
  /// Cycles before the first job: the command overhead of a layer the NPU runs (a layer
  /// without jobs, a reshape, is no NPU command; a CPU layer's overhead is in its job).
  uint64_t overhead_cycles(const NpuSettings& s) const {
    return jobs.empty() || on_cpu ? 0 : s.layer_overhead_cycles;
  }
};

struct Plan {
  NpuSettings settings;
  std::vector<LayerPlan> layers;
};

/// Compiles `net` for the NPU: block shapes chosen to fit the shared buffer and minimise
/// the estimated cycles (DMA estimated from the memories' effective bandwidths).
Plan plan_network(const Network& net, const NpuSettings& s, const MemorySystem& mem);

/// Jobs' DMA and compute through `buffers` slots (2: double buffering). A job's DMA
/// starts when the DMA engine is free and a slot is: the job `buffers` places earlier has
/// been computed; its compute starts when its DMA has ended and the MAC array is free.
/// Cycles count from the layer's start. The SystemC wrapper (npu_tlm.hpp) runs the same
/// rule as two processes.
class Pipeline {
 public:
  explicit Pipeline(int buffers);
  /// When the next job's DMA can start.
  uint64_t next_dma_start() const;
  /// Adds the next job; returns the cycle its compute ends.
  uint64_t push(uint64_t dma_cycles, uint64_t compute_cycles);
  uint64_t end() const { return comp_end_; }

 private:
  static constexpr size_t kMaxBuffers = 8;
  size_t buffers_, jobs_ = 0;
  uint64_t dma_end_ = 0, comp_end_ = 0;
  uint64_t ring_[kMaxBuffers] = {};  // compute ends of the last `buffers_` jobs
};

struct LayerTiming {
  uint64_t cycles = 0, compute_cycles = 0, dma_cycles = 0;
  uint64_t read_bytes[kMemories] = {}, write_bytes[kMemories] = {};
  double memory_energy[kMemories] = {};
  double compute_energy = 0;  // MACs and shared buffer
  bool memory_bound() const { return dma_cycles > compute_cycles; }
};

struct Timing {
  std::vector<LayerTiming> layers;
  uint64_t cycles = 0;
  double seconds = 0, energy = 0, static_energy = 0;
};

/// One layer's schedule starting at cycle `now` (the memory models see transfers at their
/// times); adds its traffic and energy to `lt` and returns its cycles.
uint64_t time_layer(const LayerPlan& lp, const NpuSettings& s, const MemorySystem& mem, uint64_t now,
                    LayerTiming& lt);

/// The pure C++ schedule of one inference, into `out` (its storage reused: no
/// allocation once `out` has held a timing of this plan).
void time_network(const Plan& plan, const MemorySystem& mem, Timing& out);
inline Timing time_network(const Plan& plan, const MemorySystem& mem) {
  Timing t;
  time_network(plan, mem, t);
  return t;
}

/// Energy of a layer's compute: MACs and shared-buffer traffic.
double compute_energy(const LayerPlan& lp, const NpuSettings& s);

}  // namespace edgesim::npu
