// ISO 26262 metrics and selective protection (models/fault/iso26262.*, protection.*):
// per-block FIT and SPFM/LFM/PMHF against hand computation, the exact plan search
// against brute force, and the campaign and protection files' errors.
#include <catch2/catch.hpp>

#include <random>

#include "models/fault/iso26262.hpp"
#include "models/fault/protection.hpp"
#include "sim/core/errors.hpp"

using namespace edgesim;
using namespace edgesim::fault;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kRoot = EDGESIM_TEST_DATA "/../..";

CampaignBlock sram_block() {
  CampaignBlock b;
  b.name = "buf";
  b.cls = BlockClass::kSram;
  b.bits = 1000000;  // 1 Mbit: 1000 FIT at 1000 FIT/Mbit
  b.residency = 0.5;
  b.injections = 1000;
  b.sdc = 100;
  b.due = 20;
  b.masked = 880;
  b.sdc_rate = {0.10, 0.08, 0.12};
  b.due_rate = {0.02, 0.01, 0.03};
  return b;
}

Protection secded() {
  Protection p;
  p.name = "secded";
  p.dc = 0.99;
  p.sm_fit_fraction = 0.125;
  p.latent_coverage = 0.99;
  return p;
}

BlockFit fit_of(double total, double spf_rf, double latent = 0, double dual = 0) {
  BlockFit f;
  f.total = total;
  f.spf_rf = spf_rf;
  f.mpf_latent = latent;
  f.dual_point = dual;
  return f;
}

// Three blocks, hand-made: A (none | duplication | hardened), B (none | SECDED), C (none).
PlanProblem small_problem(double secded_latent = 0.1) {
  PlanProblem p;
  p.blocks = {"A", "B", "C"};
  p.choices = {{{"none", 0, fit_of(100, 5)}, {"dup", 10, fit_of(200, 0.05)}, {"hard", 3, fit_of(10, 0.5)}},
               {{"none", 0, fit_of(100, 2)}, {"secded", 2, fit_of(112.5, 0.02, secded_latent)}},
               {{"none", 0, fit_of(300, 0)}}};
  p.base_area = 100;
  return p;
}

}  // namespace

TEST_CASE("an unprotected block's FIT splits into SDC (single-point) and DUE (detected) by the derating",
          "[iso26262]") {
  FitSettings s;  // 1000 FIT/Mbit SRAM, residency applied, DUE detected
  const BlockFit f = block_fit(sram_block(), Protection{}, s);
  CHECK(f.raw == Approx(1000));
  CHECK(f.total == Approx(1000));
  CHECK(f.dangerous == Approx(1000 * 0.5 * 0.10));  // 50 FIT
  CHECK(f.detected_due == Approx(10));
  CHECK(f.spf_rf == Approx(50));
  CHECK(f.mpf_detected == Approx(10));
  CHECK(f.mpf_latent == 0);
  CHECK(f.safe == Approx(940));
  Metrics m;
  accumulate(m, f);
  finish(m);
  CHECK(m.spfm == Approx(0.95));
  CHECK(m.lfm == Approx(1.0));
  CHECK(m.pmhf == Approx(50));
  CHECK_FALSE(meets(m, Targets{}));
  CHECK_THAT(shortfall(m, Targets{}), Contains("SPFM 95 % < 99 %") && Contains("PMHF 50 FIT >= 10 FIT"));
}

TEST_CASE(
    "SECDED leaves 1 % residual, adds its check bits' FIT, and their latent share gives LFM and the "
    "dual-point PMHF term",
    "[iso26262]") {
  FitSettings s;
  const BlockFit f = block_fit(sram_block(), secded(), s);
  // By hand: raw 1000, check bits 125, dangerous 50 -> residual 0.5, covered 49.5;
  // check bits live 62.5 FIT, 1 % latent = 0.625.
  CHECK(f.total == Approx(1125));
  CHECK(f.spf_rf == Approx(0.5));
  CHECK(f.mpf_latent == Approx(0.625));
  CHECK(f.mpf_detected == Approx(49.5 + 10 + 61.875));
  CHECK(f.dual_point == Approx(0.625 * 49.5 * 1e-9 * 10000));
  Metrics m;
  accumulate(m, f);
  finish(m);
  CHECK(m.spfm == Approx(1 - 0.5 / 1125));
  CHECK(m.lfm == Approx(1 - 0.625 / 1124.5));
  CHECK(m.pmhf == Approx(0.5 + 0.625 * 49.5 * 1e-5));
  CHECK(meets(m, Targets{}));
}

