// Mixture-of-experts: the layouts of the five models against their published parameter
// counts, each routing rule on hand-made logits, the model's mixture weights, the
// synthetic router source's statistics, and the expert cache: OPT never below LRU, and
// cache-aware routing above top-k at equal cache size (no SystemC: the weight store is
// driven directly, as the simulator drives it).
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "models/cache/weight_store.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/experiment.hpp"
#include "sim/op_source.hpp"
#include "sim/weight_placement.hpp"
#include "traces/moe.hpp"
#include "traces/policies/moe_routing.hpp"
#include "traces/router_logits.hpp"

using namespace edgesim;
using namespace edgesim::traces;

namespace {

const std::string kConfigs = std::string(EDGESIM_TEST_DATA) + "/../../configs/";

ModelLayout layout_of(const std::string& model_file, const nlohmann::json& over = nlohmann::json::object()) {
  nlohmann::json m = config::load_config(kConfigs + "models/" + model_file)["model"];
  m.merge_patch(over);
  return ModelLayout(config::Params(ModelLayout::param_table(), m, "model"));
}

sim::Experiment tiny_experiment(const std::vector<std::string>& overrides) {
  nlohmann::json c = config::load_config(kConfigs + "experiments/moe/tiny.json");
  for (const auto& o : overrides) config::apply_override(c, o);
  return sim::build_experiment(c);
}

struct StoreRun {
  uint64_t hits = 0, misses = 0;
  std::vector<Step> steps;
  bool pinned_resident = true;  // every pinned chunk still resident at the end
  double hit_rate() const { return double(hits) / double(hits + misses); }
};

void access_op(cache::WeightStore& store, const ModelLayout& layout, const OpAccess& op, StoreRun& r,
               const uint64_t*& future) {
  cache::LoadCost cost;
  const OpSpec& spec = layout.ops()[op.op];
  for (size_t i = 0; i < spec.tensors.size(); ++i) store.access(spec.tensors[i], op.sets[i], cost, future);
  r.hits += cost.hits;
  r.misses += cost.misses;
}

// Closed loop: the policy sees the store as the simulator's replayer leaves it.
StoreRun closed_loop(const sim::Experiment& e) {
  cache::WeightStore store(sim::store_tensors(*e.layout), e.store, e.make_replacement);
  const sim::StoreResidency residency(store);
  sim::ClosedLoopSource src(e, residency, nullptr);
  StoreRun r;
  StepInfo info;
  const uint64_t* none = nullptr;
  while (src.begin_step(info)) {
    Step s;
    s.info = info;
    OpAccess op;
    while (src.next_op(op)) {
      access_op(store, *e.layout, op, r, none);
      s.ops.push_back(op);
    }
    r.steps.push_back(std::move(s));
  }
  for (uint32_t c : e.store.pinned_chunks) r.pinned_resident = r.pinned_resident && store.resident(c);
  return r;
}

// Open loop: recorded steps replayed under the experiment's replacement policy.
StoreRun replay(const sim::Experiment& e, const std::vector<Step>& steps) {
  cache::WeightStore store(sim::store_tensors(*e.layout), e.store, e.make_replacement);
  std::vector<uint64_t> future;
  if (store.needs_future()) future = sim::future_uses(store, *e.layout, steps);
  const uint64_t* next = store.needs_future() ? future.data() : nullptr;
  StoreRun r;
  for (const auto& s : steps) {
    for (const auto& op : s.ops) access_op(store, *e.layout, op, r, next);
  }
  return r;
}

// An override that replaces the whole policy section (a rule's own keys do not carry over).
std::string policy_is(const std::string& name) {
  return "policy={\"name\": \"" + name + "\"}";
}

std::vector<uint8_t> mask(std::initializer_list<int> bits) {
  std::vector<uint8_t> m;
  for (int b : bits) m.push_back(static_cast<uint8_t>(b));
  return m;
}

}  // namespace

