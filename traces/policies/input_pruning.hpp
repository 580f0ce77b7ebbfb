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
  };
  /// With no `source`, synthetic activations are made at the first step (seeded from the
  /// run's generator).
  explicit InputPruning(const Settings& s, std::unique_ptr<ActivationSource> source = nullptr)
      : s_(s), source_(std::move(source)) {}

  bool cache_aware() const override { return s_.cache_aware; }
  bool needs_input(const OpSpec& op) const override;
  void check(const ModelLayout& layout) const override;
  void select(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) override;
  nlohmann::json metrics() const override;

 private:
  void choose(const PolicyContext& ctx, const std::vector<float>& x, uint32_t k, std::vector<uint32_t>& out);
  void account(LinearInput site, const std::vector<float>& x, const std::vector<uint32_t>& kept);

  Settings s_;
  std::unique_ptr<ActivationSource> source_;
  std::vector<uint32_t> linears_, kept_;
  std::vector<float> score_, order_;
  double err_[kLinearInputs] = {}, kept_sum_[kLinearInputs] = {};
  uint64_t samples_[kLinearInputs] = {};
};

}  // namespace edgesim::traces
