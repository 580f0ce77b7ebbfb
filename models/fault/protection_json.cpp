#include "models/fault/protection_json.hpp"

#include <cmath>

#include "sim/core/config/params.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/json_count.hpp"

namespace edgesim::fault {

using json = nlohmann::json;

JsonReader::JsonReader(const json& j, std::string origin, std::string path)
    : j_(&j), origin_(std::move(origin)), path_(std::move(path)) {
  if (!j.is_object())
    throw InputError(origin_ + ": " + (path_.empty() ? "the file" : path_) + ": expected an object");
}

std::string JsonReader::path_of(const std::string& key) const {
  if (key.empty()) return path_.empty() ? "(root)" : path_;
  return path_.empty() ? key : path_ + "." + key;
}

void JsonReader::fail(const std::string& key, const std::string& message) const {
  throw InputError(origin_ + ": " + path_of(key) + ": " + message);
}

bool JsonReader::has(const std::string& key) const {
  return j_->contains(key);
}

std::vector<std::string> JsonReader::keys() const {
  std::vector<std::string> k;
  for (auto it = j_->begin(); it != j_->end(); ++it) k.push_back(it.key());
  return k;
}

const json& JsonReader::at(const std::string& key) const {
  const auto it = j_->find(key);
  if (it == j_->end()) {
    const std::string near = config::suggest(key, keys());
    fail(key, "missing" + (near.empty() ? std::string() : " (found '" + near + "': misspelt?)"));
  }
  return *it;
}

std::string JsonReader::string(const std::string& key) const {
  const json& v = at(key);
  if (!v.is_string()) fail(key, "expected a string, got " + v.dump());
  return v.get<std::string>();
}

std::string JsonReader::choice(const std::string& key, const std::vector<std::string>& allowed) const {
  const std::string s = string(key);
  std::string list;
  for (const auto& a : allowed) {
    if (a == s) return s;
    list += (list.empty() ? "" : ", ") + a;
  }
  fail(key, "'" + s + "': expected one of " + list);
}

uint64_t JsonReader::count(const std::string& key) const {
  const json& v = at(key);
  if (!json_is_count(v)) fail(key, "expected a non-negative integer, got " + v.dump());
  return v.get<uint64_t>();
}

double JsonReader::number(const std::string& key, double min, bool exclusive) const {
  const json& v = at(key);
  if (!v.is_number()) fail(key, "expected a number, got " + v.dump());
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < min || (exclusive && x == min))
    fail(key, v.dump() + ": expected a number " + (exclusive ? "> " : ">= ") + json(min).dump());
  return x;
}

double JsonReader::fraction(const std::string& key) const {
  const double x = number(key, 0);
  if (x > 1) fail(key, json(x).dump() + ": expected a number in [0, 1]");
  return x;
}

bool JsonReader::boolean(const std::string& key) const {
  const json& v = at(key);
  if (!v.is_boolean()) fail(key, "expected true or false, got " + v.dump());
  return v.get<bool>();
}

JsonReader JsonReader::object(const std::string& key) const {
  const json& v = at(key);
  if (!v.is_object()) fail(key, "expected an object, got " + v.dump());
  return JsonReader(v, origin_, path_of(key));
}

std::vector<JsonReader> JsonReader::array(const std::string& key) const {
  const json& v = at(key);
  if (!v.is_array()) fail(key, "expected an array");
  std::vector<JsonReader> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = path_of(key) + "[" + std::to_string(i) + "]";
    if (!v[i].is_object()) throw InputError(origin_ + ": " + p + ": expected an object");
    out.emplace_back(v[i], origin_, p);
  }
  return out;
}

void JsonReader::only(const std::vector<std::string>& allowed) const {
  for (const auto& k : keys()) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == k;
    if (ok) continue;
    const std::string near = config::suggest(k, allowed);
    fail(k, "unknown key" + (near.empty() ? std::string() : " (did you mean '" + near + "'?)"));
  }
}

}  // namespace edgesim::fault
