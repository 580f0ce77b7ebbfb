// Activation-sparsity policies on hand-made activations: top-k keeps exactly the largest
// inputs, the cache-aware rule trades a little magnitude for a hit but not a lot, GLU
// pruning leaves gate and up dense; and the synthetic source's statistics.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <set>

#include "sim/core/registry.hpp"
#include "test_helpers.hpp"
#include "traces/policies/input_pruning.hpp"

using namespace edgesim;
using namespace edgesim::traces;

namespace {

// Every site's input is the same hand-made vector (cut or padded to the site's width).
class FixedActivations final : public ActivationSource {
 public:
  explicit FixedActivations(std::vector<float> v) : v_(std::move(v)) {}
  const std::vector<float>& input(uint64_t, int, LinearInput) override { return v_; }

 private:
  std::vector<float> v_;
};

class SetResidency final : public ResidencyView {
 public:
  std::set<uint32_t> chunks;
  bool resident(uint32_t c) const override { return chunks.count(c) > 0; }
};

struct Rig {
  ModelLayout layout = test::tiny_layout();  // hidden 64, intermediate 128
  SetResidency cache;
  std::mt19937_64 rng{1};

  const OpSpec& op(const std::string& name) const {
    for (const auto& o : layout.ops()) {
      if (o.name == name) return o;
    }
    FAIL("no op " << name);
    return layout.ops()[0];
  }
  const Tensor& tensor(const std::string& name) const {
    for (const auto& t : layout.tensors()) {
      if (t.name == name) return t;
    }
    FAIL("no tensor " << name);
    return layout.tensors()[0];
  }
  std::vector<ChunkSet> select(Policy& p, const std::string& op_name) {
    const OpSpec& o = op(op_name);
    std::vector<ChunkSet> sets(o.tensors.size());
    PolicyContext ctx{layout, cache, 0, {}, rng};
    p.select(ctx, o, sets);
    return sets;
  }
};

// A width-n input: small values, with `big` (index -> value) set.
std::vector<float> input(size_t n, std::initializer_list<std::pair<uint32_t, float>> big) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.01f * static_cast<float>((i * 7) % 13 + 1) * (i % 2 ? -1.0f : 1.0f);
  for (const auto& [i, x] : big) v[i] = x;
  return v;
}

InputPruning::Settings keep_mlp_in(double keep) {
  InputPruning::Settings s;
  s.keep[static_cast<int>(LinearInput::MlpGateUp)] = keep;
  return s;
}

}  // namespace

TEST_CASE("dip: top-k keeps exactly the largest |inputs|, gate and up share the mask") {
  Rig r;
  // k = 4 of 64: the four largest magnitudes, one of them negative.
  auto x = input(64, {{3, 5.0f}, {17, -9.0f}, {40, 2.0f}, {63, 1.5f}, {20, 1.4f}});
  InputPruning dip(keep_mlp_in(4.0 / 64), std::make_unique<FixedActivations>(x));
  const auto sets = r.select(dip, "layers.0.mlp_gate_up");
  REQUIRE(sets.size() == 3);                   // norm, gate, up
  CHECK(sets[0].kind == ChunkSet::Kind::All);  // the norm is read whole
  CHECK(sets[1].ids == std::vector<uint32_t>{3, 17, 40, 63});
  CHECK(sets[2].ids == sets[1].ids);
  CHECK(dip.needs_input(r.op("layers.0.mlp_gate_up")));
  CHECK_FALSE(dip.needs_input(r.op("layers.0.mlp_down")));  // down left dense here
  CHECK(r.select(dip, "layers.0.mlp_down")[0].kind == ChunkSet::Kind::All);
  // The accuracy proxy is the dropped share of the input's norm.
  double total = 0, kept = 0;
  for (size_t i = 0; i < x.size(); ++i) total += x[i] * x[i];
  for (uint32_t i : {3, 17, 40, 63}) kept += x[i] * x[i];
  CHECK(dip.metrics()["mlp.gate_up"]["relative_error"].get<double>() ==
        Approx(std::sqrt((total - kept) / total)));
}