TEST_CASE("metrics over several blocks are ratios of sums, not means of per-block ratios", "[iso26262]") {
  Metrics m;
  accumulate(m, fit_of(100, 5, 1));
  accumulate(m, fit_of(900, 1, 0));
  finish(m);
  CHECK(m.spfm == Approx(1 - 6.0 / 1000));
  CHECK(m.lfm == Approx(1 - 1.0 / 994));
  CHECK(m.pmhf == Approx(6));
}

TEST_CASE("DUE counts as dangerous when no detection is assumed, and the upper bound derating takes ci_high",
          "[iso26262]") {
  FitSettings s;
  s.due_detected = false;
  BlockFit f = block_fit(sram_block(), Protection{}, s);
  CHECK(f.spf_rf == Approx(50 + 10));
  s.due_detected = true;
  s.bound = DeratingBound::kUpper;
  f = block_fit(sram_block(), Protection{}, s);
  CHECK(f.spf_rf == Approx(1000 * 0.5 * 0.12));
  CHECK(f.detected_due == Approx(1000 * 0.5 * 0.03));
  s.apply_residency = false;
  f = block_fit(sram_block(), Protection{}, s);
  CHECK(f.spf_rf == Approx(1000 * 0.12));
}

TEST_CASE("hardening lowers a block's FIT but not its own SPFM (no detection, the ratio stays)",
          "[iso26262]") {
  FitSettings s;
  CampaignBlock b = sram_block();
  b.cls = BlockClass::kFlop;
  Protection hard;
  hard.fit_factor = 0.1;
  const BlockFit plain = block_fit(b, Protection{}, s), hardened = block_fit(b, hard, s);
  CHECK(hardened.total == Approx(plain.total / 10));
  CHECK(hardened.spf_rf == Approx(plain.spf_rf / 10));
  CHECK(hardened.spf_rf / hardened.total == Approx(plain.spf_rf / plain.total));
}

TEST_CASE("the plan search finds the hand-computed least-area plan for each binding target",
          "[iso26262][plan]") {
  // SPFM binds: (none, none) has 7 / 500 = 1.4 % residual; (none, secded) 5.02 / 512.5 < 1 %
  // at area 2 beats (hard, none) at area 3.
  PlanProblem p = small_problem();
  std::optional<Plan> best = optimal_plan(p);
  REQUIRE(best);
  CHECK(best->pick == std::vector<int>{0, 1, 0});
  CHECK(best->area == 2);
  CHECK(best->metrics.spfm == Approx(1 - 5.02 / 512.5));
  // PMHF binds: with a 5 FIT target (none, secded) has 5.02 FIT; (hard, none) 2.5 FIT.
  p.targets.pmhf_fit = 5;
  best = optimal_plan(p);
  REQUIRE(best);
  CHECK(best->pick == std::vector<int>{2, 0, 0});
  // LFM binds: SECDED with 60 FIT latent leaves LFM 1 - 60 / 507.48 = 88 %.
  p = small_problem(60);
  best = optimal_plan(p);
  REQUIRE(best);
  CHECK(best->pick == std::vector<int>{2, 0, 0});
  // Nothing meets an SPFM of 99.99 %.
  p = small_problem();
  p.targets.spfm = 0.9999;
  CHECK_FALSE(optimal_plan(p));
  CHECK_FALSE(brute_force_plan(p));
}

