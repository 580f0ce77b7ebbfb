#pragma once
// The cost of one NPU operation: the OFM block the hardware computes at a time (chosen
// to fit the shared buffer), the cycles one block takes through the MAC array and the
// output unit, and the bytes the operation reads and writes. The rules are those of
// Arm's Vela compiler (ethosu/vela/architecture_allocator.py find_block_config,
// npu_performance.py: block cycles, element access, burst efficiency), read through its
// public mirror and written here from that reading; docs/npu.md lists them with their
// sources. Pure arithmetic: no memory model, no schedule.
#include <cstdint>

#include "models/npu/arch.hpp"

namespace edgesim::npu {

/// What the NPU is told to run (Vela's NpuBlockType).
enum class NpuKind : uint8_t { Conv, Depthwise, VectorProduct, Pooling, Elementwise, ReduceSum };

struct Shape3 {
  int h = 1, w = 1, c = 1;
  uint64_t elements() const { return static_cast<uint64_t>(h) * w * c; }
};

/// Which row of the output unit's cost table an operation uses (Vela's
/// output_perf_index): int32 elementwise (binary, unary), int32 multiply, multiply,
/// add/sub, max pooling, everything else.
enum class OutputKind : uint8_t { Int32Binary = 0, Int32Unary, MulInt32, Mul, AddSub = 5, MaxPool, Other };
/// The activation unit's row: a lookup table, a clamp (relu), none.
enum class ActivationKind : uint8_t { Lut = 0, Clamp, None };

/// One NPU operation (Vela's "pass"). Tensors are NHWC; `brick` tensors are stored in
/// 16-channel bricks (NHCWB16), which the NPU reads and writes a brick at a time.
struct NpuOp {
  NpuKind kind = NpuKind::Conv;
  Shape3 ifm, ifm2, ofm;  // ifm2 used only when has_ifm2
  bool has_ifm2 = false;
  bool ifm2_scalar = false;  // the second operand is one value (rank 0), held in a register
  bool ifm2_const = false;   // the second operand is a constant kept with the weights
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;  // kernel, stride, dilation
  int ifm_bits = 8, ifm2_bits = 8, ofm_bits = 8;
  bool ifm_brick = false, ifm2_brick = false, ofm_brick = false;
  OutputKind output = OutputKind::Other;
  ActivationKind activation = ActivationKind::None;
  bool bias = false;  // reads a bias and scale per output channel
  uint64_t macs = 0;  // useful multiply-accumulates (for utilisation)
  int area_h() const { return (kh - 1) * dh + 1; }
  int area_w() const { return (kw - 1) * dw + 1; }
};

/// What the cost formulas need to know of a memory: the cycles before the first byte and
/// the cycles per byte once streaming, and its burst length.
struct MemTiming {
  double latency = 0, cycles_per_byte = 0;
  double burst_bytes = 32;
};

/// The OFM block and the IFM block that feeds it, and the shared-buffer layout that
/// holds both (double-buffered).
struct BlockConfig {
  Shape3 ofm, ifm;
  bool part_kernel = false;  // convolution weights traversed part-kernel first
  int ifm_banks = 0, acc_banks = 0;
  bool valid = false;
};

/// Vela's block search: every OFM block of micro-block multiples up to 32 x 64 x 128
/// whose IFM and accumulator buffers fit the shared buffer (1 KiB banks, 2 kept for the
/// output unit, 2 for a lookup table on the larger configurations), ranked by the IFM and
/// weight bytes fetched per output element. `lut` reserves the table's banks.
BlockConfig find_block_config(const ArchConfig& a, const NpuOp& op, bool lut);
/// The same with the OFM block forced (device.npu.block_config); invalid when it does
/// not fit.
BlockConfig forced_block_config(const ArchConfig& a, const NpuOp& op, bool lut, Shape3 ofm_block);

/// Cycles of one OFM block in the MAC array (dpu) and in the output unit (output), each
/// at least a quarter of the block's command time (memory latency and transfer of its
/// IFM and OFM blocks plus both); blocks pipeline through the two units.
struct BlockCycles {
  double dpu = 0, output = 0;
  uint64_t blocks = 0;  // OFM blocks of the operation
  double per_block() const { return dpu > output ? dpu : output; }
  double fill() const { return dpu > output ? output : dpu; }
  /// The operation: every block at the slower unit's pace, plus the other unit once.
  uint64_t total() const { return static_cast<uint64_t>(per_block() * static_cast<double>(blocks) + fill()); }
};
/// `act` is the memory holding the IFM and OFM, `bias_latency` the latency of the memory
/// the bias and scale come from.
BlockCycles block_cycles(const ArchConfig& a, const NpuOp& op, const BlockConfig& b, const MemTiming& act,
                         double bias_latency);

/// Cycles of an elementwise operation: the output unit's rate per element, at least a
/// quarter of each block's command time.
uint64_t elementwise_cycles(const ArchConfig& a, const NpuOp& op, const BlockConfig& b, const MemTiming& act);

/// Bytes an operation moves, before and after burst efficiency (a transfer shorter than
/// the memory's burst still occupies a whole burst): IFM blocks re-read once per OFM
/// block (halo and input depth included), the second operand, the OFM once.
struct Traffic {
  uint64_t ifm = 0, ifm2 = 0, ofm = 0;            // bytes
  double ifm_bus = 0, ifm2_bus = 0, ofm_bus = 0;  // bytes of bus occupancy
};
/// `ifm2_mem` is the burst length of the memory the second operand lives in.
Traffic op_traffic(const ArchConfig& a, const NpuOp& op, const BlockConfig& b, double act_burst,
                   double ifm2_burst);

}  // namespace edgesim::npu
