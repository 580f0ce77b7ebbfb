// `edgesim fault-plan`: from a fault campaign's result (per-block SDC and DUE rates),
// the per-block FIT table, the ISO 26262 metrics of the unprotected NPU, the least-area
// protection plan meeting ASIL-D (exact search) and its area against dual-core lockstep.
// Its own command rather than `fault plan` because `fault` (campaigns) dispatches its own
// arguments; docs/iso26262.md.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "models/fault/iso26262.hpp"
#include "models/fault/protection.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/documents.hpp"
#include "sim/core/errors.hpp"
#include "sim/results.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;
using nlohmann::json;
using namespace edgesim::fault;

const char* const kDefaultProtection = "builtin:fault/protection.json";

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

json metrics_json(const Metrics& m, const Targets& t) {
  return {{"total_fit", m.total},
          {"spf_rf_fit", m.spf_rf},
          {"latent_fit", m.mpf_latent},
          {"dual_point_fit", m.dual_point},
          {"spfm", m.spfm},
          {"lfm", m.lfm},
          {"pmhf_fit", m.pmhf},
          {"meets_targets", meets(m, t)},
          {"shortfall", shortfall(m, t)}};
}

json plan_json(const PlanProblem& p, const Plan& plan, double base_area) {
  json blocks = json::array();
  for (size_t i = 0; i < p.blocks.size(); ++i) {
    const Choice& c = p.choices[i][static_cast<size_t>(plan.pick[i])];
    blocks.push_back({{"name", p.blocks[i]},
                      {"protection", c.option},
                      {"added_area", c.area},
                      {"residual_fit", c.fit.spf_rf},
                      {"latent_fit", c.fit.mpf_latent}});
  }
  return {{"blocks", blocks},
          {"added_area", plan.area},
          {"area_overhead", base_area > 0 ? plan.area / base_area : 0.0},
          {"metrics", metrics_json(plan.metrics, p.targets)}};
}

std::string metrics_line(const Metrics& m, const Targets& t) {
  std::string s = "SPFM " + fmt("%.3f", m.spfm * 100) + " %  LFM " + fmt("%.3f", m.lfm * 100) + " %  PMHF " +
                  fmt("%.4g", m.pmhf) + " FIT  -> ";
  const std::string miss = shortfall(m, t);
  return s + (miss.empty() ? "meets the targets" : "misses: " + miss);
}

std::string table(const json& r) {
  std::ostringstream os;
  const json& c = r["campaign"];
  const json& s = r["settings"];
  os << "edgesim fault-plan | network " << c["network"].get<std::string>() << " | NPU "
     << c["macs"].get<int>() << " MACs | " << c["sampling"].get<std::string>() << " sampling, "
     << c["injections"].get<uint64_t>() << " injections, " << c["fault_model"].get<std::string>() << "\n";
  os << "raw FIT/Mbit: SRAM " << s["raw_fit_per_mbit"]["sram"].get<double>() << ", flops "
     << s["raw_fit_per_mbit"]["flop"].get<double>() << ", DRAM "
     << s["raw_fit_per_mbit"]["dram"].get<double>() << " | derating: " << s["derating"].get<std::string>()
     << (s["apply_residency"].get<bool>() ? " x residency" : "") << " | DUE "
     << (s["due_detected"].get<bool>() ? "counted as detected" : "counted as dangerous") << "\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %-16s %-5s %10s %6s %8s %8s %10s %10s %10s %12s\n", "block", "class",
                "bits", "resid", "SDC", "DUE", "raw FIT", "SDC FIT", "DUE FIT", "area");
  os << line;
  for (const json& b : r["blocks"]) {
    std::snprintf(line, sizeof line,
                  "  %-16s %-5s %10llu %6.3f %7.2f%% %7.2f%% %10.4g %10.4g %10.4g %12.0f\n",
                  b["name"].get<std::string>().c_str(), b["class"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(b["bits"].get<uint64_t>()), b["residency"].get<double>(),
                  b["sdc_derating"].get<double>() * 100, b["due_derating"].get<double>() * 100,
                  b["raw_fit"].get<double>(), b["sdc_fit"].get<double>(), b["due_fit"].get<double>(),
                  b["area"].get<double>());
    os << line;
  }
  const Targets t{r["targets"]["spfm"].get<double>(), r["targets"]["lfm"].get<double>(),
                  r["targets"]["pmhf_fit"].get<double>()};
  auto mline = [&](const json& m) {
    Metrics x;
    x.spfm = m["spfm"].get<double>();
    x.lfm = m["lfm"].get<double>();
    x.pmhf = m["pmhf_fit"].get<double>();
    return metrics_line(x, t);
  };
  os << "  NPU area " << fmt("%.0f", r["npu_area"].get<double>()) << " " << s["area_unit"].get<std::string>()
     << " (on chip)\n\n";
  os << "unprotected:  " << mline(r["unprotected"]) << "\n";
  const json& p = r["plan"];
  if (p.is_null()) {
    os << "no protection plan meets the targets (searched " << r["search"]["plans"].get<double>()
       << " plans)\n";
  } else {
    os << "least-area plan meeting the targets (exact search: "
       << fmt("%.0f", r["search"]["plans"].get<double>()) << " plans, "
       << r["search"]["visited"].get<uint64_t>() << " nodes visited):\n";
    for (const json& b : p["blocks"]) {
      std::snprintf(line, sizeof line, "  %-16s %-12s +%10.0f area  residual %.4g FIT\n",
                    b["name"].get<std::string>().c_str(), b["protection"].get<std::string>().c_str(),
                    b["added_area"].get<double>(), b["residual_fit"].get<double>());
      os << line;
    }
    os << "  plan:     " << mline(p["metrics"]) << "\n";
    os << "  area overhead " << fmt("%.1f", p["area_overhead"].get<double>() * 100) << " % of the NPU\n";
  }
  const json& l = r["lockstep"];
  os << "lockstep:   " << mline(l["metrics"]) << "\n";
  os << "  area overhead " << fmt("%.1f", l["area_overhead"].get<double>() * 100) << " % of the NPU\n";
  return os.str();
}

}  // namespace

