#pragma once
// A parameter is declared once, beside the model that reads it: key, kind of quantity,
// default, allowed range or choices, and a one-line description. Validation, defaults,
// `--set`, `edgesim describe` and docs/config.md all come from these declarations.
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/core/config/units.hpp"

namespace edgesim::config {

using json = nlohmann::json;

struct ParamDecl {
  std::string key;
  Quantity quantity;
  json default_value;  // null: the parameter is required
  std::string description;
  double min = -std::numeric_limits<double>::infinity();  // in base units, inclusive
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices = {};  // for strings: the allowed values, if restricted

  bool required() const { return default_value.is_null(); }
  std::string range_text() const;  // "[1, 64]", "> 0", "one of lru, lfu", or ""
};

/// The declarations of one config section (or one registered implementation).
struct ParamTable {
  std::vector<ParamDecl> params;
  const ParamDecl* find(const std::string& key) const;
};

/// Keys that a section accepts besides its declared parameters (e.g. the `model` key that
/// selects a registered implementation). They are kept in the resolved config as given.
struct SectionOptions {
  std::vector<std::string> extra_keys = {};
};

/// The validated values of one section: every declared key present, defaults filled in,
/// quantities converted to base units. Construction throws InputError naming the JSON path.
class Params {
 public:
  Params() = default;
  Params(const ParamTable& table, const json& section, const std::string& path,
         const SectionOptions& options = {});

  double number(const std::string& key) const;  // base units for quantities
  /// True when a quantity was given as one of its keywords (e.g. "auto") instead of a value.
  bool is_keyword(const std::string& key) const;
  long long integer(const std::string& key) const;
  bool flag(const std::string& key) const;
  const std::string& text(const std::string& key) const;
  std::vector<std::string> list(const std::string& key) const;

  /// The section as written, with defaults filled in: what results record.
  const json& resolved() const { return resolved_; }
  const std::string& path() const { return path_; }
  /// JSON path of a key, for errors raised by cross-parameter checks.
  std::string path_of(const std::string& key) const { return path_ + "." + key; }

 private:
  const json& value(const std::string& key) const;
  std::string path_;
  json resolved_ = json::object();
  std::map<std::string, double> numbers_;
};

/// The closest candidate by edit distance, or "" when nothing is close enough.
std::string suggest(const std::string& word, const std::vector<std::string>& candidates);

/// "config error at PATH: MESSAGE", thrown as InputError.
[[noreturn]] void fail_at(const std::string& path, const std::string& message);

}  // namespace edgesim::config
