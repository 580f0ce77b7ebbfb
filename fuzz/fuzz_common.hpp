#pragma once
// What every libFuzzer target in fuzz/ shares (docs/fuzzing.md):
//  - MemFile: the input as a file the parsers open by path, backed by memory
//    (memfd_create) and named /proc/self/fd/N, so no fixed name on disk is shared between
//    processes or runs;
//  - accept_input_errors: runs the parser the way the CLI does and treats InputError (exit
//    2 in the CLI: a clear "bad input" error) as success. Any other exception would reach
//    main() as "simulation failed" (exit 1) on bad input, which is a bug: the target
//    aborts so that libFuzzer saves the input.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sim/child_runs.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::fuzz {

class MemFile {
 public:
  /// A memory-backed file holding `size` bytes of `data`. With `at_fd` >= 0, the file
  /// is moved to that descriptor number (a target whose input names a second file by a
  /// fixed name relative to /proc/self/fd).
  MemFile(const uint8_t* data, size_t size, int at_fd = -1) {
    fd_ = memfd_create("edgesim-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) die("memfd_create");
    if (at_fd >= 0 && at_fd != fd_) {
      if (dup2(fd_, at_fd) < 0) die("dup2");
      close(fd_);
      fd_ = at_fd;
    }
    size_t done = 0;
    while (done < size) {
      const ssize_t n = write(fd_, data + done, size - done);
      if (n <= 0) die("write");
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  MemFile(const std::string& bytes, int at_fd = -1)
      : MemFile(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), at_fd) {}
  ~MemFile() { close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] static void die(const char* what) {
    std::perror(what);
    std::abort();
  }
  int fd_ = -1;
  std::string path_;
};

/// Runs `parse`; an InputError is the expected answer to bad input, anything else escaping
/// is a finding (the CLI would report bad input as a failed simulation, exit 1).
template <class F>
int accept_input_errors(F&& parse) {
  try {
    parse();
  } catch (const InputError& e) {
    // Replaying one input, EDGESIM_FUZZ_SHOW_ERRORS=1 prints what the CLI would have said.
    static const bool show = std::getenv("EDGESIM_FUZZ_SHOW_ERRORS") != nullptr;
    if (show) std::fprintf(stderr, "fuzz: input error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: an exception other than InputError escaped: %s\n", e.what());
    std::abort();
  }
  return 0;
}

/// Splits `data` into at most `parts` sections at occurrences of `separator`; the last
/// section holds the rest, separators and all. Sections the input does not reach are
/// absent (the result may be shorter than `parts`).
inline std::vector<std::string> split_sections(const uint8_t* data, size_t size, const std::string& separator,
                                               size_t parts) {
  const std::string all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> out;
  size_t from = 0;
  while (out.size() + 1 < parts) {
    const size_t at = all.find(separator, from);
    if (at == std::string::npos) break;
    out.push_back(all.substr(from, at - from));
    from = at + separator.size();
  }
  out.push_back(all.substr(from));
  return out;
}

/// Splits `data` at the first occurrence of `separator`: the part before it in `first`,
/// the rest in `second` (empty when the separator is absent).
inline void split_input(const uint8_t* data, size_t size, const std::string& separator, std::string& first,
                        std::string& second) {
  const std::vector<std::string> s = split_sections(data, size, separator, 2);
  first = s[0];
  second = s.size() > 1 ? s[1] : std::string();
}

/// A folder of this process's own for targets whose parsers read and write whole folders
/// (sweep output, regress goldens): on /dev/shm where there is one, so that the writers'
/// fsyncs cost nothing, else in the temporary directory; removed when the process exits.
inline const sim::ScratchDir& scratch_folder() {
  static const sim::ScratchDir dir = [] {
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec)) setenv("TMPDIR", "/dev/shm", 1);
    return sim::ScratchDir("edgesim-fuzz");
  }();
  return dir;
}

/// Writes `text` to `path`, creating its folder.
inline void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) {
    std::perror(path.c_str());
    std::abort();
  }
}

}  // namespace edgesim::fuzz
