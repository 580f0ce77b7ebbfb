#include "models/npu/executor.hpp"

#include <algorithm>
#include <cstring>

#include "models/npu/activations.hpp"
#include "models/npu/kernels.hpp"
#include "models/npu/quant.hpp"
#include "models/npu/reference.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::npu {

namespace {

/// Where one output pixel's window lies in the IFM, and the slice of input channels the
/// MAC array takes in this pass.
struct Window {
  const int8_t* in;  // IFM, [H][W][C]
  const int8_t* wt;  // decoded weights, [KH][KW][IC][OC], at the block's first channel
  int iy0, ix0, ih, iw, ic, kh, kw, dh, dw, oc, s0, s1;
  int32_t zp;
};

/// One output pixel's `bc` accumulators take every tap of the window for input channels
/// [s0, s1): a[k] += (x - zp) * w. x - zp is in [-255, 255] and w in [-128, 127], so each
/// product fits 16 bits (|x w| <= 32640), as in the hardware's multipliers: a 16-bit
/// multiply the compiler vectorises. With BC > 0 (the block depths the planner picks
/// most) the accumulators stay in registers for the whole pass.
/// Calls row(x - zp, weights of that input channel) for every tap of the window inside
/// the IFM and every input channel of the pass.
template <class Row>
inline void for_window(const Window& w, Row&& row) {
  for (int ky = 0; ky < w.kh; ++ky) {
    const int iy = w.iy0 + ky * w.dh;
    if (iy < 0 || iy >= w.ih) continue;  // zero padding: real 0 contributes nothing
    for (int kx = 0; kx < w.kw; ++kx) {
      const int ix = w.ix0 + kx * w.dw;
      if (ix < 0 || ix >= w.iw) continue;
      const int8_t* x = w.in + (static_cast<size_t>(iy) * w.iw + ix) * w.ic;
      const int8_t* wr = w.wt + static_cast<size_t>(ky * w.kw + kx) * w.ic * w.oc;
      for (int c = w.s0; c < w.s1; ++c)
        row(static_cast<int16_t>(x[c] - w.zp), wr + static_cast<size_t>(c) * w.oc);
    }
  }
}

template <int BC>
void mac_pixel(int32_t* a, int bc, const Window& w) {
  if constexpr (BC > 0) {
    int32_t acc[BC];
    for (int k = 0; k < BC; ++k) acc[k] = a[k];
    for_window(w, [&](int16_t x, const int8_t* wc) {
      for (int k = 0; k < BC; ++k) acc[k] = wrapping_add(acc[k], static_cast<int16_t>(x * wc[k]));
    });
    for (int k = 0; k < BC; ++k) a[k] = acc[k];
  } else {
    for_window(w, [&](int16_t x, const int8_t* wc) {
      for (int k = 0; k < bc; ++k) a[k] = wrapping_add(a[k], static_cast<int16_t>(x * wc[k]));
    });
  }
}

/// Four channels (the 32-MAC configuration's micro-block depth) are too few for the
/// auto-vectoriser: one 4-lane vector of 16-bit products, widened into the accumulators.
template <>
void mac_pixel<4>(int32_t* a, int, const Window& w) {
  typedef int8_t v4qi __attribute__((vector_size(4)));
  typedef int16_t v4hi __attribute__((vector_size(8)));
  typedef int32_t v4si __attribute__((vector_size(16)));
  v4si acc;
  std::memcpy(&acc, a, sizeof acc);
  for_window(w, [&](int16_t x, const int8_t* wc) {
    v4qi wq;
    std::memcpy(&wq, wc, sizeof wq);
    const v4hi p = __builtin_convertvector(wq, v4hi) * x;
    acc += __builtin_convertvector(p, v4si);
  });
  std::memcpy(a, &acc, sizeof acc);
}

/// How many accumulators the fault-free path fills at once (whole OFM rows, all channels).
constexpr size_t kWholeRowAccumulators = 16384;

/// The kernel window of a conv-like op over its input.
kernels::Window window_of(const Op& op, const Tensor& ti) {
  return {ti.h, ti.w, op.kh, op.kw, op.sh, op.sw, op.dh, op.dw, op.pad_top, op.pad_left};
}

}  // namespace

