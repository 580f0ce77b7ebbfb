// `edgesim dram`: replays a memory request trace on the command-level DRAM model and
// reports bandwidth, latency, row-buffer hit rate, command counts and energy.
// `edgesim dram gen` writes synthetic sequential or random traces.
#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>

#include "models/memory/dram_command.hpp"
#include "models/memory/dram_trace.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/documents.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/config/units.hpp"
#include "sim/core/errors.hpp"
#include "sim/experiment.hpp"
#include "sim/results.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;
using nlohmann::json;

namespace {
constexpr const char* kPartSchema = "edgesim.dram_part/1";
}  // namespace

json dram_config(const std::string& config_path, const std::string& part,
                 const std::vector<std::string>& sets) {
  json cfg;
  if (!part.empty()) {
    if (!config_path.empty()) throw InputError("dram: give --config or --part, not both");
    cfg = {{"device", {{"dram", {{"model", "command"}, {"part", part}}}}}};
  } else if (config_path.empty()) {
    throw InputError("dram: no DRAM given: --part NAME (built-in: " + [] {
      std::string s;
      for (const auto& n : memory::builtin_dram_parts()) s += (s.empty() ? "" : ", ") + n;
      return s;
    }() + ") or --config FILE");
  } else {
    const bool builtin = config_path.rfind("builtin:", 0) == 0;
    const json raw =
        builtin ? json::object() : config::parse_json_text(config::read_file(config_path), config_path);
    if (raw.is_object() && raw.contains("schema") && raw["schema"] == kPartSchema) {
      cfg = {{"device", {{"dram", {{"model", "command"}, {"part", config_path}}}}}};
    } else {
      cfg = config::load_config(config_path);
    }
  }
  for (const auto& s : sets) {
    // `edgesim dram` reads device.dram alone: an override elsewhere would be accepted and
    // change nothing (`--set refresh=off` leaves refresh on).
    const auto eq = s.find('=');
    const std::string key = s.substr(0, eq);
    if (eq != std::string::npos && !key.empty() && key.rfind("device.dram.", 0) != 0 && key != "device.dram") {
      const auto dot = key.rfind('.');
      const std::string leaf = dot == std::string::npos ? key : key.substr(dot + 1);
      throw InputError("--set '" + s + "': `edgesim dram` reads only device.dram; did you mean device.dram." +
                       leaf + "?");
    }
    config::apply_override(cfg, s);
  }
  return cfg;
}

