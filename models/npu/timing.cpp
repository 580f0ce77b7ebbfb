#include "models/npu/timing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>

#include "models/npu/cpu_cost.hpp"
#include "models/npu/lowering.hpp"
#include "models/npu/op_cost.hpp"
#include "models/npu/weight_codec.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::npu {

namespace {

/// An int8 activation's lookup table: 256 int32 entries (Vela: a [1, 1, 1, 256] uint32
/// tensor), copied into the shared buffer before the operation.
constexpr uint32_t kLutBytes = 256 * 4;

int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}

uint64_t ceil_cycles(double c) {
  return static_cast<uint64_t>(std::ceil(c - 1e-9));
}

/// Part k of `total` split into `n` parts as evenly as integers allow.
uint64_t share(uint64_t total, uint64_t n, uint64_t k) {
  return total * (k + 1) / n - total * k / n;
}

bool present(const MemorySystem& mem, Mem m) {
  return m == kSram ? mem.sram != nullptr : m == kFlash ? mem.flash != nullptr : mem.dram != nullptr;
}

/// A memory's latency and streaming cost, probed with a 64 B and a 64 KiB read.
MemTiming probe(const MemorySystem& mem, Mem m, const NpuSettings& s, double burst) {
  MemTiming t;
  t.burst_bytes = burst;
  if (!present(mem, m)) {
    t.latency = t.cycles_per_byte = 1e12;  // prohibitive: a plan that needs it fails when timed
    return t;
  }
  auto cycles = [&](uint64_t bytes) {
    return static_cast<double>(transfer_cycles(transfer(mem, m, bytes, false, 0), bytes, s));
  };
  const double small = cycles(64), large = cycles(65536);
  t.cycles_per_byte = (large - small) / (65536 - 64);
  t.latency = std::max(0.0, small - 64 * t.cycles_per_byte);
  return t;
}

/// A layer's weight layout and slicing, as bytes: with the layer's number, what its
/// stream's value counts and encoded sizes depend on.
std::string layout_key(size_t op, const LoweredLayer& L, const WeightLayout& w, int block_c) {
  std::string k;
  auto put = [&k](const auto& v) { k.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(op);
  put(L.ohwi_size);
  for (int v :
       {w.ofm_depth, w.kernel_h, w.kernel_w, w.ifm_depth, static_cast<int>(w.traversal), w.ofm_block_depth,
        w.ofm_ublock_depth, w.ifm_ublock_depth, w.sub_kernel_h, w.sub_kernel_w, block_c})
    put(v);
  return k;
}

}  // namespace

namespace {

/// Counts of one op's weights over its output channels: at[c] = the counts of channels
/// [0, c), kept for the channels asked for (0 and all channels first). The counts of
/// channels [c0, c1) are at[c1] - at[c0]; a new entry is counted from its nearest neighbour.
class ChannelCounts {
 public:
  /// Counts the weights, keeping the counts at every multiple of `step` channels (the OFM
  /// blocks of the configuration planned first).
  void reset(const int8_t* ohwi, int channels, size_t per_channel, int step) {
    ohwi_ = ohwi;
    per_ = per_channel;
    at_.clear();
    at_.reserve(static_cast<size_t>((channels + step - 1) / step + 1));
    at_.emplace_back(0, ByteCounts{});
    for (int c = 0; c < channels; c += step) {
      const int c1 = std::min(c + step, channels);
      ByteCounts p = at_.back().second;
      add_counts(ohwi + static_cast<size_t>(c) * per_channel, static_cast<size_t>(c1 - c) * per_channel, p);
      at_.emplace_back(c1, p);
    }
  }
  /// The same weights at another address (another plan's lowering of them).
  void bind(const int8_t* ohwi) { ohwi_ = ohwi; }
  bool empty() const { return at_.empty(); }
  const ByteCounts& all() const { return at_.back().second; }
  /// Adds the counts of channels [c0, c1) to h.
  void add_range(int c0, int c1, Histogram& h) {
    prefix(c0);
    const ByteCounts& hi = prefix(c1);  // (an insertion moves the entries: c0's is found again)
    const ByteCounts& lo = prefix(c0);
    for (int v = -128; v < 128; ++v) {
      const auto u = static_cast<uint8_t>(v);
      h[static_cast<size_t>(v + 255)] += hi[u] - lo[u];
    }
  }

