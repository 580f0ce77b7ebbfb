#include "models/fault/injector.hpp"

#include <algorithm>
#include <cstring>

#include "models/fault/secded.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::fault {

const char* outcome_name(Outcome o) {
  static const char* const names[] = {"masked", "sdc", "tolerable_sdc", "due"};
  return names[static_cast<int>(o)];
}

const char* FaultModel::name() const {
  switch (kind) {
    case FaultModelKind::kMultiBit: return "multi_bit";
    case FaultModelKind::kStuckAt: return "stuck_at";
    default: return "single_bit";
  }
}

Goldens run_goldens(const npu::Network& net, const npu::Plan& plan, const int8_t* inputs, size_t count) {
  Goldens g;
  g.arena_bytes = net.arena_bytes;
  g.arenas.resize(count * net.arena_bytes);
  g.top1.resize(count);
  npu::Executor exec(net, plan);
  const size_t in = net.tensors[net.input].size();
  for (size_t i = 0; i < count; ++i) {
    exec.set_input(inputs + i * in);
    exec.run();
    std::memcpy(g.arenas.data() + i * net.arena_bytes, exec.arena(), net.arena_bytes);
    g.top1[i] = exec.argmax();
  }
  return g;
}

/// What a fault does to the run: bytes changed before `layer` runs (and put back after
/// layer `undo_after`), the OFM of `layer` pre-filled with stale data, the block fault.
constexpr size_t kNever = ~size_t{0};  // a changed arena byte stays: the run overwrites or drops it

struct Injector::Action {
  size_t layer = 0;
  bool block_fault = false, stale = false;
  int8_t* ptr = nullptr;                 // the changed bytes: in the arena,
  size_t weight_layer = kNever, weight_first = 0;  // or of this layer's decoded weights
  int8_t old_bytes[8] = {}, new_bytes[8] = {};
  size_t n = 0;
  size_t undo_after = 0;
  bool pending = false;
  // Only these outputs of `layer` can change (a weighted layer's weight or input value):
  // re-executed alone. y1 == 0: the whole layer.
  int y0 = 0, y1 = 0, x0 = 0, x1 = 0, c0 = 0, c1 = 0;
};

Injector::Injector(const npu::Network& net, const npu::Plan& plan, const SiteMap& sites,
                   const Goldens& goldens, const InjectorOptions& o)
    : net_(net), plan_(plan), sites_(sites), goldens_(goldens), o_(o), exec_(net, plan) {
  if (goldens.arena_bytes != net.arena_bytes || goldens.inputs() == 0)
    throw SimError("fault injector: goldens of another network");
  size_t max_tensor = 0;
  for (const auto& t : net.tensors) max_tensor = std::max(max_tensor, t.size());
  image_offset_.resize(net.ops.size());
  for (size_t i = 0; i < net.ops.size(); ++i) {
    image_offset_[i] = image_.size();
    const auto& w = exec_.weight_buffer(i);
    image_.insert(image_.end(), w.begin(), w.end());
    max_tensor = std::max(max_tensor, w.size());
  }
  alt_.resize(max_tensor);
  // The arena ranges a layer after k reads, and the output: equal to the golden run's
  // after layer k, the rest of the run is the golden one.
  live_after_.resize(net.ops.size());
  for (size_t k = 0; k < net.ops.size(); ++k) {
    std::vector<int> ts = {net.output};
    for (size_t j = k + 1; j < net.ops.size(); ++j)
      for (int in : net.ops[j].inputs) ts.push_back(in);
    std::sort(ts.begin(), ts.end());
    ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
    for (int t : ts) live_after_[k].emplace_back(net.tensors[t].offset, net.tensors[t].size());
  }
}

uint64_t Injector::corrupt(uint64_t v, uint64_t mask, bool stuck, bool value) const {
  if (!stuck) return v ^ mask;
  return value ? (v | mask) : (v & ~mask);
}

