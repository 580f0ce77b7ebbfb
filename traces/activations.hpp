#pragma once
// Where activation-sparsity policies get the inputs of each linear layer, token by token:
// a synthetic generator with documented statistics (docs/sparsity.md), or activations
// captured from a real model (scripts/capture_activations.py). A policy asks for the
// input of a site (the input shared by q/k/v, the input of o, the MLP input shared by gate
// and up, and the input of down) of one layer at one step.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sim/core/config/params.hpp"
#include "traces/activation_file.hpp"
#include "traces/model_layout.hpp"

namespace edgesim::traces {

/// The input site of an op, if its chunk sets follow an input vector.
bool op_input_site(const OpSpec& op, LinearInput& site);

class ActivationSource {
 public:
  virtual ~ActivationSource() = default;
  /// Input vector of `site` in decoder layer `layer` at `step`. Steps are asked in
  /// non-decreasing order. The reference stays valid until the next call.
  virtual const std::vector<float>& input(uint64_t step, int layer, LinearInput site) = 0;
};

/// Synthetic SwiGLU-LLM activations. Per layer and site, channel i has a fixed scale s_i
/// (log-normal, with a few outlier channels much larger) and a latent Gaussian u_i that
/// follows an AR(1) process over tokens (correlation rho); the value is
/// s_i x F^-1(Phi(u_i)) with F a Laplace or Gaussian marginal. The down-projection input
/// (the SwiGLU product) has its own, heavier-tailed parameters.
struct SyntheticActivationSettings {
  std::string file;              // captured activations (.npz); empty: synthetic
  std::string tail = "laplace";  // laplace or gaussian
  double channel_sigma = 0.5;    // log-normal sigma of per-channel scales
  double outlier_fraction = 0.002, outlier_scale = 20;
  double token_correlation = 0.6;  // rho of the AR(1) latent
  std::string down_tail = "laplace";
  double down_channel_sigma = 0.8;
  uint64_t seed = 1;
};

class SyntheticActivations final : public ActivationSource {
 public:
  SyntheticActivations(const ModelLayout& layout, const SyntheticActivationSettings& s);
  const std::vector<float>& input(uint64_t step, int layer, LinearInput site) override;

 private:
  struct Stream {
    std::vector<float> scale, latent, value;
    uint64_t step = UINT64_MAX;
    bool gaussian = false;
  };
  // xoshiro256+ and the polar method: the hot path draws a normal per input per token.
  struct FastNormal {
    uint64_t s[4];
    float spare = 0;
    bool has_spare = false;
    explicit FastNormal(uint64_t seed);
    float operator()();
  };
  SyntheticActivationSettings s_;
  std::vector<Stream> streams_;  // layer x site
  std::mt19937_64 rng_;
  std::normal_distribution<float> normal_{0.0f, 1.0f};
  FastNormal fast_;
};

/// Activations captured from a real model (scripts/capture_activations.py, docs/activations.md):
/// step s reads row (prompt tokens + s) of each array, wrapping over the decoding rows when
/// the run is longer than the capture.
class CapturedActivations final : public ActivationSource {
 public:
  CapturedActivations(const std::string& path, const ModelLayout& layout);
  const std::vector<float>& input(uint64_t step, int layer, LinearInput site) override;

 private:
  ActivationFile file_;
  std::vector<NpyArray> arrays_;  // layer x site, read on first use
  std::vector<bool> loaded_;
  std::vector<float> row_;
};

/// The source a policy's settings select, for `layout`.
std::unique_ptr<ActivationSource> make_activation_source(const SyntheticActivationSettings& s,
                                                         const ModelLayout& layout);

/// The activation parameters every sparsity policy accepts, and the settings they give
/// (checked when the config is read; the source itself is made at the first step, when
/// the layout and the run's seed are known).
const std::vector<config::ParamDecl>& activation_param_decls();
SyntheticActivationSettings activation_settings(const config::Params& p);

}  // namespace edgesim::traces
