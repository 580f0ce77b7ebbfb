#pragma once
// TLM-2.0 wrapper of the weight store: one transaction per op in (carrying the op's
// chunk sets), a handful out: per tensor one flash transaction with its coalesced runs,
// and one DRAM transaction per op (its byte totals, or its address ranges for a
// command-level DRAM). Flash and DRAM times of the op combine as
// max (concurrent) or sum (serialised). A retention rule's row copies (windowing's memory
// management) go to DRAM as one more transaction, after the loads.
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include "models/cache/weight_store.hpp"
#include "sim/core/stats.hpp"

namespace edgesim::cache {

/// What one op reads: chunk set sets[i] of tensor tensors[i] for i < n, and, beside its
/// weights, `extra_read_bytes` / `extra_write_bytes` of its layer's KV cache (`layer` -1:
/// none).
struct OpRequest {
  const uint32_t* tensors = nullptr;
  const ChunkSet* sets = nullptr;
  size_t n = 0;
  int layer = -1;
  uint64_t extra_read_bytes = 0, extra_write_bytes = 0;
  uint64_t step = 0;  // the token the op belongs to (a retention rule by step needs it)
};

/// A batch of transfers outside an op (an adapter switch): flash reads of the given
/// sizes, then flash writes, and DRAM reads and writes as streams.
struct Transfers {
  const uint64_t* flash_reads = nullptr;
  size_t n_flash_reads = 0;
  uint64_t flash_write_bytes = 0, dram_read_bytes = 0, dram_write_bytes = 0;
};

/// The op a weight-store transaction loads, and what loading it cost.
struct OpLoad : tlm::tlm_extension<OpLoad> {
  const OpRequest* op = nullptr;
  LoadCost cost;
  double flash_time = 0, dram_time = 0, flash_energy = 0, dram_energy = 0;
  /// Windowing's memory management: copying rows within DRAM, after the op's loads and
  /// before its compute (its energy is part of dram_energy).
  double mm_time = 0;
  uint64_t flash_device_bytes = 0;
  tlm::tlm_extension_base* clone() const override { return new OpLoad(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override { *this = static_cast<const OpLoad&>(other); }
};

/// An adapter switch's transfers: flash reads then writes, and one DRAM batch.
struct SwitchLoad : tlm::tlm_extension<SwitchLoad> {
  const Transfers* cost = nullptr;
  double flash_time = 0, dram_time = 0, flash_energy = 0, dram_energy = 0;
  tlm::tlm_extension_base* clone() const override { return new SwitchLoad(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const SwitchLoad&>(other);
  }
};

class WeightStoreTarget : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<WeightStoreTarget> socket;
  tlm_utils::simple_initiator_socket<WeightStoreTarget> flash;
  tlm_utils::simple_initiator_socket<WeightStoreTarget> dram;

  /// `future` holds OPT's next-use positions (empty for other policies).
  WeightStoreTarget(sc_core::sc_module_name name, WeightStore& core, bool concurrent,
                    std::vector<uint64_t> future, sim::Stats& stats);

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void switch_transport(SwitchLoad& load, sc_core::sc_time& delay);
  WeightStore& core_;
  bool concurrent_;
  std::vector<uint64_t> future_;
  const uint64_t* cursor_ = nullptr;
  sim::Stat &hits_, &misses_, &transactions_;
};

}  // namespace edgesim::cache