namespace {

// `edgesim dram` needs a command-level device.dram.
void check_command_dram(const json& cfg) {
  if (!cfg.contains("device") || !cfg["device"].contains("dram")) {
    throw InputError("config error at device.dram: the config has no DRAM section");
  }
  const json& d = cfg["device"]["dram"];
  if (!d.is_object()) {
    throw InputError("config error at device.dram: expected the DRAM section (an object), not " +
                     std::string(d.type_name()));
  }
  const json model_value = d.value("model", json("bandwidth"));
  if (!model_value.is_string()) {
    throw InputError("config error at device.dram.model: expected a model name, not " + model_value.dump());
  }
  const std::string model = model_value.get<std::string>();
  if (model != "command") {
    throw InputError(
        "config error at device.dram.model: `edgesim dram` needs the command-level model, and the "
        "config selects '" +
        model +
        "'; add --set device.dram.model=command --set "
        "device.dram.part=NAME (or use --part NAME)");
  }
}

std::string dram_table(const json& r) {
  using config::format_quantity;
  using config::Quantity;
  const json& m = r.at("metrics");
  std::ostringstream o;
  char line[256];
  auto row = [&](const std::string& k, const std::string& v) {
    std::snprintf(line, sizeof line, "  %-28s %s\n", k.c_str(), v.c_str());
    o << line;
  };
  char buf[160];
  const json& d = r["config"]["device"]["dram"];
  o << "edgesim " << r.value("edgesim_version", "?") << " | dram " << d["part"].get<std::string>() << " x"
    << d["channels"] << " | " << d["scheduler"].get<std::string>() << ", "
    << d["page_policy"].get<std::string>() << " page, refresh " << d["refresh"].get<std::string>() << "\n";
  std::snprintf(buf, sizeof buf, "%llu (%llu reads, %llu writes)",
                static_cast<unsigned long long>(m["requests"].get<uint64_t>()),
                static_cast<unsigned long long>(m["read_requests"].get<uint64_t>()),
                static_cast<unsigned long long>(m["write_requests"].get<uint64_t>()));
  row("requests", buf);
  row("bytes", format_quantity(m["bytes"].get<double>(), Quantity::Bytes));
  row("simulated time", format_quantity(m["simulated_time_s"].get<double>(), Quantity::Time));
  std::snprintf(buf, sizeof buf, "%s (%.1f %% of peak %s)",
                format_quantity(m["bandwidth_Bps"].get<double>(), Quantity::Bandwidth).c_str(),
                100 * m["bandwidth_efficiency"].get<double>(),
                format_quantity(m["peak_bandwidth_Bps"].get<double>(), Quantity::Bandwidth).c_str());
  row("bandwidth", buf);
  const json& l = m["latency_s"];
  row("latency mean/p50/p99", format_quantity(l["mean"].get<double>(), Quantity::Time) + " / " +
                                  format_quantity(l["p50"].get<double>(), Quantity::Time) + " / " +
                                  format_quantity(l["p99"].get<double>(), Quantity::Time));
  std::snprintf(buf, sizeof buf, "%.2f %%", 100 * m["row_hit_rate"].get<double>());
  row("row-buffer hit rate", buf);
  std::string cmds;
  for (const auto& [k, v] : m["commands"].items()) cmds += (cmds.empty() ? "" : ", ") + k + " " + v.dump();
  row("commands", cmds);
  const json& e = m["energy_J"];
  std::snprintf(buf, sizeof buf, "%.4g J (%.2f pJ/bit; background %.3g J, refresh %.3g J), %.3g W",
                e["total"].get<double>(), m["energy_pJ_per_bit"].get<double>(), e["background"].get<double>(),
                e["ref"].get<double>(), m["average_power_W"].get<double>());
  row("energy", buf);
  if (m.contains("low_power")) {
    const json& lp = m["low_power"];
    std::snprintf(buf, sizeof buf, "%.1f %% power-down, %.1f %% self-refresh (%.3g J of the background)",
                  100 * lp["power_down_share"].get<double>(), 100 * lp["self_refresh_share"].get<double>(),
                  lp["energy_J"].get<double>());
    row("low-power states", buf);
  }
  return o.str();
}

std::string dram_csv(const json& r) {
  const json flat = sim::flatten_metrics(r.at("metrics"));
  std::ostringstream head, row;
  head << "part,channels";
  const json& d = r["config"]["device"]["dram"];
  row << sim::csv_cell(d["part"]) << ',' << sim::csv_cell(d["channels"]);
  for (const auto& [k, v] : flat.items()) {
    head << ',' << k;
    row << ',' << sim::csv_cell(v);
  }
  return head.str() + "\n" + row.str() + "\n";
}

int dram_gen(const Args& args) {
  std::string pattern = "sequential", out;
  uint64_t count = 1'000'000, seed = 1;
  uint32_t size = 64;
  double interval_ns = 0, write_fraction = 0;
  std::string span_text = "1 GiB", start_text = "0 B";
  bool binary = false;
  po::options_description d("Options");
  d.add_options()("pattern", po::value(&pattern)->default_value("sequential"), "sequential or random")(
      "count", po::value(&count)->default_value(count), "requests")(
      "size", po::value(&size)->default_value(size), "bytes per request")(
      "interval", po::value(&interval_ns)->default_value(0), "ns between arrivals (0: all at once)")(
      "write-fraction", po::value(&write_fraction)->default_value(0), "share of writes, 0 to 1")(
      "span", po::value(&span_text)->default_value(span_text),
      "random: addresses drawn from [start, start+span)")(
      "start", po::value(&start_text)->default_value(start_text), "first address")(
      "seed", po::value(&seed)->default_value(seed), "random seed")(
      "binary", po::bool_switch(&binary), "write the binary form (default: text)")("out,o", po::value(&out),
                                                                                   "trace file to write");
  if (!parse_args(args, d, nullptr,
                  "Usage: edgesim dram gen [--pattern sequential|random] [--count N] [--size B] -o TRACE\n"
                  "Writes a synthetic memory request trace."))
    return kExitOk;
  if (out.empty()) throw InputError("dram gen: no output given (-o TRACE)");
  if (pattern != "sequential" && pattern != "random") {
    throw InputError("dram gen: --pattern '" + pattern + "': expected sequential or random");
  }
  if (size == 0 || size >= 0x80000000u) throw InputError("dram gen: --size must be 1 to 2^31-1 bytes");
  if (write_fraction < 0 || write_fraction > 1)
    throw InputError("dram gen: --write-fraction must be in [0, 1]");
  if (interval_ns < 0) throw InputError("dram gen: --interval must not be negative");
  const uint64_t span =
      static_cast<uint64_t>(config::parse_quantity(span_text, config::Quantity::Bytes, "--span"));
  const uint64_t start =
      static_cast<uint64_t>(config::parse_quantity(start_text, config::Quantity::Bytes, "--start"));
  if (span < size) throw InputError("dram gen: --span must hold at least one request");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  memory::RequestTraceWriter w(out, binary);
  const uint64_t slots = span / size;
  for (uint64_t i = 0; i < count; ++i) {
    memory::TraceRequest r;
    r.time_ps = static_cast<int64_t>(std::llround(static_cast<double>(i) * interval_ns * 1000));
    r.addr = start + (pattern == "sequential" ? i * size : (rng() % slots) * size);
    r.size = size;
    r.write = write_fraction > 0 && u(rng) < write_fraction;
    w.write(r);
  }
  w.close();
  std::cerr << "wrote " << count << " " << pattern << " requests to " << out << "\n";
  return kExitOk;
}

}  // namespace

