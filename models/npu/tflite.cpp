#include "models/npu/tflite.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <flatbuffers/flatbuffers.h>

#include "models/npu/tflite_schema_generated.h"
#include "sim/core/errors.hpp"

namespace edgesim::npu {

namespace fb = flatbuffers;
namespace tfl = edgesim::tflite;

namespace {

using namespace tflite_builtin;  // NOLINT: the operator codes, as the schema names them

/// The ops that may take a constant tensor as a data input (kept as a Network constant).
bool takes_constants(int32_t code) {
  return code == kAdd || code == kSub || code == kMul || code == kConcatenation;
}

/// The schema's operator names by code, for messages about ops edgesim does not run.
const char* const kBuiltinNames[] = {
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION",
    "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL",
    "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF",
    "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN",
    "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN",
    "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU",
    "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT",
    "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG",
    "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK",
    "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY",
    "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
    "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND",
    "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
    "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2",
    "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE",
    "BROADCAST_TO", "RFFT2D", "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND",
    "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
    "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL",
    "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
    "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT"};

const char* type_name(tfl::TensorType t) {
  const char* n = tfl::EnumNameTensorType(t);
  return n && *n ? n : "unknown";
}

std::string at_byte(const uint8_t* base, const void* p) {
  return "byte " + std::to_string(static_cast<const uint8_t*>(p) - base);
}

std::string shape_text(const std::vector<int>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// ---- Locating a verification failure ----

/// The first table, top down, that FlatBuffers' Verifier rejects: "buffers[17] (table at
/// byte 1234)"; empty when none is found.
class Locator {
 public:
  Locator(const uint8_t* buf, size_t n) : buf_(buf), n_(n) {}

  std::string model() {
    const auto* t = reinterpret_cast<const fb::Table*>(buf_ + fb::ReadScalar<fb::uoffset_t>(buf_));
    fb::Verifier v(buf_, n_);
    if (!t->VerifyTableStart(v)) return "the model table (" + at_byte(buf_, t) + ")";
    std::string r = tables<tfl::OperatorCode>(t, tfl::Model::VT_OPERATOR_CODES, "operator_codes", nullptr);
    if (r.empty()) r = tables<tfl::SubGraph>(t, tfl::Model::VT_SUBGRAPHS, "subgraphs", &Locator::subgraph);
    if (r.empty()) r = tables<tfl::Buffer>(t, tfl::Model::VT_BUFFERS, "buffers", nullptr);
    if (r.empty() && !t->VerifyOffset(v, tfl::Model::VT_DESCRIPTION)) r = "the model's description";
    return r;
  }

 private:
  using Deeper = std::string (Locator::*)(const fb::Table*, const std::string&);

  std::string subgraph(const fb::Table* t, const std::string& name) {
    std::string r = tables<tfl::Tensor>(t, tfl::SubGraph::VT_TENSORS, name + ".tensors", nullptr);
    if (r.empty()) r = tables<tfl::Operator>(t, tfl::SubGraph::VT_OPERATORS, name + ".operators", nullptr);
    return r;
  }

  /// Whether the `len` bytes at `p` lie inside the file. Every read of the Locator is
  /// checked first: it runs on exactly the files the Verifier rejected.
  bool inside(const uint8_t* p, size_t len) const {
    const auto at = reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(buf_);
    return p >= buf_ && at <= n_ && len <= n_ - at;
  }

  /// Where an offset stored at `slot` (inside the file) points, for messages: "byte N", or
  /// "outside the file".
  std::string target(const uint8_t* slot) const {
    const auto at = static_cast<int64_t>(slot - buf_) + fb::ReadScalar<fb::uoffset_t>(slot);
    return at >= 0 && static_cast<size_t>(at) < n_ ? "byte " + std::to_string(at)
                                                    : "byte " + std::to_string(at) + ", outside the file";
  }

  /// A vector-of-tables field of table `t`: the vector, then each table in it (through
  /// its generated Verify), then, for the first one that fails, `deeper`.
  template <class T>
  std::string tables(const fb::Table* t, fb::voffset_t field, const std::string& name, Deeper deeper) {
    fb::Verifier v(buf_, n_);
    // The table and its vtable inside the file, the vtable's size even: only then may its
    // fields be looked up (`t` is a table whose own Verify failed).
    if (!t->VerifyTableStart(v)) return "";
    if (!t->VerifyOffset(v, field)) {
      const uint8_t* slot = t->GetAddressOf(field);
      if (!inside(slot, sizeof(fb::uoffset_t)))
        return name + " (its offset would lie at " + at_byte(buf_, slot) + ", past the end of the file)";
      return name + " (the offset at " + at_byte(buf_, slot) + ", pointing to " + target(slot) + ")";
    }
    const auto* vec = t->GetPointer<const fb::Vector<fb::Offset<T>>*>(field);
    if (!vec) return "";
    if (!v.VerifyVector(vec)) {
      const auto* len = reinterpret_cast<const uint8_t*>(vec);
      return name + " (a vector of " +
             (inside(len, sizeof(fb::uoffset_t)) ? std::to_string(fb::ReadScalar<fb::uoffset_t>(len)) : "?") +
             " entries at " + at_byte(buf_, vec) + ")";
    }
    for (fb::uoffset_t i = 0; i < vec->size(); ++i) {
      const uint8_t* slot = reinterpret_cast<const uint8_t*>(vec->Data()) + 4 * static_cast<size_t>(i);
      const std::string here = name + "[" + std::to_string(i) + "]";
      const int64_t at = static_cast<int64_t>(slot - buf_) + fb::ReadScalar<fb::uoffset_t>(slot);
      if (at < 0 || static_cast<size_t>(at) + 4 > n_)
        return here + " (the offset at " + at_byte(buf_, slot) + ", pointing to " + target(slot) + ")";
      const T* e = vec->Get(i);
      fb::Verifier ev(buf_, n_);
      if (e->Verify(ev)) continue;
      // Deeper only into a table whose start and vtable lie inside the file.
      fb::Verifier sv(buf_, n_);
      const auto* et = reinterpret_cast<const fb::Table*>(e);
      const std::string inner =
          deeper && et->VerifyTableStart(sv) ? (this->*deeper)(et, here) : std::string();
      return inner.empty() ? here + " (table at " + at_byte(buf_, e) + ")" : inner;
    }
    return "";
  }

  const uint8_t* buf_;
  size_t n_;
};

// ---- Reading ----

class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& origin) : buf_(data), size_(size), origin_(origin) {}