uint64_t Injector::mask_at(int pos, int width_limit) const {
  const int w = o_.model.kind == FaultModelKind::kMultiBit ? o_.model.width : 1;
  uint64_t m = 0;
  for (int b = pos; b < std::min(pos + w, width_limit) && b < 64; ++b) m |= uint64_t{1} << b;
  return m;
}

size_t Injector::job_at(size_t layer, uint64_t cycle, bool by_compute) const {
  const auto& jobs = plan_.layers[layer].jobs;
  const uint64_t start = sites_.layer_start[layer], end = sites_.layer_end[layer];
  const double frac =
      end > start ? static_cast<double>(std::min(cycle, end - 1) - std::min(cycle, start)) / (end - start)
                  : 0.0;
  if (!by_compute)
    return std::min(jobs.size() - 1, static_cast<size_t>(frac * static_cast<double>(jobs.size())));
  uint64_t total = 0;
  for (const auto& j : jobs) total += j.compute_cycles;
  const double target = frac * static_cast<double>(total);
  uint64_t sum = 0;
  for (size_t k = 0; k < jobs.size(); ++k) {
    sum += jobs[k].compute_cycles;
    if (static_cast<double>(sum) > target) return k;
  }
  return jobs.size() - 1;
}

bool Injector::same_as_golden_after(size_t layer, const int8_t* golden) const {
  const int8_t* a = const_cast<npu::Executor&>(exec_).arena();
  for (const auto& [off, size] : live_after_[layer])
    if (std::memcmp(a + off, golden + off, size) != 0) return false;
  return true;
}

void Injector::prefill_stale(size_t layer, size_t input) {
  // A block the NPU does not write keeps what the arena held: the previous inference's
  // values (of the previous input; zeros when there is one input only).
  const npu::Tensor& t = net_.tensors[net_.ops[layer].output];
  int8_t* dst = exec_.arena() + t.offset;
  if (goldens_.inputs() < 2) {
    std::memset(dst, 0, t.size());
    return;
  }
  const size_t prev = (input + goldens_.inputs() - 1) % goldens_.inputs();
  std::memcpy(dst, goldens_.arena(prev) + t.offset, t.size());
}

bool Injector::address_effect(npu::Mem m, uint64_t offset, uint64_t mask, bool stuck, bool value,
                              int64_t& shift) const {
  const uint64_t a = o_.base[m] + offset;
  const uint64_t b = corrupt(a, mask, stuck, value) & 0xffffffffULL;
  shift = static_cast<int64_t>(b) - static_cast<int64_t>(a);
  // An address outside the memory the transfer targets: a bus error, which traps.
  return b >= o_.base[m] && b < o_.base[m] + o_.capacity[m];
}

InjectionResult Injector::hang_or_masked(uint64_t extra_cycles, size_t input) const {
  InjectionResult r;
  r.top1 = goldens_.top1[input];
  const double bound = o_.hang_factor * static_cast<double>(sites_.cycles);
  r.outcome = static_cast<double>(sites_.cycles + extra_cycles) > bound ? Outcome::kDue : Outcome::kMasked;
  return r;
}

void Injector::write(const Action& a, const int8_t* bytes) {
  if (a.weight_layer != kNever) {
    exec_.set_weights(a.weight_layer, a.weight_first, bytes, a.n);  // the executor keeps its copies in step
  } else {
    std::memcpy(a.ptr, bytes, a.n);
  }
}

