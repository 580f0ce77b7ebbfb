#include "sim/core/stats.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "sim/core/errors.hpp"

namespace edgesim::sim {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
  const size_t idx = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return v[std::min(idx, v.size() - 1)];
}

nlohmann::json Stat::to_json() const {
  nlohmann::json j = {{"unit", unit_}, {"description", description_}};
  switch (kind_) {
    case Kind::Counter: j["value"] = sum_; break;
    case Kind::Average:
      j["mean"] = count_ ? sum_ / static_cast<double>(count_) : 0.0;
      j["count"] = count_;
      break;
    case Kind::Distribution: {
      j["count"] = count_;
      j["mean"] = count_ ? sum_ / static_cast<double>(count_) : 0.0;
      if (!samples_.empty()) {
        const auto [lo, hi] = std::minmax_element(samples_.begin(), samples_.end());
        j["min"] = *lo;
        j["max"] = *hi;
        j["p50"] = percentile(samples_, 50);
        j["p99"] = percentile(samples_, 99);
        // Ten equal-width bins between min and max.
        std::vector<uint64_t> bins(10, 0);
        const double width = (*hi - *lo) / 10.0;
        for (double s : samples_) {
          size_t b = width > 0 ? static_cast<size_t>((s - *lo) / width) : 0;
          ++bins[std::min<size_t>(b, 9)];
        }
        j["histogram"] = {{"lo", *lo}, {"hi", *hi}, {"counts", bins}};
      }
      break;
    }
  }
  return j;
}

Stat& Stats::add(const std::string& name, Stat::Kind kind, const std::string& unit,
                 const std::string& description) {
  for (const auto& s : stats_) {
    if (s.name() == name) throw SimError("internal: statistic '" + name + "' registered twice");
  }
  stats_.emplace_back(name, kind, unit, description);
  return stats_.back();
}

nlohmann::json Stats::to_json() const {
  nlohmann::json root = nlohmann::json::object();
  for (const auto& s : stats_) {
    nlohmann::json* node = &root;
    std::stringstream ss(s.name());
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(ss, part, '.')) parts.push_back(part);
    for (size_t i = 0; i + 1 < parts.size(); ++i) node = &(*node)[parts[i]];
    (*node)[parts.back()] = s.to_json();
  }
  return root;
}

}  // namespace edgesim::sim
