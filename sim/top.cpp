#include "sim/top.hpp"

namespace edgesim::sim {

using sc_core::SC_SEC;
using sc_core::sc_time;

std::ostream& operator<<(std::ostream& os, const ComputeJob& j) {
  return os << "job(step " << j.step << ", op " << j.op << ", " << j.flops << " FLOP"
            << (j.end_of_step ? ", end" : "") << ")";
}

ComputeUnit::ComputeUnit(sc_core::sc_module_name name, const compute::Engine& engine,
                         const compute::Engine* prompt_engine,
                         std::vector<StepRecord>& steps, StepRecord& encoder, Timeline* timeline)
    : sc_module(name),
      // The fifo also carries end-of-step markers, which hold no buffer: size it past
      // what the semaphore lets in flight.
      jobs("jobs", static_cast<int>(engine.weight_buffers()) + 2),
      buffers("buffers", static_cast<int>(engine.weight_buffers())),
      engine_(engine),
      prompt_engine_(prompt_engine ? *prompt_engine : engine),
      steps_(steps),
      encoder_(encoder),
      timeline_(timeline) {
  SC_HAS_PROCESS(ComputeUnit);
  SC_THREAD(run);
}

void ComputeUnit::run() {
  for (;;) {
    const ComputeJob job = jobs.read();
    ++(job.encoder ? encoder_ : steps_[job.step]).activations;
    if (job.end_of_step) {
      (job.encoder ? encoder_ : steps_[job.step]).end_time = sc_core::sc_time_stamp().to_seconds();
      continue;
    }
    const compute::Engine& engine = job.prompt ? prompt_engine_ : engine_;
    const sc_time t(engine.op_time(static_cast<double>(job.flops), job.dtype) + job.extra_time, SC_SEC);
    if (timeline_ && !job.encoder && timeline_->wants(job.step)) {
      timeline_->compute(job.step, job.op, sc_core::sc_time_stamp().to_seconds(), t.to_seconds(), job.flops);
    }
    wait(t);
    // Index again after waiting: the replayer may have grown (and moved) the records.
    StepRecord& rec = job.encoder ? encoder_ : steps_[job.step];
    ++rec.activations;
    rec.compute_time += t.to_seconds();
    rec.compute_energy += engine.op_energy(static_cast<double>(job.flops));
    buffers.post();
    ++done;
    op_done.notify(sc_core::SC_ZERO_TIME);
  }
}

Replayer::Replayer(sc_core::sc_module_name name, OpSource& source, ComputeUnit& compute,
                   std::vector<StepRecord>& steps, StepRecord& encoder, std::function<void(uint64_t)> on_step,
                   Timeline* timeline, const Experiment& exp, const cache::WeightStore& store,
                   std::vector<SwitchRecord>& switches)
    : sc_module(name),
      socket("socket"),
      source_(source),
      compute_(compute),
      steps_(steps),
      encoder_(encoder),
      on_step_(std::move(on_step)),
      timeline_(timeline),
      exp_(exp),
      store_(store),
      switches_(switches) {
  SC_HAS_PROCESS(Replayer);
  SC_THREAD(run);
}

namespace {
// The payload deletes the extensions it still holds: take ours back on every way out, an
// exception's included.
template <class Extension>
struct TakeBack {
  tlm::tlm_generic_payload& trans;
  Extension& ext;
  ~TakeBack() { trans.clear_extension(&ext); }
};
}  // namespace

namespace {
// The compute engine's view of a storage format: what decoding one weight involves.
compute::WeightDecode decode_kind(traces::FormatKind k) {
  switch (k) {
    case traces::FormatKind::int8: return compute::WeightDecode::int8;
    case traces::FormatKind::int4: return compute::WeightDecode::int4;
    case traces::FormatKind::vq: return compute::WeightDecode::vq;
    case traces::FormatKind::fp32:
    case traces::FormatKind::fp16:
    case traces::FormatKind::bf16: break;
  }
  return compute::WeightDecode::none;
}
}  // namespace

double Replayer::decode_time(const RunModel& m, const std::vector<uint32_t>& tensors,
                             const traces::OpAccess& op) const {
  const traces::ModelLayout& layout = *m.layout;
  double t = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const uint32_t local = tensors[i] - m.tensor_base;
    const traces::Tensor& tensor = layout.tensors()[local];
    if (tensor.vector()) continue;
    const double per_weight = exp_.compute->decode_time(decode_kind(layout.format(local).kind));
    if (per_weight == 0) continue;
    const double weights = static_cast<double>(op.sets[i].count(tensor.chunks)) *
                           static_cast<double>(tensor.rows * tensor.cols / tensor.chunks);
    t += weights * per_weight;
  }
  return t;
}