InjectionResult Injector::finish(size_t input, size_t from, Action& a) {
  const int8_t* golden = goldens_.arena(input);
  InjectionResult r;
  r.top1 = goldens_.top1[input];
  const size_t n = net_.ops.size();
  size_t k = o_.incremental ? from : 0;
  bool done = false;
  for (; k < n && !done; ++k) {
    if (k == a.layer) {
      if (a.stale) prefill_stale(k, input);
      if (a.n) {
        write(a, a.new_bytes);
        a.pending = a.undo_after != kNever;
      }
      if (a.block_fault) exec_.set_fault(&bf_);
    }
    if (k == a.layer && a.y1 > 0 && o_.incremental) {
      exec_.run_region(k, a.y0, a.y1, a.x0, a.x1, a.c0, a.c1);
    } else {
      exec_.run_layer(k);
    }
    exec_.set_fault(nullptr);
    ++r.layers_run;
    if (a.pending && k >= a.undo_after) {
      write(a, a.old_bytes);
      a.pending = false;
    }
    // Past the fault, every value still to be read equal to the golden run's: masked.
    if (o_.incremental && k >= a.layer && !a.pending && same_as_golden_after(k, golden)) return r;
  }
  if (a.pending) write(a, a.old_bytes);
  const npu::Tensor& out = net_.tensors[net_.output];
  if (std::memcmp(exec_.arena() + out.offset, golden + out.offset, out.size()) == 0) return r;
  r.top1 = exec_.argmax();
  r.outcome = r.top1 != goldens_.top1[input] ? Outcome::kSdc : Outcome::kTolerableSdc;
  return r;
}

void Injector::weight_region(size_t layer, size_t first, size_t count, Action& a) const {
  // Decoded weights are [..][OC]: bytes [first, first + count) reach these output channels.
  const npu::Tensor& to = net_.tensors[net_.ops[layer].output];
  const auto oc = static_cast<size_t>(to.c);
  const size_t c_lo = first % oc, c_hi = (first + count - 1) % oc;
  a.y0 = 0, a.y1 = to.h, a.x0 = 0, a.x1 = to.w;
  if (count <= oc && c_lo <= c_hi) {
    a.c0 = static_cast<int>(c_lo), a.c1 = static_cast<int>(c_hi) + 1;
  } else {
    a.c0 = 0, a.c1 = to.c;
  }
}

void Injector::input_region(size_t layer, int tensor, size_t idx, Action& a) const {
  const npu::Op& op = net_.ops[layer];
  using npu::OpType;
  if (op.type != OpType::Conv2d && op.type != OpType::DepthwiseConv2d && op.type != OpType::FullyConnected)
    return;
  if (op.inputs[0] != tensor) return;
  const npu::Tensor& ti = net_.tensors[tensor];
  const npu::Tensor& to = net_.tensors[op.output];
  a.y0 = 0, a.y1 = to.h, a.x0 = 0, a.x1 = to.w, a.c0 = 0, a.c1 = to.c;
  if (op.type == OpType::FullyConnected) return;
  const int c = static_cast<int>(idx % static_cast<size_t>(ti.c));
  const int pix = static_cast<int>(idx / static_cast<size_t>(ti.c));
  const int y = pix / ti.w, x = pix % ti.w;
  // Outputs whose window covers (y, x): oy * s - pad <= y <= oy * s - pad + k - 1.
  auto range = [](int v, int s, int pad, int k, int n, int& lo, int& hi) {
    const int num = v + pad - k + 1;
    lo = std::max(0, num <= 0 ? 0 : (num + s - 1) / s);
    hi = std::min(n, (v + pad) / s + 1);
  };
  // With dilation, the window's extent: a superset of the outputs reached (recomputed alike).
  range(y, op.sh, op.pad_top, (op.kh - 1) * op.dh + 1, to.h, a.y0, a.y1);
  range(x, op.sw, op.pad_left, (op.kw - 1) * op.dw + 1, to.w, a.x0, a.x1);
  if (op.type == OpType::DepthwiseConv2d)
    a.c0 = c * op.depth_multiplier, a.c1 = (c + 1) * op.depth_multiplier;
  if (a.y0 >= a.y1 || a.x0 >= a.x1) a.y0 = a.y1 = 0;  // reaches no output: the whole layer (rare)
}

