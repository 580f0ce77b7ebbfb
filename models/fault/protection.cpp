#include "models/fault/protection.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "models/fault/protection_json.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::fault {

using json = nlohmann::json;

namespace {

std::vector<BlockClass> read_classes(const json& v, const JsonReader& r) {
  if (!v.is_array() || v.empty())
    r.fail("applies_to", "expected a non-empty list of \"sram\", \"flop\", \"dram\"");
  std::vector<BlockClass> out;
  for (const json& c : v) {
    const std::string s = c.is_string() ? c.get<std::string>() : c.dump();
    if (s == "sram")
      out.push_back(BlockClass::kSram);
    else if (s == "flop")
      out.push_back(BlockClass::kFlop);
    else if (s == "dram")
      out.push_back(BlockClass::kDram);
    else
      r.fail("applies_to", "'" + s + "': expected \"sram\", \"flop\" or \"dram\"");
  }
  return out;
}

OptionSpec read_option(const JsonReader& r, const json& raw, const std::string& name) {
  r.only({"description", "applies_to", "dc", "fit_factor", "sm_fit_fraction", "latent_coverage",
          "area_overhead", "area_of", "fixed_area"});
  OptionSpec o;
  o.name = name;
  o.protection.name = name;
  if (r.has("description")) o.description = r.string("description");
  if (!r.has("applies_to")) r.fail("applies_to", "missing");
  o.applies_to = read_classes(raw.at("applies_to"), r);
  o.protection.dc = r.has("dc") ? r.fraction("dc") : 0;
  o.protection.fit_factor = r.has("fit_factor") ? r.fraction("fit_factor") : 1;
  o.protection.sm_fit_fraction = r.has("sm_fit_fraction") ? r.number("sm_fit_fraction", 0) : 0;
  o.protection.latent_coverage = r.has("latent_coverage") ? r.fraction("latent_coverage") : 1;
  o.area_overhead = r.number("area_overhead", 0);
  o.area_of_flops = r.has("area_of") && r.choice("area_of", {"block", "flops"}) == "flops";
  o.fixed_area = r.has("fixed_area") ? r.number("fixed_area", 0) : 0;
  return o;
}

}  // namespace

ProtectionConfig parse_protection(const json& j, const std::string& origin) {
  const JsonReader r(j, origin, "");
  r.only({"schema", "raw_fit", "derating", "targets", "options", "lockstep_option", "area_unit", "areas"});
  if (r.string("schema") != "edgesim.fault_protection/1")
    r.fail("schema", "'" + r.string("schema") + "': expected \"edgesim.fault_protection/1\"");
  ProtectionConfig cfg;

  const JsonReader fit = r.object("raw_fit");
  fit.only({"sram_fit_per_mbit", "flop_fit_per_mbit", "dram_fit_per_mbit"});
  cfg.fit.sram_fit_per_bit = fit.number("sram_fit_per_mbit", 0) * 1e-6;
  cfg.fit.flop_fit_per_bit = fit.number("flop_fit_per_mbit", 0) * 1e-6;
  cfg.fit.dram_fit_per_bit = fit.number("dram_fit_per_mbit", 0) * 1e-6;

  const JsonReader der = r.object("derating");
  der.only({"apply_residency", "due_detected", "bound"});
  cfg.fit.apply_residency = der.boolean("apply_residency");
  cfg.fit.due_detected = der.boolean("due_detected");
  cfg.fit.bound =
      der.choice("bound", {"value", "ci_high"}) == "ci_high" ? DeratingBound::kUpper : DeratingBound::kValue;

  const JsonReader t = r.object("targets");
  t.only({"spfm", "lfm", "pmhf_fit", "latent_exposure_hours"});
  cfg.targets.spfm = t.fraction("spfm");
  cfg.targets.lfm = t.fraction("lfm");
  cfg.targets.pmhf_fit = t.number("pmhf_fit", 0, true);
  cfg.fit.latent_exposure_hours = t.number("latent_exposure_hours", 0);

  const JsonReader opts = r.object("options");
  for (const std::string& name : opts.keys()) {
    if (name == "none") opts.fail(name, "\"none\" is built in (no protection, no area)");
    const JsonReader o = opts.object(name);
    cfg.options.push_back(read_option(o, j.at("options").at(name), name));
  }
  cfg.lockstep_option = r.string("lockstep_option");
  const auto lock = std::find_if(cfg.options.begin(), cfg.options.end(),
                                 [&](const OptionSpec& o) { return o.name == cfg.lockstep_option; });
  if (lock == cfg.options.end())
    r.fail("lockstep_option", "'" + cfg.lockstep_option + "' is not one of options");
  cfg.area_unit = r.string("area_unit");

  const JsonReader areas = r.object("areas");
  for (const std::string& macs : areas.keys()) {
    char* end = nullptr;
    const long m = std::strtol(macs.c_str(), &end, 10);
    if (macs.empty() || *end != '\0' || m <= 0)
      areas.fail(macs, "expected a MAC count (\"32\", \"64\", ...) as key");
    const JsonReader per = areas.object(macs);
    for (const std::string& block : per.keys()) {
      const JsonReader b = per.object(block);
      b.only({"area", "flop_share"});
      BlockArea a;
      a.area = b.number("area", 0);
      a.flop_share = b.has("flop_share") ? b.fraction("flop_share") : 1;
      cfg.areas[static_cast<int>(m)][block] = a;
    }
  }
  return cfg;
}