json fault_plan(const Campaign& c, const std::string& campaign_name, const std::string& protection_path,
                int macs, const std::string& derating) {
  ProtectionConfig cfg = load_protection(protection_path);
  if (!derating.empty()) {
    if (derating != "value" && derating != "ci_high")
      throw InputError("fault-plan: --derating '" + derating + "': expected value or ci_high");
    cfg.fit.bound = derating == "ci_high" ? DeratingBound::kUpper : DeratingBound::kValue;
  }
  if (macs == 0) macs = c.macs;
  if (macs <= 0) throw InputError("fault-plan: --macs " + std::to_string(macs) + ": expected a MAC count");
  const PlanProblem p = make_problem(c, cfg, macs);

  json r;
  r["schema"] = "edgesim.fault_plan/1";
  r["campaign"] = {{"path", campaign_name},  {"network", c.network},       {"macs", macs},
                   {"sampling", c.sampling}, {"injections", c.injections}, {"fault_model", c.fault_model},
                   {"seed", c.seed}};
  r["settings"] = {{"protection", protection_path},
                   {"raw_fit_per_mbit",
                    {{"sram", cfg.fit.sram_fit_per_bit * 1e6},
                     {"flop", cfg.fit.flop_fit_per_bit * 1e6},
                     {"dram", cfg.fit.dram_fit_per_bit * 1e6}}},
                   {"apply_residency", cfg.fit.apply_residency},
                   {"due_detected", cfg.fit.due_detected},
                   {"derating", cfg.fit.bound == DeratingBound::kUpper ? "ci_high" : "value"},
                   {"latent_exposure_hours", cfg.fit.latent_exposure_hours},
                   {"area_unit", cfg.area_unit}};
  r["targets"] = {{"spfm", cfg.targets.spfm}, {"lfm", cfg.targets.lfm}, {"pmhf_fit", cfg.targets.pmhf_fit}};
  r["npu_area"] = p.base_area;
  json blocks = json::array();
  const auto& areas = cfg.areas.at(macs);
  for (size_t i = 0; i < c.blocks.size(); ++i) {
    const CampaignBlock& b = c.blocks[i];
    const BlockFit& f = p.choices[i][0].fit;
    const bool upper = cfg.fit.bound == DeratingBound::kUpper;
    blocks.push_back({{"name", b.name},
                      {"class", block_class_name(b.cls)},
                      {"bits", b.bits},
                      {"residency", b.residency},
                      {"sdc_derating", upper ? b.sdc_rate.ci_high : b.sdc_rate.value},
                      {"due_derating", upper ? b.due_rate.ci_high : b.due_rate.value},
                      {"raw_fit", f.raw},
                      {"sdc_fit", f.dangerous},
                      {"due_fit", f.detected_due},
                      {"area", areas.at(b.name).area}});
  }
  r["blocks"] = blocks;
  const Plan none = evaluate(p, std::vector<int>(p.blocks.size(), 0));
  r["unprotected"] = metrics_json(none.metrics, p.targets);
  uint64_t visited = 0;
  const std::optional<Plan> best = optimal_plan(p, &visited);
  r["search"] = {{"plans", plan_count(p)}, {"visited", visited}};
  r["plan"] = best ? plan_json(p, *best, p.base_area) : json();
  const Plan lock = lockstep_plan(p, cfg, macs, best ? best->pick : std::vector<int>{});
  r["lockstep"] = plan_json(p, lock, p.base_area);
  return r;
}

int cmd_fault_plan(const Args& args) {
  std::string campaign_path, protection_path = kDefaultProtection, out, format = "table", derating;
  int macs = 0;
  po::options_description d("Options");
  d.add_options()("campaign", po::value(&campaign_path), "campaign result file (edgesim fault --json OUT)")(
      "protection", po::value(&protection_path)->default_value(kDefaultProtection),
      "protection config: raw FIT, derating, targets, options, areas")(
      "macs", po::value(&macs),
      "NPU configuration whose areas apply (default: the campaign's npu.macs_per_cycle)")(
      "derating", po::value(&derating),
      "value (the measured rates) or ci_high (their confidence intervals' upper ends: a conservative plan); "
      "default: the protection config's derating.bound")(
      "json", po::value(&out), "write the result as JSON to this file (atomically)")(
      "format", po::value(&format)->default_value("table"), "stdout format: table or json");
  if (!parse_args(args, d, nullptr,
                  "Usage: edgesim fault-plan --campaign RESULTS.json [--protection FILE] [--macs N]\n"
                  "                          [--derating value|ci_high] [--json OUT] [--format table|json]\n"
                  "Per-block FIT from a fault campaign, ISO 26262-5 metrics (SPFM, LFM, PMHF) of the\n"
                  "unprotected NPU, the least-area protection plan meeting the targets (ASIL-D by\n"
                  "default) by an exact search, and its area against dual-core lockstep."))
    return kExitOk;
  if (campaign_path.empty()) throw InputError("fault-plan: no campaign given (--campaign RESULTS.json)");
  check_format(format, {"table", "json"});
  const json r = fault_plan(load_campaign(campaign_path), campaign_path, protection_path, macs, derating);
  if (format == "json")
    std::cout << r.dump(2) << "\n";
  else
    std::cout << table(r);
  if (!out.empty()) sim::write_atomic(out, r.dump(2) + "\n");
  return kExitOk;
}

}  // namespace edgesim::cli
