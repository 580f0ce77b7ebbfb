#include "models/npu/op_cost.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace edgesim::npu {

namespace {

int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}
int round_up(int a, int b) {
  return ceil_div(a, b) * b;
}
Shape3 min3(Shape3 a, Shape3 b) {
  return {std::min(a.h, b.h), std::min(a.w, b.w), std::min(a.c, b.c)};
}

constexpr int kBankBytes = 1024;
constexpr int kReservedOutputBanks = 2;      // Vela SHRAMConfig.reserved_output_banks
constexpr int kSubKernel = 8;                // Vela SubKernelMax: 8 x 8
constexpr int kOfmSplitDepth = 16;           // Vela ArchitectureFeatures.OFMSplitDepth
constexpr Shape3 kOfmBlockMax{32, 64, 128};  // Vela ofm_block_max (h, w, c)

// Shared-buffer element kinds (Vela SHRAMElements), index into shram_granules.
constexpr int kIfm8 = 0, kIfm8Elementwise = 2, kIfm32 = 4, kAcc32 = 6;

bool equal_depth(NpuKind k) {
  return k == NpuKind::Elementwise || k == NpuKind::Pooling || k == NpuKind::Depthwise;
}
bool convolution(NpuKind k) {
  return k == NpuKind::Conv || k == NpuKind::Depthwise;
}

/// Part-kernel-first traversal when it keeps more of the dot-product lanes busy than
/// depth first (Vela _choose_kernel_method): always for inputs of 8 channels or fewer.
bool part_kernel_first(const NpuOp& op) {
  if (op.ifm.c <= 8) return true;
  const int k = op.kh * op.kw;
  const double depth_util = static_cast<double>(op.ifm.c) / round_up(op.ifm.c, op.ifm_bits == 8 ? 32 : 16);
  const double part_util =
      static_cast<double>(op.ifm.c) * k /
      (static_cast<double>(round_up(op.ifm.c, 8)) * round_up(k, op.ifm_bits == 8 ? 4 : 2));
  return part_util > depth_util;
}

/// The IFM extent one output extent needs (kernel clipped to a sub-kernel).
int ifm_extent(int out, int stride, int area) {
  return (out - 1) * stride + std::min(area, kSubKernel);
}

struct Search {
  const ArchConfig& a;
  const NpuOp& op;
  Shape3 ifm;  // the larger of the two inputs
  bool ew, scalar, eq_depth, part_kernel;
  int ifm_depth_block, ifm_granule, acc_granule, lut_banks;

  Search(const ArchConfig& arch, const NpuOp& o, bool lut) : a(arch), op(o) {
    ifm = op.has_ifm2 && op.ifm2.elements() > op.ifm.elements() ? op.ifm2 : op.ifm;
    ew = op.kind == NpuKind::Elementwise;
    scalar = ew && op.ifm2_scalar;
    eq_depth = equal_depth(op.kind);
    part_kernel = convolution(op.kind) && part_kernel_first(op);
    ifm_depth_block = round_up(std::min(ifm.c, part_kernel ? 16 : 32), a.ifm_ublock.c);
    const int bits_kind = op.ifm_bits == 32 ? kIfm32 : (ew ? kIfm8Elementwise : kIfm8);
    ifm_granule = a.shram_granules[static_cast<size_t>(bits_kind)];
    acc_granule = a.shram_granules[kAcc32];
    // A lookup table takes two banks at the end; the 24- and 48-bank configurations
    // keep those two banks back anyway.
    lut_banks = std::max(lut ? 2 : 0, a.shram_banks > 16 ? 2 : 0);
  }

  Shape3 ifm_block(Shape3 ob) const {
    Shape3 ib;
    ib.h = round_up(ifm_extent(ob.h, op.sh, op.area_h()), a.ofm_ublock.h);
    ib.w = round_up(ifm_extent(ob.w, op.sw, op.area_w()), a.ofm_ublock.w);
    ib.c = eq_depth ? ob.c : ifm_depth_block;
    return ib;
  }

  /// The banks the blocks take, or false when they do not fit.
  bool layout(Shape3 ob, Shape3 ib, int& ifm_banks, int& acc_banks) const {
    const int ifm_bytes = ib.w * ib.h * round_up(ib.c * op.ifm_bits / 8, 8);
    ifm_banks = round_up(ceil_div(ifm_bytes, kBankBytes) * 2, ifm_granule);
    const int lut_start = a.shram_banks - lut_banks;
    int ifm_end = kReservedOutputBanks + ifm_banks;
    int acc_start = lut_start;
    acc_banks = 0;
    if (!ew) {
      const int acc_bytes = ob.w * ob.h * round_up(ob.c, 8) * 4;  // int32 accumulators
      acc_banks = round_up(ceil_div(acc_bytes, kBankBytes) * 2, acc_granule);
      acc_start -= acc_banks;
    } else {
      const int ifm2_banks = scalar ? 0 : ifm_banks;
      if (ifm_end + ifm2_banks > acc_start) return false;
      ifm_end = acc_start;
    }
    return ifm_end <= acc_start;
  }

