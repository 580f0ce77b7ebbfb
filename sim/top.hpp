#pragma once
// The SystemC top: replayer -> weight store -> {flash, DRAM}, and replayer -> compute
// through op-sized weight buffers. The replayer fetches an op's weights while compute
// works on earlier ops, as far as free buffers allow; an op whose chunk set depends on
// its input waits until compute has caught up. A handful of SystemC events per op,
// none per chunk.
#include <functional>
#include <memory>
#include <ostream>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

#include "models/cache/weight_store_tlm.hpp"
#include "models/memory/memory_tlm.hpp"
#include "sim/core/stats.hpp"
#include "sim/experiment.hpp"
#include "sim/op_source.hpp"
#include "sim/step_record.hpp"
#include "sim/timeline.hpp"

namespace edgesim::sim {

struct ComputeJob {
  uint64_t step = 0;
  uint64_t flops = 0;
  uint32_t op = 0;           // index into the model's op table
  bool end_of_step = false;  // a marker: every op of `step` has been sent
  double extra_time = 0;     // beyond the roofline: weight decoding, adapter kernel launches (s)
  bool encoder = false;      // an op of the encoder pass (`op` indexes encoder_ops(); no step)
  bool prompt = false;       // a prompt step's op: on device.prefill_compute when there is one
  Dtype dtype = Dtype::fp16;  // its model's activation dtype
  bool operator==(const ComputeJob& o) const {
    return step == o.step && flops == o.flops && op == o.op && end_of_step == o.end_of_step &&
           extra_time == o.extra_time && encoder == o.encoder && prompt == o.prompt && dtype == o.dtype;
  }
};
std::ostream& operator<<(std::ostream& os, const ComputeJob& j);

class ComputeUnit : public sc_core::sc_module {
 public:
  sc_core::sc_fifo<ComputeJob> jobs;
  sc_core::sc_semaphore buffers;
  sc_core::sc_event op_done;
  uint64_t done = 0;

  /// `prompt_engine` (or null: `engine`) computes the prompt's steps.
  ComputeUnit(sc_core::sc_module_name name, const compute::Engine& engine, const compute::Engine* prompt_engine,
              std::vector<StepRecord>& steps, StepRecord& encoder, Timeline* timeline);

 private:
  void run();
  const compute::Engine& engine_;
  const compute::Engine& prompt_engine_;
  std::vector<StepRecord>& steps_;
  StepRecord& encoder_;
  Timeline* timeline_;  // null: none recorded
};

class Replayer : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Replayer> socket;
  Replayer(sc_core::sc_module_name name, OpSource& source, ComputeUnit& compute,
           std::vector<StepRecord>& steps, StepRecord& encoder, std::function<void(uint64_t)> on_step,
           Timeline* timeline, const Experiment& exp, const cache::WeightStore& store,
           std::vector<SwitchRecord>& switches);

 private:
  void run();
  /// Loads one op's weights and hands it to compute. `s` is its step, or, for an op of the
  /// encoder pass (`spec` from encoder_ops()), ignored: it is recorded in `encoder_`.
  /// `trans` carries run()'s OpLoad.
  /// `m` is the op's model, `tensors` its tensors' ids in the store; `prompt`: a prompt step's op.
  void send(tlm::tlm_generic_payload& trans, const RunModel& m, const traces::OpSpec& spec,
            const std::vector<uint32_t>& tensors, traces::OpAccess& op, uint64_t s, bool encoder, bool prompt);
  StepRecord& record(uint64_t s, bool encoder) { return encoder ? encoder_ : steps_[s]; }
  /// Applies an adapter switch at the start of step `s`, once compute has drained.
  void switch_adapters(uint64_t s, uint64_t to, uint64_t sent);
  /// Time to decode the op's weights on the compute engine.
  double decode_time(const RunModel& m, const std::vector<uint32_t>& tensors, const traces::OpAccess& op) const;
  OpSource& source_;
  ComputeUnit& compute_;
  std::vector<StepRecord>& steps_;
  StepRecord& encoder_;  // the encoder pass, run before the first step
  std::function<void(uint64_t)> on_step_;
  Timeline* timeline_;  // null: none recorded
  const Experiment& exp_;
  const cache::WeightStore& store_;
  std::vector<SwitchRecord>& switches_;
  uint64_t active_ = 0;  // bitmask of the active adapters
  uint64_t sent_ = 0;    // ops handed to compute so far
};

class Top : public sc_core::sc_module {
 public:
  Top(sc_core::sc_module_name name, Experiment& exp, cache::WeightStore& store, std::vector<uint64_t> future,
      OpSource& source, Stats& stats, std::vector<StepRecord>& steps, StepRecord& encoder,
      std::function<void(uint64_t)> on_step, std::vector<SwitchRecord>& switches,
      Timeline* timeline = nullptr);

 private:
  memory::FlashTarget flash_;
  memory::DramTarget dram_;
  cache::WeightStoreTarget store_;
  ComputeUnit compute_;
  Replayer replayer_;
};

}  // namespace edgesim::sim