void Replayer::switch_adapters(uint64_t s, uint64_t to, uint64_t sent) {
  // The switch rewrites weights (or the adapters) that ops in flight still read: it
  // starts once compute has finished every op sent so far.
  while (compute_.done < sent) {
    wait(compute_.op_done);
    ++steps_[s].activations;
  }
  const traces::SwitchCost cost = exp_.adapter->switch_cost(
      active_, to,
      [this](uint32_t t) {
        traces::TensorHome h;
        h.in_flash = store_.placement(t) != cache::Placement::Dram;
        h.dram_bytes = store_.dram_bytes(t);
        return h;
      },
      exp_.flash->device_bytes(1));
  const cache::Transfers transfers{cost.flash_reads.data(), cost.flash_reads.size(), cost.flash_write_bytes,
                                   cost.dram_read_bytes, cost.dram_write_bytes};
  tlm::tlm_generic_payload trans;
  cache::SwitchLoad load;
  load.cost = &transfers;
  trans.set_extension(&load);
  const TakeBack<cache::SwitchLoad> take_back{trans, load};
  trans.set_command(tlm::TLM_READ_COMMAND);
  sc_time delay = sc_core::SC_ZERO_TIME;
  socket->b_transport(trans, delay);
  // Fusing computes B A while W streams through: memory and compute overlap.
  const double flops = static_cast<double>(cost.flops);
  const double compute = cost.flops ? exp_.compute->op_time(flops, exp_.layout->activation_dtype()) : 0.0;
  const sc_time took = std::max(delay, sc_time(compute, SC_SEC));
  if (timeline_ && timeline_->wants(s)) {
    timeline_->adapter_switch(s, sc_core::sc_time_stamp().to_seconds(), took.to_seconds(), active_, to);
  }
  if (took > sc_core::SC_ZERO_TIME) {
    wait(took);
    ++steps_[s].activations;
  }
  StepRecord& rec = steps_[s];
  SwitchRecord sw;
  sw.step = s;
  sw.from = active_;
  sw.to = to;
  sw.time = took.to_seconds();
  const double compute_energy = exp_.compute->op_energy(flops);
  sw.energy = load.flash_energy + load.dram_energy + compute_energy;
  sw.flash_read_bytes = cost.flash_read_bytes();
  sw.flash_write_bytes = cost.flash_write_bytes;
  sw.dram_read_bytes = cost.dram_read_bytes;
  sw.dram_write_bytes = cost.dram_write_bytes;
  sw.flops = cost.flops;
  switches_.push_back(sw);
  rec.switch_time += sw.time;
  ++rec.switches;
  rec.flash_time += load.flash_time;
  rec.dram_time += load.dram_time;
  rec.flash_energy += load.flash_energy;
  rec.dram_energy += load.dram_energy;
  rec.compute_energy += compute_energy;
  rec.flash_bytes += sw.flash_read_bytes;
  rec.dram_read_bytes += cost.dram_read_bytes;
  rec.dram_write_bytes += cost.dram_write_bytes;
  rec.flops += cost.flops;
  active_ = to;
}

