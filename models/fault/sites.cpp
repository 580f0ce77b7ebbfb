#include "models/fault/sites.hpp"

#include <algorithm>

#include "models/fault/secded.hpp"

namespace edgesim::fault {

const char* block_name(Block b) {
  static const char* const names[] = {"shared_buffer", "weight_buffer",   "accumulators", "mac_pipeline",
                                      "control",       "dma_descriptors", "dram"};
  return names[static_cast<int>(b)];
}

const char* block_class(Block b) {
  switch (b) {
    case Block::kSharedBuffer:
    case Block::kWeightBuffer: return "sram";
    case Block::kDram: return "dram";
    default: return "flop";
  }
}

double SiteMap::residency(Block b) const {
  const auto i = static_cast<size_t>(b);
  if (capacity_bits[i] == 0 || cycles == 0) return 0;
  return live_bit_cycles[i] / (static_cast<double>(capacity_bits[i]) * static_cast<double>(cycles));
}

size_t SiteMap::layer_at(uint64_t c) const {
  const auto it = std::upper_bound(layer_end.begin(), layer_end.end(), c);
  return std::min(static_cast<size_t>(it - layer_end.begin()), layer_end.size() - 1);
}

SiteMap map_sites(const npu::Network& net, const npu::Plan& plan, const npu::Timing& t,
                  const SiteOptions& o) {
  SiteMap m;
  m.dram_ecc = o.dram_ecc;
  const size_t n = net.ops.size();
  m.layer_start.resize(n);
  m.layer_end.resize(n);
  uint64_t now = 0;
  for (size_t i = 0; i < n; ++i) {
    m.layer_start[i] = now;
    now += t.layers[i].cycles;
    m.layer_end[i] = now;
  }
  m.cycles = now;
  const npu::NpuSettings& s = plan.settings;
  const bool dram_weights = s.weights_in == npu::kDram;
  auto add = [&](Site site) {
    if (site.bits == 0 || site.live_cycles <= 0) return;
    m.live_bit_cycles[static_cast<size_t>(site.block)] += site.live_bit_cycles();
    m.sites.push_back(std::move(site));
  };

  // Activation tensors: live from the end of their producer (the input: from cycle 0) to
  // the end of their last reader.
  for (size_t ti = 0; ti < net.tensors.size(); ++ti) {
    const int tensor = static_cast<int>(ti);
    size_t first_reader = n, last_reader = 0;
    for (size_t i = 0; i < n; ++i)
      for (int in : net.ops[i].inputs)
        if (in == tensor) first_reader = std::min(first_reader, i), last_reader = std::max(last_reader, i);
    if (first_reader == n) continue;  // the output: read by the host once the inference ends
    uint64_t born = 0;
    for (size_t i = 0; i < n; ++i)
      if (net.ops[i].output == tensor) born = m.layer_end[i];
    Site site;
    site.name = "tensor " + net.tensors[ti].name;
    site.block = Block::kSharedBuffer;
    site.kind = SiteKind::kTensor;
    site.layer = first_reader;
    site.tensor = tensor;
    site.bits = 8 * net.tensors[ti].size();
    site.window_start = born;
    site.window_end = m.layer_end[last_reader];
    site.live_cycles = static_cast<double>(site.window_end - site.window_start);
    add(site);
  }

  uint64_t max_weights = 0, max_acc = 0, dram_bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const npu::Op& op = net.ops[i];
    const npu::LayerPlan& lp = plan.layers[i];
    const uint64_t start = m.layer_start[i], end = m.layer_end[i];
    const double span = static_cast<double>(end - start);
    // A site of layer i, live within the layer's cycles for `live` cycles.
    auto site = [&](const char* what, Block b, SiteKind k, int word_bits, uint64_t bits, double live) {
      Site x;
      x.name = std::string(what) + " " + op.name;
      x.block = b, x.kind = k, x.layer = i, x.word_bits = word_bits, x.bits = bits;
      x.window_start = start, x.window_end = end, x.live_cycles = live;
      return x;
    };
    // An op the host CPU runs has no NPU sites (its tensors' sites remain).
    if (npu::weighted(op.type) && !op.on_cpu) {
      // The buffer holds one depth slice's weights while that slice's blocks run (the
      // decoder refetches them per spatial block): each weight is live for its slice's
      // share of the layer (every slice has the same number of spatial blocks).
      const auto oc = static_cast<uint64_t>(net.tensors[op.output].c);
      const uint64_t slice = std::max<uint64_t>(1, std::min<uint64_t>(oc, static_cast<uint64_t>(lp.block_c)));
      const uint64_t slices = (oc + slice - 1) / slice;
      const Site w = site("weights", Block::kWeightBuffer, SiteKind::kWeights, 8, 8 * op.weights.size(),
                          span / static_cast<double>(slices));
      max_weights = std::max(max_weights, w.bits * slice / oc);
      add(w);
      // Per lane: IFM operand (8), weight operand (8), product (16); each useful MAC holds
      // one lane's registers for one cycle.
      add(site("mac lanes", Block::kMacPipeline, SiteKind::kMacOperands, 32,
               32ULL * static_cast<uint64_t>(s.arch.macs), static_cast<double>(lp.macs) / s.arch.macs));
      if (dram_weights) {
        const int word_bits = o.dram_ecc ? kCodewordBits : 64;
        Site d = site("dram weights", Block::kDram, SiteKind::kDramWeights, word_bits,
                      (op.weights.size() + 7) / 8 * static_cast<uint64_t>(word_bits), 0);
        d.window_start = 0, d.window_end = m.cycles > 0 ? m.cycles : 1;
        d.live_cycles = static_cast<double>(d.window_end);  // resident for the whole inference
        dram_bits += d.bits;
        add(d);
      }
    }
    if (npu::block_type(op.type) && !op.on_cpu && !lp.jobs.empty()) {
      const Site a =
          site("accumulators", Block::kAccumulators, SiteKind::kAccumulators, 32, lp.accumulator_bits,
               static_cast<double>(std::min<uint64_t>(lp.compute_cycles(), end - start)));
      max_acc = std::max(max_acc, a.bits);
      add(a);
      add(site("control", Block::kControl, SiteKind::kControl, kControlBits, kControlBits, span));
      add(site("dma descriptors", Block::kDmaDescriptors, SiteKind::kDmaDescriptor, kDescriptorBits,
               kDescriptorBits * std::min<uint64_t>(static_cast<uint64_t>(s.buffers), lp.jobs.size()), span));
    }
  }
  using B = Block;
  auto cap = [&](B b) -> uint64_t& { return m.capacity_bits[static_cast<size_t>(b)]; };
  // Assumptions (docs/fault.md): the shared buffer is the configuration's SHRAM, or the
  // arena where that is larger; the weight buffer double-buffers the largest layer's
  // decoded weights; the accumulator array holds the largest block's accumulators.
  cap(B::kSharedBuffer) = 8 * std::max<uint64_t>(s.arch.shared_buffer, net.arena_bytes);
  cap(B::kWeightBuffer) = 2 * max_weights;
  cap(B::kAccumulators) = max_acc;
  cap(B::kMacPipeline) = 32ULL * static_cast<uint64_t>(s.arch.macs);
  cap(B::kControl) = kControlBits;
  cap(B::kDmaDescriptors) = kDescriptorBits * static_cast<uint64_t>(s.buffers);
  cap(B::kDram) = dram_bits;
  return m;
}

}  // namespace edgesim::fault
