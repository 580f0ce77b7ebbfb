// `edgesim sweep SPEC [--jobs N] [--out DIR] [--resume] [--shard K/N]`: every point of a
// sweep spec (or of one shard of it) in its own child process (`edgesim run`), N at a
// time. Each finished point is appended to DIR/results.jsonl as one line (written whole,
// then fsync'd), so an interrupted sweep loses no finished point; --resume skips points
// whose results are there (keyed by a hash of the resolved point config). A failing point
// is recorded with its error and the sweep goes on. At the end DIR/results.csv holds axes
// and metrics of every finished point. `edgesim sweep merge --out DIR SHARD_DIR...` joins
// the output folders of a sweep's shards.
#include <spdlog/spdlog.h>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "sim/child_runs.hpp"
#include "sim/cli/commands.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/progress.hpp"
#include "sim/experiment.hpp"
#include "sim/npu_dataset.hpp"
#include "sim/results.hpp"
#include "sim/sweep.hpp"
#include "sim/sweep_output.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// A distinct point of the sweep: its id, axes, and its resolved config or why it is invalid.
struct Entry {
  std::string id;
  json axes, resolved;
  std::string error;
};

/// Resolves every point (cheap: no simulation) and drops points that resolve like an
/// earlier one, so that ids, indices and shards are the same on every machine.
std::vector<Entry> distinct_points(const std::vector<sim::SweepPoint>& points) {
  std::vector<Entry> out;
  std::set<std::string> ids;
  for (const auto& p : points) {
    Entry e;
    e.axes = p.axes;
    try {
      e.resolved = sim::build_experiment(p.config).config;
      e.id = sim::point_id(e.resolved);
    } catch (const InputError& err) {
      e.id = sim::point_id(p.config);
      e.error = err.what();
    }
    if (ids.insert(e.id).second) out.push_back(std::move(e));
  }
  return out;
}

int cmd_sweep_merge(const Args& args) {
  std::string out;
  std::vector<std::string> dirs;
  if (!parse_merge_args(
          args, "sweep",
          "Joins the output folders of a sweep's shards (edgesim sweep --shard K/N, or a Slurm job\n"
          "array) into one: results.jsonl with one record per point, points/, and results.csv.\n"
          "Exit 2 when the folders hold different sweeps or two results of one point differ.",
          out, dirs))
    return kExitOk;
  // The folders of an npu-dataset's shards merge with their layers (sim/npu_dataset.hpp).
  if (sim::is_npu_dataset(dirs.front())) {
    Args again = {"merge", "--out", out};
    again.insert(again.end(), dirs.begin(), dirs.end());
    return cmd_npu_dataset(again);
  }
  const sim::MergeSummary s = sim::merge_sweeps(dirs, out);
  std::cout << "sweep merge: " << dirs.size() << " folders, " << s.merged << " of " << s.points << " points ("
            << s.failed << " failed), " << s.duplicates << " repeated records dropped\n";
  warn_missing_shards("sweep", s);
  if (s.merged < s.points) {
    std::cout << "  " << s.points - s.merged << " points have no result; `edgesim sweep " << s.spec
              << " --out " << out << " --resume` runs them\n";
  }
  std::cout << "  results: " << out << "/results.jsonl, " << out << "/results.csv\n";
  return kExitOk;
}

}  // namespace

