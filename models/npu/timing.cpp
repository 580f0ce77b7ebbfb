#include "models/npu/timing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sim/core/errors.hpp"

namespace edgesim::npu {

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}

/// Bias and requantization data per output channel: Ethos-U packs a 40-bit bias, a
/// 32-bit scale and a 6-bit shift into 10 bytes (Vela, weight_compressor.py, encode_bias).
constexpr uint64_t kBiasBytesPerChannel = 10;
/// Vela's ArchitectureFeatures keeps 2 SHRAM banks (2 KiB) for the output unit.
constexpr uint64_t kReservedSharedBuffer = 2048;
/// Ethos-U reads IFM depth in slices of at most 32 int8 channels (Vela calc_ifm_block_depth).
constexpr int kIfmSliceDepth = 32;
/// Softmax runs as elementwise passes (max, exp LUT, sum, scale): an assumption, docs/npu.md.
constexpr int kSoftmaxPasses = 4;

/// The geometry of a block-shaped op, normalised (a fully connected layer is 1x1 -> 1x1).
struct Geometry {
  int ih = 1, iw = 1, ic = 1, oh = 1, ow = 1, oc = 1, kh = 1, kw = 1, sh = 1, sw = 1, pad_top = 0,
      pad_left = 0;
  bool per_channel = false;  // depthwise and pools: an output channel reads only its input channel
  bool vector = false;       // fully connected: no spatial parallelism
  int weights_per_channel = 0;
};

Geometry geometry(const Network& net, const Op& op) {
  const Tensor& ti = net.tensors[op.inputs[0]];
  const Tensor& to = net.tensors[op.output];
  Geometry g;
  g.oc = to.c;
  if (op.type == OpType::FullyConnected) {
    g.ic = static_cast<int>(ti.size());
    g.vector = true;
    g.weights_per_channel = g.ic;
    return g;
  }
  g.ih = ti.h, g.iw = ti.w, g.ic = ti.c, g.oh = to.h, g.ow = to.w;
  g.kh = op.kh, g.kw = op.kw, g.sh = op.sh, g.sw = op.sw, g.pad_top = op.pad_top, g.pad_left = op.pad_left;
  g.per_channel = op.type != OpType::Conv2d;
  g.weights_per_channel = op.type == OpType::Conv2d            ? op.kh * op.kw * ti.c
                          : op.type == OpType::DepthwiseConv2d ? op.kh * op.kw
                                                               : 0;
  return g;
}

bool block_op(OpType t) {
  return t == OpType::Conv2d || t == OpType::DepthwiseConv2d || t == OpType::FullyConnected ||
         t == OpType::AvgPool || t == OpType::MaxPool;
}

/// Input rows (or columns) a block of `n` outputs from `o0` reads, clipped to the input.
int window(int o0, int n, int stride, int k, int pad, int in) {
  const int lo = std::max(0, o0 * stride - pad);
  const int hi = std::min(in, (o0 + n - 1) * stride - pad + k);
  return std::max(0, hi - lo);
}

/// A memory's transfer cost for ranking block shapes: a fixed part per transfer (latency)
/// and a part per byte.
struct TransferEstimate {
  double per_transfer = 1e12, per_byte = 1e12;  // an absent memory: prohibitive
  double cycles(double bytes, double transfers) const { return transfers * per_transfer + bytes * per_byte; }
};

/// Block sizes to try along one axis: multiples of the micro-block, and the whole axis.
std::vector<int> candidates(int step, int max) {
  std::vector<int> out;
  for (int v = step; v < max; v += step) out.push_back(v);
  out.push_back(max);
  return out;
}

struct BlockCost {
  uint64_t mac = 0, output = 0, decode = 0;
  uint64_t compute() const { return std::max({mac, output, decode}); }
};

BlockCost block_cost(const Geometry& g, const ArchConfig& a, const NpuSettings& s, int bh, int bw, int bc) {
  BlockCost c;
  const uint64_t depth_steps = g.per_channel ? 1 : ceil_div(static_cast<uint64_t>(g.ic), a.dot_depth);
  const uint64_t spatial = g.vector ? 1 : ceil_div(bh, a.ub_h) * ceil_div(bw, a.ub_w);
  c.mac = spatial * ceil_div(bc, a.ub_c) * g.kh * g.kw * depth_steps;
  c.output = static_cast<uint64_t>(std::ceil(static_cast<double>(bh) * bw * bc * a.output_cycles_per_elem));
  c.decode = g.weights_per_channel
                 ? static_cast<uint64_t>(std::ceil(static_cast<double>(bc) * g.weights_per_channel /
                                                   s.decoder_weights_per_cycle))
                 : 0;
  return c;
}

