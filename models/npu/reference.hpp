#pragma once
// Reference int8 kernels: plain loops over output elements, written to be obviously
// correct (TFLite's reference kernels' arithmetic), not fast. The NPU's functional
// execution (executor.hpp) is checked against them bit for bit.
#include <cstdint>
#include <vector>

#include "models/npu/network.hpp"

namespace edgesim::npu {

/// Runs one op, reading its inputs from and writing its output into `arena` (the
/// network's activation arena, each tensor at its offset).
void reference_op(const Network& net, const Op& op, int8_t* arena);

/// Writes the network's constant tensors into `arena`.
void load_constants(const Network& net, int8_t* arena);

/// Runs the whole network on `input` (the input tensor's int8 values); returns the arena
/// with every tensor's values.
std::vector<int8_t> run_reference(const Network& net, const int8_t* input);

}  // namespace edgesim::npu