InjectionResult Injector::inject(const Fault& f, size_t input) {
  const Site& site = sites_.sites.at(f.site);
  const bool stuck = o_.model.kind == FaultModelKind::kStuckAt;
  std::memcpy(exec_.arena(), goldens_.arena(input), net_.arena_bytes);
  InjectionResult masked;
  masked.top1 = goldens_.top1[input];
  Action a;
  a.layer = site.layer;
  const size_t L = site.layer;
  switch (site.kind) {
    case SiteKind::kTensor: {
      a.layer = std::max(L, sites_.layer_at(f.cycle));
      const size_t idx = f.bit / 8;
      a.ptr = exec_.arena() + net_.tensors[site.tensor].offset + idx;
      a.old_bytes[0] = *a.ptr;
      a.new_bytes[0] = static_cast<int8_t>(corrupt(
          static_cast<uint8_t>(*a.ptr), mask_at(static_cast<int>(f.bit % 8), 8), stuck, f.stuck_value));
      if (a.new_bytes[0] == a.old_bytes[0]) return masked;
      a.n = 1;
      // A flip stays until the value is dead; a stuck bit is released after its duration.
      a.undo_after = kNever;
      input_region(a.layer, site.tensor, idx, a);
      if (stuck) {
        a.undo_after = a.layer;
        while (a.undo_after + 1 < net_.ops.size() &&
               sites_.layer_start[a.undo_after + 1] < f.cycle + o_.model.stuck_cycles)
          ++a.undo_after;
      }
      return finish(input, a.layer, a);
    }
    case SiteKind::kWeights: {
      // The weight sits in the buffer while its depth slice's blocks run, reloaded for
      // each: the fault reaches the one block (job) of its slice running at that cycle.
      const auto& w = exec_.weight_buffer(L);
      const size_t idx = f.bit / 8;
      const auto oc = static_cast<size_t>(net_.tensors[net_.ops[L].output].c);
      const size_t c = idx % oc, jobs = plan_.layers[L].jobs.size();
      const auto slice = static_cast<size_t>(std::max(1, plan_.layers[L].block_c));
      const size_t slices = (oc + slice - 1) / slice, spatial = jobs / slices;
      const uint64_t start = sites_.layer_start[L], span = sites_.layer_end[L] - start;
      const double frac = span ? static_cast<double>(f.cycle - start) / static_cast<double>(span) : 0.0;
      const size_t job = (c / slice) * spatial + std::min(spatial - 1, static_cast<size_t>(frac * spatial));
      const auto v = static_cast<int8_t>(corrupt(
          static_cast<uint8_t>(w[idx]), mask_at(static_cast<int>(f.bit % 8), 8), stuck, f.stuck_value));
      if (v == w[idx]) return masked;
      if (o_.incremental) {
        // Only that block's outputs of channel c change.
        a.weight_layer = L, a.weight_first = idx;
        a.old_bytes[0] = w[idx], a.new_bytes[0] = v;
        a.n = 1;
        a.undo_after = L;
        const npu::BlockBox b = exec_.block_box(L, job);
        a.y0 = b.y0, a.y1 = b.y0 + b.bh, a.x0 = b.x0, a.x1 = b.x0 + b.bw;
        a.c0 = static_cast<int>(c), a.c1 = static_cast<int>(c) + 1;
      } else {
        std::copy(w.begin(), w.end(), alt_.begin());
        alt_[idx] = v;
        bf_ = npu::BlockFault{};
        bf_.kind = npu::BlockFault::kAltWeights;
        bf_.layer = L, bf_.first_block = job, bf_.last_block = job + 1;
        bf_.alt = alt_.data();
        a.block_fault = true;
      }
      return finish(input, L, a);
    }
    case SiteKind::kDramWeights: {
      const auto& w = exec_.weight_buffer(L);
      const uint64_t word = f.bit / static_cast<uint64_t>(site.word_bits);
      const int pos = static_cast<int>(f.bit % static_cast<uint64_t>(site.word_bits));
      const size_t first = word * 8, count = std::min<size_t>(8, w.size() - first);
      uint64_t data = 0;
      std::memcpy(&data, w.data() + first, count);
      uint64_t faulty = data;
      if (sites_.dram_ecc) {
        const Bits72 cw = secded_encode(data);
        Bits72 m = 0;
        const int width = o_.model.kind == FaultModelKind::kMultiBit ? o_.model.width : 1;
        for (int b = pos; b < std::min(pos + width, kCodewordBits); ++b) m |= static_cast<Bits72>(1) << b;
        const Bits72 bad = stuck ? (f.stuck_value ? (cw | m) : (cw & ~m)) : (cw ^ m);
        const EccResult e = secded_decode(bad);
        if (e.outcome == EccOutcome::kDetected) {
          InjectionResult due = masked;
          due.outcome = Outcome::kDue;
          return due;
        }
        faulty = e.data;
      } else {
        faulty = corrupt(data, mask_at(pos, 64), stuck, f.stuck_value);
      }
      std::memcpy(a.old_bytes, w.data() + first, count);
      std::memcpy(a.new_bytes, &faulty, count);
      if (std::memcmp(a.old_bytes, a.new_bytes, count) == 0) return masked;  // corrected, or in padding
      a.weight_layer = L, a.weight_first = first;
      a.n = count;
      a.undo_after = L;
      weight_region(L, first, count, a);
      return finish(input, L, a);
    }
    case SiteKind::kAccumulators: {
      const size_t k = job_at(L, f.cycle, true);
      const npu::BlockBox b = exec_.block_box(L, k);
      const uint64_t word = f.bit / 32;
      if (word >= static_cast<uint64_t>(b.bh) * b.bw * b.bc) return masked;  // unused in an edge block
      const auto mask =
          static_cast<int32_t>(static_cast<uint32_t>(mask_at(static_cast<int>(f.bit % 32), 32)));
      bf_ = npu::BlockFault{};
      bf_.kind = stuck ? npu::BlockFault::kAccForce : npu::BlockFault::kAccXor;
      bf_.layer = L, bf_.first_block = k, bf_.last_block = k + 1;
      bf_.acc_index = word;
      bf_.value = mask;
      bf_.force = f.stuck_value ? mask : 0;
      a.block_fault = true;
      return finish(input, L, a);
    }
    case SiteKind::kMacOperands: {
      const npu::Op& op = net_.ops[L];
      const npu::Tensor& ti = net_.tensors[op.inputs[0]];
      const size_t k = job_at(L, f.cycle, true);
      const npu::BlockBox b = exec_.block_box(L, k);
      const uint64_t size = static_cast<uint64_t>(b.bh) * b.bw * b.bc;
      const bool fc = op.type == npu::OpType::FullyConnected;
      const uint64_t taps = fc ? 1 : static_cast<uint64_t>(op.kh) * op.kw;
      const uint64_t ics = fc ? ti.size() : static_cast<uint64_t>(ti.c);
      // Which term the lane holds: an output of the block, a kernel tap, an input channel.
      const uint64_t o = f.aux % size, tap = (f.aux / size) % taps, ic = (f.aux / size / taps) % ics;
      const int py = static_cast<int>(o / (static_cast<uint64_t>(b.bw) * b.bc));
      const int px = static_cast<int>((o / b.bc) % b.bw), c = static_cast<int>(o % b.bc);
      int8_t x = 0, w = 0;
      if (!exec_.mac_operands(L, b.y0 + py, b.x0 + px, b.c0 + c, fc ? 0 : static_cast<int>(tap / op.kw),
                              fc ? 0 : static_cast<int>(tap % op.kw), static_cast<int>(ic), x, w))
        return masked;  // a tap in the padding: the lane is idle
      const uint64_t m = mask_at(static_cast<int>(f.bit % 32), 32);
      const auto x2 = static_cast<int8_t>(corrupt(static_cast<uint8_t>(x), m & 0xff, stuck, f.stuck_value));
      const auto w2 =
          static_cast<int8_t>(corrupt(static_cast<uint8_t>(w), (m >> 8) & 0xff, stuck, f.stuck_value));
      const int32_t zp = ti.zero_point;
      const auto p_old = static_cast<int16_t>(static_cast<int16_t>(x - zp) * w);
      auto p_new = static_cast<int16_t>(static_cast<int16_t>(x2 - zp) * w2);
      p_new = static_cast<int16_t>(
          corrupt(static_cast<uint16_t>(p_new), (m >> 16) & 0xffff, stuck, f.stuck_value));
      if (p_new == p_old) return masked;
      bf_ = npu::BlockFault{};
      bf_.kind = npu::BlockFault::kAccAdd;
      bf_.layer = L, bf_.first_block = k, bf_.last_block = k + 1;
      bf_.acc_index = o;
      bf_.value = static_cast<int32_t>(p_new) - p_old;
      a.block_fault = true;
      return finish(input, L, a);
    }
    case SiteKind::kControl: return control(f, input);
    case SiteKind::kDmaDescriptor: return dma(f, input);
  }
  return masked;
}

