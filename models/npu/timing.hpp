#pragma once
// The NPU's timing model, pure C++ (no SystemC). A network is compiled once into a plan,
// as Arm's Vela compiler does: each op is lowered to NPU operations (lowering.hpp), each
// operation gets an OFM block that fits the shared buffer and per-block costs
// (op_cost.hpp), and a weighted operation's weights are encoded (weight_codec.hpp) in
// depth slices that the DMA copies into SRAM buffers, double-buffered, the first slices
// under the previous layer. The plan holds, per layer, jobs (one per OFM block, or one
// per elementwise operation) and DMA items (weight slices, lookup tables).
//
// The schedule runs two engines: the DMA copies items in order, each once its buffer is
// free (the item two places earlier consumed) and its gate has opened (the previous
// layer, or a job of its own layer, has started); the NPU runs jobs in order, each once
// the items it needs have arrived, for the longer of its compute cycles and its memory
// traffic (the NPU streams IFM and OFM over its own AXI port, latency hidden by
// outstanding requests). DMA transfers are timed by the memory models and capped by the
// AXI port width. docs/npu.md states every assumption.
#include <array>
#include <cstdint>
#include <memory>
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

/// One transfer as the memory model times it.
struct Transfer {
  double seconds = 0, energy = 0;
  uint64_t device_bytes = 0;
};
/// Times `bytes` read from (or written to) memory `m`, issued at `start` seconds.
Transfer transfer(const MemorySystem& mem, Mem m, uint64_t bytes, bool write, double start);
/// NPU cycles a transfer takes: the memory's time, at least the AXI port's.
uint64_t transfer_cycles(const Transfer& t, uint64_t bytes, const NpuSettings& s);

/// One OFM block (or one elementwise operation) on the NPU.
struct Job {
  uint64_t compute_cycles = 0;  // MAC array and output unit
  uint64_t traffic_cycles = 0;  // its memory traffic at the memories' streaming rates
  uint64_t cycles = 0;          // how long it holds the NPU: the longer of the two
  uint32_t fm_bytes = 0;        // bus bytes of its IFM and OFM on the activation memory
  uint32_t direct_bytes = 0;    // bus bytes it reads from the weight memory itself
  uint32_t dma_ready = 0;       // the layer's first dma_ready DMA items must have arrived
};

/// A DMA copy of a layer: a slice of its encoded weights with their bias and scale, from
/// the weight memory into an SRAM buffer, or a lookup table into the shared buffer.
struct DmaItem {
  uint32_t bytes = 0;
  bool to_buffer = true;                 // written into the activation memory
  uint32_t first_job = 0, last_job = 0;  // the jobs that read it
  int32_t gate = -1;                     // may start once this job of the layer has
                                         // started; -1: once the previous layer's tail has
};

struct LayerPlan {
  size_t op = 0;
  int block_h = 0, block_w = 0, block_c = 0;  // OFM block of a block op (0 otherwise)
  std::vector<Job> jobs;
  std::vector<DmaItem> dma;
  uint32_t passes = 0;                             // NPU operations the op was lowered to
  uint32_t tail_job = 0;                           // first job of the last weight slice: the next layer's
                                                   // first DMA items may start once it has started
  uint64_t macs = 0;                               // useful MACs (or elementary operations)
  WeightEncoding encoding;                         // the layer's weight streams, summed
  uint64_t weight_stream_bytes = 0;                // encoded weights + bias and scale (as stored)
  uint64_t weight_fetches = 0;                     // times the decoder reads the weights (per spatial block)
  uint64_t fm_read_bytes = 0, fm_write_bytes = 0;  // IFM (re-reads included) and OFM bytes
  uint64_t direct_bytes = 0;                       // bytes read straight from the weight memory
  // Storage a fault can hit (for fault injection): the int32 accumulators of one block
  // and the shared-buffer bytes the layer's blocks occupy (IFM and accumulators, both
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

/// What plans of one network for several configurations share: the network's lowering
/// (the same for every configuration), each layer's weights' value counts (kept over its
/// output channels, so that the counts of any channel range follow from two of them), and
/// the encoded sizes of the streams whose layout and range recur (the same OFM block depth
/// on two MAC counts, say). A cache serves one network, which must outlive it.
class PlanCache {
 public:
  PlanCache();
  ~PlanCache();
  PlanCache(const PlanCache&) = delete;
  PlanCache& operator=(const PlanCache&) = delete;
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Compiles `net` for the NPU (weights encoded, blocks chosen, jobs and DMA items laid
/// out). The memory models are probed for their latency and bandwidth. With `cache`
/// (made for this network), stream analyses of earlier plans of it are reused: the plan
/// is the same as without.
Plan plan_network(const Network& net, const NpuSettings& s, const MemorySystem& mem,
                  PlanCache* cache = nullptr);

struct LayerTiming {
  uint64_t cycles = 0, compute_cycles = 0, dma_cycles = 0;
  uint64_t traffic_cycles = 0;  // the jobs' memory traffic, at each memory's streaming rate
  uint64_t read_bytes[kMemories] = {}, write_bytes[kMemories] = {};
  double memory_energy[kMemories] = {};
  double compute_energy = 0;  // MACs and shared buffer
  bool memory_bound() const { return std::max(dma_cycles, traffic_cycles) > compute_cycles; }
};

struct Timing {
  std::vector<LayerTiming> layers;
  uint64_t cycles = 0;
  double seconds = 0, energy = 0, static_energy = 0;
};

/// Where the two engines stand: when the NPU and the DMA are next free, and when the tail
/// of the last layer the NPU ran started (the gate of the next layer's first DMA items:
/// the command stream issues them before that layer's last stripe, as Vela does).
struct EngineState {
  uint64_t npu_free = 0, dma_free = 0, last_tail_start = 0;
};

/// Copies DMA item `d` starting at cycle `start`: the read from the weight memory and the
/// write into the buffer stream together (the slower one sets the time). Adds its traffic
/// and energy to `lt`; returns its cycles.
uint64_t run_dma(const DmaItem& d, const NpuSettings& s, const MemorySystem& mem, uint64_t start,
                 LayerTiming& lt);
/// The NPU's own traffic of a layer (IFM, OFM, weights it reads in place), accounted at
/// the layer's end `end` into `lt` (its time is already in the jobs' cycles).
void account_traffic(const LayerPlan& lp, const NpuSettings& s, const MemorySystem& mem, uint64_t end,
                     LayerTiming& lt);

/// One layer's schedule from `st` (the memory models see transfers at their times); adds
/// its traffic and energy to `lt`, sets lt.cycles and advances `st`.
void time_layer(const LayerPlan& lp, const NpuSettings& s, const MemorySystem& mem, EngineState& st,
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
