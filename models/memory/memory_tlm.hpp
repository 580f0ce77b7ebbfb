#pragma once
// Thin TLM-2.0 targets around the flash and DRAM cores. Loosely timed with temporal
// decoupling: b_transport adds the access time to `delay` and never waits, so a whole
// batch (an op's reads of one tensor) is one transaction and no SystemC event.
#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include "models/memory/dram.hpp"
#include "models/memory/flash.hpp"
#include "sim/core/stats.hpp"

namespace edgesim::memory {

/// Carries a batch's request sizes in (flash), and what the access cost out.
struct AccessReport : tlm::tlm_extension<AccessReport> {
  const uint64_t* runs = nullptr;  // flash: sizes of the coalesced reads
  size_t n_runs = 0;
  const DramRange* ranges = nullptr;  // DRAM: the batch's ranges (else the payload's one)
  size_t n_ranges = 0;
  uint64_t device_bytes = 0;  // out: bytes the device moved
  double energy = 0;          // out: joules
  tlm::tlm_extension_base* clone() const override { return new AccessReport(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const AccessReport&>(other);
  }
};

class FlashTarget : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<FlashTarget> socket;
  FlashTarget(sc_core::sc_module_name name, const Flash& core, sim::Stats& stats);

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  const Flash& core_;
  sim::Stat &reads_, &bytes_, &busy_, &energy_, &written_;
};

class DramTarget : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<DramTarget> socket;
  /// `prefix` names its statistics ("dram.read_bytes"); another memory modelled by a Dram
  /// core (an NPU's SRAM) takes its own.
  DramTarget(sc_core::sc_module_name name, Dram& core, sim::Stats& stats, const std::string& prefix = "dram");

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  Dram& core_;
  sim::Stat &read_bytes_, &write_bytes_, &busy_, &energy_;
};

}  // namespace edgesim::memory
