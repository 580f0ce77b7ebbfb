// Whole-simulator checks against hand computation. SystemC elaborates once per process,
// so each TEST_CASE runs exactly one simulation; ctest runs every case in its own process.
#include <catch2/catch.hpp>

#include "sim/experiment.hpp"
#include "sim/simulate.hpp"

#if defined(EDGESIM_ASAN)
// LeakSanitizer cannot walk SystemC's coroutine stacks (see sim/main.cpp).
extern "C" const char* __asan_default_options() {
  return "detect_leaks=0";
}
#endif

using namespace edgesim;
using nlohmann::json;

namespace {

// The tiny model (2 layers, hidden 64, intermediate 128, 4 heads, 2 KV heads, head_dim
// 16, vocabulary 256, fp16) on a device with round numbers: DRAM 1 GB/s, no latency;
// flash 1 GB/s, no latency, 1-byte pages; compute so fast it is negligible.
json base_config() {
  return {{"device",
           {{"name", "test"},
            {"static_power", "0 W"},
            {"dram",
             {{"capacity", "1 GiB"},
              {"channels", 1},
              {"bus_width_bits", 8},
              {"data_rate", "1000 MT/s"},
              {"efficiency", 1.0},
              {"latency", "0 ns"},
              {"read_energy", "1 pJ/bit"},
              {"write_energy", "1 pJ/bit"}}},
            {"flash",
             {{"bandwidth", "1 GB/s"},
              {"read_latency", "0 us"},
              {"channels", 1},
              {"queue_depth", 1},
              {"page_size", "1 B"},
              {"read_energy", "10 pJ/bit"}}},
            {"compute",
             {{"peak_fp32", "1e5 TFLOP/s"},
              {"peak_fp16", "1e5 TFLOP/s"},
              {"peak_int8", "1e5 TFLOP/s"},
              {"efficiency", 1.0},
              {"op_overhead", "0 us"},
              {"energy_per_flop", "0 pJ"},
              {"weight_buffers", 2}}}}},
          {"model",
           {{"name", "tiny"},
            {"layers", 2},
            {"hidden_size", 64},
            {"intermediate_size", 128},
            {"heads", 4},
            {"kv_heads", 2},
            {"vocab_size", 256},
            {"max_context", 256}}},
          {"run", {{"tokens", 1}, {"warmup_tokens", 0}, {"prompt_tokens", 0}}}};
}

// Bytes of a dense step of the tiny model at position 0:
//   per layer: q 64x64 + k, v 32x64 + o 64x64 + gate, up 128x64 + down 64x128 = 36864 weights,
//   plus two norms of 64: 73984 B; two layers 147968 B; LM head 256x64 + final norm: 32896 B;
//   one embedding row: 128 B. Total weights read: 180992 B.
//   KV cache at position 0: write one position, 2 layers x (2 x 2 heads x 16 x 2 B) = 256 B.
constexpr double kWeightBytes = 180992, kKvBytes = 256;

sim::SimulationResult run(const json& cfg) {
  sim::Experiment exp = sim::build_experiment(cfg);
  return sim::simulate(exp, {});
}

}  // namespace

TEST_CASE("a model that fits in DRAM runs at its bytes over DRAM bandwidth when compute is fast", "[sim]") {
  json cfg = base_config();
  cfg["weight_store"] = {{"pinned", {"*"}}};
  const auto r = run(cfg);
  const json& m = r.metrics;
  CHECK(m["dram_bytes_per_token"].get<double>() == kWeightBytes + kKvBytes);
  CHECK(m["flash_bytes_per_token"].get<double>() == 0);
  CHECK(m["weight_cache_hit_rate"].is_null());
  // 181248 B at 1 GB/s = 181.248 us (compute adds under a picosecond per op).
  CHECK(m["token_latency_s"]["mean"].get<double>() == Approx(181.248e-6).epsilon(1e-6));
  CHECK(m["energy_breakdown_j"]["dram"].get<double>() == Approx((kWeightBytes + kKvBytes) * 8 * 1e-12));
}

TEST_CASE("with no DRAM cache a dense token costs the model's bytes over flash bandwidth", "[sim]") {
  json cfg = base_config();
  cfg["weight_store"] = {{"pinned", json::array()}, {"cache_capacity", "0 B"}, {"staging_traffic", false}};
  const auto r = run(cfg);
  const json& m = r.metrics;
  CHECK(m["flash_bytes_per_token"].get<double>() == kWeightBytes);
  CHECK(m["dram_bytes_per_token"].get<double>() == kKvBytes);
  // Flash and DRAM overlap per op; flash dominates: 180992 B at 1 GB/s.
  CHECK(m["token_latency_s"]["mean"].get<double>() == Approx(180.992e-6).epsilon(1e-6));
  CHECK(m["time_breakdown"]["flash"].get<double>() == Approx(180.992e-6).epsilon(1e-6));
  CHECK(m["memory_footprint_bytes"]["weight_cache"] == 0);
  // Streaming buffers: two buffers of the largest op (MLP norm + gate + up = 128 + 2 x 128x64x2 B).
  CHECK(m["memory_footprint_bytes"]["staging"] == 2 * (128 + 2 * 128 * 64 * 2));
}

