// First in, first out: evict the chunk inserted longest ago; hits change nothing.
#include "models/cache/list_order.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::cache {
namespace {
const config::ParamTable kParams = {{}};
const Registration<Replacement> kFifo("fifo", "First in, first out", kParams, [](const config::Params&) {
  return std::make_unique<ListOrder>(/*refresh_on_hit=*/false);
});
}  // namespace
}  // namespace edgesim::cache
