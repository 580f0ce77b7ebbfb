#include "sim/npu_dataset.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>

#include "models/npu/compress.hpp"
#include "models/npu/device.hpp"
#include "models/npu/features.hpp"
#include "models/npu/spaces/space.hpp"
#include "models/npu/summary.hpp"
#include "models/npu/timing.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/progress.hpp"
#include "sim/results.hpp"

namespace edgesim::sim {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSpecPrefix = "npu-dataset ";
constexpr const char* kResults = "results.jsonl";
constexpr const char* kLayers = "layers.jsonl";

std::string hex16(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

/// "128" -> the built-in Ethos-U55-128 device; anything else is a config file.
std::string config_path(const std::string& c) {
  if (c.empty() || c.find_first_not_of("0123456789") != std::string::npos) return c;
  if (c != "32" && c != "64" && c != "128" && c != "256")
    throw InputError("npu-dataset: --configs '" + c +
                     "': Ethos-U55 has 32, 64, 128 or 256 MACs per cycle (or name a device config file)");
  return "builtin:npu/ethos-u55-" + c + ".json";
}

/// The op-mix columns: one count per op type.
std::string op_column(npu::OpType t) {
  return std::string("n_") + npu::op_type_name(t);
}

std::string shape_cell(const npu::Tensor& t) {
  return std::to_string(t.h) + "x" + std::to_string(t.w) + "x" + std::to_string(t.c);
}

/// One flat record written straight as text: its JSON line as nlohmann's dump writes the
/// record (keys sorted) and its CSV line as dataset_csv does, without building the json
/// object (a network's per-layer rows, ~300 of them, cost more as json objects than
/// planning the network). Cells are set in the columns' order.
class TextRow {
 public:
  explicit TextRow(const std::vector<std::string>& columns) : columns_(columns), cells_(columns.size()) {
    for (size_t k = 0; k < columns.size(); ++k) sorted_.push_back(k);
    std::sort(sorted_.begin(), sorted_.end(), [&](size_t a, size_t b) { return columns[a] < columns[b]; });
  }
  TextRow& str(std::string_view v) {
    Cell& c = next();
    c.text.assign(v);
    c.quoted = true;
    return *this;
  }
  TextRow& num(uint64_t v) { return integer(v); }
  TextRow& num(int v) { return integer(v); }
  TextRow& num(double v) {  // as nlohmann writes a number
    Cell& c = next();
    c.text = json(v).dump();
    c.quoted = false;
    return *this;
  }
  TextRow& boolean(bool v) {
    Cell& c = next();
    c.text = v ? "true" : "false";
    c.quoted = false;
    return *this;
  }
  /// Appends the record's lines to `jsonl` and `csv`; the next record starts.
  void write(std::string& jsonl, std::string& csv) {
    if (next_ != cells_.size())
      throw SimError("npu-dataset: a row has " + std::to_string(next_) + " cells of " +
                     std::to_string(cells_.size()));
    next_ = 0;
    jsonl += '{';
    for (size_t i = 0; i < sorted_.size(); ++i) {
      const Cell& c = cells_[sorted_[i]];
      if (i) jsonl += ',';
      append_json_string(jsonl, columns_[sorted_[i]]);
      jsonl += ':';
      if (c.quoted)
        append_json_string(jsonl, c.text);
      else
        jsonl += c.text;
    }
    jsonl += "}\n";
    for (size_t k = 0; k < cells_.size(); ++k) {
      if (k) csv += ',';
      if (cells_[k].quoted)
        append_csv_cell(csv, cells_[k].text);
      else
        csv += cells_[k].text;  // a number or a boolean: nothing to quote
    }
    csv += '\n';
  }

 private:
  struct Cell {
    std::string text;
    bool quoted = false;  // a string (JSON quotes it)
  };
  Cell& next() {
    if (next_ == cells_.size()) throw SimError("npu-dataset: a row has more cells than columns");
    return cells_[next_++];
  }
  template <class T>
  TextRow& integer(T v) {
    char b[24];
    Cell& c = next();
    c.text.assign(b, std::to_chars(b, b + sizeof b, v).ptr);
    c.quoted = false;
    return *this;
  }
  /// A string as JSON: plain ASCII as it is, anything to escape (or not ASCII) by nlohmann.
  static void append_json_string(std::string& out, std::string_view s) {
    for (char ch : s) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u >= 0x80 || ch == '"' || ch == '\\') {
        out += json(std::string(s)).dump();
        return;
      }
    }
    out += '"';
    out += s;
    out += '"';
  }

