// No compute time: for memory-only accounting, as the DIP paper's hardware simulator
// does (time per token = weight transfers; docs/reproduction/dip.md).
#include "models/compute/engine.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::compute {
namespace {

class NoCompute final : public Engine {
 public:
  explicit NoCompute(unsigned buffers) : buffers_(buffers) {}
  double op_time(double, Dtype) const override { return 0; }
  double op_energy(double) const override { return 0; }
  unsigned weight_buffers() const override { return buffers_; }

 private:
  unsigned buffers_;
};

using config::Quantity;
const config::ParamTable kParams = {{
    {"weight_buffers", Quantity::Integer, 1, "Op-sized weight buffers", 1, 64},
}};
const Registration<Engine> kRegistration("none", "No compute time or energy: memory transfers only", kParams,
                                         [](const config::Params& p) {
                                           return std::make_unique<NoCompute>(
                                               static_cast<unsigned>(p.integer("weight_buffers")));
                                         });

}  // namespace
}  // namespace edgesim::compute
