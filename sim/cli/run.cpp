// `edgesim run`, `edgesim replay` and `edgesim trace record`: one simulation each.
#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <optional>

#include "sim/child_runs.hpp"
#include "sim/cli/commands.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/config/params.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/json_count.hpp"
#include "sim/experiment.hpp"
#include "sim/model_source.hpp"
#include "sim/results.hpp"
#include "sim/simulate.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

struct CommonOptions {
  std::string config, model, out, format = "table", timeline, timeline_tokens;
  std::vector<std::string> sets;
  std::optional<uint64_t> seed;  // --seed, when given
  bool no_progress = false;
};

void add_common(po::options_description& d, CommonOptions& o, bool with_seed) {
  d.add_options()("config,c", po::value(&o.config),
                  "experiment config (JSON); default: the built-in default experiment")(
      "set", po::value(&o.sets)->composing(),
      "override a config key: --set device.dram.channels=4 (repeatable)")(
      "out", po::value(&o.out), "folder to write results.json and results.csv into (atomically)")(
      "format", po::value(&o.format)->default_value("table"), "stdout format: table, json or csv")(
      "no-progress", po::bool_switch(&o.no_progress), "no progress bar")(
      "timeline", po::value(&o.timeline),
      "write a timeline of flash reads, DRAM and compute per op to FILE (Chrome trace-event JSON; Perfetto "
      "opens it)")("timeline-tokens", po::value(&o.timeline_tokens),
                   "tokens the timeline covers: A:B is A to B-1, counted from 0 at the first warm-up token "
                   "(default 0:4)");
  if (with_seed)
    d.add_options()("seed", po::value<uint64_t>()->notifier([&o](uint64_t s) { o.seed = s; }),
                    "seed (overrides run.seed)");
  add_model_option(d, o.model);
}

json run_info(const std::string& mode, const sim::SimulationResult& r) {
  return {{"mode", mode}, {"steps", r.steps}};
}

/// The timeline the options ask for (none without --timeline), checked before simulating.
std::unique_ptr<sim::Timeline> make_timeline(const CommonOptions& o, const sim::Experiment& exp,
                                             uint64_t steps) {
  if (o.timeline.empty()) {
    if (!o.timeline_tokens.empty()) throw InputError("--timeline-tokens needs --timeline FILE");
    return nullptr;
  }
  const auto range =
      sim::parse_token_range(o.timeline_tokens.empty() ? "0:4" : o.timeline_tokens, "--timeline-tokens");
  if (range.first >= steps) {
    throw InputError("--timeline-tokens '" + o.timeline_tokens + "': the run has " + std::to_string(steps) +
                     " tokens (0 to " + std::to_string(steps - 1) + ", warm-up included)");
  }
  const auto parent = std::filesystem::path(o.timeline).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent)) {
    throw InputError("--timeline '" + o.timeline + "': no folder '" + parent.string() + "'");
  }
  return std::make_unique<sim::Timeline>(range, exp.flash_dram_concurrent);
}

void write_timeline(const CommonOptions& o, const sim::Timeline* timeline, const sim::Experiment& exp,
                    const sim::SimulationResult& r) {
  if (!timeline) return;
  const json& c = exp.config;
  const json about = {
      {"title", "edgesim: " + exp.layout->name() + " on " + c["device"]["name"].get<std::string>() +
                    ", policy " + c["policy"]["name"].get<std::string>() + ", cache " +
                    c["weight_store"]["cache_policy"].get<std::string>()},
      {"edgesim_version", EDGESIM_VERSION},
      {"simulated_time_s", r.stats["systemc"]["simulated_time"]["value"]}};
  sim::write_atomic(o.timeline, timeline->to_json(exp.models, about).dump() + "\n");
  spdlog::info("timeline written to {}", o.timeline);
}

/// Steps a run will have, for checking --timeline-tokens: known in advance for plain
/// decoding of the prompt-less kind; otherwise no bound.
uint64_t planned_steps(const sim::Experiment& exp) {
  const bool plain = exp.decoding.scheme == sim::Scheme::Plain && exp.run.prefill_chunk == 0;
  return plain ? exp.run.total_steps() : UINT64_MAX;
}

