#include "models/npu/features.hpp"

#include <algorithm>

namespace edgesim::npu {

std::vector<uint64_t> live_activation_bytes(const Network& net) {
  // A tensor lives from the op that writes it (the input: from the start) to the last op
  // that reads it (the network's output: to the end).
  const size_t n = net.ops.size();
  std::vector<long> first(net.tensors.size(), -1), last(net.tensors.size(), -2);
  first[static_cast<size_t>(net.input)] = 0;
  for (size_t i = 0; i < n; ++i) {
    const Op& op = net.ops[i];
    first[static_cast<size_t>(op.output)] = static_cast<long>(i);
    last[static_cast<size_t>(op.output)] =
        std::max(last[static_cast<size_t>(op.output)], static_cast<long>(i));
    for (int t : op.inputs) last[static_cast<size_t>(t)] = static_cast<long>(i);
  }
  if (n) last[static_cast<size_t>(net.output)] = static_cast<long>(n - 1);
  // Interval sums by a difference array.
  std::vector<int64_t> delta(n + 1, 0);
  for (size_t t = 0; t < net.tensors.size(); ++t) {
    if (net.tensors[t].constant() || first[t] < 0 || last[t] < first[t]) continue;
    const auto bytes = static_cast<int64_t>(net.tensors[t].size());
    delta[static_cast<size_t>(first[t])] += bytes;
    delta[static_cast<size_t>(last[t]) + 1] -= bytes;
  }
  std::vector<uint64_t> live(n);
  int64_t sum = 0;
  for (size_t i = 0; i < n; ++i) live[i] = static_cast<uint64_t>(sum += delta[i]);
  return live;
}

namespace {

/// The zeros among w, counted in spans short enough for 8-bit lanes (which the compiler
/// vectorises; std::count is a byte at a time).
uint64_t count_zeros(const std::vector<int8_t>& w) {
  uint64_t n = 0;
  for (size_t i = 0; i < w.size(); i += 255) {
    const size_t end = std::min(w.size(), i + 255);
    uint8_t c = 0;
    for (size_t j = i; j < end; ++j) c = static_cast<uint8_t>(c + (w[j] == 0));
    n += c;
  }
  return n;
}

}  // namespace

GraphFeatures graph_features(const Network& net) {
  GraphFeatures f;
  const auto& types = all_op_types();
  f.op_counts.assign(types.size(), 0);
  f.layers = net.ops.size();
  for (const Op& op : net.ops) {
    f.cpu_layers += op.on_cpu ? 1 : 0;
    f.macs += op.macs;
    f.params += op.weights.size() + op.bias.size();
    f.weights += op.weights.size();
    f.weight_bytes += op.weights.size() + 4 * op.bias.size();
    f.zero_weights += count_zeros(op.weights);
    const auto k = static_cast<size_t>(std::find(types.begin(), types.end(), op.type) - types.begin());
    ++f.op_counts[k];
  }
  const std::vector<uint64_t> live = live_activation_bytes(net);
  f.peak_activation_bytes = live.empty() ? 0 : *std::max_element(live.begin(), live.end());
  return f;
}

}  // namespace edgesim::npu
