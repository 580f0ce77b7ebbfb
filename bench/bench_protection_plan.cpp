// Speed of the least-area protection plan search (models/fault/protection.*), printed as
// figures (never asserted): wall time and search nodes of the exact branch and bound
// against brute force, on the hand-made 7-block campaigns of the four NPU
// configurations with the default protection config, and on seeded random problems
// of 10 blocks (brute force still feasible) and 24 blocks (branch and bound only).
// Usage: bench_protection_plan
#include <chrono>
#include <cstdio>
#include <random>

#include "models/fault/protection.hpp"

using namespace edgesim::fault;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

BlockFit fit_of(double total, double spf_rf, double latent) {
  BlockFit f;
  f.total = total;
  f.spf_rf = spf_rf;
  f.mpf_latent = latent;
  return f;
}

PlanProblem random_problem(std::mt19937_64& rng, int blocks, int options) {
  std::uniform_real_distribution<double> u(0, 1);
  PlanProblem p;
  for (int i = 0; i < blocks; ++i) {
    p.blocks.push_back("b" + std::to_string(i));
    const double total = 10 + 1000 * u(rng), spf = total * 0.05 * u(rng);
    std::vector<Choice> ch = {{"none", 0, fit_of(total, spf, 0)}};
    for (int k = 0; k < options - 1; ++k)
      ch.push_back({"o" + std::to_string(k), 1 + 100 * u(rng),
                    fit_of(total * (1 + u(rng)), spf * u(rng) * u(rng), total * 0.01 * u(rng))});
    p.choices.push_back(ch);
  }
  p.targets = Targets{0.99, 0.9, 1e9};
  return p;
}

void report(const char* name, const PlanProblem& p, bool brute) {
  auto t0 = Clock::now();
  uint64_t visited = 0;
  const auto best = optimal_plan(p, &visited);
  const double bb = seconds_since(t0);
  std::printf("%-26s %14.0f %12llu %12.6f", name, plan_count(p), static_cast<unsigned long long>(visited),
              bb);
  if (brute) {
    t0 = Clock::now();
    const auto bf = brute_force_plan(p);
    const double bfs = seconds_since(t0);
    const bool same = best.has_value() == bf.has_value() && (!best || best->pick == bf->pick);
    std::printf(" %12.6f %6s", bfs, same ? "yes" : "NO");
  } else {
    std::printf(" %12s %6s", "-", "-");
  }
  std::printf(" %s\n", best ? "plan found" : "no plan meets");
}

}  // namespace

int main() {
  std::printf("%-26s %14s %12s %12s %12s %6s\n", "problem", "plans", "B&B nodes", "B&B s", "brute s", "same");
  const ProtectionConfig cfg = load_protection("builtin:fault/protection.json");
  for (int macs : {32, 64, 128, 256}) {
    const Campaign c = load_campaign(std::string(EDGESIM_SOURCE_DIR) + "/tests/data/fault/campaign-u55-" +
                                     std::to_string(macs) + ".json");
    const std::string name = "campaign u55-" + std::to_string(macs);
    report(name.c_str(), make_problem(c, cfg, macs), true);
  }
  std::mt19937_64 rng(1);
  for (int t = 0; t < 3; ++t) report("random 10 blocks x 4", random_problem(rng, 10, 4), true);
  for (int t = 0; t < 3; ++t) report("random 24 blocks x 4", random_problem(rng, 24, 4), false);
  return 0;
}
