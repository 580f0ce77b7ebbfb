// Decoding schemes (sim/decoding.hpp): the acceptance draws of speculative decoding
// against (1 - A^(G+1)) / (1 - A), recorded acceptance traces, the step plan of each
// scheme, and a model's cost over many tokens at once (a prefill chunk, a verification).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "sim/core/errors.hpp"
#include "sim/decoding.hpp"
#include "test_helpers.hpp"

using namespace edgesim;
using sim::Acceptance;
using sim::expected_tokens_per_step;
using traces::Phase;
using traces::StepInfo;

TEST_CASE("expected tokens per speculative step follow (1 - A^(G+1)) / (1 - A)", "[decoding]") {
  CHECK(expected_tokens_per_step(0.0, 4) == Approx(1.0));
  CHECK(expected_tokens_per_step(1.0, 4) == Approx(5.0));
  CHECK(expected_tokens_per_step(0.5, 2) == Approx(1.75));
  CHECK(expected_tokens_per_step(0.8, 5) == Approx((1 - std::pow(0.8, 6)) / 0.2));
}

TEST_CASE("i.i.d. acceptance draws give a mean tokens per step within its 95% interval of the formula",
          "[decoding]") {
  for (const double a : {0.3, 0.7, 0.9}) {
    for (const uint32_t gamma : {1u, 4u, 8u}) {
      Acceptance acc(a, nullptr, 12345);
      const int n = 20000;
      double sum = 0, sq = 0;
      for (int i = 0; i < n; ++i) {
        const double t = acc.accepted(gamma) + 1.0;
        REQUIRE(t <= gamma + 1.0);
        sum += t;
        sq += t * t;
      }
      const double mean = sum / n;
      const double sd = std::sqrt((sq - n * mean * mean) / (n - 1));
      const double half = 1.96 * sd / std::sqrt(static_cast<double>(n));
      INFO("A = " << a << ", gamma = " << gamma << ": mean " << mean << " +- " << half);
      CHECK(std::fabs(mean - expected_tokens_per_step(a, gamma)) <= half);
    }
  }
}

TEST_CASE("a recorded acceptance trace is consumed up to each rejection and restarts at its end",
          "[decoding]") {
  const std::vector<uint8_t> trace = {1, 1, 0, 1, 0, 1, 1, 1, 1};
  Acceptance acc(0.0, &trace, 1);
  CHECK(acc.accepted(4) == 2);  // 1 1 0
  CHECK(acc.accepted(4) == 1);  // 1 0
  CHECK(acc.accepted(3) == 3);  // 1 1 1: all drafted accepted, nothing rejected to consume
  CHECK(acc.wraps() == 0);
  CHECK(acc.accepted(4) == 3);  // 1, then the trace restarts: 1 1 0
  CHECK(acc.wraps() == 1);
}