int cmd_dram(const Args& args) {
  if (!args.empty() && args[0] == "gen") return dram_gen(Args(args.begin() + 1, args.end()));
  std::string config_path, part, trace, out, format = "table";
  std::vector<std::string> sets;
  po::options_description d("Options");
  d.add_options()("trace", po::value(&trace), "request trace (text or binary)")(
      "config,c", po::value(&config_path), "a part file, or a config whose device.dram is the command model")(
      "part", po::value(&part), "a built-in part (lpddr5x-8533, ddr4-3200, ...) or part file")(
      "set", po::value(&sets)->composing(), "override a key: --set device.dram.channels=4 (repeatable)")(
      "out", po::value(&out), "folder to write results.json and results.csv into (atomically)")(
      "format", po::value(&format)->default_value("table"), "stdout format: table, json or csv");
  po::positional_options_description pos;
  pos.add("trace", 1);
  if (!parse_args(args, d, &pos,
                  "Usage: edgesim dram (--part NAME | --config FILE) --trace TRACE [--set KEY=VALUE ...]\n"
                  "                    [--out DIR] [--format table|json|csv]\n"
                  "       edgesim dram gen --pattern sequential|random --count N -o TRACE\n"
                  "Replays a memory request trace (text: 'TIME_NS R|W ADDRESS_HEX SIZE' per line, or the\n"
                  "binary form) on the command-level DRAM model."))
    return kExitOk;
  if (trace.empty()) throw InputError("dram: no trace given (--trace TRACE)");
  check_format(format, {"table", "json", "csv"});
  const json results = dram_results(dram_config(config_path, part, sets), trace);
  emit_results(results, format, out, {dram_table, dram_csv});
  return kExitOk;
}