TEST_CASE("dip cache-aware: a cached column beats a slightly larger uncached one, not a much larger one") {
  Rig r;
  const Tensor& gate = r.tensor("layers.0.mlp.gate");
  const Tensor& up = r.tensor("layers.0.mlp.up");
  auto settings = keep_mlp_in(2.0 / 64);  // k = 2
  settings.cache_aware = true;
  settings.gamma = 0.5;
  settings.fixed_top_fraction = 0.5;  // fixed_top_n = 1: the largest is kept whatever the cache
  // Column 10 is the largest (kept); 11 (uncached, 4.0) vs 12 (cached, 3.0): 4.0 x 0.5 < 3.0.
  auto slight = input(64, {{10, 8.0f}, {11, 4.0f}, {12, 3.0f}});
  for (uint32_t c : {12u}) r.cache.chunks.insert({gate.first_chunk + c, up.first_chunk + c});
  InputPruning ca(settings, std::make_unique<FixedActivations>(slight));
  CHECK(r.select(ca, "layers.0.mlp_gate_up")[1].ids == std::vector<uint32_t>{10, 12});

  // Much larger: 11 at 7.0 x 0.5 = 3.5 beats cached 12 at 3.0.
  auto much = input(64, {{10, 8.0f}, {11, 7.0f}, {12, 3.0f}});
  InputPruning ca2(settings, std::make_unique<FixedActivations>(much));
  CHECK(r.select(ca2, "layers.0.mlp_gate_up")[1].ids == std::vector<uint32_t>{10, 11});

  // A column counts as cached only when both its gate and up columns are.
  r.cache.chunks.erase(up.first_chunk + 12);
  InputPruning ca3(settings, std::make_unique<FixedActivations>(slight));
  CHECK(r.select(ca3, "layers.0.mlp_gate_up")[1].ids == std::vector<uint32_t>{10, 11});

  // The fixed top is exempt: the largest is kept although it is not cached and the others are.
  r.cache.chunks.clear();
  for (uint32_t c = 0; c < 64; ++c) {
    if (c != 10) r.cache.chunks.insert({gate.first_chunk + c, up.first_chunk + c});
  }
  InputPruning ca4(settings, std::make_unique<FixedActivations>(slight));
  CHECK(r.select(ca4, "layers.0.mlp_gate_up")[1].ids == std::vector<uint32_t>{10, 11});
  CHECK(ca4.cache_aware());
}

TEST_CASE("glu pruning keeps gate and up dense and prunes down's inputs") {
  Rig r;
  InputPruning::Settings s;
  s.keep[static_cast<int>(LinearInput::MlpDown)] = 0.25;
  InputPruning glu(s, std::make_unique<FixedActivations>(input(128, {{5, 9.0f}})));
  const auto gu = r.select(glu, "layers.1.mlp_gate_up");
  CHECK(gu[1].kind == ChunkSet::Kind::All);
  CHECK(gu[2].kind == ChunkSet::Kind::All);
  const auto down = r.select(glu, "layers.1.mlp_down");
  REQUIRE(down[0].kind == ChunkSet::Kind::List);
  CHECK(down[0].ids.size() == 32);
  CHECK(std::count(down[0].ids.begin(), down[0].ids.end(), 5u) == 1);
  CHECK(std::is_sorted(down[0].ids.begin(), down[0].ids.end()));
}

TEST_CASE("synthetic activations: heavy tails, outlier channels and token correlation as configured") {
  const ModelLayout layout = test::tiny_layout({{"hidden_size", 2048}, {"heads", 32}, {"kv_heads", 16}});
  SyntheticActivationSettings s;
  s.channel_sigma = 0;  // unit scales, so the marginal shows
  s.outlier_fraction = 0;
  s.token_correlation = 0.8;
  SyntheticActivations a(layout, s);
  const std::vector<float> t0 = a.input(0, 0, LinearInput::MlpGateUp);
  const std::vector<float> t1 = a.input(1, 0, LinearInput::MlpGateUp);
  double m2 = 0, m4 = 0;
  for (size_t i = 0; i < t0.size(); ++i) {
    m2 += t0[i] * t0[i];
    m4 += std::pow(t0[i], 4);
  }
  m2 /= t0.size();
  m4 /= t0.size();
  // Laplace(0, 1): variance 2, kurtosis 6 (Gaussian: 3).
  CHECK(m2 == Approx(2.0).epsilon(0.15));
  CHECK(m4 / (m2 * m2) > 4.5);
  // Latent correlation 0.8 shows in the magnitudes' rank agreement: the top 10 % overlap.
  auto top = [](const std::vector<float>& v) {
    std::vector<uint32_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0u);
    std::nth_element(idx.begin(), idx.begin() + v.size() / 10, idx.end(),
                     [&](uint32_t a, uint32_t b) { return std::fabs(v[a]) > std::fabs(v[b]); });
    return std::set<uint32_t>(idx.begin(), idx.begin() + v.size() / 10);
  };
  const auto a0 = top(t0), a1 = top(t1);
  size_t common = 0;
  for (uint32_t i : a0) common += a1.count(i);
  CHECK(common > a0.size() / 3);  // independent draws would share about 10 %

  SyntheticActivationSettings o;
  o.outlier_fraction = 0.01;
  o.outlier_scale = 50;
  SyntheticActivations b(layout, o);
  const auto& v = b.input(0, 1, LinearInput::MlpGateUp);
  const float mx = std::fabs(
      *std::max_element(v.begin(), v.end(), [](float p, float q) { return std::fabs(p) < std::fabs(q); }));
  CHECK(mx > 30);  // an outlier channel stands far above the Laplace bulk
}