  const std::vector<std::string>& columns_;
  std::vector<Cell> cells_;
  std::vector<size_t> sorted_;  // the columns in the JSON line's order
  size_t next_ = 0;
};

/// The network id of a row's point ("mobilenetv2-0123456789abcdef@ethos-u55-128").
std::string network_of(const std::string& point) {
  return point.substr(0, point.find('@'));
}

/// The records of a dataset's results.jsonl or layers.jsonl, each with the point string
/// and the whole numbers named in `counts` that resuming and merging read: a damaged or
/// hand-edited line is bad input naming the file and line, not a JSON type error later.
std::vector<json> read_rows(const std::string& path, bool repair, std::initializer_list<const char*> counts) {
  std::vector<json> rows = read_json_lines(path, repair);
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& r = rows[i];
    std::string wrong;
    if (!r.contains("point") || !r["point"].is_string()) wrong = "no 'point' string";
    for (const char* k : counts) {
      if (wrong.empty() && !(r.contains(k) && r[k].is_number_unsigned()))
        wrong = "no '" + std::string(k) + "' count";
    }
    if (!wrong.empty()) {
      throw InputError(path + " line " + std::to_string(i + 1) + ": not an npu-dataset record (" + wrong +
                       ")");
    }
  }
  return rows;
}

}  // namespace

const std::vector<std::string>& results_columns() {
  static const std::vector<std::string> cols = [] {
    std::vector<std::string> c = {"point", "index", "space", "network", "seed", "config",
                                  // graph features
                                  "layers", "cpu_layers", "macs", "params", "weight_bytes", "weight_sparsity",
                                  "peak_activation_bytes", "input_h", "input_w", "input_c"};
    for (npu::OpType t : npu::all_op_types()) c.push_back(op_column(t));
    for (const char* a :
         {"macs_per_cycle", "cycles", "latency_s", "inferences_per_s", "energy_J", "peak_sram_bytes",
          "fits_sram", "flash_bytes", "mac_utilisation", "bound", "cpu_cycles"})
      c.push_back(a);
    c.push_back("arch");
    return c;
  }();
  return cols;
}

const std::vector<std::string>& layer_columns() {
  static const std::vector<std::string> cols = {
      "point",          "index",        "layer",           "name",   "type",
      "input_shape",    "output_shape", "kernel",          "stride", "macs",
      "params",         "on_cpu",       "block",           "jobs",   "cycles",
      "compute_cycles", "dma_cycles",   "mac_utilisation", "bound",  "weight_stream_bytes",
      "energy_J"};
  return cols;
}

namespace {

/// Appends the CSV line of one record (results or layers) with `columns`.
void append_csv_line(std::string& o, const json& r, const std::vector<std::string>& columns) {
  for (size_t k = 0; k < columns.size(); ++k) {
    const std::string& c = columns[k];
    const json* v = nullptr;
    if (r.contains(c))
      v = &r[c];
    else if (r.contains("axes") && r["axes"].contains(c))
      v = &r["axes"][c];
    else if (r.contains("metrics") && r["metrics"].contains(c))
      v = &r["metrics"][c];
    if (k) o += ',';
    if (v) o += v->is_structured() ? csv_cell(json(v->dump())) : csv_cell(*v);
  }
  o += '\n';
}

}  // namespace

std::string dataset_csv(const std::vector<json>& records, const std::vector<std::string>& columns,
                        bool header) {
  std::string o;
  if (header) {
    for (size_t k = 0; k < columns.size(); ++k) o += (k ? "," : "") + columns[k];
    o += '\n';
  }
  for (const auto& r : records) append_csv_line(o, r, columns);
  return o;
}

// ---- The dataset ----