Executor::Executor(const Network& net, const Plan& plan)
    : net_(net), plan_(plan), arena_(net.arena_bytes, 0) {
  if (plan.layers.size() != net.ops.size()) throw SimError("NPU executor: the plan is for another network");
  load_constants(net, arena_.data());
  size_t max_acc = 1;
  weights_.resize(net.ops.size());
  wide_weights_.resize(net.ops.size());
  multipliers_.resize(net.ops.size());
  shifts_.resize(net.ops.size());
  tables_.resize(net.ops.size());
  exps_.resize(net.ops.size());
  for (size_t i = 0; i < net.ops.size(); ++i) {
    const Op& op = net.ops[i];
    const Tensor& to = net.tensors[static_cast<size_t>(op.output)];
    if (block_type(op.type)) {
      const BlockShape b = block_shape(i);
      max_acc = std::max(max_acc, static_cast<size_t>(b.h) * b.w * b.c);
    }
    if (table_op(op.type)) {
      // The function of every int8 input, tabulated once: the layer is then a lookup per
      // element, as Ethos-U runs these functions through its 256-entry LUT.
      const Tensor& ti = net.tensors[static_cast<size_t>(op.inputs[0])];
      for (int q = -128; q < 128; ++q)
        tables_[i][static_cast<uint8_t>(q)] = activation_element(op, static_cast<int8_t>(q), ti, to);
    }
    if (op.type == OpType::Softmax) {
      exps_[i].resize(256);  // exp of every difference to the row's maximum, 0 to -255
      for (int d = 0; d < 256; ++d) exps_[i][static_cast<size_t>(d)] = softmax_exp(op, -d);
    }
    auto& w = weights_[i];
    if (op.type == OpType::Conv2d) {
      // [OC][KH][KW][IC] -> [KH][KW][IC][OC]: the decoder delivers a depth slice of output
      // channels for each (kernel tap, input channel), which the MAC array broadcasts.
      const Tensor& ti = net.tensors[static_cast<size_t>(op.inputs[0])];
      w.resize(op.weights.size());
      for (int oc = 0; oc < to.c; ++oc)
        for (int k = 0; k < op.kh * op.kw; ++k)
          for (int ic = 0; ic < ti.c; ++ic)
            w[(static_cast<size_t>(k) * ti.c + ic) * to.c + oc] =
                op.weights[(static_cast<size_t>(oc) * op.kh * op.kw + k) * ti.c + ic];
    } else if (op.type == OpType::FullyConnected) {
      const size_t n = net.tensors[static_cast<size_t>(op.inputs[0])].size();
      w.resize(op.weights.size());
      for (int oc = 0; oc < to.c; ++oc)
        for (size_t i2 = 0; i2 < n; ++i2) w[i2 * to.c + oc] = op.weights[oc * n + i2];
    } else {
      w = op.weights;  // depthwise is already [KH][KW][OC]
    }
    if (weighted(op.type)) {
      for (const Requant& r : op.requant) {
        multipliers_[i].push_back(r.multiplier);
        shifts_[i].push_back(r.shift);
      }
      const Tensor& ti = net.tensors[static_cast<size_t>(op.inputs[0])];
      const size_t taps = op.type == OpType::FullyConnected ? 1 : static_cast<size_t>(op.kh) * op.kw;
      const size_t ic = op.type == OpType::FullyConnected ? ti.size() : static_cast<size_t>(ti.c);
      wide_weights_[i].assign(op.type == OpType::DepthwiseConv2d ? w.size() + kernels::kSlack
                                                                 : static_cast<size_t>(to.c) * taps * kernels::padded(ic),
                              0);
      for (size_t k = 0; k < w.size(); ++k) widen_weight(i, k);
    }
  }
  // Whole OFM rows at a time (run_layer without a fault) need at most this many.
  for (const Op& op : net.ops) {
    if (!weighted(op.type)) continue;
    const Tensor& to = net.tensors[static_cast<size_t>(op.output)];
    max_acc = std::max(max_acc, std::max(kWholeRowAccumulators, static_cast<size_t>(to.w) * to.c));
  }
  acc_.assign(max_acc + kernels::kSlack, 0);
}

void Executor::widen_weight(size_t layer, size_t k) {
  const Op& op = net_.ops[layer];
  const Tensor& ti = net_.tensors[static_cast<size_t>(op.inputs[0])];
  const auto oc = static_cast<size_t>(net_.tensors[static_cast<size_t>(op.output)].c);
  const int16_t v = weights_[layer][k];
  auto& wide = wide_weights_[layer];
  if (op.type == OpType::DepthwiseConv2d) {
    wide[k] = v;  // [KH*KW][OC], as decoded
    return;
  }
  // Decoded [KH*KW][IC][OC] (fully connected [IC][OC]) to [OC][KH*KW][padded IC].
  const size_t ic = op.type == OpType::FullyConnected ? ti.size() : static_cast<size_t>(ti.c);
  const size_t taps = op.type == OpType::FullyConnected ? 1 : static_cast<size_t>(op.kh) * op.kw;
  const size_t c = k % oc, i = (k / oc) % ic, tap = k / (oc * ic);
  wide[(c * taps + tap) * kernels::padded(ic) + i] = v;
}

void Executor::set_weights(size_t layer, size_t first, const int8_t* values, size_t n) {
  std::memcpy(weights_[layer].data() + first, values, n);
  for (size_t k = first; k < first + n; ++k) widen_weight(layer, k);
}