  /// Block height is 1 for a one-row OFM with a one-row kernel where the micro-block is
  /// two rows high (Vela fit_block_for_ofm).
  Shape3 fit(Shape3 ob) const {
    if (op.ofm.h == 1 && op.kh == 1 && a.ofm_ublock.h == 2) ob.h = std::min(ob.h, op.ofm.h);
    return ob;
  }
};

/// Vela _estimate_memory_transfer_efficiency: bytes of bus occupancy for `bytes` moved
/// in bursts as long as the block's contiguous run, at most the memory's burst.
double burst_occupancy(bool read, bool brick, int bits, Shape3 block, Shape3 shape, double burst,
                       double bytes) {
  double len_bits;
  if (brick) {
    const double brick_row = bits * 16.0 * shape.w / 8;  // stride between 16-channel bricks
    if (brick_row == block.c)
      len_bits = static_cast<double>(bits) * block.c * block.w;
    else
      len_bits = 16.0 * bits * block.w;  // one core: reads and writes alike
  } else {
    const double elem = bits / 8.0;
    if (read)
      len_bits = elem == block.c ? static_cast<double>(bits) * block.c * block.w
                                 : static_cast<double>(bits) * block.c;
    else if (block.c <= 16 && elem == block.c)
      len_bits = static_cast<double>(bits) * block.c * block.w;
    else
      len_bits = std::min({64.0 * 8, 16.0 * bits, static_cast<double>(block.c) * bits});
  }
  const double len = std::min(burst, std::floor(len_bits / 8));
  return len > 0 ? bytes * burst / len : bytes;
}

/// Vela _estimate_minimum_memory_cycles: latency and transfer of one IFM block and one
/// OFM block (elements counted as bytes, as Vela does).
double command_memory_cycles(const NpuOp& op, const BlockConfig& b, const MemTiming& act) {
  const double ifm =
      act.latency + burst_occupancy(true, op.ifm_brick, op.ifm_bits, b.ifm, op.ifm, act.burst_bytes,
                                    static_cast<double>(min3(op.ifm, b.ifm).elements())) *
                        act.cycles_per_byte;
  const double ofm =
      act.latency + burst_occupancy(false, op.ofm_brick, op.ofm_bits, b.ofm, op.ofm, act.burst_bytes,
                                    static_cast<double>(min3(op.ofm, b.ofm).elements())) *
                        act.cycles_per_byte;
  return ifm + ofm;
}

double output_cycles_per_element(const ArchConfig& a, const NpuOp& op) {
  return std::max(a.output_cycles[static_cast<size_t>(op.output)],
                  a.activation_cycles[static_cast<size_t>(op.activation)]);
}

Shape3 rounded(Shape3 s, bool brick) {
  if (brick) s.c = round_up(s.c, 16);
  return s;
}