/// Shared-buffer bytes a block needs: IFM slice and int32 accumulators, both double-buffered.
uint64_t block_buffer_bytes(const Geometry& g, int bh, int bw, int bc) {
  const uint64_t ih = std::min((bh - 1) * g.sh + g.kh, g.ih + g.kh - 1);
  const uint64_t iw = std::min((bw - 1) * g.sw + g.kw, g.iw + g.kw - 1);
  const uint64_t depth = g.per_channel ? static_cast<uint64_t>(bc) : std::min(g.ic, kIfmSliceDepth);
  return 2 * ih * iw * depth + 2 * static_cast<uint64_t>(bh) * bw * bc * 4;
}

/// Compressed bytes of output channels [c0, c0 + n) of a weighted op, with their bias data.
uint64_t slice_stream_bytes(const Op& op, const Geometry& g, int c0, int n, std::vector<int8_t>& scratch) {
  if (op.weights.empty()) return 0;
  scratch.clear();
  if (op.type == OpType::DepthwiseConv2d) {  // [KH][KW][OC]: gather the slice's channels
    for (int k = 0; k < g.kh * g.kw; ++k)
      for (int c = c0; c < c0 + n; ++c) scratch.push_back(op.weights[static_cast<size_t>(k) * g.oc + c]);
  } else {
    const size_t per = static_cast<size_t>(g.weights_per_channel);
    scratch.assign(op.weights.begin() + static_cast<long>(c0 * per),
                   op.weights.begin() + static_cast<long>((c0 + n) * per));
  }
  return encode_weights(scratch.data(), scratch.size()).bytes() +
         kBiasBytesPerChannel * static_cast<uint64_t>(n);
}

/// The jobs of a block layer with OFM block bh x bw x bc: depth slices outer, then rows,
/// then columns (the executor's traversal).
void fill_jobs(LayerPlan& lp, const Geometry& g, const Op& op, const NpuSettings& s, int best_h, int best_w,
               int best_c) {
  lp.jobs.clear();
  lp.mac_cycles = lp.output_cycles = lp.decode_cycles = 0;
  lp.block_h = best_h, lp.block_w = best_w, lp.block_c = best_c;
  lp.accumulator_bits = 32ULL * static_cast<uint64_t>(best_h) * best_w * best_c;
  lp.shared_buffer_bytes = block_buffer_bytes(g, best_h, best_w, best_c);
  std::vector<int8_t> scratch;
  uint64_t spatial_blocks = 0;
  for (int c0 = 0; c0 < g.oc; c0 += best_c) {
    const int bc = std::min(best_c, g.oc - c0);
    const uint64_t wbytes = slice_stream_bytes(op, g, c0, bc, scratch);
    spatial_blocks = 0;
    for (int y0 = 0; y0 < g.oh; y0 += best_h) {
      const int bh = std::min(best_h, g.oh - y0);
      for (int x0 = 0; x0 < g.ow; x0 += best_w) {
        const int bw = std::min(best_w, g.ow - x0);
        Job j;
        j.weight_bytes = static_cast<uint32_t>(wbytes);
        const uint64_t depth = g.per_channel ? static_cast<uint64_t>(bc) : static_cast<uint64_t>(g.ic);
        j.ifm_bytes =
            static_cast<uint32_t>(static_cast<uint64_t>(window(y0, bh, g.sh, g.kh, g.pad_top, g.ih)) *
                                  window(x0, bw, g.sw, g.kw, g.pad_left, g.iw) * depth);
        j.ofm_bytes = static_cast<uint32_t>(bh * bw * bc);
        const BlockCost bcost = block_cost(g, s.arch, s, bh, bw, bc);
        j.compute_cycles = bcost.compute();
        lp.mac_cycles += bcost.mac;
        lp.output_cycles += bcost.output;
        lp.decode_cycles += bcost.decode;
        lp.jobs.push_back(j);
        ++spatial_blocks;
      }
    }
  }
  lp.weight_fetches = op.weights.empty() ? 0 : spatial_blocks;
}

