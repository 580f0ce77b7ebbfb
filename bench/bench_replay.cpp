// Replay speed of edgesim, printed as figures (never asserted):
//   1. weight-store replay: chunk accesses per second on one core, per cache policy,
//      over dense Phi-3-medium steps (the built-in default experiment's model and cache);
//   2. trace encode and decode speed;
//   3. the whole SystemC simulation: simulated tokens per wall second and SystemC work
//      (process activations, delta cycles, TLM transactions) per token.
// Usage: bench_replay [TOKENS]   (default 8)
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <systemc>
#include "sim/core/config/loader.hpp"
#include "sim/core/registry.hpp"
#include "sim/experiment.hpp"
#include "sim/op_source.hpp"
#include "sim/simulate.hpp"
#include "sim/weight_placement.hpp"
#include "traces/trace_format.hpp"

using namespace edgesim;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

nlohmann::json bench_config(uint64_t tokens, const std::string& policy) {
  nlohmann::json cfg = config::load_config(config::kDefaultExperiment);
  config::apply_override(cfg, "run.tokens=" + std::to_string(tokens));
  config::apply_override(cfg, "run.warmup_tokens=0");
  config::apply_override(cfg, "weight_store.cache_policy=" + policy);
  return cfg;
}

// Chunks an op touches (pinned tensors included).
uint64_t chunks_touched(const traces::ModelLayout& l, const std::vector<traces::Step>& steps) {
  uint64_t n = 0;
  for (const auto& s : steps) {
    for (const auto& op : s.ops) {
      const auto& spec = l.ops()[op.op];
      for (size_t i = 0; i < spec.tensors.size(); ++i)
        n += op.sets[i].count(l.tensors()[spec.tensors[i]].chunks);
    }
  }
  return n;
}

void bench_store(uint64_t tokens, const std::string& policy) {
  sim::Experiment exp = sim::build_experiment(bench_config(tokens, policy));
  const auto steps = sim::generate_steps(exp);
  cache::WeightStore store(sim::store_tensors(*exp.layout), exp.store, exp.make_replacement);
  const std::vector<uint64_t> future =
      store.needs_future() ? sim::future_uses(store, *exp.layout, steps) : std::vector<uint64_t>{};
  const uint64_t* cursor = future.empty() ? nullptr : future.data();
  cache::LoadCost cost;
  uint64_t lookups = 0, hits = 0;
  const auto t0 = Clock::now();
  for (const auto& s : steps) {
    for (const auto& op : s.ops) {
      const auto& spec = exp.layout->ops()[op.op];
      cost.clear();
      for (size_t i = 0; i < spec.tensors.size(); ++i)
        store.access(spec.tensors[i], op.sets[i], cost, cursor);
      lookups += cost.hits + cost.misses;
      hits += cost.hits;
    }
  }
  const double dt = seconds_since(t0);
  const uint64_t touched = chunks_touched(*exp.layout, steps);
  std::printf(
      "  %-5s %10.1f M chunk accesses/s  (%6.1f M cache lookups/s, hit rate %5.1f %%, %.3f s for %llu "
      "tokens)\n",
      policy.c_str(), double(touched) / dt / 1e6, double(lookups) / dt / 1e6,
      lookups ? 100.0 * double(hits) / double(lookups) : 0.0, dt, static_cast<unsigned long long>(tokens));
}

void bench_trace(uint64_t tokens) {
  sim::Experiment exp = sim::build_experiment(bench_config(tokens, "lru"));
  // A sparse trace is the hard case for the codec: keep every other column of each linear.
  auto steps = sim::generate_steps(exp);
  for (auto& s : steps) {
    for (auto& op : s.ops) {
      const auto& spec = exp.layout->ops()[op.op];
      for (size_t i = 0; i < spec.tensors.size(); ++i) {
        const auto& t = exp.layout->tensors()[spec.tensors[i]];
        if (op.sets[i].kind != ChunkSet::Kind::All || t.chunks < 2) continue;
        op.sets[i].set_list();
        for (uint32_t c = 0; c < t.chunks; c += 2) op.sets[i].ids.push_back(c);
      }
    }
  }
  const uint64_t touched = chunks_touched(*exp.layout, steps);
  const std::string path = "/tmp/edgesim-bench-" + std::to_string(::getpid()) + ".trc";
  auto t0 = Clock::now();
  {
    traces::TraceWriter w(path, nlohmann::json::object(), *exp.layout);
    for (const auto& s : steps) w.write_step(s);
    w.finish();
  }
  const double enc = seconds_since(t0);
  const auto bytes = std::filesystem::file_size(path);
  t0 = Clock::now();
  traces::TraceReader r(path);
  traces::Step s;
  uint64_t decoded = 0;
  while (r.next(s)) decoded += s.ops.size();
  const double dec = seconds_since(t0);
  std::printf(
      "  50%%-sparse Phi-3-medium trace: %.2f MB for %llu tokens (%.2f bits per listed chunk);\n"
      "  encode %.1f M chunks/s, decode %.1f M chunks/s\n",
      double(bytes) / 1e6, static_cast<unsigned long long>(tokens), 8.0 * double(bytes) / double(touched),
      double(touched) / enc / 1e6, double(touched) / dec / 1e6);
  std::filesystem::remove(path);
  (void)decoded;
}

void bench_simulation(uint64_t tokens) {
  sim::Experiment exp = sim::build_experiment(bench_config(tokens, "lru"));
  const auto t0 = Clock::now();
  const sim::SimulationResult r = sim::simulate(exp, {});
  const double dt = seconds_since(t0);
  const double ops = double(exp.layout->ops().size());
  const double n = double(r.steps);
  std::printf(
      "  dense Phi-3-medium int8, LRU cache: %.1f simulated tokens per wall second (%.3f s for %.0f "
      "tokens)\n",
      n / dt, dt, n);
  std::printf("  simulated: %.3f tokens/s on the device\n", r.metrics["tokens_per_s"].get<double>());
  std::printf(
      "  per token: %.0f ops, %.0f SystemC process activations, %.0f delta cycles, %.0f TLM transactions\n",
      ops, r.metrics["systemc_activations_per_token"].get<double>(),
      r.stats["systemc"]["delta_cycles"]["value"].get<double>() / n,
      r.stats["weight_store"]["memory_transactions"]["value"].get<double>() / n);
}

}  // namespace

int sc_main(int argc, char** argv) {
  const uint64_t tokens = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 8;
  std::printf("edgesim " EDGESIM_VERSION
              " replay benchmark, %llu tokens of dense Phi-3-medium (int8, 2.0 M chunks/token)\n",
              static_cast<unsigned long long>(tokens));
  std::printf("1. weight-store replay on one core:\n");
  for (const char* p : {"lru", "lfu", "fifo", "opt"}) bench_store(tokens, p);
  std::printf("2. trace codec:\n");
  bench_trace(tokens);
  std::printf("3. whole simulation (SystemC/TLM):\n");
  bench_simulation(tokens);
  return 0;
}

int main(int argc, char** argv) {
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  return sc_core::sc_elab_and_sim(argc, argv);
}