void Executor::widen_input(const Op& op) {
  const Tensor& ti = net_.tensors[static_cast<size_t>(op.inputs[0])];
  const Tensor& to = net_.tensors[static_cast<size_t>(op.output)];
  const int8_t* in = arena_.data() + ti.offset;
  const int32_t zp = ti.zero_point;
  if (op.type == OpType::DepthwiseConv2d) {
    // One value per output channel: channel c reads input channel c / depth_multiplier.
    const size_t pixels = static_cast<size_t>(ti.h) * ti.w, oc = static_cast<size_t>(to.c);
    wide_input_.resize(pixels * oc + kernels::kSlack);
    const int dm = op.depth_multiplier;
    if (dm == 1) {
      kernels::widen(in, static_cast<int>(pixels * oc), zp, wide_input_.data());
      return;
    }
    for (size_t p = 0; p < pixels; ++p) {
      const int8_t* x = in + p * static_cast<size_t>(ti.c);
      int16_t* o = wide_input_.data() + p * oc;
      for (size_t c = 0; c < oc; ++c) o[c] = static_cast<int16_t>(x[c / static_cast<size_t>(dm)] - zp);
    }
    return;
  }
  // Conv: [H][W][padded IC]; fully connected: the whole input as one padded row.
  const bool fc = op.type == OpType::FullyConnected;
  const size_t ic = fc ? ti.size() : static_cast<size_t>(ti.c), row = kernels::padded(ic);
  const size_t pixels = fc ? 1 : static_cast<size_t>(ti.h) * ti.w;
  wide_input_.resize(pixels * row);
  for (size_t p = 0; p < pixels; ++p) {
    int16_t* o = wide_input_.data() + p * row;
    kernels::widen(in + p * ic, static_cast<int>(ic), zp, o);
    std::fill(o + ic, o + row, int16_t{0});  // the row's padding adds nothing
  }
}

Executor::BlockShape Executor::block_shape(size_t layer) const {
  const LayerPlan& lp = plan_.layers[layer];
  const Tensor& to = net_.tensors[static_cast<size_t>(net_.ops[layer].output)];
  // A layer the NPU runs has the plan's block; one the CPU runs is one block of the whole output.
  if (lp.block_h > 0 && lp.block_w > 0 && lp.block_c > 0) return {lp.block_h, lp.block_w, lp.block_c};
  return {to.h, to.w, to.c};
}

void Executor::set_input(const int8_t* q) {
  const Tensor& t = net_.tensors[net_.input];
  std::memcpy(arena_.data() + t.offset, q, t.size());
}

void Executor::run_from(size_t layer) {
  for (size_t i = layer; i < net_.ops.size(); ++i) run_layer(i);
}

int Executor::argmax() const {
  const Tensor& t = net_.tensors[net_.output];
  const int8_t* o = output();
  return static_cast<int>(std::max_element(o, o + t.size()) - o);
}

void Executor::run_layer(size_t i) {
  const Op& op = net_.ops[i];
  const Tensor& to = net_.tensors[static_cast<size_t>(op.output)];
  if (!block_type(op.type)) {
    other_layer(i);
    return;
  }
  const BlockFault* f = fault_ && fault_->layer == i ? fault_ : nullptr;
  if (weighted(op.type)) widen_input(op);
  if (weighted(op.type) && !f) {
    // No fault in this layer: which block computes an output does not change it (every
    // sum is exact), so whole rows of the OFM go through the kernels at once, all output
    // channels together (fewer, longer kernel calls).
    const int rows = std::max(1, std::min(to.h, static_cast<int>(kWholeRowAccumulators / (static_cast<size_t>(to.w) * to.c))));
    for (int y0 = 0; y0 < to.h; y0 += rows) {
      const int bh = std::min(rows, to.h - y0);
      conv_block_fast(op, i, y0, 0, 0, bh, to.w, to.c);
      output_unit(op, y0, 0, 0, bh, to.w, to.c);
    }
    return;
  }
  // Block traversal as the plan's jobs: depth slices outer, then rows, then columns.
  const BlockShape blk = block_shape(i);
  size_t k = 0;
  for (int c0 = 0; c0 < to.c; c0 += blk.c) {
    const int bc = std::min(blk.c, to.c - c0);
    for (int y0 = 0; y0 < to.h; y0 += blk.h) {
      const int bh = std::min(blk.h, to.h - y0);
      for (int x0 = 0; x0 < to.w; x0 += blk.w, ++k) {
        const int bw = std::min(blk.w, to.w - x0);
        const BlockFault* fk = f && k >= f->first_block && k < f->last_block ? f : nullptr;
        if (fk && fk->kind == BlockFault::kSkip) continue;
        if (op.type == OpType::AvgPool || op.type == OpType::MaxPool) {
          pool_block(op, y0, x0, c0, bh, bw, bc, fk);
        } else {
          // A block that reads another IFM or other weights (a fault) takes the plain path.
          if (fk && (fk->kind == BlockFault::kAltInput || fk->kind == BlockFault::kAltWeights)) {
            conv_block(op, i, y0, x0, c0, bh, bw, bc, fk);
          } else {
            conv_block_fast(op, i, y0, x0, c0, bh, bw, bc);
          }
          fault_accumulators(fk);
          output_unit(op, y0, x0, c0, bh, bw, bc);
        }
      }
    }
  }
}

