#include "models/cache/weight_store_tlm.hpp"

#include <algorithm>

#include "models/memory/memory_tlm.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::cache {

using sc_core::SC_SEC;
using sc_core::sc_time;

WeightStoreTarget::WeightStoreTarget(sc_core::sc_module_name name, WeightStore& core, bool concurrent,
                                     std::vector<uint64_t> future, sim::Stats& stats)
    : sc_module(name),
      socket("socket"),
      flash("flash"),
      dram("dram"),
      core_(core),
      concurrent_(concurrent),
      future_(std::move(future)),
      hits_(stats.counter("weight_cache.hits", "chunks", "Cached-tensor chunk accesses found in DRAM")),
      misses_(stats.counter("weight_cache.misses", "chunks", "Cached-tensor chunk accesses read from flash")),
      transactions_(
          stats.counter("weight_store.memory_transactions", "", "TLM transactions sent to flash and DRAM")) {
  socket.register_b_transport(this, &WeightStoreTarget::b_transport);
  cursor_ = core_.needs_future() ? future_.data() : nullptr;
}

void WeightStoreTarget::switch_transport(SwitchLoad& load, sc_time& delay) {
  const Transfers& c = *load.cost;
  tlm::tlm_generic_payload t;
  memory::AccessReport rep;
  t.set_extension(&rep);
  sc_time flash_delay = sc_core::SC_ZERO_TIME, dram_delay = sc_core::SC_ZERO_TIME;
  auto send = [&](auto& socket, tlm::tlm_command cmd, uint64_t bytes, sc_time& d) {
    t.set_command(cmd);
    t.set_address(0);
    t.set_data_ptr(nullptr);  // timing only: no data moves
    t.set_data_length(static_cast<unsigned>(std::min<uint64_t>(bytes, 0xFFFFFFFFu)));
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    socket->b_transport(t, d);
    transactions_.add(1);
  };
  if (c.n_flash_reads > 0) {
    rep = {};
    rep.runs = c.flash_reads;
    rep.n_runs = c.n_flash_reads;
    send(flash, tlm::TLM_READ_COMMAND, 0, flash_delay);
    load.flash_energy += rep.energy;
  }
  // Writes of more than 4 GiB go as several transactions (the payload's length is 32-bit).
  for (uint64_t left = c.flash_write_bytes; left > 0;) {
    const uint64_t part = std::min<uint64_t>(left, uint64_t(1) << 31);
    rep = {};
    send(flash, tlm::TLM_WRITE_COMMAND, part, flash_delay);
    load.flash_energy += rep.energy;
    left -= part;
  }
  // One DRAM batch: the switch's reads and writes (streams, so no addresses are given; a
  // command-level DRAM sees them from address 0).
  std::vector<memory::DramRange> ranges;
  if (c.dram_read_bytes) ranges.push_back({0, c.dram_read_bytes, false});
  if (c.dram_write_bytes) ranges.push_back({0, c.dram_write_bytes, true});
  if (!ranges.empty()) {
    rep = {};
    rep.ranges = ranges.data();
    rep.n_ranges = ranges.size();
    send(dram, tlm::TLM_READ_COMMAND, 0, dram_delay);
    load.dram_energy += rep.energy;
  }
  t.clear_extension(&rep);
  load.flash_time = flash_delay.to_seconds();
  load.dram_time = dram_delay.to_seconds();
  delay += concurrent_ ? std::max(flash_delay, dram_delay) : flash_delay + dram_delay;
}