/// Picks the block shape: every shape of micro-block multiples (up to Vela's largest,
/// 64 x 32 x 128) that fits the shared buffer is ranked by an estimate, and the best
/// few are scheduled exactly (as time_network would); the fewest cycles win.
void plan_blocks(LayerPlan& lp, const Network& net, const Op& op, const NpuSettings& s,
                 const TransferEstimate est_mem[kMemories], const MemorySystem& mem) {
  const Geometry g = geometry(net, op);
  const ArchConfig& a = s.arch;
  if (s.block_h > 0) {
    fill_jobs(lp, g, op, s, std::min(s.block_h, g.oh), std::min(s.block_w, g.ow), std::min(s.block_c, g.oc));
    return;
  }
  const uint64_t budget =
      a.shared_buffer > kReservedSharedBuffer ? a.shared_buffer - kReservedSharedBuffer : 0;
  const uint64_t stream = lp.weight_stream_bytes;
  struct Candidate {
    double estimate;
    int h, w, c;
  };
  std::vector<Candidate> ranked;
  const int max_h = g.vector ? 1 : std::min(64, g.oh), max_w = g.vector ? 1 : std::min(32, g.ow);
  const int max_c = std::min(128, g.oc);
  const int step_h = g.vector ? 1 : a.ub_h, step_w = g.vector ? 1 : a.ub_w;
  for (int bh : candidates(step_h, max_h)) {
    for (int bw : candidates(step_w, max_w)) {
      for (int bc : candidates(a.ub_c, max_c)) {
        if (block_buffer_bytes(g, bh, bw, bc) > budget) continue;
        const double nh = std::ceil(double(g.oh) / bh), nw = std::ceil(double(g.ow) / bw),
                     nc = std::ceil(double(g.oc) / bc);
        const double ih = std::min((bh - 1) * g.sh + g.kh, g.ih), iw = std::min((bw - 1) * g.sw + g.kw, g.iw);
        const double ifm = nh * nw * ih * iw * (g.per_channel ? g.ic : g.ic * nc);
        const double ofm = double(g.oh) * g.ow * g.oc;
        const double blocks = nh * nw * nc;
        const double dma = est_mem[s.activations_in].cycles(ifm + ofm, 2 * blocks) +
                           est_mem[s.weights_in].cycles(double(stream) * nh * nw, stream ? blocks : 0);
        const double compute = blocks * double(block_cost(g, a, s, bh, bw, bc).compute());
        ranked.push_back({std::max(dma, compute) + (dma + compute) / blocks, bh, bw, bc});  // + pipeline fill
      }
    }
  }
  if (ranked.empty()) {  // nothing fits: the smallest block (the buffer check is advisory then)
    fill_jobs(lp, g, op, s, g.vector ? 1 : std::min(g.oh, a.ub_h), g.vector ? 1 : std::min(g.ow, a.ub_w),
              std::min(g.oc, a.ub_c));
    return;
  }
  constexpr size_t kExact = 8;
  const size_t n = std::min(kExact, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<long>(n), ranked.end(),
                    [](const Candidate& x, const Candidate& y) { return x.estimate < y.estimate; });
  uint64_t best = std::numeric_limits<uint64_t>::max();
  Candidate pick = ranked[0];
  LayerTiming scratch;
  for (size_t i = 0; i < n; ++i) {
    fill_jobs(lp, g, op, s, ranked[i].h, ranked[i].w, ranked[i].c);
    scratch = LayerTiming{};
    const uint64_t cycles = time_layer(lp, s, mem, 0, scratch);
    if (cycles < best) {
      best = cycles;
      pick = ranked[i];
    }
  }
  fill_jobs(lp, g, op, s, pick.h, pick.w, pick.c);
}

