#include "traces/router_logits.hpp"

#include <cmath>
#include <stdexcept>

#include "sim/core/errors.hpp"
#include "sim/core/json_count.hpp"

namespace edgesim::traces {

using nlohmann::json;

SyntheticRouterLogits::SyntheticRouterLogits(const ModelLayout& layout, const RouterSourceSettings& s)
    : s_(s), streams_(layout.layers()) {
  const MoeShape& m = layout.moe();
  for (uint64_t l = 0; l < layout.layers(); ++l) {
    if (!m.routed(l)) continue;
    Stream& st = streams_[l];
    // One generator per layer, so that a layer's logits do not depend on the order in which
    // layers are asked for: the model's (popularity) and the text's (the latent).
    st.rng.seed(s.popularity_seed * 0x9E3779B97F4A7C15ull + l);
    st.bias.resize(m.experts);
    st.latent.resize(m.experts);
    for (float& b : st.bias) b = static_cast<float>(s.popularity_sigma) * normal_(st.rng);
    st.rng.seed(s.seed * 0xD1B54A32D192ED03ull + l);
    for (float& u : st.latent) u = normal_(st.rng);  // stationary start
    st.value.resize(m.experts);
  }
}

const std::vector<float>& SyntheticRouterLogits::logits(uint64_t step, int layer) {
  Stream& st = streams_.at(static_cast<size_t>(layer));
  if (st.bias.empty())
    throw SimError("internal: router logits asked of dense layer " + std::to_string(layer));
  const float rho = static_cast<float>(s_.persistence);
  const float innov = std::sqrt(1.0f - rho * rho);
  // Advance the latent to `step` (the first call keeps the stationary draw).
  const uint64_t advance = st.step == UINT64_MAX ? 0 : step - st.step;
  for (uint64_t i = 0; i < advance; ++i) {
    for (float& u : st.latent) u = rho * u + innov * normal_(st.rng);
  }
  if (advance > 0 || st.step == UINT64_MAX) {
    for (size_t e = 0; e < st.value.size(); ++e)
      st.value[e] = st.bias[e] + static_cast<float>(s_.logit_scale) * st.latent[e];
    st.step = step;
  }
  return st.value;
}

std::string RouterLogitFile::entry_name(uint32_t layer) {
  return "layers." + std::to_string(layer) + ".router";
}

void RouterLogitFile::fail(const std::string& what) const {
  throw InputError("router logits " + npz_.path() + ": " + what);
}

RouterLogitFile::RouterLogitFile(const std::string& path) : npz_(path) {
  if (!npz_.contains("meta.json"))
    fail("no 'meta.json' entry (not written by scripts/capture_router_logits.py?)");
  try {
    meta_ = json::parse(npz_.read_raw("meta.json"));
    if (meta_.at("format") != "edgesim-router-logits")
      fail("meta.json: expected format 'edgesim-router-logits'");
    if (meta_.at("version") != kVersion) {
      fail("meta.json: expected version " + std::to_string(kVersion) + ", found " +
           meta_.at("version").dump());
    }
    layers_ = json_count<uint64_t>(meta_.at("layers"), "layers");
    experts_ = json_count<uint64_t>(meta_.at("experts"), "experts");
    tokens_ = json_count<uint64_t>(meta_.at("tokens"), "tokens");
    prompt_tokens_ = json_count<uint64_t>(meta_.at("prompt_tokens"), "prompt_tokens");
  } catch (const json::exception& e) {
    fail(std::string("meta.json: ") + e.what());
  } catch (const std::out_of_range& e) {
    fail(std::string("meta.json: ") + e.what());
  }
  if (prompt_tokens_ >= tokens_) {
    fail("meta.json: prompt_tokens " + std::to_string(prompt_tokens_) +
         " leaves no decoding rows of tokens " + std::to_string(tokens_));
  }
}

NpyArray RouterLogitFile::read(uint32_t layer) const {
  const std::string name = entry_name(layer);
  if (!npz_.contains(name)) fail("no entry '" + name + "' for routed layer " + std::to_string(layer));
  NpyArray a = npz_.read(name);
  const std::vector<uint64_t> want = {tokens_, experts_};
  if (a.shape != want) {
    std::string got;
    for (uint64_t d : a.shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
    fail("entry '" + name + "' has shape (" + got + "), expected (" + std::to_string(tokens_) + ", " +
         std::to_string(experts_) + ") [tokens, experts] as meta.json says");
  }
  for (float v : a.data) {
    if (!std::isfinite(v)) fail("entry '" + name + "' holds a non-finite logit");
  }
  return a;
}

void RouterLogitFile::check_matches(const ModelLayout& layout) const {
  const MoeShape& m = layout.moe();
  if (!m.enabled()) fail("model '" + layout.name() + "' has no experts (model.moe_experts = 0)");
  if (layers_ != layout.layers()) {
    fail("recorded from a model of " + std::to_string(layers_) + " layers; model '" + layout.name() +
         "' has " + std::to_string(layout.layers()));
  }
  if (experts_ != m.experts) {
    fail("recorded with " + std::to_string(experts_) + " experts per layer; model '" + layout.name() +
         "' has " + std::to_string(m.experts));
  }
  for (uint32_t l = 0; l < layers_; ++l) {
    if (m.routed(l)) read(l);  // every routed layer's array, whole: shape and values
  }
}

CapturedRouterLogits::CapturedRouterLogits(const std::string& path, const ModelLayout& layout)
    : file_(path), arrays_(layout.layers()), loaded_(layout.layers(), false) {
  file_.check_matches(layout);
}

const std::vector<float>& CapturedRouterLogits::logits(uint64_t step, int layer) {
  const size_t l = static_cast<size_t>(layer);
  if (!loaded_.at(l)) {
    arrays_[l] = file_.read(static_cast<uint32_t>(layer));
    loaded_[l] = true;
  }
  decode_row(arrays_[l], file_.prompt_tokens(), step, row_);
  return row_;
}

std::unique_ptr<RouterLogitSource> make_router_source(const RouterSourceSettings& s,
                                                      const ModelLayout& layout) {
  if (!s.file.empty()) return std::make_unique<CapturedRouterLogits>(s.file, layout);
  return std::make_unique<SyntheticRouterLogits>(layout, s);
}

std::vector<uint32_t> profile_hot_experts(RouterLogitSource& source, const ModelLayout& layout,
                                          uint32_t per_layer, uint64_t tokens) {
  const MoeShape& m = layout.moe();
  std::vector<uint32_t> out, chosen, order;
  std::vector<float> count;
  for (const Tensor& t : layout.tensors()) {
    if (t.klass != "moe.experts") continue;
    count.assign(t.chunks, 0.0f);
    for (uint64_t s = 0; s < tokens; ++s) {
      top_k(source.logits(s, t.layer), m.top_k, chosen);
      for (uint32_t e : chosen) count[e] += 1;
    }
    top_k(count, std::min(per_layer, t.chunks), order);
    for (uint32_t e : order) out.push_back(t.first_chunk + e);
  }
  return out;
}

const std::vector<config::ParamDecl>& router_param_decls() {
  using config::Quantity;
  // Defaults: docs/moe.md gives where each comes from (published routing statistics, or
  // "assumption" where none was found).
  static const std::vector<config::ParamDecl> kDecls = {
      {"router_logits", Quantity::String, "synthetic",
       "Source of router logits: synthetic (docs/moe.md), or a .npz from scripts/capture_router_logits.py"},
      {"router_popularity_sigma", Quantity::Real, 0.5,
       "Synthetic: sd of each expert's fixed logit bias per layer (popularity skew)", 0, 10},
      {"router_persistence", Quantity::Real, 0.3,
       "Synthetic: token-to-token correlation of the logits' latent (expert reuse)", 0, 0.999},
      {"router_logit_scale", Quantity::Real, 1.5, "Synthetic: sd of the token-dependent part of a logit",
       0.01, 100},
      {"router_popularity_seed", Quantity::Integer, 1,
       "Synthetic: seed of the experts' popularity (the model's; the tokens follow run.seed)", 0, 9.0e15},
  };
  return kDecls;
}

RouterSourceSettings router_settings(const config::Params& p) {
  RouterSourceSettings s;
  const std::string& kind = p.text("router_logits");
  if (kind != "synthetic") {
    try {
      RouterLogitFile check(kind);  // a bad file is a config error before any run
    } catch (const InputError& e) {
      config::fail_at(p.path_of("router_logits"), e.what());
    }
    s.file = kind;
  }
  s.popularity_sigma = p.number("router_popularity_sigma");
  s.persistence = p.number("router_persistence");
  s.logit_scale = p.number("router_logit_scale");
  s.popularity_seed = static_cast<uint64_t>(p.integer("router_popularity_seed"));
  return s;
}

}  // namespace edgesim::traces