void Executor::fault_accumulators(const BlockFault* f) {
  if (!f) return;
  auto& a = acc_[f->acc_index];
  if (f->kind == BlockFault::kAccXor) a ^= f->value;
  if (f->kind == BlockFault::kAccForce) a = (a & ~f->value) | (f->force & f->value);
  if (f->kind == BlockFault::kAccAdd)
    a = static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(f->value));
}

bool Executor::block_layer(size_t layer) const {
  const Op& op = net_.ops[layer];
  return block_type(op.type) && !op.on_cpu;
}

BlockBox Executor::block_box(size_t layer, size_t k) const {
  const BlockShape blk = block_shape(layer);
  const Tensor& to = net_.tensors[static_cast<size_t>(net_.ops[layer].output)];
  const size_t nx = static_cast<size_t>((to.w + blk.w - 1) / blk.w);
  const size_t ny = static_cast<size_t>((to.h + blk.h - 1) / blk.h);
  BlockBox b;
  b.x0 = static_cast<int>(k % nx) * blk.w;
  b.y0 = static_cast<int>((k / nx) % ny) * blk.h;
  b.c0 = static_cast<int>(k / (nx * ny)) * blk.c;
  b.bw = std::min(blk.w, to.w - b.x0);
  b.bh = std::min(blk.h, to.h - b.y0);
  b.bc = std::min(blk.c, to.c - b.c0);
  return b;
}

bool Executor::mac_operands(size_t layer, int oy, int ox, int oc, int ky, int kx, int ic, int8_t& x,
                            int8_t& w) const {
  const Op& op = net_.ops[layer];
  const Tensor& ti = net_.tensors[op.inputs[0]];
  const Tensor& to = net_.tensors[op.output];
  const int8_t* in = arena_.data() + ti.offset;
  const auto& wt = weights_[layer];
  if (op.type == OpType::FullyConnected) {
    const size_t n = ti.size();
    x = in[ic];
    w = wt[static_cast<size_t>(ic) * to.c + oc];
    return n > 0;
  }
  const int iy = oy * op.sh - op.pad_top + ky * op.dh, ix = ox * op.sw - op.pad_left + kx * op.dw;
  if (iy < 0 || iy >= ti.h || ix < 0 || ix >= ti.w) return false;
  const size_t pixel = static_cast<size_t>(iy) * ti.w + ix;
  if (op.type == OpType::DepthwiseConv2d) {
    x = in[pixel * ti.c + oc / op.depth_multiplier];
    w = wt[static_cast<size_t>(ky * op.kw + kx) * to.c + oc];
  } else {
    x = in[pixel * ti.c + ic];
    w = wt[(static_cast<size_t>(ky * op.kw + kx) * ti.c + ic) * to.c + oc];
  }
  return true;
}

void Executor::run_region(size_t layer, int y0, int y1, int x0, int x1, int c0, int c1) {
  const Op& op = net_.ops[layer];
  const Tensor& ti = net_.tensors[op.inputs[0]];
  const Tensor& to = net_.tensors[op.output];
  const int8_t* in = arena_.data() + ti.offset;
  int8_t* out = arena_.data() + to.offset;
  const int8_t* wt = weights_[layer].data();
  const int32_t zp = ti.zero_point;
  const bool fc = op.type == OpType::FullyConnected, dw = op.type == OpType::DepthwiseConv2d;
  const int ic = fc ? static_cast<int>(ti.size()) : ti.c, oc = to.c;
  for (int oy = y0; oy < y1; ++oy) {
    for (int ox = x0; ox < x1; ++ox) {
      for (int c = c0; c < c1; ++c) {
        int32_t acc = op.bias[c];
        if (fc) {
          for (int i = 0; i < ic; ++i)
            acc = wrapping_add(
                acc, static_cast<int16_t>(static_cast<int16_t>(in[i] - zp) * wt[static_cast<size_t>(i) * oc + c]));
        } else {
          for (int ky = 0; ky < op.kh; ++ky) {
            const int iy = oy * op.sh - op.pad_top + ky * op.dh;
            if (iy < 0 || iy >= ti.h) continue;
            for (int kx = 0; kx < op.kw; ++kx) {
              const int ix = ox * op.sw - op.pad_left + kx * op.dw;
              if (ix < 0 || ix >= ti.w) continue;
              const int8_t* x = in + (static_cast<size_t>(iy) * ti.w + ix) * ic;
              const size_t tap = static_cast<size_t>(ky * op.kw + kx);
              if (dw) {
                acc = wrapping_add(acc, static_cast<int16_t>(static_cast<int16_t>(x[c / op.depth_multiplier] - zp) *
                                                              wt[tap * oc + c]));
              } else {
                const int8_t* w = wt + tap * ic * oc + c;
                for (int i = 0; i < ic; ++i)
                  acc = wrapping_add(
                      acc, static_cast<int16_t>(static_cast<int16_t>(x[i] - zp) * w[static_cast<size_t>(i) * oc]));
              }
            }
          }
        }
        out[(static_cast<size_t>(oy) * to.w + ox) * oc + c] =
            requantize_output(acc, op.requant[c], to.zero_point, op.act_min, op.act_max);
      }
    }
  }
}

