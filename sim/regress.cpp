#include "sim/regress.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "models/npu/device.hpp"
#include "models/npu/network.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/hash.hpp"
#include "sim/experiment.hpp"
#include "sim/model_source.hpp"
#include "sim/results.hpp"
#include "sim/sweep.hpp"

namespace edgesim::sim {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kDefaultRel = 1e-6;

[[noreturn]] void suite_error(const std::string& path, const std::string& what) {
  throw InputError("regress suite " + path + ": " + what);
}

Tolerance parse_tolerance(const json& j, const std::string& where, const std::string& path) {
  if (!j.is_object() || j.empty()) suite_error(path, where + ": expected {\"rel\": R} and/or {\"abs\": A}");
  Tolerance t;
  for (const auto& [k, v] : j.items()) {
    if (k != "rel" && k != "abs") suite_error(path, where + "." + k + ": unknown key (rel, abs)");
    if (!v.is_number() || v.get<double>() < 0 || !std::isfinite(v.get<double>())) {
      suite_error(path, where + "." + k + ": expected a non-negative number");
    }
    (k == "rel" ? t.rel : t.abs) = v.get<double>();
  }
  return t;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

}  // namespace

bool Tolerance::within(double golden, double now) const {
  return std::fabs(now - golden) <= std::max(abs, rel * std::fabs(golden));
}

std::string Tolerance::str() const {
  if (rel == 0 && abs == 0) return "exact (abs 0)";
  std::string s;
  if (rel > 0) s = "rel " + fmt("%g", rel);
  if (abs > 0) s += (s.empty() ? "" : " or ") + std::string("abs ") + fmt("%g", abs);
  return s;
}

Tolerance RegressSuite::tolerance_for(const std::string& metric) const {
  const Tolerance* best = &tolerances.front().second;
  size_t best_len = 0;
  for (const auto& [key, t] : tolerances) {
    const bool names =
        key == metric ||
        (metric.size() > key.size() && metric.compare(0, key.size(), key) == 0 && metric[key.size()] == '.');
    if (names && key.size() > best_len) {
      best = &t;
      best_len = key.size();
    }
  }
  return *best;
}

std::string RegressSuite::golden_path(const std::string& experiment) const {
  return golden_dir + "/" + experiment + ".json";
}

RegressSuite load_suite(const std::string& path) {
  const json doc = config::parse_json_text(config::read_file(path), path);
  if (!doc.is_object()) suite_error(path, "the top level must be an object");
  for (const auto& [k, v] : doc.items()) {
    if (k != "description" && k != "golden_dir" && k != "tolerance" && k != "experiments") {
      suite_error(path, "unknown key '" + k + "' (keys: description, golden_dir, tolerance, experiments)");
    }
  }
  RegressSuite s;
  s.path = path;
  s.name = fs::path(path).stem().string();
  const fs::path dir = fs::path(path).parent_path();
  std::string golden = "../../tests/golden/" + s.name;
  if (doc.contains("golden_dir")) {
    if (!doc["golden_dir"].is_string())
      suite_error(path, "golden_dir: expected a path (relative to the suite)");
    golden = doc["golden_dir"].get<std::string>();
  }
  s.golden_dir = fs::path(golden).is_absolute() ? golden : (dir / golden).lexically_normal().string();

  s.tolerances.push_back({"default", Tolerance{kDefaultRel, 0}});
  if (doc.contains("tolerance")) {
    if (!doc["tolerance"].is_object())
      suite_error(path, "tolerance: expected an object of METRIC: {rel, abs}");
    for (const auto& [k, v] : doc["tolerance"].items()) {
      const Tolerance t = parse_tolerance(v, "tolerance." + k, path);
      if (k == "default") {
        s.tolerances.front().second = t;
      } else {
        s.tolerances.push_back({k, t});
      }
    }
  }

  if (!doc.contains("experiments") || !doc["experiments"].is_array() || doc["experiments"].empty()) {
    suite_error(path, "experiments: expected a non-empty list of {name, config, set}");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < doc["experiments"].size(); ++i) {
    const json& e = doc["experiments"][i];
    const std::string where = "experiments[" + std::to_string(i) + "]";
    if (!e.is_object()) suite_error(path, where + ": expected an object {name, config, set}");
    for (const auto& [k, v] : e.items()) {
      if (k != "name" && k != "config" && k != "set" && k != "description" && k != "network" &&
          k != "input") {
        suite_error(
            path, where + ": unknown key '" + k + "' (keys: name, config, set, description, network, input)");
      }
    }
    if (!e.contains("name") || !e["name"].is_string() || !valid_name(e["name"].get<std::string>())) {
      suite_error(
          path,
          where + ".name: expected a name of letters, digits, '-', '_' and '.' (the golden's file name)");
    }
    RegressExperiment x;
    x.name = e["name"].get<std::string>();
    if (!names.insert(x.name).second) suite_error(path, where + ".name: '" + x.name + "' appears twice");
    if (!e.contains("config") || !e["config"].is_string()) {
      suite_error(path, where + ".config: expected a config path (relative to the suite) or builtin:NAME");
    }
    const auto suite_path = [&](const std::string& key) {
      if (!e[key].is_string())
        suite_error(path, where + "." + key + ": expected a path (relative to the suite)");
      const std::string p = e[key].get<std::string>();
      if (p.rfind(config::kBuiltinPrefix, 0) == 0 || fs::path(p).is_absolute()) return p;
      return (dir / p).lexically_normal().string();
    };
    const std::string cfg_path = suite_path("config");
    const json set = e.value("set", json::object());
    if (!set.is_object()) suite_error(path, where + ".set: expected an object of KEY: value");
    if (e.contains("input") && !e.contains("network"))
      suite_error(path, where + ".input: only with a network");
    try {
      json cfg = load_experiment_config(cfg_path);
      for (const auto& [k, v] : set.items()) config::apply_override(cfg, k + "=" + v.dump());
      if (e.contains("network")) {
        x.config = npu::build_npu_device(cfg).config;
        const std::string network = suite_path("network");
        npu::load_network(network);  // a bad network is the suite's bad input, before anything runs
        x.command = {"npu", "--network", network};
        // The network's file is part of what the golden came from.
        const std::string text = config::read_file(network);
        x.config_hash = point_id(
            {{"device", x.config},
             {"network", fnv1a(kFnv1aBasis, reinterpret_cast<const uint8_t*>(text.data()), text.size())}});
        if (e.contains("input")) {
          x.command.push_back("--input");
          x.command.push_back(suite_path("input"));
        }
      } else {
        x.config = build_experiment(cfg).config;
        x.config_hash = point_id(x.config);
      }
    } catch (const InputError& err) {
      suite_error(path, "experiment '" + x.name + "': " + err.what());
    }
    s.experiments.push_back(std::move(x));
  }
  return s;
}

json make_golden(const RegressSuite& suite, const RegressExperiment& e, const json& metrics) {
  return {{"schema", kGoldenSchema},
          {"suite", suite.name},
          {"experiment", e.name},
          {"config_hash", e.config_hash},
          {"metrics", flatten_metrics(metrics, true)}};
}

json read_golden(const RegressSuite& suite, const RegressExperiment& e) {
  const std::string path = suite.golden_path(e.name);
  if (!fs::exists(path)) {
    throw InputError("regress " + suite.name + ": no golden for experiment '" + e.name + "' (expected " +
                     path + "); create it with: edgesim regress " + suite.path + " --update");
  }
  const json g = config::parse_json_text(config::read_file(path), path);
  if (!g.is_object() || !g.contains("schema") || g["schema"] != kGoldenSchema || !g.contains("metrics") ||
      !g["metrics"].is_object() || !g.contains("config_hash") || !g["config_hash"].is_string()) {
    throw InputError("golden " + path + ": not an edgesim golden (" + kGoldenSchema +
                     " with config_hash and metrics); rewrite it with --update");
  }
  return g;
}

std::vector<MetricCheck> compare_metrics(const RegressSuite& suite, const json& golden_metrics,
                                         const json& metrics, std::vector<std::string>& added) {
  const json now = flatten_metrics(metrics, true);
  std::vector<MetricCheck> out;
  for (const auto& [k, g] : golden_metrics.items()) {
    MetricCheck c;
    c.metric = k;
    c.golden = g;
    c.now = now.value(k, json());
    c.tolerance = suite.tolerance_for(k);
    if (g.is_number() && c.now.is_number()) {
      c.pass = c.tolerance.within(g.get<double>(), c.now.get<double>());
    } else {
      c.pass = now.contains(k) && g == c.now;  // null (no cached tensors) or a string
    }
    out.push_back(std::move(c));
  }
  added.clear();
  for (const auto& [k, v] : now.items()) {
    if (!golden_metrics.contains(k)) added.push_back(k);
  }
  return out;
}

}  // namespace edgesim::sim