void Replayer::send(tlm::tlm_generic_payload& trans, const RunModel& m, const traces::OpSpec& spec,
                    const std::vector<uint32_t>& tensors, traces::OpAccess& op, uint64_t s, bool encoder,
                    bool prompt) {
  cache::OpLoad& load = *trans.get_extension<cache::OpLoad>();
  // What the active adapters add to the op, and decoding its weights: from the step's
  // adapter state, so a recorded trace replays at the same cost. The encoder pass runs
  // without adapters.
  // Adapters sit on the experiment's model.
  const traces::OpAdapterCost ac =
      encoder || m.tensor_base > 0 ? traces::OpAdapterCost{} : exp_.adapter->op_cost(spec, active_);
  op.flops += ac.flops;
  op.extra_dram_read_bytes += ac.dram_read_bytes;
  const double kernels = ac.kernels * exp_.adapter->kernel_overhead();
  const double decode = decode_time(m, tensors, op);
  while (op.needs_input && compute_.done < sent_) {
    wait(compute_.op_done);
    ++record(s, encoder).activations;
  }
  compute_.buffers.wait();  // a free weight buffer
  ++record(s, encoder).activations;
  const cache::OpRequest request{tensors.data(),           op.sets.data(),
                                 tensors.size(),           spec.layer,
                                 op.extra_dram_read_bytes, op.extra_dram_write_bytes,
                                 s};
  load.op = &request;
  load.flash_time = load.dram_time = load.flash_energy = load.dram_energy = load.mm_time = 0;
  load.flash_device_bytes = 0;
  sc_time delay = sc_core::SC_ZERO_TIME;
  socket->b_transport(trans, delay);
  load.op = nullptr;
  if (delay > sc_core::SC_ZERO_TIME) {
    wait(delay);
    ++record(s, encoder).activations;
  }
  StepRecord& rec = record(s, encoder);
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
  rec.adapter_flops += ac.flops;
  rec.adapter_dram_read_bytes += ac.dram_read_bytes;
  rec.adapter_kernel_time += kernels;
  rec.decode_time += decode;
  rec.mm_time += load.mm_time;
  rec.rows_deleted += c.rows_deleted;
  rec.rows_inserted += c.rows_inserted;
  rec.rows_moved += c.rows_moved;
  rec.mm_bytes += c.mm_read_bytes + c.mm_write_bytes;
  rec.hit_bytes += c.hit_bytes;
  rec.miss_bytes += c.miss_bytes;
  ++rec.ops;
  if (timeline_ && !encoder && timeline_->wants(s)) {
    // The load began `delay` ago: b_transport does not advance time, the wait above does.
    timeline_->load(s, op.op, (sc_core::sc_time_stamp() - delay).to_seconds(), load.flash_time,
                    load.dram_time, c.flash_bytes, c.dram_read_bytes + op.extra_dram_read_bytes,
                    c.dram_write_bytes + op.extra_dram_write_bytes);
  }
  compute_.jobs.write(
      {s, op.flops, op.op, false, kernels + decode, encoder, prompt, m.layout->activation_dtype()});
  ++sent_;
}

void Replayer::run() {
  tlm::tlm_generic_payload trans;
  cache::OpLoad load;
  trans.set_extension(&load);
  const TakeBack<cache::OpLoad> take_back{trans, load};
  trans.set_command(tlm::TLM_READ_COMMAND);
  // An encoder-decoder model encodes the prompt once, before the first decode step; when
  // the run simulates its prompt (run.prefill_chunk, the hybrid scheme), its plan's encode
  // step does that instead.
  const bool planned_prompt = exp_.run.prefill_chunk > 0 || exp_.decoding.scheme == Scheme::Hybrid;
  std::vector<traces::OpAccess> pass;
  if (!planned_prompt) pass = exp_.layout->encoder_pass(exp_.run.encoder_tokens(*exp_.layout));
  const RunModel& first = exp_.models[0];
  for (traces::OpAccess& op : pass)
    send(trans, first, exp_.layout->encoder_ops()[op.op], first.encoder_op_tensors[op.op], op, 0, true, false);
  if (!pass.empty()) compute_.jobs.write({0, 0, 0, true, 0, true});
  traces::StepInfo info;
  traces::OpAccess op;
  while (source_.begin_step(info)) {
    const uint64_t s = steps_.size();
    steps_.emplace_back();
    steps_.back().info = info;
    const RunModel& model = exp_.models[info.model];
    const bool prompt = info.phase == traces::Phase::Prefill || info.phase == traces::Phase::Encode;
    for (const traces::Event& ev : source_.events()) {
      if (ev.type == traces::kEventAdapterSet) switch_adapters(s, ev.value, sent_);
    }
    while (source_.next_op(op))
      send(trans, model, model.table(info.phase)[op.op], model.store_tensors(info.phase, op.op), op, s, false,
           prompt);
    compute_.jobs.write({s, 0, 0, true});
    if (on_step_) on_step_(s);
  }
  trans.clear_extension(&load);
}

Top::Top(sc_core::sc_module_name name, Experiment& exp, cache::WeightStore& store,
         std::vector<uint64_t> future, OpSource& source, Stats& stats, std::vector<StepRecord>& steps,
         StepRecord& encoder, std::function<void(uint64_t)> on_step, std::vector<SwitchRecord>& switches,
         Timeline* timeline)
    : sc_module(name),
      flash_("flash", *exp.flash, stats),
      dram_("dram", *exp.dram, stats),
      store_("weight_store", store, exp.flash_dram_concurrent, std::move(future), stats),
      compute_("compute", *exp.compute, exp.prefill_compute.get(), steps, encoder, timeline),
      replayer_("replayer", source, compute_, steps, encoder, std::move(on_step), timeline, exp, store,
                switches) {
  replayer_.socket.bind(store_.socket);
  store_.flash.bind(flash_.socket);
  store_.dram.bind(dram_.socket);
}

}  // namespace edgesim::sim