BlockConfig search_block_config(const ArchConfig& a, const NpuOp& op, bool lut) {
  const Search s(a, op, lut);
  BlockConfig best;
  best.part_kernel = s.part_kernel;
  Shape3 space = min3(op.ofm, kOfmBlockMax);
  space = {round_up(space.h, a.ofm_ublock.h), round_up(space.w, a.ofm_ublock.w),
           round_up(space.c, a.ofm_ublock.c)};
  const int repeats = ceil_div(op.area_w(), kSubKernel) * ceil_div(op.area_h(), kSubKernel);
  const int weight_wh = convolution(op.kind) ? op.area_w() * op.area_h() : 0;
  const double ofm_elements = static_cast<double>(op.ofm.elements());
  double best_cost = std::numeric_limits<double>::infinity();
  double best_coverage = best_cost;

  int depth = std::max(a.ofm_ublock.c, std::min(space.c, kOfmSplitDepth));
  if (depth < op.ofm.c) depth = round_up(depth, kOfmSplitDepth);
  // wont_fit[h][w]: a block h high and w wide is known not to fit at this depth. When one
  // does not fit, its transpose is assumed not to either (Vela's shortcut).
  constexpr int kSide = 65;
  std::array<uint8_t, kSide * kSide> wont_fit{};
  while (depth <= space.c) {
    wont_fit.fill(0);
    for (int h = a.ofm_ublock.h; h <= space.h; h += a.ofm_ublock.h) {
      for (int w = a.ofm_ublock.w; w <= space.w; w += a.ofm_ublock.w) {
        if (w < kSide && wont_fit[static_cast<size_t>(h * kSide + w)]) continue;
        const Shape3 ib = s.ifm_block({h, w, depth});
        const Shape3 ob = s.fit({h, w, depth});
        int ifm_banks = 0, acc_banks = 0;
        if (!s.layout(ob, ib, ifm_banks, acc_banks)) {
          // The banks a block takes grow with its width, so no wider block fits either:
          // mark the transposes the loop would have marked, and leave the row.
          for (int w2 = w; w2 <= space.w; w2 += a.ofm_ublock.w) {
            if (w2 < kSide && wont_fit[static_cast<size_t>(h * kSide + w2)]) continue;
            if (w2 < kSide && h < kSide) wont_fit[static_cast<size_t>(w2 * kSide + h)] = 1;
          }
          break;
        }
        const double full_h = ceil_div(op.ofm.h, ob.h), full_w = ceil_div(op.ofm.w, ob.w),
                     full_c = ceil_div(op.ofm.c, ob.c);
        const double blocks_h = static_cast<double>(op.ofm.h) / ob.h,
                     blocks_w = static_cast<double>(op.ofm.w) / ob.w,
                     blocks_c = static_cast<double>(op.ofm.c) / ob.c;
        double weight_fetch = static_cast<double>(weight_wh) * s.ifm.c * full_h * full_w;
        if (op.kind != NpuKind::Depthwise) weight_fetch *= ob.c * blocks_c;
        double ifm_fetch = static_cast<double>(ib.h) * ib.w * s.ifm.c * repeats * blocks_h * blocks_w;
        if (!s.eq_depth) ifm_fetch *= full_c;
        double cost = s.ew ? std::max(ofm_elements / (static_cast<double>(h) * w * depth), 1.0)
                           : (ifm_fetch + weight_fetch) / ofm_elements;
        // Prefer a block whose double-buffered IFM holds the whole input.
        if (static_cast<double>(s.ifm.elements()) < static_cast<double>(ib.elements()) * 2) cost /= 2;
        if (cost <= best_cost) {
          bool take = false;
          if (cost == best_cost) {
            // Equal cost: the larger IFM coverage, among small blocks only.
            const Shape3 cov = min3(s.ifm, ib);
            const double coverage =
                static_cast<double>(s.ifm.h) * s.ifm.w / (static_cast<double>(cov.h) * cov.w);
            if (coverage <= best_coverage && h <= 4 && w <= 4) {
              best_coverage = coverage;
              take = true;
            }
          } else {
            best_coverage = std::numeric_limits<double>::infinity();
            take = true;
          }
          if (take) {
            best_cost = cost;
            best.ofm = {h, w, depth};
            best.ifm = ib;
            best.ifm_banks = ifm_banks;
            best.acc_banks = acc_banks;
            best.valid = true;
          }
        }
      }
    }
    depth += a.ofm_ublock.c;
    if (depth < op.ofm.c) depth = round_up(depth, kOfmSplitDepth);
  }
  return best;
}

/// Everything the block search reads, as bytes: the configuration and the operation
/// (its useful MAC count aside).
std::string search_key(const ArchConfig& a, const NpuOp& op, bool lut) {
  // Written into a local buffer, then copied once (appending to the string field by field
  // cost more than the lookup).
  char buf[512];
  size_t len = 0;
  auto put = [&](const auto& v) {
    if (len + sizeof v > sizeof buf) throw std::logic_error("block search key: more than 512 bytes");
    std::memcpy(buf + len, &v, sizeof v);
    len += sizeof v;
  };
  for (int v : {a.macs, a.ofm_ublock.h, a.ofm_ublock.w, a.ofm_ublock.c, a.ifm_ublock.h, a.ifm_ublock.w,
                a.ifm_ublock.c, a.dot_depth, a.elem_units, a.shram_banks})
    put(v);
  for (int g : a.shram_granules) put(g);
  for (double c : a.output_cycles) put(c);
  for (double c : a.activation_cycles) put(c);
  put(a.shared_buffer);
  for (const Shape3& s : {op.ifm, op.ifm2, op.ofm})
    for (int v : {s.h, s.w, s.c}) put(v);
  for (int v : {op.kh, op.kw, op.sh, op.sw, op.dh, op.dw, op.ifm_bits, op.ifm2_bits, op.ofm_bits,
                static_cast<int>(op.kind), static_cast<int>(op.output), static_cast<int>(op.activation)})
    put(v);
  for (bool b :
       {op.has_ifm2, op.ifm2_scalar, op.ifm2_const, op.ifm_brick, op.ifm2_brick, op.ofm_brick, op.bias, lut})
    put(static_cast<char>(b));
  return std::string(buf, len);
}

}  // namespace