 private:
  const ByteCounts& prefix(int c) {
    auto it = std::lower_bound(at_.begin(), at_.end(), c,
                               [](const std::pair<int, ByteCounts>& e, int ch) { return e.first < ch; });
    if (it->first == c) return it->second;
    // it: the first entry past c (channels: the last entry); it - 1 the one before.
    const auto& below = *(it - 1);
    const auto& above = *it;
    ByteCounts part{};
    ByteCounts p{};
    if (c - below.first <= above.first - c) {
      add_counts(ohwi_ + static_cast<size_t>(below.first) * per_, static_cast<size_t>(c - below.first) * per_,
                 part);
      for (size_t u = 0; u < p.size(); ++u) p[u] = below.second[u] + part[u];
    } else {
      add_counts(ohwi_ + static_cast<size_t>(c) * per_, static_cast<size_t>(above.first - c) * per_, part);
      for (size_t u = 0; u < p.size(); ++u) p[u] = above.second[u] - part[u];
    }
    return at_.insert(it, {c, p})->second;
  }

  const int8_t* ohwi_ = nullptr;
  size_t per_ = 0;
  std::vector<std::pair<int, ByteCounts>> at_;
};

}  // namespace

struct PlanCache::Impl {
  std::unique_ptr<std::vector<LoweredLayer>> lowered;  // the network's lowering
  std::unordered_map<size_t, ChannelCounts> counts;    // by op: its weights' counts
  std::unordered_map<std::string, StreamCode> codes;  // by layout_key and block range
};

PlanCache::PlanCache() : impl_(std::make_unique<Impl>()) {}
PlanCache::~PlanCache() = default;

namespace {

struct Planner {
  const Network& net;
  const NpuSettings& s;
  const ArchConfig& a;
  MemTiming act, wmem;    // the activation and weight memories
  bool buffered_weights;  // weights live elsewhere than activations: the DMA copies them
  double prev_slack = 0;  // compute cycles of the previous NPU operation: time to prefetch under
  std::unique_ptr<int16_t[]> stream;  // a layer's weights in the decoder's order, once built
  size_t stream_capacity = 0;

  PlanCache::Impl* cache = nullptr;
  size_t op_index = 0;  // the layer being planned
  std::string key;      // its layout_key, once prepared

  Planner(const Network& n, const NpuSettings& st, const MemorySystem& mem) : net(n), s(st), a(st.arch) {
    act = probe(mem, s.activations_in, s, s.activation_burst);
    wmem = probe(mem, s.weights_in, s, s.weight_burst);
    buffered_weights = s.weights_in != s.activations_in;
  }

