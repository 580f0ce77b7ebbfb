#pragma once
// Where MoE routing policies get each routed layer's router logits, token by token: a
// synthetic generator with documented statistics (docs/moe.md), or logits captured from
// a real model (scripts/capture_router_logits.py). The shape of activation sources
// (traces/activations.hpp), for routers.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/config/params.hpp"
#include "traces/model_layout.hpp"
#include "traces/npy.hpp"

namespace edgesim::traces {

class RouterLogitSource {
 public:
  virtual ~RouterLogitSource() = default;
  /// Router logits (one per routed expert) of decoder layer `layer` at `step`. Steps are
  /// asked in non-decreasing order. The reference stays valid until the next call.
  virtual const std::vector<float>& logits(uint64_t step, int layer) = 0;
};

/// Synthetic router logits: z_{t,l,e} = b_{l,e} + scale x u_{t,l,e}. The bias b (normal,
/// sd popularity_sigma, fixed per layer and expert) makes some experts more popular than
/// others; it belongs to the model, so it follows popularity_seed. The latent u follows
/// an AR(1) process over tokens with correlation `persistence` (consecutive tokens tend
/// to pick the same experts); it belongs to the text, so it follows the run's seed.
struct RouterSourceSettings {
  std::string file;               // captured logits (.npz); empty: synthetic
  double popularity_sigma = 0.5;  // logit units
  double persistence = 0.3;       // AR(1) rho
  double logit_scale = 1.5;       // sd of the token-dependent part
  uint64_t popularity_seed = 1;
  uint64_t seed = 1;
};

class SyntheticRouterLogits final : public RouterLogitSource {
 public:
  SyntheticRouterLogits(const ModelLayout& layout, const RouterSourceSettings& s);
  const std::vector<float>& logits(uint64_t step, int layer) override;

 private:
  struct Stream {
    std::vector<float> bias, latent, value;
    std::mt19937_64 rng;
    uint64_t step = UINT64_MAX;
  };
  RouterSourceSettings s_;
  std::vector<Stream> streams_;  // per layer (dense layers' stay empty)
  std::normal_distribution<float> normal_{0.0f, 1.0f};
};

/// Captured router logits: an .npz with a "meta.json" entry (format
/// "edgesim-router-logits", version, layers, experts, tokens, prompt_tokens) and one
/// [tokens, experts] array "layers.{i}.router" per routed layer.
class RouterLogitFile {
 public:
  static constexpr int kVersion = 1;
  explicit RouterLogitFile(const std::string& path);
  static std::string entry_name(uint32_t layer);
  uint64_t tokens() const { return tokens_; }
  uint64_t prompt_tokens() const { return prompt_tokens_; }
  /// Throws InputError naming the file and entry unless it has the model's layers and
  /// experts, and every routed layer's entry has shape [tokens, experts].
  void check_matches(const ModelLayout& layout) const;
  NpyArray read(uint32_t layer) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  NpzReader npz_;
  nlohmann::json meta_;
  uint64_t layers_ = 0, experts_ = 0, tokens_ = 0, prompt_tokens_ = 0;
};

/// Step s reads row (prompt_tokens + s) of each layer's array, wrapping over the decoding
/// rows when the run is longer than the capture.
class CapturedRouterLogits final : public RouterLogitSource {
 public:
  CapturedRouterLogits(const std::string& path, const ModelLayout& layout);
  const std::vector<float>& logits(uint64_t step, int layer) override;

 private:
  RouterLogitFile file_;
  std::vector<NpyArray> arrays_;  // per layer, read on first use
  std::vector<bool> loaded_;
  std::vector<float> row_;
};

std::unique_ptr<RouterLogitSource> make_router_source(const RouterSourceSettings& s,
                                                      const ModelLayout& layout);

/// The `per_layer` experts of each routed layer that top-k routing picks most often over
/// `tokens` tokens of `source` (ties to the lower index), as global chunk ids of the
/// layers' expert tensors: the hot set an expert-pinning deployment profiles for.
std::vector<uint32_t> profile_hot_experts(RouterLogitSource& source, const ModelLayout& layout,
                                          uint32_t per_layer, uint64_t tokens);

/// The router-source parameters every routing policy accepts, and the settings they give.
const std::vector<config::ParamDecl>& router_param_decls();
RouterSourceSettings router_settings(const config::Params& p);

}  // namespace edgesim::traces
