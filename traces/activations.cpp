#include "traces/activations.hpp"

#include <cmath>

#include "sim/core/errors.hpp"

namespace edgesim::traces {

using config::Quantity;

bool op_input_site(const OpSpec& op, LinearInput& site) {
  if (op.layer < 0) return false;
  if (op.kind == OpKind::Attention) {
    site = LinearInput::AttnQkv;
    return true;
  }
  if (op.name.size() >= 8 && op.name.compare(op.name.size() - 8, 8, "attn_out") == 0) {
    site = LinearInput::AttnO;
    return true;
  }
  if (op.name.size() >= 11 && op.name.compare(op.name.size() - 11, 11, "mlp_gate_up") == 0) {
    site = LinearInput::MlpGateUp;
    return true;
  }
  if (op.name.size() >= 8 && op.name.compare(op.name.size() - 8, 8, "mlp_down") == 0) {
    site = LinearInput::MlpDown;
    return true;
  }
  return false;
}

namespace {
// Input width of each site.
uint64_t site_width(const ModelLayout& layout, LinearInput site) {
  switch (site) {
    case LinearInput::AttnQkv: return layout.hidden_size();
    case LinearInput::AttnO: return layout.attention_width();
    case LinearInput::MlpGateUp: return layout.hidden_size();
    case LinearInput::MlpDown: return layout.intermediate_size();
  }
  return 0;
}

}  // namespace

SyntheticActivations::FastNormal::FastNormal(uint64_t seed) {
  for (auto& w : s) {  // splitmix64 to fill the state
    seed += 0x9E3779B97F4A7C15ull;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    w = z ^ (z >> 31);
  }
}

float SyntheticActivations::FastNormal::operator()() {
  if (has_spare) {
    has_spare = false;
    return spare;
  }
  auto next = [this] {
    const uint64_t r = s[0] + s[3], t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return static_cast<float>(r >> 40) * (2.0f / 16777216.0f) - 1.0f;  // uniform in [-1, 1)
  };
  float a, b, q;
  do {
    a = next();
    b = next();
    q = a * a + b * b;
  } while (q >= 1.0f || q == 0.0f);
  const float m = std::sqrt(-2.0f * std::log(q) / q);
  spare = b * m;
  has_spare = true;
  return a * m;
}

namespace {
// |Laplace quantile of Phi(u)| as a function of |u|: -ln(erfc(|u| / sqrt 2)), tabulated.
class LaplaceOfGaussian {
 public:
  LaplaceOfGaussian() {
    for (int i = 0; i <= kN; ++i) table_[i] = exact(static_cast<float>(i) * kStep);
  }
  float operator()(float a) const {
    const float x = a / kStep;
    if (x >= kN) return exact(a);
    const int i = static_cast<int>(x);
    const float f = x - static_cast<float>(i);
    return table_[i] + f * (table_[i + 1] - table_[i]);
  }