/// Speculative decoding and the hybrid scheme against the experiment's model alone with
/// plain decoding (the same config otherwise, its prompt run as the scheme's was), in a
/// second process (SystemC elaborates once per process): adds "plain" and the speed-ups
/// to the scheme's metrics.
void compare_with_plain(const sim::Experiment& exp, json& metrics) {
  if (exp.decoding.scheme == sim::Scheme::Plain || !exp.decoding.compare_plain) return;
  const char* key = exp.decoding.scheme == sim::Scheme::Speculative ? "speculative" : "hybrid";
  if (!metrics.contains(key)) return;
  json cfg = exp.config;
  cfg["decoding"] = {{"scheme", "plain"}};
  if (exp.decoding.scheme == sim::Scheme::Hybrid && exp.run.prefill_chunk == 0) {
    cfg["run"]["prefill_chunk"] =
        std::max<uint64_t>(exp.run.prompt_tokens, 1);  // the hybrid run encodes it whole
  }
  const sim::ScratchDir dir("edgesim-plain");
  const sim::ChildRun child{
      dir.file("config.json"), dir.file("results.json"), dir.file("stderr.txt"), cfg.dump(2), {}};
  int code = -1;
  sim::run_children({child}, 1, [&](size_t, int c) { code = c; });
  json plain;
  try {
    plain = sim::child_results(child, code);
  } catch (const std::exception& e) {
    throw SimError(std::string("the plain-decoding comparison run failed: ") + e.what());
  }
  const json& pm = plain["metrics"];
  json& m = metrics[key];
  m["plain"] = {{"model", exp.layout->name()}, {"tokens_per_s", pm["tokens_per_s"]}};
  m["speedup_tokens_per_s"] = metrics["tokens_per_s"].get<double>() / pm["tokens_per_s"].get<double>();
  if (pm.contains("time_to_first_token_s") && metrics.contains("time_to_first_token_s")) {
    // Prompt and answer: the time to first token and the measured tokens after it.
    const double n = metrics["tokens_measured"].get<double>();
    const double ours =
        metrics["time_to_first_token_s"].get<double>() + n / metrics["tokens_per_s"].get<double>();
    const double theirs = pm["time_to_first_token_s"].get<double>() + n / pm["tokens_per_s"].get<double>();
    m["plain"]["time_to_first_token_s"] = pm["time_to_first_token_s"];
    m["speedup_end_to_end"] = theirs / ours;
  }
  if (pm.contains("energy_per_token_j")) {
    m["plain"]["energy_per_token_j"] = pm["energy_per_token_j"];
  }
}

}  // namespace

int cmd_run(const Args& args) {
  CommonOptions o;
  po::options_description d("Options");
  add_common(d, o, true);
  if (!parse_args(
          args, d, nullptr,
          "Usage: edgesim run [--config FILE] [--model PATH] [--set KEY=VALUE ...] [--out DIR]\n"
          "                   [--format table|json|csv] [--seed N] [--timeline FILE [--timeline-tokens "
          "A:B]]\n"
          "Simulates an experiment closed loop: the policy runs inside the simulation.\n"
          "With no --config, runs the built-in default experiment (builtin:experiments/default.json).\n"
          "--model takes the model's shape from a built-in model, an edgesim model JSON or a Hugging Face\n"
          "config.json (e.g. --model opt-6.7b, --model path/to/config.json); --set applies after it."))
    return kExitOk;
  check_format(o.format, {"table", "json", "csv"});
  if (o.seed) o.sets.push_back("run.seed=" + std::to_string(*o.seed));
  json cfg = load_merged_config(o.config, o.model, o.sets);
  sim::Experiment exp = sim::build_experiment(cfg);
  spdlog::info("simulating {} on {} with policy {}", exp.layout->name(),
               exp.config["device"]["name"].get<std::string>(),
               exp.config["policy"]["name"].get<std::string>());
  auto timeline = make_timeline(o, exp, planned_steps(exp));
  sim::SimulateOptions so;
  so.progress = !o.no_progress;
  so.timeline = timeline.get();
  sim::SimulationResult r = sim::simulate(exp, so);
  write_timeline(o, timeline.get(), exp, r);
  compare_with_plain(exp, r.metrics);
  emit_results(sim::make_results(exp.config, r.metrics, r.stats, run_info("closed_loop", r)), o.format,
               o.out);
  return kExitOk;
}

