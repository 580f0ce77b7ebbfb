#pragma once
// A compute engine turns an op's FLOPs into time and energy. The roofline's memory side
// is the weight stream, which the memory models time; here only the compute roof.
#include <cstdint>

#include "sim/core/dtype.hpp"

namespace edgesim::compute {

/// What decoding a stored weight into the compute datatype involves: nothing (a float
/// format), a scale (int8), unpacking with scale and zero point (int4), or a codebook
/// lookup (vector quantization).
enum class WeightDecode : uint8_t { none, int8, int4, vq };

class Engine {
 public:
  static constexpr const char* kKind = "compute";
  static constexpr const char* kKindDescription = "Compute engine (device.compute.model)";
  static constexpr const char* kConfigPath = "device.compute";

  virtual ~Engine() = default;
  virtual double op_time(double flops, Dtype dtype) const = 0;
  virtual double op_energy(double flops) const = 0;
  /// Op-sized weight buffers: 1 = load then compute; 2 = the next op loads while this computes.
  virtual unsigned weight_buffers() const = 0;
  /// Seconds to decode one stored weight of kind `k` into the compute datatype (unpack,
  /// scale, codebook lookup), added to the op's compute time; 0 where decoding is free.
  virtual double decode_time(WeightDecode /*k*/) const { return 0; }
};

/// Roofline: op_overhead + flops / (peak(dtype) x efficiency).
class Roofline final : public Engine {
 public:
  struct Settings {
    double peak_fp32 = 0, peak_fp16 = 0, peak_int8 = 0, efficiency = 1, op_overhead = 0;
    double energy_per_flop = 0;
    unsigned weight_buffers = 2;
    double decode_int8 = 0, decode_int4 = 0, decode_vq = 0;  // seconds per weight
  };
  explicit Roofline(const Settings& s) : s_(s) {}
  double op_time(double flops, Dtype dtype) const override;
  double op_energy(double flops) const override { return flops * s_.energy_per_flop; }
  unsigned weight_buffers() const override { return s_.weight_buffers; }
  double decode_time(WeightDecode k) const override;
  double peak(Dtype dtype) const;

 private:
  Settings s_;
};

}  // namespace edgesim::compute
