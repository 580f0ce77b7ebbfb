#pragma once
// The NPU's functional execution, organised as the hardware runs a layer: OFM block by
// OFM block (the plan's block shapes), each block's int32 accumulators filled through
// the MAC array in input-channel slices of the dot-product depth, then requantized by the
// output unit (per-channel TFLite rounding) into the OFM. Bit-exact with the reference
// kernels (reference.hpp), which the tests check.
//
// Built for fault injection: every tensor lives at its own offset of one flat int8
// arena, so any layer can run again on its own from the stored intermediates
// (run_layer, run_from); weights are held as the decoder delivers them (flat int8,
// [KH][KW][IC][OC]); the accumulator block is one flat int32 array. Nothing is
// allocated after construction.
#include <array>
#include <cstdint>
#include <vector>

#include "models/npu/network.hpp"
#include "models/npu/timing.hpp"

namespace edgesim::npu {

/// A fault applied while one block layer runs (fault injection, models/fault): it acts on
/// the OFM blocks [first_block, last_block) of `layer`, in the plan's job order.
struct BlockFault {
  enum Kind {
    kNone,
    kAccXor,      // accumulator `acc_index` of the block ^= value, before the output unit
    kAccAdd,      // accumulator `acc_index` of the block += value (wrapping), likewise
    kAccForce,    // the bits `value` of accumulator `acc_index` forced to those of `force`
    kSkip,        // the blocks are not computed: their OFM keeps what the arena held
    kAltInput,    // the blocks read their IFM from `alt` (a whole IFM tensor)
    kAltWeights,  // the blocks read their weights from `alt` (the layer's decoded weights)
  };
  Kind kind = kNone;
  size_t layer = 0, first_block = 0, last_block = 0;
  size_t acc_index = 0;
  int32_t value = 0, force = 0;
  const int8_t* alt = nullptr;
};

/// One OFM block of a block layer: its origin and extent.
struct BlockBox {
  int y0 = 0, x0 = 0, c0 = 0, bh = 0, bw = 0, bc = 0;
};

class Executor {
 public:
  Executor(const Network& net, const Plan& plan);

  /// Quantized input values (the input tensor's size).
  void set_input(const int8_t* q);
  void run() { run_from(0); }
  void run_from(size_t layer);
  void run_layer(size_t layer);

  int8_t* arena() { return arena_.data(); }
  const int8_t* tensor(int t) const { return arena_.data() + net_.tensors[t].offset; }
  const int8_t* output() const { return tensor(net_.output); }
  /// Index of the largest output value (the predicted class).
  int argmax() const;

  /// The decoded weights of layer `layer` ([KH][KW][IC][OC], [KH][KW][OC] or [IC][OC]).
  const std::vector<int8_t>& weight_buffer(size_t layer) const { return weights_[layer]; }
  /// Writes `n` decoded weights of layer `layer` from index `first` (a fault, or its undo):
  /// the following runs compute with them.
  void set_weights(size_t layer, size_t first, const int8_t* values, size_t n);
  std::vector<int32_t>& accumulators() { return acc_; }

  /// Recomputes the outputs [y0, y1) x [x0, x1) x [c0, c1) of weighted layer `layer` one by
  /// one (the same arithmetic as run_layer, bit for bit): a fault that changes one weight or
  /// one input value re-executes only the outputs it reaches.
  void run_region(size_t layer, int y0, int y1, int x0, int x1, int c0, int c1);

  /// Applies `f` (nullptr: none) in the following runs; the caller keeps it alive.
  void set_fault(const BlockFault* f) { fault_ = f; }
  /// Whether layer `layer` runs OFM block by block (conv, depthwise, fully connected, pools).
  bool block_layer(size_t layer) const;
  /// Block `k` of block layer `layer`, in the plan's job order.
  BlockBox block_box(size_t layer, size_t k) const;
  /// The operands one MAC lane takes for output (oy, ox, oc), kernel tap (ky, kx) and input
  /// channel ic (ignored for depthwise) of weighted layer `layer`: the IFM value and the
  /// weight; false for a tap in the padding (no MAC is issued).
  bool mac_operands(size_t layer, int oy, int ox, int oc, int ky, int kx, int ic, int8_t& x, int8_t& w) const;

 private:
  /// A block layer's OFM block: the plan's, or (a layer the CPU runs) the whole output.
  struct BlockShape {
    int h = 1, w = 1, c = 1;
  };
  BlockShape block_shape(size_t layer) const;
  void conv_block(const Op& op, size_t layer, int y0, int x0, int c0, int bh, int bw, int bc,
                  const BlockFault* f);
  /// The same accumulators through the int16 kernels (kernels.hpp), from the layer's
  /// widened IFM and weights.
  void conv_block_fast(const Op& op, size_t layer, int y0, int x0, int c0, int bh, int bw, int bc);
  /// The layer's IFM less its zero point, widened to int16 (rows padded for the kernels;
  /// for depthwise, one value per output channel).
  void widen_input(const Op& op);
  /// The widened weights of one decoded weight (index `i` of weights_[layer]).
  void widen_weight(size_t layer, size_t i);
  void output_unit(const Op& op, int y0, int x0, int c0, int bh, int bw, int bc);
  void pool_block(const Op& op, int y0, int x0, int c0, int bh, int bw, int bc, const BlockFault* f);
  void fault_accumulators(const BlockFault* f);
  void other_layer(size_t layer);
  void binary_layer(const Op& op);
  void concat_layer(const Op& op);

  const Network& net_;
  const Plan& plan_;
  std::vector<int8_t> arena_;
  std::vector<std::vector<int8_t>> weights_;
  std::vector<int32_t> acc_;
  std::vector<std::array<int8_t, 256>> tables_;  // per layer: logistic, tanh, ... of every int8 input
  std::vector<std::vector<int32_t>> exps_;       // per softmax layer: exp of differences 0 .. -255
  std::vector<int32_t> sums_;                    // mean: the sums being formed
  // The int16 operands of the kernels: per weighted layer its weights (conv and fully
  // connected [OC][KH*KW][padded IC]; depthwise [KH*KW][OC]), kept equal to weights_;
  // the running layer's widened IFM.
  std::vector<std::vector<int16_t>> wide_weights_;
  std::vector<std::vector<int32_t>> multipliers_, shifts_;  // per weighted layer: each channel's requantization
  std::vector<int16_t> wide_input_;
  const BlockFault* fault_ = nullptr;
};

}  // namespace edgesim::npu