struct NpuDataset::Impl {
  std::unique_ptr<npu::spaces::Space> space;
  std::vector<json> device_configs;  // merged config of each configuration
};

struct NpuDataset::Worker {
  std::vector<npu::NpuDevice> devices;
  npu::Timing timing;
  TextRow layer_row{layer_columns()};
};

NpuDataset::NpuDataset(const NpuDatasetSpec& spec) : spec_(spec), impl_(std::make_unique<Impl>()) {
  if (spec.count == 0) throw InputError("npu-dataset: --count must be at least 1");
  if (spec.configs.empty()) throw InputError("npu-dataset: --configs names no NPU configuration");
  json resolved = json::object();
  impl_->space = npu::spaces::make_space(spec.space, spec.options, resolved);
  // Draw one network now: a space whose ranges admit no network fails here, before any
  // output is written.
  impl_->space->generate(npu::spaces::network_seed(spec.seed, 0), nullptr);
  json configs = json::array();
  for (const auto& c : spec.configs) {
    const std::string path = config_path(c);
    json cfg;
    try {
      cfg = config::load_config(path);
    } catch (const InputError& e) {
      throw InputError("npu-dataset: --configs '" + c + "': " + e.what());
    }
    const npu::NpuDevice dev = npu::build_npu_device(cfg);
    config_paths_.push_back(path);
    impl_->device_configs.push_back(cfg);
    configs.push_back({{"name", dev.settings.name}, {"id", point_id(dev.config)}});
  }
  identity_ = {{"space", spec.space},
               {"options", resolved},
               {"count", spec.count},
               {"seed", spec.seed},
               {"configs", configs}};
}

NpuDataset::~NpuDataset() = default;

void NpuDataset::WorkerDelete::operator()(Worker* w) const {
  delete w;
}

NpuDataset::WorkerPtr NpuDataset::worker() const {
  WorkerPtr w(new Worker);
  for (const auto& cfg : impl_->device_configs) w->devices.push_back(npu::build_npu_device(cfg));
  return w;
}

