#pragma once
// How a network's ops become NPU operations, as Arm's Vela compiler maps them
// (ethosu/vela/graph_optimiser.py, softmax.py, scheduler.py; docs/npu.md):
// - a depthwise convolution of a one-channel input is a convolution;
// - a 1x1 convolution of a 1x1 input and a fully connected layer are vector products,
//   whose weights the NPU reads straight from their memory (not buffered);
// - the first op, a stride-2 convolution of an input with at most 4 channels and even
//   width, runs at stride 1 on an input of half the width and twice the channels, its
//   kernel widened to even and folded (Vela optimise_strided_conv);
// - softmax is 31 operations: a max over channels, a subtraction whose exp is a lookup
//   table, and int32 elementwise steps for the sum, its reciprocal (Newton-Raphson) and
//   the scaling (Vela softmax.py, 8-bit graph);
// - concatenation is one copy (a 1x1 pool) per input into its slice of the output;
// - reshape is no operation.
// Tensors are stored in 16-channel bricks (NHCWB16) except the network's input and
// output, a reshape's input and output, a flattened fully connected layer's input, and
// an elementwise output whose same-shaped, same-typed input is not in bricks (Vela keeps
// those linear).
#include <cstdint>
#include <vector>

#include "models/npu/arch.hpp"
#include "models/npu/network.hpp"
#include "models/npu/op_cost.hpp"
#include "models/npu/weight_codec.hpp"

namespace edgesim::npu {

/// One NPU operation of a layer; `lut` when its activation is a lookup table the DMA
/// loads into the shared buffer first.
struct Pass {
  NpuOp op;
  bool lut = false;
};

struct LoweredLayer {
  std::vector<Pass> passes;
  /// The pass that carries the layer's weights (-1: none). Its OFM blocks are the
  /// layer's blocks as the executor walks them.
  int weighted = -1;
  /// Block ops (convolutions, pools): the single pass whose blocks are the executor's.
  bool block_layer = false;
  /// The weights as that pass's decoder reads them (OHWI, after the rewrites above): the
  /// op's own, or `own` where they were rearranged.
  const int8_t* ohwi = nullptr;
  size_t ohwi_size = 0;
  std::vector<int8_t> own;
  WeightLayout layout;   // ofm_block_depth set by the planner
  bool buffered = true;  // false: vector products read their weights in place
};

/// Lowers every op of `net` (one entry per op, empty for a reshape). The lowering is the
/// same for every configuration (the planner sets the blocks in each layer's layout, and
/// plans of several configurations share it through a PlanCache).
std::vector<LoweredLayer> lower_network(const Network& net);

}  // namespace edgesim::npu
