#include "sim/sweep_output.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/json_count.hpp"
#include "sim/results.hpp"

namespace edgesim::sim {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kManifest = "sweep.json";
constexpr const char* kResults = "results.jsonl";

uint64_t record_index(const json& r) {
  return r.contains("index") && r["index"].is_number_unsigned() ? r["index"].get<uint64_t>()
                                                                : std::numeric_limits<uint64_t>::max();
}

bool is_ok(const json& r) {
  return r.value("status", "") == "ok";
}

/// The first metric where two results differ, for the error message.
std::string first_difference(const json& a, const json& b) {
  const json fa = flatten_metrics(a), fb = flatten_metrics(b);
  for (const auto& [k, v] : fa.items()) {
    if (!fb.contains(k)) return k + " only in the first";
    if (fb[k] != v) return k + " " + v.dump() + " vs " + fb[k].dump();
  }
  for (const auto& [k, v] : fb.items()) {
    if (!fa.contains(k)) return k + " only in the second";
  }
  return "?";
}

}  // namespace

json SweepManifest::to_json() const {
  return {{"schema", kSweepSchema},    {"edgesim_version", EDGESIM_VERSION},
          {"sweep_id", sweep_id},      {"spec", spec},
          {"points", points},          {"shard", {{"index", shard.index}, {"count", shard.count}}},
          {"merged_from", merged_from}};
}

std::optional<SweepManifest> read_manifest(const std::string& dir) {
  const std::string path = dir + "/" + kManifest;
  if (!fs::exists(path)) return std::nullopt;
  const json j = config::parse_json_text(config::read_file(path), path);
  SweepManifest m;
  try {
    if (j.at("schema") != kSweepSchema) throw InputError("schema " + j["schema"].dump());
    m.sweep_id = j.at("sweep_id").get<std::string>();
    m.spec = j.at("spec").get<std::string>();
    m.points = json_count<uint64_t>(j.at("points"), "points");
    m.shard.index = json_count<uint64_t>(j.at("shard").at("index"), "shard.index");
    m.shard.count = json_count<uint64_t>(j.at("shard").at("count"), "shard.count");
    m.merged_from = j.value("merged_from", json::array());
  } catch (const std::exception& e) {
    throw InputError(path + ": not an edgesim sweep manifest (" + kSweepSchema + "): " + e.what());
  }
  if (m.shard.count == 0 || m.shard.index >= m.shard.count) {
    throw InputError(path + ": shard " + m.shard.str() + " is impossible");
  }
  return m;
}

void write_manifest(const std::string& dir, const SweepManifest& manifest) {
  write_atomic(dir + "/" + kManifest, manifest.to_json().dump(2) + "\n");
}

void append_record(const std::string& path, const json& record) {
  append_lines(path, record.dump() + "\n");
}

void append_lines(const std::string& path, const std::string& text) {
  AppendFile f(path);
  f.append(text);
  f.sync();
}

AppendFile::AppendFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError("cannot append to '" + path + "': " + std::strerror(errno));
}

AppendFile::~AppendFile() {
  ::close(fd_);
}

void AppendFile::append(const std::string& text) {
  const ssize_t n = ::write(fd_, text.data(), text.size());  // one write: the lines land whole
  if (n != static_cast<ssize_t>(text.size()))
    throw SimError("cannot append to '" + path_ + "': " + (n < 0 ? std::strerror(errno) : "short write"));
}

void AppendFile::sync() {
  if (::fsync(fd_) != 0) throw SimError("cannot sync '" + path_ + "': " + std::strerror(errno));
}

void check_output_folder(const std::string& out, const SweepManifest& want, bool resume) {
  const std::string results = out + "/" + kResults;
  if (fs::exists(results) && !resume) {
    throw InputError(results + " exists: pass --resume to continue that run, or choose another --out");
  }
  const auto have = read_manifest(out);
  if (!have) return;
  if (have->sweep_id != want.sweep_id) {
    throw InputError(out + " holds another run (" + have->spec + ", id " + have->sweep_id + ") than " +
                     want.spec + " (id " + want.sweep_id + "); choose another --out");
  }
  if (have->shard.index != want.shard.index || have->shard.count != want.shard.count) {
    throw InputError(out + " holds shard " + have->shard.str() + " of this run, not " + want.shard.str() +
                     "; choose another --out");
  }
}

