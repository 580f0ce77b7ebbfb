#pragma once
// Graph-level features of a network, as latency predictors take them (layers, MACs,
// parameters, op mix, peak activation bytes): computed from the graph alone, before any
// device is chosen.
#include <cstdint>
#include <vector>

#include "models/npu/network.hpp"

namespace edgesim::npu {

struct GraphFeatures {
  uint64_t layers = 0;                 // ops
  uint64_t cpu_layers = 0;             // ops Vela leaves to the host CPU
  uint64_t macs = 0;                   // multiply-accumulates (or elementary ops) per inference
  uint64_t params = 0;                 // weights and biases
  uint64_t weights = 0;                // weights alone
  uint64_t weight_bytes = 0;           // int8 weights + int32 biases, before encoding
  uint64_t zero_weights = 0;           // weights equal to 0
  uint64_t peak_activation_bytes = 0;  // most int8 activation bytes live at once (op order)
  std::vector<uint64_t> op_counts;     // by OpType, in all_op_types() order
};

GraphFeatures graph_features(const Network& net);

/// Per op: the activation bytes live while it runs (its inputs, its output, and every
/// tensor produced earlier and read later; constants excluded).
std::vector<uint64_t> live_activation_bytes(const Network& net);

}  // namespace edgesim::npu
