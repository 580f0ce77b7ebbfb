#pragma once
// A one-line progress bar with rate and ETA on stderr, shown only on a terminal and only once a
// run has taken more than a second.
#include <chrono>
#include <cstdint>
#include <string>

namespace edgesim::sim {

class Progress {
 public:
  Progress(std::string label, uint64_t total, bool enabled);
  ~Progress();
  void update(uint64_t done);

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_, shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace edgesim::sim
