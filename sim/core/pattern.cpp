#include "sim/core/pattern.hpp"

namespace edgesim {

bool pattern_matches(const std::string& pattern, const std::string& klass) {
  if (pattern == "*" || pattern == klass) return true;
  if (klass.size() > pattern.size()) {
    if (klass.compare(0, pattern.size(), pattern) == 0 && klass[pattern.size()] == '.') return true;
    const size_t off = klass.size() - pattern.size();
    if (klass.compare(off, pattern.size(), pattern) == 0 && klass[off - 1] == '.') return true;
  }
  return false;
}

}  // namespace edgesim