TEST_CASE("static pruning stores targeted columns sparse: bitmap or 16-bit indices") {
  Rig r;  // tiny: gate columns of 128 rows, fp16
  const auto& entry = Registry<Policy>::instance().at("static_pruning", "policy.name");
  auto make = [&](nlohmann::json p) { return entry.make(config::Params(*entry.params, p, "policy")); };
  const Tensor& gate = r.tensor("layers.0.mlp.gate");
  const Tensor& head = r.tensor("lm_head");
  REQUIRE(gate.chunk_bytes == 256);
  auto bitmap = make({{"sparsity", 0.75}});
  CHECK(bitmap->stored_chunk_bytes(gate, Dtype::fp16) == 128 / 8 + 32 * 2);  // 16 B of bits + 32 kept values
  CHECK(bitmap->stored_chunk_bytes(head, Dtype::fp16) == head.chunk_bytes);  // not a target
  auto index = make({{"sparsity", 0.75}, {"format", "index16"}});
  CHECK(index->stored_chunk_bytes(gate, Dtype::fp16) == 32 * (2 + 2));
  auto mlp_only = make({{"sparsity", 0.5}, {"targets", {"mlp.down"}}});
  CHECK(mlp_only->stored_chunk_bytes(gate, Dtype::fp16) == gate.chunk_bytes);
  // Every chunk is still read: the choice is dense.
  const auto sets = r.select(*bitmap, "layers.0.mlp_gate_up");
  CHECK(sets[1].kind == ChunkSet::Kind::All);
}

TEST_CASE("neuron and bundled chunking: gate/up by row, down by column, or a neuron's three parts as one") {
  const ModelLayout neuron = test::tiny_layout({{"chunking", "neuron"}});
  const ModelLayout bundled = test::tiny_layout({{"chunking", "bundled"}});
  auto find = [](const ModelLayout& l, const std::string& name) -> const Tensor* {
    for (const auto& t : l.tensors()) {
      if (t.name == name) return &t;
    }
    return nullptr;
  };
  const Tensor* gate = find(neuron, "layers.0.mlp.gate");
  REQUIRE(gate);
  CHECK(gate->row_chunks);
  CHECK(gate->chunks == 128);          // one per intermediate neuron
  CHECK(gate->chunk_bytes == 64 * 2);  // a row of hidden fp16 weights
  CHECK_FALSE(find(neuron, "layers.0.mlp.down")->row_chunks);
  CHECK(find(bundled, "layers.0.mlp.gate") == nullptr);
  const Tensor* bundle = find(bundled, "layers.0.mlp.bundle");
  REQUIRE(bundle);
  CHECK(bundle->chunks == 128);
  CHECK(bundle->chunk_bytes == 3 * 64 * 2);  // gate row + up row + down column
  // Same weight bytes in all three layouts, and FLOPs follow what is read.
  CHECK(bundled.total_weight_bytes() == neuron.total_weight_bytes());
  const OpSpec* gu = nullptr;
  for (const auto& o : bundled.ops()) {
    if (o.name == "layers.0.mlp_gate_up") gu = &o;
  }
  REQUIRE(gu);
  std::vector<ChunkSet> sets(gu->tensors.size());
  sets[0].set_all();
  sets[1].set_list();
  sets[1].ids = {1, 5, 9};
  CHECK(bundled.op_flops(*gu, sets, 0) == 3u * 2 * 3 * 64);  // 3 neurons x (gate + up + down) x 64
}

TEST_CASE("neuron predictor: recall and margin shape the predicted set, and its weights are read each MLP") {
  Rig r;
  r.layout = test::tiny_layout({{"chunking", "neuron"}});
  InputPruning::Settings s;
  s.predictor = true;
  s.keep[static_cast<int>(LinearInput::MlpDown)] = 0.25;  // 32 of 128 neurons active
  s.recall = 0.5;
  s.margin = 1.0;  // predict 64
  s.predictor_rank = 16;
  std::vector<float> h(128, 0.01f);
  for (uint32_t i = 0; i < 32; ++i) h[i * 4] = 5.0f;  // the active ones: every 4th neuron
  InputPruning p(s, std::make_unique<FixedActivations>(h));
  p.check(r.layout);
  const auto gu = r.select(p, "layers.0.mlp_gate_up");
  const auto down = r.select(p, "layers.0.mlp_down");
  REQUIRE(gu[1].kind == ChunkSet::Kind::List);
  CHECK(gu[1].ids.size() == 64);
  CHECK(gu[2].ids == gu[1].ids);    // up: the same neurons
  CHECK(down[0].ids == gu[1].ids);  // down: the same neurons, as columns
  size_t found = 0;
  for (uint32_t i : gu[1].ids) found += i % 4 == 0;
  CHECK(found > 8);  // about half of the 32 active ones (recall 0.5), the rest false positives
  CHECK(found < 24);
  CHECK(p.extra_read_bytes(r.op("layers.0.mlp_gate_up")) == 16u * (64 + 128) * 2);
  CHECK(p.extra_read_bytes(r.op("layers.0.mlp_down")) == 0);
  CHECK(p.needs_input(r.op("layers.0.mlp_gate_up")));
  // Input pruning refuses row chunks, and the predictor column chunks.
  InputPruning dip(keep_mlp_in(0.5), std::make_unique<FixedActivations>(h));
  CHECK_THROWS_WITH(dip.check(r.layout), Catch::Contains("model.chunking"));
  CHECK_THROWS_WITH(p.check(test::tiny_layout()), Catch::Contains("model.chunking"));
}
