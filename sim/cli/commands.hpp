#pragma once
// The `edgesim` subcommands. Each parses its own options (Boost.Program_options) and
// returns an exit code; errors propagate as exceptions to main(), which maps them.
#include <csignal>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

namespace edgesim::sim {
struct MergeSummary;
}

namespace edgesim::cli {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_replay(const Args& args);
int cmd_trace(const Args& args);
int cmd_trace_record(const Args& args);
int cmd_validate(const Args& args);
int cmd_describe(const Args& args);
int cmd_sweep(const Args& args);
int cmd_dram(const Args& args);
int cmd_regress(const Args& args);
int cmd_npu(const Args& args);
int cmd_npu_dataset(const Args& args);
int cmd_fault(const Args& args);
int cmd_fault_plan(const Args& args);

/// `edgesim describe --format json [KIND [NAME]]`: every kind with its components and
/// their parameters (key, type, unit, default, range, description); with KIND, that
/// kind; with NAME too, that component. Throws InputError for an unknown kind or name.
nlohmann::json describe_json(const std::vector<std::string>& what);

/// Logs to stderr as "edgesim: LEVEL: message", warnings and above (--log-level changes
/// the level): the binary's logger, and the Python module's.
void init_logging();

/// What `edgesim npu` and `edgesim fault` both take: the NPU device, its overrides, the
/// network and an optional input file.
struct NpuArgs {
  std::string config, network, input;
  std::vector<std::string> sets;
  /// Declares --config, --network, --input (described by `input_help`) and --set.
  void declare(boost::program_options::options_description& d, const char* input_help);
  /// Throws InputError, naming `command`, when the device or the network is missing.
  void require(const std::string& command) const;
};

/// The merged config: the file (or the built-in default experiment) with its
/// model.hf_config applied, then the model of --model (none when empty), then --set
/// overrides.
nlohmann::json load_merged_config(const std::string& path, const std::string& model,
                                  const std::vector<std::string>& sets);

/// The --model option of the commands that build an experiment.
void add_model_option(boost::program_options::options_description& d, std::string& model);

/// How a kind of results prints as a table and as CSV (default: an experiment's).
struct ResultsView {
  std::string (*table)(const nlohmann::json&);
  std::string (*csv)(const nlohmann::json&);
};
ResultsView experiment_view();

/// Prints results in the chosen format and, with an output folder, writes results.json
/// and results.csv there atomically.
void emit_results(const nlohmann::json& results, const std::string& format, const std::string& out_dir,
                  const ResultsView& view = experiment_view());

/// Parses a command's arguments (adding --help). Returns false when --help was asked for
/// and printed: `usage` first, then the options.
bool parse_args(const Args& args, boost::program_options::options_description& options,
                const boost::program_options::positional_options_description* positional,
                const std::string& usage);

/// `COMMAND merge --out DIR SHARD_DIR...` (sweeps, npu datasets): `about` follows the
/// usage line in --help. Returns false when --help was printed; throws InputError naming
/// `command` when --out or the folders are missing.
bool parse_merge_args(const Args& args, const std::string& command, const std::string& about,
                      std::string& out, std::vector<std::string>& dirs);
/// Warns (naming `command`) about the shards a merge found no folder for.
void warn_missing_shards(const std::string& command, const sim::MergeSummary& s);

/// Catches SIGINT while it lives (the previous handler is put back after), so that a long
/// command stops after the work in hand and says how to resume (exit 130).
class SigintFlag {
 public:
  SigintFlag();
  ~SigintFlag();
  SigintFlag(const SigintFlag&) = delete;
  SigintFlag& operator=(const SigintFlag&) = delete;
  const volatile std::sig_atomic_t* flag() const;
  bool raised() const { return *flag() != 0; }

 private:
  void (*previous_)(int);
};

/// Throws a usage error (exit 2) unless `format` is one of `allowed`.
void check_format(const std::string& format, const std::vector<std::string>& allowed);

}  // namespace edgesim::cli
