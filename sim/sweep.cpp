#include "sim/sweep.hpp"

#include <spdlog/spdlog.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/hash.hpp"
#include "sim/model_source.hpp"

namespace edgesim::sim {

using nlohmann::json;

namespace {

[[noreturn]] void spec_error(const std::string& path, const std::string& what) {
  throw InputError("sweep spec " + path + ": " + what);
}

std::string format_count(double n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, n < 1e15 ? "%.0f" : "%.3g", n);
  return buf;
}

std::vector<json> axis_values(const json& v, const std::string& where, const std::string& path) {
  if (v.is_array()) {
    if (v.empty()) spec_error(path, where + ": an axis needs at least one value");
    return {v.begin(), v.end()};
  }
  if (v.is_object() && v.contains("range")) {
    const json& r = v["range"];
    if (!r.is_array() || r.size() < 2 || r.size() > 3 || !r[0].is_number() || !r[1].is_number() ||
        (r.size() == 3 && !r[2].is_number())) {
      spec_error(path, where + ".range: expected [first, last] or [first, last, step] numbers");
    }
    const double first = r[0].get<double>(), last = r[1].get<double>();
    const double step = r.size() == 3 ? r[2].get<double>() : 1.0;
    if (!std::isfinite(first) || !std::isfinite(last) || !std::isfinite(step))
      spec_error(path, where + ".range: expected finite numbers");
    if (step == 0 || (last - first) / step < 0)
      spec_error(path, where + ".range: the step does not reach last");
    const bool integral =
        r[0].is_number_integer() && r[1].is_number_integer() && (r.size() == 2 || r[2].is_number_integer());
    std::vector<json> out;
    // The count is checked as a double, before it is converted (a range of 1e300 values
    // does not fit in an integer).
    const double steps = std::floor((last - first) / step + 1e-9);
    if (!(steps < static_cast<double>(kMaxSweepPoints)))
      spec_error(path, where + ".range: more than " + std::to_string(kMaxSweepPoints) + " values");
    const auto n = static_cast<long long>(steps) + 1;
    for (long long i = 0; i < n; ++i) {
      const double x = first + static_cast<double>(i) * step;
      out.push_back(integral ? json(static_cast<long long>(std::llround(x))) : json(x));
    }
    return out;
  }
  spec_error(path, where + ": expected a list of values or {\"range\": [first, last, step]}");
}

std::string hex64(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

bool parse_count(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoull(text);
  return true;
}

bool matches(const json& axes, const json& rule) {
  for (const auto& [k, v] : rule.items()) {
    if (!axes.contains(k) || axes[k] != v) return false;
  }
  return true;
}

}  // namespace

std::string point_id(const json& resolved_config) {
  const std::string text = resolved_config.dump();
  return hex64(fnv1a(kFnv1aBasis, reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::string sweep_id(const std::vector<std::string>& point_ids) {
  uint64_t h = kFnv1aBasis;
  for (const auto& id : point_ids) {
    h = fnv1a(h, reinterpret_cast<const uint8_t*>(id.data()), id.size());
    const uint8_t sep = '\n';
    h = fnv1a(h, &sep, 1);
  }
  return hex64(h);
}

Shard parse_shard(const std::string& text, const std::string& where) {
  const size_t slash = text.find('/');
  uint64_t k = 0, n = 0;
  if (slash == std::string::npos || !parse_count(text.substr(0, slash), k) ||
      !parse_count(text.substr(slash + 1), n) || n == 0 || k >= n) {
    throw InputError(where + " '" + text + "': expected K/N with 0 <= K < N (K is 0-based), e.g. 0/4");
  }
  return {k, n};
}

std::optional<Shard> shard_from_slurm(const std::function<const char*(const char*)>& getenv) {
  const char* id = getenv("SLURM_ARRAY_TASK_ID");
  const char* count = getenv("SLURM_ARRAY_TASK_COUNT");
  if (!id || !count) return std::nullopt;
  auto read = [&](const char* name, const char* value, uint64_t& out) {
    if (!parse_count(value, out)) {
      throw InputError(std::string(name) + "='" + value + "': expected a non-negative integer");
    }
  };
  uint64_t task = 0, n = 0, min = 0, step = 1;
  read("SLURM_ARRAY_TASK_ID", id, task);
  read("SLURM_ARRAY_TASK_COUNT", count, n);
  if (const char* v = getenv("SLURM_ARRAY_TASK_MIN")) read("SLURM_ARRAY_TASK_MIN", v, min);
  if (const char* v = getenv("SLURM_ARRAY_TASK_STEP")) read("SLURM_ARRAY_TASK_STEP", v, step);
  if (step == 0) step = 1;
  if (task < min || (task - min) % step != 0 || (task - min) / step >= n || n == 0) {
    throw InputError(
        "Slurm array task " + std::string(id) + " (SLURM_ARRAY_TASK_MIN " + std::to_string(min) + ", STEP " +
        std::to_string(step) + ", COUNT " + std::string(count) +
        ") is not one of COUNT evenly spaced tasks from MIN: submit with --array=MIN-MAX[:STEP], "
        "or pass --shard K/N");
  }
  return Shard{(task - min) / step, n};
}

Shard choose_shard(const std::string& option, const std::string& where) {
  if (!option.empty()) return parse_shard(option, where);
  if (auto s = shard_from_slurm([](const char* name) { return std::getenv(name); })) {
    spdlog::info("shard {} from the Slurm job array (SLURM_ARRAY_TASK_ID {})", s->str(),
                 std::getenv("SLURM_ARRAY_TASK_ID"));
    return *s;
  }
  return {};
}

std::vector<SweepPoint> expand_sweep(const json& spec, const std::string& path, size_t max_points) {
  if (!spec.is_object()) spec_error(path, "the top level must be an object");
  for (const auto& [k, v] : spec.items()) {
    if (k != "base" && k != "grid" && k != "zip" && k != "skip" && k != "description") {
      spec_error(path, "unknown key '" + k + "' (keys: base, grid, zip, skip, description)");
    }
  }
  if (!spec.contains("base")) spec_error(path, "base: missing (a config path or an inline config)");
  json base;
  if (spec["base"].is_string()) {
    try {
      base = load_experiment_config(spec["base"].get<std::string>());
    } catch (const InputError& e) {
      spec_error(path, std::string("base: ") + e.what());
    }
  } else if (spec["base"].is_object()) {
    base = spec["base"];
    resolve_model_source(base);
  } else {
    spec_error(path, "base: expected a config path or an inline config object");
  }

  // Grid axes in the spec's key order (nlohmann keeps keys sorted: deterministic).
  std::vector<std::pair<std::string, std::vector<json>>> grid;
  if (spec.contains("grid")) {
    if (!spec["grid"].is_object()) spec_error(path, "grid: expected an object of KEY: values");
    for (const auto& [k, v] : spec["grid"].items()) grid.push_back({k, axis_values(v, "grid." + k, path)});
  }
  std::vector<std::pair<std::string, std::vector<json>>> zip;
  size_t zip_len = 1;
  if (spec.contains("zip")) {
    if (!spec["zip"].is_object()) spec_error(path, "zip: expected an object of KEY: values");
    for (const auto& [k, v] : spec["zip"].items()) {
      zip.push_back({k, axis_values(v, "zip." + k, path)});
      if (zip.size() == 1) {
        zip_len = zip.back().second.size();
      } else if (zip.back().second.size() != zip_len) {
        spec_error(path, "zip." + k + ": zipped axes need equal lengths (" + std::to_string(zip_len) +
                             " and " + std::to_string(zip.back().second.size()) + ")");
      }
    }
  }
  json skip = spec.value("skip", json::array());
  if (!skip.is_array()) spec_error(path, "skip: expected a list of {KEY: value} rules");
  for (const auto& rule : skip) {
    if (!rule.is_object()) spec_error(path, "skip: each rule is an object of KEY: value pairs");
  }

  // The product of the axes, before any point is built (each holds a copy of the base).
  double product = static_cast<double>(zip_len);
  for (const auto& [k, vals] : grid) product *= static_cast<double>(vals.size());
  if (product > static_cast<double>(max_points)) {
    spec_error(path, "the grid and zip axes make " + format_count(product) + " points, more than the " +
                         std::to_string(max_points) + " a sweep may have");
  }
  std::vector<SweepPoint> points;
  std::vector<size_t> idx(grid.size(), 0);
  for (;;) {
    for (size_t z = 0; z < zip_len; ++z) {
      SweepPoint p;
      p.axes = json::object();
      for (size_t a = 0; a < grid.size(); ++a) p.axes[grid[a].first] = grid[a].second[idx[a]];
      for (const auto& [k, vals] : zip) p.axes[k] = vals[z];
      bool skipped = false;
      for (const auto& rule : skip) skipped = skipped || matches(p.axes, rule);
      if (skipped) continue;
      p.config = base;
      for (const auto& [k, v] : p.axes.items()) config::apply_override(p.config, k + "=" + v.dump());
      points.push_back(std::move(p));
    }
    size_t a = grid.size();
    while (a > 0) {
      --a;
      if (++idx[a] < grid[a].second.size()) break;
      idx[a] = 0;
      if (a == 0) return points;
    }
    if (grid.empty()) return points;
  }
}

}  // namespace edgesim::sim