ProtectionConfig load_protection(const std::string& path) {
  return parse_protection(config::load_config(path), path);
}

PlanProblem make_problem(const Campaign& c, const ProtectionConfig& cfg, int macs) {
  const auto table = cfg.areas.find(macs);
  if (table == cfg.areas.end()) {
    std::string have;
    for (const auto& [m, _] : cfg.areas) have += (have.empty() ? "" : ", ") + std::to_string(m);
    throw InputError("protection config: no areas for a " + std::to_string(macs) + "-MAC NPU (areas has " +
                     have + ")");
  }
  PlanProblem p;
  p.targets = cfg.targets;
  for (const auto& [_, a] : table->second) p.base_area += a.area;
  for (const CampaignBlock& b : c.blocks) {
    const auto a = table->second.find(b.name);
    if (a == table->second.end())
      throw InputError("protection config: block '" + b.name + "' of the campaign has no area in areas." +
                       std::to_string(macs));
    if (b.injections == 0 && b.bits > 0 && b.residency > 0 && cfg.fit.bound == DeratingBound::kValue)
      throw InputError("campaign block '" + b.name +
                       "': no injection reached its live bits, so it has no measured derating (run more "
                       "samples, or --derating ci_high to count every live fault in it as dangerous)");
    p.blocks.push_back(b.name);
    std::vector<Choice> ch;
    ch.push_back({"none", 0, block_fit(b, Protection{}, cfg.fit)});
    // DRAM the campaign already ran under ECC: its rates include the code; nothing to add.
    if (b.cls == BlockClass::kDram && c.dram_ecc != "none") {
      ch[0].option = c.dram_ecc + " (in campaign)";
      p.choices.push_back(std::move(ch));
      continue;
    }
    for (const OptionSpec& o : cfg.options) {
      if (std::find(o.applies_to.begin(), o.applies_to.end(), b.cls) == o.applies_to.end()) continue;
      const double base = a->second.area * (o.area_of_flops ? a->second.flop_share : 1.0);
      ch.push_back({o.name, base * o.area_overhead + o.fixed_area, block_fit(b, o.protection, cfg.fit)});
    }
    p.choices.push_back(std::move(ch));
  }
  return p;
}

Plan evaluate(const PlanProblem& p, const std::vector<int>& pick) {
  Plan plan;
  plan.pick = pick;
  for (size_t i = 0; i < p.blocks.size(); ++i) {
    const Choice& c = p.choices[i][static_cast<size_t>(pick[i])];
    plan.area += c.area;
    accumulate(plan.metrics, c.fit);
  }
  finish(plan.metrics);
  plan.meets = meets(plan.metrics, p.targets);
  return plan;
}

namespace {

/// Both searches keep the same best: least area, then the lexicographically smallest pick.
bool better(const Plan& a, const std::optional<Plan>& best) {
  return !best || a.area < best->area || (a.area == best->area && a.pick < best->pick);
}

// The three targets are sums of per-block terms (SPFM and LFM after multiplying out their
// denominators), so the least each remaining block can add bounds a partial plan:
//   SPFM >= s  <=>  sum(spf_rf - (1 - s) total) <= 0
//   LFM  >= l  <=>  sum(latent - (1 - l)(total - spf_rf)) <= 0
//   PMHF <  t  <=>  sum(spf_rf + dual_point) < t
constexpr int kTerms = 3;
void terms(const BlockFit& f, const Targets& t, double out[kTerms]) {
  out[0] = f.spf_rf - (1 - t.spfm) * f.total;
  out[1] = f.mpf_latent - (1 - t.lfm) * (f.total - f.spf_rf);
  out[2] = f.spf_rf + f.dual_point;
}

struct Search {
  const PlanProblem& p;
  size_t n;
  std::vector<std::vector<std::array<double, kTerms>>> term;  // [block][choice]
  std::vector<std::array<double, kTerms>> rest_min;           // least sum over blocks >= i
  std::vector<double> rest_area;                              // least area over blocks >= i
  std::array<double, kTerms> tol{};
  std::vector<int> pick;
  std::optional<Plan> best;
  uint64_t visited = 0;

