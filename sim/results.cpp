#include "sim/results.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>

#include "sim/core/config/units.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::sim {

using nlohmann::json;

json make_results(const json& config, const json& metrics, const json& stats, const json& run_info) {
  json r;
  r["schema"] = kResultsSchema;
  r["edgesim_version"] = EDGESIM_VERSION;
  r["seed"] = config.at("run").at("seed");
  r["run"] = run_info;
  r["config"] = config;
  r["metrics"] = metrics;
  r["stats"] = stats;
  return r;
}

void write_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw InputError("cannot write '" + tmp + "': " + std::strerror(errno));
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      std::remove(tmp.c_str());
      throw InputError("cannot write '" + tmp + "': " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw InputError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(err));
  }
}

namespace {
bool named_elements(const json& j) {
  std::set<std::string> names;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() ||
        !names.insert(e["name"].get<std::string>()).second)
      return false;
  }
  return !j.empty();
}

void flatten(const json& j, const std::string& prefix, json& out, bool named_arrays) {
  const auto key = [&](const std::string& k) { return prefix.empty() ? k : prefix + "." + k; };
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) flatten(v, key(k), out, named_arrays);
  } else if (named_arrays && j.is_array() && named_elements(j)) {
    for (const auto& e : j) {
      const std::string name = key(e["name"].get<std::string>());
      for (const auto& [k, v] : e.items()) {
        if (k != "name") flatten(v, name + "." + k, out, named_arrays);
      }
    }
  } else {
    out[prefix] = j;
  }
}

}  // namespace

std::string csv_cell(const json& v) {
  std::string out;
  if (!v.is_null()) append_csv_cell(out, v.is_string() ? v.get_ref<const std::string&>() : v.dump());
  return out;
}

