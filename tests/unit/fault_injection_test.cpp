// Injection through the NPU's bit-exact execution: masking, a weight's top bit changing the
// output, incremental re-execution equal to a full one, SECDED on DRAM, hangs and bus errors.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>

#include "models/fault/secded.hpp"
#include "tests/unit/fault_helpers.hpp"

using namespace edgesim;
using namespace edgesim::fault;
using edgesim::fault_test::Digits;

using edgesim::fault_test::digits;

TEST_CASE("fault sites cover every block but DRAM on a flash device, with residency above 0 and at most 1",
          "[fault][sites]") {
  const Digits& d = digits();
  for (size_t b = 0; b < kBlocks; ++b) {
    const auto blk = static_cast<Block>(b);
    INFO(block_name(blk));
    if (blk == Block::kDram) {
      CHECK(d.sites.capacity_bits[b] == 0);
      continue;
    }
    CHECK(d.sites.capacity_bits[b] > 0);
    CHECK(d.sites.residency(blk) > 0);
    CHECK(d.sites.residency(blk) <= 1.0);
  }
  // Block layers and the plan's jobs agree on the number of blocks.
  npu::Executor exec(d.net, d.plan);
  for (size_t i = 0; i < d.net.ops.size(); ++i) {
    if (!exec.block_layer(i)) continue;
    const auto& lp = d.plan.layers[i];
    const npu::BlockBox last = exec.block_box(i, lp.jobs.size() - 1);
    const auto& to = d.net.tensors[d.net.ops[i].output];
    CHECK(last.y0 + last.bh == to.h);
    CHECK(last.x0 + last.bw == to.w);
    CHECK(last.c0 + last.bc == to.c);
  }
}

TEST_CASE("a flip in a value the max pool discards never reaches the output: masked", "[fault][inject]") {
  Digits& d = digits();
  const size_t s = d.site("tensor add1");
  const npu::Tensor& t = d.net.tensors[d.sites.sites[s].tensor];
  const int8_t* g = d.goldens.arena(0) + t.offset;
  // An element with bit 0 set, at least 2 below the maximum of its 2x2 pooling window:
  // clearing bit 0 keeps it below the maximum, which the pool keeps.
  long found = -1;
  for (int y = 0; y < t.h && found < 0; ++y)
    for (int x = 0; x < t.w && found < 0; ++x)
      for (int c = 0; c < t.c && found < 0; ++c) {
        const auto at = [&](int yy, int xx) { return g[(yy * t.w + xx) * t.c + c]; };
        const int8_t v = at(y, x);
        int mx = -128;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) mx = std::max<int>(mx, at(y / 2 * 2 + dy, x / 2 * 2 + dx));
        if ((v & 1) && v <= mx - 2) found = (y * t.w + x) * t.c + c;
      }
  REQUIRE(found >= 0);
  Fault f;
  f.site = s;
  f.bit = static_cast<uint64_t>(found) * 8;
  f.cycle = d.sites.sites[s].window_start;
  Injector inj(d.net, d.plan, d.sites, d.goldens, d.io);
  const InjectionResult r = inj.inject(f, 0);
  CHECK(r.outcome == Outcome::kMasked);
  CHECK(r.layers_run == 1);  // incremental: the pool's output equals the golden one, the run stops there
  InjectorOptions full = d.io;
  full.incremental = false;
  Injector whole(d.net, d.plan, d.sites, d.goldens, full);
  CHECK(whole.inject(f, 0).outcome == Outcome::kMasked);
}

TEST_CASE("a flip in the top bit of the largest weight changes the output", "[fault][inject]") {
  Digits& d = digits();
  // conv2: the last weighted layer the NPU runs (the fully connected layer's per-channel
  // weights put it on the host CPU, as Vela would).
  const size_t s = d.site("weights conv2");
  const size_t layer = d.sites.sites[s].layer;
  npu::Executor exec(d.net, d.plan);
  const auto& w = exec.weight_buffer(layer);  // [KH][KW][IC][OC]
  size_t big = 0;
  for (size_t i = 0; i < w.size(); ++i)
    if (std::abs(w[i]) > std::abs(w[big])) big = i;
  REQUIRE(std::abs(w[big]) >= 64);
  Fault f;
  f.site = s;
  f.bit = big * 8 + 7;
  f.cycle = d.sites.sites[s].window_start;
  // The flip corrupts the block of the weight's channel running at that cycle; among the
  // held-out inputs, it reaches the output for some (a ReLU can hide it for others), and
  // is never a hang.
  Injector inj(d.net, d.plan, d.sites, d.goldens, d.io);
  size_t input = 0, corrupted = 0;
  for (size_t i = 0; i < d.goldens.inputs(); ++i) {
    const InjectionResult r = inj.inject(f, i);
    CHECK(r.outcome != Outcome::kDue);
    if (r.outcome != Outcome::kMasked && corrupted++ == 0) input = i;
  }
  INFO(corrupted << " of " << d.goldens.inputs() << " inputs corrupted");
  CHECK(corrupted > 0);
  // The injector restores the weight: the next run of the same input is golden again.
  Fault low = f;
  low.site = d.site("tensor input");
  low.bit = 0;
  low.cycle = 0;
  inj.inject(low, input);
  CHECK(inj.executor().argmax() == d.goldens.top1[input]);
}