NetworkRows NpuDataset::rows(uint64_t index, Worker& w) const {
  const uint64_t seed = npu::spaces::network_seed(spec_.seed, index);
  npu::spaces::Sample sample = impl_->space->generate(seed, nullptr);
  const npu::Network& net = sample.net;
  const std::string id = spec_.space + "-" + hex16(seed);
  const npu::GraphFeatures f = graph_features(net);
  const npu::Tensor& in = net.tensors[static_cast<size_t>(net.input)];
  json features = {{"layers", f.layers},
                   {"cpu_layers", f.cpu_layers},
                   {"macs", f.macs},
                   {"params", f.params},
                   {"weight_bytes", f.weight_bytes},
                   {"weight_sparsity",
                    f.weights ? static_cast<double>(f.zero_weights) / static_cast<double>(f.weights) : 0.0},
                   {"peak_activation_bytes", f.peak_activation_bytes},
                   {"input_h", in.h},
                   {"input_w", in.w},
                   {"input_c", in.c}};
  const auto& types = npu::all_op_types();
  for (size_t k = 0; k < types.size(); ++k) features[op_column(types[k])] = f.op_counts[k];

  NetworkRows out;
  npu::PlanCache cache;  // the configurations share the network's weight streams
  for (size_t c = 0; c < w.devices.size(); ++c) {
    const npu::NpuDevice& dev = w.devices[c];
    const npu::NpuSettings& s = dev.settings;
    const npu::MemorySystem mem = dev.memories();
    npu::Network compressed;
    const npu::Network* timed = &net;
    if (s.prune > 0 || s.clusters > 0) {  // the device asks for compression (as `edgesim npu` applies it)
      compressed = net;
      npu::compress_network(compressed, s.prune, s.clusters, s.compress_layers);
      timed = &compressed;
    }
    const npu::Plan plan = npu::plan_network(*timed, s, mem, timed == &net ? &cache : nullptr);
    npu::time_network(plan, mem, w.timing);
    const npu::RunSummary r = npu::summarise(*timed, plan, w.timing);
    const uint64_t row_index = index * w.devices.size() + c;
    const std::string point = id + "@" + s.name;
    json m = features;
    m["macs_per_cycle"] = s.arch.macs;
    m["cycles"] = r.cycles;
    m["latency_s"] = r.seconds;
    m["inferences_per_s"] = r.inferences_per_s;
    m["energy_J"] = r.energy;
    m["peak_sram_bytes"] = r.peak_sram_bytes;
    const uint64_t sram =
        dev.sram ? dev.sram->capacity() - std::min(dev.sram->capacity(), dev.sram->reserved()) : 0;
    m["fits_sram"] = r.peak_sram_bytes <= sram;
    m["flash_bytes"] = r.weight_stream_bytes;
    m["mac_utilisation"] = r.mac_utilisation;
    m["bound"] = r.bound;
    m["cpu_cycles"] = r.cpu_cycles;
    const json result = {
        {"point", point},
        {"index", row_index},
        {"status", "ok"},
        {"axes", {{"space", spec_.space}, {"network", id}, {"seed", seed}, {"config", s.name}}},
        {"arch", sample.arch},
        {"metrics", m}};
    out.results_jsonl += result.dump() + "\n";
    append_csv_line(out.results_csv, result, results_columns());
    ++out.results;
    for (size_t i = 0; i < timed->ops.size(); ++i) {
      const npu::Op& op = timed->ops[i];
      const npu::LayerPlan& lp = plan.layers[i];
      const npu::LayerTiming& lt = w.timing.layers[i];
      TextRow& row = w.layer_row;  // cells in layer_columns()'s order
      row.str(point).num(row_index).num(uint64_t{i}).str(op.name).str(npu::op_type_name(op.type));
      row.str(shape_cell(timed->tensors[static_cast<size_t>(op.inputs[0])]))
          .str(shape_cell(timed->tensors[static_cast<size_t>(op.output)]))
          .str(std::to_string(op.kh) + "x" + std::to_string(op.kw))
          .num(op.sh)
          .num(op.macs)
          .num(uint64_t{op.weights.size() + op.bias.size()})
          .boolean(op.on_cpu);
      row.str(lp.block_h ? std::to_string(lp.block_h) + "x" + std::to_string(lp.block_w) + "x" +
                               std::to_string(lp.block_c)
                         : "-")
          .num(uint64_t{lp.jobs.size()})
          .num(lt.cycles)
          .num(lt.compute_cycles)
          .num(lt.dma_cycles)
          .num(npu::layer_utilisation(lp, lt, s))
          .str(npu::layer_bound(op, lp, lt))
          .num(lp.weight_stream_bytes)
          .num(npu::layer_energy(lt));
      row.write(out.layers_jsonl, out.layers_csv);
      ++out.layers;
    }
  }
  return out;
}

// ---- Running, resuming, merging ----

namespace {

std::string lines_of(const std::vector<json>& v) {
  std::string s;
  for (const auto& r : v) s += r.dump() + "\n";
  return s;
}

/// On resume: keeps the rows of complete networks only (an interrupted write may have
/// left some of a network's rows), and their layers; rewrites the files when something
/// was dropped. Returns the complete networks' indices.
std::set<uint64_t> clean_for_resume(const std::string& out, size_t configs, uint64_t& dropped) {
  const std::string results_path = out + "/" + kResults, layers_path = out + "/" + kLayers;
  std::vector<json> results = read_rows(results_path, true, {"index"});
  std::map<std::string, size_t> per_network;
  for (const auto& r : results) ++per_network[network_of(r.at("point").get<std::string>())];
  std::set<uint64_t> done;
  std::vector<json> keep;
  for (auto& r : results) {
    if (per_network[network_of(r["point"].get<std::string>())] == configs) {
      done.insert(r.at("index").get<uint64_t>() / configs);
      keep.push_back(std::move(r));
    }
  }
  dropped = results.size() - keep.size();
  std::set<std::string> points;
  for (const auto& r : keep) points.insert(r["point"].get<std::string>());
  std::vector<json> layers = read_rows(layers_path, true, {"index", "layer"}), keep_layers;
  std::set<std::pair<std::string, uint64_t>> seen;
  for (auto& l : layers) {
    const std::string p = l.at("point").get<std::string>();
    if (points.count(p) && seen.insert({p, l.at("layer").get<uint64_t>()}).second)
      keep_layers.push_back(std::move(l));
  }
  if (keep.size() != results.size()) write_atomic(results_path, lines_of(keep));
  if (keep_layers.size() != layers.size()) write_atomic(layers_path, lines_of(keep_layers));
  // The CSVs follow the JSONL files (a CSV line may have been cut by the interruption).
  write_atomic(out + "/results.csv", dataset_csv(keep, results_columns(), true));
  write_atomic(out + "/layers.csv", dataset_csv(keep_layers, layer_columns(), true));
  return done;
}

}  // namespace