  /// The layer being sized: its OFM blocks (`block_c` channels each) and each block's
  /// stream length; the histograms of block ranges are counted from the weights when a
  /// range is asked for (most layers need only the whole layer's, from `raw`).
  const LoweredLayer* layer = nullptr;
  WeightLayout layout;  // its weights' layout in this configuration
  int block_c = 0;
  size_t per_channel = 0;  // weights of one output channel
  std::vector<size_t> chunk_len;
  Histogram raw{};  // the layer's weights (as the decoder reads them, padding excluded)
  ChannelCounts own_counts;  // the layer's weights' counts, without a cache
  ChannelCounts* counts = nullptr;
  bool built = false;          // the layer's stream below is built
  bool bytes_built = false;    // the layer's stream as bytes in layer_bytes is built
  std::vector<int8_t> layer_bytes;
  std::vector<size_t> chunk_at;  // where each block's values start in `stream`
  // The last range analysed and its code (the whole layer is asked for twice when it is
  // one slice: for the slicing choice, then for the slice).
  size_t last_b = SIZE_MAX, last_e = 0;
  StreamCode last;
  void prepare(const LoweredLayer& L, int block_channels) {
    layer = &L;
    block_c = block_channels;
    built = bytes_built = false;
    last_b = SIZE_MAX;
    if (cache) key = layout_key(op_index, L, layout, block_c);
    const WeightLayout& l = layout;
    per_channel = static_cast<size_t>(l.kernel_h) * l.kernel_w * l.ifm_depth;
    // A block's stream length depends on its depth only: the full blocks' and the last's.
    const int blocks = ceil_div(l.ofm_depth, block_c), last_c = l.ofm_depth - (blocks - 1) * block_c;
    chunk_len.assign(static_cast<size_t>(blocks), stream_length(l, 0, block_c));
    chunk_len.back() = stream_length(l, 0, last_c);
    // The weights' counts: the same for every configuration of the network.
    counts = cache ? &cache->counts[op_index] : &own_counts;
    if (counts->empty() || !cache) {
      counts->reset(L.ohwi, l.ofm_depth, per_channel, block_c);
    } else {
      counts->bind(L.ohwi);  // this plan's lowering of the same weights
    }
    raw.fill(0);
    const ByteCounts& all = counts->all();
    for (int v = -128; v < 128; ++v) raw[static_cast<size_t>(v + 255)] = all[static_cast<uint8_t>(v)];
  }
  /// Adds the counts of output channels [c0, c1)'s weights to h.
  void count_channels(int c0, int c1, Histogram& h) { counts->add_range(c0, c1, h); }
  int block_end(size_t e) const { return std::min(static_cast<int>(e) * block_c, layout.ofm_depth); }
  /// The stream of output channels [c0, c1) (whole blocks) and its code.
  StreamCode analyse(int c0, int c1) {
    const size_t b = static_cast<size_t>(c0 / block_c), e = static_cast<size_t>(ceil_div(c1, block_c));
    if (b == last_b && e == last_e) return last;
    last_b = b;
    last_e = e;
    if (cache) {
      std::string k = key;
      k.append(reinterpret_cast<const char*>(&b), sizeof b)
          .append(reinterpret_cast<const char*>(&e), sizeof e);
      const auto it = cache->codes.find(k);
      if (it != cache->codes.end()) return last = it->second;
      last = code_of(b, e);
      cache->codes.emplace(std::move(k), last);
      return last;
    }
    last = code_of(b, e);
    return last;
  }
  /// The histogram of the layer's whole stream (its `n` values): the weights' counts plus
  /// the padding zeros.
  Histogram whole(size_t& n) const {
    Histogram h = raw;
    n = 0;
    for (size_t len : chunk_len) n += len;
    h[255] += static_cast<uint32_t>(n - static_cast<size_t>(layout.ofm_depth) * per_channel);
    return h;
  }
  StreamCode code_of(size_t b, size_t e) {
    const LoweredLayer& L = *layer;
    Histogram h{};
    size_t n = 0;
    const int c0 = block_end(b), c1 = block_end(e);
    const size_t weights = static_cast<size_t>(c1 - c0) * per_channel;
    if (b == 0 && e == chunk_len.size()) {
      h = whole(n);
    } else {
      for (size_t k = b; k < e; ++k) n += chunk_len[k];
      count_channels(c0, c1, h);
      h[255] += static_cast<uint32_t>(n - weights);  // the padding zeros
    }
    StreamCode code;
    if (analyse_histogram(h, n, code)) return code;
    if (!codes_zero_runs(h)) {
      if (analyse_slices(h, n, slice_histograms(b, e, n, false), code)) return code;
    } else if (n - h[255] <= kMaxSliceValues) {
      // Zero runs, one slice of indices: its runs' sums from the layout when the weights
      // hold no zero (the runs are the padding's), else from the weights in the stream's
      // order.
      run_slices.resize(1);
      run_slices[0].values = h;
      run_slices[0].zeros = h[255];
      if (h[255] == n - weights) {
        padding_runs(layout, c0, c1, run_slices);
      } else {
        if (!bytes_built) {  // the layer's stream as bytes, once
          reorder_bytes(L.ohwi, layout, 0, layout.ofm_depth, layer_bytes);
          bytes_built = true;
        }
        size_t from = 0;
        for (size_t k = 0; k < b; ++k) from += chunk_len[k];
        run_slices[0].sums = zero_run_sums(layer_bytes.data() + from, n);
      }
      if (analyse_runs(h, n, run_slices, code)) return code;
    } else if (h[255] == n - weights) {
      // Zero runs over several slices, and the weights hold no zero: the runs are the
      // padding's, which the layout gives without the stream, and the indices are the weights.
      padding_runs(layout, c0, c1, run_slices);
      const std::vector<Histogram> values = slice_histograms(b, e, weights, true);
      for (size_t k = 0; k < values.size(); ++k) run_slices[k].values = values[k];
      if (analyse_runs(h, n, run_slices, code)) return code;
    }
    // Zero runs among the weights: the order matters; build the layer's stream once.
    if (!built) {
      chunk_at.assign(1, 0);
      for (size_t len : chunk_len) chunk_at.push_back(chunk_at.back() + len);
      if (stream_capacity < chunk_at.back()) {
        stream.reset(new int16_t[chunk_at.back()]);
        stream_capacity = chunk_at.back();
      }
      std::fill_n(stream.get(), chunk_at.back(), int16_t{0});  // the padding (reorder writes the weights)
      for (int c = 0, k = 0; c < layout.ofm_depth; c += block_c, ++k)
        reorder_weights(L.ohwi, layout, c, std::min(c + block_c, layout.ofm_depth),
                        stream.get() + chunk_at[static_cast<size_t>(k)]);
      built = true;
    }
    // The range's histogram is h (its weights and padding zeros): no second count.
    return analyse_stream(stream.get() + chunk_at[b], chunk_at[e] - chunk_at[b], h);
  }
  std::vector<RunSlice> run_slices;
  std::vector<size_t> part_ends;  // a block's parts in slices (slice_histograms)
  std::vector<Histogram*> part_hists;
  /// The histograms of the slices (kMaxSliceValues positions each) of blocks [b, e)'s
  /// stream (n positions): by value (every value of the stream a position, padding
  /// included) or, for a stream whose weights hold no zero, by index (the weights are the
  /// positions, the padding left out). The blocks inside one slice are counted together
  /// from the weights' counts; of a block across slices, the parts but its largest are
  /// counted from its weights in the stream's order (as bytes: the stream is not built).
  std::vector<Histogram> slice_histograms(size_t b, size_t e, size_t n, bool by_index) {
    const LoweredLayer& L = *layer;
    std::vector<Histogram> slices((n + kMaxSliceValues - 1) / kMaxSliceValues, Histogram{});
    size_t at = 0;
    // A run of whole blocks [run_b, k) inside slice run_slice, not yet counted.
    size_t run_b = b, run_slice = 0, run_padding = 0;
    auto flush = [&](size_t k) {
      if (k == run_b) return;
      count_channels(block_end(run_b), block_end(k), slices[run_slice]);
      slices[run_slice][255] += static_cast<uint32_t>(run_padding);
      run_padding = 0;
    };
    for (size_t k = b; k < e; ++k) {
      const int c0 = block_end(k), c1 = block_end(k + 1);
      const size_t weights = static_cast<size_t>(c1 - c0) * per_channel;
      const size_t len = by_index ? weights : chunk_len[k];
      const size_t padding = len - weights;
      const size_t first = at / kMaxSliceValues, last = (at + len - 1) / kMaxSliceValues;
      if (len > 0 && first == last) {
        if (first != run_slice) {
          flush(k);
          run_b = k;
          run_slice = first;
        }
        run_padding += padding;
      } else if (len > 0) {
        flush(k);
        run_b = k + 1;
        // The block's part in each slice, counted in one walk of the block but for its
        // largest part, which is what the others leave of the block's counts.
        size_t largest = first, largest_len = 0;
        part_ends.clear();
        part_hists.clear();
        for (size_t sl = first; sl <= last; ++sl) {
          const size_t from = std::max(at, sl * kMaxSliceValues) - at,
                       to = std::min(at + len, (sl + 1) * kMaxSliceValues) - at;
          if (to - from > largest_len) largest = sl, largest_len = to - from;
          part_ends.push_back(to);
        }
        std::vector<Histogram> counted(last - first, Histogram{});
        for (size_t sl = first, i = 0; sl <= last; ++sl)
          part_hists.push_back(sl == largest ? nullptr : &counted[i++]);
        add_part_histograms(L.ohwi, layout, c0, c1, by_index, part_ends, part_hists);
        Histogram rest{};
        count_channels(c0, c1, rest);
        rest[255] += static_cast<uint32_t>(padding);
        for (size_t sl = first, i = 0; sl <= last; ++sl) {
          if (sl == largest) continue;
          const Histogram& h = counted[i++];
          for (size_t v = 0; v < h.size(); ++v) slices[sl][v] += h[v], rest[v] -= h[v];
        }
        for (size_t v = 0; v < rest.size(); ++v) slices[largest][v] += rest[v];
      }
      at += len;
    }
    flush(e);
    return slices;
  }

