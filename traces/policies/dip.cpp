// Activation-sparsity policies for SwiGLU LLMs: each keeps, per token, a subset of a
// linear layer's inputs (its columns), chosen from the input itself, so only those
// columns' weights are read.
//  - dip: Dynamic Input Pruning (Federici et al., MLSys 2025, arXiv 2412.01380): top-k of
//    |x| for the MLP input (one mask shared by gate and up) and, separately, top-k of the
//    down projection's input; optionally the attention projections too.
//  - dip_cache_aware: DIP with cache-aware masking: scores of columns not in the DRAM
//    cache are multiplied by gamma, except the fixed_top_n largest, before the top-k.
//  - glu_pruning: the paper's GLU-pruning baseline (CATS/TEAL-style thresholding of the
//    SwiGLU product): only down's inputs are pruned, gate and up stay dense.
// docs/sparsity.md gives the rules with their sources; docs/reproduction/dip-research.md
// the notes they come from.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "sim/core/errors.hpp"
#include "sim/core/registry.hpp"
#include "traces/policies/input_pruning.hpp"

namespace edgesim::traces {

bool InputPruning::needs_input(const OpSpec& op) const {
  LinearInput site;
  if (!op_input_site(op, site)) return false;
  if (s_.predictor) return site == LinearInput::MlpGateUp;  // the predictor reads the MLP's input
  return s_.keep[static_cast<int>(site)] < 1;
}

// The predictor runs once per MLP, on the gate/up op's input.
bool InputPruning::runs_predictor(const OpSpec& op) const {
  LinearInput site;
  return s_.predictor && op_input_site(op, site) && site == LinearInput::MlpGateUp;
}

uint64_t InputPruning::extra_read_bytes(const OpSpec& op) const {
  return runs_predictor(op) ? dtype_bytes(dtype_, s_.predictor_rank * (hidden_ + inter_)) : 0;
}

uint64_t InputPruning::extra_flops(const OpSpec& op) const {
  return runs_predictor(op) ? 2 * s_.predictor_rank * (hidden_ + inter_) : 0;
}

void InputPruning::predict(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) {
  if (predicted_step_ != ctx.step || predicted_layer_ != op.layer) {
    const std::vector<float>& h = source_->input(ctx.step, op.layer, LinearInput::MlpDown);
    const uint32_t n = static_cast<uint32_t>(h.size());
    const uint32_t k =
        static_cast<uint32_t>(std::lround(s_.keep[static_cast<int>(LinearInput::MlpDown)] * n));
    choose(ctx, h, k, kept_);  // the truly active neurons
    // Each active neuron is predicted with probability `recall`; false positives (drawn
    // from the inactive ones) fill the set up to (1 + margin) x k.
    std::uniform_real_distribution<double> u(0, 1);
    predicted_.clear();
    member_.assign(n, 0);  // 1: active, 2: picked as a false positive
    for (uint32_t i : kept_) {
      member_[i] = 1;
      if (u(ctx.rng) < s_.recall) predicted_.push_back(i);
    }
    const uint32_t target =
        std::min(n, static_cast<uint32_t>(std::lround((1 + s_.margin) * static_cast<double>(k))));
    uint32_t inactive = n - static_cast<uint32_t>(kept_.size());
    while (predicted_.size() < target && inactive > 0) {
      const uint32_t i = static_cast<uint32_t>(ctx.rng() % n);
      if (member_[i] != 0) continue;
      member_[i] = 2;
      predicted_.push_back(i);
      --inactive;
    }
    std::sort(predicted_.begin(), predicted_.end());
    account(LinearInput::MlpDown, h, predicted_);
    predicted_step_ = ctx.step;
    predicted_layer_ = op.layer;
  }
  for (size_t i = 0; i < op.tensors.size(); ++i) {
    const Tensor& t = ctx.layout.tensors()[op.tensors[i]];
    if (t.kind == TensorKind::Linear && t.chunks == inter_) {
      sets[i].set_list();
      sets[i].ids = predicted_;
    } else {
      sets[i].set_all();
    }
  }
}

void InputPruning::check(const ModelLayout& layout) const {
  const std::string& chunking = layout.chunking();
  if (s_.predictor && chunking != "neuron" && chunking != "bundled") {
    config::fail_at("model.chunking",
                    "a neuron predictor selects gate/up rows and down columns: set "
                    "model.chunking to \"neuron\" or \"bundled\" (it is \"" +
                        chunking + "\")");
  }
  if (!s_.predictor && chunking != "column") {
    for (double keep : s_.keep) {
      if (keep < 1) {
        config::fail_at(
            "model.chunking",
            "input pruning selects columns: set model.chunking to \"column\" (it is \"" + chunking + "\")");
      }
    }
  }
  if (s_.activations.file.empty()) return;
  try {
    // Every array is read once here, so that a bad one is a config error, not a failure
    // in the middle of the simulation.
    const ActivationFile file(s_.activations.file);
    file.check_matches(layout);
    for (uint32_t l = 0; l < file.layers(); ++l) {
      for (size_t k = 0; k < kLinearInputs; ++k) file.read(l, static_cast<LinearInput>(k));
    }
  } catch (const InputError& e) {
    config::fail_at("policy.activations", e.what());
  }
}

void InputPruning::select(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) {
  LinearInput site;
  const bool masked = op_input_site(op, site) &&
                      (s_.predictor ? (site == LinearInput::MlpGateUp || site == LinearInput::MlpDown)
                                    : s_.keep[static_cast<int>(site)] < 1);
  if (!masked) {
    select_dense(ctx, op, sets);
    return;
  }
  if (!source_) {
    s_.activations.seed = ctx.rng();
    source_ = make_activation_source(s_.activations, ctx.layout);
  }
  if (inter_ == 0) {  // the model's shape, once
    hidden_ = ctx.layout.hidden_size();
    inter_ = ctx.layout.intermediate_size();
    dtype_ = ctx.layout.weight_dtype();
  }
  if (s_.predictor) {
    if (site == LinearInput::MlpGateUp || site == LinearInput::MlpDown)
      predict(ctx, op, sets);
    else
      select_dense(ctx, op, sets);
    return;
  }
  const std::vector<float>& x = source_->input(ctx.step, op.layer, site);
  const uint32_t n = static_cast<uint32_t>(x.size());
  const uint32_t k = static_cast<uint32_t>(std::lround(s_.keep[static_cast<int>(site)] * n));
  // The op's linear tensors whose columns are this input.
  linears_.clear();
  for (uint32_t ti : op.tensors) {
    const Tensor& t = ctx.layout.tensors()[ti];
    if (t.kind == TensorKind::Linear && t.cols == n && t.chunks == n) linears_.push_back(ti);
  }
  choose(ctx, x, k, kept_);
  account(site, x, kept_);
  for (size_t i = 0; i < op.tensors.size(); ++i) {
    const uint32_t ti = op.tensors[i];
    if (std::find(linears_.begin(), linears_.end(), ti) == linears_.end()) {
      sets[i].set_all();
      continue;
    }
    sets[i].set_list();
    sets[i].ids = kept_;
  }
}

nlohmann::json InputPruning::metrics() const {
  nlohmann::json m = nlohmann::json::object();
  double err_sum = 0;
  uint64_t n = 0;
  for (int k = 0; k < static_cast<int>(kLinearInputs); ++k) {
    if (samples_[k] == 0) continue;
    const double err = err_[k] / static_cast<double>(samples_[k]);
    m[linear_input_name(static_cast<LinearInput>(k))] = {
        {"kept_fraction", kept_sum_[k] / static_cast<double>(samples_[k])}, {"relative_error", err}};
    err_sum += err_[k];
    n += samples_[k];
  }
  // The accuracy proxy: mean over tokens, layers and masked sites of ||x - x_kept|| / ||x||,
  // which is E||W(x - x_kept)|| / E||W x|| for weights with i.i.d. entries (docs/sparsity.md).
  m["accuracy_proxy"] = n ? err_sum / static_cast<double>(n) : 0.0;
  return m;
}

// Top-k of |x|, or, cache-aware, of |x| x w with w = 1 for cached columns and for the
// fixed_top_n largest, gamma otherwise. Ids come out sorted.
void InputPruning::choose(const PolicyContext& ctx, const std::vector<float>& x, uint32_t k,
                          std::vector<uint32_t>& out) {
  const uint32_t n = static_cast<uint32_t>(x.size());
  score_.resize(n);
  for (uint32_t i = 0; i < n; ++i) score_[i] = std::fabs(x[i]);
  if (s_.cache_aware && s_.gamma < 1 && !linears_.empty()) {
    const uint32_t fixed = static_cast<uint32_t>(std::lround(s_.fixed_top_fraction * k));
    float threshold = std::numeric_limits<float>::infinity();
    if (fixed > 0) {
      order_ = score_;
      std::nth_element(order_.begin(), order_.begin() + (fixed - 1), order_.end(), std::greater<float>());
      threshold = order_[fixed - 1];  // scores at or above it are exempt
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (score_[i] >= threshold) continue;
      bool cached = true;
      for (uint32_t ti : linears_)
        cached = cached && ctx.cache.resident(ctx.layout.tensors()[ti].first_chunk + i);
      if (!cached) score_[i] *= static_cast<float>(s_.gamma);
    }
  }
  // The k-th largest score, then one pass in index order: every score above it, and
  // ties at it from the lowest index, until k. Ids come out sorted without a sort.
  out.clear();
  if (k == 0) return;
  if (k >= n) {
    out.resize(n);
    std::iota(out.begin(), out.end(), 0u);
    return;
  }
  order_ = score_;
  std::nth_element(order_.begin(), order_.begin() + (k - 1), order_.end(), std::greater<float>());
  const float kth = order_[k - 1];
  uint32_t above = 0;
  for (uint32_t i = 0; i < n; ++i) above += score_[i] > kth;
  uint32_t ties = k - above;
  for (uint32_t i = 0; i < n; ++i) {
    if (score_[i] > kth) {
      out.push_back(i);
    } else if (score_[i] == kth && ties > 0) {
      out.push_back(i);
      --ties;
    }
  }
}

void InputPruning::account(LinearInput site, const std::vector<float>& x, const std::vector<uint32_t>& kept) {
  double total = 0, kept_energy = 0;
  for (float v : x) total += static_cast<double>(v) * v;
  for (uint32_t i : kept) kept_energy += static_cast<double>(x[i]) * x[i];
  const int s = static_cast<int>(site);
  err_[s] += total > 0 ? std::sqrt(std::max(0.0, total - kept_energy) / total) : 0.0;
  kept_sum_[s] += static_cast<double>(kept.size()) / static_cast<double>(x.size());
  ++samples_[s];
}

namespace {

using config::Quantity;

config::ParamTable table(std::vector<config::ParamDecl> own) {
  config::ParamTable t;
  t.params = std::move(own);
  for (const auto& d : activation_param_decls()) t.params.push_back(d);
  return t;
}

std::vector<config::ParamDecl> dip_decls() {
  return {
      {"sparsity_mlp_in", Quantity::Real, 0.5, "Share of the MLP input (gate/up columns) dropped per token",
       0, 1},
      {"sparsity_mlp_down", Quantity::Real, 0.5, "Share of the down projection's input dropped per token", 0,
       1},
      {"sparsity_attn", Quantity::Real, 0.0, "Share of the attention projections' inputs dropped (q/k/v, o)",
       0, 1},
  };
}

std::vector<config::ParamDecl> dip_ca_decls() {
  auto d = dip_decls();
  d.push_back({"gamma", Quantity::Real, 0.1, "Weight of an uncached column's score (1: plain DIP)", 0, 1});
  d.push_back({"fixed_top_fraction", Quantity::Real, 0.5,
               "fixed_top_n as a share of k: the largest kept whatever the cache", 0, 1});
  return d;
}

const config::ParamTable kDipParams = table(dip_decls());
const config::ParamTable kDipCaParams = table(dip_ca_decls());

const config::ParamTable kGluParams = table({
    {"sparsity_mlp_down", Quantity::Real, 0.5, "Share of the down projection's input dropped per token", 0,
     1},
});

InputPruning::Settings dip_settings(const config::Params& p, bool cache_aware) {
  InputPruning::Settings s;
  s.keep[static_cast<int>(LinearInput::MlpGateUp)] = 1 - p.number("sparsity_mlp_in");
  s.keep[static_cast<int>(LinearInput::MlpDown)] = 1 - p.number("sparsity_mlp_down");
  s.keep[static_cast<int>(LinearInput::AttnQkv)] = 1 - p.number("sparsity_attn");
  s.keep[static_cast<int>(LinearInput::AttnO)] = 1 - p.number("sparsity_attn");
  s.cache_aware = cache_aware;
  if (cache_aware) {
    s.gamma = p.number("gamma");
    s.fixed_top_fraction = p.number("fixed_top_fraction");
  }
  s.activations = activation_settings(p);
  return s;
}

const Registration<Policy> kDip("dip", "Dynamic Input Pruning: top-k of each MLP linear's input magnitudes",
                                kDipParams, [](const config::Params& p) {
                                  return std::make_unique<InputPruning>(dip_settings(p, false));
                                });
const Registration<Policy> kDipCa(
    "dip_cache_aware", "DIP with cache-aware masking: uncached columns' scores x gamma before the top-k",
    kDipCaParams,
    [](const config::Params& p) { return std::make_unique<InputPruning>(dip_settings(p, true)); });
const Registration<Policy> kGlu(
    "glu_pruning", "GLU pruning (CATS/TEAL-style): only the down projection's inputs, gate/up dense",
    kGluParams, [](const config::Params& p) {
      InputPruning::Settings s;
      s.keep[static_cast<int>(LinearInput::MlpDown)] = 1 - p.number("sparsity_mlp_down");
      s.activations = activation_settings(p);
      return std::make_unique<InputPruning>(s);
    });

const config::ParamTable kPredictorParams = table({
    {"sparsity", Quantity::Real, 0.8, "Share of MLP neurons inactive per token (ReLU-style)", 0, 0.999},
    {"recall", Quantity::Real, 0.95, "Share of the active neurons the predictor finds", 0, 1},
    {"margin", Quantity::Real, 0.1, "Extra neurons predicted, as a share of the active count", 0, 10},
    {"predictor_rank", Quantity::Integer, 1024,
     "Hidden width of the low-rank predictor (its weights are read "
     "each MLP: rank x (hidden + intermediate))",
     0, 1 << 20},
});

const Registration<Policy> kPredictor(
    "relu_predictor",
    "ReLU-style neuron sparsity with a predictor (Deja Vu): predicted gate/up rows and down columns are read",
    kPredictorParams, [](const config::Params& p) {
      InputPruning::Settings s;
      s.predictor = true;
      s.keep[static_cast<int>(LinearInput::MlpDown)] = 1 - p.number("sparsity");
      s.recall = p.number("recall");
      s.margin = p.number("margin");
      s.predictor_rank = static_cast<uint64_t>(p.integer("predictor_rank"));
      s.activations = activation_settings(p);
      return std::make_unique<InputPruning>(s);
    });

}  // namespace
}  // namespace edgesim::traces
