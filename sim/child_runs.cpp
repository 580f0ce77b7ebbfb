#include "sim/child_runs.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "sim/config/loader.hpp"
#include "sim/errors.hpp"

namespace edgesim::sim {

namespace {

pid_t start_child(const std::string& self, const ChildRun& run) {
  const pid_t pid = ::fork();
  if (pid < 0) throw SimError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::signal(SIGINT, SIG_DFL);
    const int o = ::open(run.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(run.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0) ::_exit(kExitSimFailure);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execl(self.c_str(), self.c_str(), "run", "--config", run.config.c_str(), "--format", "json",
            "--no-progress", static_cast<char*>(nullptr));
    ::_exit(127);
  }
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
  } catch (const nlohmann::json::parse_error&) {
    throw std::runtime_error("no results document on stdout; stderr: " + config::read_file(run.err));
  }
}

}  // namespace edgesim::sim
