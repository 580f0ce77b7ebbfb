#include "traces/activation_file.hpp"

#include <algorithm>
#include <stdexcept>

#include "sim/core/errors.hpp"
#include "sim/core/json_count.hpp"

namespace edgesim::traces {

using nlohmann::json;

namespace {

constexpr LinearInput kAllInputs[kLinearInputs] = {LinearInput::AttnQkv, LinearInput::AttnO,
                                                   LinearInput::MlpGateUp, LinearInput::MlpDown};

/// The input that feeds a linear tensor of the model layout, by its class ("mlp.up").
bool input_of_class(const std::string& klass, LinearInput& k) {
  // MLA's query and latent down-projections read the attention input too; q_b and kv_b
  // read the latents.
  if (klass == "attn.q" || klass == "attn.k" || klass == "attn.v" || klass == "attn.q_a" ||
      klass == "attn.kv_a") {
    k = LinearInput::AttnQkv;
  } else if (klass == "attn.o") {
    k = LinearInput::AttnO;
  } else if (klass == "mlp.gate" || klass == "mlp.up") {
    k = LinearInput::MlpGateUp;
  } else if (klass == "mlp.down") {
    k = LinearInput::MlpDown;
  } else {
    return false;
  }
  return true;
}

}  // namespace

const char* linear_input_name(LinearInput k) {
  switch (k) {
    case LinearInput::AttnQkv: return "attn.qkv";
    case LinearInput::AttnO: return "attn.o";
    case LinearInput::MlpGateUp: return "mlp.gate_up";
    case LinearInput::MlpDown: return "mlp.down";
    case LinearInput::None: break;
  }
  return "?";
}

std::string ActivationFile::entry_name(uint32_t layer, LinearInput k) {
  return "layers." + std::to_string(layer) + "." + linear_input_name(k);
}

void ActivationFile::fail(const std::string& what) const {
  throw InputError("activations " + npz_.path() + ": " + what);
}

ActivationFile::ActivationFile(const std::string& path) : npz_(path) {
  if (!npz_.contains(kMetaEntry))
    fail("no 'meta.json' entry (not written by scripts/capture_activations.py?)");
  const std::string text = npz_.read_raw(kMetaEntry);
  try {
    meta_ = json::parse(text);
    if (meta_.at("format") != "edgesim-activations") fail("meta.json: expected format 'edgesim-activations'");
    if (meta_.at("version") != kVersion) {
      fail("meta.json: expected version " + std::to_string(kVersion) + ", found " +
           meta_.at("version").dump());
    }
    layers_ = json_count<uint32_t>(meta_.at("layers"), "layers");
    tokens_ = json_count<uint64_t>(meta_.at("tokens"), "tokens");
    prompt_tokens_ = json_count<uint64_t>(meta_.at("prompt_tokens"), "prompt_tokens");
    for (LinearInput k : kAllInputs) {
      const std::string name = linear_input_name(k);
      features_[static_cast<size_t>(k)] =
          json_count<uint64_t>(meta_.at("features").at(name), "features." + name);
    }
  } catch (const json::exception& e) {
    fail(std::string("meta.json: ") + e.what());
  } catch (const std::out_of_range& e) {
    fail(std::string("meta.json: ") + e.what());
  }
  if (prompt_tokens_ > tokens_) {
    fail("meta.json: prompt_tokens " + std::to_string(prompt_tokens_) + " exceeds tokens " +
         std::to_string(tokens_));
  }
  for (uint32_t l = 0; l < layers_; ++l) {
    for (LinearInput k : kAllInputs) {
      if (!npz_.contains(entry_name(l, k))) {
        fail("no entry '" + entry_name(l, k) + "', though meta.json says " + std::to_string(layers_) +
             " layers");
      }
    }
  }
}

NpyArray ActivationFile::read(uint32_t layer, LinearInput k) const {
  if (layer >= layers_) {
    fail("no layer " + std::to_string(layer) + " (the file has " + std::to_string(layers_) + ")");
  }
  const std::string name = entry_name(layer, k);
  NpyArray a = npz_.read(name);
  const std::vector<uint64_t> want = {tokens_, features(k)};
  if (a.shape != want) {
    std::string got;
    for (uint64_t d : a.shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
    fail("entry '" + name + "' has shape (" + got + "), expected (" + std::to_string(tokens_) + ", " +
         std::to_string(features(k)) + ") [tokens, features] as meta.json says");
  }
  return a;
}

void ActivationFile::check_matches(const ModelLayout& layout) const {
  const uint64_t model_layers = layout.layers();
  if (model_layers != layers_) {
    fail("recorded from a model of " + std::to_string(layers_) + " layers; model '" + layout.name() +
         "' has " + std::to_string(model_layers));
  }
  for (const Tensor& t : layout.tensors()) {
    LinearInput k;
    if (t.layer < 0 || t.kind != TensorKind::Linear || !input_of_class(t.klass, k)) continue;
    if (t.cols != features(k)) {
      fail(std::string("its '") + linear_input_name(k) + "' inputs have " + std::to_string(features(k)) +
           " features; model '" + layout.name() + "' tensor " + t.name + " takes " + std::to_string(t.cols));
    }
  }
}

}  // namespace edgesim::traces