void append_csv_cell(std::string& out, std::string_view text) {
  // (find_first_of would search the four characters once per character of the text)
  if (std::none_of(text.begin(), text.end(),
                   [](char c) { return c == ',' || c == '"' || c == '\n' || c == '\r'; })) {
    out += text;
    return;
  }
  // RFC 4180: quote the cell and double its quotes.
  out += '"';
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

json flatten_metrics(const json& metrics, bool named_arrays) {
  json out = json::object();
  flatten(metrics, "", out, named_arrays);
  return out;
}

std::string results_csv(const json& results) {
  const json flat = flatten_metrics(results.at("metrics"));
  std::ostringstream head, row;
  head << "model,device,policy,seed";
  const json& c = results.at("config");
  row << csv_cell(c["model"]["name"]) << ',' << csv_cell(c["device"]["name"]) << ','
      << csv_cell(c["policy"]["name"]) << ',' << csv_cell(results["seed"]);
  for (const auto& [k, v] : flat.items()) {
    head << ',' << k;
    row << ',' << csv_cell(v);
  }
  return head.str() + "\n" + row.str() + "\n";
}

std::string results_table(const json& results) {
  using config::format_quantity;
  using config::Quantity;
  const json& m = results.at("metrics");
  const json& c = results.at("config");
  auto num = [&](const json& v) { return v.is_null() ? std::nan("") : v.get<double>(); };
  auto t = [&](const json& v) { return format_quantity(num(v), Quantity::Time); };
  auto b = [&](const json& v) { return format_quantity(num(v), Quantity::Bytes); };
  std::ostringstream o;
  char line[256];
  auto row = [&](const std::string& k, const std::string& v) {
    std::snprintf(line, sizeof line, "  %-28s %s\n", k.c_str(), v.c_str());
    o << line;
  };
  const std::string format = c["model"].value("weight_format", std::string());
  o << "edgesim " << results.value("edgesim_version", "?") << " | model "
    << c["model"]["name"].get<std::string>() << " ("
    << (format.empty() ? c["model"]["weight_dtype"].get<std::string>() : format) << ") | device "
    << c["device"]["name"].get<std::string>() << " | policy " << c["policy"]["name"].get<std::string>()
    << " | cache " << c["weight_store"]["cache_policy"].get<std::string>() << "\n";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", num(m["tokens_per_s"]));
  row("tokens/s", buf);
  row("token latency mean/p50/p99", t(m["token_latency_s"]["mean"]) + " / " + t(m["token_latency_s"]["p50"]) +
                                        " / " + t(m["token_latency_s"]["p99"]));
  const json& tb = m["time_breakdown"];
  row("time/token: compute, stall", t(tb["compute"]) + ", " + t(tb["stall"]));
  row("busy/token: flash, dram", t(tb["flash"]) + ", " + t(tb["dram"]));
  row("flash bytes/token", b(m["flash_bytes_per_token"]));
  row("DRAM bytes/token", b(m["dram_bytes_per_token"]));
  if (m["weight_cache_hit_rate"].is_null()) {
    row("weight cache hit rate", "n/a (no cached tensors)");
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %%", 100 * num(m["weight_cache_hit_rate"]));
    row("weight cache hit rate", buf);
  }
  const json& f = m["memory_footprint_bytes"];
  row("memory footprint", b(f["total"]) + " of " + b(f["available"]) + " available");
  row("  pinned weights, cache", b(f["weights_pinned"]) + ", " + b(f["weight_cache"]));
  row("  KV cache, activations", b(f["kv_cache"]) + ", " + b(f["activations"]));
  if (num(f["staging"]) > 0) row("  streaming buffers", b(f["staging"]));
  if (f.contains("adapters")) row("  adapters", b(f["adapters"]));
  if (m.contains("memory_management")) {  // windowing: its row bookkeeping and matrices
    const json& mm = m["memory_management"];
    std::snprintf(buf, sizeof buf, ", %.0f in, %.0f moved, %.0f out", num(mm["rows_inserted_per_token"]),
                  num(mm["rows_moved_per_token"]), num(mm["rows_deleted_per_token"]));
    row("memory mgmt/token, rows", t(mm["time_per_token_s"]) + buf);
    const json& w = m["window"];
    std::snprintf(buf, sizeof buf, " (%.1f %% of cached tensors), K = %llu", 100 * num(w["matrix_fraction"]),
                  static_cast<unsigned long long>(w["window_tokens"].get<uint64_t>()));
    row("window matrices", b(w["matrix_bytes"]) + buf);
  }
  if (m.contains("routing")) {  // an MoE routing policy: its departure from top-k
    const json& r = m["routing"];
    std::snprintf(buf, sizeof buf, "%.1f, ", num(r["experts_loaded_per_token"]));
    row("experts loaded/token, bytes", buf + b(r["expert_flash_bytes_per_token"]));
    std::snprintf(buf, sizeof buf, "%.1f %%, %.4f", 100 * num(r["changed_pick_fraction"]),
                  num(r["probability_mass_lost"]));
    row("picks != top-k, mass lost", buf);
  }
  if (m.contains("adapter")) {
    const json& a = m["adapter"];
    const json& pt = a["per_token"];
    row("adapter per token", c["adapter"]["method"].get<std::string>() + ": " + b(pt["dram_read_bytes"]) +
                                 " read, " + t(pt["kernel_time_s"]) + " of extra kernels");
    const json& sw = a["switches"];
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(sw["count"].get<uint64_t>()));
    row("adapter switches",
        std::string(buf) + ", " + t(sw["total_time_s"]) + " in all, " + t(sw["max_time_s"]) + " the longest");
  }
  if (m.contains("prefill")) {  // the prompt was simulated
    const json& p = m["prefill"];
    std::snprintf(buf, sizeof buf, "%.1f tokens/s, %.4g J", num(p["tokens_per_s"]), num(p["energy_j"]));
    row("time to first token", t(m["time_to_first_token_s"]));
    row("prefill", buf);
  }
  // The decoding scheme: its steps and what it gains over the model alone.
  auto speedup = [&](const json& d) {
    if (!d.contains("speedup_tokens_per_s")) return;
    std::snprintf(buf, sizeof buf, "%.2fx (%.3f tokens/s alone)", num(d["speedup_tokens_per_s"]),
                  num(d["plain"]["tokens_per_s"]));
    row("speed-up vs the model alone", buf);
  };
  if (m.contains("speculative")) {
    const json& sp = m["speculative"];
    const json& ts = sp["tokens_per_step"];
    std::snprintf(buf, sizeof buf, "%.3f [%.3f, %.3f]", num(ts["mean"]), num(ts["ci95"][0]),
                  num(ts["ci95"][1]));
    std::string text = buf;
    if (ts.contains("expected")) {
      std::snprintf(buf, sizeof buf, "; expected %.3f", num(ts["expected"]));
      text += buf;
    }
    row("tokens/step [95% interval]", text);
    row("step: draft, verify", t(sp["draft_time_per_step_s"]) + ", " + t(sp["verify_time_per_step_s"]));
    speedup(sp);
  }
  if (m.contains("hybrid")) {
    const json& h = m["hybrid"];
    row("encode (large model)", t(h["encode_time_s"]));
    speedup(h);
  }
  std::snprintf(buf, sizeof buf, "%.4g J", num(m["energy_per_token_j"]));
  row("energy/token", buf);
  std::snprintf(buf, sizeof buf, "%llu (+%llu warm-up)",
                static_cast<unsigned long long>(m["tokens_measured"].get<uint64_t>()),
                static_cast<unsigned long long>(c["run"]["warmup_tokens"].get<uint64_t>()));
  row("tokens measured", buf);
  return o.str();
}

}  // namespace edgesim::sim