std::vector<json> read_json_lines(const std::string& path, bool repair) {
  std::vector<json> out;
  if (!fs::exists(path)) return out;
  std::string text = config::read_file(path);
  const size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  if (keep != text.size()) {
    spdlog::warn("{}: dropping a partial last line (an interrupted write)", path);
    if (repair) fs::resize_file(path, keep);
    text.resize(keep);
  }
  std::istringstream in(text);
  std::string line;
  size_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    json r;
    std::string why;
    try {
      r = json::parse(line);
    } catch (const json::exception& e) {  // a syntax error, or a number beyond a double ("1e999")
      why = e.what();
      why = " (" + why.substr(why.find("] ") == std::string::npos ? 0 : why.find("] ") + 2) + ")";
    }
    if (!r.is_object()) throw InputError(path + " line " + std::to_string(no) + ": not a JSON object" + why);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<json> read_records(const std::string& path, bool repair) {
  std::vector<json> out = read_json_lines(path, repair);
  for (size_t i = 0; i < out.size(); ++i) {
    const json& r = out[i];
    // What resuming, the CSV and merging read of a record, each of the type they read it as:
    // a damaged or hand-edited file is bad input here, not a JSON type error later.
    std::string wrong;
    if (!r.contains("point") || !r["point"].is_string()) {
      wrong = "no 'point' string";
    } else if (!r.contains("status") || !r["status"].is_string()) {
      wrong = "no 'status' string";
    } else if (r.contains("axes") && !r["axes"].is_object()) {
      wrong = "'axes' is " + std::string(r["axes"].type_name()) + ", not an object";
    } else if (r.contains("index") && !r["index"].is_number_unsigned()) {
      const json& x = r["index"];
      wrong =
          "'index' is " + (x.is_number() ? x.dump() : std::string(x.type_name())) + ", not a point number";
    } else if (is_ok(r) && !(r.contains("metrics") && r["metrics"].is_object())) {
      wrong = "an ok record without a 'metrics' object";
    }
    if (!wrong.empty()) {
      throw InputError(path + " line " + std::to_string(i + 1) + ": not a sweep results record (" + wrong +
                       ")");
    }
  }
  return out;
}

std::string records_csv(std::vector<json> all) {
  // One row per point: its ok result, else its last failed attempt (a resumed sweep
  // reruns failed points and appends their new records).
  std::map<std::string, size_t> row;
  std::vector<json> records;
  for (auto& r : all) {
    const std::string id = r["point"].get<std::string>();
    auto it = row.find(id);
    if (it == row.end()) {
      row[id] = records.size();
      records.push_back(std::move(r));
    } else if (!is_ok(records[it->second])) {
      records[it->second] = std::move(r);
    }
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const json& a, const json& b) { return record_index(a) < record_index(b); });
  std::vector<std::string> axes, metrics;
  std::set<std::string> seen_a, seen_m;
  for (const auto& r : records) {
    const json ax = r.value("axes", json::object());
    for (const auto& [k, v] : ax.items()) {
      if (seen_a.insert(k).second) axes.push_back(k);
    }
    if (!is_ok(r)) continue;
    const json flat = flatten_metrics(r["metrics"]);
    for (const auto& [k, v] : flat.items()) {
      if (seen_m.insert(k).second) metrics.push_back(k);
    }
  }
  std::ostringstream o;
  o << "point,status";
  for (const auto& a : axes) o << ',' << a;
  for (const auto& m : metrics) o << ',' << m;
  o << '\n';
  for (const auto& r : records) {
    o << r["point"].get<std::string>() << ',' << r["status"].get<std::string>();
    const json ax = r.value("axes", json::object());
    for (const auto& a : axes) o << ',' << csv_cell(ax.value(a, json()));
    const json flat = is_ok(r) ? flatten_metrics(r["metrics"]) : json::object();
    for (const auto& m : metrics) o << ',' << csv_cell(flat.value(m, json()));
    o << '\n';
  }
  return o.str();
}

