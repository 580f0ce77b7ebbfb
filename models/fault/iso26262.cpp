#include "models/fault/iso26262.hpp"

#include <cmath>
#include <set>
#include <sstream>

#include "models/fault/protection_json.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::fault {

using json = nlohmann::json;

const char* block_class_name(BlockClass c) {
  switch (c) {
    case BlockClass::kSram: return "sram";
    case BlockClass::kFlop: return "flop";
    case BlockClass::kDram: return "dram";
  }
  return "?";
}

namespace {

Rate read_rate(const JsonReader& r, const std::string& key) {
  const JsonReader o = r.object(key);
  Rate x;
  x.value = o.fraction("value");
  x.ci_low = o.fraction("ci_low");
  x.ci_high = o.fraction("ci_high");
  // Rounding slack: a writer's interval for 0 successes may start at 1e-18.
  constexpr double kSlack = 1e-9;
  if (!(x.ci_low <= x.value + kSlack && x.value <= x.ci_high + kSlack))
    o.fail("", "expected ci_low <= value <= ci_high, got " + std::to_string(x.ci_low) + ", " +
                   std::to_string(x.value) + ", " + std::to_string(x.ci_high));
  return x;
}

CampaignBlock read_block(const JsonReader& r) {
  CampaignBlock b;
  b.name = r.string("name");
  const std::string cls = r.choice("class", {"sram", "flop", "dram"});
  b.cls = cls == "sram" ? BlockClass::kSram : cls == "flop" ? BlockClass::kFlop : BlockClass::kDram;
  b.bits = r.count("bits");
  b.residency = r.fraction("residency");
  b.injections = r.count("injections");
  b.masked = r.count("masked");
  b.sdc = r.count("sdc");
  b.tolerable_sdc = r.count("tolerable_sdc");
  b.due = r.count("due");
  if (b.masked + b.sdc + b.tolerable_sdc + b.due != b.injections)
    r.fail("injections", "masked + sdc + tolerable_sdc + due = " +
                             std::to_string(b.masked + b.sdc + b.tolerable_sdc + b.due) + ", not " +
                             std::to_string(b.injections));
  if (b.injections == 0 && b.bits > 0 && b.residency > 0)
    r.fail("injections",
           "0: no measured derating for a block with live bits (sample it, or set residency 0)");
  b.sdc_rate = read_rate(r, "sdc_rate");
  b.due_rate = read_rate(r, "due_rate");
  if (b.sdc_rate.value + b.due_rate.value > 1 + 1e-9) r.fail("sdc_rate", "sdc_rate + due_rate exceed 1");
  return b;
}

}  // namespace

Campaign parse_campaign(const json& j, const std::string& origin) {
  const JsonReader r(j, origin, "");
  Campaign c;
  const std::string schema = r.string("schema");
  if (schema != "edgesim.fault_campaign/1")
    r.fail("schema", "'" + schema + "': expected \"edgesim.fault_campaign/1\"");
  c.network = r.string("network");
  const JsonReader npu = r.object("npu");
  c.macs = static_cast<int>(npu.count("macs_per_cycle"));
  c.sampling = r.string("sampling");
  c.seed = r.count("seed");
  c.injections = r.count("injections");
  c.fault_model = r.string("fault_model");
  if (r.has("dram_ecc")) c.dram_ecc = r.string("dram_ecc");
  const std::vector<JsonReader> blocks = r.array("blocks");
  if (blocks.empty()) r.fail("blocks", "empty: a campaign has at least one block");
  std::set<std::string> names;
  for (const JsonReader& b : blocks) {
    c.blocks.push_back(read_block(b));
    if (!names.insert(c.blocks.back().name).second)
      b.fail("name", "'" + c.blocks.back().name + "' appears twice");
  }
  return c;
}

Campaign load_campaign(const std::string& path) {
  return parse_campaign(config::parse_json_text(config::read_file(path), path), path);
}