void Executor::conv_block(const Op& op, size_t layer, int y0, int x0, int c0, int bh, int bw, int bc,
                          const BlockFault* f) {
  const Tensor& ti = net_.tensors[op.inputs[0]];
  const Tensor& to = net_.tensors[op.output];
  const bool fc = op.type == OpType::FullyConnected;
  const bool dw = op.type == OpType::DepthwiseConv2d;
  const int ih = fc ? 1 : ti.h, iw = fc ? 1 : ti.w, ic = fc ? static_cast<int>(ti.size()) : ti.c;
  const int oc = to.c;
  const int8_t* in = f && f->kind == BlockFault::kAltInput ? f->alt : arena_.data() + ti.offset;
  const int8_t* wt = f && f->kind == BlockFault::kAltWeights ? f->alt : weights_[layer].data();
  const int32_t zp = ti.zero_point;
  int32_t* acc = acc_.data();
  for (int p = 0; p < bh * bw; ++p)
    for (int k = 0; k < bc; ++k) acc[p * bc + k] = op.bias[c0 + k];
  const int depth = plan_.settings.arch.dot_depth;
  if (!dw) {
    // The MAC array takes `depth` input channels per output per cycle: the block's
    // accumulators are filled slice by slice, each slice over the whole kernel window.
    Window w{in, wt + c0, 0, 0, ih, iw, ic, op.kh, op.kw, op.dh, op.dw, oc, 0, 0, zp};
    for (w.s0 = 0; w.s0 < ic; w.s0 += depth) {
      w.s1 = std::min(ic, w.s0 + depth);
      for (int py = 0; py < bh; ++py) {
        w.iy0 = (y0 + py) * op.sh - op.pad_top;
        for (int px = 0; px < bw; ++px) {
          w.ix0 = (x0 + px) * op.sw - op.pad_left;
          int32_t* a = acc + (py * bw + px) * bc;
          switch (bc) {
            case 4: mac_pixel<4>(a, bc, w); break;
            case 8: mac_pixel<8>(a, bc, w); break;
            case 16: mac_pixel<16>(a, bc, w); break;
            case 32: mac_pixel<32>(a, bc, w); break;
            default: mac_pixel<0>(a, bc, w);
          }
        }
      }
    }
    return;
  }
  // Depthwise: each output channel reads its own input channel; kernel taps outer.
  const int dm = op.depth_multiplier;
  for (int ky = 0; ky < op.kh; ++ky) {
    for (int kx = 0; kx < op.kw; ++kx) {
      const int8_t* wrow = wt + static_cast<size_t>(ky * op.kw + kx) * oc + c0;
      for (int py = 0; py < bh; ++py) {
        const int iy = (y0 + py) * op.sh - op.pad_top + ky * op.dh;
        if (iy < 0 || iy >= ih) continue;
        for (int px = 0; px < bw; ++px) {
          const int ix = (x0 + px) * op.sw - op.pad_left + kx * op.dw;
          if (ix < 0 || ix >= iw) continue;
          const int8_t* x = in + (static_cast<size_t>(iy) * iw + ix) * ic;
          int32_t* a = acc + (py * bw + px) * bc;
          if (dm == 1) {
            for (int k = 0; k < bc; ++k) a[k] = wrapping_add(a[k], static_cast<int16_t>((x[c0 + k] - zp) * wrow[k]));
          } else {
            for (int k = 0; k < bc; ++k) a[k] = wrapping_add(a[k], static_cast<int16_t>((x[(c0 + k) / dm] - zp) * wrow[k]));
          }
        }
      }
    }
  }
}

void Executor::conv_block_fast(const Op& op, size_t layer, int y0, int x0, int c0, int bh, int bw, int bc) {
  const Tensor& ti = net_.tensors[static_cast<size_t>(op.inputs[0])];
  const Tensor& to = net_.tensors[static_cast<size_t>(op.output)];
  int32_t* acc = acc_.data();
  for (int p = 0; p < bh * bw; ++p)
    for (int k = 0; k < bc; ++k) acc[p * bc + k] = op.bias[static_cast<size_t>(c0 + k)];
  const int16_t* x = wide_input_.data();
  const int16_t* w = wide_weights_[layer].data();
  if (op.type == OpType::FullyConnected) {
    const int row = static_cast<int>(kernels::padded(ti.size()));
    kernels::dot_rows(x, w + static_cast<size_t>(c0) * row, static_cast<size_t>(row), bc, row, acc);
    return;
  }
  const size_t taps = static_cast<size_t>(op.kh) * op.kw;
  if (op.type == OpType::DepthwiseConv2d) {
    // Per pixel and kernel tap, the block's channels multiply their own inputs.
    const kernels::Depthwise d{x, w, to.c, window_of(op, ti)};
    kernels::depthwise_block(d, y0, x0, bh, bw, c0, bc, acc);
    return;
  }
  // Conv: per pixel and kernel tap, the input row against the block's channels' weights.
  const size_t row = kernels::padded(static_cast<size_t>(ti.c));
  const size_t stride = taps * row;
  kernels::for_each_tap(window_of(op, ti), y0, x0, bh, bw, [&](int p, size_t pixel, size_t tap) {
    kernels::dot_rows(x + pixel * row, w + static_cast<size_t>(c0) * stride + tap * row, stride, bc,
                      static_cast<int>(row), acc + p * bc);
  });
}

