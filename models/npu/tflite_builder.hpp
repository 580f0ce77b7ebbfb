#pragma once
// Builds TFLite models (schema version 3) in memory through FlatBuffers' object API on
// the schema subset edgesim reads (models/npu/tflite_schema.fbs): tensors, buffers,
// per-tensor and per-channel quantization, operator codes and options. The TFLite writer
// (tflite_writer.hpp) writes networks with it; the reader tests build one model per op
// and per failure mode with it (tests/unit/tflite_builder.hpp adds patterned weights).
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "models/npu/tflite_schema_generated.h"

namespace edgesim::npu {

namespace tfl = edgesim::tflite;

class TfliteModelBuilder {
 public:
  TfliteModelBuilder() {
    model.version = 3;
    model.description = "edgesim";
    model.buffers.push_back(std::make_unique<tfl::BufferT>());  // buffer 0: the empty sentinel
    model.subgraphs.push_back(std::make_unique<tfl::SubGraphT>());
  }

  tfl::ModelT model;
  tfl::SubGraphT& graph() { return *model.subgraphs[0]; }

  /// A tensor; `data` (raw little-endian bytes) makes it a constant with its own buffer.
  int tensor(const std::string& name, std::vector<int> shape, tfl::TensorType type,
             std::vector<float> scales = {}, std::vector<int64_t> zero_points = {},
             int quantized_dimension = 0, const std::vector<uint8_t>& data = {}) {
    auto t = std::make_unique<tfl::TensorT>();
    t->name = name;
    t->shape = std::move(shape);
    t->type = type;
    if (!scales.empty()) {
      t->quantization = std::make_unique<tfl::QuantizationParametersT>();
      t->quantization->scale = std::move(scales);
      t->quantization->zero_point = zero_points.empty()
                                        ? std::vector<int64_t>(t->quantization->scale.size(), 0)
                                        : std::move(zero_points);
      t->quantization->quantized_dimension = quantized_dimension;
    }
    if (!data.empty()) {
      auto b = std::make_unique<tfl::BufferT>();
      b->data = data;
      model.buffers.push_back(std::move(b));
      t->buffer = static_cast<uint32_t>(model.buffers.size() - 1);
    }
    graph().tensors.push_back(std::move(t));
    return static_cast<int>(graph().tensors.size()) - 1;
  }

  /// An int8 activation, quantized per tensor.
  int activation(const std::string& name, std::vector<int> shape, float scale, int zero_point) {
    return tensor(name, std::move(shape), tfl::TensorType_INT8, {scale}, {zero_point});
  }
  /// A constant int8 tensor.
  int const_int8(const std::string& name, std::vector<int> shape, float scale, int zero_point,
                 const std::vector<int8_t>& values) {
    return tensor(name, std::move(shape), tfl::TensorType_INT8, {scale}, {zero_point}, 0, bytes(values));
  }
  /// A constant int32 tensor (biases, axes, paddings, permutations, sizes).
  int const_int32(const std::string& name, std::vector<int> shape, const std::vector<int32_t>& values) {
    return tensor(name, std::move(shape), tfl::TensorType_INT32, {}, {}, 0, bytes(values));
  }

  /// An operator with builtin code `code`, the options given (or none).
  template <class Options = tfl::AddOptionsT>
  tfl::OperatorT& op(int32_t code, std::vector<int> inputs, std::vector<int> outputs,
                     const Options* options = nullptr) {
    uint32_t index = 0;
    for (; index < model.operator_codes.size(); ++index)
      if (model.operator_codes[index]->builtin_code == code) break;
    if (index == model.operator_codes.size()) {
      auto c = std::make_unique<tfl::OperatorCodeT>();
      c->builtin_code = code;
      c->deprecated_builtin_code = static_cast<int8_t>(code < 127 ? code : 127);
      model.operator_codes.push_back(std::move(c));
    }
    auto o = std::make_unique<tfl::OperatorT>();
    o->opcode_index = index;
    o->inputs = std::move(inputs);
    o->outputs = std::move(outputs);
    if (options) {
      Options copy = *options;  // Set takes the table by value (a const one does not compile)
      o->builtin_options.Set(std::move(copy));
    }
    graph().operators.push_back(std::move(o));
    return *graph().operators.back();
  }

  /// A constant int32 bias quantized as TFLite's converter writes it: scale s_in x s_w per
  /// output channel (one value for per-tensor weights), zero point 0, dimension 0.
  int bias(const std::string& name, const std::vector<int32_t>& values, float input_scale,
           const std::vector<float>& weight_scales) {
    std::vector<float> scales;
    for (float w : weight_scales) scales.push_back(input_scale * w);
    return tensor(name, {static_cast<int>(values.size())}, tfl::TensorType_INT32, scales, {}, 0,
                  bytes(values));
  }

  /// The model's bytes, with `input` and `output` as the subgraph's.
  std::vector<uint8_t> finish(int input, int output) {
    graph().inputs = {input};
    graph().outputs = {output};
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(tfl::Model::Pack(fbb, &model), tfl::ModelIdentifier());
    return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
  }

  template <class T>
  static std::vector<uint8_t> bytes(const std::vector<T>& v) {
    std::vector<uint8_t> b(v.size() * sizeof(T));
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
  }
};

}  // namespace edgesim::npu
