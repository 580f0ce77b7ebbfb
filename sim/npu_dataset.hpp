#pragma once
// NPU design-space datasets (`edgesim npu-dataset`, docs/npu-dataset.md): networks drawn
// from a search space (models/npu/spaces/), each timed on every NPU configuration asked
// for (the planner and the plain C++ schedule, no SystemC), one row per (network,
// configuration) with the network's id and seed, its graph features and the annotations,
// and one row per layer in a second file.
//
// The output folder is a sweep's (sweep_output.hpp), so shards merge and runs resume
// the same way:
//   sweep.json     the dataset's identity (space, options, count, seed, configurations)
//                  and which shard of it the folder holds
//   results.jsonl  one record per (network, configuration): point, index, status, axes
//                  (space, network, seed, config), arch (the choices), metrics
//   results.csv    the same, one row each, columns as results_columns()
//   layers.jsonl   one record per layer of each row; layers.csv likewise (layer_columns())
// Networks' rows (all configurations, layers first) are appended with one write per
// file and fsync'd before they count as made (the networks ready together share the
// fsyncs), so an interrupted run leaves whole networks and, at worst, the partial rows
// of the networks it was writing; --resume drops those and goes on.
#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/sweep.hpp"
#include "sim/sweep_output.hpp"

namespace edgesim::sim {

struct NpuDatasetSpec {
  std::string space;
  uint64_t count = 0;
  uint64_t seed = 0;
  /// NPU configurations: a MAC count (32, 64, 128, 256: builtin:npu/ethos-u55-N.json)
  /// or a device config file.
  std::vector<std::string> configs = {"32", "64", "128", "256"};
  nlohmann::json options = nlohmann::json::object();  // {SPACE: {KEY: value}} (--set)
};

/// The columns of results.csv and layers.csv, in order.
const std::vector<std::string>& results_columns();
const std::vector<std::string>& layer_columns();

/// The rows of one network, as the files take them: one per configuration in results,
/// one per layer per configuration in layers, each as JSON lines and CSV lines.
struct NetworkRows {
  size_t results = 0, layers = 0;
  std::string results_jsonl, results_csv;
  std::string layers_jsonl, layers_csv;
};

/// A dataset: its space and devices, validated (InputError on a bad space, option,
/// range or configuration).
class NpuDataset {
 public:
  explicit NpuDataset(const NpuDatasetSpec& spec);
  ~NpuDataset();
  NpuDataset(const NpuDataset&) = delete;
  NpuDataset& operator=(const NpuDataset&) = delete;

  /// What identifies the dataset: space, resolved options, count, seed, configurations.
  const nlohmann::json& identity() const { return identity_; }
  size_t configs() const { return config_paths_.size(); }
  uint64_t count() const { return spec_.count; }

  /// Network `index`'s rows. Safe to call from several threads, each with its own `Worker`.
  struct Worker;  // a thread's devices and timing buffers
  struct WorkerDelete {
    void operator()(Worker* w) const;
  };
  using WorkerPtr = std::unique_ptr<Worker, WorkerDelete>;
  WorkerPtr worker() const;
  NetworkRows rows(uint64_t index, Worker& w) const;

 private:
  NpuDatasetSpec spec_;
  std::vector<std::string> config_paths_;
  nlohmann::json identity_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct NpuDatasetRun {
  std::string out = "npu-dataset-out";
  Shard shard;
  bool resume = false;
  unsigned jobs = 1;
  bool progress = true;
  const volatile std::sig_atomic_t* interrupted = nullptr;
};

struct NpuDatasetSummary {
  uint64_t in_shard = 0;      // networks of the shard
  uint64_t done_before = 0;   // ... already complete in the folder
  uint64_t made = 0;          // ... made now
  uint64_t dropped_rows = 0;  // partial rows of an interrupted network, dropped on resume
  double seconds = 0;
  bool interrupted = false;
};

/// Makes the networks of `run.shard` that the folder does not hold yet.
NpuDatasetSummary run_npu_dataset(const NpuDatasetSpec& spec, const NpuDatasetRun& run);

/// True when `dir` holds an npu-dataset's output (its sweep.json says so).
bool is_npu_dataset(const std::string& dir);

/// Joins the folders of a dataset's shards into `out` (merge_sweeps for the rows, then
/// the layers, deduplicated, and both CSVs).
MergeSummary merge_npu_datasets(const std::vector<std::string>& dirs, const std::string& out);

/// The CSV of records (results or layers) with `columns`: a column is a key of the
/// record, of its "axes" or of its "metrics"; objects are written as JSON.
std::string dataset_csv(const std::vector<nlohmann::json>& records, const std::vector<std::string>& columns,
                        bool header);

}  // namespace edgesim::sim