  /// Bytes of channels [c0, c1) as the NPU stores them: bias and scale, then the encoded
  /// weights. Adds the stream to `enc`.
  static uint64_t stored(const StreamCode& c, int channels, WeightEncoding& enc, size_t& largest) {
    enc.bits += 8 * c.bytes;
    if (c.bytes >= largest) {
      largest = c.bytes;
      enc.mode = c.mode();
    }
    return weight_range_bytes(channels, c.bytes);
  }

  /// Cycles of a DMA copy of `bytes` as the planner estimates it.
  double dma_estimate(double bytes) const {
    return std::max(wmem.latency + bytes * wmem.cycles_per_byte, act.latency + bytes * act.cycles_per_byte);
  }

  uint64_t op_cycles(NpuOp o, const BlockConfig& b, int depth, double bias_latency) const {
    o.ofm.c = depth;
    return block_cycles(a, o, b, act, bias_latency).total();
  }

  BlockConfig block_config(const Pass& p, bool block_layer) const {
    if (s.block_h > 0 && block_layer)
      return forced_block_config(a, p.op, p.lut, {s.block_h, s.block_w, s.block_c});
    BlockConfig b = find_block_config(a, p.op, p.lut);
    if (!b.valid) {  // nothing fits: the smallest block (the shared buffer check is advisory then)
      b = forced_block_config(a, p.op, p.lut, {a.ofm_ublock.h, a.ofm_ublock.w, a.ofm_ublock.c});
    }
    return b;
  }

