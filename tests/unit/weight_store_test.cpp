#include <catch2/catch.hpp>

#include "models/cache/weight_store.hpp"
#include "sim/core/pattern.hpp"
#include "sim/core/registry.hpp"
#include "sim/weight_placement.hpp"
#include "test_helpers.hpp"

using namespace edgesim;
using namespace edgesim::cache;

namespace {

std::unique_ptr<Replacement> make(const std::string& name) {
  const auto& e = Registry<Replacement>::instance().at(name, "test");
  return e.make(config::Params(*e.params, nlohmann::json::object(), "test"));
}

// Index of tensor `name` in the layout.
uint32_t tensor(const traces::ModelLayout& l, const std::string& name) {
  for (uint32_t i = 0; i < l.tensors().size(); ++i) {
    if (l.tensors()[i].name == name) return i;
  }
  FAIL("no tensor " << name);
  return 0;
}

struct Fixture {
  traces::ModelLayout layout = test::tiny_layout();
  uint32_t down = tensor(layout, "layers.0.mlp.down");  // 128 chunks of 64 x 2 B = 128 B
  uint64_t cb = layout.tensors()[down].chunk_bytes;

  WeightStore store(const std::string& policy, uint64_t capacity_chunks, Placement where = Placement::Cache) {
    StoreSettings s;
    s.placement.assign(layout.tensors().size(), Placement::Dram);
    s.placement[down] = where;
    s.cache_capacity = capacity_chunks * cb;
    s.staging_traffic = false;
    return WeightStore(sim::store_tensors(layout), s, [&] { return make(policy); });
  }
};

ChunkSet list(std::initializer_list<uint32_t> ids) {
  ChunkSet s;
  s.set_list();
  s.ids = ids;
  return s;
}

// Scans chunks [0, n) of the tensor `passes` times, one chunk per access (as successive
// ops would); returns total hits.
uint64_t cyclic_scan(WeightStore& ws, uint32_t tensor, uint32_t n, int passes, const uint64_t* future) {
  LoadCost cost;
  for (int p = 0; p < passes; ++p) {
    for (uint32_t i = 0; i < n; ++i) ws.access(tensor, list({i}), cost, future);
  }
  return cost.hits;
}

std::vector<traces::Step> scan_steps(const traces::ModelLayout& l, uint32_t op_index, size_t tensor_pos,
                                     uint32_t n, int passes) {
  std::vector<traces::Step> steps(passes);
  for (auto& st : steps) {
    traces::OpAccess op;
    op.op = op_index;
    op.sets.resize(l.ops()[op_index].tensors.size());
    op.sets[tensor_pos].set_list();
    for (uint32_t i = 0; i < n; ++i) op.sets[tensor_pos].ids.push_back(i);
    st.ops.push_back(op);
  }
  return steps;
}

}  // namespace

TEST_CASE("LRU smaller than a cyclic scan never hits, while OPT keeps what it can", "[cache]") {
  Fixture f;
  // A 10-chunk loop, 5 passes, 4 chunks of cache.
  auto lru = f.store("lru", 4);
  CHECK(cyclic_scan(lru, f.down, 10, 5, nullptr) == 0);
  auto fifo = f.store("fifo", 4);
  CHECK(cyclic_scan(fifo, f.down, 10, 5, nullptr) == 0);

  auto opt = f.store("opt", 4);
  uint32_t op_index = 0;
  for (uint32_t o = 0; o < f.layout.ops().size(); ++o) {
    if (f.layout.ops()[o].tensors[0] == f.down) op_index = o;
  }
  const auto future = sim::future_uses(opt, f.layout, scan_steps(f.layout, op_index, 0, 10, 5));
  REQUIRE(future.size() == 50);
  // OPT (with bypass) keeps chunks 0..3 for good: 4 hits in each of the 4 later passes.
  CHECK(cyclic_scan(opt, f.down, 10, 5, future.data()) == 16);
}

TEST_CASE("LRU keeps a loop that fits after the first pass", "[cache]") {
  Fixture f;
  auto lru = f.store("lru", 10);
  CHECK(cyclic_scan(lru, f.down, 10, 3, nullptr) == 20);
  CHECK(lru.used() == 10 * f.cb);
}

