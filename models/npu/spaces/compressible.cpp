// `compressible`: the knobs of Ethos-U-aware compression searches on top of the other
// spaces. UDC (Sun et al., "Unified DNN Compression", NeurIPS 2022) searches per-layer
// sparsity and bit width for the Ethos-U weight encoder; RAN (Ramanathan et al.) restructures
// activations into ReLU-only equivalents the microNPU runs well (RAN-e replaces hard swish
// and squeeze-excite). Here each weighted layer is, with some probability, pruned to a
// sparsity drawn from a range and/or clustered to a codebook of 2^k values (both change
// the encoded weight stream: zero runs and a smaller palette); and a network is, with
// some probability, restructured: hard swish becomes a fused ReLU6 and squeeze-excite
// gates are dropped.
#include <algorithm>

#include "models/npu/spaces/space.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::npu::spaces {

namespace {

using config::Quantity;
using nlohmann::json;

const config::ParamTable kParams = {{
    {"base",
     Quantity::String,
     "any",
     "Space compressed (any: each network picks one)",
     0,
     0,
     {"any", "mobilenetv2", "resnet", "dscnn"}},
    {"compress_probability", Quantity::Real, 0.8, "Chance that a weighted layer is compressed", 0, 1},
    {"sparsity_min", Quantity::Real, 0.0, "Lowest weight sparsity of a compressed layer (fraction of zeros)",
     0, 1},
    {"sparsity_max", Quantity::Real, 0.9, "Highest weight sparsity of a compressed layer", 0, 1},
    {"cluster_probability", Quantity::Real, 0.5, "Chance that a compressed layer is also clustered", 0, 1},
    {"clusters_min", Quantity::Integer, 4,
     "Fewest distinct non-zero values of a clustered layer (powers of 2)", 2, 128},
    {"clusters_max", Quantity::Integer, 64, "Most distinct non-zero values of a clustered layer", 2, 128},
    {"restructure_probability", Quantity::Real, 0.5,
     "Chance that a network's hard swish and squeeze-excite are replaced by ReLU-only equivalents", 0, 1},
}};

class Compressible final : public Space {
 public:
  explicit Compressible(const config::Params& p)
      : compress_(p.number("compress_probability")),
        sparsity_min_(p.number("sparsity_min")),
        sparsity_max_(p.number("sparsity_max")),
        cluster_(p.number("cluster_probability")),
        restructure_(p.number("restructure_probability")) {
    if (sparsity_min_ > sparsity_max_)
      throw InputError("space compressible.sparsity: the range [" + std::to_string(sparsity_min_) + ", " +
                       std::to_string(sparsity_max_) + "] is empty: it yields no valid network");
    std::vector<int> powers;
    for (int k = 2; k <= 128; k *= 2) powers.push_back(k);
    for (int k : values_in(static_cast<int>(p.integer("clusters_min")),
                           static_cast<int>(p.integer("clusters_max")), 1, 1, "compressible.clusters"))
      if (std::find(powers.begin(), powers.end(), k) != powers.end()) clusters_.push_back(k);
    if (clusters_.empty())
      throw InputError(
          "space compressible.clusters: the range [" + std::to_string(p.integer("clusters_min")) + ", " +
          std::to_string(p.integer("clusters_max")) + "] holds no power of 2: it yields no valid network");
    const std::string& base = p.text("base");
    names_ = base == "any" ? std::vector<std::string>{"dscnn", "mobilenetv2", "resnet"}
                           : std::vector<std::string>{base};
  }

  void bind(const json& options, json& resolved) override {
    for (const auto& n : names_) bases_.push_back(make_space(n, options, resolved));
  }

  Sample generate(uint64_t seed, const Compression*) const override {
    Rng r(seed);
    const size_t k = static_cast<size_t>(r.next() % bases_.size());
    Compression c;
    c.relu_only = r.chance(restructure_);
    const double lo = sparsity_min_, hi = sparsity_max_, pc = compress_, pk = cluster_;
    const std::vector<int> clusters = clusters_;
    c.layer_style = [=](Rng& lr) {
      WeightStyle s;
      if (!lr.chance(pc)) return s;
      s.sparsity = lo + (hi - lo) * lr.unit();
      if (lr.chance(pk)) s.clusters = lr.pick(clusters);
      return s;
    };
    Sample s = bases_[k]->generate(r.next(), &c);
    s.net.name = "compressible-" + names_[k];
    s.arch["base"] = names_[k];
    s.arch["relu_only"] = c.relu_only;
    return s;
  }

 private:
  double compress_, sparsity_min_, sparsity_max_, cluster_, restructure_;
  std::vector<int> clusters_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Space>> bases_;
};

const Registration<Space> kRegistration(
    "compressible",
    "UDC/RAN-style knobs on another space: per-layer sparsity and clustering, "
    "ReLU-only restructuring of hard swish and squeeze-excite",
    kParams, [](const config::Params& p) { return std::make_unique<Compressible>(p); });

}  // namespace

}  // namespace edgesim::npu::spaces