  void plan(LayerPlan& lp, const LoweredLayer& L, const Op& op);
  /// A layer the host CPU runs: its one job stalls on its loads and stores (the CPU
  /// moves its data itself), and the NPU's weight prefetch does not cross it.
  void finish_cpu_layer(LayerPlan& lp) {
    const bool shared = s.weights_in == s.activations_in;
    for (Job& j : lp.jobs) {
      const double traffic = (j.fm_bytes + (shared ? j.direct_bytes : 0)) * act.cycles_per_byte +
                             (shared ? 0.0 : j.direct_bytes * wmem.cycles_per_byte);
      j.traffic_cycles = ceil_cycles(traffic);
      j.cycles = j.compute_cycles + j.traffic_cycles;
    }
    prev_slack = 0;
  }
  void plan_weights(LayerPlan& lp, const LoweredLayer& L, const Pass& p, const BlockConfig& b,
                    uint64_t ref_cycles, size_t first_job, size_t spatial, int block_c);
};

void Planner::plan(LayerPlan& lp, const LoweredLayer& L, const Op& op) {
  lp.passes = static_cast<uint32_t>(L.passes.size());
  const Tensor& to = net.tensors[op.output];
  for (size_t k = 0; k < L.passes.size(); ++k) {
    const Pass& p = L.passes[k];
    const NpuOp& o = p.op;
    const BlockConfig b = block_config(p, L.block_layer);
    const Traffic t = op_traffic(a, o, b, s.activation_burst, s.weight_burst);
    const size_t first_job = lp.jobs.size();
    lp.tail_job = static_cast<uint32_t>(first_job);  // the last pass (or its last weight slice)
    if (p.lut) {
      DmaItem d;
      d.bytes = kLutBytes;
      d.to_buffer = false;
      d.first_job = d.last_job = static_cast<uint32_t>(first_job);
      d.gate = first_job > 0 ? static_cast<int32_t>(first_job - 1) : -1;
      lp.dma.push_back(d);
    }
    // The second operand of an elementwise operation may be a constant read from the
    // weight memory; the rest is traffic on the activation memory.
    double fm_bus = t.ifm_bus + t.ofm_bus + (o.ifm2_const ? 0.0 : t.ifm2_bus);
    double direct_bus = o.ifm2_const ? t.ifm2_bus : 0.0;
    lp.fm_read_bytes += t.ifm + (o.ifm2_const ? 0 : t.ifm2);
    lp.fm_write_bytes += t.ofm;
    lp.direct_bytes += o.ifm2_const ? t.ifm2 : 0;

    if (o.kind == NpuKind::Elementwise) {
      Job j;
      j.compute_cycles = elementwise_cycles(a, o, b, act);
      j.fm_bytes = static_cast<uint32_t>(std::ceil(fm_bus));
      j.direct_bytes = static_cast<uint32_t>(std::ceil(direct_bus));
      j.dma_ready = static_cast<uint32_t>(lp.dma.size());
      lp.jobs.push_back(j);
      prev_slack = static_cast<double>(j.compute_cycles);
      continue;
    }

    const bool weighted = static_cast<int>(k) == L.weighted;
    const bool in_place = weighted && !(L.buffered && buffered_weights);
    // The output unit reads bias and scale from the weight buffer (SRAM) or, for
    // weights read in place, from the weight memory.
    const double bias_latency = in_place ? wmem.latency : act.latency;
    const BlockCycles bc = block_cycles(a, o, b, act, bias_latency);
    const uint64_t total = bc.total();
    size_t jobs = 1, spatial = 1;
    int bh = 0, bw = 0, bcd = 0;
    if (L.block_layer) {
      bh = std::min(b.ofm.h, to.h), bw = std::min(b.ofm.w, to.w), bcd = std::min(b.ofm.c, to.c);
      spatial = static_cast<size_t>(ceil_div(to.h, bh)) * ceil_div(to.w, bw);
      jobs = spatial * static_cast<size_t>(ceil_div(to.c, bcd));
      lp.block_h = bh, lp.block_w = bw, lp.block_c = bcd;
      lp.accumulator_bits = 32ULL * static_cast<uint64_t>(bh) * bw * bcd;
      lp.shared_buffer_bytes = 1024ULL * static_cast<uint64_t>(b.ifm_banks + b.acc_banks);
    }
    const auto fm_total = static_cast<uint64_t>(std::ceil(fm_bus));
    const auto direct_total = static_cast<uint64_t>(std::ceil(direct_bus));
    for (size_t j = 0; j < jobs; ++j) {
      Job job;
      job.compute_cycles = share(total, jobs, j);
      job.fm_bytes = static_cast<uint32_t>(share(fm_total, jobs, j));
      job.direct_bytes = static_cast<uint32_t>(share(direct_total, jobs, j));
      job.dma_ready = static_cast<uint32_t>(lp.dma.size());
      lp.jobs.push_back(job);
    }
    // Time to prefetch the next operation's weights under this one: its compute.
    const uint64_t ref = L.buffered ? total : block_cycles(a, o, b, act, act.latency).total();
    if (weighted) {
      plan_weights(lp, L, p, b, ref, first_job, spatial, L.block_layer ? bcd : std::min(b.ofm.c, o.ofm.c));
    } else {
      prev_slack = static_cast<double>(ref);
    }
  }
  // Each job holds the NPU for the longer of its compute and its traffic.
  const bool shared = s.weights_in == s.activations_in;
  for (Job& j : lp.jobs) {
    const double fm = (j.fm_bytes + (shared ? j.direct_bytes : 0)) * act.cycles_per_byte;
    const double direct = shared ? 0.0 : j.direct_bytes * wmem.cycles_per_byte;
    j.traffic_cycles = ceil_cycles(std::max(fm, direct));
    j.cycles = std::max(j.compute_cycles, j.traffic_cycles);
  }
}

/// The weights of a weighted operation. Buffered weights are cut into depth slices of
/// whole OFM blocks: the first as large as the previous operation's compute can hide,
/// the next ones as large as a slice's compute can hide (Vela's propose_weight_buffering,
/// with slices rounded to the block depth), each copied by the DMA into one of two
/// buffers. Weights read in place (vector products, or weights already in the
/// activation memory) are re-read by every spatial block.
void Planner::plan_weights(LayerPlan& lp, const LoweredLayer& L, const Pass& p, const BlockConfig& b,
                           uint64_t ref_cycles, size_t first_job, size_t spatial, int block_c) {
  const Op& op = net.ops[lp.op];
  layout = L.layout;  // the lowered layer's, with this configuration's blocks
  layout.ofm_block_depth = b.ofm.c;
  layout.ofm_ublock_depth = a.ofm_ublock.c;
  layout.ifm_ublock_depth = a.ifm_ublock.c;
  const int D = layout.ofm_depth;
  lp.weight_fetches = spatial;
  size_t largest = 0;
  const size_t jobs = lp.jobs.size() - first_job;
  prepare(L, block_c);
  // The weights' statistics from the same counts (a folded kernel's added zeros left out).
  lp.encoding = WeightEncoding{};
  lp.encoding.weights = op.weights.size();
  lp.encoding.zeros = raw[255] - (L.ohwi_size - op.weights.size());
  for (size_t v = 0; v < raw.size(); ++v) lp.encoding.distinct_nonzero += v != 255 && raw[v] ? 1 : 0;
  // The whole stream sized exactly when it is stored whole, estimated for the choice of
  // slices otherwise (an estimate off by a few bytes in a stream of several 32767-value
  // slices, when building it would take a pass over the weights).
  size_t all_len = 0;
  const Histogram all = whole(all_len);
  StreamCode whole;
  const bool exact = analyse_histogram(all, all_len, whole);
  size_t whole_bytes = whole.bytes;
  const bool estimated = exact || estimate_histogram(all, all_len, whole_bytes);
  if (!(L.buffered && buffered_weights)) {
    const uint64_t bytes = stored(exact ? whole : analyse(0, D), D, lp.encoding, largest);
    lp.weight_stream_bytes = bytes;
    // Every block reads its channels' share; spatial blocks re-read it.
    const uint64_t per_pass = bytes * spatial;
    for (size_t j = 0; j < jobs; ++j)
      lp.jobs[first_job + j].direct_bytes += static_cast<uint32_t>(share(per_pass, jobs, j));
    lp.direct_bytes += per_pass;
    prev_slack = static_cast<double>(ref_cycles);
    return;
  }
  std::vector<int> slices = {0, D};
  double slack_out = static_cast<double>(ref_cycles);
  if (!estimated) whole_bytes = analyse(0, D).bytes;
  const double full = dma_estimate(static_cast<double>(weight_range_bytes(D, whole_bytes)));
  if (full > prev_slack) {
    const double ratio = prev_slack / full;
    const int pre = std::max(block_c, static_cast<int>(D * ratio) / block_c * block_c);
    if (pre < D) {
      const double pre_cycles = static_cast<double>(op_cycles(p.op, b, pre, act.latency));
      const int step =
          std::max(block_c, ceil_div(static_cast<int>(std::ceil(D * pre_cycles / full)), block_c) * block_c);
      slices = {0};
      for (int c = pre; c < D; c += step) slices.push_back(c);
      slices.push_back(D);
    }
    slack_out = static_cast<double>(
        op_cycles(p.op, b, slices[slices.size() - 1] - slices[slices.size() - 2], act.latency));
  }
  for (size_t k = 0; k + 1 < slices.size(); ++k) {
    DmaItem d;
    const StreamCode code = slices.size() == 2 && exact ? whole : analyse(slices[k], slices[k + 1]);
    d.bytes = static_cast<uint32_t>(stored(code, slices[k + 1] - slices[k], lp.encoding, largest));
    d.first_job = static_cast<uint32_t>(first_job + static_cast<size_t>(slices[k] / block_c) * spatial);
    d.last_job = static_cast<uint32_t>(first_job +
                                       static_cast<size_t>(ceil_div(slices[k + 1], block_c)) * spatial - 1);
    lp.weight_stream_bytes += d.bytes;
    lp.dma.push_back(d);
  }
  lp.tail_job = lp.dma.back().first_job;
  // A job waits for the slice holding its channels.
  const size_t first_item = lp.dma.size() - (slices.size() - 1);
  size_t item = first_item;
  for (size_t j = first_job; j < lp.jobs.size(); ++j) {
    while (j > lp.dma[item].last_job) ++item;
    lp.jobs[j].dma_ready = static_cast<uint32_t>(item + 1);
  }
  prev_slack = slack_out;
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
  return ceil_cycles(std::max(mem, axi));
}

uint64_t LayerPlan::compute_cycles() const {
  uint64_t c = 0;
  for (const auto& j : jobs) c += j.compute_cycles;
  return c;
}

Plan plan_network(const Network& net, const NpuSettings& s, const MemorySystem& mem, PlanCache* cache) {
  Plan plan;
  plan.settings = s;
  Planner pl(net, s, mem);
  pl.cache = cache ? &cache->impl() : nullptr;
  // The lowering does not depend on the configuration: a cache keeps the first plan's.
  std::vector<LoweredLayer> own;
  const std::vector<LoweredLayer>* lowered = &own;
  if (pl.cache) {
    if (!pl.cache->lowered)
      pl.cache->lowered = std::make_unique<std::vector<LoweredLayer>>(lower_network(net));
    lowered = pl.cache->lowered.get();
  } else {
    own = lower_network(net);
  }
  plan.layers.resize(net.ops.size());
  for (size_t i = 0; i < net.ops.size(); ++i) {
    LayerPlan& lp = plan.layers[i];
    lp.op = i;
    pl.op_index = i;
    lp.macs = net.ops[i].macs;
    if (net.ops[i].on_cpu) {
      plan_cpu_layer(lp, net, net.ops[i], s);  // an op Vela leaves to the host CPU (cpu_cost.hpp)
      pl.finish_cpu_layer(lp);
    } else {
      pl.plan(lp, (*lowered)[i], net.ops[i]);
    }
  }
  return plan;
}

double compute_energy(const LayerPlan& lp, const NpuSettings& s) {
  if (lp.on_cpu) return lp.cpu_energy;
  // IFM, OFM and the decoded weights (once per fetch) pass through the shared buffer.
  const uint64_t buffer_bytes =
      lp.fm_read_bytes + lp.fm_write_bytes + lp.encoding.weights * lp.weight_fetches;
  return static_cast<double>(lp.macs) * s.mac_energy +
         8.0 * static_cast<double>(buffer_bytes) * s.shared_buffer_energy;
}

uint64_t run_dma(const DmaItem& d, const NpuSettings& s, const MemorySystem& mem, uint64_t start,
                 LayerTiming& lt) {
  const double at = static_cast<double>(start) / s.clock;
  const Transfer src = transfer(mem, s.weights_in, d.bytes, false, at);
  uint64_t c = transfer_cycles(src, d.bytes, s);
  lt.read_bytes[s.weights_in] += src.device_bytes;
  lt.memory_energy[s.weights_in] += src.energy;
  if (d.to_buffer) {
    const Transfer dst = transfer(mem, s.activations_in, d.bytes, true, at);
    c = std::max(c, transfer_cycles(dst, d.bytes, s));
    lt.write_bytes[s.activations_in] += dst.device_bytes;
    lt.memory_energy[s.activations_in] += dst.energy;
  }
  lt.dma_cycles += c;
  return c;
}

void account_traffic(const LayerPlan& lp, const NpuSettings& s, const MemorySystem& mem, uint64_t end,
                     LayerTiming& lt) {
  const double at = static_cast<double>(end) / s.clock;
  auto add = [&](Mem m, uint64_t bytes, bool write) {
    if (!bytes) return;
    const Transfer t = transfer(mem, m, bytes, write, at);
    (write ? lt.write_bytes : lt.read_bytes)[m] += t.device_bytes;
    lt.memory_energy[m] += t.energy;
  };
  add(s.activations_in, lp.fm_read_bytes, false);
  add(s.activations_in, lp.fm_write_bytes, true);
  add(s.weights_in, lp.direct_bytes, false);
}

void time_layer(const LayerPlan& lp, const NpuSettings& s, const MemorySystem& mem, EngineState& st,
                LayerTiming& lt) {
  if (lp.jobs.empty()) {  // no NPU command (a reshape)
    lt.cycles = 0;
    lt.compute_energy = compute_energy(lp, s);
    return;
  }
  thread_local std::vector<uint64_t> start, end, arrived;
  start.resize(lp.jobs.size());
  end.resize(lp.jobs.size());
  arrived.resize(lp.dma.size());
  const uint64_t begin = st.npu_free;
  const uint64_t prev_start = st.last_tail_start;
  const auto buffers = static_cast<size_t>(s.buffers);
  uint64_t npu = begin + lp.overhead_cycles(s);
  size_t next = 0;
  // DMA items in order: when the engine is free, the gate open and the buffer free.
  auto copy = [&](size_t k) {
    const DmaItem& d = lp.dma[k];
    uint64_t t = std::max(st.dma_free, d.gate < 0 ? prev_start : start[static_cast<size_t>(d.gate)]);
    if (k >= buffers && d.to_buffer) t = std::max(t, end[lp.dma[k - buffers].last_job]);
    st.dma_free = t + run_dma(d, s, mem, t, lt);
    arrived[k] = st.dma_free;
  };
  for (size_t j = 0; j < lp.jobs.size(); ++j) {
    const Job& job = lp.jobs[j];
    while (next < job.dma_ready) copy(next++);
    const uint64_t t = job.dma_ready ? std::max(npu, arrived[job.dma_ready - 1]) : npu;
    start[j] = t;
    npu = end[j] = t + job.cycles;
    lt.compute_cycles += job.compute_cycles;
    lt.traffic_cycles += job.traffic_cycles;
  }
  while (next < lp.dma.size()) copy(next++);
  // The next layer's first weights may be copied under this layer's tail; not under a
  // layer of the host CPU (the NPU's command stream stops there).
  st.last_tail_start = lp.on_cpu ? npu : start[lp.tail_job];
  st.npu_free = npu;
  lt.cycles = npu - begin;
  account_traffic(lp, s, mem, npu, lt);
  lt.compute_energy = compute_energy(lp, s);
}

void time_network(const Plan& plan, const MemorySystem& mem, Timing& t) {
  const NpuSettings& s = plan.settings;
  t.layers.assign(plan.layers.size(), LayerTiming{});
  t.seconds = t.energy = t.static_energy = 0;
  EngineState st;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    LayerTiming& lt = t.layers[i];
    time_layer(plan.layers[i], s, mem, st, lt);
    for (int m = 0; m < kMemories; ++m) t.energy += lt.memory_energy[m];
    t.energy += lt.compute_energy;
  }
  t.cycles = st.npu_free;
  t.seconds = static_cast<double>(t.cycles) / s.clock;
  t.static_energy = s.static_power * t.seconds;
  t.energy += t.static_energy;
}

}  // namespace edgesim::npu