double FitSettings::fit_per_bit(BlockClass c) const {
  switch (c) {
    case BlockClass::kSram: return sram_fit_per_bit;
    case BlockClass::kFlop: return flop_fit_per_bit;
    case BlockClass::kDram: return dram_fit_per_bit;
  }
  return 0;
}

BlockFit block_fit(const CampaignBlock& b, const Protection& p, const FitSettings& s) {
  BlockFit f;
  const double per_bit = s.fit_per_bit(b.cls);
  const double live = s.apply_residency ? b.residency : 1.0;
  const bool upper = s.bound == DeratingBound::kUpper;
  // A block no injection reached has no measured rate: the conservative bound takes every
  // live fault as dangerous (make_problem refuses it under the measured rates).
  const bool unmeasured = b.injections == 0;
  const double sdc = unmeasured ? 1.0 : upper ? b.sdc_rate.ci_high : b.sdc_rate.value;
  const double due = unmeasured ? 0.0 : upper ? b.due_rate.ci_high : b.due_rate.value;

  f.raw = static_cast<double>(b.bits) * per_bit * p.fit_factor;
  f.sm = static_cast<double>(b.bits) * per_bit * p.sm_fit_fraction;
  f.total = f.raw + f.sm;
  f.dangerous = f.raw * live * sdc;
  f.detected_due = f.raw * live * due;

  // An SDC-causing fault is covered with probability dc; the rest is residual (a
  // single-point fault when there is no mechanism, dc = 0).
  f.spf_rf = f.dangerous * (1 - p.dc);
  f.mpf_detected = f.dangerous * p.dc;
  if (s.due_detected) {
    f.mpf_detected += f.detected_due;
  } else {
    f.spf_rf += f.detected_due * (1 - p.dc);
    f.mpf_detected += f.detected_due * p.dc;
  }
  // The mechanism's own storage (check bits, the duplicate) holds live data as the block
  // does; its faults are found by the mechanism itself except (1 - latent_coverage).
  const double sm_live = f.sm * live;
  f.mpf_latent = sm_live * (1 - p.latent_coverage);
  f.mpf_detected += sm_live * p.latent_coverage;
  f.safe = f.total - f.spf_rf - f.mpf_detected - f.mpf_latent;
  // Dual-point failure: a latent fault disables the mechanism, then a fault it would have
  // covered strikes within the exposure time: lambda_L x lambda_covered x T (per hour,
  // FIT = 1e-9 per hour).
  f.dual_point = f.mpf_latent * (f.dangerous * p.dc) * 1e-9 * s.latent_exposure_hours;
  return f;
}

void accumulate(Metrics& m, const BlockFit& f) {
  m.total += f.total;
  m.spf_rf += f.spf_rf;
  m.mpf_latent += f.mpf_latent;
  m.dual_point += f.dual_point;
}

void finish(Metrics& m) {
  m.spfm = m.total > 0 ? 1 - m.spf_rf / m.total : 1;
  const double multi = m.total - m.spf_rf;
  m.lfm = multi > 0 ? 1 - m.mpf_latent / multi : 1;
  m.pmhf = m.spf_rf + m.dual_point;
}

bool meets(const Metrics& m, const Targets& t) {
  return m.spfm >= t.spfm && m.lfm >= t.lfm && m.pmhf < t.pmhf_fit;
}

std::string shortfall(const Metrics& m, const Targets& t) {
  std::ostringstream os;
  os.precision(4);
  auto sep = [&] {
    if (os.tellp() > 0) os << ", ";
  };
  if (m.spfm < t.spfm) os << "SPFM " << m.spfm * 100 << " % < " << t.spfm * 100 << " %";
  if (m.lfm < t.lfm) sep(), os << "LFM " << m.lfm * 100 << " % < " << t.lfm * 100 << " %";
  if (!(m.pmhf < t.pmhf_fit)) sep(), os << "PMHF " << m.pmhf << " FIT >= " << t.pmhf_fit << " FIT";
  return os.str();
}

}  // namespace edgesim::fault
