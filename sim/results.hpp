#pragma once
// Results of a run: a JSON document with the schema version, edgesim's version, the seed,
// the full resolved config (a result reproduces itself: `edgesim run --config
// results.json`), the metrics and the statistics tree; a one-row CSV of the metrics; a
// table for the terminal. Files are written atomically (temporary file, then rename).
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace edgesim::sim {

constexpr const char* kResultsSchema = "edgesim.results/1";

nlohmann::json make_results(const nlohmann::json& config, const nlohmann::json& metrics,
                            const nlohmann::json& stats, const nlohmann::json& run_info);

/// Writes `content` to `path` atomically: a reader sees the old file or the whole new one.
void write_atomic(const std::string& path, const std::string& content);

/// Flattens nested metrics into dotted names ("token_latency_s.p50"). With
/// `named_arrays`, an array whose elements are objects with distinct string "name"s is
/// flattened by name too ("layers.conv1.cycles"); other arrays stay whole values.
nlohmann::json flatten_metrics(const nlohmann::json& metrics, bool named_arrays = false);
/// One CSV cell: strings bare, null empty, anything else as JSON; quoted (RFC 4180) when
/// it holds a comma, a quote or a line break.
std::string csv_cell(const nlohmann::json& v);
/// Appends the cell of a text (a string value) to `out`, quoted as csv_cell quotes it.
void append_csv_cell(std::string& out, std::string_view text);
std::string results_csv(const nlohmann::json& results);
std::string results_table(const nlohmann::json& results);

}  // namespace edgesim::sim
