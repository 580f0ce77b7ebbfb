#include "sim/core/registry.hpp"

namespace edgesim {

Catalog& Catalog::instance() {
  static Catalog catalog;
  return catalog;
}

void Catalog::add(Kind kind) {
  for (auto& k : kinds_) {
    if (k.name == kind.name) {
      k = std::move(kind);
      return;
    }
  }
  kinds_.push_back(std::move(kind));
}

const Catalog::Kind* Catalog::find(const std::string& name) const {
  for (const auto& k : kinds_) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

SectionRegistration::SectionRegistration(std::string kind, std::string description, std::string config_path,
                                         const config::ParamTable& params) {
  const std::string name = kind;
  const std::string summary = description;
  const config::ParamTable* table = &params;
  Catalog::instance().add(
      {std::move(kind), std::move(description), std::move(config_path), [name, summary, table] {
         return std::vector<ComponentInfo>{{name, summary, table}};
       }});
}

}  // namespace edgesim
