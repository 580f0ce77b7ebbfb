// libFuzzer target: a fault campaign result file (edgesim.fault_campaign/1), read with
// fault::load_campaign and planned as `edgesim fault-plan --campaign FILE` does: the
// built-in protection config, the problem, the unprotected metrics, the exact search for
// the least-area plan and the lockstep comparison.
#include "fuzz/fuzz_common.hpp"
#include "models/fault/iso26262.hpp"
#include "models/fault/protection.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  using namespace edgesim::fault;
  const fuzz::MemFile file(data, size);
  return fuzz::accept_input_errors([&] {
    const Campaign c = load_campaign(file.path());
    const ProtectionConfig cfg = load_protection("builtin:fault/protection.json");
    if (c.macs <= 0) return;  // the CLI asks for --macs then
    const PlanProblem p = make_problem(c, cfg, c.macs);
    evaluate(p, std::vector<int>(p.blocks.size(), 0));
    plan_count(p);
    const std::optional<Plan> best = optimal_plan(p);
    lockstep_plan(p, cfg, c.macs, best ? best->pick : std::vector<int>{});
  });
}
