#pragma once
// A digest of everything a plan holds (per layer: blocks, weight encoding and stream bytes,
// every job and DMA item), so that a benchmark run shows that a faster planner still makes
// the same plans bit for bit: compare the digest with the previous binary's.
#include <cstdint>
#include <cstring>

#include "models/npu/timing.hpp"

namespace edgesim::bench {

/// FNV-1a over the bytes of the values added.
class Digest {
 public:
  template <class T>
  void add(const T& v) {
    unsigned char b[sizeof v];
    std::memcpy(b, &v, sizeof v);
    for (unsigned char c : b) h_ = (h_ ^ c) * 1099511628211ULL;
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 14695981039346656037ULL;
};

inline void add_plan(Digest& d, const npu::Plan& plan) {
  for (const npu::LayerPlan& lp : plan.layers) {
    d.add(lp.op);
    for (int v : {lp.block_h, lp.block_w, lp.block_c}) d.add(v);
    for (uint64_t v : {uint64_t{lp.passes}, uint64_t{lp.tail_job}, lp.macs, lp.weight_stream_bytes,
                       lp.weight_fetches, lp.fm_read_bytes, lp.fm_write_bytes, lp.direct_bytes,
                       lp.accumulator_bits, lp.shared_buffer_bytes, uint64_t{lp.on_cpu}})
      d.add(v);
    d.add(lp.cpu_energy);
    for (size_t v : {lp.encoding.weights, lp.encoding.zeros, lp.encoding.distinct_nonzero, lp.encoding.bits})
      d.add(v);
    for (char c : lp.encoding.mode) d.add(c);
    for (const npu::Job& j : lp.jobs) {
      for (uint64_t v : {j.compute_cycles, j.traffic_cycles, j.cycles}) d.add(v);
      for (uint32_t v : {j.fm_bytes, j.direct_bytes, j.dma_ready}) d.add(v);
    }
    for (const npu::DmaItem& m : lp.dma) {
      for (uint32_t v : {m.bytes, m.first_job, m.last_job}) d.add(v);
      d.add(m.to_buffer);
      d.add(m.gate);
    }
  }
}

}  // namespace edgesim::bench