BlockConfig find_block_config(const ArchConfig& a, const NpuOp& op, bool lut) {
  // The search is a pure function of its inputs and networks repeat layer shapes (within
  // a network, and across the networks of a dataset): remember its answers per thread.
  thread_local std::unordered_map<std::string, BlockConfig> memo;
  std::string key = search_key(a, op, lut);
  const auto it = memo.find(key);
  if (it != memo.end()) return it->second;
  if (memo.size() > 200000) memo.clear();  // bound the memory a long run holds
  const BlockConfig b = search_block_config(a, op, lut);
  memo.emplace(std::move(key), b);
  return b;
}

BlockConfig forced_block_config(const ArchConfig& a, const NpuOp& op, bool lut, Shape3 ofm_block) {
  const Search s(a, op, lut);
  BlockConfig b;
  b.part_kernel = s.part_kernel;
  b.ofm = {round_up(ofm_block.h, a.ofm_ublock.h), round_up(ofm_block.w, a.ofm_ublock.w),
           round_up(ofm_block.c, a.ofm_ublock.c)};
  b.ifm = s.ifm_block(b.ofm);
  b.valid = s.layout(s.fit(b.ofm), b.ifm, b.ifm_banks, b.acc_banks);
  return b;
}

BlockCycles block_cycles(const ArchConfig& a, const NpuOp& op, const BlockConfig& b, const MemTiming& act,
                         double bias_latency) {
  const Shape3 ib = min3(op.ifm, b.ifm);
  Shape3 ob = min3(op.ofm, b.ofm);
  Ublock ub = a.ofm_ublock;
  // One-row OFMs of even width with one-row kernels run as 1 x 4 micro-blocks on the
  // two-row configurations.
  if (a.ofm_ublock.h == 2 &&
      (op.kind == NpuKind::Conv || op.kind == NpuKind::Depthwise || op.kind == NpuKind::VectorProduct) &&
      op.ofm.h == 1 && op.ofm.w % 2 == 0 && op.kh == 1) {
    ub = {1, 4, a.ofm_ublock.c};
    ob.h = 1;
  }
  const int nx = ceil_div(ob.w, ub.w), ny = ceil_div(ob.h, ub.h), nxy = nx * ny, nz = ceil_div(ob.c, ub.c);
  const bool vector = op.kind == NpuKind::VectorProduct;
  const int limit = vector ? 1 : kSubKernel;
  const bool part_kernel = op.kind == NpuKind::Conv && b.part_kernel;
  const int weight_cycles = 32 * ub.c / 8;  // cycles to load one micro-block's weights
  const int delay = a.macs == 32 ? 3 : 2;   // accumulator turnaround (int32 accumulators)
  const int ifm_slices = ceil_div(ib.c, 8);
  double dpu = 0;
  for (int y = 0; y < op.kh; y += limit) {
    for (int x = 0; x < op.kw; x += limit) {
      const int elements = std::min(op.kh - y, limit) * std::min(op.kw - x, limit);
      int steps = 0;
      double cycles = 0;
      switch (op.kind) {
        case NpuKind::Pooling:
          steps = 1;
          cycles = static_cast<double>(std::max(4, elements)) * nxy * nz;
          break;
        case NpuKind::Depthwise:
          steps = ceil_div(elements, 4);
          cycles = static_cast<double>(std::max(weight_cycles, 4 * nxy)) * steps * nz;
          break;
        default:
          if (part_kernel) {
            steps = ceil_div(elements, 4);
            cycles = static_cast<double>(std::max(weight_cycles, 4 * nxy)) * steps * ifm_slices * nz;
          } else {
            steps = elements;
            cycles = static_cast<double>(std::max(weight_cycles, 4 * nxy)) * steps * nz;
          }
      }
      double delays = 0;
      if (nx == 1 && ny == 1) {
        if (nz == 1)
          delays = static_cast<double>(delay) * steps;
        else if (steps > 1)
          delays = static_cast<double>(delay) * (steps - 1) * nz;
      }
      if (part_kernel) delays *= ifm_slices;
      dpu += cycles + delays;
    }
  }
  if (op.kind == NpuKind::Conv || vector || op.kind == NpuKind::ReduceSum) dpu *= ceil_div(op.ifm.c, ib.c);

  BlockCycles r;
  r.blocks =
      static_cast<uint64_t>(ceil_div(op.ofm.h, ob.h)) * ceil_div(op.ofm.w, ob.w) * ceil_div(op.ofm.c, ob.c);
  double out = std::ceil(output_cycles_per_element(a, op) * static_cast<double>(ob.elements()));
  // The output unit reads 10 bytes of bias and scale per channel.
  if (op.bias) out = std::max(out, 10.0 * ob.c * bias_latency / 256);
  const double cmd = (command_memory_cycles(op, b, act) + out + dpu) / 4;
  r.dpu = std::max(dpu, cmd);
  r.output = std::max(out, cmd);
  return r;
}

