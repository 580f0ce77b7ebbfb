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
#include <string>

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
  } catch (const InputError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: an exception other than InputError escaped: %s\n", e.what());
    std::abort();
  }
  return 0;
}

/// Splits `data` at the first occurrence of `separator`: the part before it in `first`,
/// the rest in `second` (empty when the separator is absent).
inline void split_input(const uint8_t* data, size_t size, const std::string& separator, std::string& first,
                        std::string& second) {
  const std::string all(reinterpret_cast<const char*>(data), size);
  const size_t at = all.find(separator);
  first = all.substr(0, at);
  second = at == std::string::npos ? std::string() : all.substr(at + separator.size());
}

}  // namespace edgesim::fuzz