InjectionResult Injector::control(const Fault& f, size_t input) {
  const Site& site = sites_.sites[f.site];
  const size_t L = site.layer;
  const bool stuck = o_.model.kind == FaultModelKind::kStuckAt;
  const auto& jobs = plan_.layers[L].jobs;
  const uint64_t total = jobs.size(), j = job_at(L, f.cycle, false);
  const uint64_t per_job = (sites_.layer_end[L] - sites_.layer_start[L]) / std::max<uint64_t>(total, 1);
  const int pos = static_cast<int>(f.bit % kControlBits);
  const ControlField* field = &kControlFields[0];
  for (const auto& cf : kControlFields)
    if (pos >= cf.first_bit && pos < cf.first_bit + cf.bits) field = &cf;
  const uint64_t m = mask_at(pos - field->first_bit, field->bits);
  InjectionResult masked;
  masked.top1 = goldens_.top1[input];
  InjectionResult due = masked;
  due.outcome = Outcome::kDue;
  Action a;
  a.layer = L;
  const std::string name = field->name;
  if (name == "fsm_state") {
    // One-hot state (idle, fetch, compute, write back), in compute while a job runs: any
    // other code is illegal, and the state machine has no way out of it: a hang.
    const uint64_t state = 0b0100;
    return corrupt(state, m, stuck, f.stuck_value) == state ? masked : due;
  }
  if (name == "job_counter" || name == "job_total") {
    // The layer ends when the counter (the block address generator) equals the total; a
    // 16-bit counter that passes the total wraps around: 65536 jobs later.
    const bool counter = name == "job_counter";
    const uint64_t old = counter ? j : total;
    const uint64_t now = corrupt(old, m, stuck, f.stuck_value) & 0xffff;
    if (now == old) return masked;
    uint64_t cnt = counter ? now : j, tot = counter ? total : now;
    if (cnt >= tot)
      return hang_or_masked((65536 - cnt + tot) * per_job, input);              // wrap, then every job again
    if (counter && now < j) return hang_or_masked((j - now) * per_job, input);  // jobs repeated: same blocks
    if (!counter && now > total) return hang_or_masked((now - total) * per_job, input);  // jobs past the OFM
    // Jobs skipped: [j, now) by the counter, [now, total) by the total.
    bf_ = npu::BlockFault{};
    bf_.kind = npu::BlockFault::kSkip;
    bf_.layer = L;
    bf_.first_block = counter ? j : now;
    bf_.last_block = counter ? now : total;
    a.block_fault = a.stale = true;
    return finish(input, L, a);
  }
  // Base addresses: the rest of the layer's blocks read (or write) elsewhere.
  const npu::Op& op = net_.ops[L];
  const bool ifm = name == "ifm_base";
  const npu::Tensor& t = net_.tensors[ifm ? op.inputs[0] : op.output];
  int64_t shift = 0;
  if (!address_effect(plan_.settings.activations_in, t.offset, m, stuck, f.stuck_value, shift)) return due;
  if (shift == 0) return masked;
  bf_ = npu::BlockFault{};
  bf_.layer = L, bf_.first_block = j, bf_.last_block = total;
  if (ifm) {
    for (size_t b = 0; b < t.size(); ++b) {
      const int64_t src = static_cast<int64_t>(t.offset + b) + shift;
      // Outside the arena the SRAM holds data the model does not know: read as zeros.
      alt_[b] = src >= 0 && src < static_cast<int64_t>(net_.arena_bytes) ? exec_.arena()[src] : 0;
    }
    bf_.kind = npu::BlockFault::kAltInput;
    bf_.alt = alt_.data();
  } else {
    bf_.kind = npu::BlockFault::kSkip;  // the blocks land elsewhere (not modelled); the OFM keeps stale data
    a.stale = true;
  }
  a.block_fault = true;
  return finish(input, L, a);
}

