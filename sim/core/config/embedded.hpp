#pragma once
#include <map>
#include <string>

namespace edgesim::config {
/// The JSON files of configs/, compiled in, keyed by path relative to configs/.
const std::map<std::string, std::string>& embedded_configs();
}  // namespace edgesim::config
