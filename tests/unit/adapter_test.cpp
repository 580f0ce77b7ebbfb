// Adapters: what each method adds per token and what each switch moves, against hand
// computation on the tiny model; the schedule's events; bad adapter sections.
#include <catch2/catch.hpp>

#include "sim/core/errors.hpp"
#include "tests/unit/test_helpers.hpp"
#include "traces/adapter.hpp"

using namespace edgesim;
using nlohmann::json;
using traces::Adapter;
using traces::TensorHome;

namespace {

const traces::ModelLayout& layout() {
  static const traces::ModelLayout l = test::tiny_layout();
  return l;
}

Adapter make(json section) {
  return Adapter(config::Params(Adapter::param_table(), section, "adapter"), layout());
}

// The tiny model's attn.q is 64 x 64 fp16: 8,192 bytes, in 2 layers.
const json kQ = {{"targets", {"attn.q"}}, {"rank", 4}};

json with(json base, const json& over) {
  base.merge_patch(over);
  return base;
}

TensorHome pinned(uint32_t) {
  return {false, 8192};
}
TensorHome in_flash(uint32_t) {
  return {true, 0};
}

}  // namespace

TEST_CASE("unfused LoRA reads A and B and computes 2 r (rows + cols) per target, each token", "[adapter]") {
  const Adapter a = make(with(kQ, {{"method", "lora_unfused"}, {"concurrent", 2}}));
  REQUIRE(a.targets().size() == 2);
  // A (4 x 64) and B (64 x 4) in fp16: 2 x 4 x 128 = 1,024 bytes per tensor.
  CHECK(a.stored_bytes() == 2048);
  const traces::OpSpec& attn = layout().ops()[1];
  REQUIRE(attn.kind == traces::OpKind::Attention);
  const auto one = a.op_cost(attn, 0b01);
  CHECK(one.dram_read_bytes == 1024);
  CHECK(one.flops == 2 * 4 * 128);
  CHECK(one.kernels == 2);
  const auto two = a.op_cost(attn, 0b11);  // two adapters at once: twice the work
  CHECK(two.dram_read_bytes == 2048);
  CHECK(two.kernels == 4);
  CHECK(a.op_cost(layout().ops()[2], 0b01).flops == 0);  // attn_out is not a target
  CHECK(a.dram_bytes(0b11) == 4096);
}

TEST_CASE("fused LoRA adds nothing per token", "[adapter]") {
  const Adapter a = make(with(kQ, {{"method", "lora_fused"}}));
  CHECK(a.op_cost(layout().ops()[1], 0b01).flops == 0);
  CHECK(a.dram_bytes(0b01) == 0);
}

TEST_CASE("switching an unfused LoRA reads the new A and B from flash into DRAM", "[adapter]") {
  const Adapter a = make(with(kQ, {{"method", "lora_unfused"}}));
  const auto c = a.switch_cost(0b01, 0b10, pinned, 4096);
  CHECK(c.flash_reads == std::vector<uint64_t>{2048});
  CHECK(c.dram_write_bytes == 2048);
  CHECK(c.dram_read_bytes == 0);
  CHECK(c.flash_write_bytes == 0);
  CHECK(c.flops == 0);
  CHECK(a.switch_cost(0b01, 0b01, pinned, 4096).empty());
}

TEST_CASE("re-fusing a LoRA reads W, the old and new A and B, and writes W back where it lives",
          "[adapter]") {
  const Adapter a = make(with(kQ, {{"method", "lora_fused"}}));
  // Pinned W: read and written in DRAM (2 tensors x 8,192 bytes); both adapters' files
  // (2,048 bytes each) from flash; B A and the addition, out and in: 2 x (2 r + 1) x 4096
  // per tensor.
  const auto dram = a.switch_cost(0b01, 0b10, pinned, 4096);
  CHECK(dram.dram_read_bytes == 16384);
  CHECK(dram.dram_write_bytes == 16384);
  CHECK(dram.flash_reads == std::vector<uint64_t>{2048, 2048});
  CHECK(dram.flash_write_bytes == 0);
  CHECK(dram.flops == 2 * 2 * (2 * 4 + 1) * 4096);
  // W in flash: read from flash and written back to flash.
  const auto flash = a.switch_cost(0b01, 0b10, in_flash, 4096);
  CHECK(flash.flash_reads == std::vector<uint64_t>{8192, 8192, 2048, 2048});
  CHECK(flash.flash_write_bytes == 16384);
  CHECK(flash.dram_read_bytes == 0);
  // The first fuse (from no adapter) has only the new adapter to add.
  CHECK(a.switch_cost(0, 0b01, pinned, 4096).flops == 2 * (2 * 4 + 1) * 4096);
}