InjectionResult Injector::dma(const Fault& f, size_t input) {
  const Site& site = sites_.sites[f.site];
  const size_t L = site.layer;
  const bool stuck = o_.model.kind == FaultModelKind::kStuckAt;
  const auto& jobs = plan_.layers[L].jobs;
  const uint64_t job = job_at(L, f.cycle, false) + f.bit / kDescriptorBits;  // slot 1: the next job's
  InjectionResult masked;
  masked.top1 = goldens_.top1[input];
  InjectionResult due = masked;
  due.outcome = Outcome::kDue;
  if (job >= jobs.size()) return masked;  // a descriptor no job uses
  const int pos = static_cast<int>(f.bit % kDescriptorBits);
  const int field = pos / 32;
  const uint64_t m = mask_at(pos % 32, 32);
  const npu::Op& op = net_.ops[L];
  Action a;
  a.layer = L;
  bf_ = npu::BlockFault{};
  bf_.layer = L, bf_.first_block = job, bf_.last_block = job + 1;
  int64_t shift = 0;
  if (field == 0) {  // weights source
    if (op.weights.empty()) return masked;
    if (!address_effect(plan_.settings.weights_in, image_offset_[L], m, stuck, f.stuck_value, shift))
      return due;
    if (shift == 0) return masked;
    const size_t n = exec_.weight_buffer(L).size();
    for (size_t b = 0; b < n; ++b) {
      const int64_t src = static_cast<int64_t>(image_offset_[L] + b) + shift;
      alt_[b] = src >= 0 && src < static_cast<int64_t>(image_.size()) ? image_[src] : 0;
    }
    bf_.kind = npu::BlockFault::kAltWeights;
    bf_.alt = alt_.data();
  } else if (field == 1) {  // IFM source
    const npu::Tensor& t = net_.tensors[op.inputs[0]];
    if (!address_effect(plan_.settings.activations_in, t.offset, m, stuck, f.stuck_value, shift)) return due;
    if (shift == 0) return masked;
    for (size_t b = 0; b < t.size(); ++b) {
      const int64_t src = static_cast<int64_t>(t.offset + b) + shift;
      alt_[b] = src >= 0 && src < static_cast<int64_t>(net_.arena_bytes) ? exec_.arena()[src] : 0;
    }
    bf_.kind = npu::BlockFault::kAltInput;
    bf_.alt = alt_.data();
  } else {  // OFM destination
    const npu::Tensor& t = net_.tensors[op.output];
    if (!address_effect(plan_.settings.activations_in, t.offset, m, stuck, f.stuck_value, shift)) return due;
    if (shift == 0) return masked;
    bf_.kind = npu::BlockFault::kSkip;
    a.stale = true;
  }
  a.block_fault = true;
  return finish(input, L, a);
}

}  // namespace edgesim::fault
