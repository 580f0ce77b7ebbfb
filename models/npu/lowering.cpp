#include "models/npu/lowering.hpp"

#include <algorithm>

namespace edgesim::npu {

namespace {

/// A tensor of the lowered graph: shape, element bits, storage.
struct Fm {
  Shape3 shape;
  int bits = 8;
  bool brick = true;
  bool constant = false;  // kept with the weights (a scalar of a softmax step)
};

Shape3 shape_of(const Tensor& t) {
  return {t.h, t.w, t.c};
}

bool same_shape(Shape3 a, Shape3 b) {
  return a.h == b.h && a.w == b.w && a.c == b.c;
}

/// Vela keeps an elementwise output linear when its depth is not a multiple of 16 and a
/// same-shaped, same-typed input is linear (so the output may overwrite it).
bool output_brick(const Fm& out, const Fm* a, const Fm* b) {
  if (out.shape.c % 16 == 0) return true;
  for (const Fm* in : {a, b}) {
    if (in && same_shape(in->shape, out.shape) && in->bits == out.bits && !in->brick) return false;
  }
  return true;
}

ActivationKind activation_of(const Op& op) {
  return op.activation == Activation::None ? ActivationKind::None : ActivationKind::Clamp;
}

NpuOp elementwise(const Fm& a, const Fm* b, const Fm& out, OutputKind kind) {
  NpuOp o;
  o.kind = NpuKind::Elementwise;
  o.ifm = a.shape;
  o.ifm_bits = a.bits;
  o.ifm_brick = a.brick;
  if (b) {
    o.has_ifm2 = true;
    o.ifm2 = b->shape;
    o.ifm2_bits = b->bits;
    o.ifm2_brick = b->brick;
    o.ifm2_const = b->constant;
  }
  o.ofm = out.shape;
  o.ofm_bits = out.bits;
  o.ofm_brick = out.brick;
  o.output = kind;
  return o;
}

/// An operation of `kind` reading `in` (as `shape`) and writing `out`.
NpuOp operation(NpuKind kind, const Fm& in, Shape3 shape, const Fm& out) {
  NpuOp o;
  o.kind = kind;
  o.ifm = shape;
  o.ifm_brick = in.brick;
  o.ofm = out.shape;
  o.ofm_brick = out.brick;
  return o;
}

/// A 1x1 pool that copies `in` (read as `shape`) into `out`: how Vela moves and requantizes
/// data through the output unit.
NpuOp copy(const Fm& in, Shape3 shape, const Fm& out) {
  NpuOp o = operation(NpuKind::Pooling, in, shape, out);
  o.macs = out.shape.elements();
  return o;
}

/// Vela's 8-bit softmax graph (softmax.py get_graph_8bit): 31 operations on the input
/// (H x W x C), its per-position reductions (H x W x 1) and int32 scalar constants.
void lower_softmax(const Fm& in, const Fm& out, std::vector<Pass>& passes) {
  const Shape3 full = in.shape, reduced{in.shape.h, in.shape.w, 1};
  const Fm konst{{1, 1, 1}, 32, false, true};
  auto tensor = [](Shape3 s, int bits, bool brick) { return Fm{s, bits, brick, false}; };
  auto step = [&](const Fm& a, const Fm* b, Shape3 shape, OutputKind kind, bool elementwise_rule = true) {
    Fm o = tensor(shape, 32, true);
    if (elementwise_rule) o.brick = output_brick(o, &a, b);
    passes.push_back({elementwise(a, b, o, kind), false});
    return o;
  };
  const auto i32 = OutputKind::Int32Binary;

  // Max over channels: a max pool of the input seen as (H*W) x C x 1 with a 1 x C kernel.
  NpuOp maxpool;
  maxpool.kind = NpuKind::Pooling;
  maxpool.ifm = {full.h * full.w, full.c, 1};
  maxpool.ifm_brick = in.brick;
  maxpool.ofm = {full.h * full.w, 1, 1};
  maxpool.kw = maxpool.sw = full.c;
  maxpool.output = OutputKind::MaxPool;
  maxpool.macs = full.elements();
  passes.push_back({maxpool, false});
  const Fm max = tensor(reduced, 8, true);

  // x - max, through the exp table: int32.
  Fm exp = tensor(full, 32, true);
  exp.brick = output_brick(exp, &in, &max);
  NpuOp sub = elementwise(in, &max, exp, OutputKind::AddSub);
  sub.activation = ActivationKind::Lut;
  passes.push_back({sub, true});

  const Fm rescaled = step(exp, &konst, full, i32);  // >> 12
  NpuOp reduce;
  reduce.kind = NpuKind::ReduceSum;
  reduce.ifm = rescaled.shape;
  reduce.ifm_bits = 32;
  reduce.ifm_brick = rescaled.brick;
  reduce.ofm = reduced;
  reduce.ofm_bits = 32;
  reduce.ofm_brick = true;
  reduce.macs = full.elements();
  passes.push_back({reduce, false});
  const Fm sum = tensor(reduced, 32, true);
  // Count leading zeros: a unary operation outside Vela's elementwise set (its output
  // stays in bricks).
  const Fm headroom1 = step(sum, nullptr, reduced, OutputKind::Int32Unary, false);
  const Fm right_shift = step(headroom1, &konst, reduced, i32);  // constant - clz (operands swapped)
  const Fm headroom = step(headroom1, &konst, reduced, i32);     // clz - 1
  const Fm shifted = step(sum, &headroom, reduced, i32);         // sum << headroom
  const Fm minus_one = step(shifted, &konst, reduced, i32);
  const Fm doubled = step(minus_one, &konst, reduced, i32);
  const Fm half_den = step(doubled, &konst, reduced, i32);  // + F0 one
  const Fm scaled = step(half_den, &konst, reduced, i32);   // x -32/17
  Fm x = step(scaled, &konst, reduced, i32);                // + 48/17
  for (int i = 0; i < 3; ++i) {                             // Newton-Raphson for 1 / denominator
    const Fm prod = step(x, &half_den, reduced, i32);
    const Fm one_minus = step(prod, &konst, reduced, i32);  // F2 one - prod (operands swapped)
    const Fm t = step(x, &one_minus, reduced, i32);
    const Fm four = step(t, &konst, reduced, i32);
    x = step(x, &four, reduced, i32);
  }
  const Fm factor = step(x, &konst, reduced, i32);
  const Fm scaled_exp = step(exp, &factor, full, i32);
  Fm o = out;
  passes.push_back({elementwise(scaled_exp, &right_shift, o, i32), false});
}

/// The OHWI weights of a conv-like op, from the network's layout.
void ohwi_of(const Network& net, const Op& op, LoweredLayer& L) {
  const Tensor& ti = net.tensors[op.inputs[0]];
  const Tensor& to = net.tensors[op.output];
  WeightLayout& l = L.layout;
  if (op.type == OpType::DepthwiseConv2d) {  // [KH][KW][OC] -> [OC][KH][KW][1]
    l = {to.c, op.kh, op.kw, 1};
    L.own.resize(op.weights.size());
    for (int o = 0; o < to.c; ++o)
      for (int k = 0; k < op.kh * op.kw; ++k)
        L.own[static_cast<size_t>(o) * op.kh * op.kw + k] = op.weights[static_cast<size_t>(k) * to.c + o];
    L.ohwi = L.own.data();
  } else {  // conv [OC][KH][KW][IC], fully connected [OC][IC]: OHWI already
    l = op.type == OpType::FullyConnected ? WeightLayout{to.c, 1, 1, static_cast<int>(ti.size())}
                                          : WeightLayout{to.c, op.kh, op.kw, ti.c};
    L.ohwi = op.weights.data();
  }
  L.ohwi_size = op.weights.size();
}

}  // namespace

std::vector<LoweredLayer> lower_network(const Network& net) {
  // Tensors that must stay linear (NHWC).
  std::vector<uint8_t> linear(net.tensors.size(), 0);
  linear[static_cast<size_t>(net.input)] = linear[static_cast<size_t>(net.output)] = 1;
  for (const Op& op : net.ops) {
    if (op.type == OpType::Reshape) {
      linear[static_cast<size_t>(op.inputs[0])] = linear[static_cast<size_t>(op.output)] = 1;
    } else if (op.type == OpType::FullyConnected) {
      const Tensor& ti = net.tensors[op.inputs[0]];
      if (ti.h != 1 || ti.w != 1) linear[static_cast<size_t>(op.inputs[0])] = 1;
    }
  }
  std::vector<Fm> fm(net.tensors.size());
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    const Tensor& x = net.tensors[t];
    // Constants (an elementwise op's operand) stay linear, with the weights.
    fm[t] = {shape_of(x), 8, !linear[t] && !x.constant(), x.constant()};
  }
  // Who reads each tensor, and which op writes it.
  std::vector<int> readers(net.tensors.size(), 0), producer(net.tensors.size(), -1);
  for (size_t i = 0; i < net.ops.size(); ++i) {
    for (int t : net.ops[i].inputs) ++readers[static_cast<size_t>(t)];
    producer[static_cast<size_t>(net.ops[i].output)] = static_cast<int>(i);
  }