uint64_t elementwise_cycles(const ArchConfig& a, const NpuOp& op, const BlockConfig& b,
                            const MemTiming& act) {
  double per_element = output_cycles_per_element(a, op);
  const double block = static_cast<double>(b.ofm.elements());
  const double cmd = (command_memory_cycles(op, b, act) + per_element * block) / 4;
  per_element = std::max(per_element, cmd / block);
  return static_cast<uint64_t>(
      std::ceil(per_element * static_cast<double>(rounded(op.ofm, op.ofm_brick).elements())));
}

Traffic op_traffic(const ArchConfig& a, const NpuOp& op, const BlockConfig& b, double act_burst,
                   double ifm2_burst) {
  (void)a;
  Traffic t;
  const int ifm_bytes = op.ifm_bits / 8, ofm_bytes = op.ofm_bits / 8, ifm2_bytes = op.ifm2_bits / 8;
  const Shape3 ofm_round = rounded(op.ofm, op.ofm_brick);
  if (op.kind == NpuKind::Elementwise) {
    // Vela measure_element_access: an operand is read once per output element (a
    // one-element first operand once); a one-element wide second operand once.
    const Shape3 ofm_in = rounded(op.ofm, op.ifm_brick);
    uint64_t ifm = 0, ifm2 = 0;
    if (op.ifm.elements() == 1) {
      if (op.ifm_bits > 8) ifm = rounded(op.ifm, op.ifm_brick).elements();
      if (op.has_ifm2) ifm2 = ofm_in.elements();
    } else {
      ifm = ofm_in.elements();
      if (op.has_ifm2) {
        if (op.ifm2.elements() > 1)
          ifm2 = ofm_in.elements();
        else if (op.ifm2_bits > 8)
          ifm2 = rounded(op.ifm2, op.ifm_brick).elements();
      }
    }
    t.ifm = ifm * static_cast<uint64_t>(ifm_bytes);
    t.ifm2 = ifm2 * static_cast<uint64_t>(ifm2_bytes);
  } else {
    const Shape3 ib = min3(op.ifm, b.ifm), ob = min3(op.ofm, b.ofm);
    uint64_t blocks = static_cast<uint64_t>(ceil_div(op.ofm.h, ob.h)) * ceil_div(op.ofm.w, ob.w);
    if (!equal_depth(op.kind)) blocks *= static_cast<uint64_t>(ceil_div(op.ofm.c, ob.c));
    const int limit = op.kind == NpuKind::VectorProduct ? 1 : kSubKernel;
    const uint64_t sub_kernels = static_cast<uint64_t>(ceil_div(op.kw, limit)) * ceil_div(op.kh, limit);
    const Shape3 ibr = rounded(ib, op.ifm_brick);
    const uint64_t fetch = static_cast<uint64_t>(ibr.h) * ibr.w * rounded(op.ifm, op.ifm_brick).c;
    t.ifm = fetch * sub_kernels * blocks * static_cast<uint64_t>(ifm_bytes);
  }
  t.ofm = ofm_round.elements() * static_cast<uint64_t>(ofm_bytes);
  t.ifm_bus =
      burst_occupancy(true, op.ifm_brick, op.ifm_bits, b.ifm, op.ifm, act_burst, static_cast<double>(t.ifm));
  t.ofm_bus =
      burst_occupancy(false, op.ofm_brick, op.ofm_bits, b.ofm, op.ofm, act_burst, static_cast<double>(t.ofm));
  if (op.has_ifm2)
    t.ifm2_bus = burst_occupancy(true, op.ifm2_brick, op.ifm2_bits, b.ifm, op.ifm2,
                                 op.ifm2_const ? ifm2_burst : act_burst, static_cast<double>(t.ifm2));
  return t;
}

}  // namespace edgesim::npu