SweepMerge read_sweep_merge(const std::vector<std::string>& dirs, const std::string& out) {
  if (dirs.empty()) throw InputError("sweep merge: no shard folders given");
  std::vector<SweepManifest> manifests;
  for (const auto& d : dirs) {
    if (!fs::is_directory(d)) throw InputError("sweep merge: '" + d + "' is not a folder");
    auto m = read_manifest(d);
    if (!m) {
      throw InputError("sweep merge: '" + d + "' is not a sweep output folder (no " + kManifest +
                       "; edgesim sweep --out DIR writes one)");
    }
    if (!manifests.empty() && m->sweep_id != manifests.front().sweep_id) {
      throw InputError("sweep merge: '" + d + "' holds sweep " + m->sweep_id + " (spec " + m->spec +
                       ") but '" + dirs.front() + "' holds sweep " + manifests.front().sweep_id + " (spec " +
                       manifests.front().spec + "): they are not shards of one sweep");
    }
    manifests.push_back(*m);
  }
  std::error_code ec;
  for (const auto& d : dirs) {
    if (fs::equivalent(d, out, ec)) throw InputError("sweep merge: --out '" + out + "' is one of the inputs");
  }
  if (fs::exists(fs::path(out) / kResults)) {
    throw InputError("sweep merge: '" + out + "' already holds results; choose a new --out folder");
  }

  // One record per point: the first ok result (a later ok one must agree with it), else
  // the last failed attempt.
  struct Kept {
    json record;
    std::string dir;
  };
  std::map<std::string, Kept> kept;
  MergeSummary summary;
  summary.points = manifests.front().points;
  summary.spec = manifests.front().spec;
  for (const auto& d : dirs) {
    for (auto& r : read_records(d + "/" + kResults, false)) {
      const std::string id = r["point"].get<std::string>();
      auto it = kept.find(id);
      if (it == kept.end()) {
        kept.emplace(id, Kept{std::move(r), d});
        continue;
      }
      ++summary.duplicates;
      Kept& k = it->second;
      if (is_ok(k.record) && is_ok(r)) {
        if (k.record["metrics"] != r["metrics"]) {
          throw InputError("sweep merge: conflicting results for point " + id + " in '" + k.dir + "' and '" +
                           d + "': " + first_difference(k.record["metrics"], r["metrics"]));
        }
      } else if (!is_ok(k.record)) {
        k = Kept{std::move(r), d};
      }
    }
  }

  // Shards of one N: say which are missing.
  const uint64_t n = manifests.front().shard.count;
  bool same_n = true;
  std::set<uint64_t> have;
  for (const auto& m : manifests) {
    same_n = same_n && m.shard.count == n;
    have.insert(m.shard.index);
  }
  if (same_n) {
    summary.shards = n;
    for (uint64_t k = 0; k < n; ++k) {
      if (!have.count(k)) summary.missing_shards.push_back(k);
    }
  }

  SweepMerge merge;
  for (auto& [id, k] : kept) {
    summary.failed += is_ok(k.record) ? 0 : 1;
    merge.records.push_back(std::move(k.record));
  }
  std::stable_sort(merge.records.begin(), merge.records.end(),
                   [](const json& a, const json& b) { return record_index(a) < record_index(b); });
  summary.merged = merge.records.size();
  merge.summary = summary;
  merge.manifest = manifests.front();
  merge.manifest.shard = Shard{};
  merge.manifest.merged_from = json::array();
  for (const auto& d : dirs) merge.manifest.merged_from.push_back(d);
  return merge;
}

void write_sweep_merge(const SweepMerge& merge, const std::vector<std::string>& dirs,
                       const std::string& out) {
  fs::create_directories(fs::path(out) / "points");
  for (const auto& d : dirs) {
    const fs::path points = fs::path(d) / "points";
    if (!fs::is_directory(points)) continue;
    for (const auto& e : fs::directory_iterator(points)) {
      const fs::path to = fs::path(out) / "points" / e.path().filename();
      if (e.is_regular_file() && !fs::exists(to)) fs::copy_file(e.path(), to);
    }
  }
  std::string lines;
  for (const auto& r : merge.records) lines += r.dump() + "\n";
  write_atomic(out + "/" + kResults, lines);
  write_atomic(out + "/results.csv", records_csv(merge.records));
  write_manifest(out, merge.manifest);
}

MergeSummary merge_sweeps(const std::vector<std::string>& dirs, const std::string& out) {
  const SweepMerge merge = read_sweep_merge(dirs, out);
  write_sweep_merge(merge, dirs, out);
  return merge.summary;
}

}  // namespace edgesim::sim