void WeightStoreTarget::b_transport(tlm::tlm_generic_payload& trans, sc_time& delay) {
  SwitchLoad* sw = nullptr;
  trans.get_extension(sw);
  if (sw && sw->cost) {
    switch_transport(*sw, delay);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return;
  }
  OpLoad* load = nullptr;
  trans.get_extension(load);
  if (!load || !load->op) throw SimError("internal: weight store transaction without an op");
  const OpRequest& op = *load->op;
  LoadCost& cost = load->cost;
  cost.clear();

  tlm::tlm_generic_payload t;
  memory::AccessReport rep;
  t.set_extension(&rep);
  sc_time flash_delay = sc_core::SC_ZERO_TIME, dram_delay = sc_core::SC_ZERO_TIME;
  auto send = [&](auto& socket, tlm::tlm_command cmd, uint64_t addr, uint64_t bytes, sc_time& d) {
    t.set_command(cmd);
    t.set_address(addr);
    t.set_data_ptr(nullptr);  // timing only: no data moves
    t.set_data_length(static_cast<unsigned>(std::min<uint64_t>(bytes, 0xFFFFFFFFu)));
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    socket->b_transport(t, d);
    transactions_.add(1);
  };

  core_.begin_step(op.step, cost);
  for (size_t i = 0; i < op.n; ++i) {
    const size_t runs_before = cost.flash_runs.size();
    core_.access(op.tensors[i], op.sets[i], cost, cursor_);
    const size_t n = cost.flash_runs.size() - runs_before;
    if (n == 0) continue;
    rep = {};
    rep.runs = cost.flash_runs.data() + runs_before;
    rep.n_runs = n;
    send(flash, tlm::TLM_READ_COMMAND, core_.tensors()[op.tensors[i]].flash_offset, 0, flash_delay);
    load->flash_energy += rep.energy;
    load->flash_device_bytes += rep.device_bytes;
  }
  // One DRAM transaction per op: its ranges where the DRAM model wants addresses (the
  // KV cache of the op's layer added), else one read and one write of the op's bytes.
  const memory::DramRange totals[2] = {{0, cost.dram_read_bytes + op.extra_read_bytes, false},
                                       {0, cost.dram_write_bytes + op.extra_write_bytes, true}};
  rep = {};
  if (core_.dram_addresses()) {
    const auto& d = core_.dram_layout();
    const uint64_t kv = d.kv_base + static_cast<uint64_t>(std::max(op.layer, 0)) * d.kv_layer_stride;
    if (op.extra_read_bytes > 0) cost.add_dram(kv, op.extra_read_bytes, false);
    if (op.extra_write_bytes > 0) cost.add_dram(kv + op.extra_read_bytes, op.extra_write_bytes, true);
    rep.ranges = cost.dram_ranges.data();
    rep.n_ranges = cost.dram_ranges.size();
  } else {
    rep.ranges = totals;
    rep.n_ranges = 2;
  }
  if (rep.n_ranges > 0) {
    send(dram, tlm::TLM_READ_COMMAND, 0, 0, dram_delay);
    load->dram_energy += rep.energy;
  }
  // Memory management: the rows copied within DRAM once the op's weights have arrived.
  sc_time mm_delay = sc_core::SC_ZERO_TIME;
  if (cost.mm_read_bytes + cost.mm_write_bytes > 0) {
    const memory::DramRange copies[2] = {{0, cost.mm_read_bytes, false}, {0, cost.mm_write_bytes, true}};
    rep = {};
    rep.ranges = copies;
    rep.n_ranges = 2;
    send(dram, tlm::TLM_READ_COMMAND, 0, 0, mm_delay);
    load->dram_energy += rep.energy;
    cost.dram_read_bytes += cost.mm_read_bytes;
    cost.dram_write_bytes += cost.mm_write_bytes;
    mm_delay += sc_time(static_cast<double>(cost.rows_moved + cost.rows_inserted) * core_.row_copy_time(), SC_SEC);
  }
  t.clear_extension(&rep);
  hits_.add(static_cast<double>(cost.hits));
  misses_.add(static_cast<double>(cost.misses));
  load->flash_time = flash_delay.to_seconds();
  load->dram_time = dram_delay.to_seconds();
  load->mm_time = mm_delay.to_seconds();
  delay += (concurrent_ ? std::max(flash_delay, dram_delay) : flash_delay + dram_delay) + mm_delay;
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace edgesim::cache