 private:
  static float exact(float a) { return -std::log(std::erfc(a * 0.70710678f)); }
  static constexpr int kN = 4096;
  static constexpr float kStep = 8.0f / kN;
  float table_[kN + 1];
};
const LaplaceOfGaussian kLaplace;
}  // namespace

SyntheticActivations::SyntheticActivations(const ModelLayout& layout, const SyntheticActivationSettings& s)
    : s_(s), rng_(s.seed), fast_(s.seed ^ 0x5DEECE66Dull) {
  const int layers = static_cast<int>(layout.layers());
  streams_.resize(static_cast<size_t>(layers) * static_cast<int>(kLinearInputs));
  std::uniform_real_distribution<double> u01(0, 1);
  for (int l = 0; l < layers; ++l) {
    for (int k = 0; k < static_cast<int>(kLinearInputs); ++k) {
      const auto site = static_cast<LinearInput>(k);
      Stream& st = streams_[static_cast<size_t>(l) * static_cast<int>(kLinearInputs) + k];
      const uint64_t n = site_width(layout, site);
      const bool down = site == LinearInput::MlpDown;
      const double sigma = down ? s_.down_channel_sigma : s_.channel_sigma;
      st.gaussian = (down ? s_.down_tail : s_.tail) == "gaussian";
      st.scale.resize(n);
      st.latent.resize(n);
      st.value.resize(n);
      for (uint64_t i = 0; i < n; ++i) {
        double sc = std::exp(sigma * normal_(rng_));
        if (u01(rng_) < s_.outlier_fraction) sc *= s_.outlier_scale;
        st.scale[i] = static_cast<float>(sc);
        st.latent[i] = normal_(rng_);
      }
    }
  }
}

const std::vector<float>& SyntheticActivations::input(uint64_t step, int layer, LinearInput site) {
  Stream& st =
      streams_.at(static_cast<size_t>(layer) * static_cast<int>(kLinearInputs) + static_cast<int>(site));
  if (st.step == step) return st.value;
  // Advance the latent AR(1) process to this step (one update per step elapsed).
  const float rho = static_cast<float>(s_.token_correlation);
  const float innov = std::sqrt(1.0f - rho * rho);
  const uint64_t updates = st.step == UINT64_MAX ? 0 : std::min<uint64_t>(step - st.step, 64);
  for (uint64_t k = 0; k < updates; ++k) {
    for (auto& u : st.latent) u = rho * u + innov * fast_();
  }
  st.step = step;
  const size_t n = st.latent.size();
  for (size_t i = 0; i < n; ++i) {
    const float u = st.latent[i];
    float mag;
    // Laplace(0, 1) quantile of Phi(u), by symmetry: -ln(2 Phi(-|u|)) = -ln(erfc(|u|/sqrt 2)).
    mag = st.gaussian ? std::fabs(u) : kLaplace(std::fabs(u));
    st.value[i] = std::copysign(st.scale[i] * mag, u);
  }
  return st.value;
}

const std::vector<config::ParamDecl>& activation_param_decls() {
  static const std::vector<config::ParamDecl> kDecls = {
      {"activations", Quantity::String, "synthetic",
       "Source of layer inputs: synthetic (docs/sparsity.md), or a .npz of captured activations"},
      {"act_tail",
       Quantity::String,
       "laplace",
       "Synthetic: marginal of the inputs",
       -INFINITY,
       INFINITY,
       {"laplace", "gaussian"}},
      {"act_channel_sigma", Quantity::Real, 0.5, "Synthetic: log-normal sigma of per-channel scales", 0, 5},
      {"act_outlier_fraction", Quantity::Real, 0.002, "Synthetic: share of outlier channels", 0, 1},
      {"act_outlier_scale", Quantity::Real, 20.0, "Synthetic: outlier channels' scale multiplier", 1, 1e6},
      {"act_token_correlation", Quantity::Real, 0.6, "Synthetic: token-to-token correlation of the latent", 0,
       0.999},
      {"act_down_tail",
       Quantity::String,
       "laplace",
       "Synthetic: marginal of the down-projection input",
       -INFINITY,
       INFINITY,
       {"laplace", "gaussian"}},
      {"act_down_channel_sigma", Quantity::Real, 0.8, "Synthetic: per-channel sigma of the down input", 0, 5},
  };
  return kDecls;
}

CapturedActivations::CapturedActivations(const std::string& path, const ModelLayout& layout) : file_(path) {
  file_.check_matches(layout);
  arrays_.resize(file_.layers() * kLinearInputs);
  loaded_.assign(arrays_.size(), false);
  if (file_.tokens() <= file_.prompt_tokens()) {
    throw InputError(path + ": the capture has no decoding steps (tokens = prompt tokens)");
  }
}

const std::vector<float>& CapturedActivations::input(uint64_t step, int layer, LinearInput site) {
  const size_t i = static_cast<size_t>(layer) * kLinearInputs + static_cast<size_t>(site);
  if (!loaded_[i]) {
    arrays_[i] = file_.read(static_cast<uint32_t>(layer), site);
    loaded_[i] = true;
  }
  decode_row(arrays_[i], file_.prompt_tokens(), step, row_);
  return row_;
}

std::unique_ptr<ActivationSource> make_activation_source(const SyntheticActivationSettings& s,
                                                         const ModelLayout& layout) {
  if (!s.file.empty()) return std::make_unique<CapturedActivations>(s.file, layout);
  return std::make_unique<SyntheticActivations>(layout, s);
}

SyntheticActivationSettings activation_settings(const config::Params& p) {
  const std::string& kind = p.text("activations");
  SyntheticActivationSettings s;
  if (kind != "synthetic") {
    // A captured file: open it now, so that a bad file is a config error before any run.
    try {
      ActivationFile check(kind);
    } catch (const InputError& e) {
      config::fail_at(p.path_of("activations"), e.what());
    }
    s.file = kind;
  }
  s.tail = p.text("act_tail");
  s.channel_sigma = p.number("act_channel_sigma");
  s.outlier_fraction = p.number("act_outlier_fraction");
  s.outlier_scale = p.number("act_outlier_scale");
  s.token_correlation = p.number("act_token_correlation");
  s.down_tail = p.text("act_down_tail");
  s.down_channel_sigma = p.number("act_down_channel_sigma");
  return s;
}

}  // namespace edgesim::traces
