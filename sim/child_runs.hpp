#pragma once
// Simulation points in child processes: SystemC elaborates once per process, so every
// point of a sweep or a regression suite is `edgesim run --config POINT --format json`
// in a process of its own, N at a time. Its stdout and stderr go to files.
#include <csignal>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgesim::sim {

struct ChildRun {
  std::string config;  // a resolved experiment config (JSON file)
  std::string out;     // where its stdout (the results document) goes
  std::string err;     // where its stderr goes
  /// When not empty, written to `config` just before the run starts: while earlier runs
  /// are busy, rather than for every point before the first one starts.
  std::string config_text;
  /// The command and its arguments before `--config` (default: `run`), e.g.
  /// {"npu", "--network", N}; the child gets `--config CONFIG --format json` after them.
  std::vector<std::string> command;
};

/// Runs `runs` at most `jobs` at a time, each as `edgesim run` (or its `command`) in its
/// own process, and calls on_done(index, exit code) as each ends (128 + signal number for
/// a process killed by a signal). Once `*stop` is set, no further run starts, and a run
/// killed by a signal meanwhile is not reported (it did not finish). Returns how many
/// runs were reported.
size_t run_children(const std::vector<ChildRun>& runs, unsigned jobs,
                    const std::function<void(size_t, int)>& on_done,
                    const volatile std::sig_atomic_t* stop = nullptr);

/// A private temporary folder for child runs' configs and outputs, removed with
/// everything in it on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// The results document of a finished run. Throws std::runtime_error carrying the run's
/// stderr when it failed (non-zero exit, or no results on stdout).
nlohmann::json child_results(const ChildRun& run, int exit_code);

}  // namespace edgesim::sim
