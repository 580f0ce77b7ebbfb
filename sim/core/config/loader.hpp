#pragma once
// Reading config files: JSON with `extends` (a path or a list of paths, relative to the
// file, resolved depth first, later files winning) and command-line overrides.
// "builtin:PATH" names a preset compiled into the binary (PATH relative to configs/).
// Two top-level keys are documentation and are dropped on loading: "description" (one
// line) and "sources" (dotted key -> citation of where that value comes from; each key
// must name a value the same file sets, an array's element by its index: find_dotted()).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgesim::config {

using json = nlohmann::json;

constexpr const char* kBuiltinPrefix = "builtin:";
constexpr const char* kDefaultExperiment = "builtin:experiments/default.json";

/// Loads a config file and everything it extends, merged. A results file written by
/// edgesim is accepted too: its recorded config is returned.
json load_config(const std::string& path);

/// The value a dotted key names in `doc` ("a.b" an object's member, "a.0" an array's
/// element; an index is 1 to 9 digits), or null where it names none. A "sources" key
/// (in configs and DRAM part files) must name a value this way.
const json* find_dotted(const json& doc, const std::string& key);

/// Applies "a.b.c=value" (value parsed as JSON when it parses, else taken as a string).
void apply_override(json& config, const std::string& assignment);

/// Recursively merges `over` into `base` (objects merge, anything else replaces; an
/// object whose "model" differs from the inherited one replaces it whole).
void merge_into(json& base, const json& over);

/// Parses JSON text, reporting errors with the file name, line and column.
json parse_json_text(const std::string& text, const std::string& origin);

/// Reads a whole file; throws InputError naming the path when it cannot.
std::string read_file(const std::string& path);

}  // namespace edgesim::config