TEST_CASE("a SHiRA switch scatters the new weights and restores the previous ones", "[adapter]") {
  const Adapter a = make(with(kQ, {{"method", "shira"}, {"sparsity", 0.01}}));
  // round(0.01 x 4096) = 41 weights per tensor, each a 32-bit index and a 16-bit value:
  // 41 x 6 = 246 bytes per tensor, 492 per adapter.
  CHECK(a.shira_nonzeros(layout().tensors()[a.targets()[0]]) == 41);
  CHECK(a.stored_bytes() == 492);
  // 41 random positions in 128 bursts of 64 bytes touch 128 (1 - (127/128)^41) = 35.2 -> 35.
  CHECK(Adapter::touched_units(8192, 64, 41) == Approx(35.19876));
  const uint64_t touched = 35 * 64;
  // Loading one (from none): file from flash into DRAM (492), read back to scatter (2 x 246),
  // base values kept (2 x 246), touched bursts read and written per tensor.
  const auto load = a.switch_cost(0, 0b01, pinned, 4096);
  CHECK(load.flash_reads == std::vector<uint64_t>{492});
  CHECK(load.dram_write_bytes == 492 + 2 * 246 + 2 * touched);
  CHECK(load.dram_read_bytes == 2 * 246 + 2 * touched);
  CHECK(load.flash_write_bytes == 0);
  // Switching: the old one restored (its kept values read back) and the new one scattered:
  // twice the bursts.
  const auto sw = a.switch_cost(0b01, 0b10, pinned, 4096);
  CHECK(sw.dram_read_bytes == 2 * 246 + 2 * 246 + 2 * 2 * touched);
  CHECK(sw.dram_write_bytes == 492 + 2 * 246 + 2 * 2 * touched);
  // In flash, every touched 4 KiB page is read and written back: 41 positions in 2 pages
  // touch both, for each of the two changes.
  const auto fl = a.switch_cost(0b01, 0b10, in_flash, 4096);
  CHECK(fl.flash_write_bytes == 2 * 2 * 2 * 4096);
  CHECK(a.dram_bytes(0b01) == 492);
}

TEST_CASE("expected touched units: one position touches one unit, many touch them all", "[adapter]") {
  CHECK(Adapter::touched_units(4096, 64, 1) == Approx(1.0));
  CHECK(Adapter::touched_units(4096, 64, 100000) == Approx(64.0));
  CHECK(Adapter::touched_units(0, 64, 5) == 0.0);
}

TEST_CASE("switch_every rotates through the library and each change is one event", "[adapter]") {
  const Adapter a = make(with(kQ, {{"method", "lora_unfused"}, {"adapters", 3}, {"switch_every", 3}}));
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  for (uint64_t s = 0; s < 10; ++s) {
    std::vector<traces::Event> ev;
    a.events_at(s, ev);
    for (const auto& e : ev) {
      CHECK(e.type == traces::kEventAdapterSet);
      seen.push_back({s, e.value});
    }
  }
  CHECK(seen == std::vector<std::pair<uint64_t, uint64_t>>{{0, 1}, {3, 2}, {6, 4}, {9, 1}});
}

TEST_CASE("an explicit schedule may hold two adapters at once where the method allows it", "[adapter]") {
  const Adapter a = make(
      with(kQ, {{"method", "shira"}, {"concurrent", 2}, {"schedule", {"0:1", "4:0+1", "5:0+1", "9:0"}}}));
  CHECK(a.active_at(0) == 0b10);
  CHECK(a.active_at(4) == 0b11);
  CHECK(a.active_at(8) == 0b11);
  CHECK(a.active_at(9) == 0b01);
  std::vector<traces::Event> ev;
  a.events_at(5, ev);  // same set as before: no event
  CHECK(ev.empty());
  CHECK(a.peak_dram_bytes(20) == 2 * a.stored_bytes());
  CHECK(a.peak_dram_bytes(4) == a.stored_bytes());
}

TEST_CASE("bad adapter sections are input errors naming the key", "[adapter]") {
  CHECK_THROWS_WITH(make(with(kQ, {{"method", "lora_fused"}, {"concurrent", 2}})),
                    Catch::Contains("adapter.concurrent"));
  CHECK_THROWS_WITH(make(with(kQ, {{"method", "lora_unfused"}, {"schedule", {"0:0", "4:7"}}})),
                    Catch::Contains("adapter.schedule[1]") && Catch::Contains("adapter id 7"));
  CHECK_THROWS_WITH(make(with(kQ, {{"method", "shira"}, {"schedule", {"4:0", "2:1"}}})),
                    Catch::Contains("steps must increase"));
  CHECK_THROWS_WITH(make(with(kQ, {{"method", "shira"}, {"schedule", {"4:0+1"}}})),
                    Catch::Contains("more than adapter.concurrent"));
  CHECK_THROWS_WITH(make(with(kQ, {{"method", "shira"}, {"targets", {"mlp.gatee"}}})),
                    Catch::Contains("adapter.targets[0]"));
  CHECK_THROWS_WITH(make(with(kQ, {{"method", "lora"}})), Catch::Contains("adapter.method"));
  CHECK_THROWS_WITH(make(with(kQ, {{"method", "shira"}, {"switch_every", 2}, {"schedule", {"0:1"}}})),
                    Catch::Contains("not both"));
}
