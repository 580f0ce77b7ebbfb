#pragma once
// Writes a Network as an int8 TFLite flatbuffer (schema version 3, the subset
// models/npu/tflite_schema.fbs declares) with FlatBuffers' builder: the tensors with
// their quantization, per-channel int8 weights and int32 biases in the model's buffers,
// operator codes and options. parse_tflite reads the bytes back as the same network
// (shapes, quantization, weights, biases and the multipliers derived from them; op and
// weight-tensor names are the writer's). Scales are float32 in TFLite: a network whose
// scales are not float32 values reads back with rounded scales.
#include <cstdint>
#include <vector>

#include "models/npu/network.hpp"

namespace edgesim::npu {

/// Throws InputError naming the op when its type has no TFLite form here (the types the
/// search spaces use, pools, elementwise functions and reshape are written).
std::vector<uint8_t> write_tflite(const Network& net);

}  // namespace edgesim::npu
