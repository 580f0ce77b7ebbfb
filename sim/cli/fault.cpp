// `edgesim fault`: a soft-error injection campaign on the NPU model. Faults (single bit
// flips, multi-bit upsets of adjacent bits, stuck-at bits) strike the NPU's storage
// (models/fault/sites.hpp), run through the bit-exact int8 execution with incremental
// re-execution, and are classified against the golden run; rates per block with Wilson
// intervals, proportional (correct) against uniform (naive) sampling, and Resiliency
// Accuracy by plain Monte Carlo and by importance sampling. docs/fault.md.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

#include "models/fault/campaign.hpp"
#include "models/npu/compress.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/documents.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/results.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

constexpr const char* kCampaignSchema = "edgesim.fault_campaign/1";

std::string pct(const json& r) {
  char b[64];
  std::snprintf(b, sizeof b, "%6.2f%% [%5.2f,%6.2f]", 100 * r["value"].get<double>(),
                100 * r["ci_low"].get<double>(), 100 * r["ci_high"].get<double>());
  return b;
}

std::string campaign_table(const json& r) {
  std::ostringstream o;
  char line[400];
  o << "edgesim fault | network " << r["network"].get<std::string>() << " | npu "
    << r["npu"]["name"].get<std::string>() << " (" << r["npu"]["macs_per_cycle"] << " MACs/cycle) | "
    << r["fault_model"].get<std::string>() << " | dram ecc " << r["dram_ecc"].get<std::string>() << " | seed "
    << r["seed"] << " | " << r["injections"] << " injections per sampling, confidence " << r["confidence"]
    << "\n";
  const bool naive = r.contains("naive_uniform");
  std::snprintf(line, sizeof line, "  %-16s %-5s %9s %8s | %-36s %-26s %-26s%s\n", "block", "class", "bits",
                "resid.", "proportional (correct): n", "SDC rate [CI]", "DUE rate [CI]",
                naive ? " | uniform (naive): n, SDC rate [CI], DUE rate [CI]" : "");
  o << line;
  for (size_t i = 0; i < r["blocks"].size(); ++i) {
    const json& b = r["blocks"][i];
    std::snprintf(line, sizeof line, "  %-16s %-5s %9llu %7.4f | %-36llu %-26s %-26s",
                  b["name"].get<std::string>().c_str(), b["class"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(b["bits"].get<uint64_t>()), b["residency"].get<double>(),
                  static_cast<unsigned long long>(b["injections"].get<uint64_t>()),
                  pct(b["sdc_rate"]).c_str(), pct(b["due_rate"]).c_str());
    o << line;
    if (naive) {
      const json& u = r["naive_uniform"]["blocks"][i];
      std::snprintf(line, sizeof line, " | %6llu %s %s",
                    static_cast<unsigned long long>(u["injections"].get<uint64_t>()),
                    pct(u["sdc_rate"]).c_str(), pct(u["due_rate"]).c_str());
      o << line;
    }
    o << "\n";
  }
  for (size_t i = 0; i < r["classes"].size(); ++i) {
    const json& b = r["classes"][i];
    std::snprintf(line, sizeof line, "  class %-10s %-5s %9llu %7.4f | %-36llu %-26s %-26s", "",
                  b["class"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(b["bits"].get<uint64_t>()), b["residency"].get<double>(),
                  static_cast<unsigned long long>(b["injections"].get<uint64_t>()),
                  pct(b["sdc_rate"]).c_str(), pct(b["due_rate"]).c_str());
    o << line;
    if (naive) {
      const json& u = r["naive_uniform"]["classes"][i];
      std::snprintf(line, sizeof line, " | %6llu %s %s",
                    static_cast<unsigned long long>(u["injections"].get<uint64_t>()),
                    pct(u["sdc_rate"]).c_str(), pct(u["due_rate"]).c_str());
      o << line;
    }
    o << "\n";
  }
  auto total_row = [&](const char* label, const json& t) {
    std::snprintf(line, sizeof line, "  %-44s masked %llu, SDC %s, tolerable SDC %s, DUE %s\n", label,
                  static_cast<unsigned long long>(t["masked"].get<uint64_t>()), pct(t["sdc_rate"]).c_str(),
                  pct(t["tolerable_sdc_rate"]).c_str(), pct(t["due_rate"]).c_str());
    o << line;
  };
  total_row("all live bits, proportional (correct):", r["total"]);
  if (naive) total_row("all sites, uniform (naive):", r["naive_uniform"]["total"]);
  if (r.contains("resiliency_accuracy")) {
    const json& ra = r["resiliency_accuracy"];
    for (const char* k : {"monte_carlo", "importance_sampling"}) {
      std::snprintf(
          line, sizeof line, "  RA %-20s %.4f%% [%.4f, %.4f] (%llu injections, per-sample variance %.3g)\n",
          k, 100 * ra[k]["ra"].get<double>(), 100 * ra[k]["ci_low"].get<double>(),
          100 * ra[k]["ci_high"].get<double>(), static_cast<unsigned long long>(ra[k]["n"].get<uint64_t>()),
          ra[k]["variance"].get<double>());
      o << line;
    }
    std::snprintf(line, sizeof line, "  RA clean accuracy %.4f%%, variance reduction factor %.2f\n",
                  100 * ra["clean_accuracy"].get<double>(), ra["variance_reduction_factor"].get<double>());
    o << line;
  }
  return o.str();
}

json ra_json(const fault::RaEstimate& e) {
  return {{"ra", e.ra}, {"ci_low", e.low}, {"ci_high", e.high}, {"variance", e.variance}, {"n", e.n}};
}

}  // namespace

void FaultOptions::validate() const {
  if ((samples > 0) == (error_margin > 0))
    throw InputError("fault: give exactly one of --samples S (> 0) or --error-margin E (in (0, 0.5))");
  if (error_margin != 0 && !(error_margin > 0 && error_margin < 0.5))
    throw InputError("fault: --error-margin must lie in (0, 0.5)");
  if (!(confidence > 0 && confidence < 1)) throw InputError("fault: --confidence must lie in (0, 1)");
  if (sampling != "proportional" && sampling != "uniform" && sampling != "both")
    throw InputError("fault: --sampling '" + sampling + "': expected proportional, uniform or both");
  if (dram_ecc != "none" && dram_ecc != "secded")
    throw InputError("fault: --dram-ecc '" + dram_ecc + "': expected none or secded");
  if (mbu_width < 2 || mbu_width > 8) throw InputError("fault: --mbu-width must lie in 2..8");
  if (stuck_cycles == 0) throw InputError("fault: --stuck-cycles must be at least 1");
  if (!(hang_factor > 1)) throw InputError("fault: --hang-factor must be greater than 1");
  if (jobs == 0) throw InputError("fault: --jobs must be at least 1");
  if (fault_model != "single_bit" && fault_model != "multi_bit" && fault_model != "stuck_at")
    throw InputError("fault: --fault-model '" + fault_model +
                     "': expected single_bit, multi_bit or stuck_at");
}

json fault_campaign(const npu::NpuSetup& setup, const npu::Dataset& data, const FaultOptions& o) {
  o.validate();
  fault::InjectorOptions io;
  io.model.kind = o.fault_model == "single_bit"  ? fault::FaultModelKind::kSingleBit
                  : o.fault_model == "multi_bit" ? fault::FaultModelKind::kMultiBit
                                                 : fault::FaultModelKind::kStuckAt;
  io.model.width = o.mbu_width;
  io.model.stuck_cycles = o.stuck_cycles;
  io.hang_factor = o.hang_factor;

  const npu::NpuDevice& dev = setup.dev;
  const npu::Network& net = setup.net;
  const npu::Plan& plan = setup.plan;
  const npu::NpuSettings& s = dev.settings;
  const npu::Timing timing = npu::time_network(plan, dev.memories());
  if (o.dram_ecc == "secded" && s.weights_in != npu::kDram)
    throw InputError("fault: --dram-ecc secded: the device keeps its weights in " +
                     std::string(npu::mem_name(s.weights_in)) +
                     ", not DRAM (set device.npu.weights_in=dram)");
  io.capacity[npu::kSram] = dev.sram ? dev.sram->capacity() : 0;
  io.capacity[npu::kFlash] = dev.flash ? dev.flash->capacity() : 0;
  io.capacity[npu::kDram] = dev.dram ? dev.dram->capacity() : 0;
  if (o.ra && data.labels.empty())
    throw InputError("fault: --ra needs labelled inputs (--input CSV with labels)");

  fault::SiteOptions so;
  so.dram_ecc = o.dram_ecc == "secded";
  const fault::SiteMap sites = fault::map_sites(net, plan, timing, so);
  if (sites.sites.empty()) throw InputError("fault: the network has no storage a fault can strike");
  const fault::Goldens goldens = fault::run_goldens(net, plan, data.inputs.data(), data.rows());
  double population = 0;
  for (const auto& site : sites.sites) population += site.live_bit_cycles();
  population *= static_cast<double>(data.rows());
  const uint64_t samples =
      o.error_margin > 0 ? fault::leveugle_sample_size(population, o.error_margin, o.confidence) : o.samples;
  const double z = fault::critical_value(o.confidence);

  fault::CampaignOptions co;
  co.samples = samples, co.seed = o.seed, co.workers = o.jobs, co.progress = o.progress;
  json npu_json = dev.config.contains("device") ? dev.config["device"]["npu"] : json::object();
  npu_json["name"] = s.name;
  npu_json["macs_per_cycle"] = s.arch.macs;
  json result = {{"schema", kCampaignSchema},
                 {"edgesim_version", EDGESIM_VERSION},
                 {"network", net.name},
                 {"npu", npu_json},
                 {"config", dev.config},
                 {"sampling", o.sampling == "uniform" ? "uniform" : "proportional"},
                 {"seed", o.seed},
                 {"injections", samples},
                 {"fault_model", o.fault_model},
                 {"dram_ecc", o.dram_ecc},
                 {"confidence", o.confidence},
                 {"inputs", data.rows()},
                 {"cycles_per_inference", sites.cycles},
                 {"population", population},
                 {"sample_size",
                  {{"method", o.error_margin > 0 ? "leveugle" : "given"},
                   {"error_margin", o.error_margin},
                   {"p", 0.5}}}};
  if (io.model.kind == fault::FaultModelKind::kMultiBit) result["mbu_width"] = o.mbu_width;
  if (io.model.kind == fault::FaultModelKind::kStuckAt) result["stuck_cycles"] = o.stuck_cycles;

  std::vector<fault::Sample> primary;
  co.sampling = o.sampling == "uniform" ? fault::Sampling::kUniform : fault::Sampling::kProportional;
  primary = fault::run_campaign(net, plan, sites, goldens, io, co);
  result["blocks"] = fault::block_results(sites, primary, z);
  result["classes"] = fault::class_results(sites, primary, z);
  result["total"] = fault::counts_json(fault::total_counts(primary), z);
  if (o.sampling == "both") {
    co.sampling = fault::Sampling::kUniform;
    const auto naive = fault::run_campaign(net, plan, sites, goldens, io, co);
    result["naive_uniform"] = {{"sampling", "uniform"},
                               {"blocks", fault::block_results(sites, naive, z)},
                               {"classes", fault::class_results(sites, naive, z)},
                               {"total", fault::counts_json(fault::total_counts(naive), z)}};
  }
  if (o.ra) {
    const auto mc = o.sampling == "uniform" ? (co.sampling = fault::Sampling::kProportional,
                                               fault::run_campaign(net, plan, sites, goldens, io, co))
                                            : primary;
    co.sampling = fault::Sampling::kImportance;
    const auto is = fault::run_campaign(net, plan, sites, goldens, io, co);
    const fault::RaEstimate e_mc = fault::resiliency_accuracy(mc, data.labels, goldens.top1, z, false);
    const fault::RaEstimate e_is = fault::resiliency_accuracy(is, data.labels, goldens.top1, z, true);
    uint64_t correct = 0;
    for (size_t i = 0; i < data.rows(); ++i) correct += goldens.top1[i] == data.labels[i] ? 1 : 0;
    result["resiliency_accuracy"] = {
        {"monte_carlo", ra_json(e_mc)},
        {"importance_sampling", ra_json(e_is)},
        {"clean_accuracy", static_cast<double>(correct) / static_cast<double>(data.rows())},
        {"variance_reduction_factor", e_is.variance > 0 ? e_mc.variance / e_is.variance : 0.0}};
  }
  return result;
}

int cmd_fault(const Args& args) {
  NpuArgs npu_args;
  FaultOptions o;
  o.jobs = std::max(1u, std::thread::hardware_concurrency());
  o.progress = true;
  std::string json_out, format = "table";
  po::options_description d("Options");
  npu_args.declare(
      d,
      "CSV (or .csv.gz) of labelled inputs the faults run on (default: one input of zeros; RA needs labels)");
  d.add_options()("samples", po::value(&o.samples), "injections per sampling scheme")(
      "error-margin", po::value(&o.error_margin),
      "margin of error e: the sample size from Leveugle et al. (DATE 2009)")(
      "confidence", po::value(&o.confidence)->default_value(o.confidence, "0.95"),
      "confidence level of sizes and intervals")(
      "sampling", po::value(&o.sampling)->default_value(o.sampling),
      "proportional (sites by live bits x cycles: correct), uniform (sites uniformly: naive) or both")(
      "fault-model", po::value(&o.fault_model)->default_value(o.fault_model),
      "single_bit, multi_bit or stuck_at")("mbu-width", po::value(&o.mbu_width)->default_value(o.mbu_width),
                                           "multi_bit: adjacent bits upset (2..8)")(
      "stuck-cycles", po::value(&o.stuck_cycles)->default_value(o.stuck_cycles),
      "stuck_at: cycles the bit is held")("dram-ecc", po::value(&o.dram_ecc)->default_value(o.dram_ecc),
                                          "none or secded: SECDED (72,64) on DRAM words")(
      "hang-factor", po::value(&o.hang_factor)->default_value(o.hang_factor, "2"),
      "a run past this many golden cycles is a hang (a DUE)")(
      "seed", po::value(&o.seed)->default_value(o.seed), "campaign seed")(
      "jobs,j", po::value(&o.jobs)->default_value(o.jobs), "worker threads (results do not depend on it)")(
      "ra", po::bool_switch(&o.ra),
      "Resiliency Accuracy by Monte Carlo and importance sampling (needs labels)")(
      "json", po::value(&json_out), "write the campaign result file (edgesim.fault_campaign/1) atomically")(
      "format", po::value(&format)->default_value(format), "stdout format: table or json");
  if (!parse_args(
          args, d, nullptr,
          "Usage: edgesim fault --config DEVICE --network NET (--samples S | --error-margin E\n"
          "                     [--confidence C]) [--input CSV] [--sampling proportional|uniform|both]\n"
          "                     [--fault-model single_bit|multi_bit|stuck_at] [--dram-ecc none|secded]\n"
          "                     [--ra] [--seed N] [--jobs J] [--json OUT] [--format table|json]\n"
          "A soft-error injection campaign on the NPU model: SDC and DUE rates per block with Wilson\n"
          "intervals, correct (proportional) against naive (uniform) sampling, Resiliency Accuracy."))
    return kExitOk;
  npu_args.require("fault");
  o.validate();
  check_format(format, {"table", "json"});
  const npu::NpuSetup setup = npu::setup_npu(npu_args.config, npu_args.sets, npu_args.network);
  const npu::Dataset data = npu::load_dataset_or_zero(npu_args.input, setup.net);
  const json result = fault_campaign(setup, data, o);
  if (!json_out.empty()) sim::write_atomic(json_out, result.dump(2) + "\n");
  std::cout << (format == "json" ? result.dump(2) + "\n" : campaign_table(result));
  return kExitOk;
}

}  // namespace edgesim::cli