  Network read();

 private:
  [[noreturn]] void fail(const std::string& msg) const { throw InputError(origin_ + ": " + msg); }

  /// "tensors[12] 'name' (table at byte 345)", for errors.
  std::string tensor_where(int i) const {
    const tfl::Tensor* t = tensors_->Get(static_cast<fb::uoffset_t>(i));
    return "tensors[" + std::to_string(i) + "] '" + (t->name() ? t->name()->str() : "") + "' (table at " +
           at_byte(buf_, t) + ")";
  }
  const tfl::Tensor* tensor(int i, const std::string& op_where) const {
    if (i < 0 || static_cast<fb::uoffset_t>(i) >= tensors_->size())
      fail(op_where + ": tensor index " + std::to_string(i) + " out of range (the subgraph has " +
           std::to_string(tensors_->size()) + " tensors)");
    return tensors_->Get(static_cast<fb::uoffset_t>(i));
  }
  std::vector<int> shape_of(int i) const {
    const tfl::Tensor* t = tensors_->Get(static_cast<fb::uoffset_t>(i));
    std::vector<int> s;
    if (t->shape()) s.assign(t->shape()->begin(), t->shape()->end());
    return s;
  }
  /// The constant data of tensor `i` (empty for an activation).
  const fb::Vector<uint8_t>* buffer_of(int i) const;
  /// An int8 tensor of the Network (an activation, or a constant operand; a scalar
  /// constant reads as shape [1]).
  Tensor activation(int i, bool constant = false) const;
  /// Registers the constant data inputs of `op` (an elementwise operand stored in the file).
  void add_constants(const tfl::Operator* op);
  /// The Network index of activation `i`, which an earlier op (or the input) defines.
  int defined(int i, const std::string& op_where) const;
  struct Quant {
    std::vector<double> scales;
    int dimension = 0;
  };
  /// A tensor's type (which must be `expected_type`) and quantization; `symmetric`
  /// requires zero points of 0 (weights and biases, as TFLite's int8 kernels do).
  Quant quantization(int i, int8_t expected_type, bool symmetric) const;
  /// Tensor `i` has type `expected_type` and is dense.
  void require_type(int i, int8_t expected_type) const;

  void add(const tfl::Operator* op, size_t index);

