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
      jobs_(stats.counter("npu.jobs", "", "OFM blocks (or elementwise operations) computed")) {
  for (int m = 0; m < kMemories; ++m)
    port[m] = std::make_unique<tlm_utils::simple_initiator_socket<NpuModule>>(
        (std::string("port_") + mem_name(static_cast<Mem>(m))).c_str());
  timing_.layers.resize(plan.layers.size());
  for (const LayerPlan& lp : plan.layers) {
    start_.emplace_back(lp.jobs.size(), kNever);
    end_.emplace_back(lp.jobs.size(), kNever);
    arrived_.emplace_back(lp.dma.size(), kNever);
  }
  tail_start_.assign(plan.layers.size(), kNever);
  SC_THREAD(dma_process);
  SC_THREAD(compute_process);
}

uint64_t NpuModule::now_cycles() const {
  return static_cast<uint64_t>(std::llround(sc_core::sc_time_stamp() / period_));
}

Transfer NpuModule::access(Mem m, uint64_t bytes, bool write, sc_time at) {
  Transfer t;
  if (bytes == 0) return t;
  memory::AccessReport rep;
  trans_.set_extension(&rep);
  trans_.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  trans_.set_address(0);
  trans_.set_data_ptr(nullptr);
  trans_.set_data_length(static_cast<unsigned>(bytes));
  trans_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  sc_time delay = at;
  (*port[m])->b_transport(trans_, delay);
  trans_.clear_extension(&rep);
  if (trans_.is_response_error())
    throw SimError(std::string("NPU: a transfer needs ") + mem_name(m) + ", and the device has none");
  t.seconds = (delay - at).to_seconds();
  t.energy = rep.energy;
  t.device_bytes = rep.device_bytes;
  return t;
}

void NpuModule::dma_process() {
  const NpuSettings& s = plan_.settings;
  const auto buffers = static_cast<size_t>(s.buffers);
  int prev = -1;  // the last layer before this one that runs on the NPU
  for (size_t i = 0; i < plan_.layers.size(); ++i) {
    const LayerPlan& lp = plan_.layers[i];
    LayerTiming& lt = timing_.layers[i];
    for (size_t k = 0; k < lp.dma.size(); ++k) {
      const DmaItem& d = lp.dma[k];
      // The gate: the previous layer's tail (or the item's job) has started.
      if (d.gate < 0) {
        while (prev >= 0 && tail_start_[static_cast<size_t>(prev)] == kNever) wait(progress_);
      } else {
        while (start_[i][static_cast<size_t>(d.gate)] == kNever) wait(progress_);
      }
      // The buffer: the item `buffers` places earlier has been consumed.
      if (k >= buffers && d.to_buffer) {
        while (end_[i][lp.dma[k - buffers].last_job] == kNever) wait(progress_);
      }
      const Transfer src = access(s.weights_in, d.bytes, false, sc_core::SC_ZERO_TIME);
      uint64_t cycles = transfer_cycles(src, d.bytes, s);
      lt.read_bytes[s.weights_in] += src.device_bytes;
      lt.memory_energy[s.weights_in] += src.energy;
      if (d.to_buffer) {
        const Transfer dst = access(s.activations_in, d.bytes, true, sc_core::SC_ZERO_TIME);
        cycles = std::max(cycles, transfer_cycles(dst, d.bytes, s));
        lt.write_bytes[s.activations_in] += dst.device_bytes;
        lt.memory_energy[s.activations_in] += dst.energy;
      }
      lt.dma_cycles += cycles;
      wait(period_ * static_cast<double>(cycles));
      arrived_[i][k] = now_cycles();
      progress_.notify(sc_core::SC_ZERO_TIME);
    }
    if (!lp.jobs.empty()) prev = static_cast<int>(i);
  }
}

void NpuModule::compute_process() {
  const NpuSettings& s = plan_.settings;
  for (size_t i = 0; i < plan_.layers.size(); ++i) {
    const LayerPlan& lp = plan_.layers[i];
    LayerTiming& lt = timing_.layers[i];
    const uint64_t begin = now_cycles();
    if (!lp.jobs.empty()) {
      wait(period_ * static_cast<double>(lp.overhead_cycles(s)));
      for (size_t j = 0; j < lp.jobs.size(); ++j) {
        const Job& job = lp.jobs[j];
        if (job.dma_ready) {
          while (arrived_[i][job.dma_ready - 1] == kNever) wait(progress_);
        }
        start_[i][j] = now_cycles();
        if (j == lp.tail_job && !lp.on_cpu) tail_start_[i] = start_[i][j];
        progress_.notify(sc_core::SC_ZERO_TIME);
        wait(period_ * static_cast<double>(job.cycles));
        end_[i][j] = now_cycles();
        if (lp.on_cpu) tail_start_[i] = end_[i][j];  // no prefetch under the host CPU's op
        progress_.notify(sc_core::SC_ZERO_TIME);
        lt.compute_cycles += job.compute_cycles;
        lt.traffic_cycles += job.traffic_cycles;
        busy_.add(static_cast<double>(job.compute_cycles));
        jobs_.add(1);
      }
      // The NPU's own traffic of the layer, accounted at its end.
      auto add = [&](Mem m, uint64_t bytes, bool write) {
        const Transfer t = access(m, bytes, write, sc_core::SC_ZERO_TIME);
        (write ? lt.write_bytes : lt.read_bytes)[m] += t.device_bytes;
        lt.memory_energy[m] += t.energy;
      };
      add(s.activations_in, lp.fm_read_bytes, false);
      add(s.activations_in, lp.fm_write_bytes, true);
      add(s.weights_in, lp.direct_bytes, false);
    }
    if (exec_) exec_->run_layer(i);
    lt.cycles = now_cycles() - begin;
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
