// `edgesim npu`: runs an int8 CNN on the Ethos-U55-class NPU model: per-layer cycles,
// MAC utilisation, bytes from each memory and what bounds the layer; totals (inferences
// per second, energy); and, with --input, the network's outputs (and accuracy when the
// inputs are labelled) from the bit-exact int8 execution, checked against the reference.
#include <boost/program_options.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "models/npu/compress.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
#include "models/npu/npu_tlm.hpp"
#include "models/npu/reference.hpp"
#include "models/npu/summary.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/documents.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/config/units.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/stats.hpp"
#include "sim/results.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

/// "48x48x8": a tensor's shape without TFLite's leading batch of 1.
std::string shape_text(const std::vector<int>& s) {
  const size_t first = (s.size() == 4 || s.size() == 2) && s[0] == 1 ? 1 : 0;
  std::string t;
  for (size_t i = first; i < s.size(); ++i) t += (i > first ? "x" : "") + std::to_string(s[i]);
  return t;
}

json layer_json(const npu::Network& net, const npu::Plan& plan, const npu::Timing& t, size_t i) {
  const npu::Op& op = net.ops[i];
  const npu::LayerPlan& lp = plan.layers[i];
  const npu::LayerTiming& lt = t.layers[i];
  const double util = npu::layer_utilisation(lp, lt, plan.settings);
  json bytes = json::object();
  for (int m = 0; m < npu::kMemories; ++m)
    bytes[npu::mem_name(static_cast<npu::Mem>(m))] = lt.read_bytes[m] + lt.write_bytes[m];
  const std::string bound = npu::layer_bound(op, lp, lt);
  const double energy = npu::layer_energy(lt);
  json j = {{"name", op.name},
            {"type", npu::op_type_name(op.type)},
            {"output_shape", shape_text(net.tensors[op.output].shape)},
            {"block", lp.block_h ? std::to_string(lp.block_h) + "x" + std::to_string(lp.block_w) + "x" +
                                       std::to_string(lp.block_c)
                                 : "-"},
            {"unit", op.on_cpu ? "cpu" : "npu"},
            {"jobs", lp.jobs.size()},
            {"cycles", lt.cycles},
            {"compute_cycles", lt.compute_cycles},
            {"dma_cycles", lt.dma_cycles},
            {"macs", lp.macs},
            {"mac_utilisation", util},
            {"bound", bound},
            {"bytes", bytes},
            {"energy_J", energy}};
  if (op.on_cpu) j["cpu_reason"] = op.cpu_reason;
  if (lp.accumulator_bits) {
    j["storage"] = {
        {"accumulator_bits", lp.accumulator_bits},
        {"shared_buffer_bytes", lp.shared_buffer_bytes},
        {"accumulator_residency_cycles",
         lp.jobs.empty() ? 0.0
                         : static_cast<double>(lp.compute_cycles()) / static_cast<double>(lp.jobs.size())}};
  }
  if (!op.weights.empty()) {
    j["weights"] = {{"count", lp.encoding.weights},
                    {"zeros", lp.encoding.zeros},
                    {"distinct_nonzero", lp.encoding.distinct_nonzero},
                    {"encoding", lp.encoding.mode},
                    {"bits_per_weight", lp.encoding.bits_per_weight()},
                    {"stream_bytes", lp.weight_stream_bytes},
                    {"fetches", lp.weight_fetches}};
  }
  return j;
}