TEST_CASE("serialised flash and DRAM transfers add up instead of overlapping", "[sim]") {
  json cfg = base_config();
  cfg["weight_store"] = {{"pinned", json::array()},
                         {"cache_capacity", "0 B"},
                         {"staging_traffic", false},
                         {"flash_dram_concurrent", false}};
  const auto r = run(cfg);
  CHECK(r.metrics["token_latency_s"]["mean"].get<double>() ==
        Approx((kWeightBytes + kKvBytes) / 1e9).epsilon(1e-6));
}

TEST_CASE("one weight buffer serialises loading and computing", "[sim]") {
  json cfg = base_config();
  cfg["device"]["compute"]["weight_buffers"] = 1;
  cfg["device"]["compute"]["op_overhead"] = "20 us";
  cfg["weight_store"] = {{"pinned", {"*"}}};
  const auto r = run(cfg);
  const json& tb = r.metrics["time_breakdown"];
  // 10 ops x 20 us of compute, and 181.248 us of loads, one after the other.
  CHECK(tb["compute"].get<double>() == Approx(200e-6).epsilon(1e-6));
  CHECK(r.metrics["token_latency_s"]["mean"].get<double>() == Approx(200e-6 + 181.248e-6).epsilon(1e-6));
}

TEST_CASE("two weight buffers overlap the next op's load with this op's compute", "[sim]") {
  json cfg = base_config();
  cfg["device"]["compute"]["op_overhead"] = "20 us";
  cfg["weight_store"] = {{"pinned", {"*"}}};
  const auto r = run(cfg);
  const double latency = r.metrics["token_latency_s"]["mean"].get<double>();
  CHECK(latency < 200e-6 + 181.248e-6 - 50e-6);  // much of the overlap is realised
  CHECK(latency >= std::max(200e-6, 181.248e-6));
  CHECK(r.metrics["time_breakdown"]["stall"].get<double>() == Approx(latency - 200e-6).margin(1e-12));
}

TEST_CASE("a cache holding the whole model hits on every access after warm-up", "[sim]") {
  json cfg = base_config();
  cfg["weight_store"] = {{"pinned", json::array()}, {"cache_capacity", "auto"}, {"staging_traffic", false}};
  cfg["run"] = {{"tokens", 3}, {"warmup_tokens", 1}, {"prompt_tokens", 0}};
  const auto r = run(cfg);
  // Dense linears hit always; only the embedding row of a new token id may miss.
  CHECK(r.metrics["weight_cache_hit_rate"].get<double>() > 0.99);
  CHECK(r.metrics["flash_bytes_per_token"].get<double>() <= 128);
}

TEST_CASE("SystemC work per token grows with ops, not with chunks", "[sim]") {
  json cfg = base_config();
  cfg["model"]["hidden_size"] = 1024;  // 16x the chunks of the tiny model, same ops
  cfg["model"]["intermediate_size"] = 2048;
  cfg["weight_store"] = {{"pinned", {"norm", "attn"}}, {"cache_capacity", "1 MiB"}};
  const auto r = run(cfg);
  const double ops = 2 + 4 * 2;
  // Per op: a buffer wait, one timed wait for the load, a fifo hand-over, a timed wait for
  // compute; plus an end-of-step marker. Bounded per op whatever the chunk count.
  CHECK(r.metrics["systemc_activations_per_token"].get<double>() <= 6 * ops);
  CHECK(r.stats["weight_store"]["memory_transactions"]["value"].get<double>() <= 6 * ops);
}

TEST_CASE("every step's compute is accounted while later steps are still being loaded", "[sim]") {
  // Many steps with compute slower than loading: the replayer runs ahead and adds step
  // records while compute waits; each step must still get exactly its 10 ops x 20 us.
  json cfg = base_config();
  cfg["device"]["compute"]["op_overhead"] = "20 us";
  cfg["weight_store"] = {{"pinned", {"*"}}};
  cfg["run"] = {{"tokens", 64}, {"warmup_tokens", 1}, {"prompt_tokens", 0}};
  const auto r = run(cfg);
  CHECK(r.steps == 65);
  CHECK(r.metrics["time_breakdown"]["compute"].get<double>() == Approx(200e-6).epsilon(1e-9));
  // Between full overlap (200 us of compute) and none (plus 181.248 us of loads): with two
  // buffers an op whose load outlasts the previous op's compute (gate+up: 33 us) stalls.
  const double p50 = r.metrics["token_latency_s"]["p50"].get<double>();
  CHECK(p50 >= 200e-6);
  CHECK(p50 < 200e-6 + 181.248e-6);
}
