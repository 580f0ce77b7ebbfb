#include "models/npu/tflite_writer.hpp"

#include "models/npu/tflite.hpp"
#include "models/npu/tflite_builder.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::npu {

namespace {

using namespace tflite_builtin;  // NOLINT: the operator codes, as the schema names them

tfl::ActivationFunctionType fused(Activation a) {
  switch (a) {
    case Activation::Relu: return tfl::ActivationFunctionType_RELU;
    case Activation::Relu6: return tfl::ActivationFunctionType_RELU6;
    case Activation::ReluN1To1: return tfl::ActivationFunctionType_RELU_N1_TO_1;
    case Activation::None: break;
  }
  return tfl::ActivationFunctionType_NONE;
}

tfl::Padding padding(const Op& op) {
  return op.same_padding ? tfl::Padding_SAME : tfl::Padding_VALID;
}

/// Padding, strides and fused activation of a conv, depthwise or pool options table.
template <class Options>
void set_window(Options& o, const Op& op) {
  o.padding = padding(op);
  o.stride_h = op.sh;
  o.stride_w = op.sw;
  o.fused_activation_function = fused(op.activation);
}

/// ... and the dilation of a conv or depthwise one.
template <class Options>
void set_conv(Options& o, const Op& op) {
  set_window(o, op);
  o.dilation_h_factor = op.dh;
  o.dilation_w_factor = op.dw;
}

std::vector<float> floats(const std::vector<double>& v) {
  return std::vector<float>(v.begin(), v.end());
}

class Writer {
 public:
  explicit Writer(const Network& net) : net_(net), index_(net.tensors.size(), -1) {}

  std::vector<uint8_t> write() {
    b_.model.description = net_.description.empty() ? net_.name : net_.description;
    index_[static_cast<size_t>(net_.input)] = activation(net_.input);
    for (size_t i = 0; i < net_.tensors.size(); ++i) {
      const Tensor& t = net_.tensors[i];
      if (t.constant())
        index_[i] = b_.const_int8(t.name, t.shape, static_cast<float>(t.scale), t.zero_point, t.data);
    }
    for (const Op& op : net_.ops) add(op);
    return b_.finish(index_[static_cast<size_t>(net_.input)], index_[static_cast<size_t>(net_.output)]);
  }

 private:
  int activation(int t) {
    const Tensor& x = net_.tensors[static_cast<size_t>(t)];
    return b_.activation(x.name, x.shape, static_cast<float>(x.scale), x.zero_point);
  }
  int in(const Op& op, size_t k) const { return index_[static_cast<size_t>(op.inputs[k])]; }

  /// Weights of `shape` quantized per channel along `dimension`, and the bias.
  std::pair<int, int> weights(const Op& op, std::vector<int> shape, int dimension) {
    const std::vector<float> scales = floats(op.weight_scales);
    const int w = b_.tensor(op.name + "/weights", std::move(shape), tfl::TensorType_INT8, scales, {},
                            dimension, TfliteModelBuilder::bytes(op.weights));
    const double s_in = net_.tensors[static_cast<size_t>(op.inputs[0])].scale;
    const int bias = b_.bias(op.name + "/bias", op.bias, static_cast<float>(s_in), scales);
    return {w, bias};
  }

  template <class Options>
  void binary(int32_t code, const Op& op, const std::vector<int>& ins, int out) {
    Options o;
    o.fused_activation_function = fused(op.activation);
    b_.op(code, ins, {out}, &o);
  }

  void add(const Op& op) {
    const Tensor& x = net_.tensors[static_cast<size_t>(op.inputs[0])];
    const Tensor& y = net_.tensors[static_cast<size_t>(op.output)];
    std::vector<int> ins;
    for (size_t k = 0; k < op.inputs.size(); ++k) ins.push_back(in(op, k));
    const int out = activation(op.output);
    index_[static_cast<size_t>(op.output)] = out;
    switch (op.type) {
      case OpType::Conv2d: {
        const auto [w, bias] = weights(op, {y.c, op.kh, op.kw, x.c}, 0);
        tfl::Conv2DOptionsT o;
        set_conv(o, op);
        b_.op(kConv2d, {ins[0], w, bias}, {out}, &o);
        return;
      }
      case OpType::DepthwiseConv2d: {
        const auto [w, bias] = weights(op, {1, op.kh, op.kw, y.c}, 3);
        tfl::DepthwiseConv2DOptionsT o;
        set_conv(o, op);
        o.depth_multiplier = op.depth_multiplier;
        b_.op(kDepthwiseConv2d, {ins[0], w, bias}, {out}, &o);
        return;
      }
      case OpType::FullyConnected: {
        const auto [w, bias] = weights(op, {y.c, static_cast<int>(x.size())}, 0);
        tfl::FullyConnectedOptionsT o;
        o.fused_activation_function = fused(op.activation);
        b_.op(kFullyConnected, {ins[0], w, bias}, {out}, &o);
        return;
      }
      case OpType::AvgPool:
      case OpType::MaxPool: {
        tfl::Pool2DOptionsT o;
        set_window(o, op);
        o.filter_height = op.kh;
        o.filter_width = op.kw;
        b_.op(op.type == OpType::AvgPool ? kAveragePool2d : kMaxPool2d, ins, {out}, &o);
        return;
      }
      case OpType::Add: return binary<tfl::AddOptionsT>(kAdd, op, ins, out);
      case OpType::Sub: return binary<tfl::SubOptionsT>(kSub, op, ins, out);
      case OpType::Mul: return binary<tfl::MulOptionsT>(kMul, op, ins, out);
      case OpType::Mean: {
        // The axes as written: the reduced 4-D axes less the dimensions the input's shape omits.
        std::vector<int32_t> axes;
        const int lead = 4 - static_cast<int>(x.shape.size());
        for (int a = 0; a < 4; ++a)
          if (op.reduce[static_cast<size_t>(a)]) axes.push_back(a - lead);
        const int t = b_.const_int32(op.name + "/axes", {static_cast<int>(axes.size())}, axes);
        tfl::ReducerOptionsT o;
        o.keep_dims = y.shape.size() == x.shape.size();
        b_.op(kMean, {ins[0], t}, {out}, &o);
        return;
      }
      case OpType::Softmax: {
        tfl::SoftmaxOptionsT o;
        o.beta = static_cast<float>(op.beta);
        b_.op(kSoftmax, ins, {out}, &o);
        return;
      }
      case OpType::Reshape: {
        tfl::ReshapeOptionsT o;
        o.new_shape = y.shape;
        b_.op(kReshape, ins, {out}, &o);
        return;
      }
      case OpType::HardSwish: b_.op(kHardSwish, ins, {out}); return;
      case OpType::Logistic: b_.op(kLogistic, ins, {out}); return;
      case OpType::Tanh: b_.op(kTanh, ins, {out}); return;
      case OpType::Relu: b_.op(kRelu, ins, {out}); return;
      case OpType::Relu6: b_.op(kRelu6, ins, {out}); return;
      case OpType::ReluN1To1: b_.op(kReluN1To1, ins, {out}); return;
      case OpType::Quantize: b_.op(kQuantize, ins, {out}); return;
      default:
        throw InputError("write_tflite: " + net_.name + ": op '" + op.name + "' (" + op_type_name(op.type) +
                         ") has no TFLite form in the writer");
    }
  }

  const Network& net_;
  std::vector<int> index_;  // Network tensor -> TFLite tensor
  TfliteModelBuilder b_;
};

}  // namespace

std::vector<uint8_t> write_tflite(const Network& net) {
  return Writer(net).write();
}

}  // namespace edgesim::npu
