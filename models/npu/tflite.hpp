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

/// Whether `bytes` (the contents of `path`) is a TFLite model: the "TFL3" file
/// identifier at bytes 4-7, or a ".tflite" name (so a broken file is reported as one).
bool is_tflite(const std::string& path, const std::string& bytes);

/// Reads a TFLite model of `size` bytes; `origin` (the file name) names it in errors and
/// its stem becomes the network's name.
Network parse_tflite(const uint8_t* data, size_t size, const std::string& origin);

/// The name of a TFLite builtin operator code ("CONV_2D"), or "BUILTIN_<code>".
std::string tflite_op_name(int32_t code);

}  // namespace edgesim::npu
