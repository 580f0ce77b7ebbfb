#pragma once
// One registry per kind of part (DRAM model, flash model, compute engine, cache
// replacement, sparsity policy, ...). Each implementation registers itself by name in its
// own source file with a static Registration object; a config section names the
// implementation and the registry validates the section against its declared parameters.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/config/params.hpp"

namespace edgesim {

/// What `edgesim describe` shows of one registered implementation or config section.
struct ComponentInfo {
  std::string name;
  std::string summary;
  const config::ParamTable* params;
};

/// Every kind (registries and plain config sections) with its components, for describe
/// and docs/config.md.
class Catalog {
 public:
  struct Kind {
    std::string name;         // "dram", "policy", ...
    std::string description;  // one line
    std::string config_path;  // where it lives in a config: "device.dram"
    std::function<std::vector<ComponentInfo>()> components;
  };
  static Catalog& instance();
  void add(Kind kind);
  const std::vector<Kind>& kinds() const { return kinds_; }
  const Kind* find(const std::string& name) const;

 private:
  std::vector<Kind> kinds_;
};

template <class Base>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Base>(const config::Params&)>;
  struct Entry {
    std::string name;
    std::string summary;
    const config::ParamTable* params;
    Factory make;
  };

  static Registry& instance() {
    static Registry registry;
    return registry;
  }

  void add(Entry entry) { entries_[entry.name] = std::move(entry); }

  const Entry& at(const std::string& name, const std::string& path) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::vector<std::string> names;
      for (const auto& [n, e] : entries_) names.push_back(n);
      std::string msg = "no " + std::string(Base::kKind) + " named '" + name + "'";
      const std::string s = config::suggest(name, names);
      if (!s.empty()) msg += "; did you mean '" + s + "'?";
      msg += " (registered: ";
      for (size_t i = 0; i < names.size(); ++i) msg += (i ? ", " : "") + names[i];
      config::fail_at(path, msg + ")");
    }
    return it->second;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [n, e] : entries_) out.push_back(n);
    return out;
  }

  std::vector<ComponentInfo> components() const {
    std::vector<ComponentInfo> out;
    for (const auto& [n, e] : entries_) out.push_back({e.name, e.summary, e.params});
    return out;
  }

 private:
  Registry() {
    Catalog::instance().add(
        {Base::kKind, Base::kKindDescription, Base::kConfigPath, [this] { return components(); }});
  }
  std::map<std::string, Entry> entries_;
};

/// Creates the implementation a config section names by its `selector` key (`fallback`
/// when the key is absent) through the registry of `Base`, validating the section against
/// the implementation's parameters; `resolved` receives the section with defaults filled.
template <class Base>
std::unique_ptr<Base> make_from(const nlohmann::json& sec, const std::string& path,
                                const std::string& selector, const std::string& fallback,
                                nlohmann::json& resolved) {
  if (!sec.is_object()) config::fail_at(path, "expected an object");
  std::string name = fallback;
  if (sec.contains(selector)) {
    if (!sec[selector].is_string())
      config::fail_at(path + "." + selector, "expected a string naming a " + std::string(Base::kKind));
    name = sec[selector].template get<std::string>();
  }
  const auto& entry = Registry<Base>::instance().at(name, path + "." + selector);
  config::Params p(*entry.params, sec, path, {{selector}});
  resolved = p.resolved();
  resolved[selector] = name;
  return entry.make(p);
}

/// A static object of this type in an implementation's .cpp file registers it.
template <class Base>
struct Registration {
  Registration(std::string name, std::string summary, const config::ParamTable& params,
               typename Registry<Base>::Factory make) {
    Registry<Base>::instance().add({std::move(name), std::move(summary), &params, std::move(make)});
  }
};

/// Registers a plain config section (no implementations to choose from) for describe.
struct SectionRegistration {
  SectionRegistration(std::string kind, std::string description, std::string config_path,
                      const config::ParamTable& params);
};

}  // namespace edgesim