TEST_CASE("MoE model shapes give the published total and active parameter counts", "[moe]") {
  struct Case {
    const char* file;
    double total_b, active_b;  // billions, as the model cards state them
    bool embedding_active;     // whether the card counts the input embedding as active
  };
  // Model cards: Mixtral 46.7B / 12.9B; Phi-3.5-MoE 41.9B / 6.6B; Qwen1.5-MoE-A2.7B 14.3B /
  // 2.7B; DeepSeek-V2-Lite 15.7B / 2.4B; OLMoE-1B-7B 6.9B / 1.3B (active: every weight but
  // the routed experts not chosen; DeepSeek's card leaves the input embedding out, the
  // others count it; 6% tolerance, 1.5% on totals).
  const Case cases[] = {{"mixtral-8x7b.json", 46.7, 12.9, true},
                        {"phi3.5-moe.json", 41.9, 6.6, true},
                        {"qwen1.5-moe-a2.7b.json", 14.3, 2.7, true},
                        {"deepseek-v2-lite.json", 15.7, 2.4, false},
                        {"olmoe-1b-7b.json", 6.9, 1.3, true}};
  for (const auto& c : cases) {
    INFO(c.file);
    const ModelLayout l = layout_of(c.file);
    const double total = static_cast<double>(l.total_weight_bytes()) / 2;  // fp16
    double active = 0;
    for (const auto& t : l.tensors()) {
      if (t.kind == TensorKind::Norm) continue;
      const double params = static_cast<double>(t.bytes()) / 2;
      if (t.klass == "moe.experts") {
        active += params * l.moe().top_k / l.moe().experts;
      } else if (t.kind != TensorKind::Embedding || c.embedding_active) {
        active += params;
      }
    }
    CHECK(total / 1e9 == Approx(c.total_b).epsilon(0.015));
    CHECK(active / 1e9 == Approx(c.active_b).epsilon(0.06));
  }
}

TEST_CASE("a routed layer is a router op, then an experts op whose chunks are whole experts", "[moe]") {
  const ModelLayout l = layout_of("tiny-moe.json");
  std::vector<std::string> ops;
  for (const auto& o : l.ops()) {
    if (o.layer == 0 || o.layer == 1) ops.push_back(o.name);
  }
  CHECK(ops == std::vector<std::string>{"layers.0.attn", "layers.0.attn_out", "layers.0.mlp_gate_up",
                                        "layers.0.mlp_down", "layers.1.attn", "layers.1.attn_out",
                                        "layers.1.moe_router", "layers.1.moe_experts"});
  for (const auto& t : l.tensors()) {
    if (t.name == "layers.1.moe.experts") {
      CHECK(t.chunks == 8);
      CHECK(t.chunk_bytes == 3 * 64 * 32 * 2);  // gate, up and down of one expert, fp16
    }
    if (t.name == "layers.1.moe.shared") CHECK(t.bytes() == 3 * 64 * 32 * 2);
    if (t.name == "layers.1.moe.router") CHECK(t.bytes() == 8 * 64 * 2);
    CHECK(t.name != "layers.1.mlp.gate");
  }
  // An expert's FLOPs: a multiply-add per weight of each chosen expert.
  const OpSpec* experts = nullptr;
  for (const auto& o : l.ops()) {
    if (o.name == "layers.2.moe_experts") experts = &o;
  }
  REQUIRE(experts);
  std::vector<ChunkSet> sets(1);
  sets[0].set_list();
  sets[0].ids = {1, 5};
  CHECK(l.op_flops(*experts, sets, 0) == 2 * 2 * 3 * 64 * 32);
}

TEST_CASE("a bad MoE shape is an input error naming the key", "[moe]") {
  CHECK_THROWS_WITH(layout_of("tiny-moe.json", {{"moe_top_k", 9}}), Catch::Contains("model.moe_top_k"));
  CHECK_THROWS_WITH(layout_of("tiny-moe.json", {{"moe_first_dense_layers", 4}}),
                    Catch::Contains("model.moe_first_dense_layers"));
  CHECK_THROWS_WITH(layout_of("tiny-moe.json", {{"moe_router", "softmax"}}),
                    Catch::Contains("model.moe_router"));
}

