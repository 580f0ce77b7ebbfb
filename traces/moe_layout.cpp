// A routed layer's MLP as tensors and ops (traces/moe.hpp): kept out of model_layout.cpp
// so that the dense layout reads on its own.
#include "traces/model_layout.hpp"

namespace edgesim::traces {

void ModelLayout::add_moe_mlp(const std::string& pre, int li, Dtype w, bool with_norm) {
  // Gate, up and down of a gated expert; fc1 and fc2 of a plain one.
  const uint64_t matrices = gated_mlp() ? 3 : 2;
  // Router, and shared experts: read every token, before the routed experts are known.
  OpSpec router{pre + "moe_router", OpKind::Linear, li, {}};
  if (with_norm) router.tensors.push_back(add_norm(pre + "mlp.norm", "mlp.norm", li, hidden_));
  router.tensors.push_back(
      add_tensor(pre + "moe.router", "moe.router", TensorKind::Linear, li, moe_.experts, hidden_, w, true));
  if (moe_.shared > 0) {
    // One chunk per shared expert: gate, up and down of its shared_inter neurons.
    router.tensors.push_back(add_tensor(pre + "moe.shared", "moe.shared", TensorKind::Linear, li, moe_.shared,
                                        matrices * hidden_ * moe_.shared_inter, w, false, true));
    if (moe_.shared_gate) {
      // Qwen2-MoE scales the shared experts' output by a sigmoid of one more projection.
      router.tensors.push_back(add_tensor(pre + "moe.shared.gate", "moe.shared.gate", TensorKind::Linear, li,
                                          1, hidden_, w, true));
    }
  }
  ops_.push_back(router);
  // Routed experts: chunk i is expert i (gate, up and down), the unit of the expert cache.
  OpSpec experts{pre + "moe_experts", OpKind::Linear, li, {}};
  experts.tensors.push_back(add_tensor(pre + "moe.experts", "moe.experts", TensorKind::Linear, li,
                                       moe_.experts, matrices * hidden_ * moe_.expert_inter, w, false, true));
  ops_.push_back(experts);
}

}  // namespace edgesim::traces