TEST_CASE("LRU evicts the least recently used chunk, FIFO the oldest insert", "[cache]") {
  Fixture f;
  const uint64_t* none = nullptr;
  for (const char* name : {"lru", "fifo"}) {
    auto ws = f.store(name, 2);
    LoadCost c;
    ws.access(f.down, list({0}), c, none);
    ws.access(f.down, list({1}), c, none);
    ws.access(f.down, list({0}), c, none);  // hit: LRU refreshes 0, FIFO does not
    ws.access(f.down, list({2}), c, none);  // evicts 1 (LRU) or 0 (FIFO)
    const uint32_t first = f.layout.tensors()[f.down].first_chunk;
    if (std::string(name) == "lru") {
      CHECK(ws.resident(first + 0));
      CHECK_FALSE(ws.resident(first + 1));
    } else {
      CHECK_FALSE(ws.resident(first + 0));
      CHECK(ws.resident(first + 1));
    }
    CHECK(ws.resident(first + 2));
  }
}

TEST_CASE("LFU evicts the least frequently used chunk, the least recent among equals", "[cache]") {
  Fixture f;
  const uint64_t* none = nullptr;
  auto ws = f.store("lfu", 3);
  LoadCost c;
  for (int i = 0; i < 3; ++i) ws.access(f.down, list({0}), c, none);  // 0: 3 uses
  ws.access(f.down, list({1}), c, none);
  ws.access(f.down, list({1}), c, none);  // 1: 2 uses
  ws.access(f.down, list({2}), c, none);  // 2: 1 use
  ws.access(f.down, list({3}), c, none);  // evicts 2
  const uint32_t first = f.layout.tensors()[f.down].first_chunk;
  CHECK_FALSE(ws.resident(first + 2));
  ws.access(f.down, list({4}), c, none);  // 3 and 4... 3 has 1 use, the least: evicted
  CHECK_FALSE(ws.resident(first + 3));
  CHECK(ws.resident(first + 0));
  CHECK(ws.resident(first + 1));
  CHECK(ws.resident(first + 4));
  CHECK(c.hits == 3);  // the repeats of 0 (2) and 1 (1)
}

TEST_CASE("consecutive missing chunks coalesce into one flash read", "[cache]") {
  Fixture f;
  const uint64_t* none = nullptr;
  SECTION("flash-only tensor") {
    auto ws = f.store("lru", 0, Placement::Flash);
    LoadCost c;
    ws.access(f.down, list({0, 1, 2, 5, 6, 9}), c, none);
    CHECK(c.flash_runs == std::vector<uint64_t>{3 * f.cb, 2 * f.cb, 1 * f.cb});
    CHECK(c.flash_bytes == 6 * f.cb);
    CHECK(c.dram_read_bytes == 0);
  }
  SECTION("cached tensor: resident chunks split the runs and are read from DRAM") {
    auto ws = f.store("lru", 100);
    LoadCost warm;
    ws.access(f.down, list({2, 7}), warm, none);
    LoadCost c;
    ws.access(f.down, list({0, 1, 2, 3, 4, 7, 8, 10}), c, none);
    CHECK(c.hits == 2);
    CHECK(c.misses == 6);
    CHECK(c.flash_runs == std::vector<uint64_t>{2 * f.cb, 2 * f.cb, 1 * f.cb, 1 * f.cb});
    CHECK(c.dram_read_bytes == 2 * f.cb);
  }
  SECTION("a whole flash-only tensor is one read") {
    auto ws = f.store("lru", 0, Placement::Flash);
    LoadCost c;
    ChunkSet all;
    all.set_all();
    ws.access(f.down, all, c, none);
    CHECK(c.flash_runs == std::vector<uint64_t>{f.layout.tensors()[f.down].bytes()});
  }
}

