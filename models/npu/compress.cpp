#include "models/npu/compress.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "models/npu/weight_codec.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::npu {

WeightEncoding weight_stats(const int8_t* w, size_t n) {
  WeightEncoding e;
  e.weights = n;
  std::array<size_t, 256> count{};
  for (size_t i = 0; i < n; ++i) ++count[static_cast<uint8_t>(w[i])];
  e.zeros = count[0];
  for (size_t v = 1; v < count.size(); ++v) e.distinct_nonzero += count[v] ? 1 : 0;
  return e;
}

WeightEncoding encode_weights(const int8_t* w, size_t n) {
  WeightEncoding e = weight_stats(w, n);
  const std::vector<int16_t> v(w, w + n);
  const StreamCode c = analyse_stream(v.data(), v.size());
  e.bits = 8 * c.bytes;
  e.mode = c.mode();
  return e;
}

void prune_and_cluster(int8_t* w, size_t n, double prune, int clusters) {
  if (n == 0) return;
  if (prune > 0) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return std::abs(w[a]) < std::abs(w[b]); });
    const auto k = static_cast<size_t>(std::floor(prune * static_cast<double>(n)));
    for (size_t i = 0; i < k; ++i) w[order[i]] = 0;
  }
  if (clusters <= 0) return;
  std::vector<int> values;
  for (size_t i = 0; i < n; ++i) {
    if (w[i] != 0) values.push_back(w[i]);
  }
  if (values.empty()) return;
  std::vector<int> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const auto k = static_cast<size_t>(clusters);
  std::vector<double> centre(k);
  for (size_t j = 0; j < k; ++j)  // initial centroids at the quantiles
    centre[j] = sorted[k > 1 ? j * (sorted.size() - 1) / (k - 1) : sorted.size() / 2];
  auto nearest = [&](int v) {
    size_t best = 0;
    for (size_t j = 1; j < k; ++j) {
      if (std::abs(v - centre[j]) < std::abs(v - centre[best])) best = j;
    }
    return best;
  };
  for (int iter = 0; iter < 20; ++iter) {  // Lloyd's iterations over the int8 values
    std::vector<double> sum(k, 0);
    std::vector<size_t> count(k, 0);
    for (int v : values) {
      const size_t j = nearest(v);
      sum[j] += v;
      ++count[j];
    }
    for (size_t j = 0; j < k; ++j) {
      if (count[j]) centre[j] = sum[j] / static_cast<double>(count[j]);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (w[i] == 0) continue;
    const long c = std::lround(centre[nearest(w[i])]);
    // A centroid that rounds to 0 keeps the weight's sign: clustering does not prune.
    w[i] = static_cast<int8_t>(c != 0 ? std::clamp<long>(c, -128, 127) : (w[i] > 0 ? 1 : -1));
  }
}

void compress_network(Network& net, double prune, int clusters, const std::vector<std::string>& layers) {
  if (prune <= 0 && clusters <= 0) return;
  const bool all = std::find(layers.begin(), layers.end(), "*") != layers.end();
  for (const auto& name : layers) {
    if (name == "*") continue;
    const bool found = std::any_of(net.ops.begin(), net.ops.end(),
                                   [&](const Op& op) { return op.name == name && !op.weights.empty(); });
    if (!found)
      throw InputError("config error at device.npu.compress_layers: no weighted layer '" + name +
                       "' in network " + net.name);
  }
  for (auto& op : net.ops) {
    if (op.weights.empty()) continue;
    if (!all && std::find(layers.begin(), layers.end(), op.name) == layers.end()) continue;
    prune_and_cluster(op.weights.data(), op.weights.size(), prune, clusters);
  }
}

}  // namespace edgesim::npu
