// Activation-sparsity policies end to end: cache-aware masking raises the weight cache's
// hit rate over plain DIP at the same sparsity; results carry the accuracy proxy; bad
// policy parameters exit 2 naming the key.
#include <catch2/catch.hpp>

#include "tests/integration/run_cli.hpp"

using namespace edgesim::cli_test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {
json run_tiny(const std::string& policy, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a = {"run",
                                "-c",
                                "builtin:experiments/tiny.json",
                                "--set",
                                "policy.name=" + policy,
                                "--set",
                                "weight_store.cache_capacity=20 KiB",
                                "--set",
                                "weight_store.cache_partition=per_tensor",
                                "--set",
                                "run.tokens=16",
                                "--format",
                                "json",
                                "--no-progress"};
  a.insert(a.end(), extra.begin(), extra.end());
  return json::parse(run_expect(a, kOk).out);
}
}  // namespace

TEST_CASE("cache-aware masking raises the hit rate over plain DIP at the same sparsity", "[cli][sparsity]") {
  const json dip = run_tiny("dip");
  const json ca = run_tiny("dip_cache_aware");
  const double h_dip = dip["metrics"]["weight_cache_hit_rate"].get<double>();
  const double h_ca = ca["metrics"]["weight_cache_hit_rate"].get<double>();
  INFO("hit rate: dip " << h_dip << ", cache-aware " << h_ca);
  CHECK(h_ca > h_dip + 0.03);
  CHECK(ca["metrics"]["flash_bytes_per_token"].get<double>() <
        dip["metrics"]["flash_bytes_per_token"].get<double>());
  // Same number of columns kept, so the same DRAM-plus-flash bytes per token.
  for (const char* site : {"mlp.gate_up", "mlp.down"}) {
    CHECK(ca["metrics"]["sparsity"][site]["kept_fraction"] ==
          dip["metrics"]["sparsity"][site]["kept_fraction"]);
  }
  // The price: the kept inputs are not always the largest, so the error proxy rises.
  CHECK(ca["metrics"]["sparsity"]["accuracy_proxy"].get<double>() >
        dip["metrics"]["sparsity"]["accuracy_proxy"].get<double>());
  // Dense has no proxy and reads more.
  const json dense = run_tiny("dense");
  CHECK_FALSE(dense["metrics"].contains("sparsity"));
  CHECK(dense["metrics"]["flash_bytes_per_token"].get<double>() >
        dip["metrics"]["flash_bytes_per_token"].get<double>());
}

TEST_CASE("sparsity policies reject bad parameters with exit 2", "[cli][sparsity]") {
  auto err = [](const std::vector<std::string>& sets) {
    std::vector<std::string> a = {"run", "-c", "builtin:experiments/tiny.json"};
    for (const auto& s : sets) a.insert(a.end(), {"--set", s});
    return run_expect(a, 2).err;
  };
  CHECK_THAT(err({"policy.name=dip", "policy.sparsity_mlp_in=1.5"}), Contains("policy.sparsity_mlp_in"));
  CHECK_THAT(err({"policy.name=dip_cache_aware", "policy.gama=0.2"}), Contains("did you mean 'gamma'"));
  CHECK_THAT(err({"policy.name=dip", "policy.activations=missing.npz"}), Contains("policy.activations"));
  CHECK_THAT(err({"policy.name=dip", "policy.act_tail=cauchy"}), Contains("policy.act_tail"));
  CHECK_THAT(err({"weight_store.cache_partition=per-tensor"}), Contains("did you mean 'per_tensor'"));
}

TEST_CASE("DIP runs on activations captured from a real model", "[cli][sparsity]") {
  // tests/data/npy/captured_tiny_llama.npz: scripts/capture_activations.py on a tiny random
  // Llama with the tiny model's shape (docs/activations.md).
  const std::string file = std::string(EDGESIM_SOURCE_DIR) + "/tests/data/npy/captured_tiny_llama.npz";
  const json r = run_tiny("dip", {"--set", "policy.activations=" + file});
  CHECK(r["config"]["policy"]["activations"] == file);
  CHECK(r["metrics"]["sparsity"]["mlp.gate_up"]["kept_fraction"].get<double>() == Approx(0.5));
  const double err = r["metrics"]["sparsity"]["accuracy_proxy"].get<double>();
  CHECK(err > 0.0);
  CHECK(err < 1.0);
  // A file for another model is refused before the run, naming the key.
  const std::string other = std::string(EDGESIM_SOURCE_DIR) + "/tests/data/npy/activations_bad_shape.npz";
  CHECK_THAT(run_expect({"run", "-c", "builtin:experiments/tiny.json", "--set", "policy.name=dip", "--set",
                         "policy.activations=" + other},
                        2)
                 .err,
             Contains("activations_bad_shape.npz"));
}

TEST_CASE("bundling a neuron's gate row, up row and down column cuts flash reads", "[cli][sparsity]") {
  auto run = [](const std::string& chunking) {
    return json::parse(
        run_expect({"run", "-c", "builtin:experiments/tiny.json", "--set", "model.chunking=" + chunking,
                    "--set", "policy.name=relu_predictor", "--set", "weight_store.cache_capacity=0",
                    "--format", "json", "--no-progress"},
                   kOk)
            .out);
  };
  const json neuron = run("neuron"), bundled = run("bundled");
  const double reads_n = neuron["stats"]["flash"]["reads"]["value"].get<double>();
  const double reads_b = bundled["stats"]["flash"]["reads"]["value"].get<double>();
  INFO("flash reads: neuron " << reads_n << ", bundled " << reads_b);
  CHECK(reads_b < reads_n / 2);
  CHECK(bundled["metrics"]["tokens_per_s"].get<double>() > neuron["metrics"]["tokens_per_s"].get<double>());
  CHECK(bundled["metrics"]["flash_bytes_per_token"] == neuron["metrics"]["flash_bytes_per_token"]);
}