void plan_elementwise(LayerPlan& lp, const Network& net, const Op& op, const NpuSettings& s) {
  const Tensor& to = net.tensors[op.output];
  const uint64_t inputs = op.type == OpType::Concat || op.type == OpType::Softmax ? 1 : op.inputs.size();
  const uint64_t budget =
      s.arch.shared_buffer > kReservedSharedBuffer ? s.arch.shared_buffer - kReservedSharedBuffer : 1;
  const uint64_t chunk =
      std::max<uint64_t>(1, budget / (2 * (inputs + 1)));  // double-buffered inputs and output
  const int passes = op.type == OpType::Softmax ? kSoftmaxPasses : 1;
  for (uint64_t e0 = 0; e0 < to.size(); e0 += chunk) {
    const uint64_t n = std::min<uint64_t>(chunk, to.size() - e0);
    Job j;
    j.ifm_bytes = static_cast<uint32_t>(n * inputs);
    j.ofm_bytes = static_cast<uint32_t>(n);
    const uint64_t alu = ceil_div(n * passes, static_cast<uint64_t>(s.arch.elem_units));
    const auto out = static_cast<uint64_t>(std::ceil(static_cast<double>(n) * s.arch.output_cycles_per_elem));
    j.compute_cycles = std::max(alu, out);
    lp.mac_cycles += alu;
    lp.output_cycles += out;
    lp.jobs.push_back(j);
  }
  lp.block_c = static_cast<int>(std::min<uint64_t>(chunk, to.size()));
}

}  // namespace

Transfer transfer(const MemorySystem& mem, Mem m, uint64_t bytes, bool write, double start) {
  Transfer t;
  if (bytes == 0) return t;
  if (m == kFlash) {
    if (!mem.flash) throw SimError("NPU: a transfer needs flash, and the device has none");
    if (write) throw SimError("NPU: flash is read-only for the NPU");
    t.device_bytes = mem.flash->device_bytes(bytes);
    t.seconds = mem.flash->read_time(&bytes, 1);
    t.energy = mem.flash->read_energy(t.device_bytes);
    return t;
  }
  memory::Dram* d = m == kSram ? mem.sram : mem.dram;
  if (!d) throw SimError(std::string("NPU: a transfer needs ") + mem_name(m) + ", and the device has none");
  const memory::DramRange r{0, bytes, write};
  const memory::DramCost c = d->access(&r, 1, start);
  t.seconds = c.time;
  t.energy = c.energy;
  t.device_bytes = bytes;
  return t;
}

uint64_t transfer_cycles(const Transfer& t, uint64_t bytes, const NpuSettings& s) {
  if (bytes == 0) return 0;
  const double mem = t.seconds * s.clock;
  const double axi = static_cast<double>(bytes) / s.axi_bytes_per_cycle;
  return static_cast<uint64_t>(std::ceil(std::max(mem, axi) - 1e-9));
}

uint64_t LayerPlan::compute_cycles() const {
  uint64_t c = 0;
  for (const auto& j : jobs) c += j.compute_cycles;
  return c;
}

Plan plan_network(const Network& net, const NpuSettings& s, const MemorySystem& mem) {
  Plan plan;
  plan.settings = s;
  // Each memory's cost per transfer and per byte, probed with 64 B and 64 KiB reads: only
  // used to rank block shapes; the schedule times every transfer through the models.
  TransferEstimate est[kMemories];
  for (int m = 0; m < kMemories; ++m) {
    const bool present = m == kSram    ? mem.sram != nullptr
                         : m == kFlash ? mem.flash != nullptr
                                       : mem.dram != nullptr;
    if (!present) continue;
    auto cycles = [&](uint64_t bytes) {
      return static_cast<double>(
          transfer_cycles(transfer(mem, static_cast<Mem>(m), bytes, false, 0), bytes, s));
    };
    const double small = cycles(64), large = cycles(65536);
    est[m].per_byte = (large - small) / (65536 - 64);
    est[m].per_transfer = std::max(0.0, small - 64 * est[m].per_byte);
  }
  for (size_t i = 0; i < net.ops.size(); ++i) {
    const Op& op = net.ops[i];
    LayerPlan lp;
    lp.op = i;
    lp.macs = op.macs;
    if (!op.weights.empty()) {
      lp.encoding = encode_weights(op.weights.data(), op.weights.size());
      lp.weight_stream_bytes = lp.encoding.bytes() + kBiasBytesPerChannel * op.bias.size();
    }
    if (op.on_cpu) {
      plan_cpu_layer(lp, net, op, s);  // an op Vela leaves to the host CPU (cpu_cost.hpp)
    } else if (block_op(op.type)) {
      plan_blocks(lp, net, op, s, est, mem);
    } else if (op.type != OpType::Reshape) {  // a reshape only renames the arena's bytes
      // PLACEHOLDER for the ops added with the TFLite reader (sub, pad, mean, quantize,
      // logistic, tanh, hard swish, relu family, leaky relu, transpose, strided slice,
      // resize): costed as one elementwise pass over the output, like add; to be replaced
      // by their Vela lowering (issue 16, timing).
      plan_elementwise(lp, net, op, s);
    }
    plan.layers.push_back(std::move(lp));
  }
  return plan;
}