TEST_CASE("top-k takes the largest logits, ties to the lower index", "[moe][routing]") {
  std::vector<uint32_t> out;
  top_k({1, 5, 3, 5, -2}, 2, out);
  CHECK(out == std::vector<uint32_t>{1, 3});
  top_k({1, 5, 3, 5, -2}, 3, out);
  CHECK(out == std::vector<uint32_t>{1, 3, 2});
}

TEST_CASE("Cache-Prior lifts cached experts by lambda x delta_avg, and is top-k at lambda 0",
          "[moe][routing]") {
  const std::vector<float> z = {4.0f, 3.5f, 1.0f, 0.0f};
  const auto cached = mask({0, 0, 1, 1});
  std::vector<uint32_t> out;
  route_cache_prior(z, cached, 2, 0.0, 4.0, out);
  CHECK(out == std::vector<uint32_t>{0, 1});
  // Bonus 2: 1 + 2 = 3 < 3.5, the top-2 stands.
  route_cache_prior(z, cached, 2, 0.5, 4.0, out);
  CHECK(out == std::vector<uint32_t>{0, 1});
  // Bonus 2.6: expert 2 (3.6) passes expert 1 (3.5), not expert 0.
  route_cache_prior(z, cached, 2, 0.65, 4.0, out);
  CHECK(out == std::vector<uint32_t>{0, 2});
  // Bonus 4.5: both cached experts pass both uncached ones.
  route_cache_prior(z, cached, 2, 1.125, 4.0, out);
  CHECK(out == std::vector<uint32_t>{2, 3});
}

TEST_CASE("Max-Rank keeps the top keep_top, then prefers cached experts ranked below max_rank",
          "[moe][routing]") {
  // Ranks: 0 (z 9), 1 (8), 2 (7), 3 (6), 4 (5), 5 (4).
  const std::vector<float> z = {9, 8, 7, 6, 5, 4};
  std::vector<uint32_t> out;
  // Cached: 3 and 5. keep_top 1, max_rank 4: slot 2 goes to 3 (rank 3 < 4); 5 is too far.
  route_max_rank(z, mask({0, 0, 0, 1, 0, 1}), 3, 1, 4, out);
  CHECK(out == std::vector<uint32_t>{0, 3, 1});
  // The top-ranked expert is kept even when uncached and cached ones could replace it.
  route_max_rank(z, mask({0, 1, 1, 0, 0, 0}), 2, 1, 6, out);
  CHECK(out == std::vector<uint32_t>{0, 1});
  // Baseline (keep_top 0, max_rank k + m = 2 + 2): cached 2 and 3 take both slots.
  route_max_rank(z, mask({0, 0, 1, 1, 1, 0}), 2, 0, 4, out);
  CHECK(out == std::vector<uint32_t>{2, 3});
  // Nothing cached within reach: plain top-k.
  route_max_rank(z, mask({0, 0, 0, 0, 0, 1}), 2, 0, 4, out);
  CHECK(out == std::vector<uint32_t>{0, 1});
}

TEST_CASE("mixture weights follow the model's router normalisation", "[moe][routing]") {
  const std::vector<float> z = {2.0f, 1.0f, 0.0f, -1.0f};
  std::vector<double> p, w;
  softmax(z, p);
  MoeShape m;
  m.experts = 4;
  m.top_k = 2;
  m.norm = RouterNorm::SoftmaxTopK;
  mixture_weights(m, z, {0, 1}, w);
  CHECK(w[0] == Approx(p[0]));
  CHECK(w[2] == 0);
  m.norm = RouterNorm::SoftmaxTopKRenorm;
  mixture_weights(m, z, {0, 1}, w);
  CHECK(w[0] + w[1] == Approx(1));
  CHECK(w[0] / w[1] == Approx(std::exp(1.0)));
  // sparsemixer: logits within 2 eps (relative) of a pick share its softmax. With eps
  // 0.3: for expert 0 (z 2) the margin (2 - z_j) / max(|z_j|, 2) <= 0.6 keeps 1 (0.5)
  // only; for expert 1 (z 1), among 1, 2, 3: (1 - 0) / 1 = 1 > 0.6, so it stands alone.
  m.norm = RouterNorm::SparseMixer;
  m.sparsemixer_eps = 0.3;
  mixture_weights(m, z, {0, 1}, w);
  CHECK(w[0] == Approx(1 / (1 + std::exp(-1.0))));
  CHECK(w[1] == Approx(1.0));
}