  explicit Search(const PlanProblem& prob) : p(prob), n(prob.blocks.size()) {
    term.resize(n);
    rest_min.assign(n + 1, {0, 0, 0});
    rest_area.assign(n + 1, 0);
    std::array<double, kTerms> scale{};
    for (size_t i = n; i-- > 0;) {
      std::array<double, kTerms> lo;
      lo.fill(std::numeric_limits<double>::infinity());
      double area = std::numeric_limits<double>::infinity();
      for (const Choice& c : p.choices[i]) {
        std::array<double, kTerms> x;
        terms(c.fit, p.targets, x.data());
        for (int k = 0; k < kTerms; ++k) {
          lo[k] = std::min(lo[k], x[k]);
          scale[k] += std::fabs(x[k]);
        }
        area = std::min(area, c.area);
        term[i].push_back(x);
      }
      for (int k = 0; k < kTerms; ++k) rest_min[i][k] = rest_min[i + 1][k] + lo[k];
      rest_area[i] = rest_area[i + 1] + area;
    }
    // Rounding slack: a bound prunes only when it misses by more than this.
    for (int k = 0; k < kTerms; ++k) tol[k] = 1e-9 * (scale[k] + 1e-300);
    pick.assign(n, 0);
  }

  void dfs(size_t i, double area, const std::array<double, kTerms>& sum) {
    ++visited;
    if (best && area + rest_area[i] > best->area * (1 + 1e-12)) return;
    if (sum[0] + rest_min[i][0] > tol[0]) return;
    if (sum[1] + rest_min[i][1] > tol[1]) return;
    if (sum[2] + rest_min[i][2] >= p.targets.pmhf_fit + tol[2]) return;
    if (i == n) {
      Plan plan = evaluate(p, pick);
      if (plan.meets && better(plan, best)) best = std::move(plan);
      return;
    }
    for (size_t j = 0; j < p.choices[i].size(); ++j) {
      pick[i] = static_cast<int>(j);
      std::array<double, kTerms> next = sum;
      for (int k = 0; k < kTerms; ++k) next[k] += term[i][j][k];
      dfs(i + 1, area + p.choices[i][j].area, next);
    }
    pick[i] = 0;
  }
};

}  // namespace

double plan_count(const PlanProblem& p) {
  double n = 1;
  for (const auto& c : p.choices) n *= static_cast<double>(c.size());
  return n;
}

std::optional<Plan> optimal_plan(const PlanProblem& p, uint64_t* visited) {
  Search s(p);
  s.dfs(0, 0, {0, 0, 0});
  if (visited) *visited = s.visited;
  return s.best;
}

std::optional<Plan> brute_force_plan(const PlanProblem& p) {
  if (plan_count(p) > 1e7) throw InputError("brute force: more than 10^7 plans");
  std::optional<Plan> best;
  std::vector<int> pick(p.blocks.size(), 0);
  while (true) {
    Plan plan = evaluate(p, pick);
    if (plan.meets && better(plan, best)) best = std::move(plan);
    // Odometer, the last block fastest: plans come in lexicographic order.
    size_t i = pick.size();
    while (i > 0) {
      --i;
      if (++pick[i] < static_cast<int>(p.choices[i].size())) break;
      pick[i] = 0;
      if (i == 0) return best;
    }
    if (pick.empty()) return best;
  }
}

Plan lockstep_plan(const PlanProblem& p, const ProtectionConfig& cfg, int macs,
                   const std::vector<int>& offchip) {
  const std::map<std::string, BlockArea>& table = cfg.areas.at(macs);
  std::vector<int> pick(p.blocks.size(), 0);
  double area = 0;
  for (const auto& [name, a] : table) area += a.area;  // lockstep duplicates the whole NPU
  for (size_t i = 0; i < p.blocks.size(); ++i) {
    if (table.at(p.blocks[i]).area <= 0) {
      pick[i] = offchip.empty() ? 0 : offchip[i];
      area += p.choices[i][static_cast<size_t>(pick[i])].area;
      continue;
    }
    for (size_t j = 0; j < p.choices[i].size(); ++j)
      if (p.choices[i][j].option == cfg.lockstep_option) pick[i] = static_cast<int>(j);
  }
  Plan plan = evaluate(p, pick);
  plan.area = area;
  return plan;
}

}  // namespace edgesim::fault
