#pragma once
// Captured activations, as scripts/capture_activations.py writes them (docs/activations.md):
// an .npz holding, for every decoder layer, the per-token inputs of its linear layers as
// [tokens, features] arrays named "layers.{i}.{kind}", and a "meta.json" entry that
// describes the capture (model, dimensions, token counts, decoding settings).
#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "traces/model_layout.hpp"
#include "traces/npy.hpp"

namespace edgesim::traces {

/// "attn.qkv", "attn.o", "mlp.gate_up" or "mlp.down": the entry name's suffix.
const char* linear_input_name(LinearInput k);

class ActivationFile {
 public:
  static constexpr int kVersion = 1;
  static constexpr const char* kMetaEntry = "meta.json";

  /// Opens the archive, reads meta.json and checks that every layer's four entries exist.
  explicit ActivationFile(const std::string& path);

  const nlohmann::json& meta() const { return meta_; }
  uint32_t layers() const { return layers_; }
  /// Rows of every array: the prompt's tokens, then one per decoding step.
  uint64_t tokens() const { return tokens_; }
  uint64_t prompt_tokens() const { return prompt_tokens_; }
  uint64_t features(LinearInput k) const { return features_[static_cast<size_t>(k)]; }

  /// "layers.{layer}.{linear_input_name(k)}"
  static std::string entry_name(uint32_t layer, LinearInput k);
  /// The [tokens, features(k)] inputs of one layer; any other shape is an InputError.
  NpyArray read(uint32_t layer, LinearInput k) const;
  /// Throws InputError unless the file has the model's layer count and each input's
  /// feature count equals the input columns of the tensors it feeds.
  void check_matches(const ModelLayout& layout) const;

 private:
  [[noreturn]] void fail(const std::string& what) const;
  NpzReader npz_;
  nlohmann::json meta_;
  uint32_t layers_ = 0;
  uint64_t tokens_ = 0, prompt_tokens_ = 0;
  std::array<uint64_t, kLinearInputs> features_{};
};

}  // namespace edgesim::traces