json dram_results(const json& cfg, const std::string& trace) {
  check_command_dram(cfg);
  json resolved;
  std::unique_ptr<memory::Dram> dram = memory::make_dram(cfg["device"]["dram"], resolved);
  const auto& cd = dynamic_cast<const memory::CommandDram&>(*dram);
  const memory::DramPart& p = cd.system().part();
  memory::DramSystem sys(p, cd.settings().controller);
  std::vector<uint32_t> latencies;
  sys.set_latency_log(&latencies);

  memory::RequestTraceReader reader(trace);
  memory::TraceRequest r;
  uint64_t reads = 0, writes = 0, bytes = 0, n = 0;
  int64_t first = -1;
  const double tck_ps = p.tCK * 1e12;
  // Requests go to the controller in slices, so a long trace never sits in memory whole.
  constexpr uint64_t kSlice = 1 << 20;
  while (reader.next(r)) {
    const int64_t cycle = static_cast<int64_t>(std::ceil(static_cast<double>(r.time_ps) / tck_ps - 1e-9));
    if (first < 0) first = cycle;
    sys.submit({cycle, r.addr, r.size, r.write});
    (r.write ? writes : reads) += 1;
    bytes += r.size;
    if (++n % kSlice == 0) sys.drain();
  }
  if (n == 0) throw InputError(trace + ": the trace has no requests");
  const int64_t end = sys.drain();

  const double tck = p.tCK;
  const double elapsed = static_cast<double>(end - first) * tck;
  auto pct = [&](double q) {
    if (latencies.empty()) return 0.0;
    const size_t k =
        std::min(latencies.size() - 1, static_cast<size_t>(q * static_cast<double>(latencies.size())));
    std::nth_element(latencies.begin(), latencies.begin() + static_cast<std::ptrdiff_t>(k), latencies.end());
    return latencies[k] * tck;
  };
  const auto& c = sys.counters();
  json cmds = json::object();
  for (int i = 0; i < memory::kDramCmds; ++i)
    cmds[memory::dram_cmd_name(static_cast<memory::DramCmd>(i))] = c.commands[i];
  const auto e = sys.energy(end);
  const double peak = cd.peak_bandwidth();
  const double moved =
      static_cast<double>(c.read_bursts + c.write_bursts) * static_cast<double>(p.org.burst_bytes());
  json metrics = {
      {"requests", n},
      {"read_requests", reads},
      {"write_requests", writes},
      {"bytes", bytes},
      {"bus_bytes", moved},
      {"simulated_time_s", elapsed},
      {"bandwidth_Bps", elapsed > 0 ? static_cast<double>(bytes) / elapsed : 0.0},
      {"peak_bandwidth_Bps", peak},
      {"bandwidth_efficiency", elapsed > 0 ? moved / elapsed / peak : 0.0},
      {"latency_s",
       {{"mean", c.latency_sum / static_cast<double>(c.requests) * tck},
        {"p50", pct(0.5)},
        {"p99", pct(0.99)}}},
      {"row_hit_rate", c.row_hit_rate()},
      {"commands", cmds},
      {"energy_J",
       {{"act", e.act},
        {"pre", e.pre},
        {"rd", e.rd},
        {"wr", e.wr},
        {"ref", e.ref},
        {"background", e.background},
        {"io", e.io},
        {"total", e.total()}}},
      {"energy_pJ_per_bit", moved > 0 ? e.total() / (moved * 8) * 1e12 : 0.0},
      {"average_power_W", elapsed > 0 ? e.total() / elapsed : 0.0},
  };
  if (cd.settings().controller.low_power != memory::DramControllerSettings::LowPower::Off) {
    metrics["low_power"] = {{"power_down_share", e.power_down_share},
                            {"self_refresh_share", e.self_refresh_share},
                            {"power_down_entries", c.power_down_entries},
                            {"self_refresh_entries", c.self_refresh_entries},
                            {"energy_J", e.low_power}};
  }
  json config = {{"device", {{"dram", resolved}}}};
  return {{"schema", sim::kResultsSchema},
          {"edgesim_version", EDGESIM_VERSION},
          {"run",
           {{"mode", "dram_trace"}, {"trace", trace}, {"trace_form", reader.binary() ? "binary" : "text"}}},
          {"config", config},
          {"metrics", metrics},
          {"stats", json::object()}};
}

}  // namespace edgesim::cli
