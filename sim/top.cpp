#include "sim/top.hpp"

namespace edgesim::sim {

using sc_core::SC_SEC;
using sc_core::sc_time;

std::ostream& operator<<(std::ostream& os, const ComputeJob& j) {
  return os << "job(step " << j.step << ", op " << j.op << ", " << j.flops << " FLOP"
            << (j.end_of_step ? ", end" : "") << ")";
}

ComputeUnit::ComputeUnit(sc_core::sc_module_name name, const compute::Engine& engine, Dtype dtype,
                         std::vector<StepRecord>& steps, Timeline* timeline)
    : sc_module(name),
      // The fifo also carries end-of-step markers, which hold no buffer: size it past
      // what the semaphore lets in flight.
      jobs("jobs", static_cast<int>(engine.weight_buffers()) + 2),
      buffers("buffers", static_cast<int>(engine.weight_buffers())),
      engine_(engine),
      dtype_(dtype),
      steps_(steps),
      timeline_(timeline) {
  SC_HAS_PROCESS(ComputeUnit);
  SC_THREAD(run);
}

void ComputeUnit::run() {
  for (;;) {
    const ComputeJob job = jobs.read();
    ++steps_[job.step].activations;
    if (job.end_of_step) {
      steps_[job.step].end_time = sc_core::sc_time_stamp().to_seconds();
      continue;
    }
    const sc_time t(engine_.op_time(static_cast<double>(job.flops), dtype_), SC_SEC);
    if (timeline_ && timeline_->wants(job.step)) {
      timeline_->compute(job.step, job.op, sc_core::sc_time_stamp().to_seconds(), t.to_seconds(), job.flops);
    }
    wait(t);
    // Index again after waiting: the replayer may have grown (and moved) the records.
    StepRecord& rec = steps_[job.step];
    ++rec.activations;
    rec.compute_time += t.to_seconds();
    rec.compute_energy += engine_.op_energy(static_cast<double>(job.flops));
    buffers.post();
    ++done;
    op_done.notify(sc_core::SC_ZERO_TIME);
  }
}

Replayer::Replayer(sc_core::sc_module_name name, OpSource& source, ComputeUnit& compute,
                   std::vector<StepRecord>& steps, std::function<void(uint64_t)> on_step, Timeline* timeline)
    : sc_module(name),
      socket("socket"),
      source_(source),
      compute_(compute),
      steps_(steps),
      on_step_(std::move(on_step)),
      timeline_(timeline) {
  SC_HAS_PROCESS(Replayer);
  SC_THREAD(run);
}

void Replayer::run() {
  tlm::tlm_generic_payload trans;
  cache::OpLoad load;
  trans.set_extension(&load);
  // The payload deletes the extensions it still holds: take ours back on every way out,
  // an exception's included.
  struct Release {
    tlm::tlm_generic_payload& t;
    cache::OpLoad& l;
    ~Release() { t.clear_extension(&l); }
  } release{trans, load};
  trans.set_command(tlm::TLM_READ_COMMAND);
  traces::StepInfo info;
  traces::OpAccess op;
  uint64_t sent = 0;
  while (source_.begin_step(info)) {
    const uint64_t s = steps_.size();
    steps_.emplace_back();
    while (source_.next_op(op)) {
      while (op.needs_input && compute_.done < sent) {
        wait(compute_.op_done);
        ++steps_[s].activations;
      }
      compute_.buffers.wait();  // a free weight buffer
      ++steps_[s].activations;
      load.op = &op;
      load.flash_time = load.dram_time = load.flash_energy = load.dram_energy = 0;
      load.flash_device_bytes = 0;
      sc_time delay = sc_core::SC_ZERO_TIME;
      socket->b_transport(trans, delay);
      if (delay > sc_core::SC_ZERO_TIME) {
        wait(delay);
        ++steps_[s].activations;
      }
      StepRecord& rec = steps_[s];
      const cache::LoadCost& c = load.cost;
      rec.flash_time += load.flash_time;
      rec.dram_time += load.dram_time;
      rec.flash_energy += load.flash_energy;
      rec.dram_energy += load.dram_energy;
      rec.flash_bytes += c.flash_bytes;
      rec.flash_device_bytes += load.flash_device_bytes;
      rec.dram_read_bytes += c.dram_read_bytes + op.extra_dram_read_bytes;
      rec.dram_write_bytes += c.dram_write_bytes + op.extra_dram_write_bytes;
      rec.hits += c.hits;
      rec.misses += c.misses;
      rec.flops += op.flops;
      ++rec.ops;
      if (timeline_ && timeline_->wants(s)) {
        // The load began `delay` ago: b_transport does not advance time, the wait above does.
        timeline_->load(s, op.op, (sc_core::sc_time_stamp() - delay).to_seconds(), load.flash_time,
                        load.dram_time, c.flash_bytes, c.dram_read_bytes + op.extra_dram_read_bytes,
                        c.dram_write_bytes + op.extra_dram_write_bytes);
      }
      compute_.jobs.write({s, op.flops, op.op, false});
      ++sent;
    }
    compute_.jobs.write({s, 0, 0, true});
    if (on_step_) on_step_(s);
  }
  trans.clear_extension(&load);
}

Top::Top(sc_core::sc_module_name name, Experiment& exp, cache::WeightStore& store,
         std::vector<uint64_t> future, OpSource& source, Stats& stats, std::vector<StepRecord>& steps,
         std::function<void(uint64_t)> on_step, Timeline* timeline)
    : sc_module(name),
      flash_("flash", *exp.flash, stats),
      dram_("dram", *exp.dram, stats),
      store_("weight_store", store, *exp.layout, exp.flash_dram_concurrent, std::move(future), stats),
      compute_("compute", *exp.compute, exp.layout->activation_dtype(), steps, timeline),
      replayer_("replayer", source, compute_, steps, std::move(on_step), timeline) {
  replayer_.socket.bind(store_.socket);
  store_.flash.bind(flash_.socket);
  store_.dram.bind(dram_.socket);
}

}  // namespace edgesim::sim
