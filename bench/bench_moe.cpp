// MoE routing speed, printed as figures (never asserted), on Mixtral-8x7B (int4) on the
// phone with 2 of 8 experts cached per layer (configs/experiments/moe/mixtral-8x7b.json):
//   1. routing and expert-cache lookups alone (no SystemC): token-layer routing decisions
//      per second, top-k against Cache-Prior;
//   2. the whole SystemC simulation with Cache-Prior routing: simulated tokens per wall
//      second.
// Usage: bench_moe [TOKENS]   (default 2000). Build it in a Release build dir.
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <systemc>
#include "sim/core/config/loader.hpp"
#include "sim/experiment.hpp"
#include "sim/op_source.hpp"
#include "sim/simulate.hpp"
#include "sim/weight_placement.hpp"

using namespace edgesim;
using Clock = std::chrono::steady_clock;

namespace {

nlohmann::json bench_config(uint64_t tokens, const std::string& policy) {
  nlohmann::json cfg = config::load_config("builtin:experiments/moe/mixtral-8x7b.json");
  config::apply_override(cfg, "run.tokens=" + std::to_string(tokens));
  config::apply_override(cfg, "policy={\"name\": \"" + policy + "\"}");
  return cfg;
}

// The closed loop without SystemC: the policy routes, the weight store looks experts up.
void bench_routing(uint64_t tokens, const std::string& policy) {
  const sim::Experiment exp = sim::build_experiment(bench_config(tokens, policy));
  cache::WeightStore store(sim::store_tensors(*exp.layout), exp.store, exp.make_replacement);
  const sim::StoreResidency residency(store);
  sim::ClosedLoopSource src(exp, residency, nullptr);
  cache::LoadCost cost;
  const uint64_t* none = nullptr;
  traces::StepInfo info;
  traces::OpAccess op;
  const auto t0 = Clock::now();
  while (src.begin_step(info)) {
    while (src.next_op(op)) {
      const auto& spec = exp.layout->ops()[op.op];
      for (size_t i = 0; i < spec.tensors.size(); ++i) store.access(spec.tensors[i], op.sets[i], cost, none);
    }
  }
  const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  const double picks = exp.policy->metrics()["token_layer_picks"].get<double>();
  std::printf("  %-12s %8.0f tokens/s, %6.2f M routing decisions/s (expert hit rate %.3f)\n", policy.c_str(),
              double(exp.run.total_steps()) / dt, picks / dt / 1e6,
              double(cost.hits) / double(cost.hits + cost.misses));
}

void bench_simulation(uint64_t tokens) {
  nlohmann::json cfg = bench_config(tokens, "cache_prior");
  sim::Experiment exp = sim::build_experiment(cfg);
  const auto t0 = Clock::now();
  const sim::SimulationResult r = sim::simulate(exp, {});
  const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  const double n = double(r.steps);
  std::printf(
      "  Mixtral-8x7B, Cache-Prior (lambda %.2f): %.0f simulated tokens per wall second (%.3f s for %.0f "
      "tokens)\n",
      exp.config["policy"]["lambda"].get<double>(), n / dt, dt, n);
  std::printf("  simulated on the device: %.3f tokens/s, expert hit rate %.3f\n",
              r.metrics["tokens_per_s"].get<double>(), r.metrics["weight_cache_hit_rate"].get<double>());
}

}  // namespace

int sc_main(int argc, char** argv) {
  const uint64_t tokens = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000;
  std::printf("edgesim " EDGESIM_VERSION
              " MoE benchmark, %llu tokens of Mixtral-8x7B (int4), 2 of 8 experts "
              "cached per layer\n",
              static_cast<unsigned long long>(tokens));
  std::printf("1. routing and expert-cache lookups, no SystemC (one core):\n");
  for (const char* p : {"top_k", "cache_prior"}) bench_routing(tokens, p);
  std::printf("2. whole simulation (SystemC/TLM):\n");
  bench_simulation(tokens);
  return 0;
}

int main(int argc, char** argv) {
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  return sc_core::sc_elab_and_sim(argc, argv);
}
