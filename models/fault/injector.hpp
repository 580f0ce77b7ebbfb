#pragma once
// Injection of one fault through the NPU's bit-exact int8 execution (models/npu/executor),
// with incremental re-execution: the run starts from the input's golden intermediates at
// the layer the fault first reaches, and stops as soon as every value a later layer reads
// (and the output) equals the golden run again. Each run is classified against the golden
// one: masked, SDC (top-1 class changes), tolerable SDC (same top-1, different output),
// DUE (detected by ECC, a bus error on an address outside the memory map, or a hang: a
// control fault whose cycle count passes the bound, computed, never waited for).
#include <cstdint>
#include <memory>
#include <vector>

#include "models/fault/sites.hpp"
#include "models/npu/executor.hpp"

namespace edgesim::fault {

enum class Outcome { kMasked = 0, kSdc = 1, kTolerableSdc = 2, kDue = 3 };
constexpr int kOutcomes = 4;
const char* outcome_name(Outcome o);

enum class FaultModelKind { kSingleBit, kMultiBit, kStuckAt };
struct FaultModel {
  FaultModelKind kind = FaultModelKind::kSingleBit;
  int width = 2;                 // kMultiBit: adjacent bits upset together (within one word)
  uint64_t stuck_cycles = 1000;  // kStuckAt: cycles the bit is held
  const char* name() const;
};

/// One fault: a bit of a site (its word and the position of the lowest bit hit), the cycle
/// it strikes, the stuck value, and `aux` (random bits choosing which MAC term a pipeline
/// register holds).
struct Fault {
  size_t site = 0;
  uint64_t bit = 0;
  uint64_t cycle = 0;
  bool stuck_value = false;
  uint64_t aux = 0;
};

struct InjectorOptions {
  FaultModel model;
  double hang_factor = 2.0;  // a run longer than this many golden cycles is a hang
  bool incremental = true;   // false: every run re-executes the whole network (the bench's baseline)
  // Memory map (docs/fault.md): base address and capacity of each memory (npu::Mem).
  uint64_t base[npu::kMemories] = {0x20000000ULL, 0x10000000ULL, 0x60000000ULL};
  uint64_t capacity[npu::kMemories] = {0, 0, 0};
};

/// The golden run of every input: its arena, its output's top-1 class.
struct Goldens {
  size_t arena_bytes = 0;
  std::vector<int8_t> arenas;  // inputs x arena_bytes
  std::vector<int> top1;
  size_t inputs() const { return top1.size(); }
  const int8_t* arena(size_t i) const { return arenas.data() + i * arena_bytes; }
};
Goldens run_goldens(const npu::Network& net, const npu::Plan& plan, const int8_t* inputs, size_t count);

struct InjectionResult {
  Outcome outcome = Outcome::kMasked;
  int top1 = -1;  // the faulty run's class (the golden one when masked or DUE)
  size_t layers_run = 0;
};

/// One worker's injector: its own executor (arena and weight buffers); the network, plan,
/// sites and goldens are shared read-only.
class Injector {
 public:
  Injector(const npu::Network& net, const npu::Plan& plan, const SiteMap& sites, const Goldens& goldens,
           const InjectorOptions& o);
  InjectionResult inject(const Fault& f, size_t input);
  npu::Executor& executor() { return exec_; }

 private:
  struct Action;
  InjectionResult finish(size_t input, size_t from, Action& a);
  /// Puts `bytes` where the action's change goes (arena or decoded weights).
  void write(const Action& a, const int8_t* bytes);
  void weight_region(size_t layer, size_t first, size_t count, Action& a) const;
  void input_region(size_t layer, int tensor, size_t idx, Action& a) const;
  bool same_as_golden_after(size_t layer, const int8_t* golden) const;
  void prefill_stale(size_t layer, size_t input);
  bool address_effect(npu::Mem m, uint64_t offset, uint64_t mask, bool stuck, bool value,
                      int64_t& shift) const;
  uint64_t corrupt(uint64_t v, uint64_t mask, bool stuck, bool value) const;
  uint64_t mask_at(int pos, int width_limit) const;
  size_t job_at(size_t layer, uint64_t cycle, bool by_compute) const;
  InjectionResult control(const Fault& f, size_t input);
  InjectionResult dma(const Fault& f, size_t input);
  InjectionResult hang_or_masked(uint64_t extra_cycles, size_t input) const;

  const npu::Network& net_;
  const npu::Plan& plan_;
  const SiteMap& sites_;
  const Goldens& goldens_;
  InjectorOptions o_;
  npu::Executor exec_;
  std::vector<int8_t> alt_;           // an alternative IFM or weight block read by a faulty address
  std::vector<int8_t> image_;         // every layer's decoded weights, as the weight memory holds them
  std::vector<size_t> image_offset_;  // each layer's offset in image_
  std::vector<std::vector<std::pair<size_t, size_t>>> live_after_;  // arena ranges read after layer k
  npu::BlockFault bf_;
};

}  // namespace edgesim::fault
