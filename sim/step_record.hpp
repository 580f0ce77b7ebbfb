#pragma once
// What one step (token) cost, attributed by the step its ops belong to.
#include <cstdint>

#include "traces/step.hpp"

namespace edgesim::sim {

struct StepRecord {
  traces::StepInfo info;                 // what the step ran: phase, model, tokens, emitted
  double start_time = 0;                 // when the step before it ended (the encoder pass, for step 0)
  double end_time = 0;                   // when its last op finished computing (s)
  double compute_time = 0;               // compute busy (s)
  double flash_time = 0, dram_time = 0;  // memory busy loading its ops (s)
  double flash_energy = 0, dram_energy = 0, compute_energy = 0;
  uint64_t flash_bytes = 0, flash_device_bytes = 0, dram_read_bytes = 0, dram_write_bytes = 0;
  uint64_t hits = 0, misses = 0, flops = 0, ops = 0;
  uint64_t activations = 0;  // SystemC process resumptions spent on the step
  // Adapters and weight formats.
  double switch_time = 0;          // adapter switches at the step's start (s)
  double adapter_kernel_time = 0;  // unfused LoRA's extra kernel launches (s)
  double decode_time = 0;          // decoding quantized weights (s)
  uint64_t adapter_dram_read_bytes = 0, adapter_flops = 0;
  uint64_t switches = 0;
  // Windowing's memory management (cache_policy window): row copies within DRAM.
  double mm_time = 0;
  uint64_t rows_deleted = 0, rows_inserted = 0, rows_moved = 0, mm_bytes = 0;
  uint64_t hit_bytes = 0, miss_bytes = 0;  // cached tensors' chunk bytes found / not found in DRAM
};

/// One adapter switch, what it moved and what it took.
struct SwitchRecord {
  uint64_t step = 0, from = 0, to = 0;  // step; adapter bitmasks before and after
  double time = 0, energy = 0;          // latency added to the step (s); joules
  uint64_t flash_read_bytes = 0, flash_write_bytes = 0, dram_read_bytes = 0, dram_write_bytes = 0, flops = 0;
};

}  // namespace edgesim::sim
