#pragma once
// Adapters on top of the base model (the `adapter` config section), composing with the
// sparsity policy: LoRA fused into the weights, LoRA unfused (its A and B read and
// computed every token), and SHiRA (Bhardwaj et al., arXiv 2406.13175: a sparse set of
// base weights overwritten in place). A schedule switches the active adapters; each
// switch is an event in the step's trace record (type kEventAdapterSet, value = bitmask of
// the adapter ids active from that step on), and the simulator charges its cost through
// the memory models. What is modelled and assumed: docs/adapters.md.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/config/params.hpp"
#include "traces/model_layout.hpp"
#include "traces/step.hpp"

namespace edgesim::traces {

/// Event type of an adapter switch; its value is the bitmask of active adapter ids.
constexpr uint32_t kEventAdapterSet = 1;

enum class AdapterMethod : uint8_t { none, lora_fused, lora_unfused, shira };

/// Where a tensor's weights live when a switch rewrites them.
struct TensorHome {
  bool in_flash = false;    // its master copy is in flash (cached or streamed tensors)
  uint64_t dram_bytes = 0;  // bytes of it in DRAM (pinned: all; cached: the resident chunks)
};

/// What one switch moves and computes. Reads and writes are totals over the tensors;
/// flash reads are listed as the requests the flash serves.
struct SwitchCost {
  std::vector<uint64_t> flash_reads;  // request sizes
  uint64_t flash_write_bytes = 0;
  uint64_t dram_read_bytes = 0, dram_write_bytes = 0;
  uint64_t flops = 0;
  uint64_t flash_read_bytes() const;
  bool empty() const {
    return flash_reads.empty() && flash_write_bytes == 0 && dram_read_bytes == 0 && dram_write_bytes == 0 &&
           flops == 0;
  }
};

/// What the active adapters add to one op, every token.
struct OpAdapterCost {
  uint64_t dram_read_bytes = 0;
  uint64_t flops = 0;
  uint32_t kernels = 0;  // extra kernel launches (each costs kernel_overhead)
};

class Adapter {
 public:
  static const config::ParamTable& param_table();
  /// Validates the section against the model (targets, schedule); throws InputError
  /// naming the key.
  Adapter(const config::Params& p, const ModelLayout& layout);

  AdapterMethod method() const { return method_; }
  bool enabled() const { return method_ != AdapterMethod::none; }
  double kernel_overhead() const { return kernel_overhead_; }

  /// The schedule's switch events at `step` (closed loop): at most one, kEventAdapterSet.
  void events_at(uint64_t step, std::vector<Event>& out) const;
  /// Bitmask of the adapters active after the schedule's event at or before `step`.
  uint64_t active_at(uint64_t step) const;

  /// Per-token cost the adapters active in `mask` add to `op` (unfused LoRA only).
  OpAdapterCost op_cost(const OpSpec& op, uint64_t mask) const;
  /// Cost of switching from the adapters in `from` to those in `to`. `home` says where
  /// each tensor lives; `flash_page` is the flash's write and read unit.
  SwitchCost switch_cost(uint64_t from, uint64_t to, const std::function<TensorHome(uint32_t)>& home,
                         uint64_t flash_page) const;
  /// DRAM the adapters in `mask` hold while active, and the most any step of the schedule
  /// holds (what the footprint reserves).
  uint64_t dram_bytes(uint64_t mask) const;
  uint64_t peak_dram_bytes(uint64_t steps) const;
  /// Bytes one adapter takes in flash (its file).
  uint64_t stored_bytes() const;
  /// Tensors the adapters touch.
  const std::vector<uint32_t>& targets() const { return targets_; }
  /// Expected distinct units of `unit` bytes that `n` uniformly random positions in a region
  /// of `region` bytes fall into: N (1 - (1 - 1/N)^n), N = ceil(region / unit).
  static double touched_units(uint64_t region, uint64_t unit, uint64_t n);
  /// Non-zeros of one SHiRA adapter in tensor `t`.
  uint64_t shira_nonzeros(const Tensor& t) const;
  /// Bytes of one LoRA adapter's A and B for tensor `t`.
  uint64_t lora_bytes(const Tensor& t) const;

  nlohmann::json summary() const;

 private:
  const ModelLayout& layout_;
  AdapterMethod method_ = AdapterMethod::none;
  uint64_t rank_ = 0;
  Dtype dtype_ = Dtype::fp16;
  double sparsity_ = 0;
  uint64_t index_bits_ = 32;
  uint64_t scatter_unit_ = 64;
  double kernel_overhead_ = 0;
  uint32_t adapters_ = 1, concurrent_ = 1;
  uint64_t every_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> schedule_;  // (step, mask), steps increasing, first at 0
  std::vector<uint32_t> targets_;
};

}  // namespace edgesim::traces
