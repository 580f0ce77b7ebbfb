#pragma once
// Which ops Ethos-U55 runs and which it leaves to the host CPU, as Arm's Vela compiler
// decides: the operator list and constraints of Vela 3.10's SUPPORTED_OPS.md (TFLite
// generic and per-operator constraints for U55). An op outside the list, or one whose
// parameters break a constraint, runs on the CPU; the reason names the constraint.
#include <string>

#include "models/npu/network.hpp"

namespace edgesim::npu {

struct Placement {
  bool npu = true;
  std::string reason;  // why not, when the op runs on the CPU
};

/// Where `op` of `net` runs.
Placement placement(const Network& net, const Op& op);

}  // namespace edgesim::npu
