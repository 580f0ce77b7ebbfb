#pragma once
// Reads int8 TensorFlow Lite models (.tflite flatbuffers, schema version 3) into a
// Network. The file is checked with FlatBuffers' Verifier before anything is read (a
// failure is located to the first table that does not verify, with its byte offset);
// then the first subgraph's operators, in execution order, become ops: weights and
// biases from the model's buffers, per-channel or per-tensor quantization, options
// tables, the subgraph's input and output. Anything edgesim cannot run (a float or uint8
// model, an op it does not know, sparse tensors, external buffers) is an InputError
// naming the file, what is wrong and where (byte offset of the table concerned).
#include <cstdint>
#include <string>

#include "models/npu/network.hpp"

namespace edgesim::npu {

namespace tflite_builtin {
/// TFLite's BuiltinOperator codes edgesim maps (tensorflow/lite/schema/schema.fbs).
enum Code : int32_t {
  kAdd = 0,
  kAveragePool2d = 1,
  kConcatenation = 2,
  kConv2d = 3,
  kDepthwiseConv2d = 4,
  kFullyConnected = 9,
  kLogistic = 14,
  kMaxPool2d = 17,
  kMul = 18,
  kRelu = 19,
  kReluN1To1 = 20,
  kRelu6 = 21,
  kReshape = 22,
  kResizeBilinear = 23,
  kSoftmax = 25,
  kTanh = 28,
  kCustom = 32,
  kPad = 34,
  kTranspose = 39,
  kMean = 40,
  kSub = 41,
  kSqueeze = 43,
  kStridedSlice = 45,
  kPadV2 = 60,
  kSlice = 65,
  kExpandDims = 70,
  kResizeNearestNeighbor = 97,
  kLeakyRelu = 98,
  kQuantize = 114,
  kHardSwish = 117,
};
}  // namespace tflite_builtin

/// Whether `bytes` (the contents of `path`) is a TFLite model: the "TFL3" file
/// identifier at bytes 4-7, or a ".tflite" name (so a broken file is reported as one).
bool is_tflite(const std::string& path, const std::string& bytes);

/// Reads a TFLite model of `size` bytes; `origin` (the file name) names it in errors and
/// its stem becomes the network's name.
Network parse_tflite(const uint8_t* data, size_t size, const std::string& origin);

/// The name of a TFLite builtin operator code ("CONV_2D"), or "BUILTIN_<code>".
std::string tflite_op_name(int32_t code);

}  // namespace edgesim::npu