void Executor::output_unit(const Op& op, int y0, int x0, int c0, int bh, int bw, int bc) {
  const Tensor& to = net_.tensors[static_cast<size_t>(op.output)];
  int8_t* out = arena_.data() + to.offset;
  const size_t layer = static_cast<size_t>(&op - net_.ops.data());
  const int32_t* m = multipliers_[layer].data() + c0;
  const int32_t* s = shifts_[layer].data() + c0;
  for (int py = 0; py < bh; ++py) {
    for (int px = 0; px < bw; ++px) {
      int8_t* o = out + (static_cast<size_t>(y0 + py) * to.w + (x0 + px)) * to.c + c0;
      kernels::requantize(acc_.data() + (py * bw + px) * bc, m, s, bc, to.zero_point, op.act_min, op.act_max, o);
    }
  }
}

void Executor::pool_block(const Op& op, int y0, int x0, int c0, int bh, int bw, int bc, const BlockFault* f) {
  const Tensor& ti = net_.tensors[op.inputs[0]];
  const Tensor& to = net_.tensors[op.output];
  const bool max = op.type == OpType::MaxPool;
  int32_t* acc = acc_.data();
  std::fill(acc, acc + bh * bw * bc, max ? -128 : 0);
  const int8_t* in = f && f->kind == BlockFault::kAltInput ? f->alt : arena_.data() + ti.offset;
  // Kernel taps outer, as the MAC array steps through the window; the accumulator keeps
  // the running maximum or sum.
  for (int ky = 0; ky < op.kh; ++ky) {
    for (int kx = 0; kx < op.kw; ++kx) {
      for (int py = 0; py < bh; ++py) {
        const int iy = (y0 + py) * op.sh - op.pad_top + ky;
        if (iy < 0 || iy >= ti.h) continue;
        for (int px = 0; px < bw; ++px) {
          const int ix = (x0 + px) * op.sw - op.pad_left + kx;
          if (ix < 0 || ix >= ti.w) continue;
          const int8_t* x = in + (static_cast<size_t>(iy) * ti.w + ix) * ti.c + c0;
          int32_t* a = acc + (py * bw + px) * bc;
          for (int k = 0; k < bc; ++k) a[k] = max ? std::max<int32_t>(a[k], x[k]) : a[k] + x[k];
        }
      }
    }
  }
  fault_accumulators(f);
  int8_t* out = arena_.data() + to.offset;
  for (int py = 0; py < bh; ++py) {
    const int oy = (y0 + py) * op.sh - op.pad_top;
    const int rows = std::min(ti.h, oy + op.kh) - std::max(0, oy);
    for (int px = 0; px < bw; ++px) {
      const int ox = (x0 + px) * op.sw - op.pad_left;
      const int count = rows * (std::min(ti.w, ox + op.kw) - std::max(0, ox));
      int8_t* o = out + (static_cast<size_t>(y0 + py) * to.w + (x0 + px)) * to.c + c0;
      const int32_t* a = acc + (py * bw + px) * bc;
      for (int k = 0; k < bc; ++k)
        o[k] = clamp_i8(max ? a[k] : rounded_average(a[k], count), op.act_min, op.act_max);
    }
  }
}

namespace {

/// Element strides of a 4-D view.
std::array<size_t, 4> strides_of(const std::array<int, 4>& d) {
  return {static_cast<size_t>(d[1]) * d[2] * d[3], static_cast<size_t>(d[2]) * d[3], static_cast<size_t>(d[3]), 1};
}

bool identity(Requant r) {
  return r.multiplier == (1 << 30) && r.shift == 1;  // quantize_multiplier(1.0): x unchanged
}

}  // namespace

