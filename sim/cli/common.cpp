#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <filesystem>
#include <iostream>

#include "sim/cli/commands.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/model_source.hpp"
#include "sim/results.hpp"
#include "sim/sweep_output.hpp"

namespace edgesim::cli {

void init_logging() {
  if (spdlog::get("edgesim")) return;  // set up already (the module imported twice)
  spdlog::set_default_logger(spdlog::stderr_color_mt("edgesim"));
  spdlog::set_level(spdlog::level::warn);
  spdlog::set_pattern("edgesim: %l: %v");
}

nlohmann::json load_merged_config(const std::string& path, const std::string& model,
                                  const std::vector<std::string>& sets) {
  nlohmann::json cfg = sim::load_experiment_config(path.empty() ? config::kDefaultExperiment : path);
  if (!model.empty()) {
    try {
      sim::apply_model_source(cfg, model);
    } catch (const InputError& e) {
      throw InputError(std::string("--model: ") + e.what());
    }
  }
  for (const auto& s : sets) config::apply_override(cfg, s);
  return cfg;
}

void add_model_option(boost::program_options::options_description& d, std::string& model) {
  d.add_options()(
      "model,m", boost::program_options::value(&model),
      "the model's shape from PATH instead of the config's: a built-in model's name (llama3-8b, "
      "opt-6.7b, ...), builtin:PATH, an edgesim model JSON or a Hugging Face config.json; dtypes, "
      "formats and chunking stay the config's (docs/models.md)");
}

namespace {
/// Whether an option's value is an unsigned integer (the types the commands declare).
bool is_unsigned_option(const boost::program_options::option_description& desc) {
  namespace po = boost::program_options;
  const po::value_semantic* s = desc.semantic().get();
  return dynamic_cast<const po::typed_value<unsigned>*>(s) ||
         dynamic_cast<const po::typed_value<unsigned long>*>(s) ||
         dynamic_cast<const po::typed_value<unsigned long long>*>(s);
}
}  // namespace

bool parse_args(const Args& args, boost::program_options::options_description& options,
                const boost::program_options::positional_options_description* positional,
                const std::string& usage) {
  namespace po = boost::program_options;
  options.add_options()("help,h", "this help");
  po::variables_map vm;
  po::command_line_parser parser(args);
  parser.options(options);
  if (positional) parser.positional(*positional);
  const po::parsed_options parsed = parser.run();
  // Boost reads "-1" for an unsigned option as 2^64 - 1 (its lexical_cast wraps round), so
  // `dram gen --count -1` would write requests for ever: a negative number is refused here.
  for (const auto& o : parsed.options) {
    const po::option_description* desc = o.unregistered ? nullptr : options.find_nothrow(o.string_key, false);
    if (!desc || !is_unsigned_option(*desc)) continue;
    for (const auto& v : o.value) {
      if (v.find('-') != std::string::npos)
        throw InputError("--" + desc->long_name() + " '" + v + "': expected a whole number from 0");
    }
  }
  po::store(parsed, vm);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << options << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

void check_format(const std::string& format, const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (a == format) return;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw InputError("--format '" + format + "': expected one of " + list);
}

namespace {
volatile std::sig_atomic_t g_sigint = 0;
void on_sigint(int) {
  g_sigint = 1;
}
}  // namespace

SigintFlag::SigintFlag() : previous_(std::signal(SIGINT, on_sigint)) {}
SigintFlag::~SigintFlag() {
  std::signal(SIGINT, previous_);
}
const volatile std::sig_atomic_t* SigintFlag::flag() const {
  return &g_sigint;
}

bool parse_merge_args(const Args& args, const std::string& command, const std::string& about,
                      std::string& out, std::vector<std::string>& dirs) {
  namespace po = boost::program_options;
  po::options_description d("Options");
  d.add_options()("out", po::value(&out), "folder to write the merged results into (must not hold results)")(
      "dirs", po::value(&dirs)->composing(), "the shards' output folders");
  po::positional_options_description pos;
  pos.add("dirs", -1);
  const std::string usage = "edgesim " + command + " merge --out DIR SHARD_DIR...";
  if (!parse_args(args, d, &pos, "Usage: " + usage + "\n" + about)) return false;
  if (out.empty()) throw InputError(command + " merge: no --out folder given");
  if (dirs.empty()) throw InputError(command + " merge: no shard folders given (usage: " + usage + ")");
  return true;
}

void warn_missing_shards(const std::string& command, const sim::MergeSummary& s) {
  if (s.missing_shards.empty()) return;
  std::string list;
  for (uint64_t k : s.missing_shards) list += (list.empty() ? "" : ", ") + std::to_string(k);
  spdlog::warn("{} merge: no folder for shard(s) {} of the {} shards", command, list, s.shards);
}

ResultsView experiment_view() {
  return {sim::results_table, sim::results_csv};
}

void emit_results(const nlohmann::json& results, const std::string& format, const std::string& out_dir,
                  const ResultsView& view) {
  if (!out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw InputError("cannot create output folder '" + out_dir + "': " + ec.message());
    sim::write_atomic(out_dir + "/results.json", results.dump(2) + "\n");
    sim::write_atomic(out_dir + "/results.csv", view.csv(results));
  }
  if (format == "json") {
    std::cout << results.dump(2) << "\n";
  } else if (format == "csv") {
    std::cout << view.csv(results);
  } else {
    std::cout << view.table(results);
    if (!out_dir.empty()) std::cout << "  results written to " << out_dir << "/results.{json,csv}\n";
  }
}

}  // namespace edgesim::cli