std::string npu_table(const json& r) {
  const json& m = r.at("metrics");
  std::ostringstream o;
  char line[400];
  o << "edgesim " << r.value("edgesim_version", "?") << " | npu " << m["npu"].get<std::string>() << " ("
    << m["macs_per_cycle"] << " MACs/cycle, "
    << config::format_quantity(m["clock_Hz"].get<double>(), config::Quantity::Frequency) << ", shared buffer "
    << config::format_quantity(m["shared_buffer_bytes"].get<double>(), config::Quantity::Bytes)
    << ") | network " << m["network"].get<std::string>() << " | weights in "
    << m["weights_in"].get<std::string>() << " | timing " << r["run"]["timing"].get<std::string>() << "\n";
  // Columns as wide as the longest layer name (up to 24) and output shape.
  int name_w = 8, shape_w = 8;
  for (const auto& l : m["layers"]) {
    name_w = std::max(name_w, std::min(24, static_cast<int>(l["name"].get<std::string>().size())));
    shape_w = std::max(shape_w, static_cast<int>(l["output_shape"].get<std::string>().size()));
  }
  std::snprintf(line, sizeof line, "  %-*s %-16s %-*s %-9s %9s %6s %-14s %9s %9s %9s\n", name_w, "layer", "type",
                shape_w, "output", "block", "cycles", "util", "bound", "flash B", "sram B", "dram B");
  o << line;
  for (const auto& l : m["layers"]) {
    std::snprintf(line, sizeof line, "  %-*s %-16s %-*s %-9s %9llu %5.1f%% %-14s %9llu %9llu %9llu\n", name_w,
                  l["name"].get<std::string>().substr(0, static_cast<size_t>(name_w)).c_str(),
                  l["type"].get<std::string>().c_str(), shape_w, l["output_shape"].get<std::string>().c_str(),
                  l["block"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(l["cycles"].get<uint64_t>()),
                  100 * l["mac_utilisation"].get<double>(), l["bound"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(l["bytes"]["flash"].get<uint64_t>()),
                  static_cast<unsigned long long>(l["bytes"]["sram"].get<uint64_t>()),
                  static_cast<unsigned long long>(l["bytes"]["dram"].get<uint64_t>()));
    o << line;
  }
  auto row = [&](const std::string& k, const std::string& v) {
    std::snprintf(line, sizeof line, "  %-28s %s\n", k.c_str(), v.c_str());
    o << line;
  };
  char buf[200];
  std::snprintf(buf, sizeof buf, "%llu cycles = %s",
                static_cast<unsigned long long>(m["cycles"].get<uint64_t>()),
                config::format_quantity(m["latency_s"].get<double>(), config::Quantity::Time).c_str());
  row("latency/inference", buf);
  std::snprintf(buf, sizeof buf, "%.1f", m["inferences_per_s"].get<double>());
  row("inferences/s", buf);
  std::snprintf(buf, sizeof buf, "%.1f %% (%llu MACs)", 100 * m["mac_utilisation"].get<double>(),
                static_cast<unsigned long long>(m["macs"].get<uint64_t>()));
  row("MAC utilisation", buf);
  if (m["cpu"]["ops"].get<uint64_t>() > 0) {
    std::snprintf(buf, sizeof buf, "%llu ops, %llu cycles (%.1f %% of the latency)",
                  static_cast<unsigned long long>(m["cpu"]["ops"].get<uint64_t>()),
                  static_cast<unsigned long long>(m["cpu"]["cycles"].get<uint64_t>()),
                  100 * m["cpu"]["cycles"].get<double>() / std::max(1.0, m["cycles"].get<double>()));
    row("on the host CPU", buf);
  }
  const json& e = m["energy_J"];
  std::snprintf(buf, sizeof buf, "%.4g uJ (compute %.3g, sram %.3g, flash %.3g, dram %.3g, static %.3g uJ)",
                e["total"].get<double>() * 1e6, e["compute"].get<double>() * 1e6,
                e["sram"].get<double>() * 1e6, e["flash"].get<double>() * 1e6, e["dram"].get<double>() * 1e6,
                e["static"].get<double>() * 1e6);
  row("energy/inference", buf);
  std::snprintf(buf, sizeof buf, "%llu B stream (%llu B as int8 + int32 bias)",
                static_cast<unsigned long long>(m["weight_stream_bytes"].get<uint64_t>()),
                static_cast<unsigned long long>(m["weight_bytes_uncompressed"].get<uint64_t>()));
  row("weights", buf);
  if (m.contains("inputs")) {
    const json& in = m["inputs"];
    std::snprintf(buf, sizeof buf, "%llu (bit-exact with the reference: %s)",
                  static_cast<unsigned long long>(in["count"].get<uint64_t>()),
                  in["bit_exact"].get<bool>() ? "yes" : "NO");
    row("inputs run", buf);
    if (in.contains("accuracy")) {
      std::snprintf(buf, sizeof buf, "%.2f %% (%llu of %llu)", 100 * in["accuracy"].get<double>(),
                    static_cast<unsigned long long>(in["correct"].get<uint64_t>()),
                    static_cast<unsigned long long>(in["count"].get<uint64_t>()));
      row("accuracy", buf);
    }
    if (in["count"].get<uint64_t>() == 1)
      row("predicted class", std::to_string(in["first_prediction"].get<int>()));
  }
  return o.str();
}

std::string npu_csv(const json& r) {
  std::ostringstream o;
  o << "layer,type,output_shape,block,jobs,cycles,compute_cycles,dma_cycles,macs,mac_utilisation,bound,flash_"
       "bytes,"
       "sram_bytes,dram_bytes,energy_J,weight_stream_bytes\n";
  for (const auto& l : r["metrics"]["layers"]) {
    o << sim::csv_cell(l["name"]) << ',' << l["type"].get<std::string>() << ','
      << l["output_shape"].get<std::string>() << ',' << l["block"].get<std::string>() << ',' << l["jobs"]
      << ',' << l["cycles"] << ',' << l["compute_cycles"] << ',' << l["dma_cycles"] << ',' << l["macs"] << ','
      << l["mac_utilisation"] << ',' << sim::csv_cell(l["bound"]) << ',' << l["bytes"]["flash"] << ','
      << l["bytes"]["sram"] << ',' << l["bytes"]["dram"] << ',' << l["energy_J"] << ','
      << (l.contains("weights") ? l["weights"]["stream_bytes"].dump() : "0") << "\n";
  }
  const json& m = r["metrics"];
  o << "total,,,,," << m["cycles"] << ",,,," << m["macs"] << ',' << m["mac_utilisation"] << ",,,,,"
    << m["energy_J"]["total"] << ',' << m["weight_stream_bytes"] << "\n";
  return o.str();
}

}  // namespace

void check_npu_timing(const std::string& timing) {
  if (timing != "systemc" && timing != "fast")
    throw InputError("npu: --timing '" + timing + "': expected systemc or fast");
}

json npu_totals(const npu::NpuSetup& setup, const npu::Timing& t) {
  const npu::Network& net = setup.net;
  const npu::Plan& plan = setup.plan;
  const npu::NpuSettings& s = setup.dev.settings;
  uint64_t stream = 0, uncompressed = 0, cpu_ops = 0, cpu_cycles = 0;
  double by_memory[npu::kMemories] = {}, compute = 0;
  for (size_t i = 0; i < net.ops.size(); ++i) {
    stream += plan.layers[i].weight_stream_bytes;
    uncompressed += net.ops[i].weights.size() + 4 * net.ops[i].bias.size();
    compute += t.layers[i].compute_energy;
    for (int m = 0; m < npu::kMemories; ++m) by_memory[m] += t.layers[i].memory_energy[m];
    if (!net.ops[i].on_cpu) continue;
    ++cpu_ops;
    cpu_cycles += t.layers[i].cycles;
  }
  json energy = {{"compute", compute}};
  for (int m = 0; m < npu::kMemories; ++m) energy[npu::mem_name(static_cast<npu::Mem>(m))] = by_memory[m];
  energy["static"] = t.static_energy;
  energy["total"] = t.energy;
  const uint64_t macs = net.total_macs();
  return {{"npu", s.name},
          {"network", net.name},
          {"macs_per_cycle", s.arch.macs},
          {"clock_Hz", s.clock},
          {"shared_buffer_bytes", s.arch.shared_buffer},
          {"weights_in", npu::mem_name(s.weights_in)},
          {"cycles", t.cycles},
          {"latency_s", t.seconds},
          {"inferences_per_s", t.seconds > 0 ? 1.0 / t.seconds : 0.0},
          {"macs", macs},
          {"mac_utilisation",
           t.cycles ? static_cast<double>(macs) / (static_cast<double>(t.cycles) * s.arch.macs) : 0.0},
          {"energy_J", energy},
          {"weight_stream_bytes", stream},
          {"weight_bytes_uncompressed", uncompressed},
          {"cpu", {{"ops", cpu_ops}, {"cycles", cpu_cycles}, {"name", s.cpu.name}}}};
}

json npu_results(const npu::NpuSetup& setup, const npu::Dataset& data, const NpuRunInfo& info, bool* exact) {
  const npu::Network& net = setup.net;
  const npu::Plan& plan = setup.plan;
  npu::Executor exec(net, plan);
  exec.set_input(data.row(0));
  sim::Stats stats;
  npu::Timing t;
  if (info.timing == "systemc") {
    // Runs the first input's layers at their ends.
    t = npu::run_systemc(plan, setup.dev.memories(), &exec, stats);
  } else {
    t = npu::time_network(plan, setup.dev.memories());
    exec.run();
  }
  uint64_t correct = 0;
  *exact = true;
  const int first = exec.argmax();
  for (size_t i = 0; i < data.rows(); ++i) {
    if (i > 0) {
      exec.set_input(data.row(i));
      exec.run();
    }
    const std::vector<int8_t> ref = npu::run_reference(net, data.row(i));
    *exact = *exact && std::equal(ref.begin(), ref.end(), exec.arena());
    if (!data.labels.empty() && exec.argmax() == data.labels[i]) ++correct;
  }
  json metrics = npu_totals(setup, t);
  json& layers = metrics["layers"] = json::array();
  for (size_t i = 0; i < net.ops.size(); ++i) layers.push_back(layer_json(net, plan, t, i));
  json inputs = {{"count", data.rows()}, {"bit_exact", *exact}, {"first_prediction", first}};
  if (!data.labels.empty()) {
    inputs["correct"] = correct;
    inputs["accuracy"] = static_cast<double>(correct) / static_cast<double>(data.rows());
  }
  metrics["inputs"] = inputs;
  return {{"schema", sim::kResultsSchema},
          {"edgesim_version", EDGESIM_VERSION},
          {"run",
           {{"mode", "npu"},
            {"network", info.network},
            {"input", info.input.empty() ? json(nullptr) : json(info.input)},
            {"timing", info.timing}}},
          {"config", setup.dev.config},
          {"metrics", metrics},
          {"stats", stats.to_json()}};
}

void NpuArgs::declare(po::options_description& d, const char* input_help) {
  d.add_options()("config,c", po::value(&config), "NPU device config (e.g. builtin:npu/ethos-u55-128.json)")(
      "network,n", po::value(&network), "network file: a TFLite model (.tflite, int8) or edgesim.npu_network/1 JSON")(
      "input,i", po::value(&input), input_help)(
      "set", po::value(&sets)->composing(),
      "override a key of the device: --set device.npu.macs=256 (repeatable)");
}

void NpuArgs::require(const std::string& command) const {
  if (config.empty())
    throw InputError(command + ": no device given (--config, e.g. builtin:npu/ethos-u55-128.json)");
  if (network.empty()) throw InputError(command + ": no network given (--network FILE)");
}

/// `--export-json OUT`: the network as read (before any compression the device asks
/// for) as edgesim.npu_network/1 JSON, its weights in OUT's name with ".bin".
void export_json(const std::string& network, const std::string& out) {
  const npu::Network net = npu::load_network(network);
  std::filesystem::path bin(out);
  bin.replace_extension(".bin");
  if (bin == std::filesystem::path(out)) bin += ".bin";
  const npu::ExportedNetwork e = npu::export_network(net, bin.filename().string());
  sim::write_atomic(bin.string(), e.weights);
  sim::write_atomic(out, e.doc.dump(1) + "\n");
  std::cerr << "npu: wrote " << out << " and " << bin.string() << " (" << net.ops.size() << " ops, "
            << net.weight_bytes() << " B of weights and biases)\n";
}

int cmd_npu(const Args& args) {
  NpuArgs npu_args;
  std::string out, format = "table", timing = "systemc", export_to;
  po::options_description d("Options");
  npu_args.declare(
      d, "CSV (or .csv.gz) of inputs, one a line, raw values then an optional label; accuracy when labelled");
  d.add_options()(
      "timing", po::value(&timing)->default_value(timing),
      "systemc (DMA and compute processes over the memory models' TLM targets) or fast (the same schedule in "
      "plain C++)")("out", po::value(&out), "folder to write results.json and results.csv into (atomically)")(
      "format", po::value(&format)->default_value("table"), "stdout format: table, json or csv")(
      "export-json", po::value(&export_to),
      "write the network as edgesim.npu_network/1 JSON to this file (weights beside it, .bin); without "
      "--config, only that");
  if (!parse_args(
          args, d, nullptr,
          "Usage: edgesim npu --config DEVICE --network NET [--input CSV] [--set KEY=VALUE ...]\n"
          "                   [--timing systemc|fast] [--out DIR] [--format table|json|csv]\n"
          "       edgesim npu --network NET.tflite --export-json OUT.json\n"
          "Runs an int8 CNN on the Ethos-U55-class NPU model: per-layer cycles, MAC utilisation, bytes\n"
          "from each memory, compute or memory bound; inferences/s and energy; the network's outputs\n"
          "from the bit-exact int8 execution (checked against the reference kernels)."))
    return kExitOk;
  if (!export_to.empty()) {
    if (npu_args.network.empty()) throw InputError("npu: --export-json needs a network (--network FILE)");
    export_json(npu_args.network, export_to);
    if (npu_args.config.empty()) return kExitOk;
  }
  npu_args.require("npu");
  check_format(format, {"table", "json", "csv"});
  check_npu_timing(timing);

  const npu::NpuSetup setup = npu::setup_npu(npu_args.config, npu_args.sets, npu_args.network);
  const npu::Dataset data = npu::load_dataset_or_zero(npu_args.input, setup.net);
  bool exact = true;
  const json results = npu_results(setup, data, {npu_args.network, npu_args.input, timing}, &exact);
  emit_results(results, format, out, {npu_table, npu_csv});
  // A datapath that disagrees with the reference is a failed simulation, not a result.
  if (!exact) throw SimError("npu: the NPU's int8 execution differs from the reference kernels");
  return kExitOk;
}

}  // namespace edgesim::cli
