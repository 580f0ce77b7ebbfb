#pragma once
// Named, typed, described statistics, registered by the model that owns them and dumped
// as one JSON tree (names split at dots: "flash.bytes" -> {"flash": {"bytes": ...}}).
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgesim::sim {

class Stat {
 public:
  enum class Kind { Counter, Average, Distribution };
  Stat(std::string name, Kind kind, std::string unit, std::string description)
      : name_(std::move(name)), unit_(std::move(unit)), description_(std::move(description)), kind_(kind) {}
  void add(double v) {
    sum_ += v;
    ++count_;
    if (kind_ == Kind::Distribution) samples_.push_back(v);
  }
  const std::string& name() const { return name_; }
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }
  nlohmann::json to_json() const;

 private:
  std::string name_, unit_, description_;
  Kind kind_;
  double sum_ = 0;
  uint64_t count_ = 0;
  std::vector<double> samples_;
};

class Stats {
 public:
  Stat& counter(const std::string& name, const std::string& unit, const std::string& description) {
    return add(name, Stat::Kind::Counter, unit, description);
  }
  Stat& average(const std::string& name, const std::string& unit, const std::string& description) {
    return add(name, Stat::Kind::Average, unit, description);
  }
  Stat& distribution(const std::string& name, const std::string& unit, const std::string& description) {
    return add(name, Stat::Kind::Distribution, unit, description);
  }
  nlohmann::json to_json() const;

 private:
  Stat& add(const std::string& name, Stat::Kind kind, const std::string& unit,
            const std::string& description);
  std::deque<Stat> stats_;  // stable addresses: owners keep references
};

/// Nearest-rank percentile of `v` (p in [0, 100]); 0 for an empty vector.
double percentile(std::vector<double> v, double p);

}  // namespace edgesim::sim