  const uint8_t* buf_;
  size_t size_;
  std::string origin_;
  const tfl::Model* model_ = nullptr;
  const fb::Vector<fb::Offset<tfl::Tensor>>* tensors_ = nullptr;
  std::vector<int> net_index_;  // TFLite tensor -> Network tensor (-1: not yet defined)
  Network net_;
};

const fb::Vector<uint8_t>* Reader::buffer_of(int i) const {
  const tfl::Tensor* t = tensors_->Get(static_cast<fb::uoffset_t>(i));
  const auto* buffers = model_->buffers();
  const uint32_t b = t->buffer();
  if (b == 0) return nullptr;  // buffer 0 is the empty sentinel
  if (!buffers || b >= buffers->size())
    fail(tensor_where(i) + ": buffer index " + std::to_string(b) + " out of range (the model has " +
         std::to_string(buffers ? buffers->size() : 0) + " buffers)");
  const tfl::Buffer* buf = buffers->Get(b);
  if (buf->offset() > 1 || buf->size() > 1)
    fail(tensor_where(i) + ": buffers[" + std::to_string(b) +
         "] holds its data outside the flatbuffer (a model over 2 GB): not supported");
  const auto* data = buf->data();
  return data && data->size() ? data : nullptr;
}

void Reader::require_type(int i, int8_t expected_type) const {
  const tfl::Tensor* t = tensors_->Get(static_cast<fb::uoffset_t>(i));
  if (t->type() != expected_type) {
    const bool fl = t->type() == tfl::TensorType_FLOAT32 || t->type() == tfl::TensorType_FLOAT16;
    fail(tensor_where(i) + ": type " + type_name(t->type()) + ", expected " +
         type_name(static_cast<tfl::TensorType>(expected_type)) +
         (fl ? " (a float model: edgesim runs int8 models; convert with TFLite's full-integer quantization)"
             : t->type() == tfl::TensorType_UINT8 ? " (uint8 quantization, TFLite's older scheme, is not supported)"
                                                  : ""));
  }
  if (t->sparsity()) fail(tensor_where(i) + ": sparse tensors are not supported");
}

/// Zero point k of a quantization. FlatBuffers' Verifier (2.0.8) checks only that a
/// vector's length field is 4-byte aligned, and a hostile file may place an int64 vector's
/// values 4 bytes off: Vector::Get would then load a misaligned int64 (undefined
/// behaviour). Writers align them, and TFLite itself reads either, so the value is copied
/// out byte by byte and the file accepted.
int64_t zero_point_at(const fb::Vector<int64_t>* zp, fb::uoffset_t k) {
  int64_t z;
  std::memcpy(&z, zp->Data() + sizeof(int64_t) * k, sizeof z);
  return fb::EndianScalar(z);
}

Reader::Quant Reader::quantization(int i, int8_t expected_type, bool symmetric) const {
  require_type(i, expected_type);
  const tfl::Tensor* t = tensors_->Get(static_cast<fb::uoffset_t>(i));
  const tfl::QuantizationParameters* q = t->quantization();
  if (!q || !q->scale() || q->scale()->size() == 0)
    fail(tensor_where(i) + ": no quantization parameters (scale, zero point)");
  if (q->details_type() != tfl::QuantizationDetails_NONE)
    fail(tensor_where(i) + ": custom quantization is not supported");
  Quant r;
  r.dimension = q->quantized_dimension();
  for (fb::uoffset_t k = 0; k < q->scale()->size(); ++k) {
    const double s = q->scale()->Get(k);
    if (!(s > 0) || !std::isfinite(s))
      fail(tensor_where(i) + ": scale[" + std::to_string(k) + "] = " + std::to_string(s) +
           ", expected a positive finite number");
    r.scales.push_back(s);
  }
  const auto* zp = q->zero_point();
  if (zp && zp->size() != 0 && zp->size() != r.scales.size())
    fail(tensor_where(i) + ": " + std::to_string(zp->size()) + " zero points for " +
         std::to_string(r.scales.size()) + " scales");
  if (symmetric) {
    for (fb::uoffset_t k = 0; zp && k < zp->size(); ++k)
      if (const int64_t z = zero_point_at(zp, k); z != 0)
        fail(tensor_where(i) + ": zero_point[" + std::to_string(k) + "] = " + std::to_string(z) +
             ", expected 0 (symmetric quantization)");
  }
  return r;
}

Tensor Reader::activation(int i, bool constant) const {
  const Quant q = quantization(i, tfl::TensorType_INT8, false);
  const tfl::Tensor* t = tensors_->Get(static_cast<fb::uoffset_t>(i));
  if (q.scales.size() != 1)
    fail(tensor_where(i) + ": " + std::to_string(q.scales.size()) +
         " scales: an activation is quantized per tensor (one scale)");
  Tensor out;
  out.name = t->name() && t->name()->size() ? t->name()->str() : "tensor_" + std::to_string(i);
  if (net_.tensor_index(out.name) >= 0) out.name += "#" + std::to_string(i);  // names need not be unique
  std::vector<int> shape = shape_of(i);
  if (constant && shape.empty()) shape = {1};
  set_shape(out, shape, {origin_, tensor_where(i) + ".shape"});
  out.scale = q.scales[0];
  const auto* zp = t->quantization()->zero_point();
  const int64_t z = zp && zp->size() ? zero_point_at(zp, 0) : 0;
  if (z < -128 || z > 127) fail(tensor_where(i) + ": zero point " + std::to_string(z) + " outside int8");
  out.zero_point = static_cast<int32_t>(z);
  return out;
}

int Reader::defined(int i, const std::string& op_where) const {
  tensor(i, op_where);
  if (net_index_[static_cast<size_t>(i)] < 0) {
    if (buffer_of(i))
      fail(op_where + ": reads " + tensor_where(i) +
           ", a constant, where edgesim takes an activation (constant operands are not supported here)");
    fail(op_where + ": reads " + tensor_where(i) + " before any operator writes it");
  }
  return net_index_[static_cast<size_t>(i)];
}

Network Reader::read() {
  if (size_ < 8)
    fail("truncated: " + std::to_string(size_) + " bytes (a TFLite flatbuffer starts with an 8-byte header)");
  if (!tfl::ModelBufferHasIdentifier(buf_)) {
    std::string id(reinterpret_cast<const char*>(buf_) + 4, 4);
    for (char& ch : id)
      if (ch < 32 || ch > 126) ch = '?';
    fail("not a TFLite flatbuffer: bytes 4-7 are '" + id + "', expected the file identifier 'TFL3'");
  }
  const fb::uoffset_t root = fb::ReadScalar<fb::uoffset_t>(buf_);
  if (static_cast<size_t>(root) + 4 > size_)
    fail("the root table offset at byte 0 points to byte " + std::to_string(root) + ", beyond the end of the file (" +
         std::to_string(size_) + " bytes): truncated?");
  fb::Verifier verifier(buf_, size_);
  if (!tfl::VerifyModelBuffer(verifier)) {
    const std::string where = Locator(buf_, size_).model();
    fail("not a valid TFLite flatbuffer: " + (where.empty() ? std::string("the model") : where) +
         " fails FlatBuffers verification (an offset, vector or string reaching past the end of the file's " +
         std::to_string(size_) + " bytes, or misaligned: a truncated or corrupt file)");
  }
  model_ = tfl::GetModel(buf_);
  if (model_->version() != 3)
    fail("schema version " + std::to_string(model_->version()) + " (the model table at " + at_byte(buf_, model_) +
         "): edgesim reads TFLite schema version 3");
  if (!model_->subgraphs() || model_->subgraphs()->size() == 0) fail("the model has no subgraph");
  const tfl::SubGraph* sg = model_->subgraphs()->Get(0);
  tensors_ = sg->tensors();
  if (!tensors_ || tensors_->size() == 0) fail("subgraphs[0] has no tensors");
  const std::string sg_where = "subgraphs[0] (table at " + at_byte(buf_, sg) + ")";
  if (!sg->inputs() || sg->inputs()->size() != 1)
    fail(sg_where + ": " + std::to_string(sg->inputs() ? sg->inputs()->size() : 0) +
         " inputs; edgesim runs networks with one input");
  if (!sg->outputs() || sg->outputs()->size() != 1)
    fail(sg_where + ": " + std::to_string(sg->outputs() ? sg->outputs()->size() : 0) +
         " outputs; edgesim runs networks with one output");
  if (!sg->operators() || sg->operators()->size() == 0) fail(sg_where + ": no operators");

  net_.name = std::filesystem::path(origin_).stem().string();
  if (model_->description()) net_.description = model_->description()->str();
  net_index_.assign(tensors_->size(), -1);
  const int input = sg->inputs()->Get(0);
  tensor(input, sg_where + ".inputs[0]");
  net_.tensors.push_back(activation(input));
  net_index_[static_cast<size_t>(input)] = 0;
  // Constant operands first (the JSON format's order: input, constants, then each op's output).
  for (fb::uoffset_t k = 0; k < sg->operators()->size(); ++k) add_constants(sg->operators()->Get(k));
  for (fb::uoffset_t k = 0; k < sg->operators()->size(); ++k) add(sg->operators()->Get(k), k);
  const int output = sg->outputs()->Get(0);
  const int out_index = defined(output, sg_where + ".outputs[0]");
  finish_network(net_, out_index);
  return std::move(net_);
}

void Reader::add(const tfl::Operator* op, size_t index) {
  const auto* codes = model_->operator_codes();
  std::string where = "operators[" + std::to_string(index) + "] (table at " + at_byte(buf_, op) + ")";
  if (!codes || op->opcode_index() >= codes->size())
    fail(where + ": opcode_index " + std::to_string(op->opcode_index()) + " out of range (the model has " +
         std::to_string(codes ? codes->size() : 0) + " operator codes)");
  const tfl::OperatorCode* oc = codes->Get(op->opcode_index());
  // TFLite's rule: the larger of the two code fields (schema 3a moved codes past 127 to
  // builtin_code; older files set only the byte).
  const int32_t code = std::max<int32_t>(oc->builtin_code(), oc->deprecated_builtin_code());
  const std::string name = tflite_op_name(code);
  where = "operators[" + std::to_string(index) + "] " + name + " (table at " + at_byte(buf_, op) + ")";
  if (code == kCustom)
    fail(where + ": custom operator '" + (oc->custom_code() ? oc->custom_code()->str() : "") +
         "' is not supported");

  std::vector<int> ins, outs;
  if (op->inputs()) ins.assign(op->inputs()->begin(), op->inputs()->end());
  if (op->outputs()) outs.assign(op->outputs()->begin(), op->outputs()->end());
  if (outs.size() != 1) fail(where + ": " + std::to_string(outs.size()) + " outputs; edgesim takes one");
  tensor(outs[0], where);
  if (net_index_[static_cast<size_t>(outs[0])] >= 0)
    fail(where + ": writes " + tensor_where(outs[0]) + ", which is already defined");
  auto need_inputs = [&](size_t lo, size_t hi) {
    if (ins.size() < lo || ins.size() > hi)
      fail(where + ": " + std::to_string(ins.size()) + " inputs, expected " + std::to_string(lo) +
           (hi != lo ? " to " + std::to_string(hi) : ""));
  };
  auto options_missing = [&](const char* table) { fail(where + ": no " + std::string(table) + " table"); };
  auto act = [&](tfl::ActivationFunctionType a) {
    switch (a) {
      case tfl::ActivationFunctionType_NONE: return Activation::None;
      case tfl::ActivationFunctionType_RELU: return Activation::Relu;
      case tfl::ActivationFunctionType_RELU6: return Activation::Relu6;
      case tfl::ActivationFunctionType_RELU_N1_TO_1: return Activation::ReluN1To1;
      default:
        fail(where + ": fused activation " + tfl::EnumNameActivationFunctionType(a) + " is not supported");
    }
  };

  OpSpec spec;
  spec.name = name + "_" + std::to_string(index);
  std::transform(spec.name.begin(), spec.name.end(), spec.name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  spec.weights_source = "file";
  // Weights [OC, ...] or depthwise [1, KH, KW, OC], with per-channel scales along
  // `channel_dim` or one per-tensor scale; the bias (optional, -1) int32 per channel.
  auto weights = [&](int wi, int bi, int channel_dim) {
    tensor(wi, where);
    const Quant q = quantization(wi, tfl::TensorType_INT8, true);
    const auto* data = buffer_of(wi);
    if (!data) fail(where + ": the weights " + tensor_where(wi) + " are not constant");
    spec.weight_shape = shape_of(wi);
    if (spec.weight_shape.size() <= static_cast<size_t>(channel_dim))
      fail(where + ": weights " + tensor_where(wi) + " have shape " + shape_text(spec.weight_shape) +
           ", expected a dimension " + std::to_string(channel_dim) + " of output channels");
    // The shape must fit the data before anything is sized from it: a damaged file's
    // dimension can claim billions of output channels over a few bytes of weights.
    const std::string wwhere = tensor_where(wi);
    size_t count = 1;
    for (int d : spec.weight_shape)
      if (d < 1 || __builtin_mul_overflow(count, static_cast<size_t>(d), &count))
        fail(wwhere + ": shape " + shape_text(spec.weight_shape) + " holds no number of int8 weights");
    if (count != data->size())
      fail(wwhere + ": " + std::to_string(data->size()) + " bytes of data for " + std::to_string(count) +
           " int8 weights");
    const int oc = spec.weight_shape[static_cast<size_t>(channel_dim)];
    if (q.scales.size() == 1) {
      spec.weight_scales.assign(static_cast<size_t>(std::max(oc, 1)), q.scales[0]);
    } else {
      if (q.dimension != channel_dim || q.scales.size() != static_cast<size_t>(oc))
        fail(where + ": weights " + tensor_where(wi) + " have " + std::to_string(q.scales.size()) +
             " scales along dimension " + std::to_string(q.dimension) + ", expected 1 or " + std::to_string(oc) +
             " (one per output channel)");
      spec.weight_scales = q.scales;
    }
    spec.weights = [this, data, wwhere](size_t n) {
      if (data->size() != n)
        fail(wwhere + ": " + std::to_string(data->size()) + " bytes of data for " + std::to_string(n) +
             " int8 weights");
      const auto* bytes = reinterpret_cast<const int8_t*>(data->data());
      return std::vector<int8_t>(bytes, bytes + n);  // a copy without zeroing first
    };
    if (bi < 0) return;
    tensor(bi, where);
    require_type(bi, tfl::TensorType_INT32);  // its scale (s_in x s_w) is not read: TFLite's kernels derive it
    const auto* bdata = buffer_of(bi);
    const std::string bwhere = tensor_where(bi);
    spec.bias = [this, bdata, bwhere](size_t n) {
      std::vector<int32_t> b(n, 0);
      if (!bdata) return b;  // an empty buffer: zeros
      if (bdata->size() != 4 * n)
        fail(bwhere + ": " + std::to_string(bdata->size()) + " bytes of data for " + std::to_string(n) +
             " int32 biases");
      std::memcpy(b.data(), bdata->data(), 4 * n);  // little-endian, as the host (network.cpp checks)
      return b;
    };
  };
  auto window = [&](tfl::Padding padding, int stride_h, int stride_w) {
    spec.same_padding = padding == tfl::Padding_SAME;
    spec.stride_h = stride_h;
    spec.stride_w = stride_w;
  };

  // The int32 values of a constant parameter tensor (axes, paddings, a permutation, slice
  // bounds): INT32 or INT64 data in the model's buffers.
  auto ints = [&](size_t k, const char* what) {
    if (k >= ins.size() || ins[k] < 0) fail(where + ": no " + std::string(what) + " input");
    tensor(ins[k], where);
    const tfl::Tensor* t = tensors_->Get(static_cast<fb::uoffset_t>(ins[k]));
    const auto* data = buffer_of(ins[k]);
    if (!data) fail(where + ": the " + std::string(what) + " " + tensor_where(ins[k]) + " is not constant");
    std::vector<int> v;
    if (t->type() == tfl::TensorType_INT32 || t->type() == tfl::TensorType_INT64) {
      const size_t w = t->type() == tfl::TensorType_INT32 ? 4 : 8;
      for (size_t i = 0; i + w <= data->size(); i += w) {
        int64_t x = 0;
        if (w == 4) {
          int32_t y;
          std::memcpy(&y, data->data() + i, 4);
          x = y;
        } else {
          std::memcpy(&x, data->data() + i, 8);
        }
        v.push_back(static_cast<int>(std::clamp<int64_t>(x, -(int64_t{1} << 30), int64_t{1} << 30)));
      }
    } else {
      fail(where + ": the " + std::string(what) + " " + tensor_where(ins[k]) + " has type " + type_name(t->type()) +
           ", expected INT32 or INT64");
    }
    return v;
  };
  auto fused = [&](auto* o) { return act(o ? o->fused_activation_function() : tfl::ActivationFunctionType_NONE); };
  // Conv and depthwise options: window, dilation, fused activation.
  auto conv_options = [&](const auto* o, const char* table) {
    if (!o) options_missing(table);
    window(o->padding(), o->stride_h(), o->stride_w());
    spec.dilation_h = o->dilation_h_factor();
    spec.dilation_w = o->dilation_w_factor();
    spec.activation = act(o->fused_activation_function());
  };
  size_t data_inputs = 1;  // the leading inputs that are tensors of the Network

  switch (code) {
    case kConv2d: {
      need_inputs(2, 3);
      spec.type = OpType::Conv2d;
      conv_options(op->builtin_options_as_Conv2DOptions(), "Conv2DOptions");
      weights(ins[1], ins.size() > 2 ? ins[2] : -1, 0);
      break;
    }
    case kDepthwiseConv2d: {
      need_inputs(2, 3);
      spec.type = OpType::DepthwiseConv2d;
      const auto* o = op->builtin_options_as_DepthwiseConv2DOptions();
      conv_options(o, "DepthwiseConv2DOptions");
      weights(ins[1], ins.size() > 2 ? ins[2] : -1, 3);
      // TFLite (version 2 on) takes the multiplier from the shapes, not the option.
      const Tensor& in = net_.tensors[static_cast<size_t>(defined(ins[0], where))];
      const int oc = spec.weight_shape.back();
      spec.depth_multiplier = in.c > 0 && oc % in.c == 0 ? oc / in.c : o->depth_multiplier();
      break;
    }
    case kFullyConnected: {
      need_inputs(2, 3);
      spec.type = OpType::FullyConnected;
      const auto* o = op->builtin_options_as_FullyConnectedOptions();
      if (o && o->weights_format() != 0) fail(where + ": shuffled weights (weights_format 1) are not supported");
      spec.activation = fused(o);
      weights(ins[1], ins.size() > 2 ? ins[2] : -1, 0);
      break;
    }
    case kAveragePool2d:
    case kMaxPool2d: {
      need_inputs(1, 1);
      spec.type = code == kAveragePool2d ? OpType::AvgPool : OpType::MaxPool;
      const auto* o = op->builtin_options_as_Pool2DOptions();
      if (!o) options_missing("Pool2DOptions");
      window(o->padding(), o->stride_h(), o->stride_w());
      spec.kernel = {o->filter_height(), o->filter_width()};
      spec.activation = act(o->fused_activation_function());
      break;
    }
    case kAdd:
    case kSub:
    case kMul:
      need_inputs(2, 2);
      spec.type = code == kAdd ? OpType::Add : code == kSub ? OpType::Sub : OpType::Mul;
      spec.activation = code == kAdd   ? fused(op->builtin_options_as_AddOptions())
                        : code == kSub ? fused(op->builtin_options_as_SubOptions())
                                       : fused(op->builtin_options_as_MulOptions());
      data_inputs = 2;
      break;
    case kConcatenation: {
      need_inputs(1, 1 << 16);
      spec.type = OpType::Concat;
      const auto* o = op->builtin_options_as_ConcatenationOptions();
      if (!o) options_missing("ConcatenationOptions");
      if (act(o->fused_activation_function()) != Activation::None)
        fail(where + ": a fused activation on concatenation is not supported");
      spec.axis = o->axis();
      data_inputs = ins.size();
      break;
    }
    case kReshape:
    case kSqueeze:
    case kExpandDims:
      // The new shape is the output tensor's; a second (shape or axis) input is not read.
      need_inputs(1, 2);
      spec.type = OpType::Reshape;
      break;
    case kSoftmax: {
      need_inputs(1, 1);
      spec.type = OpType::Softmax;
      const auto* o = op->builtin_options_as_SoftmaxOptions();
      spec.beta = o ? o->beta() : 1.0;
      break;
    }
    case kPad:
    case kPadV2: {
      need_inputs(2, code == kPad ? 2 : 3);
      spec.type = OpType::Pad;
      spec.pads = ints(1, "paddings");
      if (code == kPadV2 && ins.size() > 2 && ins[2] >= 0) {
        // The constant value, int8 in the input's quantization (TFLite requires it equal).
        tensor(ins[2], where);
        quantization(ins[2], tfl::TensorType_INT8, false);
        const auto* v = buffer_of(ins[2]);
        if (!v || v->size() != 1) fail(where + ": the pad value " + tensor_where(ins[2]) + " is not one constant");
        spec.pad_value = static_cast<int8_t>(v->Get(0));
      }
      break;
    }
    case kMean: {
      need_inputs(2, 2);
      spec.type = OpType::Mean;
      spec.axes = ints(1, "axes");
      break;
    }
    case kQuantize:
      need_inputs(1, 1);
      spec.type = OpType::Quantize;
      break;
    case kLogistic:
    case kTanh:
    case kHardSwish:
    case kRelu:
    case kRelu6:
    case kReluN1To1:
      need_inputs(1, 1);
      spec.type = code == kLogistic    ? OpType::Logistic
                  : code == kTanh      ? OpType::Tanh
                  : code == kHardSwish ? OpType::HardSwish
                  : code == kRelu      ? OpType::Relu
                  : code == kRelu6     ? OpType::Relu6
                                       : OpType::ReluN1To1;
      break;
    case kLeakyRelu: {
      need_inputs(1, 1);
      spec.type = OpType::LeakyRelu;
      const auto* o = op->builtin_options_as_LeakyReluOptions();
      spec.alpha = o ? o->alpha() : 0.0f;
      break;
    }
    case kTranspose:
      need_inputs(2, 2);
      spec.type = OpType::Transpose;
      spec.perm = ints(1, "permutation");
      break;
    case kStridedSlice: {
      need_inputs(4, 4);
      spec.type = OpType::StridedSlice;
      const auto* o = op->builtin_options_as_StridedSliceOptions();
      if (o && (o->ellipsis_mask() || o->new_axis_mask()))
        fail(where + ": ellipsis_mask and new_axis_mask are not supported");
      if (o && o->offset()) fail(where + ": offset (end relative to begin) is not supported");
      spec.begin = ints(1, "begin");
      spec.end = ints(2, "end");
      spec.strides = ints(3, "strides");
      if (o) {
        spec.begin_mask = o->begin_mask();
        spec.end_mask = o->end_mask();
        spec.shrink_axis_mask = o->shrink_axis_mask();
      }
      break;
    }
    case kSlice: {
      // SLICE is a strided slice of stride 1 with end = begin + size (size -1: to the end).
      need_inputs(3, 3);
      spec.type = OpType::StridedSlice;
      spec.begin = ints(1, "begin");
      const std::vector<int> size = ints(2, "size");
      if (size.size() != spec.begin.size()) fail(where + ": begin and size differ in length");
      for (size_t a = 0; a < size.size(); ++a) {
        spec.end.push_back(size[a] < 0 ? 0 : spec.begin[a] + size[a]);
        if (size[a] < 0) spec.end_mask |= 1 << a;
        spec.strides.push_back(1);
      }
      break;
    }
    case kResizeNearestNeighbor:
    case kResizeBilinear: {
      need_inputs(2, 2);
      spec.type = code == kResizeBilinear ? OpType::ResizeBilinear : OpType::ResizeNearest;
      if (code == kResizeBilinear) {
        const auto* o = op->builtin_options_as_ResizeBilinearOptions();
        spec.align_corners = o && o->align_corners();
        spec.half_pixel_centers = o && o->half_pixel_centers();
      } else {
        const auto* o = op->builtin_options_as_ResizeNearestNeighborOptions();
        spec.align_corners = o && o->align_corners();
        spec.half_pixel_centers = o && o->half_pixel_centers();
      }
      const std::vector<int> size = ints(1, "size");
      const std::vector<int> out_shape = shape_of(outs[0]);
      if (size.size() != 2 || out_shape.size() < 3 || size[0] != out_shape[out_shape.size() - 3] ||
          size[1] != out_shape[out_shape.size() - 2])
        fail(where + ": the size input does not match the output's height and width");
      break;
    }
    default: {
      std::string list;
      for (int32_t c : {kAdd, kAveragePool2d, kConcatenation, kConv2d, kDepthwiseConv2d, kExpandDims, kFullyConnected,
                        kHardSwish, kLeakyRelu, kLogistic, kMaxPool2d, kMean, kMul, kPad, kPadV2, kQuantize, kRelu,
                        kRelu6, kReluN1To1, kReshape, kResizeBilinear, kResizeNearestNeighbor, kSlice, kSoftmax,
                        kSqueeze, kStridedSlice, kSub, kTanh, kTranspose})
        list += (list.empty() ? "" : ", ") + tflite_op_name(c);
      fail(where + ": operator " + name + " (builtin code " + std::to_string(code) +
           ") is not supported (edgesim reads " + list + ")");
    }
  }
  for (size_t k = 0; k < data_inputs; ++k) spec.inputs.push_back(defined(ins[k], where));
  spec.output = activation(outs[0]);
  const FileLocation at{origin_, where};
  add_op(net_, std::move(spec), at);
  net_index_[static_cast<size_t>(outs[0])] = net_.ops.back().output;
}

void Reader::add_constants(const tfl::Operator* op) {
  const auto* codes = model_->operator_codes();
  if (!codes || op->opcode_index() >= codes->size() || !op->inputs()) return;  // add() reports it
  const tfl::OperatorCode* oc = codes->Get(op->opcode_index());
  if (!takes_constants(std::max<int32_t>(oc->builtin_code(), oc->deprecated_builtin_code()))) return;
  for (const int i : *op->inputs()) {
    if (i < 0 || static_cast<fb::uoffset_t>(i) >= tensors_->size() || net_index_[static_cast<size_t>(i)] >= 0 ||
        !buffer_of(i))
      continue;
    // A constant operand: an int8 tensor whose values the file holds.
    Tensor t = activation(i, true);
    const auto* data = buffer_of(i);
    if (data->size() != t.size())
      fail(tensor_where(i) + ": " + std::to_string(data->size()) + " bytes of data for " +
           std::to_string(t.size()) + " int8 values");
    t.data.assign(data->begin(), data->end());
    net_index_[static_cast<size_t>(i)] = add_constant(net_, std::move(t), {origin_, tensor_where(i)});
  }
}

}  // namespace

bool is_tflite(const std::string& path, const std::string& bytes) {
  if (bytes.size() >= 8 && std::memcmp(bytes.data() + 4, "TFL3", 4) == 0) return true;
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".tflite";
}

Network parse_tflite(const uint8_t* data, size_t size, const std::string& origin) {
  return Reader(data, size, origin).read();
}

std::string tflite_op_name(int32_t code) {
  constexpr int32_t n = static_cast<int32_t>(sizeof kBuiltinNames / sizeof kBuiltinNames[0]);
  if (code >= 0 && code < n) return kBuiltinNames[code];
  return "BUILTIN_" + std::to_string(code);
}

}  // namespace edgesim::npu
