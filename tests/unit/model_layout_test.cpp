#include <catch2/catch.hpp>

#include "sim/core/errors.hpp"
#include "test_helpers.hpp"

using namespace edgesim;
using namespace edgesim::traces;

TEST_CASE("Phi-3-medium expands to its 14 billion parameters", "[layout]") {
  const auto l = test::tiny_layout({{"name", "phi3-medium"},
                                    {"layers", 40},
                                    {"hidden_size", 5120},
                                    {"intermediate_size", 17920},
                                    {"heads", 40},
                                    {"kv_heads", 10},
                                    {"vocab_size", 32064},
                                    {"max_context", 4096}});
  // Per layer: q 5120x5120, k and v 1280x5120, o 5120x5120, gate/up/down 3 x 5120x17920, two norms.
  const uint64_t per_layer = 5120ull * 5120 * 2 + 1280ull * 5120 * 2 + 3ull * 5120 * 17920 + 2 * 5120;
  const uint64_t params = 40 * per_layer + 2ull * 32064 * 5120 + 5120;
  CHECK(params == 13'960'238'080ull);  // 13.96 B, as the model card says (14 B)
  CHECK(l.total_weight_bytes() == 2 * params);
  CHECK(l.ops().size() == 2 + 4 * 40);
  CHECK(l.kv_bytes_per_position() == 40ull * 2 * 1280 * 2);  // 200 KiB per token
}

TEST_CASE("chunks are columns of linear layers and rows of the embedding", "[layout]") {
  const auto l = test::tiny_layout();
  const Tensor& embed = l.tensors()[0];
  CHECK(embed.chunks == 256u);
  CHECK(embed.chunk_bytes == 64u * 2);
  for (const auto& t : l.tensors()) {
    if (t.name == "layers.1.mlp.down") {
      CHECK(t.chunks == 128u);          // one per input feature (intermediate)
      CHECK(t.chunk_bytes == 64u * 2);  // a column: hidden outputs x 2 bytes
    }
  }
  // Chunk ids follow the flash image: consecutive tensors are consecutive.
  for (size_t i = 1; i < l.tensors().size(); ++i) {
    CHECK(l.tensors()[i].first_chunk == l.tensors()[i - 1].first_chunk + l.tensors()[i - 1].chunks);
    CHECK(l.tensors()[i].flash_offset == l.tensors()[i - 1].flash_offset + l.tensors()[i - 1].bytes());
  }
  CHECK(l.tensor_of_chunk(0) == 0u);
  CHECK(l.tensor_of_chunk(l.total_chunks() - 1) == l.tensors().size() - 1);
}

TEST_CASE("int4 halves int8's bytes and whole-tensor chunking makes one chunk per tensor", "[layout]") {
  const auto i8 = test::tiny_layout({{"weight_dtype", "int8"}});
  const auto i4 = test::tiny_layout({{"weight_dtype", "int4"}});
  const auto whole = test::tiny_layout({{"chunking", "tensor"}});
  CHECK(i8.tensors()[5].bytes() == 2 * i4.tensors()[5].bytes());
  for (const auto& t : whole.tensors()) CHECK(t.chunks == 1u);
  CHECK(whole.total_weight_bytes() == test::tiny_layout().total_weight_bytes());
}

TEST_CASE("a dense step costs two FLOPs per weight plus attention over the context", "[layout]") {
  const auto l = test::tiny_layout();
  const OpSpec& attn = l.ops()[1];
  REQUIRE(attn.kind == OpKind::Attention);
  std::vector<ChunkSet> sets(attn.tensors.size());
  for (auto& s : sets) s.set_all();
  // q 64x64, k and v 32x64; attention over 10 positions: 2 x 2 x 4 heads x 16 x 10.
  CHECK(l.op_flops(attn, sets, 9) == 2 * (64 * 64 + 2 * 32 * 64) + 2 * 2 * 4 * 16 * 10);
  // KV traffic: read 9 earlier positions, write one; per layer 2 x 2 heads x 16 x 2 B = 128 B.
  CHECK(l.op_kv_read_bytes(attn, 9) == 128u * 9);
  CHECK(l.op_kv_write_bytes(attn) == 128u);
  CHECK(l.op_kv_write_bytes(l.ops()[2]) == 0u);
  sets[1].set_list();
  sets[1].ids = {0, 1, 2};
  CHECK(l.op_flops(attn, sets, 0) == 2 * (64 * 3 + 2 * 32 * 64) + 2 * 2 * 4 * 16);
}

TEST_CASE("impossible model shapes are rejected", "[layout]") {
  CHECK_THROWS_WITH(test::tiny_layout({{"kv_heads", 3}}), Catch::Contains("model.kv_heads"));
  CHECK_THROWS_WITH(test::tiny_layout({{"heads", 5}}), Catch::Contains("model.head_dim"));
  CHECK_THROWS_AS(test::tiny_layout({{"layers", 0}}), InputError);
}