Pipeline::Pipeline(int buffers) : buffers_(static_cast<size_t>(std::clamp<int>(buffers, 1, kMaxBuffers))) {}

uint64_t Pipeline::next_dma_start() const {
  const uint64_t slot_free = jobs_ >= buffers_ ? ring_[jobs_ % buffers_] : 0;
  return std::max(dma_end_, slot_free);
}

uint64_t Pipeline::push(uint64_t dma_cycles, uint64_t compute_cycles) {
  dma_end_ = next_dma_start() + dma_cycles;
  comp_end_ = std::max(dma_end_, comp_end_) + compute_cycles;
  ring_[jobs_ % buffers_] = comp_end_;
  ++jobs_;
  return comp_end_;
}

double compute_energy(const LayerPlan& lp, const NpuSettings& s) {
  if (lp.on_cpu) return lp.cpu_energy;
  uint64_t buffer_bytes = 0;
  for (const auto& j : lp.jobs) buffer_bytes += j.ifm_bytes + j.ofm_bytes;
  // Decoded weights enter the MAC array through the shared buffer's weight area once per fetch.
  buffer_bytes += lp.encoding.weights * lp.weight_fetches;
  return static_cast<double>(lp.macs) * s.mac_energy +
         8.0 * static_cast<double>(buffer_bytes) * s.shared_buffer_energy;
}

uint64_t time_layer(const LayerPlan& lp, const NpuSettings& s, const MemorySystem& mem, uint64_t now,
                    LayerTiming& lt) {
  const uint64_t start = now + lp.overhead_cycles(s);
  Pipeline pipe(s.buffers);
  for (const Job& job : lp.jobs) {
    const uint64_t dma_start = start + pipe.next_dma_start();
    uint64_t cycles = 0;
    for (const DmaPart& p : dma_parts(job, s)) {
      if (p.bytes == 0) continue;
      const Transfer tr =
          transfer(mem, p.mem, p.bytes, p.write, static_cast<double>(dma_start + cycles) / s.clock);
      cycles += transfer_cycles(tr, p.bytes, s);
      (p.write ? lt.write_bytes : lt.read_bytes)[p.mem] += tr.device_bytes;
      lt.memory_energy[p.mem] += tr.energy;
    }
    pipe.push(cycles, job.compute_cycles);
    lt.dma_cycles += cycles;
    lt.compute_cycles += job.compute_cycles;
  }
  lt.cycles = lp.overhead_cycles(s) + pipe.end();
  lt.compute_energy = compute_energy(lp, s);
  return lt.cycles;
}

void time_network(const Plan& plan, const MemorySystem& mem, Timing& t) {
  const NpuSettings& s = plan.settings;
  t.layers.assign(plan.layers.size(), LayerTiming{});
  t.cycles = 0;
  t.seconds = t.energy = t.static_energy = 0;
  uint64_t now = 0;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    LayerTiming& lt = t.layers[i];
    now += time_layer(plan.layers[i], s, mem, now, lt);
    for (int m = 0; m < kMemories; ++m) t.energy += lt.memory_energy[m];
    t.energy += lt.compute_energy;
  }
  t.cycles = now;
  t.seconds = static_cast<double>(now) / s.clock;
  t.static_energy = s.static_power * t.seconds;
  t.energy += t.static_energy;
}

std::array<DmaPart, 3> dma_parts(const Job& job, const NpuSettings& s) {
  return {{{s.weights_in, job.weight_bytes, false},
           {s.activations_in, job.ifm_bytes, false},
           {s.activations_in, job.ofm_bytes, true}}};
}

}  // namespace edgesim::npu
