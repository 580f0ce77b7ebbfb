#include "sim/child_runs.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::sim {

namespace {

// A plain write: the file is an input the parent rewrites on every (re)run, so it needs
// neither fsync nor a rename; it is whole before the child that reads it starts.
void write_config(const ChildRun& run) {
  std::ofstream f(run.config, std::ios::binary | std::ios::trunc);
  f << run.config_text;
  f.close();
  if (!f) throw InputError("cannot write '" + run.config + "'");
}

// posix_spawn rather than fork + exec: no copy of the parent's page tables per point,
// which is most of a small point's fixed cost (see docs/sweeps.md, section 6).
pid_t start_child(const std::string& self, const ChildRun& run) {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, run.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&files, 2, run.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);  // Ctrl-C stops the children too, even if the parent ignored it
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> args = {self};
  if (run.command.empty()) {
    args.insert(args.end(), {"run", "--config", run.config, "--format", "json", "--no-progress"});
  } else {
    args.insert(args.end(), run.command.begin(), run.command.end());
    args.insert(args.end(), {"--config", run.config, "--format", "json"});
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, self.c_str(), &files, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw SimError("cannot start '" + self + " " + args[1] + " --config " + run.config +
                   "': " + std::strerror(rc));
  return pid;
}

}  // namespace

size_t run_children(const std::vector<ChildRun>& runs, unsigned jobs,
                    const std::function<void(size_t, int)>& on_done, const volatile std::sig_atomic_t* stop) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto stopping = [&] { return stop && *stop; };
  std::map<pid_t, size_t> running;
  size_t next = 0, reported = 0;
  while ((next < runs.size() && !stopping()) || !running.empty()) {
    while (next < runs.size() && running.size() < jobs && !stopping()) {
      if (!runs[next].config_text.empty()) write_config(runs[next]);
      running[start_child(self, runs[next])] = next;
      ++next;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const size_t index = it->second;
    running.erase(it);
    if (WIFSIGNALED(status) && stopping()) continue;  // interrupted, not finished
    on_done(index, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    ++reported;
  }
  return reported;
}

nlohmann::json child_results(const ChildRun& run, int exit_code) {
  if (exit_code != 0) throw std::runtime_error(config::read_file(run.err));
  try {
    return nlohmann::json::parse(config::read_file(run.out));
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error("no results document on stdout; stderr: " + config::read_file(run.err));
  }
}

ScratchDir::ScratchDir(const std::string& prefix) {
  std::string templ = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(templ.data())) throw SimError("cannot create a temporary folder: " + templ);
  path_ = templ;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace edgesim::sim