TEST_CASE("staging traffic counts flash data written to and read from DRAM", "[cache]") {
  Fixture f;
  StoreSettings s;
  s.placement.assign(f.layout.tensors().size(), Placement::Dram);
  s.placement[f.down] = Placement::Flash;
  s.staging_traffic = true;
  WeightStore ws(sim::store_tensors(f.layout), s, [] { return make("lru"); });
  LoadCost c;
  const uint64_t* none = nullptr;
  ws.access(f.down, list({0, 1}), c, none);
  CHECK(c.dram_write_bytes == 2 * f.cb);
  CHECK(c.dram_read_bytes == 2 * f.cb);
}

TEST_CASE("placement patterns match a class, its prefix, its last part or everything", "[cache]") {
  CHECK(pattern_matches("*", "mlp.up"));
  CHECK(pattern_matches("attn", "attn.q"));
  CHECK(pattern_matches("norm", "mlp.norm"));
  CHECK(pattern_matches("mlp.down", "mlp.down"));
  CHECK_FALSE(pattern_matches("mlp", "lm_head"));
  CHECK_FALSE(pattern_matches("att", "attn.q"));
  const auto layout = test::tiny_layout();
  const auto p = sim::place_tensors(layout, {"norm", "attn"}, true);
  for (size_t i = 0; i < p.size(); ++i) {
    const auto& k = layout.tensors()[i].klass;
    const bool pinned = k.find("norm") != std::string::npos || k.rfind("attn", 0) == 0;
    CHECK((p[i] == Placement::Dram) == pinned);
  }
  CHECK(sim::place_tensors(layout, {}, false)[0] == Placement::Flash);
}

TEST_CASE("an op's chunks are looked up before its misses are inserted", "[cache]") {
  // One op reads 10 chunks through a 4-chunk LRU cache. Its hits are what the cache held
  // before the op (the last 4 inserted by the previous pass), read from DRAM before the
  // op's misses are inserted and evict them: 4 hits per pass after the first.
  Fixture f;
  auto lru = f.store("lru", 4);
  ChunkSet all10;
  all10.set_list();
  for (uint32_t i = 0; i < 10; ++i) all10.ids.push_back(i);
  LoadCost cost;
  const uint64_t* none = nullptr;
  lru.access(f.down, all10, cost, none);
  CHECK(cost.hits == 0);
  cost.clear();
  lru.access(f.down, all10, cost, none);
  CHECK(cost.hits == 4);
  CHECK(cost.misses == 6);
  // Then the 6 misses went in, the last 4 of them staying: chunks 2-5.
  for (uint32_t c = 0; c < 10; ++c) {
    CHECK(lru.resident(f.layout.tensors()[f.down].first_chunk + c) == (c >= 2 && c < 6));
  }
}

TEST_CASE("a per-tensor cache splits the capacity evenly, each part with its own replacement", "[cache]") {
  auto layout = test::tiny_layout();
  const uint32_t gate = tensor(layout, "layers.0.mlp.gate"), down = tensor(layout, "layers.0.mlp.down");
  StoreSettings s;
  s.placement.assign(layout.tensors().size(), Placement::Dram);
  s.placement[gate] = s.placement[down] = Placement::Cache;
  const uint64_t cb = layout.tensors()[down].chunk_bytes;
  REQUIRE(layout.tensors()[gate].chunk_bytes == 2 * cb);  // gate columns are twice as tall
  s.cache_capacity = 8 * cb;
  s.staging_traffic = false;
  s.partition_per_tensor = true;
  WeightStore ws(sim::store_tensors(layout), s, [] { return make("lru"); });
  REQUIRE(ws.partitions() == 2);
  // 4 * cb each: 4 down chunks or 2 gate chunks; filling one never evicts the other.
  LoadCost cost;
  const uint64_t* none = nullptr;
  ChunkSet d, g;
  d.set_list();
  g.set_list();
  for (uint32_t i = 0; i < 4; ++i) d.ids.push_back(i);
  for (uint32_t i = 0; i < 6; ++i) g.ids.push_back(i);
  ws.access(down, d, cost, none);
  ws.access(gate, g, cost, none);
  cost.clear();
  ws.access(down, d, cost, none);
  CHECK(cost.hits == 4);
  cost.clear();
  ws.access(gate, g, cost, none);
  CHECK(cost.hits == 2);  // the 2 gate chunks inserted last were still there
  CHECK(ws.used() == 8 * cb);
}
