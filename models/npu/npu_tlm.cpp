#include "models/npu/npu_tlm.hpp"

#include <cmath>

#include "models/memory/memory_tlm.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::npu {

using sc_core::sc_time;

NpuModule::NpuModule(sc_core::sc_module_name name, const Plan& plan, Executor* exec, sim::Stats& stats)
    : sc_module(name),
      plan_(plan),
      exec_(exec),
      period_(1.0 / plan.settings.clock, sc_core::SC_SEC),
      busy_(stats.counter("npu.busy_cycles", "cycles", "Cycles the MAC array and output unit were busy")),
      jobs_(stats.counter("npu.jobs", "", "OFM blocks (or elementwise chunks) computed")) {
  for (int m = 0; m < kMemories; ++m)
    port[m] = std::make_unique<tlm_utils::simple_initiator_socket<NpuModule>>(
        (std::string("port_") + mem_name(static_cast<Mem>(m))).c_str());
  timing_.layers.resize(plan.layers.size());
  SC_THREAD(dma_process);
  SC_THREAD(compute_process);
}

uint64_t NpuModule::now_cycles() const {
  return static_cast<uint64_t>(std::llround(sc_core::sc_time_stamp() / period_));
}

Transfer NpuModule::dma(Mem m, uint64_t bytes, bool write, sc_time& delay) {
  memory::AccessReport rep;
  trans_.set_extension(&rep);
  trans_.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  trans_.set_address(0);
  trans_.set_data_ptr(nullptr);
  trans_.set_data_length(static_cast<unsigned>(bytes));
  trans_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  const sc_time before = delay;
  (*port[m])->b_transport(trans_, delay);
  trans_.clear_extension(&rep);
  if (trans_.is_response_error()) throw SimError(std::string("NPU: DMA to ") + mem_name(m) + " failed");
  Transfer t;
  t.seconds = (delay - before).to_seconds();
  t.energy = rep.energy;
  t.device_bytes = rep.device_bytes;
  delay = before;
  return t;
}

void NpuModule::dma_process() {
  const NpuSettings& s = plan_.settings;
  for (size_t i = 0; i < plan_.layers.size(); ++i) {
    while (layers_opened_ <= i) wait(layer_opened_);
    LayerTiming& lt = timing_.layers[i];
    const auto& jobs = plan_.layers[i].jobs;
    for (size_t j = 0; j < jobs.size(); ++j) {
      const size_t b = static_cast<size_t>(s.buffers);
      while (j >= b && comp_done_ < j - b + 1) wait(comp_progress_);  // a free buffer slot
      uint64_t cycles = 0;
      for (const DmaPart& p : dma_parts(jobs[j], s)) {
        if (p.bytes == 0) continue;
        // The memory sees the transfer at the time it is issued: after the earlier parts.
        sc_time at = period_ * static_cast<double>(cycles);
        const Transfer tr = dma(p.mem, p.bytes, p.write, at);
        cycles += transfer_cycles(tr, p.bytes, s);
        (p.write ? lt.write_bytes : lt.read_bytes)[p.mem] += tr.device_bytes;
        lt.memory_energy[p.mem] += tr.energy;
      }
      lt.dma_cycles += cycles;
      wait(period_ * static_cast<double>(cycles));
      ++dma_done_;
      dma_progress_.notify(sc_core::SC_ZERO_TIME);
    }
  }
}

void NpuModule::compute_process() {
  const NpuSettings& s = plan_.settings;
  for (size_t i = 0; i < plan_.layers.size(); ++i) {
    const uint64_t layer_start = now_cycles();
    wait(period_ * static_cast<double>(plan_.layers[i].overhead_cycles(s)));
    dma_done_ = comp_done_ = 0;  // the DMA process has finished the previous layer's jobs
    ++layers_opened_;
    layer_opened_.notify(sc_core::SC_ZERO_TIME);
    LayerTiming& lt = timing_.layers[i];
    const auto& lp = plan_.layers[i];
    for (size_t j = 0; j < lp.jobs.size(); ++j) {
      while (dma_done_ < j + 1) wait(dma_progress_);
      wait(period_ * static_cast<double>(lp.jobs[j].compute_cycles));
      lt.compute_cycles += lp.jobs[j].compute_cycles;
      busy_.add(static_cast<double>(lp.jobs[j].compute_cycles));
      jobs_.add(1);
      ++comp_done_;
      comp_progress_.notify(sc_core::SC_ZERO_TIME);
    }
    if (exec_) exec_->run_layer(i);
    lt.cycles = now_cycles() - layer_start;
    lt.compute_energy = compute_energy(lp, s);
    for (int m = 0; m < kMemories; ++m) timing_.energy += lt.memory_energy[m];
    timing_.energy += lt.compute_energy;
  }
  timing_.cycles = now_cycles();
  timing_.seconds = static_cast<double>(timing_.cycles) / s.clock;
  timing_.static_energy = s.static_power * timing_.seconds;
  timing_.energy += timing_.static_energy;
}

Timing run_systemc(const Plan& plan, const MemorySystem& mem, Executor* exec, sim::Stats& stats) {
  NpuModule npu("npu", plan, exec, stats);
  std::unique_ptr<memory::DramTarget> sram, dram;
  std::unique_ptr<memory::FlashTarget> flash;
  // Dummy targets answer for memories the device lacks; a transfer to one is an error.
  struct Absent : sc_core::sc_module {
    tlm_utils::simple_target_socket<Absent> socket;
    explicit Absent(sc_core::sc_module_name n) : sc_module(n), socket("socket") {
      socket.register_b_transport(this, &Absent::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload& t, sc_time&) {
      t.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    }
  };
  std::vector<std::unique_ptr<Absent>> absent;
  auto bind_absent = [&](Mem m) {
    absent.push_back(std::make_unique<Absent>((std::string("absent_") + mem_name(m)).c_str()));
    npu.port[m]->bind(absent.back()->socket);
  };
  if (mem.sram) {
    sram = std::make_unique<memory::DramTarget>("sram", *mem.sram, stats, "sram");
    npu.port[kSram]->bind(sram->socket);
  } else {
    bind_absent(kSram);
  }
  if (mem.flash) {
    flash = std::make_unique<memory::FlashTarget>("flash", *mem.flash, stats);
    npu.port[kFlash]->bind(flash->socket);
  } else {
    bind_absent(kFlash);
  }
  if (mem.dram) {
    dram = std::make_unique<memory::DramTarget>("dram", *mem.dram, stats, "dram");
    npu.port[kDram]->bind(dram->socket);
  } else {
    bind_absent(kDram);
  }
  sc_core::sc_start();
  return npu.timing();
}

}  // namespace edgesim::npu
