#pragma once
// A policy decides which chunks of each tensor an op needs at each step. Closed loop
// (`edgesim run`), it runs inside the simulation and may ask the weight cache what is
// resident; open loop, a recorded trace replaces it.
#include <cstdint>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "traces/model_layout.hpp"

namespace edgesim::traces {

/// What a cache-aware policy may ask of the weight store.
class ResidencyView {
 public:
  virtual ~ResidencyView() = default;
  virtual bool resident(uint32_t global_chunk) const = 0;
};

struct PolicyContext {
  const ModelLayout& layout;
  const ResidencyView& cache;
  uint64_t step;         // index of the step in the run
  StepInfo info;         // position and token id
  std::mt19937_64& rng;  // seeded from run.seed; the only source of randomness
};

class Policy {
 public:
  static constexpr const char* kKind = "policy";
  static constexpr const char* kKindDescription =
      "Activation-sparsity / routing policy: which chunks each op reads each step";
  static constexpr const char* kConfigPath = "policy";

  virtual ~Policy() = default;
  /// True when the policy's choices depend on the cache's contents.
  virtual bool cache_aware() const { return false; }
  /// True when the op's chunk set depends on its input activations, so its weights can
  /// only be fetched once the previous op has computed.
  virtual bool needs_input(const OpSpec& op) const = 0;
  /// Fills one chunk set per tensor of `op` (sets has op.tensors.size() entries).
  virtual void select(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets) = 0;
  /// The chunks `op` reads in a pass over `ctx.info.tokens` tokens at once (a prefill
  /// chunk, a speculative verification). By default every chunk (select_dense_pass): the
  /// union of many tokens' sparse choices is close to dense, and DIP's paper runs the
  /// prompt dense; a policy whose choice does not depend on the input overrides it.
  virtual void select_pass(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets);
  /// One line saying what the policy does in such a pass (docs/decoding.md).
  virtual const char* pass_behaviour() const { return "dense: every chunk of every tensor"; }
  /// DRAM bytes an op reads beyond its weights and KV cache under this policy (a neuron
  /// predictor's own weights), and the FLOPs that costs.
  virtual uint64_t extra_read_bytes(const OpSpec& /*op*/) const { return 0; }
  virtual uint64_t extra_flops(const OpSpec& /*op*/) const { return 0; }
  /// Bytes one chunk of `t` takes in storage under this policy (`dense`: as laid out);
  /// static pruning stores pruned weights sparse.
  virtual uint64_t stored_chunk_bytes(const Tensor& t, Dtype /*weight_dtype*/) const { return t.chunk_bytes; }
  /// Checks the policy's inputs against the model (e.g. captured activations' shapes);
  /// throws InputError naming the config key.
  virtual void check(const ModelLayout& /*layout*/) const {}
  /// What the policy measured over the run (e.g. its accuracy proxy), for the results'
  /// metrics; null when it has nothing to say.
  virtual nlohmann::json metrics() const { return nullptr; }
  /// Global ids of the chunks this policy expects to read most, `per_tensor` of each
  /// tensor it chooses chunks of, found by profiling its inputs (what
  /// weight_store.pinned_experts pins); empty when it has no such notion.
  virtual std::vector<uint32_t> hot_chunks(const ModelLayout& /*layout*/, uint32_t /*per_tensor*/) const {
    return {};
  }
  /// Where metrics() goes in the results' metrics ("sparsity", "routing").
  virtual const char* metrics_key() const { return "sparsity"; }
};

/// The dense choice: every chunk of every tensor, and the current token's row of an
/// embedding table. Sparsity policies use it for the ops they leave dense.
void select_dense(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets);
/// The dense choice for a pass over ctx.info.tokens tokens: the embedding table at each
/// token's row (ids drawn from ctx.rng after the first) or position.
void select_dense_pass(const PolicyContext& ctx, const OpSpec& op, std::vector<ChunkSet>& sets);

}  // namespace edgesim::traces
