// Least recently used: evict the chunk whose last access is oldest.
#include "models/cache/list_order.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::cache {
namespace {
const config::ParamTable kParams = {{}};
const Registration<Replacement> kLru("lru", "Least recently used", kParams, [](const config::Params&) {
  return std::make_unique<ListOrder>(/*refresh_on_hit=*/true);
});
}  // namespace
}  // namespace edgesim::cache