TEST_CASE("the exact plan search matches brute force on the hand-made problem and on 300 random ones",
          "[iso26262][plan]") {
  for (double latent : {0.1, 60.0}) {
    const PlanProblem p = small_problem(latent);
    const auto a = optimal_plan(p), b = brute_force_plan(p);
    REQUIRE(a.has_value() == b.has_value());
    CHECK(a->pick == b->pick);
  }
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(0, 1);
  int feasible = 0;
  for (int trial = 0; trial < 300; ++trial) {
    PlanProblem p;
    const int blocks = 2 + static_cast<int>(rng() % 5);
    for (int i = 0; i < blocks; ++i) {
      p.blocks.push_back("b" + std::to_string(i));
      const double total = 10 + 1000 * u(rng), spf = total * 0.1 * u(rng);
      std::vector<Choice> ch = {{"none", 0, fit_of(total, spf)}};
      const int options = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < options; ++k) {
        // Some options share an area, so ties must break the same way in both searches.
        const double area = std::floor(1 + 8 * u(rng));
        ch.push_back(
            {"o" + std::to_string(k), area,
             fit_of(total * (1 + u(rng)), spf * u(rng) * u(rng), total * 0.05 * u(rng), 1e-3 * u(rng))});
      }
      p.choices.push_back(ch);
    }
    p.targets = Targets{0.95 + 0.049 * u(rng), 0.8 + 0.15 * u(rng), 5 + 50 * u(rng)};
    uint64_t visited = 0;
    const auto a = optimal_plan(p, &visited), b = brute_force_plan(p);
    REQUIRE(a.has_value() == b.has_value());
    if (!a) continue;
    ++feasible;
    CHECK(a->pick == b->pick);
    CHECK(a->area == b->area);
  }
  CHECK(feasible > 50);  // the comparison covered feasible problems, not only empty answers
}

TEST_CASE(
    "the default protection config and a hand-made 7-block campaign: exact search equals brute force, "
    "unprotected misses ASIL-D, lockstep costs 100 %",
    "[iso26262][plan]") {
  const ProtectionConfig cfg = load_protection("builtin:fault/protection.json");
  for (int macs : {32, 256}) {
    const Campaign c =
        load_campaign(kRoot + "/tests/data/fault/campaign-u55-" + std::to_string(macs) + ".json");
    const PlanProblem p = make_problem(c, cfg, macs);
    REQUIRE(p.blocks.size() == 7);
    const Plan none = evaluate(p, std::vector<int>(7, 0));
    CHECK_FALSE(none.meets);
    uint64_t visited = 0;
    const auto a = optimal_plan(p, &visited), b = brute_force_plan(p);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->pick == b->pick);
    CHECK(a->meets);
    CHECK(visited < plan_count(p));  // the bounds pruned
    const Plan lock = lockstep_plan(p, cfg, macs, a->pick);
    CHECK(lock.area >= p.base_area);
    CHECK(a->area < lock.area);
  }
}

TEST_CASE(
    "a campaign file with a missing, misspelt, mistyped or inconsistent key is rejected naming its path",
    "[iso26262][errors]") {
  const json good = json::parse(R"({"schema": "edgesim.fault_campaign/1", "network": "n",
    "npu": {"macs_per_cycle": 128}, "sampling": "uniform", "seed": 1, "injections": 10, "fault_model": "single_bit",
    "blocks": [{"name": "control", "class": "flop", "bits": 64, "residency": 1.0, "injections": 10,
      "masked": 5, "sdc": 2, "tolerable_sdc": 1, "due": 2,
      "sdc_rate": {"value": 0.2, "ci_low": 0.05, "ci_high": 0.5},
      "due_rate": {"value": 0.2, "ci_low": 0.05, "ci_high": 0.5}}]})");
  CHECK(parse_campaign(good, "c.json").blocks.at(0).sdc == 2);
  auto rejects = [&](const std::string& pointer, const json& value, const std::string& needle) {
    json bad = good;
    if (value.is_null()) {
      const json::json_pointer ptr(pointer);
      bad[ptr.parent_pointer()].erase(ptr.back());
    } else {
      bad[json::json_pointer(pointer)] = value;
    }
    CHECK_THROWS_WITH(parse_campaign(bad, "c.json"), Contains(needle));
  };
  rejects("/blocks/0/sdc", nullptr, "c.json: blocks[0].sdc: missing");
  rejects("/blocks/0/class", "latch", "blocks[0].class: 'latch': expected one of sram, flop, dram");
  rejects("/blocks/0/bits", -3, "blocks[0].bits: expected a non-negative integer");
  rejects("/blocks/0/residency", 1.5, "blocks[0].residency: 1.5: expected a number in [0, 1]");
  rejects("/blocks/0/masked", 4, "blocks[0].injections: masked + sdc + tolerable_sdc + due = 9, not 10");
  rejects("/blocks/0/sdc_rate/ci_low", 0.3, "blocks[0].sdc_rate: expected ci_low <= value <= ci_high");
  rejects("/schema", "edgesim.fault_campaign/2", "schema");
  rejects("/npu/macs_per_cycle", "many", "npu.macs_per_cycle");
  json misspelt = good;
  misspelt["blocks"][0]["residencey"] = misspelt["blocks"][0]["residency"];
  misspelt["blocks"][0].erase("residency");
  CHECK_THROWS_WITH(parse_campaign(misspelt, "c.json"),
                    Contains("blocks[0].residency: missing (found 'residencey': misspelt?)"));
}

