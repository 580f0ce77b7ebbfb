// `edgesim trace record|info`.
#include <boost/program_options.hpp>
#include <iostream>

#include "sim/cli/commands.hpp"
#include "sim/core/errors.hpp"
#include "traces/adapter.hpp"
#include "traces/trace_format.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

int trace_info(const Args& args) {
  std::string path, format = "table";
  po::options_description d("Options");
  d.add_options()("trace", po::value(&path), "trace file")(
      "format", po::value(&format)->default_value("table"), "table or json");
  po::positional_options_description pos;
  pos.add("trace", 1);
  if (!parse_args(args, d, &pos,
                  "Usage: edgesim trace info TRACE [--format table|json]\n"
                  "Checks a trace file end to end and summarises it."))
    return kExitOk;
  if (path.empty()) throw InputError("trace info: no trace given (usage: edgesim trace info TRACE)");
  check_format(format, {"table", "json"});
  traces::TraceReader reader(path);
  const json& h = reader.header();
  traces::Step step;
  uint64_t steps = 0, ops = 0, lists = 0, listed_chunks = 0;
  json switches = json::array();
  while (reader.next(step)) {
    for (const auto& ev : step.events) {
      if (ev.type == traces::kEventAdapterSet) switches.push_back({{"step", steps}, {"adapters", ev.value}});
    }
    ++steps;
    ops += step.ops.size();
    for (const auto& op : step.ops) {
      for (const auto& s : op.sets) {
        if (s.kind == ChunkSet::Kind::List) {
          ++lists;
          listed_chunks += s.ids.size();
        }
      }
    }
  }
  const uint64_t* enc = reader.encoding_counts();
  json info = {
      {"file", path},
      {"file_bytes", reader.file_bytes()},
      {"format_version", h.value("version", 0)},
      {"edgesim_version", h.value("edgesim_version", "")},
      {"model", h.value("model", json::object()).value("name", "")},
      {"policy", h.value("policy", json::object()).value("name", "")},
      {"cache_policy", h.value("weight_store", json::object()).value("cache_policy", "")},
      {"tensors", h["layout"]["tensors"].size()},
      {"ops_per_step", steps ? ops / steps : 0},
      {"steps", steps},
      {"chunk_sets", {{"none", enc[0]}, {"all", enc[1]}, {"bitmap", enc[2]}, {"delta", enc[3]}}},
      {"mean_chunks_per_listed_set", lists ? double(listed_chunks) / double(lists) : 0.0},
      {"adapter", h.value("config", json::object()).value("adapter", json::object()).value("method", "none")},
      {"adapter_switches", switches}};
  if (format == "json") {
    std::cout << info.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "trace " << path << " (format v" << info["format_version"] << ", " << reader.file_bytes()
            << " bytes, checksum ok)\n"
            << "  model          " << info["model"].get<std::string>() << " (" << info["tensors"]
            << " tensors)\n"
            << "  policy         " << info["policy"].get<std::string>() << ", recorded with cache policy "
            << info["cache_policy"].get<std::string>() << "\n"
            << "  steps          " << steps << " (" << info["ops_per_step"] << " ops each)\n"
            << "  chunk sets     none " << enc[0] << ", all " << enc[1] << ", bitmap " << enc[2] << ", delta "
            << enc[3] << "\n";
  if (!switches.empty()) {
    std::cout << "  adapter        " << info["adapter"].get<std::string>() << ", " << switches.size()
              << " switches (event type 1; value = bitmask of active adapter ids):";
    for (const auto& s : switches) std::cout << " step " << s["step"] << " -> " << s["adapters"] << ";";
    std::cout << "\n";
  }
  return kExitOk;
}

}  // namespace

int cmd_trace(const Args& args) {
  const std::string usage =
      "Usage: edgesim trace record [--config FILE] -o TRACE record a closed-loop run's accesses\n"
      "       edgesim trace info TRACE                      check and summarise a trace file\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage;
    return args.empty() ? kExitBadInput : kExitOk;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "record") return cmd_trace_record(rest);
  if (args[0] == "info") return trace_info(rest);
  throw InputError("trace: unknown action '" + args[0] + "' (record or info)");
}

}  // namespace edgesim::cli