int cmd_sweep(const Args& args) {
  if (!args.empty() && args.front() == "merge") return cmd_sweep_merge(Args(args.begin() + 1, args.end()));
  std::string spec_path, out = "sweep-out", shard_option;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  bool resume = false;
  po::options_description d("Options");
  d.add_options()("spec", po::value(&spec_path), "sweep spec (JSON)")(
      "jobs,j", po::value(&jobs), "points run at once (default: all cores)")(
      "out", po::value(&out)->default_value("sweep-out"), "output folder")(
      "resume", po::bool_switch(&resume), "skip points whose results are already in the output folder")(
      "shard", po::value(&shard_option),
      "run only shard K/N: the points whose index modulo N is K (K from 0). Default: from a Slurm job "
      "array (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT), else the whole sweep");
  po::positional_options_description pos;
  pos.add("spec", 1);
  if (!parse_args(args, d, &pos,
                  "Usage: edgesim sweep SPEC [--jobs N] [--out DIR] [--resume] [--shard K/N]\n"
                  "       edgesim sweep merge --out DIR SHARD_DIR...\n"
                  "Runs every point of a sweep spec, each in its own process. Exit 0 when every point\n"
                  "succeeded, 1 when some failed (each is recorded with its error), 2 for a bad spec."))
    return kExitOk;
  if (spec_path.empty()) throw InputError("sweep: no spec given (usage: edgesim sweep SPEC)");
  if (jobs == 0) throw InputError("--jobs must be at least 1");
  const sim::Shard shard = sim::choose_shard(shard_option, "--shard");
  const json spec = config::parse_json_text(config::read_file(spec_path), spec_path);
  const std::vector<Entry> points = distinct_points(sim::expand_sweep(spec, spec_path));

  sim::SweepManifest manifest;
  std::vector<std::string> ids;
  for (const auto& e : points) ids.push_back(e.id);
  manifest.sweep_id = sim::sweep_id(ids);
  manifest.spec = spec_path;
  manifest.points = points.size();
  manifest.shard = shard;
  sim::check_output_folder(out, manifest, resume);
  fs::create_directories(fs::path(out) / "points");
  sim::write_manifest(out, manifest);

  const std::string results_path = out + "/results.jsonl";
  std::vector<json> records = sim::read_records(results_path, true);
  std::set<std::string> done;
  for (const auto& r : records) {
    if (r.value("status", "") == "ok") done.insert(r.value("point", ""));
  }

  // Invalid points are recorded here; the valid ones of this shard run in children.
  std::vector<sim::ChildRun> runs;
  std::vector<size_t> todo;  // index into points
  size_t in_shard = 0, skipped = 0, failed = 0, invalid = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!shard.contains(i)) continue;
    ++in_shard;
    const Entry& e = points[i];
    if (done.count(e.id)) {
      ++skipped;
      continue;
    }
    if (!e.error.empty()) {
      json rec = {{"point", e.id},
                  {"index", i},
                  {"axes", e.axes},
                  {"status", "failed"},
                  {"exit_code", kExitBadInput},
                  {"error", e.error}};
      sim::append_record(results_path, rec);
      records.push_back(rec);
      ++invalid;
      continue;
    }
    const std::string base = out + "/points/" + e.id;
    runs.push_back({base + ".json", base + ".out", base + ".err", e.resolved.dump(2) + "\n", {}});
    todo.push_back(i);
  }
  spdlog::info("sweep: {} points, shard {} has {}: {} already done, {} invalid, {} to run on {} workers",
               points.size(), shard.str(), in_shard, skipped, invalid, runs.size(), jobs);

  size_t finished = 0;
  sim::Progress progress("sweep", runs.size(), true);
  const SigintFlag sigint;
  sim::run_children(
      runs, jobs,
      [&](size_t r, int code) {
        const Entry& e = points[todo[r]];
        json rec = {{"point", e.id}, {"index", todo[r]}, {"axes", e.axes}};
        try {
          rec["metrics"] = sim::child_results(runs[r], code).at("metrics");
          rec["status"] = "ok";
        } catch (const std::exception& err) {
          rec["status"] = "failed";
          rec["exit_code"] = code;
          rec["error"] = err.what();
          ++failed;
        }
        sim::append_record(results_path, rec);
        records.push_back(rec);
        progress.update(++finished);
      },
      sigint.flag());
  sim::write_atomic(out + "/results.csv", sim::records_csv(records));
  failed += invalid;
  std::cout << "sweep: " << points.size() << " points";
  if (shard.count > 1) std::cout << " (shard " << shard.str() << ": " << in_shard << ")";
  std::cout << ": " << finished - (failed - invalid) << " run now, " << skipped << " already done, " << failed
            << " failed";
  if (sigint.raised()) std::cout << "; interrupted: " << runs.size() - finished << " not run (use --resume)";
  std::cout << "\n  results: " << results_path << ", " << out << "/results.csv\n";
  if (sigint.raised()) return 130;
  return failed ? kExitSimFailure : kExitOk;
}

}  // namespace edgesim::cli