NpuDatasetSummary run_npu_dataset(const NpuDatasetSpec& spec, const NpuDatasetRun& run) {
  if (run.jobs == 0) throw InputError("npu-dataset: --jobs must be at least 1");
  const NpuDataset ds(spec);
  SweepManifest manifest;
  manifest.spec = kSpecPrefix + ds.identity().dump();
  manifest.sweep_id = point_id(ds.identity());
  manifest.points = spec.count * ds.configs();
  manifest.shard = run.shard;
  check_output_folder(run.out, manifest, run.resume);
  fs::create_directories(run.out);
  write_manifest(run.out, manifest);

  NpuDatasetSummary sum;
  std::set<uint64_t> done;
  const bool existing = fs::exists(run.out + "/" + kResults);
  if (existing) {
    done = clean_for_resume(run.out, ds.configs(), sum.dropped_rows);
  } else {
    write_atomic(run.out + "/results.csv", dataset_csv({}, results_columns(), true));
    write_atomic(run.out + "/layers.csv", dataset_csv({}, layer_columns(), true));
  }
  std::vector<uint64_t> todo;
  for (uint64_t i = 0; i < spec.count; ++i) {
    if (!run.shard.contains(i)) continue;
    ++sum.in_shard;
    if (done.count(i))
      ++sum.done_before;
    else
      todo.push_back(i);
  }
  spdlog::info(
      "npu-dataset: {} networks x {} configurations, shard {} has {}: {} already done, {} to make on {} "
      "threads",
      spec.count, ds.configs(), run.shard.str(), sum.in_shard, sum.done_before, todo.size(), run.jobs);

  // Workers make networks in any order, at most `ahead` past the last one written; this
  // thread writes them in index order, so the files are the same whatever the number of
  // threads. What is ready is written together and fsync'd once per file (group commit:
  // an fsync costs milliseconds, longer than making a small network), the layer files
  // before the results, so that a network whose results are complete has all its layers.
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  std::map<size_t, NetworkRows> ready;
  size_t written = 0;  // networks written (todo's first ones)
  const size_t ahead = 32 * static_cast<size_t>(run.jobs) + 32;
  std::exception_ptr error;
  size_t running = std::min<size_t>(run.jobs, todo.size());
  auto interrupted = [&] { return run.interrupted && *run.interrupted; };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < running; ++t) {
    threads.emplace_back([&] {
      try {
        auto w = ds.worker();
        for (size_t k; !stop && (k = next++) < todo.size();) {
          {
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [&] { return stop || k < written + ahead; });
          }
          if (stop) break;
          NetworkRows r = ds.rows(todo[k], *w);
          std::lock_guard<std::mutex> lock(mu);
          ready.emplace(k, std::move(r));
          cv.notify_all();
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        stop = true;
      }
      std::lock_guard<std::mutex> lock(mu);
      --running;
      cv.notify_all();
    });
  }
  const auto start = std::chrono::steady_clock::now();
  Progress progress("npu-dataset", todo.size(), run.progress);
  AppendFile layers_jsonl(run.out + "/" + kLayers), layers_csv(run.out + "/layers.csv"),
      results_jsonl(run.out + "/" + kResults), results_csv(run.out + "/results.csv");
  // Appends to two files and syncs them together (the fsyncs overlap).
  auto commit = [](AppendFile& a, const std::string& ta, AppendFile& b, const std::string& tb) {
    a.append(ta);
    b.append(tb);
    auto synced = std::async(std::launch::async, [&a] { a.sync(); });
    b.sync();
    synced.get();
  };
  auto stop_workers = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
      cv.notify_all();
    }
    for (auto& t : threads) t.join();
  };
  // One commit per kCommitEvery at most, unless half the networks the workers may run
  // ahead are waiting: each commit syncs four files, and the kernel's share of an fsync
  // (its CPU time, on a machine whose cores make the networks) is paid per commit.
  constexpr auto kCommitEvery = std::chrono::milliseconds(100);
  auto last_commit = std::chrono::steady_clock::now() - kCommitEvery;
  auto waiting = [&] {  // networks ready in order from the next to write
    size_t n = 0;
    while (ready.count(written + n)) ++n;
    return n;
  };
  std::string text[4];
  try {
    while (written < todo.size()) {
      size_t batch = 0;
      for (auto& t : text) t.clear();
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return ready.count(written) || running == 0 || error; });
        cv.wait_until(lock, last_commit + kCommitEvery,
                      [&] { return running == 0 || error || interrupted() || waiting() >= ahead / 2; });
        for (auto it = ready.find(written + batch); it != ready.end(); it = ready.find(written + batch)) {
          NetworkRows& r = it->second;
          text[0] += r.layers_jsonl;
          text[1] += r.layers_csv;
          text[2] += r.results_jsonl;
          text[3] += r.results_csv;
          ready.erase(it);
          ++batch;
        }
      }
      if (batch == 0) break;
      last_commit = std::chrono::steady_clock::now();
      commit(layers_jsonl, text[0], layers_csv, text[1]);
      commit(results_jsonl, text[2], results_csv, text[3]);
      {
        std::lock_guard<std::mutex> lock(mu);
        written += batch;
        cv.notify_all();
      }
      sum.made += batch;
      progress.update(sum.made);
      if (interrupted()) {
        sum.interrupted = true;
        break;
      }
    }
  } catch (...) {
    stop_workers();
    throw;
  }
  stop_workers();
  if (error) std::rethrow_exception(error);
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return sum;
}