TEST_CASE("a protection config with an unknown key, a bad class or a missing area is rejected naming it",
          "[iso26262][errors]") {
  const json base = json::parse(R"({"schema": "edgesim.fault_protection/1",
    "raw_fit": {"sram_fit_per_mbit": 1000, "flop_fit_per_mbit": 1000, "dram_fit_per_mbit": 10},
    "derating": {"apply_residency": true, "due_detected": true, "bound": "value"},
    "targets": {"spfm": 0.99, "lfm": 0.9, "pmhf_fit": 10, "latent_exposure_hours": 10000},
    "options": {"duplication": {"applies_to": ["sram", "flop"], "dc": 0.99, "area_overhead": 1.0}},
    "lockstep_option": "duplication", "area_unit": "um2",
    "areas": {"128": {"control": {"area": 100}}}})");
  CHECK(parse_protection(base, "p.json").options.size() == 1);
  json bad = base;
  bad["options"]["duplication"]["dcc"] = 0.9;
  CHECK_THROWS_WITH(parse_protection(bad, "p.json"),
                    Contains("p.json: options.duplication.dcc: unknown key (did you mean 'dc'?)"));
  bad = base;
  bad["options"]["duplication"]["applies_to"] = {"sram", "logic"};
  CHECK_THROWS_WITH(parse_protection(bad, "p.json"), Contains("options.duplication.applies_to: 'logic'"));
  bad = base;
  bad["lockstep_option"] = "tmr";
  CHECK_THROWS_WITH(parse_protection(bad, "p.json"),
                    Contains("lockstep_option: 'tmr' is not one of options"));
  bad = base;
  bad["targets"]["pmhf_fit"] = 0;
  CHECK_THROWS_WITH(parse_protection(bad, "p.json"), Contains("targets.pmhf_fit: 0: expected a number > 0"));
  const ProtectionConfig cfg = parse_protection(base, "p.json");
  Campaign c;
  c.blocks.push_back(sram_block());
  CHECK_THROWS_WITH(make_problem(c, cfg, 128),
                    Contains("block 'buf' of the campaign has no area in areas.128"));
  CHECK_THROWS_WITH(make_problem(c, cfg, 64), Contains("no areas for a 64-MAC NPU (areas has 128)"));
}

TEST_CASE(
    "a block no injection reached is refused under measured rates and counted all dangerous under ci_high",
    "[iso26262][errors]") {
  ProtectionConfig cfg;
  cfg.areas[128]["buf"] = BlockArea{100, 0};
  Campaign c;
  CampaignBlock b = sram_block();
  b.injections = b.sdc = b.due = b.masked = 0;
  c.blocks.push_back(b);
  CHECK_THROWS_WITH(make_problem(c, cfg, 128),
                    Contains("campaign block 'buf': no injection reached its live bits"));
  cfg.fit.bound = DeratingBound::kUpper;
  const PlanProblem p = make_problem(c, cfg, 128);
  CHECK(p.choices[0][0].fit.spf_rf == Approx(1000 * 0.5));
  // Without live bits there is nothing to measure, and nothing is refused.
  c.blocks[0].residency = 0;
  cfg.fit.bound = DeratingBound::kValue;
  CHECK(make_problem(c, cfg, 128).choices[0][0].fit.spf_rf == 0);
}

TEST_CASE(
    "DRAM that the campaign ran under ECC keeps its measured rates and is offered no further protection",
    "[iso26262][plan]") {
  const ProtectionConfig cfg = load_protection("builtin:fault/protection.json");
  Campaign c = load_campaign(kRoot + "/tests/data/fault/campaign-u55-128.json");
  const size_t dram = c.blocks.size() - 1;
  REQUIRE(c.blocks[dram].cls == BlockClass::kDram);
  CHECK(make_problem(c, cfg, 128).choices[dram].size() > 1);
  c.dram_ecc = "secded";
  const PlanProblem p = make_problem(c, cfg, 128);
  REQUIRE(p.choices[dram].size() == 1);
  CHECK(p.choices[dram][0].option == "secded (in campaign)");
  CHECK(p.choices[dram][0].area == 0);
}