void Executor::other_layer(size_t i) {
  const Op& op = net_.ops[i];
  const Tensor& ti = net_.tensors[static_cast<size_t>(op.inputs[0])];
  const Tensor& to = net_.tensors[static_cast<size_t>(op.output)];
  const int8_t* in = arena_.data() + ti.offset;
  int8_t* out = arena_.data() + to.offset;
  switch (op.type) {
    case OpType::Reshape: std::memmove(out, in, ti.size()); return;
    case OpType::Add:
    case OpType::Sub:
    case OpType::Mul: binary_layer(op); return;
    case OpType::Concat: concat_layer(op); return;
    case OpType::Softmax: {
      // Row by row: the maximum, the exps from the layer's table of differences, their sum
      // and reciprocal, then each output.
      const auto& exps = exps_[i];
      const int c = ti.c;
      for (size_t r0 = 0; r0 < to.size(); r0 += static_cast<size_t>(c)) {
        const int8_t mx = *std::max_element(in + r0, in + r0 + c);
        int32_t sum = 0;
        for (int k = 0; k < c; ++k) sum += softmax_accumulate(exps[static_cast<size_t>(mx - in[r0 + k])]);
        const SoftmaxScale s = softmax_scale(sum);
        for (int k = 0; k < c; ++k) out[r0 + k] = softmax_output(exps[static_cast<size_t>(mx - in[r0 + k])], s);
      }
      return;
    }
    case OpType::Pad: {
      // The border first, then the input's pixels (or whole rows) into the middle.
      std::memset(out, op.pad_value, to.size());
      const size_t row = static_cast<size_t>(ti.w) * ti.c;
      for (int y = 0; y < ti.h; ++y) {
        int8_t* o = out + ((static_cast<size_t>(y + op.pad_before[1]) * to.w + op.pad_before[2]) * to.c) + op.pad_before[3];
        const int8_t* s = in + static_cast<size_t>(y) * row;
        if (op.pad_before[3] == 0 && op.pad_after[3] == 0) {
          std::memcpy(o, s, row);
        } else {
          for (int x = 0; x < ti.w; ++x) std::memcpy(o + static_cast<size_t>(x) * to.c, s + static_cast<size_t>(x) * ti.c, static_cast<size_t>(ti.c));
        }
      }
      return;
    }
    case OpType::Mean: {
      // Input-major: each input value adds into its output's sum (reduced axes have an
      // output stride of 0), then each sum becomes a mean.
      const auto d = ti.dims();
      std::array<int, 4> kept = d;
      int32_t count = 1;
      for (size_t k = 0; k < 4; ++k)
        if (op.reduce[k]) {
          kept[k] = 1;
          count *= d[k];
        }
      std::array<size_t, 4> os = strides_of(kept);
      for (size_t k = 0; k < 4; ++k)
        if (op.reduce[k]) os[k] = 0;
      sums_.assign(to.size(), 0);
      const int8_t* p = in;
      for (int y = 0; y < d[1]; ++y)
        for (int x = 0; x < d[2]; ++x) {
          int32_t* srow = sums_.data() + y * os[1] + x * os[2];
          if (os[3]) {
            for (int c = 0; c < d[3]; ++c) srow[c] += *p++;
          } else {
            int32_t acc = 0;
            for (int c = 0; c < d[3]; ++c) acc += *p++;
            *srow += acc;
          }
        }
      for (size_t k = 0; k < to.size(); ++k) {
        const int32_t v = op.mean_plain
                              ? sums_[k] / count
                              : multiply_by_quantized_multiplier(sums_[k] - ti.zero_point * count, op.rescale) + to.zero_point;
        out[k] = clamp_i8(v, -128, 127);
      }
      return;
    }
    case OpType::Transpose: {
      const auto d = ti.dims();
      const auto is = strides_of(d);
      std::array<int, 4> od{};
      std::array<size_t, 4> st{};
      for (size_t k = 0; k < 4; ++k) {
        od[k] = d[static_cast<size_t>(op.perm[k])];
        st[k] = is[static_cast<size_t>(op.perm[k])];
      }
      int8_t* o = out;
      for (int a = 0; a < od[0]; ++a)
        for (int b = 0; b < od[1]; ++b)
          for (int c = 0; c < od[2]; ++c) {
            const int8_t* s = in + a * st[0] + b * st[1] + c * st[2];
            for (int e = 0; e < od[3]; ++e) *o++ = s[e * st[3]];
          }
      return;
    }
    case OpType::StridedSlice: {
      const auto is = strides_of(ti.dims());
      const auto& n = op.slice_count;
      int8_t* o = out;
      for (int a = 0; a < n[0]; ++a)
        for (int b = 0; b < n[1]; ++b)
          for (int c = 0; c < n[2]; ++c) {
            const int8_t* s = in + static_cast<size_t>(op.begin[0] + op.step[0] * a) * is[0] +
                              static_cast<size_t>(op.begin[1] + op.step[1] * b) * is[1] +
                              static_cast<size_t>(op.begin[2] + op.step[2] * c) * is[2] + op.begin[3];
            if (op.step[3] == 1) {
              std::memcpy(o, s, static_cast<size_t>(n[3]));
              o += n[3];
            } else {
              for (int e = 0; e < n[3]; ++e) *o++ = s[static_cast<ptrdiff_t>(op.step[3]) * e];
            }
          }
      return;
    }
    case OpType::ResizeNearest: {
      const size_t c = static_cast<size_t>(to.c);
      for (int y = 0; y < to.h; ++y) {
        const int iy = nearest(y, ti.h, to.h, op.align_corners, op.half_pixel_centers);
        for (int x = 0; x < to.w; ++x) {
          const int ix = nearest(x, ti.w, to.w, op.align_corners, op.half_pixel_centers);
          std::memcpy(out + (static_cast<size_t>(y) * to.w + x) * c, in + (static_cast<size_t>(iy) * ti.w + ix) * c, c);
        }
      }
      return;
    }
    case OpType::ResizeBilinear: {
      const size_t c = static_cast<size_t>(to.c);
      for (int y = 0; y < to.h; ++y) {
        const Lerp ly = lerp(y, ti.h, to.h, op.align_corners, op.half_pixel_centers);
        const int8_t* r0 = in + static_cast<size_t>(ly.lo) * ti.w * c;
        const int8_t* r1 = in + static_cast<size_t>(ly.hi) * ti.w * c;
        for (int x = 0; x < to.w; ++x) {
          const Lerp lx = lerp(x, ti.w, to.w, op.align_corners, op.half_pixel_centers);
          int8_t* o = out + (static_cast<size_t>(y) * to.w + x) * c;
          const size_t a = static_cast<size_t>(lx.lo) * c, b = static_cast<size_t>(lx.hi) * c;
          for (size_t k = 0; k < c; ++k) o[k] = bilinear(r0[a + k], r1[a + k], r0[b + k], r1[b + k], ly, lx);
        }
      }
      return;
    }
    default: {
      // Logistic, tanh, hard swish, leaky relu, relu family, quantize: the layer's table.
      const auto& table = tables_[i];
      for (size_t k = 0; k < to.size(); ++k) out[k] = table[static_cast<uint8_t>(in[k])];
      return;
    }
  }
}