bool is_npu_dataset(const std::string& dir) {
  const auto m = read_manifest(dir);
  return m && m->spec.rfind(kSpecPrefix, 0) == 0;
}

MergeSummary merge_npu_datasets(const std::vector<std::string>& dirs, const std::string& out) {
  for (const auto& d : dirs)
    if (fs::is_directory(d) && read_manifest(d) && !is_npu_dataset(d))
      throw InputError("npu-dataset merge: '" + d + "' holds a sweep, not an npu-dataset");
  // Everything is read and checked before anything is written: a damaged shard leaves no
  // half-merged --out behind. Layers: one record per (point, layer), in row order.
  const SweepMerge merge = read_sweep_merge(dirs, out);
  std::map<std::pair<uint64_t, uint64_t>, json> layers;
  for (const auto& d : dirs) {
    for (auto& l : read_rows(d + "/" + kLayers, false, {"index", "layer"})) {
      const auto key = std::make_pair(l.at("index").get<uint64_t>(), l.at("layer").get<uint64_t>());
      auto it = layers.find(key);
      if (it == layers.end()) {
        layers.emplace(key, std::move(l));
      } else if (it->second != l) {
        throw InputError("npu-dataset merge: conflicting layer " + std::to_string(key.second) + " of " +
                         l.at("point").get<std::string>() + " in '" + d + "'");
      }
    }
  }
  write_sweep_merge(merge, dirs, out);
  std::error_code ec;
  fs::remove(fs::path(out) / "points", ec);  // empty: a dataset has no per-point files
  std::vector<json> all;
  for (auto& [k, l] : layers) all.push_back(std::move(l));
  write_atomic(out + "/" + kLayers, lines_of(all));
  write_atomic(out + "/layers.csv", dataset_csv(all, layer_columns(), true));
  write_atomic(out + "/results.csv", dataset_csv(merge.records, results_columns(), true));
  return merge.summary;
}

}  // namespace edgesim::sim