TEST_CASE("incremental re-execution classifies every fault as a full re-execution does", "[fault][inject]") {
  Digits& d = digits();
  InjectorOptions full = d.io;
  full.incremental = false;
  for (auto kind : {FaultModelKind::kSingleBit, FaultModelKind::kMultiBit, FaultModelKind::kStuckAt}) {
    InjectorOptions inc = d.io;
    inc.model.kind = full.model.kind = kind;
    inc.model.width = full.model.width = 3;
    Injector a(d.net, d.plan, d.sites, d.goldens, inc), b(d.net, d.plan, d.sites, d.goldens, full);
    const Sampler sampler(d.sites, Sampling::kUniform, inc.model);
    std::mt19937_64 rng(7);
    int differing = 0, faulty = 0;
    for (int i = 0; i < 1500; ++i) {
      const Sampler::Draw dr = sampler.draw(rng);
      const size_t input = rng() % d.goldens.inputs();
      const InjectionResult x = a.inject(dr.fault, input), y = b.inject(dr.fault, input);
      differing += x.outcome != y.outcome || x.top1 != y.top1 ? 1 : 0;
      faulty += x.outcome != Outcome::kMasked ? 1 : 0;
    }
    CHECK(differing == 0);
    CHECK(faulty > 0);
  }
}

TEST_CASE("control faults: an illegal state or a runaway job counter hangs, an address off the map traps",
          "[fault][inject]") {
  Digits& d = digits();
  Injector inj(d.net, d.plan, d.sites, d.goldens, d.io);
  Fault f;
  f.site = d.site("control conv2");
  f.cycle = d.sites.sites[f.site].window_start;
  f.bit = 96;  // fsm_state
  CHECK(inj.inject(f, 0).outcome == Outcome::kDue);
  f.bit = 64 + 15;  // job_counter bit 15: past the total, the counter wraps after ~32k jobs
  CHECK(inj.inject(f, 0).outcome == Outcome::kDue);
  f.bit = 31;  // ifm_base bit 31: 0xa0000000 is outside the SRAM
  CHECK(inj.inject(f, 0).outcome == Outcome::kDue);
}

TEST_CASE("DRAM weights with SECDED: single flips are corrected, adjacent double flips detected",
          "[fault][inject][secded]") {
  Digits plain("ethos-u55-128-dram", false), ecc("ethos-u55-128-dram", true);
  FaultModel single, dbl;
  dbl.kind = FaultModelKind::kMultiBit;
  dbl.width = 2;
  auto run = [](Digits& d, FaultModel m, Outcome o, uint64_t words = 4) {
    InjectorOptions io = d.io;
    io.model = m;
    Injector inj(d.net, d.plan, d.sites, d.goldens, io);
    const size_t s = d.site("dram weights conv1");
    int count = 0;
    const uint64_t w = static_cast<uint64_t>(d.sites.sites[s].word_bits);
    for (uint64_t word = 0; word < words; ++word)
      for (uint64_t pos = 0; pos + 1 < w; ++pos) {
        Fault f;
        f.site = s, f.bit = word * w + pos, f.cycle = 0;
        count += inj.inject(f, 0).outcome == o ? 1 : 0;
      }
    return count;
  };
  const int positions = 4 * (kCodewordBits - 1);
  CHECK(run(ecc, single, Outcome::kMasked) == positions);
  CHECK(run(ecc, dbl, Outcome::kDue) == positions);
  // Unprotected: some flips of conv1's weights reach the output.
  const uint64_t words = plain.sites.sites[plain.site("dram weights conv1")].bits / 64;
  CHECK(run(plain, single, Outcome::kMasked, words) < static_cast<int>(words * 63));
}
