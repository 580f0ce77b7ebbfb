// Windowing ("LLM in a flash"): the rule keeps exactly the chunks of the last K tokens,
// its matrices close holes by moving their last rows, and their copies are accounted.
#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "models/cache/weight_store.hpp"
#include "sim/core/registry.hpp"
#include "sim/weight_placement.hpp"
#include "test_helpers.hpp"

using namespace edgesim;
using namespace edgesim::cache;

namespace {

std::unique_ptr<Replacement> window(uint64_t k) {
  const auto& e = Registry<Replacement>::instance().at("window", "test");
  return e.make(config::Params(*e.params, {{"window_tokens", k}}, "test"));
}

uint32_t tensor(const traces::ModelLayout& l, const std::string& name) {
  for (uint32_t i = 0; i < l.tensors().size(); ++i) {
    if (l.tensors()[i].name == name) return i;
  }
  FAIL("no tensor " << name);
  return 0;
}

ChunkSet list(std::vector<uint32_t> ids) {
  ChunkSet s;
  s.set_list();
  s.ids = std::move(ids);
  return s;
}

// One cached tensor (the tiny model's layer-0 down projection: 128 chunks of 128 B) under a
// window of `k` tokens, with room for `capacity_chunks` of its chunks.
struct Fixture {
  traces::ModelLayout layout = test::tiny_layout();
  uint32_t down = tensor(layout, "layers.0.mlp.down");
  uint64_t cb = layout.tensors()[down].chunk_bytes;
  uint32_t first = layout.tensors()[down].first_chunk;
  const uint64_t* none = nullptr;

  WeightStore store(uint64_t k, uint64_t capacity_chunks) {
    StoreSettings s;
    s.placement.assign(layout.tensors().size(), Placement::Dram);
    s.placement[down] = Placement::Cache;
    s.cache_capacity = capacity_chunks * cb;
    s.staging_traffic = false;
    return WeightStore(sim::store_tensors(layout), s, [k] { return window(k); });
  }
  // Token `step` reads `ids` of the tensor.
  LoadCost token(WeightStore& ws, uint64_t step, std::vector<uint32_t> ids) {
    LoadCost cost;
    ws.begin_step(step, cost);
    ws.access(down, list(std::move(ids)), cost, none);
    return cost;
  }
  std::set<uint32_t> resident(const WeightStore& ws) const {
    std::set<uint32_t> r;
    for (uint32_t c = 0; c < layout.tensors()[down].chunks; ++c) {
      if (ws.resident(first + c)) r.insert(c);
    }
    return r;
  }
};

}  // namespace

TEST_CASE("the window keeps exactly the chunks used in the last K tokens", "[cache][window]") {
  Fixture f;
  WeightStore ws = f.store(2, 128);
  REQUIRE(ws.by_step());
  // Worked by hand with K = 2: after token t, DRAM holds what tokens t-1 and t used.
  LoadCost c = f.token(ws, 0, {0, 1, 2});
  CHECK(c.misses == 3);
  CHECK(f.resident(ws) == std::set<uint32_t>{0, 1, 2});
  c = f.token(ws, 1, {2, 3});
  CHECK(c.hits == 1);  // 2
  CHECK(c.misses == 1);
  CHECK(f.resident(ws) == std::set<uint32_t>{0, 1, 2, 3});
  c = f.token(ws, 2, {3, 4});  // 0 and 1 were last used at token 0: out
  CHECK(c.hits == 1);
  CHECK(c.rows_deleted == 2);
  CHECK(f.resident(ws) == std::set<uint32_t>{2, 3, 4});
  c = f.token(ws, 3, {0});  // 0 comes back from flash; 2 (token 1) goes
  CHECK(c.misses == 1);
  CHECK(f.resident(ws) == std::set<uint32_t>{0, 3, 4});
  // Token 4 does not read the tensor: when token 5 begins, what token 4's window no
  // longer holds (3 and 4, last used at token 2) is dropped even so.
  c = {};
  ws.begin_step(4, c);
  CHECK(f.resident(ws) == std::set<uint32_t>{0, 3, 4});
  ws.begin_step(5, c);
  CHECK(c.rows_deleted == 2);
  CHECK(f.resident(ws) == std::set<uint32_t>{0});
  // The matrix never held more than 4 rows (after token 1).
  CHECK(ws.peak_rows_bytes() == 4 * f.cb);
}