TEST_CASE("synthetic router logits: seeded, persistent across tokens, skewed by popularity",
          "[moe][router]") {
  const ModelLayout l = layout_of("mixtral-8x7b.json");
  RouterSourceSettings s;
  s.seed = 7;
  SyntheticRouterLogits a(l, s), b(l, s);
  CHECK(a.logits(0, 3) == b.logits(0, 3));
  // Published routing statistics (docs/moe.md): in Mixtral, consecutive tokens keep their
  // first-choice expert, and share one of their two, more often than random routing's
  // 1/8 and 46%. The defaults give about 0.25 and 0.67 (Mixtral's middle layers: about
  // 0.28 and 0.62).
  struct Repeats {
    double first, either;
  };
  auto repeats = [&](const RouterSourceSettings& set) {
    SyntheticRouterLogits src(l, set);
    std::vector<uint32_t> prev, cur;
    int first = 0, either = 0, n = 0;
    for (uint64_t t = 0; t < 4000; ++t) {
      top_k(src.logits(t, 5), 2, cur);
      if (t > 0) {
        first += cur[0] == prev[0];
        either += cur[0] == prev[0] || cur[0] == prev[1] || cur[1] == prev[0] || cur[1] == prev[1];
        ++n;
      }
      prev = cur;
    }
    return Repeats{double(first) / n, double(either) / n};
  };
  const Repeats r = repeats(s);
  CHECK(r.first == Approx(0.25).margin(0.05));
  CHECK(r.either == Approx(0.65).margin(0.07));
  RouterSourceSettings none = s;
  none.persistence = 0;
  none.popularity_sigma = 0;
  const Repeats random = repeats(none);
  CHECK(random.first == Approx(0.125).margin(0.025));
  CHECK(random.either == Approx(1 - 15.0 / 28).margin(0.03));  // C(6,2)/C(8,2) share none
}

TEST_CASE("OPT's expert hit rate is at least LRU's on every routing trace tried", "[moe][cache]") {
  for (const char* policy : {"top_k", "cache_prior", "cached_top_k_plus_m"}) {
    for (uint64_t seed : {1, 2, 3}) {
      for (const char* capacity : {"36 KiB", "72 KiB", "144 KiB"}) {
        for (const char* partition : {"global", "per_tensor"}) {
          INFO(policy << " seed " << seed << " cache " << capacity << " " << partition);
          const std::vector<std::string> over = {policy_is(policy), "run.seed=" + std::to_string(seed),
                                                 std::string("weight_store.cache_capacity=") + capacity,
                                                 std::string("weight_store.cache_partition=") + partition};
          // The routing trace is recorded closed loop under LRU, then replayed under each
          // policy (open loop: a cache-aware policy's choices are fixed by the recording).
          const auto lru_exp = tiny_experiment(over);
          const StoreRun recorded = closed_loop(lru_exp);
          auto opt_over = over;
          opt_over.push_back("weight_store.cache_policy=opt");
          const StoreRun lru = replay(lru_exp, recorded.steps);
          const StoreRun opt = replay(tiny_experiment(opt_over), recorded.steps);
          CHECK(lru.hits == recorded.hits);  // replay reproduces the closed loop
          CHECK(opt.hits >= lru.hits);
          CHECK(opt.hits + opt.misses == lru.hits + lru.misses);
        }
      }
    }
  }
}