  std::vector<LoweredLayer> out(net.ops.size());
  for (size_t i = 0; i < net.ops.size(); ++i) {
    const Op& op = net.ops[i];
    LoweredLayer& L = out[i];
    if (op.on_cpu) continue;  // the host CPU runs it (cpu_cost.hpp)
    const Fm& in = fm[static_cast<size_t>(op.inputs[0])];
    Fm& res = fm[static_cast<size_t>(op.output)];
    const Tensor& to = net.tensors[op.output];
    switch (op.type) {
      case OpType::Conv2d:
      case OpType::DepthwiseConv2d:
      case OpType::FullyConnected: {
        NpuOp o = operation(NpuKind::Conv, in, in.shape, res);
        o.kh = op.kh, o.kw = op.kw, o.sh = op.sh, o.sw = op.sw, o.dh = op.dh, o.dw = op.dw;
        o.bias = true;
        o.activation = activation_of(op);
        o.macs = op.macs;
        ohwi_of(net, op, L);
        // A dilated kernel is split into sub-kernels of 8 / dilation taps per axis.
        L.layout.sub_kernel_h = 8 / std::min(op.dh, 8);
        L.layout.sub_kernel_w = 8 / std::min(op.dw, 8);
        const bool one_channel = op.type == OpType::DepthwiseConv2d && in.shape.c == 1;
        if (op.type == OpType::FullyConnected ||
            (op.type == OpType::Conv2d && in.shape.h == 1 && in.shape.w == 1 && op.kh == 1 && op.kw == 1)) {
          o.kind = NpuKind::VectorProduct;
          o.ifm = {1, 1, static_cast<int>(net.tensors[op.inputs[0]].size())};
          o.ofm = {1, 1, to.c};
          o.kh = o.kw = o.sh = o.sw = 1;
          L.buffered = false;
        } else if (op.type == OpType::DepthwiseConv2d && !one_channel) {
          o.kind = NpuKind::Depthwise;
          L.layout.traversal = WeightTraversal::Depthwise;
        } else {
          o.kind = NpuKind::Conv;
        }
        if (o.kind == NpuKind::Conv) {
          // Stride-2 first layer of few channels: fold column pairs into channels.
          const int kw2 = (op.kw + 1) / 2;
          // Total SAME padding of a width (Vela needed_total_padding): folding must not change it.
          const auto pad = [](int in_w, int s, int k) {
            return std::max(((in_w + s - 1) / s - 1) * s + k - in_w, 0);
          };
          if (i == 0 && op.sw == 2 && o.ifm.c <= 4 && o.ifm.w % 2 == 0 && op.kw >= 2 &&
              pad(o.ifm.w, 2, op.kw) == pad(o.ifm.w / 2, 1, kw2)) {
            const WeightLayout w0 = L.layout;
            std::vector<int8_t> folded(
                static_cast<size_t>(w0.ofm_depth) * w0.kernel_h * kw2 * 2 * w0.ifm_depth, 0);
            for (int oc = 0; oc < w0.ofm_depth; ++oc)
              for (int y = 0; y < w0.kernel_h; ++y)
                for (int x = 0; x < w0.kernel_w; ++x)
                  for (int c = 0; c < w0.ifm_depth; ++c)
                    folded[((static_cast<size_t>(oc) * w0.kernel_h + y) * kw2 + x / 2) * 2 * w0.ifm_depth +
                           static_cast<size_t>((x % 2) * w0.ifm_depth + c)] =
                        L.ohwi[((static_cast<size_t>(oc) * w0.kernel_h + y) * w0.kernel_w + x) *
                                   w0.ifm_depth +
                               static_cast<size_t>(c)];
            L.own.swap(folded);
            L.ohwi = L.own.data();
            L.ohwi_size = L.own.size();
            L.layout.kernel_w = kw2;
            L.layout.ifm_depth = 2 * w0.ifm_depth;
            o.kw = kw2;
            o.sw = 1;
            o.ifm = {o.ifm.h, o.ifm.w / 2, 2 * o.ifm.c};
          }
          // Part-kernel first when it keeps more dot-product lanes busy (Vela's weight
          // compressor's rule; inputs of 8 channels or fewer always).
          const int k = o.kh * o.kw, c = o.ifm.c;
          const double depth_util = static_cast<double>(c) / ((c + 31) / 32 * 32);
          const double part_util =
              static_cast<double>(c) / ((c + 7) / 8 * 8) * (static_cast<double>(k) / ((k + 3) / 4 * 4));
          if (part_util >= depth_util || c <= 8) L.layout.traversal = WeightTraversal::PartKernelFirst;
        }
        L.passes.push_back({o, false});
        L.weighted = 0;
        L.block_layer = true;
        break;
      }
      case OpType::AvgPool:
      case OpType::MaxPool: {
        NpuOp o = operation(NpuKind::Pooling, in, in.shape, res);
        o.kh = op.kh, o.kw = op.kw, o.sh = op.sh, o.sw = op.sw;
        o.output = op.type == OpType::MaxPool ? OutputKind::MaxPool : OutputKind::Other;
        o.activation = activation_of(op);
        o.macs = op.macs;
        L.passes.push_back({o, false});
        L.block_layer = true;
        break;
      }
      case OpType::Add:
      case OpType::Sub:
      case OpType::Mul: {
        const Fm* a = &in;
        const Fm* b = &fm[static_cast<size_t>(op.inputs[1])];
        // The primary operand is a full tensor: a constant or broadcast one goes second.
        if ((a->constant || a->shape.elements() < res.shape.elements()) && !b->constant &&
            b->shape.elements() == res.shape.elements())
          std::swap(a, b);
        res.brick = !linear[static_cast<size_t>(op.output)] && output_brick(res, a, b);
        NpuOp o = elementwise(*a, b, res, op.type == OpType::Mul ? OutputKind::Mul : OutputKind::AddSub);
        // A rank-0 constant is held in a register (Vela's scalar operand).
        const Tensor& tb = net.tensors[static_cast<size_t>(op.inputs[a == &in ? 1 : 0])];
        o.ifm2_scalar = b->constant && tb.shape.empty();
        o.activation = activation_of(op);
        o.macs = op.macs;
        L.passes.push_back({o, false});
        break;
      }
      case OpType::Pad: {
        // Padding of height and width only, read by one convolution or pool alone, becomes
        // that op's own padding (Vela replace_pad_by_hw_pad): no operation. Otherwise the
        // input is copied into the output's interior and the border filled.
        const int reader = [&] {
          for (size_t k = i + 1; k < net.ops.size(); ++k)
            for (int t : net.ops[k].inputs)
              if (t == op.output) return static_cast<int>(k);
          return -1;
        }();
        const bool hw_only =
            op.pad_before[0] == 0 && op.pad_after[0] == 0 && op.pad_before[3] == 0 && op.pad_after[3] == 0;
        if (hw_only && reader >= 0 && readers[static_cast<size_t>(op.output)] == 1 &&
            !net.ops[static_cast<size_t>(reader)].on_cpu &&
            (block_type(net.ops[static_cast<size_t>(reader)].type) &&
             net.ops[static_cast<size_t>(reader)].type != OpType::FullyConnected))
          break;
        L.passes.push_back({copy(in, in.shape, res), false});
        const uint64_t border = res.shape.elements() - in.shape.elements();
        if (border > 0) {
          const Fm fill{{1, 1, static_cast<int>(border)}, 8, false, false};
          NpuOp o = elementwise(Fm{{1, 1, 1}, 8, false, false}, nullptr, fill, OutputKind::Other);
          o.ofm_brick = res.brick;
          L.passes.push_back({o, false});
        }
        break;
      }
      case OpType::Mean: {
        // An average over height and width is a depthwise convolution whose kernel covers
        // them (Vela convert_mean_to_depthwise_conv); an average over channels a
        // reduce-sum; both rescale through the output unit.
        NpuOp o = operation(NpuKind::ReduceSum, in, in.shape, res);
        o.bias = true;
        o.macs = op.macs;
        if (!op.reduce[3]) {
          o.kind = NpuKind::Depthwise;
          o.kh = op.reduce[1] ? in.shape.h : 1;
          o.kw = op.reduce[2] ? in.shape.w : 1;
          o.ofm = {op.reduce[1] ? 1 : in.shape.h, op.reduce[2] ? 1 : in.shape.w, in.shape.c};
        }
        L.passes.push_back({o, false});
        break;
      }
      case OpType::Logistic:
      case OpType::Tanh:
      case OpType::HardSwish:
      case OpType::LeakyRelu: {
        // int8 functions through a 256-entry lookup table on a copy (Vela convert_to_lut).
        NpuOp o = copy(in, in.shape, res);
        o.activation = ActivationKind::Lut;
        L.passes.push_back({o, true});
        break;
      }
      case OpType::Relu:
      case OpType::Relu6:
      case OpType::ReluN1To1: {
        // Fused into the op that writes its input, when that op takes a fused activation,
        // has none yet and is read by nothing else (Vela fuses it); otherwise a clamping copy.
        const int from = producer[static_cast<size_t>(op.inputs[0])];
        if (from >= 0 && !net.ops[static_cast<size_t>(from)].on_cpu &&
            fused_activation(net.ops[static_cast<size_t>(from)].type) &&
            net.ops[static_cast<size_t>(from)].activation == Activation::None &&
            readers[static_cast<size_t>(op.inputs[0])] == 1)
          break;
        NpuOp o = copy(in, in.shape, res);
        o.activation = ActivationKind::Clamp;
        L.passes.push_back({o, false});
        break;
      }
      case OpType::Quantize: L.passes.push_back({copy(in, in.shape, res), false}); break;
      case OpType::Transpose: {
        // A copy whose writes stride through the output: both sides linear.
        Fm a = in, b = res;
        a.brick = b.brick = false;
        L.passes.push_back({copy(a, in.shape, b), false});
        break;
      }
      case OpType::StridedSlice: {
        // A copy of the elements taken: the output's shape read from the input.
        L.passes.push_back({copy(in, res.shape, res), false});
        break;
      }
      case OpType::ResizeNearest:
      case OpType::ResizeBilinear: {
        // Upscaling through the IFM's resampling: every output element from one input
        // element (nearest), or a 2x2 average of the upscaled input (bilinear).
        NpuOp o = copy(in, res.shape, res);
        if (op.type == OpType::ResizeBilinear) o.kh = o.kw = 2;
        o.macs = op.macs;
        L.passes.push_back({o, false});
        break;
      }
      case OpType::Concat: {
        // One copy per input into its slice of the output.
        for (int t : op.inputs) {
          const Fm& part = fm[static_cast<size_t>(t)];
          NpuOp o = operation(NpuKind::Pooling, part, part.shape, res);
          o.ofm = part.shape;  // its slice of the output
          L.passes.push_back({o, false});
        }
        break;
      }
      case OpType::Softmax: lower_softmax(in, res, L.passes); break;
      case OpType::Reshape: break;
    }
  }
  return out;
}

}  // namespace edgesim::npu
