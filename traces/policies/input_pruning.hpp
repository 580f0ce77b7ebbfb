#pragma once
// Input pruning: the policies that keep, per token, a subset of a linear layer's inputs
// (its columns), chosen from the input itself (dip, dip_cache_aware, glu_pruning in
// dip.cpp). Declared here so that tests can feed it hand-made activations.
#include <memory>
#include <vector>

#include "traces/activations.hpp"
#include "traces/policy.hpp"

namespace edgesim::traces {

class InputPruning : public Policy {
 public:
  struct Settings {
    double keep[kLinearInputs] = {1, 1, 1, 1};  // kept fraction per site
    bool cache_aware = false;
    double gamma = 1;
    double fixed_top_fraction = 0.5;  // fixed_top_n = this x k
    SyntheticActivationSettings activations;
    // Neuron predictor (Deja Vu style), instead of input masks: the active neurons are
    // the top-k of the SwiGLU product h (k from keep[MlpDown]); the predicted set holds
    // each of them with probability `recall`, filled up with inactive neurons to
    // (1 + margin) x k; gate/up rows, down columns (or bundles) of the predicted set are
    // read; the predictor's weights (hidden x rank + rank x intermediate) are read each
    // MLP.
    bool predictor = false;
    double recall = 1, margin = 0;
    uint64_t predictor_rank = 0;
  };
  /// With no `source`, synthetic activations are made at the first step (seeded from the
  /// run's generator).
  explicit InputPruning(const Settings& s, std::unique_ptr<ActivationSource> source = nullptr)
      : s_(s), source_(std::move(source)) {}

  bool cache_aware() const override { return s_.cache_aware; }
  bool needs_input(const OpSpec& op) const override;
  void check(const ModelLayout& layout) const override;
  uint64_t extra_read_bytes(const OpSpec& op) const override;
  uint64_t extra_flops(const OpSpec& op) const override;
  void select(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) override;
  nlohmann::json metrics() const override;
  const char* pass_behaviour() const override {
    return "dense: the prompt and verified tokens read every column (DIP's paper runs the prompt dense); "
           "pruning applies to single-token decode steps";
  }

 private:
  void choose(const PolicyContext& ctx, const std::vector<float>& x, uint32_t k, std::vector<uint32_t>& out);
  void account(LinearInput site, const std::vector<float>& x, const std::vector<uint32_t>& kept);
  void predict(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets);
  bool runs_predictor(const OpSpec& op) const;

  Settings s_;
  std::unique_ptr<ActivationSource> source_;
  std::vector<uint32_t> linears_, kept_;
  std::vector<float> score_, order_;
  std::vector<uint32_t> predicted_;  // the current layer's predicted neurons
  std::vector<uint8_t> member_;
  uint64_t predicted_step_ = UINT64_MAX;
  int predicted_layer_ = -1;
  uint64_t hidden_ = 0, inter_ = 0;
  Dtype dtype_ = Dtype::fp16;
  double err_[kLinearInputs] = {}, kept_sum_[kLinearInputs] = {};
  uint64_t samples_[kLinearInputs] = {};
};

}  // namespace edgesim::traces
