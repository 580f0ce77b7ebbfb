#pragma once
// Tensor-class patterns, as configs write them (weight_store.pinned, model.weight_formats,
// adapter targets, static pruning's classes). A tensor class is a dotted name such as
// "mlp.gate" or "attn.q"; the workload names tensors by class and the engine places them
// by pattern, so both sides match the same way.
#include <string>

namespace edgesim {

/// True when `pattern` matches tensor class `klass`: the pattern is "*", equal to the
/// class, a leading component path of it ("attn" matches "attn.q") or its trailing
/// component path ("norm" matches "mlp.norm").
bool pattern_matches(const std::string& pattern, const std::string& klass);

}  // namespace edgesim
