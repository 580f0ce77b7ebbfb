#include "sim/core/config/params.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "sim/core/errors.hpp"

namespace edgesim::config {

void fail_at(const std::string& path, const std::string& message) {
  throw InputError("config error at " + path + ": " + message);
}

std::string ParamDecl::range_text() const {
  if (!choices.empty() && (quantity == Quantity::String || quantity == Quantity::StringList)) {
    std::string out = "one of ";
    for (size_t i = 0; i < choices.size(); ++i) out += (i ? ", " : "") + choices[i];
    return out;
  }
  const bool has_min = std::isfinite(min), has_max = std::isfinite(max);
  auto fmt = [&](double v) {
    // An integer's bound in full (1048576, not %g's 1.04858e+06): the limit is exact.
    if (quantity == Quantity::Integer && v == std::floor(v) && std::fabs(v) < 0x1p53) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.0f", v);
      return std::string(buf);
    }
    return quantity == Quantity::Real ? format_quantity(v, Quantity::Real) : format_quantity(v, quantity);
  };
  std::string out;
  if (has_min && has_max)
    out = "[" + fmt(min) + ", " + fmt(max) + "]";
  else if (has_min)
    out = ">= " + fmt(min);
  else if (has_max)
    out = "<= " + fmt(max);
  for (const auto& c : choices) out += (out.empty() ? "" : " or ") + std::string("\"") + c + "\"";
  return out;
}

const ParamDecl* ParamTable::find(const std::string& key) const {
  for (const auto& p : params) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string type_name(const json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

// Checks the JSON type and converts to base units. Returns NaN for non-numeric kinds.
double convert(const ParamDecl& decl, const json& v, const std::string& path) {
  auto wrong = [&](const std::string& expected) {
    fail_at(path, "expected " + expected + ", got " + type_name(v) + " (" + v.dump() + ")");
  };
  switch (decl.quantity) {
    case Quantity::Integer:
      if (!v.is_number_integer() && !v.is_number_unsigned()) wrong("an integer");
      return v.get<double>();
    case Quantity::Real:
      if (!v.is_number()) wrong("a number");
      return v.get<double>();
    case Quantity::Boolean:
      if (!v.is_boolean()) wrong("true or false");
      return std::nan("");
    case Quantity::String:
      if (!v.is_string()) wrong("a string");
      if (!decl.choices.empty() &&
          std::find(decl.choices.begin(), decl.choices.end(), v.get<std::string>()) == decl.choices.end()) {
        std::string msg = "'" + v.get<std::string>() + "' is not " + decl.range_text();
        const std::string s = suggest(v.get<std::string>(), decl.choices);
        if (!s.empty()) msg += "; did you mean '" + s + "'?";
        fail_at(path, msg);
      }
      return std::nan("");
    case Quantity::StringList:
      if (!v.is_array()) wrong("a list of strings");
      for (const auto& e : v) {
        if (!e.is_string()) wrong("a list of strings");
      }
      return std::nan("");
    default:
      // A quantity with a unit: a string such as "16 GiB", or a bare number in base units,
      // or one of the declared keywords (e.g. "auto").
      if (v.is_number()) return v.get<double>();
      if (v.is_string() &&
          std::find(decl.choices.begin(), decl.choices.end(), v.get<std::string>()) != decl.choices.end()) {
        return std::nan("");
      }
      if (!v.is_string()) {
        wrong(std::string("a ") + std::string(quantity_name(decl.quantity)) + " such as " +
              std::string(quantity_example(decl.quantity)));
      }
      return parse_quantity(v.get<std::string>(), decl.quantity, path);
  }
}

}  // namespace

std::string suggest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

Params::Params(const ParamTable& table, const json& section, const std::string& path,
               const SectionOptions& options)
    : path_(path) {
  if (!section.is_null() && !section.is_object()) {
    fail_at(path, "expected an object, got " + type_name(section));
  }
  std::vector<std::string> known;
  for (const auto& p : table.params) known.push_back(p.key);
  for (const auto& k : options.extra_keys) known.push_back(k);
  if (section.is_object()) {
    for (const auto& [key, v] : section.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string msg = "unknown key '" + key + "'";
        const std::string s = suggest(key, known);
        if (!s.empty()) {
          msg += "; did you mean '" + s + "'?";
        } else {
          msg += " (known keys: ";
          for (size_t i = 0; i < known.size(); ++i) msg += (i ? ", " : "") + known[i];
          msg += ")";
        }
        fail_at(path + "." + key, msg);
      }
      if (std::find(options.extra_keys.begin(), options.extra_keys.end(), key) != options.extra_keys.end()) {
        resolved_[key] = v;
      }
    }
  }
  for (const auto& decl : table.params) {
    const std::string key_path = path + "." + decl.key;
    const bool given = section.is_object() && section.contains(decl.key);
    if (!given && decl.required()) fail_at(key_path, "missing required key (" + decl.description + ")");
    const json& v = given ? section.at(decl.key) : decl.default_value;
    const double base = convert(decl, v, key_path);
    if (!std::isnan(base)) {
      if (base < decl.min || base > decl.max) {
        fail_at(key_path, v.dump() + " is out of range: allowed " + decl.range_text());
      }
      numbers_[decl.key] = base;
    }
    resolved_[decl.key] = v;
  }
}

const json& Params::value(const std::string& key) const {
  auto it = resolved_.find(key);
  if (it == resolved_.end()) throw SimError("internal: parameter " + path_of(key) + " was never declared");
  return *it;
}

double Params::number(const std::string& key) const {
  auto it = numbers_.find(key);
  if (it == numbers_.end()) throw SimError("internal: parameter " + path_of(key) + " is not numeric");
  return it->second;
}

bool Params::is_keyword(const std::string& key) const {
  return numbers_.find(key) == numbers_.end() && value(key).is_string();
}

long long Params::integer(const std::string& key) const {
  return static_cast<long long>(number(key));
}

bool Params::flag(const std::string& key) const {
  return value(key).get<bool>();
}

const std::string& Params::text(const std::string& key) const {
  return value(key).get_ref<const std::string&>();
}

std::vector<std::string> Params::list(const std::string& key) const {
  return value(key).get<std::vector<std::string>>();
}

}  // namespace edgesim::config