int cmd_replay(const Args& args) {
  CommonOptions o;
  std::string trace;
  po::options_description d("Options");
  d.add_options()("trace", po::value(&trace), "trace file to replay");
  add_common(d, o, false);
  po::positional_options_description pos;
  pos.add("trace", 1);
  if (!parse_args(
          args, d, &pos,
          "Usage: edgesim replay TRACE [--config FILE] [--set KEY=VALUE ...] [--out DIR] [--format ...]\n"
          "Replays a recorded trace open loop. Without --config, under the config it was recorded with;\n"
          "with one, under that config's device, weight store and run settings (the model must match)."))
    return kExitOk;
  if (trace.empty()) throw InputError("replay: no trace given (usage: edgesim replay TRACE)");
  check_format(o.format, {"table", "json", "csv"});
  traces::TraceReader reader(trace);
  const uint64_t steps = reader.validate();  // reject a bad file before simulating anything
  const json& header = reader.header();
  json recorded = header.value("config", json::object());
  json cfg = o.config.empty() ? recorded : load_merged_config(o.config, o.model, {});
  if (o.config.empty() && !o.model.empty()) sim::apply_model_source(cfg, o.model);
  for (const auto& s : o.sets) config::apply_override(cfg, s);
  cfg["policy"] = recorded.value("policy", json::object());  // the trace decides what is read
  // Its switch events decide when adapters change; what an adapter is comes from the recording.
  if (recorded.contains("adapter")) {
    cfg["adapter"] = recorded["adapter"];
  } else {
    cfg.erase("adapter");
    if (reader.events() > 0) {
      throw InputError("trace " + trace + ": it has " + std::to_string(reader.events()) +
                       " adapter switch events but its recorded config has no adapter section");
    }
  }
  // Its steps also fix the context positions, the token ids and how many steps there are:
  // only the split into warm-up and measured steps may change.
  // The config's run section is read here, before build_experiment checks it: its type
  // and warmup_tokens' are checked first (the recording's were, when the trace was opened).
  if (cfg.contains("run") && !cfg["run"].is_object()) {
    config::fail_at("run", "expected an object of run settings, not " + std::string(cfg["run"].type_name()));
  }
  json run = cfg.value("run", json::object());
  if (run.contains("warmup_tokens") && !json_is_count(run["warmup_tokens"])) {
    config::fail_at("run.warmup_tokens",
                    "expected a whole number of tokens, not " + run["warmup_tokens"].dump());
  }
  const json rec_run = recorded.value("run", json::object());
  for (const char* k : {"prompt_tokens", "seed", "tokens"}) {
    if (run.contains(k) && rec_run.contains(k) && run[k] != rec_run[k]) {
      spdlog::warn("replay: run.{} = {} is ignored: the trace's {} steps fix it", k, run[k].dump(), steps);
    }
  }
  const uint64_t warmup = run.value("warmup_tokens", rec_run.value("warmup_tokens", uint64_t{0}));
  if (warmup >= steps) {
    throw InputError("replay: the trace has " + std::to_string(steps) +
                     " steps and run.warmup_tokens = " + std::to_string(warmup) + " leaves none to measure");
  }
  run["warmup_tokens"] = warmup;
  run["tokens"] = steps - warmup;
  for (const char* k : {"prompt_tokens", "seed"}) {
    if (rec_run.contains(k)) run[k] = rec_run[k];
  }
  cfg["run"] = run;
  sim::Experiment exp = sim::build_experiment(cfg);
  traces::check_layout_matches(header, *exp.layout, trace);
  json info = {{"trace", trace}, {"trace_steps", steps}};
  json differs = json::array();
  for (const char* k : {"device", "weight_store", "run"}) {
    if (recorded.value(k, json()) != exp.config[k]) differs.push_back(k);
  }
  if (!differs.empty()) {
    spdlog::warn("replaying {} under settings that differ from its recording: {}", trace, differs.dump());
  }
  info["settings_differ_from_recording"] = differs;
  auto timeline = make_timeline(o, exp, steps);
  sim::SimulateOptions so;
  so.replay = &reader;
  so.progress = !o.no_progress;
  so.timeline = timeline.get();
  const sim::SimulationResult r = sim::simulate(exp, so);
  write_timeline(o, timeline.get(), exp, r);
  json ri = run_info("replay", r);
  ri["replay"] = info;
  emit_results(sim::make_results(exp.config, r.metrics, r.stats, ri), o.format, o.out);
  return kExitOk;
}

int cmd_trace_record(const Args& args) {
  CommonOptions o;
  std::string output;
  po::options_description d("Options");
  add_common(d, o, true);
  d.add_options()("output,o", po::value(&output), "trace file to write");
  if (!parse_args(args, d, nullptr,
                  "Usage: edgesim trace record [--config FILE] [--model PATH] -o TRACE [--set KEY=VALUE ...] "
                  "[--out DIR] [--format ...]\n"
                  "Runs the experiment closed loop and records every step's chunk accesses to TRACE."))
    return kExitOk;
  if (output.empty()) throw InputError("trace record: no output file given (-o TRACE)");
  check_format(o.format, {"table", "json", "csv"});
  if (o.seed) o.sets.push_back("run.seed=" + std::to_string(*o.seed));
  json cfg = load_merged_config(o.config, o.model, o.sets);
  sim::Experiment exp = sim::build_experiment(cfg);
  json header = {{"edgesim_version", EDGESIM_VERSION},
                 {"model", exp.config["model"]},
                 {"policy", exp.config["policy"]},
                 {"weight_store", exp.config["weight_store"]},
                 {"config", exp.config}};
  auto timeline = make_timeline(o, exp, exp.run.total_steps());
  traces::TraceWriter writer(output, header, *exp.layout);
  sim::SimulateOptions so;
  so.record = &writer;
  so.progress = !o.no_progress;
  so.timeline = timeline.get();
  const sim::SimulationResult r = sim::simulate(exp, so);
  writer.finish();
  write_timeline(o, timeline.get(), exp, r);
  spdlog::info("wrote {} steps to {}", writer.steps(), output);
  json ri = run_info("closed_loop", r);
  ri["recorded_trace"] = output;
  emit_results(sim::make_results(exp.config, r.metrics, r.stats, ri), o.format, o.out);
  return kExitOk;
}

}  // namespace edgesim::cli
