#pragma once
// A sweep's output folder, and merging the folders of a sweep's shards into one:
//   sweep.json      which sweep it holds: the sweep's id, its spec, how many distinct
//                   points it has, and which shard of it this folder ran
//   results.jsonl   one JSON line per finished point: point (id), index (its place in the
//                   sweep), axes, status ("ok" with metrics, or "failed" with exit_code
//                   and error)
//   results.csv     point, status, axes and flattened metrics of each point, in sweep order
//   points/ID.json  the resolved config of each point run; ID.out, ID.err its stdout, stderr
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/sweep.hpp"

namespace edgesim::sim {

constexpr const char* kSweepSchema = "edgesim.sweep/1";

struct SweepManifest {
  std::string sweep_id;
  std::string spec;
  uint64_t points = 0;  // distinct points of the whole sweep
  Shard shard;
  nlohmann::json merged_from = nlohmann::json::array();  // folders `sweep merge` joined here
  nlohmann::json to_json() const;
};

/// Reads DIR/sweep.json; no value when the folder has none. Throws InputError when it is
/// not a sweep manifest.
std::optional<SweepManifest> read_manifest(const std::string& dir);
void write_manifest(const std::string& dir, const SweepManifest& manifest);

/// Appends one record as one line with a single write, then fsyncs: a reader (or a
/// resumed sweep) sees whole lines only, whatever interrupts the writer.
void append_record(const std::string& path, const nlohmann::json& record);
/// Appends `text` (whole lines) with a single write, then fsyncs.
void append_lines(const std::string& path, const std::string& text);

/// A file held open for appending (a dataset's row files, written many times a second):
/// append() writes whole lines with a single write, sync() makes what was appended
/// durable. Errors throw, naming the file.
class AppendFile {
 public:
  explicit AppendFile(const std::string& path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  void append(const std::string& text);
  void sync();

 private:
  std::string path_;
  int fd_ = -1;
};

/// Refuses an output folder that holds another sweep, or another shard of this one, or
/// (without `resume`) results already.
void check_output_folder(const std::string& out, const SweepManifest& want, bool resume);

/// Reads the records of a results.jsonl (none when it does not exist). A partial last
/// line, left by an interrupted write, is dropped, and with `repair` cut from the file.
std::vector<nlohmann::json> read_records(const std::string& path, bool repair);
/// The same for any file of JSON objects, one a line (InputError naming the line otherwise).
std::vector<nlohmann::json> read_json_lines(const std::string& path, bool repair);

/// The CSV of a sweep: point, status, every axis, every metric (flattened), one row per
/// point (its ok record, else its last failed one), in sweep order.
std::string records_csv(std::vector<nlohmann::json> records);

struct MergeSummary {
  std::string spec;                      // the sweep's spec, as its shards were run with
  uint64_t points = 0;                   // distinct points of the sweep
  uint64_t merged = 0;                   // distinct points with a record in the merged folder
  uint64_t failed = 0;                   // ... of which failed
  uint64_t duplicates = 0;               // records dropped as repeats of a point
  uint64_t shards = 0;                   // N, when every folder is a shard of the same N
  std::vector<uint64_t> missing_shards;  // ... and these shards have no folder
};

/// Joins the output folders of a sweep's shards into `out`: results deduplicated by point
/// (a point's ok result wins over a failed attempt), points/ copied, results.csv rebuilt.
/// Throws InputError when a folder is not a sweep's, when the folders hold different
/// sweeps, when two ok results of one point differ, or when `out` already holds results.
MergeSummary merge_sweeps(const std::vector<std::string>& dirs, const std::string& out);

/// merge_sweeps in two steps, for mergers that check files of their own in between
/// (npu-dataset's layers) and must write nothing when one is bad: every check and read,
/// then the writing.
struct SweepMerge {
  MergeSummary summary;
  std::vector<nlohmann::json> records;  // one per point, in sweep order
  SweepManifest manifest;               // the merged folder's
};
SweepMerge read_sweep_merge(const std::vector<std::string>& dirs, const std::string& out);
void write_sweep_merge(const SweepMerge& merge, const std::vector<std::string>& dirs, const std::string& out);

}  // namespace edgesim::sim
