// `edgesim regress SUITE [--update] [--format table|json|csv] [--golden-dir DIR]`: runs a
// regression suite's experiments (each in its own process) and compares every metric
// with its golden. Exit 0 when all are within tolerance, 1 when some are not (the table
// lists them) or an experiment failed, 2 for bad input (a bad suite, a missing golden).
// --update rewrites the goldens (atomically) from this run instead.
#include <spdlog/spdlog.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "sim/child_runs.hpp"
#include "sim/cli/commands.hpp"
#include "sim/core/errors.hpp"
#include "sim/regress.hpp"
#include "sim/results.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Outcome {
  json metrics;       // null when the run failed
  std::string error;  // why it failed
  std::string golden_hash;
  std::vector<sim::MetricCheck> checks;
  std::vector<std::string> added;  // metrics the golden does not have
  size_t failures() const {
    size_t n = 0;
    for (const auto& c : checks) n += c.pass ? 0 : 1;
    return n;
  }
  const char* status() const { return !error.empty() ? "error" : failures() ? "fail" : "pass"; }
};

/// A golden and a current value, with as many digits as it takes to tell them apart.
std::pair<std::string, std::string> value_strs(const json& golden, const json& now) {
  auto str = [](const json& v, int digits) {
    if (!v.is_number()) return v.dump();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v.get<double>());
    return std::string(buf);
  };
  int digits = 6;
  while (digits < 17 && golden != now && str(golden, digits) == str(now, digits)) ++digits;
  return {str(golden, digits), str(now, digits)};
}

std::string diff_str(const sim::MetricCheck& c) {
  if (!c.golden.is_number() || !c.now.is_number()) return c.now.is_null() ? "missing now" : "differs";
  const double g = c.golden.get<double>(), d = c.now.get<double>() - g;
  char buf[64];
  if (g != 0) {
    std::snprintf(buf, sizeof buf, "%+.4g (%+.3g %%)", d, 100 * d / std::fabs(g));
  } else {
    std::snprintf(buf, sizeof buf, "%+.4g", d);
  }
  return buf;
}

json check_json(const sim::MetricCheck& c) {
  json j = {{"metric", c.metric},
            {"golden", c.golden},
            {"now", c.now},
            {"pass", c.pass},
            {"tolerance", {{"rel", c.tolerance.rel}, {"abs", c.tolerance.abs}}}};
  if (c.golden.is_number() && c.now.is_number()) j["diff"] = c.now.get<double>() - c.golden.get<double>();
  return j;
}

void print_table(const sim::RegressSuite& suite, const std::vector<Outcome>& outcomes) {
  size_t fails = 0, metrics = 0, failing_metrics = 0;
  std::vector<std::array<std::string, 6>> rows = {
      {"experiment", "metric", "golden", "now", "diff", "tolerance"}};
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const Outcome& o = outcomes[i];
    fails += std::string(o.status()) != "pass";
    metrics += o.checks.size();
    failing_metrics += o.failures();
    for (const auto& c : o.checks) {
      if (c.pass) continue;
      const auto [golden, now] = value_strs(c.golden, c.now);
      rows.push_back({suite.experiments[i].name, c.metric, golden, now, diff_str(c), c.tolerance.str()});
    }
  }
  std::cout << "regress " << suite.name << ": " << outcomes.size() << " experiments, " << metrics
            << " metrics: ";
  if (fails == 0) {
    std::cout << "all within tolerance\n";
  } else {
    std::cout << fails << " experiment(s) fail, " << failing_metrics << " metric(s) past tolerance\n";
  }
  if (rows.size() > 1) {
    std::array<size_t, 6> w{};
    for (const auto& r : rows) {
      for (size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], r[c].size());
    }
    for (const auto& r : rows) {
      std::cout << " ";
      for (size_t c = 0; c < r.size(); ++c) {
        std::cout << ' ' << r[c] << std::string(c + 1 < r.size() ? w[c] - r[c].size() + 1 : 0, ' ');
      }
      std::cout << "\n";
    }
  }
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    const auto& e = suite.experiments[i];
    if (!o.error.empty()) std::cout << "  " << e.name << ": the simulation failed: " << o.error << "\n";
    if (o.error.empty() && o.golden_hash != e.config_hash) {
      std::cout << "  note: " << e.name << ": the resolved config differs from the golden's (hash "
                << o.golden_hash << " -> " << e.config_hash << ")\n";
    }
    if (!o.added.empty()) {
      std::cout << "  note: " << e.name << ": " << o.added.size()
                << " metric(s) not in the golden (first: " << o.added.front() << ")\n";
    }
  }
  if (fails) std::cout << "  goldens: " << suite.golden_dir << "; accept this run with --update\n";
}

void print_json(const sim::RegressSuite& suite, const std::vector<Outcome>& outcomes) {
  json j = {{"suite", suite.name}, {"suite_path", suite.path}, {"golden_dir", suite.golden_dir}};
  bool pass = true;
  json exps = json::array();
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const Outcome& o = outcomes[i];
    const auto& e = suite.experiments[i];
    pass = pass && std::string(o.status()) == "pass";
    json x = {{"name", e.name},
              {"status", o.status()},
              {"config_hash", e.config_hash},
              {"golden_config_hash", o.golden_hash},
              {"metrics_checked", o.checks.size()},
              {"new_metrics", o.added}};
    x["failures"] = json::array();
    for (const auto& c : o.checks) {
      if (!c.pass) x["failures"].push_back(check_json(c));
    }
    if (!o.error.empty()) x["error"] = o.error;
    exps.push_back(x);
  }
  j["status"] = pass ? "pass" : "fail";
  j["experiments"] = exps;
  std::cout << j.dump(2) << "\n";
}