TEST_CASE("the window's residency equals the union of the last K tokens' sets", "[cache][window]") {
  for (uint64_t k : {1, 3, 7}) {
    Fixture f;
    WeightStore ws = f.store(k, 128);
    std::mt19937 rng(static_cast<unsigned>(k));
    std::vector<std::set<uint32_t>> used;
    for (uint64_t t = 0; t < 40; ++t) {
      std::set<uint32_t> s;
      // Overlapping sets from a drifting range, as consecutive tokens' neurons would be.
      const uint32_t base = static_cast<uint32_t>(t * 2 % 96);
      for (int i = 0; i < 12; ++i) s.insert(base + rng() % 32);
      used.push_back(s);
      const LoadCost c = f.token(ws, t, {s.begin(), s.end()});
      std::set<uint32_t> expect, before;
      for (uint64_t u = t + 1 > k ? t + 1 - k : 0; u <= t; ++u) expect.insert(used[u].begin(), used[u].end());
      for (uint64_t u = t > k ? t - k : 0; u < t; ++u) before.insert(used[u].begin(), used[u].end());
      INFO("K " << k << ", token " << t);
      REQUIRE(f.resident(ws) == expect);
      // Only chunks not kept from the last K tokens are read from flash.
      uint64_t misses = 0;
      for (uint32_t x : s) misses += before.count(x) == 0;
      CHECK(c.misses == misses);
      CHECK(c.rows_inserted == misses);
    }
  }
}

TEST_CASE("memory management moves the last rows into the holes and counts the copies", "[cache][window]") {
  Fixture f;
  WeightStore ws = f.store(1, 128);
  // K = 1: only the current token's chunks stay. Token 0 writes 5 rows: [0 1 2 3 4].
  LoadCost c = f.token(ws, 0, {0, 1, 2, 3, 4});
  CHECK(c.rows_inserted == 5);
  CHECK(c.rows_deleted == 0);
  CHECK(c.rows_moved == 0);
  CHECK(c.mm_read_bytes == 5 * f.cb);  // each new row copied from the read buffer
  CHECK(c.mm_write_bytes == 5 * f.cb);
  // Token 1 keeps 1 and 4, deletes 0, 2, 3 and adds 5. Holes at rows 0, 2, 3: row 4
  // (chunk 4) moves into row 0; rows 3 and 2 are holes at the end and just go: [4 1].
  // Then 5 is written at row 2: one move and one insert, each a read and a write.
  c = f.token(ws, 1, {1, 4, 5});
  CHECK(c.hits == 2);
  CHECK(c.rows_deleted == 3);
  CHECK(c.rows_moved == 1);
  CHECK(c.rows_inserted == 1);
  CHECK(c.mm_read_bytes == 2 * f.cb);
  CHECK(c.mm_write_bytes == 2 * f.cb);
  CHECK(ws.used() == 3 * f.cb);
  CHECK(ws.peak_rows_bytes() == 5 * f.cb);
  // Token 2 keeps only 1 (row 1) and deletes 4 (row 0) and 5 (row 2): row 2 is a hole at
  // the end and goes, then 1 moves from row 1 into row 0. One move.
  c = f.token(ws, 2, {1});
  CHECK(c.rows_deleted == 2);
  CHECK(c.rows_moved == 1);
  CHECK(c.mm_read_bytes == f.cb);
  CHECK(f.resident(ws) == std::set<uint32_t>{1});
}

TEST_CASE("a window larger than its capacity drops the chunk used longest ago", "[cache][window]") {
  Fixture f;
  WeightStore ws = f.store(3, 2);
  f.token(ws, 0, {0});
  f.token(ws, 1, {1});
  LoadCost c = f.token(ws, 2, {2});  // the window wants {0, 1, 2}; room for 2
  CHECK(c.rows_deleted == 1);
  CHECK(f.resident(ws) == std::set<uint32_t>{1, 2});
  c = f.token(ws, 3, {1, 3});  // 1 used again; 2 is now the oldest
  CHECK(c.hits == 1);
  CHECK(f.resident(ws) == std::set<uint32_t>{1, 3});
}

TEST_CASE("the window rule rejects a window of 0 tokens", "[cache][window]") {
  const auto& e = Registry<Replacement>::instance().at("window", "test");
  CHECK_THROWS_WITH(config::Params(*e.params, {{"window_tokens", 0}}, "weight_store"),
                    Catch::Contains("weight_store.window_tokens"));
}
