#include "models/npu/reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "models/npu/activations.hpp"
#include "models/npu/quant.hpp"

namespace edgesim::npu {

namespace {

/// A tensor's values by 4-D coordinate (batch 1: n is always 0).
struct View {
  const Tensor& t;
  int8_t* data;
  int8_t& at(int y, int x, int c) const { return data[(static_cast<size_t>(y) * t.w + x) * t.c + c]; }
  int8_t& at4(const std::array<int, 4>& i) const { return at(i[1], i[2], i[3]); }
};

View view(const Network& net, int t, int8_t* arena) {
  const Tensor& tensor = net.tensors[static_cast<size_t>(t)];
  return {tensor, arena + tensor.offset};
}

/// Calls f(coordinate) for every element of 4-D dims `d` in row-major order.
template <class F>
void for_each(const std::array<int, 4>& d, F&& f) {
  std::array<int, 4> i{};
  for (i[0] = 0; i[0] < d[0]; ++i[0])
    for (i[1] = 0; i[1] < d[1]; ++i[1])
      for (i[2] = 0; i[2] < d[2]; ++i[2])
        for (i[3] = 0; i[3] < d[3]; ++i[3]) f(i);
}

void conv(const Network& net, const Op& op, int8_t* arena, bool depthwise) {
  const View in = view(net, op.inputs[0], arena), out = view(net, op.output, arena);
  const Tensor &ti = in.t, &to = out.t;
  for (int oy = 0; oy < to.h; ++oy) {
    for (int ox = 0; ox < to.w; ++ox) {
      for (int oc = 0; oc < to.c; ++oc) {
        int32_t acc = op.bias[static_cast<size_t>(oc)];
        for (int ky = 0; ky < op.kh; ++ky) {
          for (int kx = 0; kx < op.kw; ++kx) {
            const int iy = oy * op.sh - op.pad_top + ky * op.dh, ix = ox * op.sw - op.pad_left + kx * op.dw;
            if (iy < 0 || iy >= ti.h || ix < 0 || ix >= ti.w) continue;  // zero padding (real 0)
            if (depthwise) {
              const int ic = oc / op.depth_multiplier;
              const int32_t w = op.weights[(static_cast<size_t>(ky) * op.kw + kx) * to.c + oc];
              acc = wrapping_add(acc, (in.at(iy, ix, ic) - ti.zero_point) * w);
            } else {
              for (int ic = 0; ic < ti.c; ++ic) {
                const int32_t w = op.weights[((static_cast<size_t>(oc) * op.kh + ky) * op.kw + kx) * ti.c + ic];
                acc = wrapping_add(acc, (in.at(iy, ix, ic) - ti.zero_point) * w);
              }
            }
          }
        }
        const int32_t v = multiply_by_quantized_multiplier(acc, op.requant[static_cast<size_t>(oc)]) + to.zero_point;
        out.at(oy, ox, oc) = clamp_i8(v, op.act_min, op.act_max);
      }
    }
  }
}

void fully_connected(const Network& net, const Op& op, int8_t* arena) {
  const Tensor& ti = net.tensors[static_cast<size_t>(op.inputs[0])];
  const Tensor& to = net.tensors[static_cast<size_t>(op.output)];
  const int8_t* in = arena + ti.offset;
  int8_t* out = arena + to.offset;
  const size_t n = ti.size();
  for (int oc = 0; oc < to.c; ++oc) {
    int32_t acc = op.bias[static_cast<size_t>(oc)];
    for (size_t i = 0; i < n; ++i) acc = wrapping_add(acc, (in[i] - ti.zero_point) * int32_t{op.weights[oc * n + i]});
    out[oc] = clamp_i8(multiply_by_quantized_multiplier(acc, op.requant[static_cast<size_t>(oc)]) + to.zero_point,
                       op.act_min, op.act_max);
  }
}

void pool(const Network& net, const Op& op, int8_t* arena) {
  const View in = view(net, op.inputs[0], arena), out = view(net, op.output, arena);
  const Tensor &ti = in.t, &to = out.t;
  for (int oy = 0; oy < to.h; ++oy) {
    for (int ox = 0; ox < to.w; ++ox) {
      for (int c = 0; c < to.c; ++c) {
        int32_t sum = 0, count = 0, mx = -128;
        for (int ky = 0; ky < op.kh; ++ky) {
          for (int kx = 0; kx < op.kw; ++kx) {
            const int iy = oy * op.sh - op.pad_top + ky, ix = ox * op.sw - op.pad_left + kx;
            if (iy < 0 || iy >= ti.h || ix < 0 || ix >= ti.w) continue;  // padding is not counted
            const int32_t v = in.at(iy, ix, c);
            sum += v;
            ++count;
            mx = std::max(mx, v);
          }
        }
        const int32_t v = op.type == OpType::MaxPool ? mx : rounded_average(sum, count);
        out.at(oy, ox, c) = clamp_i8(v, op.act_min, op.act_max);
      }
    }
  }
}

/// Add, sub, mul with TFLite's broadcasting: an input dimension of 1 repeats.
void binary(const Network& net, const Op& op, int8_t* arena) {
  const View a = view(net, op.inputs[0], arena), b = view(net, op.inputs[1], arena), out = view(net, op.output, arena);
  for_each(out.t.dims(), [&](const std::array<int, 4>& i) {
    auto pick = [&](const View& v) {
      return v.at(v.t.h == 1 ? 0 : i[1], v.t.w == 1 ? 0 : i[2], v.t.c == 1 ? 0 : i[3]);
    };
    const int32_t x = pick(a) - a.t.zero_point, y = pick(b) - b.t.zero_point;
    out.at4(i) = clamp_i8(binary_element(x, y, op) + out.t.zero_point, op.act_min, op.act_max);
  });
}

void concat(const Network& net, const Op& op, int8_t* arena) {
  const View out = view(net, op.output, arena);
  const auto a = static_cast<size_t>(op.axis);
  for_each(out.t.dims(), [&](const std::array<int, 4>& i) {
    std::array<int, 4> j = i;
    for (size_t k = 0; k < op.inputs.size(); ++k) {
      const View in = view(net, op.inputs[k], arena);
      const int along = in.t.dims()[a];
      if (j[a] < along) {
        const int32_t v = multiply_by_quantized_multiplier(in.at4(j) - in.t.zero_point, op.in_requant[k]);
        out.at4(i) = clamp_i8(v + out.t.zero_point, -128, 127);
        return;
      }
      j[a] -= along;
    }
  });
}

void softmax(const Network& net, const Op& op, int8_t* arena) {
  const Tensor& ti = net.tensors[static_cast<size_t>(op.inputs[0])];
  const Tensor& to = net.tensors[static_cast<size_t>(op.output)];
  const size_t rows = ti.size() / static_cast<size_t>(ti.c);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* in = arena + ti.offset + r * static_cast<size_t>(ti.c);
    int8_t* out = arena + to.offset + r * static_cast<size_t>(to.c);
    int32_t mx = -128;
    for (int c = 0; c < ti.c; ++c) mx = std::max<int32_t>(mx, in[c]);
    int32_t sum = 0;
    for (int c = 0; c < ti.c; ++c) sum += softmax_accumulate(softmax_exp(op, in[c] - mx));
    const SoftmaxScale s = softmax_scale(sum);
    for (int c = 0; c < ti.c; ++c) out[c] = softmax_output(softmax_exp(op, in[c] - mx), s);
  }
}

void pad(const Network& net, const Op& op, int8_t* arena) {
  const View in = view(net, op.inputs[0], arena), out = view(net, op.output, arena);
  const auto d = in.t.dims();
  for_each(out.t.dims(), [&](const std::array<int, 4>& i) {
    std::array<int, 4> j{};
    bool inside = true;
    for (size_t k = 0; k < 4; ++k) {
      j[k] = i[k] - op.pad_before[k];
      inside = inside && j[k] >= 0 && j[k] < d[k];
    }
    out.at4(i) = inside ? in.at4(j) : static_cast<int8_t>(op.pad_value);
  });
}

void mean(const Network& net, const Op& op, int8_t* arena) {
  const View in = view(net, op.inputs[0], arena);
  const Tensor& to = net.tensors[static_cast<size_t>(op.output)];
  int8_t* out = arena + to.offset;
  auto kept = in.t.dims(), reduced = in.t.dims();
  int32_t count = 1;
  for (size_t k = 0; k < 4; ++k) {
    if (op.reduce[k]) {
      kept[k] = 1;
      count *= reduced[k];
    } else {
      reduced[k] = 1;
    }
  }
  size_t o = 0;  // output elements in row-major order of the kept axes
  for_each(kept, [&](const std::array<int, 4>& i) {
    int32_t sum = 0;
    for_each(reduced, [&](const std::array<int, 4>& r) {
      std::array<int, 4> j{};
      for (size_t k = 0; k < 4; ++k) j[k] = op.reduce[k] ? r[k] : i[k];
      sum += in.at4(j);
    });
    int32_t v;
    if (op.mean_plain) {
      v = sum / count;  // C++ division, truncating as tflite-micro's reference Mean
    } else {
      v = multiply_by_quantized_multiplier(sum - in.t.zero_point * count, op.rescale) + to.zero_point;
    }
    out[o++] = clamp_i8(v, -128, 127);
  });
}

void transpose(const Network& net, const Op& op, int8_t* arena) {
  const View in = view(net, op.inputs[0], arena), out = view(net, op.output, arena);
  std::array<int, 4> od{};
  const auto id = in.t.dims();
  for (size_t k = 0; k < 4; ++k) od[k] = id[static_cast<size_t>(op.perm[k])];
  // The output's 4-D view can differ from od (a different rank as written): walk od and
  // write elements in order.
  int8_t* o = out.data;
  for_each(od, [&](const std::array<int, 4>& i) {
    std::array<int, 4> j{};
    for (size_t k = 0; k < 4; ++k) j[static_cast<size_t>(op.perm[k])] = i[k];
    *o++ = in.at4(j);
  });
}

void strided_slice(const Network& net, const Op& op, int8_t* arena) {
  const View in = view(net, op.inputs[0], arena);
  int8_t* o = arena + net.tensors[static_cast<size_t>(op.output)].offset;
  for_each(op.slice_count, [&](const std::array<int, 4>& i) {
    std::array<int, 4> j{};
    for (size_t k = 0; k < 4; ++k) j[k] = op.begin[k] + op.step[k] * i[k];
    *o++ = in.at4(j);
  });
}

void resize_nearest(const Network& net, const Op& op, int8_t* arena) {
  const View in = view(net, op.inputs[0], arena), out = view(net, op.output, arena);
  for_each(out.t.dims(), [&](const std::array<int, 4>& i) {
    const int y = nearest(i[1], in.t.h, out.t.h, op.align_corners, op.half_pixel_centers);
    const int x = nearest(i[2], in.t.w, out.t.w, op.align_corners, op.half_pixel_centers);
    out.at4(i) = in.at(y, x, i[3]);
  });
}

void resize_bilinear(const Network& net, const Op& op, int8_t* arena) {
  const View in = view(net, op.inputs[0], arena), out = view(net, op.output, arena);
  for_each(out.t.dims(), [&](const std::array<int, 4>& i) {
    const Lerp y = lerp(i[1], in.t.h, out.t.h, op.align_corners, op.half_pixel_centers);
    const Lerp x = lerp(i[2], in.t.w, out.t.w, op.align_corners, op.half_pixel_centers);
    const int c = i[3];
    out.at4(i) = bilinear(in.at(y.lo, x.lo, c), in.at(y.hi, x.lo, c), in.at(y.lo, x.hi, c), in.at(y.hi, x.hi, c), y, x);
  });
}

}  // namespace

