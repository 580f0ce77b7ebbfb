#pragma once
// Weight compression as the NPU sees it: the statistics of a layer's weights and the size
// of their encoded stream (Ethos-U's weight stream format, weight_codec.hpp), and the
// transforms that make streams smaller, magnitude pruning and clustering. Pruning and
// clustering change the network's function, so accuracy must be measured again after them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/npu/network.hpp"

namespace edgesim::npu {

struct WeightEncoding {
  size_t weights = 0, zeros = 0, distinct_nonzero = 0;
  std::string mode = "direct";  // the encoder's choice (StreamCode::mode)
  size_t bits = 0;              // encoded stream bits (16-byte padded), bias and scale excluded
  size_t bytes() const { return (bits + 7) / 8; }
  double bits_per_weight() const {
    return weights ? static_cast<double>(bits) / static_cast<double>(weights) : 0.0;
  }
};

/// Counts of `w` (weights, zeros, distinct non-zero values); bits and mode left empty.
WeightEncoding weight_stats(const int8_t* w, size_t n);
/// weight_stats and the Ethos-U stream of `w` in the order given.
WeightEncoding encode_weights(const int8_t* w, size_t n);

/// Magnitude pruning of the `prune` fraction of smallest |w| (ties: lower index first),
/// then 1-D k-means clustering of the non-zero values into `clusters` int8 centroids
/// (0: no clustering). Deterministic.
void prune_and_cluster(int8_t* w, size_t n, double prune, int clusters);

/// Applies prune_and_cluster to the weighted ops `layers` names ("*": all).
void compress_network(Network& net, double prune, int clusters, const std::vector<std::string>& layers);

}  // namespace edgesim::npu