void Executor::binary_layer(const Op& op) {
  const Tensor& ta = net_.tensors[static_cast<size_t>(op.inputs[0])];
  const Tensor& tb = net_.tensors[static_cast<size_t>(op.inputs[1])];
  const Tensor& to = net_.tensors[static_cast<size_t>(op.output)];
  const int8_t* a = arena_.data() + ta.offset;
  const int8_t* b = arena_.data() + tb.offset;
  int8_t* out = arena_.data() + to.offset;
  auto element = [&](int8_t x, int8_t y) {
    return clamp_i8(binary_element(x - ta.zero_point, y - tb.zero_point, op) + to.zero_point, op.act_min, op.act_max);
  };
  if (ta.dims() == to.dims() && tb.dims() == to.dims()) {
    for (size_t i = 0; i < to.size(); ++i) out[i] = element(a[i], b[i]);
    return;
  }
  // Broadcasting: pixel by pixel, an input of one pixel (or one channel) repeated.
  for (int y = 0; y < to.h; ++y)
    for (int x = 0; x < to.w; ++x) {
      const int8_t* pa = a + ((ta.h == 1 ? 0 : static_cast<size_t>(y)) * ta.w + (ta.w == 1 ? 0 : x)) * ta.c;
      const int8_t* pb = b + ((tb.h == 1 ? 0 : static_cast<size_t>(y)) * tb.w + (tb.w == 1 ? 0 : x)) * tb.c;
      int8_t* o = out + (static_cast<size_t>(y) * to.w + x) * to.c;
      for (int c = 0; c < to.c; ++c) o[c] = element(pa[ta.c == 1 ? 0 : c], pb[tb.c == 1 ? 0 : c]);
    }
}

void Executor::concat_layer(const Op& op) {
  // Input by input, each written as runs of (its extent along the axis) x (the inner
  // axes) into the output: a strided DMA; rescaled where the quantization differs.
  const Tensor& to = net_.tensors[static_cast<size_t>(op.output)];
  int8_t* out = arena_.data() + to.offset;
  const auto od = to.dims();
  const auto a = static_cast<size_t>(op.axis);
  size_t outer = 1, inner = 1;
  for (size_t k = 0; k < a; ++k) outer *= static_cast<size_t>(od[k]);
  for (size_t k = a + 1; k < 4; ++k) inner *= static_cast<size_t>(od[k]);
  const size_t out_run = static_cast<size_t>(od[a]) * inner;
  size_t base = 0;
  for (size_t k = 0; k < op.inputs.size(); ++k) {
    const Tensor& ti = net_.tensors[static_cast<size_t>(op.inputs[k])];
    const int8_t* src = arena_.data() + ti.offset;
    const size_t run = static_cast<size_t>(ti.dims()[a]) * inner;
    const Requant r = op.in_requant[k];
    const bool copy = identity(r) && ti.zero_point == to.zero_point;
    for (size_t o = 0; o < outer; ++o) {
      const int8_t* s = src + o * run;
      int8_t* d = out + o * out_run + base;
      if (copy) {
        std::memcpy(d, s, run);
      } else {
        for (size_t e = 0; e < run; ++e)
          d[e] = clamp_i8(multiply_by_quantized_multiplier(s[e] - ti.zero_point, r) + to.zero_point, -128, 127);
      }
    }
    base += run;
  }
}

}  // namespace edgesim::npu
