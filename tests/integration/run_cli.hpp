#pragma once
// Helpers for the CLI end-to-end tests: run the real edgesim binary as a child process
// (stdout and stderr captured through files, so neither can fill a pipe and block), fresh
// temporary folders, and small file utilities.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace edgesim::cli_test {

namespace fs = std::filesystem;

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << text;
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  const std::string s = read_text(path);
  return {s.begin(), s.end()};
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_text(path, std::string(bytes.begin(), bytes.end()));
}

/// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/edgesim-cli-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CliResult {
  int code = -1;  // exit status; 128 + signal number when killed by a signal
  std::string out, err;

  /// Parses stdout as JSON (fails the calling test with the text when it is not).
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

/// Environment variables to set in the child: NAME, VALUE.
using Env = std::vector<std::pair<std::string, std::string>>;

/// Starts `edgesim ARGS...` with stdin from /dev/null and stdout/stderr to the given files.
inline pid_t spawn_cli(const std::vector<std::string>& args, const std::string& out_path,
                       const std::string& err_path, const Env& env = {}) {
  std::vector<std::string> argv_s = {EDGESIM_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || o < 0 || e < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

/// Runs `edgesim ARGS...` and waits for it.
inline CliResult run_cli(const std::vector<std::string>& args, const Env& env = {}) {
  TempDir io;
  const std::string out_path = io / "stdout", err_path = io / "stderr";
  const pid_t pid = spawn_cli(args, out_path, err_path, env);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  }
  CliResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

inline std::string describe(const std::vector<std::string>& args, const CliResult& r) {
  std::string cmd = "edgesim";
  for (const auto& a : args) cmd += " '" + a + "'";
  return cmd + "\n-> exit " + std::to_string(r.code) + "\n--- stdout:\n" + r.out.substr(0, 4000) +
         "\n--- stderr:\n" + r.err.substr(0, 4000);
}

inline std::string source_path(const std::string& rel) {
  return std::string(EDGESIM_SOURCE_DIR) + "/" + rel;
}

constexpr int kOk = 0, kSimFailure = 1, kBadInput = 2;

/// Runs edgesim and fails the test (showing the command, stdout and stderr) unless it
/// exits with `code`.
inline CliResult run_expect(const std::vector<std::string>& args, int code) {
  CliResult r = run_cli(args);
  if (r.code != code) FAIL("expected exit " << code << " from:\n" << describe(args, r));
  return r;
}

/// Runs edgesim with `--format json` appended, expects exit 0 and returns the parsed stdout.
inline nlohmann::json run_json(std::vector<std::string> args) {
  args.push_back("--format");
  args.push_back("json");
  const CliResult r = run_expect(args, kOk);
  try {
    return r.json();
  } catch (const std::exception& e) {
    FAIL("stdout is not JSON (" << e.what() << "):\n" << describe(args, r));
  }
  return {};
}

/// Expects exit 2 (bad input) with every one of `needles` in stderr.
inline CliResult expect_bad_input(const std::vector<std::string>& args,
                                  const std::vector<std::string>& needles) {
  CliResult r = run_expect(args, kBadInput);
  for (const auto& n : needles) {
    INFO(describe(args, r));
    CHECK_THAT(r.err, Catch::Matchers::Contains(n));
  }
  return r;
}

}  // namespace edgesim::cli_test