void print_csv(const sim::RegressSuite& suite, const std::vector<Outcome>& outcomes) {
  std::cout << "experiment,metric,golden,now,diff,tolerance_rel,tolerance_abs,pass\n";
  for (size_t i = 0; i < outcomes.size(); ++i) {
    for (const auto& c : outcomes[i].checks) {
      const json j = check_json(c);
      std::cout << suite.experiments[i].name << ',' << c.metric << ',' << sim::csv_cell(c.golden) << ','
                << sim::csv_cell(c.now) << ',' << sim::csv_cell(j.value("diff", json())) << ','
                << c.tolerance.rel << ',' << c.tolerance.abs << ',' << (c.pass ? "true" : "false") << '\n';
    }
    if (!outcomes[i].error.empty()) {
      std::cout << suite.experiments[i].name << ",,,,,,,false\n";
    }
  }
}

}  // namespace

int cmd_regress(const Args& args) {
  std::string suite_path, format = "table", golden_dir;
  bool update = false;
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  po::options_description d("Options");
  d.add_options()("suite", po::value(&suite_path),
                  "regression suite (JSON), e.g. configs/regress/spine.json")(
      "update", po::bool_switch(&update),
      "rewrite the goldens from this run (atomically) instead of comparing")(
      "format", po::value(&format)->default_value("table"), "stdout format: table, json or csv")(
      "golden-dir", po::value(&golden_dir), "read and write goldens here instead of the suite's golden_dir")(
      "jobs,j", po::value(&jobs), "experiments run at once (default: all cores)");
  po::positional_options_description pos;
  pos.add("suite", 1);
  if (!parse_args(
          args, d, &pos,
          "Usage: edgesim regress SUITE [--update] [--format table|json|csv] [--golden-dir DIR]\n"
          "Runs a suite's experiments and compares their metrics with the goldens. Exit 0 when every\n"
          "metric is within its tolerance, 1 when some are not (listed) or a run failed, 2 for bad\n"
          "input (a bad suite, a missing golden). With --update, writes the goldens instead."))
    return kExitOk;
  if (suite_path.empty()) throw InputError("regress: no suite given (usage: edgesim regress SUITE)");
  check_format(format, {"table", "json", "csv"});
  if (jobs == 0) throw InputError("--jobs must be at least 1");
  sim::RegressSuite suite = sim::load_suite(suite_path);
  if (!golden_dir.empty()) suite.golden_dir = golden_dir;
  const size_t n = suite.experiments.size();

  std::vector<Outcome> outcomes(n);
  std::vector<json> goldens(n);
  if (!update) {  // every golden is there before anything runs
    for (size_t i = 0; i < n; ++i) {
      goldens[i] = sim::read_golden(suite, suite.experiments[i]);
      outcomes[i].golden_hash = goldens[i]["config_hash"].get<std::string>();
    }
  }

  sim::ScratchDir scratch("edgesim-regress");
  std::vector<sim::ChildRun> runs;
  for (const auto& e : suite.experiments) {
    const std::string base = scratch.file(e.name);
    runs.push_back({base + ".json", base + ".out", base + ".err", e.config.dump(2) + "\n", e.command});
  }
  spdlog::info("regress {}: {} experiments on {} workers", suite.name, n, jobs);
  sim::run_children(runs, jobs, [&](size_t i, int code) {
    try {
      outcomes[i].metrics = sim::child_results(runs[i], code).at("metrics");
    } catch (const std::exception& err) {
      outcomes[i].error = err.what();
      while (!outcomes[i].error.empty() && outcomes[i].error.back() == '\n') outcomes[i].error.pop_back();
    }
  });

  bool ok = true;
  if (update) {
    fs::create_directories(suite.golden_dir);
    size_t written = 0;
    for (size_t i = 0; i < n; ++i) {
      const auto& e = suite.experiments[i];
      if (!outcomes[i].error.empty()) {
        std::cerr << "edgesim: regress " << suite.name << ": " << e.name
                  << " failed, its golden is unchanged: " << outcomes[i].error << "\n";
        ok = false;
        continue;
      }
      sim::write_atomic(suite.golden_path(e.name),
                        sim::make_golden(suite, e, outcomes[i].metrics).dump(2) + "\n");
      ++written;
    }
    std::cout << "regress " << suite.name << ": wrote " << written << " of " << n << " goldens to "
              << suite.golden_dir << "\n";
    return ok ? kExitOk : kExitSimFailure;
  }

  for (size_t i = 0; i < n; ++i) {
    Outcome& o = outcomes[i];
    if (o.error.empty()) o.checks = sim::compare_metrics(suite, goldens[i]["metrics"], o.metrics, o.added);
    ok = ok && std::string(o.status()) == "pass";
  }
  if (format == "json") {
    print_json(suite, outcomes);
  } else if (format == "csv") {
    print_csv(suite, outcomes);
  } else {
    print_table(suite, outcomes);
  }
  return ok ? kExitOk : kExitSimFailure;
}

}  // namespace edgesim::cli