TEST_CASE("cache-aware routing beats top-k's expert hit rate at equal cache size", "[moe][cache]") {
  for (uint64_t seed : {1, 2}) {
    for (const char* capacity : {"36 KiB", "108 KiB"}) {
      INFO("seed " << seed << " cache " << capacity);
      auto rate = [&](const std::string& policy) {
        return closed_loop(tiny_experiment({policy_is(policy), "run.seed=" + std::to_string(seed),
                                            std::string("weight_store.cache_capacity=") + capacity}))
            .hit_rate();
      };
      const double top_k_rate = rate("top_k");
      CHECK(rate("cache_prior") > top_k_rate + 0.05);
      CHECK(rate("max_rank") > top_k_rate + 0.05);
      CHECK(rate("cached_top_k_plus_m") > top_k_rate + 0.05);
    }
  }
}

TEST_CASE("a routing policy reports what it changed against top-k", "[moe][routing]") {
  auto metrics = [](const std::string& policy) {
    const auto e = tiny_experiment({policy_is(policy)});
    closed_loop(e);
    return e.policy->metrics();
  };
  const auto top = metrics("top_k");
  CHECK(top["changed_pick_fraction"] == 0.0);
  CHECK(top["probability_mass_lost"].get<double>() == Approx(0).margin(1e-12));
  CHECK(top["token_layer_picks"] == 3 * 72);  // 3 routed layers x (8 warm-up + 64) tokens
  const auto prior = metrics("cache_prior");
  CHECK(prior["changed_pick_fraction"].get<double>() > 0);
  CHECK(prior["probability_mass_lost"].get<double>() > 0);
  CHECK(prior["mixture_weight_l1"].get<double>() > 0);
  CHECK(prior["expert_hit_rate"].get<double>() > top["expert_hit_rate"].get<double>());
}

TEST_CASE("a routing policy on a dense model is a config error", "[moe]") {
  nlohmann::json c = config::load_config(kConfigs + "experiments/tiny.json");
  config::apply_override(c, "policy.name=top_k");
  CHECK_THROWS_WITH(sim::build_experiment(c), Catch::Contains("model.moe_experts"));
}

TEST_CASE("pinned experts are the profile's most used, always hit, and sit beside the cache",
          "[moe][cache]") {
  const std::vector<std::string> base = {policy_is("top_k"), "weight_store.cache_capacity=36 KiB"};
  auto with_pins = base;
  with_pins.push_back("weight_store.pinned_experts=2");
  const auto plain = tiny_experiment(base);
  const auto pinned = tiny_experiment(with_pins);
  REQUIRE(pinned.store.pinned_chunks.size() == 2 * 3);  // 2 in each of the 3 routed layers
  const uint64_t expert = 3 * 64 * 32 * 2;
  CHECK(pinned.footprint.weights_pinned == plain.footprint.weights_pinned + 6 * expert);
  CHECK(pinned.footprint.weight_cache == plain.footprint.weight_cache);
  const StoreRun a = closed_loop(plain), b = closed_loop(pinned);
  CHECK(b.pinned_resident);
  CHECK(b.hit_rate() > a.hit_rate());
  // The pinned set is the one top-k routing picks most in the profile: over the run, the
  // pinned experts are chosen more often than the average expert.
  std::set<uint32_t> pins(pinned.store.pinned_chunks.begin(), pinned.store.pinned_chunks.end());
  uint64_t pinned_picks = 0, picks = 0;
  for (const auto& s : b.steps) {
    for (const auto& op : s.ops) {
      const OpSpec& spec = pinned.layout->ops()[op.op];
      const Tensor& t = pinned.layout->tensors()[spec.tensors[0]];
      if (t.klass != "moe.experts") continue;
      for (uint32_t id : op.sets[0].ids) {
        ++picks;
        pinned_picks += pins.count(t.first_chunk + id);
      }
    }
  }
  CHECK(double(pinned_picks) / double(picks) > 2.0 / 8.0);
}
