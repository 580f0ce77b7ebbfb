#include "sim/core/progress.hpp"

#include <unistd.h>
#include <cstdio>

namespace edgesim::sim {

Progress::Progress(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && ::isatty(2)),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (shown_) std::fprintf(stderr, "\n");
}

void Progress::update(uint64_t done) {
  if (!enabled_ || total_ == 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < 1.0 || (std::chrono::duration<double>(now - last_).count() < 0.1 && done < total_)) return;
  last_ = now;
  shown_ = true;
  const double frac = static_cast<double>(done) / static_cast<double>(total_);
  const int width = 30, filled = static_cast<int>(frac * width);
  const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
  const double rate = static_cast<double>(done) / elapsed;
  std::fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu  %.1f/s, %.0fs elapsed, ETA %.0fs ", label_.c_str(), filled,
               "##############################", width - filled, "", static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(total_), rate, elapsed, eta);
  std::fflush(stderr);
}

}  // namespace edgesim::sim
