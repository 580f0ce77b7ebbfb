#pragma once
// Sweeps: a spec names a base experiment and axes over config keys; every point is a
// full experiment, run in its own child process (SystemC elaborates once per process).
//
//   {"base": "builtin:experiments/tiny.json" | {config...},
//    "grid": {"KEY": [values] | {"range": [first, last, step]}, ...},   product of axes
//    "zip":  {"KEY": [values], "KEY2": [values]},                        iterated together
//    "skip": [{"KEY": value, ...}, ...]}                                 skip points matching all pairs
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgesim::sim {

struct SweepPoint {
  nlohmann::json axes;    // KEY -> value of this point
  nlohmann::json config;  // base with the axes applied (not yet validated)
};

/// The most points a sweep may have (the product of its axes, skipped points included),
/// and the most values of one range axis: each point holds a full copy of the base
/// config, so a spec claiming more is refused before any point is built
/// (docs/fuzzing.md, limits on hostile sizes).
constexpr size_t kMaxSweepPoints = 100'000;

/// Expands a spec into its points, in a deterministic order. Throws InputError naming the
/// spec path on a malformed spec, or on one of more than `max_points` points.
std::vector<SweepPoint> expand_sweep(const nlohmann::json& spec, const std::string& spec_path,
                                     size_t max_points = kMaxSweepPoints);

/// Identity of a point: FNV-1a of its resolved config, as 16 hex digits.
std::string point_id(const nlohmann::json& resolved_config);

/// Identity of a sweep: FNV-1a of its points' ids in order. Shards of one sweep share it,
/// and `sweep merge` refuses output folders that do not.
std::string sweep_id(const std::vector<std::string>& point_ids);

/// A slice of a sweep for one machine: the points whose index in the sweep's list of
/// distinct points is `index` modulo `count` (index is 0-based).
struct Shard {
  uint64_t index = 0, count = 1;
  bool contains(uint64_t point_index) const { return point_index % count == index; }
  std::string str() const { return std::to_string(index) + "/" + std::to_string(count); }
};

/// Parses "K/N" (0 <= K < N). Throws InputError naming `where` otherwise.
Shard parse_shard(const std::string& text, const std::string& where);

/// The shard of a Slurm job-array task, from SLURM_ARRAY_TASK_ID and
/// SLURM_ARRAY_TASK_COUNT: K = (ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP (MIN 0
/// and STEP 1 when unset), so `--array=1-8` and `--array=0-14:2` both give shards 0..7.
/// No value when the two variables are not both set. `getenv` is a parameter for tests.
std::optional<Shard> shard_from_slurm(const std::function<const char*(const char*)>& getenv);

/// The shard to run: `option` ("K/N", parsed as parse_shard names `where`) when given,
/// else the Slurm job array's task (logged), else the whole run.
Shard choose_shard(const std::string& option, const std::string& where);

}  // namespace edgesim::sim