void reference_op(const Network& net, const Op& op, int8_t* arena) {
  switch (op.type) {
    case OpType::Conv2d: conv(net, op, arena, false); break;
    case OpType::DepthwiseConv2d: conv(net, op, arena, true); break;
    case OpType::FullyConnected: fully_connected(net, op, arena); break;
    case OpType::AvgPool:
    case OpType::MaxPool: pool(net, op, arena); break;
    case OpType::Add:
    case OpType::Sub:
    case OpType::Mul: binary(net, op, arena); break;
    case OpType::Concat: concat(net, op, arena); break;
    case OpType::Reshape: {
      const Tensor& ti = net.tensors[static_cast<size_t>(op.inputs[0])];
      std::memcpy(arena + net.tensors[static_cast<size_t>(op.output)].offset, arena + ti.offset, ti.size());
      break;
    }
    case OpType::Softmax: softmax(net, op, arena); break;
    case OpType::Pad: pad(net, op, arena); break;
    case OpType::Mean: mean(net, op, arena); break;
    case OpType::Transpose: transpose(net, op, arena); break;
    case OpType::StridedSlice: strided_slice(net, op, arena); break;
    case OpType::ResizeNearest: resize_nearest(net, op, arena); break;
    case OpType::ResizeBilinear: resize_bilinear(net, op, arena); break;
    default: {  // the element-wise functions (table_op): logistic, tanh, relu, ...
      const View in = view(net, op.inputs[0], arena), out = view(net, op.output, arena);
      for (size_t i = 0; i < out.t.size(); ++i) out.data[i] = activation_element(op, in.data[i], in.t, out.t);
      break;
    }
  }
}

void load_constants(const Network& net, int8_t* arena) {
  for (const Tensor& t : net.tensors)
    if (t.constant()) std::memcpy(arena + t.offset, t.data.data(), t.size());
}

std::vector<int8_t> run_reference(const Network& net, const int8_t* input) {
  std::vector<int8_t> arena(net.arena_bytes, 0);
  load_constants(net, arena.data());
  const Tensor& ti = net.tensors[static_cast<size_t>(net.input)];
  std::memcpy(arena.data() + ti.offset, input, ti.size());
  for (const Op& op : net.ops) reference_op(net, op, arena.data());
  return arena;
}

}  // namespace edgesim::npu
