#include "models/compute/engine.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::compute {

double Roofline::peak(Dtype dtype) const {
  switch (dtype) {
    case Dtype::fp32: return s_.peak_fp32;
    case Dtype::fp16:
    case Dtype::bf16: return s_.peak_fp16;
    case Dtype::int8:
    case Dtype::int4: return s_.peak_int8;
  }
  return s_.peak_fp16;
}

double Roofline::op_time(double flops, Dtype dtype) const {
  return s_.op_overhead + flops / (peak(dtype) * s_.efficiency);
}

double Roofline::decode_time(WeightDecode k) const {
  switch (k) {
    case WeightDecode::int8: return s_.decode_int8;
    case WeightDecode::int4: return s_.decode_int4;
    case WeightDecode::vq: return s_.decode_vq;
    case WeightDecode::none: break;
  }
  return 0;
}

namespace {
using config::Quantity;
const config::ParamTable kParams = {{
    {"peak_fp32", Quantity::FlopRate, nullptr, "Peak fp32 rate", 1, 1e18},
    {"peak_fp16", Quantity::FlopRate, nullptr, "Peak fp16/bf16 rate", 1, 1e18},
    {"peak_int8", Quantity::FlopRate, nullptr, "Peak int8 rate (ops/s)", 1, 1e18},
    {"efficiency", Quantity::Real, 0.5, "Achieved / peak on decode (matrix-vector) kernels", 0.001, 1},
    {"op_overhead", Quantity::Time, "10 us", "Fixed cost per op (kernel launch, synchronisation)", 0, 1},
    {"energy_per_flop", Quantity::Energy, "1 pJ", "Energy per FLOP", 0, 1e-6},
    {"weight_buffers", Quantity::Integer, 2,
     "Op-sized weight buffers: 2 lets the next op's weights load while this op computes", 1, 64},
    {"decode_int8", Quantity::Time, "0 s",
     "Time per weight to decode an int8 weight (scale) beyond the FLOP roof; 0: folded into efficiency", 0,
     1e-6},
    {"decode_int4", Quantity::Time, "0 s",
     "Time per weight to decode an int4 weight (unpack, scale, zero point); 0: folded into efficiency", 0,
     1e-6},
    {"decode_vq", Quantity::Time, "0 s",
     "Time per weight to decode a vector-quantized weight (codebook lookup); 0: folded into efficiency", 0,
     1e-6},
}};
const Registration<Engine> kRegistration("roofline",
                                         "Peak FLOP/s per datatype x efficiency, plus a fixed cost per op",
                                         kParams, [](const config::Params& p) {
                                           Roofline::Settings s;
                                           s.peak_fp32 = p.number("peak_fp32");
                                           s.peak_fp16 = p.number("peak_fp16");
                                           s.peak_int8 = p.number("peak_int8");
                                           s.efficiency = p.number("efficiency");
                                           s.op_overhead = p.number("op_overhead");
                                           s.energy_per_flop = p.number("energy_per_flop");
                                           s.weight_buffers =
                                               static_cast<unsigned>(p.integer("weight_buffers"));
                                           s.decode_int8 = p.number("decode_int8");
                                           s.decode_int4 = p.number("decode_int4");
                                           s.decode_vq = p.number("decode_vq");
                                           return std::make_unique<Roofline>(s);
                                         });
}  // namespace

}  // namespace edgesim::compute
