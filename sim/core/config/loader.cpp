#include "sim/core/config/loader.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/core/config/embedded.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/input_file.hpp"

namespace edgesim::config {
namespace fs = std::filesystem;

namespace {

bool is_builtin(const std::string& path) {
  return path.rfind(kBuiltinPrefix, 0) == 0;
}

std::string read_source(const std::string& path) {
  if (is_builtin(path)) {
    const std::string key = path.substr(std::string(kBuiltinPrefix).size());
    const auto& files = embedded_configs();
    auto it = files.find(key);
    if (it == files.end()) {
      std::string known;
      for (const auto& [k, v] : files) known += "\n  builtin:" + k;
      throw InputError("no built-in config '" + path + "'; built-in configs are:" + known);
    }
    return it->second;
  }
  return read_file(path);
}

std::string resolve_relative(const std::string& from, const std::string& target) {
  if (is_builtin(target) || fs::path(target).is_absolute()) return target;
  if (is_builtin(from)) {
    const std::string key = from.substr(std::string(kBuiltinPrefix).size());
    return kBuiltinPrefix + (fs::path(key).parent_path() / target).lexically_normal().string();
  }
  return (fs::path(from).parent_path() / target).lexically_normal().string();
}

// "sources" maps a dotted key of the same file to where its value comes from (a datasheet,
// a standard, a paper): citations beside the values. Each must name a value the file sets.
void check_sources(const json& doc, const std::string& path) {
  if (!doc.contains("sources")) return;
  const json& src = doc["sources"];
  if (!src.is_object()) throw InputError("config error in " + path + ": sources: expected an object");
  for (const auto& [key, cite] : src.items()) {
    if (!cite.is_string()) {
      throw InputError("config error in " + path + ": sources." + key + ": expected a string (the citation)");
    }
    if (!find_dotted(doc, key)) {
      throw InputError("config error in " + path + ": sources cites '" + key +
                       "', which this file does not set");
    }
  }
}

json load_recursive(const std::string& path, std::vector<std::string>& chain) {
  for (const auto& p : chain) {
    if (p == path) {
      std::string cycle;
      for (const auto& c : chain) cycle += c + " -> ";
      throw InputError("config error in " + path + ": 'extends' forms a cycle: " + cycle + path);
    }
  }
  chain.push_back(path);
  json doc = parse_json_text(read_source(path), path);
  if (!doc.is_object()) throw InputError("config error in " + path + ": the top level must be an object");
  check_sources(doc, path);
  doc.erase("sources");
  doc.erase("description");
  json merged = json::object();
  if (doc.contains("extends")) {
    json ext = doc["extends"];
    if (ext.is_string()) ext = json::array({ext});
    if (!ext.is_array()) {
      throw InputError("config error at " + path + ": extends: expected a path or a list of paths");
    }
    for (const auto& e : ext) {
      if (!e.is_string()) {
        throw InputError("config error at " + path + ": extends: expected a path or a list of paths");
      }
      merge_into(merged, load_recursive(resolve_relative(path, e.get<std::string>()), chain));
    }
    doc.erase("extends");
  }
  merge_into(merged, doc);
  chain.pop_back();
  return merged;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in = open_input_file(path);
  in.seekg(0, std::ios::end);
  // A regular file in one read into a string of its size; a stream of unknown size (a
  // pipe) through a string stream.
  const std::streamoff size = in.tellg();
  if (size >= 0 && in.seekg(0)) {
    std::string text(static_cast<size_t>(size), '\0');
    if (in.read(text.data(), size) && in.peek() == std::ifstream::traits_type::eof()) return text;
    in.clear();
    in.seekg(0);
  } else {
    in.clear();
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const json* find_dotted(const json& doc, const std::string& key) {
  const json* node = &doc;
  size_t start = 0;
  for (;;) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    // An index: digits only, few enough that stoul cannot overflow.
    const bool index =
        !part.empty() && part.size() <= 9 && part.find_first_not_of("0123456789") == std::string::npos;
    const size_t i = index ? std::stoul(part) : 0;
    if (node->is_array() && index && i < node->size()) {
      node = &(*node)[i];
    } else if (node->is_object() && node->contains(part)) {
      node = &(*node)[part];
    } else {
      return nullptr;
    }
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
}

json parse_json_text(const std::string& text, const std::string& origin) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    size_t line = 1, col = 1;
    const size_t upto = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (size_t i = 0; i < upto; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    const auto pos = what.find("parse error");
    if (pos != std::string::npos) what = what.substr(pos);
    throw InputError("malformed JSON in " + origin + " at line " + std::to_string(line) + ", column " +
                     std::to_string(col) + ": " + what);
  } catch (const json::out_of_range& e) {
    // A number beyond a double's range ("1e999"): nlohmann reports it without a position.
    std::string what = e.what();
    const auto pos = what.find("number overflow");
    if (pos != std::string::npos) what = what.substr(pos);
    throw InputError("malformed JSON in " + origin + ": " + what + " (beyond the range of a double)");
  }
}

void merge_into(json& base, const json& over) {
  if (!base.is_object() || !over.is_object()) {
    base = over;
    return;
  }
  // A section that selects another implementation replaces the inherited one: the old
  // model's parameters mean nothing to the new one.
  for (const char* selector : {"model"}) {
    if (base.contains(selector) && over.contains(selector) && base[selector].is_string() &&
        over[selector].is_string() && base[selector] != over[selector]) {
      base = over;
      return;
    }
  }
  for (const auto& [k, v] : over.items()) {
    if (base.contains(k) && base[k].is_object() && v.is_object()) {
      merge_into(base[k], v);
    } else {
      base[k] = v;
    }
  }
}

json load_config(const std::string& path) {
  std::vector<std::string> chain;
  json cfg = load_recursive(path, chain);
  // A results file reproduces its run: take the config it recorded.
  if (cfg.contains("schema") && cfg["schema"].is_string() &&
      cfg["schema"].get<std::string>().rfind("edgesim.results", 0) == 0) {
    if (!cfg.contains("config") || !cfg["config"].is_object()) {
      throw InputError("results file " + path + " holds no 'config' object");
    }
    return cfg["config"];
  }
  return cfg;
}

void apply_override(json& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw InputError("--set '" + assignment + "': expected KEY=VALUE, e.g. device.dram.channels=4");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  json value;
  try {
    value = json::parse(text);
  } catch (const json::exception&) {
    value = text;  // a bare word, a quantity such as 16 GiB, or a number beyond a double ("1e999")
  }
  json* node = &config;
  std::stringstream ss(key);
  std::string part;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) {
    if (part.empty()) throw InputError("--set '" + assignment + "': empty component in key '" + key + "'");
    parts.push_back(part);
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    json& next = (*node)[parts[i]];
    if (next.is_null()) next = json::object();
    if (!next.is_object()) {
      throw InputError("--set '" + assignment + "': '" + parts[i] + "' is not an object in the config");
    }
    node = &next;
  }
  (*node)[parts.back()] = value;
}

}  // namespace edgesim::config