TEST_CASE("an acceptance trace with anything but 0 and 1 is refused naming the key and the line",
          "[decoding]") {
  const std::string good = "decoding_test_good.txt", bad = "decoding_test_bad.txt";
  {
    std::ofstream(good) << "# recorded on a real run\n1 1 0,1\n\n0\n";
    std::ofstream(bad) << "1 1 0\n1 2 0\n";
  }
  CHECK(sim::read_acceptance_trace(good, "decoding.acceptance_trace") == std::vector<uint8_t>{1, 1, 0, 1, 0});
  CHECK_THROWS_AS(sim::read_acceptance_trace(bad, "decoding.acceptance_trace"), InputError);
  CHECK_THROWS_WITH(
      sim::read_acceptance_trace(bad, "decoding.acceptance_trace"),
      Catch::Contains("decoding.acceptance_trace") && Catch::Contains(bad + ":2") && Catch::Contains("'2'"));
  CHECK_THROWS_WITH(sim::read_acceptance_trace("no-such-file.txt", "decoding.acceptance_trace"),
                    Catch::Contains("cannot open acceptance trace 'no-such-file.txt': No such file"));
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

namespace {

std::vector<StepInfo> all_steps(sim::StepPlan& plan) {
  std::vector<StepInfo> out;
  StepInfo i;
  while (plan.next(i)) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("plain decoding with a prefill: prompt chunks, then a token a step after the prompt",
          "[decoding]") {
  const auto tiny = test::tiny_layout();
  sim::PlanSettings s;
  s.prompt_tokens = 10;
  s.prefill_chunk = 4;
  s.total_tokens = 3;
  s.models[0] = &tiny;
  sim::StepPlan plan(s, nullptr);
  const auto steps = all_steps(plan);
  REQUIRE(steps.size() == 6);
  const uint64_t pos[] = {0, 4, 8, 10, 11, 12};
  const uint32_t tokens[] = {4, 4, 2, 1, 1, 1};
  for (size_t k = 0; k < steps.size(); ++k) {
    INFO("step " << k);
    CHECK(steps[k].position == pos[k]);
    CHECK(steps[k].tokens == tokens[k]);
    CHECK(steps[k].phase == (k < 3 ? Phase::Prefill : Phase::Decode));
    CHECK(steps[k].emitted == (k < 3 ? 0u : 1u));
    CHECK(steps[k].model == 0);
  }
}

TEST_CASE("speculative rounds: gamma draft steps, then one verification of gamma + 1 positions",
          "[decoding]") {
  const auto target = test::tiny_layout(), draft = test::tiny_layout({{"layers", 1}});
  sim::PlanSettings s;
  s.scheme = sim::Scheme::Speculative;
  s.prompt_tokens = 8;
  s.prefill_chunk = 8;
  s.total_tokens = 6;
  s.gamma = 2;
  s.models[0] = &target;
  s.models[1] = &draft;
  const std::vector<uint8_t> trace = {1, 1, 0};  // all accepted, then one rejected: 3 tokens, then 1
  Acceptance acc(0, &trace, 1);
  sim::StepPlan plan(s, &acc);
  const auto steps = all_steps(plan);
  // Both prompts, then rounds yielding 3, 1, 3 tokens (6 reached after the third).
  REQUIRE(steps.size() == 2 + 3 * 3);
  CHECK((steps[0].model == 0 && steps[0].phase == Phase::Prefill));
  CHECK((steps[1].model == 1 && steps[1].phase == Phase::Prefill));
  const uint64_t start[] = {8, 11, 12};
  const uint32_t emitted[] = {3, 1, 3};
  for (int r = 0; r < 3; ++r) {
    INFO("round " << r);
    const StepInfo* k = &steps[2 + 3 * r];
    CHECK((k[0].phase == Phase::Draft && k[0].model == 1 && k[0].position == start[r] && k[0].emitted == 0));
    CHECK((k[1].phase == Phase::Draft && k[1].position == start[r] + 1));
    CHECK((k[2].phase == Phase::Verify && k[2].model == 0 && k[2].position == start[r] && k[2].tokens == 3));
    CHECK(k[2].emitted == emitted[r]);
  }
}

TEST_CASE("the hybrid scheme encodes the prompt with the large model, then the small one decodes",
          "[decoding]") {
  const auto t5 =
      test::tiny_layout({{"architecture", "encoder-decoder"}, {"encoder_layers", 2}, {"mlp", "relu"}});
  const auto small = test::tiny_layout({{"layers", 1}});
  sim::PlanSettings s;
  s.scheme = sim::Scheme::Hybrid;
  s.prompt_tokens = 12;
  s.prefill_chunk = 0;  // the prompt is encoded whatever the chunk: one pass each
  s.total_tokens = 2;
  s.models[0] = &t5;
  s.models[1] = &small;
  sim::StepPlan plan(s, nullptr);
  const auto steps = all_steps(plan);
  REQUIRE(steps.size() == 4);
  CHECK((steps[0].model == 0 && steps[0].phase == Phase::Encode && steps[0].tokens == 12 &&
         steps[0].emitted == 0));
  CHECK((steps[1].model == 1 && steps[1].phase == Phase::Prefill && steps[1].tokens == 12));
  CHECK((steps[2].model == 1 && steps[2].phase == Phase::Decode && steps[2].position == 12));
  CHECK((steps[3].model == 1 && steps[3].position == 13));
}

TEST_CASE("a pass over many tokens costs the FLOPs and KV traffic of its tokens, weights read once",
          "[decoding][layout]") {
  for (const uint64_t window : {uint64_t{0}, uint64_t{6}}) {
    const auto l = test::tiny_layout({{"sliding_window", window}});
    const traces::OpSpec& attn = l.ops()[1];
    REQUIRE(attn.kind == traces::OpKind::Attention);
    std::vector<ChunkSet> sets(attn.tensors.size());
    for (auto& c : sets) c.set_all();
    for (const uint64_t start : {uint64_t{0}, uint64_t{3}, uint64_t{9}}) {
      const uint64_t n = 5;
      uint64_t flops = 0;
      for (uint64_t i = 0; i < n; ++i) flops += l.op_flops(attn, sets, {start + i}, 1);
      INFO("window " << window << ", from " << start);
      // Token by token or at once: the same multiply-adds.
      CHECK(l.op_flops(attn, sets, {start}, n) == flops);
      // Keys and values written for every token of the pass, the earlier ones read once.
      CHECK(l.op_kv_write_bytes(attn, n) == n * l.op_kv_write_bytes(attn));
      const uint64_t earlier = window ? std::min(start, window - 1) : start;
      CHECK(l.op_kv_read_bytes(attn, {start}) == earlier * l.op_kv_write_bytes(attn));
    }
  }
}

TEST_CASE("the run's models lie one after the other in the store: tensors, chunk ids, flash image",
          "[decoding]") {
  const auto a = test::tiny_layout(), b = test::tiny_layout({{"layers", 1}});
  const auto models = sim::lay_out_models(a, &b);
  REQUIRE(models.size() == 2);
  CHECK(models[1].tensor_base == a.tensors().size());
  CHECK(models[1].chunk_base == a.total_chunks());
  CHECK(models[1].flash_base == a.total_weight_bytes());
  CHECK(models[1].op_tensors[0][0] == b.ops()[0].tensors[0] + a.tensors().size());
  CHECK(models[0].op_tensors[1] == a.ops()[1].tensors);
}
