// Weight formats: bits per weight of every format against hand computation (overheads
// included, GPTVQ's count for VQ), chunk bytes and their rounding, and bad format strings.
#include <catch2/catch.hpp>

#include "sim/core/errors.hpp"
#include "tests/unit/test_helpers.hpp"
#include "traces/weight_format.hpp"

using namespace edgesim;
using traces::parse_format;

namespace {
double bpw(const std::string& text, uint64_t rows, uint64_t cols) {
  return parse_format(text, "model.weight_format").bits_per_weight(rows, cols);
}
}  // namespace

TEST_CASE("floating formats take their element size and nothing more", "[format]") {
  CHECK(bpw("fp16", 4096, 4096) == 16.0);
  CHECK(bpw("bf16", 4096, 4096) == 16.0);
  CHECK(bpw("fp32", 64, 64) == 32.0);
}

TEST_CASE("int8 with a per-output-channel scale costs 8 + scale_bits / cols bits per weight", "[format]") {
  // 64 rows x 128 cols: 8 x 8192 + 64 scales x 16 bits = 66,560 bits = 8.125 bits per weight.
  CHECK(parse_format("int8", "p").tensor_bits(64, 128) == 66560);
  CHECK(bpw("int8", 64, 128) == 8.125);
  CHECK(bpw("int8 s32", 4096, 4096) == Approx(8.0 + 32.0 / 4096));
}

TEST_CASE("int4 pays a scale and a zero point per group of each row", "[format]") {
  // W4 g128 with a 16-bit scale: 4 + 16 / 128 = 4.125 (the point GPTVQ compares with).
  CHECK(bpw("int4", 4096, 4096) == 4.125);
  CHECK(bpw("int4 g128 s16 z4", 4096, 4096) == 4.15625);  // 4 + 20 / 128
  // 64 x 128, groups of 32: 4 groups a row, 20 bits each: 32,768 + 64 x 4 x 20 = 37,888.
  CHECK(parse_format("int4 g32 s16 z4", "p").tensor_bits(64, 128) == 37888);
  // A row shorter than a group still has one group: 128 x 64 with g128 -> 128 scales.
  CHECK(parse_format("int4", "p").tensor_bits(128, 64) == 4 * 8192 + 128 * 16);
}

TEST_CASE("VQ bits per weight are index bits plus the codebook overhead k d c / group (GPTVQ)", "[format]") {
  // 2-D, 3 bits per dimension (64 entries), 8-bit codebooks per 8192 weights:
  // 3 + 64 x 2 x 8 / 8192 = 3.125.
  CHECK(bpw("vq", 4096, 4096) == 3.125);
  CHECK(bpw("vq d2 b3 c8 g8192", 4096, 4096) == 3.125);
  // 2-D, 2 bits per dimension (16 entries), per 2048 weights: 2 + 16 x 2 x 8 / 2048 = 2.125.
  CHECK(bpw("vq d2 b2 c8 g2048", 4096, 4096) == 2.125);
  // 4-D with 256 entries given as k: 2 bits per dimension; 8-bit codebooks per 65,536
  // weights add 256 x 4 x 8 / 65536 = 0.125.
  CHECK(bpw("vq d4 k256 g65536", 4096, 4096) == 2.125);
  CHECK(parse_format("vq d2 k64", "p") == parse_format("vq d2 b3", "p"));
  // A tensor smaller than a group still carries a whole codebook: 64 x 64 = 4096 weights,
  // 12,288 index bits + 1,024 codebook bits = 13,312 bits (3.25 per weight).
  CHECK(parse_format("vq", "p").tensor_bits(64, 64) == 13312);
}

TEST_CASE("a chunk stores its share of the tensor's bits rounded up to whole bytes", "[format]") {
  // 3 x 5 int4 without scales: 60 bits over 5 column chunks = 12 bits -> 2 bytes each.
  CHECK(traces::format_chunk_bytes(parse_format("int4 s0", "p"), 3, 5, 5) == 2);
  // vq on 64 x 64 with column chunks: 13,312 / 64 = 208 bits = 26 bytes.
  CHECK(traces::format_chunk_bytes(parse_format("vq", "p"), 64, 64, 64) == 26);
}

TEST_CASE("a model's formats set its chunk bytes, with per-class overrides, and later entries win",
          "[format]") {
  const auto fp16 = test::tiny_layout();
  const auto mixed = test::tiny_layout(
      {{"weight_format", "int8"}, {"weight_formats", {"mlp=int4 g32 s16 z4", "mlp.gate=vq", "embed=fp16"}}});
  auto find = [](const traces::ModelLayout& l, const std::string& name) {
    for (uint32_t i = 0; i < l.tensors().size(); ++i) {
      if (l.tensors()[i].name == name) return i;
    }
    FAIL("no tensor " << name);
    return 0u;
  };
  const uint32_t q = find(mixed, "layers.0.attn.q"), down = find(mixed, "layers.0.mlp.down"),
                 gate = find(mixed, "layers.0.mlp.gate"), embed = find(mixed, "embed");
  CHECK(mixed.format(q).text() == "int8 s16");
  CHECK(mixed.format(down).text() == "int4 g32 s16 z4");
  CHECK(mixed.format(gate).text() == "vq d2 b3 c8 g8192");
  CHECK(mixed.format(embed).text() == "fp16");
  // attn.q 64 x 64 int8: (8 x 4096 + 64 x 16) / 64 columns = 528 bits = 66 bytes.
  CHECK(mixed.tensors()[q].chunk_bytes == 66);
  // mlp.down 64 x 128 int4 g32 s16 z4: 37,888 / 128 columns = 296 bits = 37 bytes.
  CHECK(mixed.tensors()[down].chunk_bytes == 37);
  CHECK(mixed.tensors()[embed].chunk_bytes == fp16.tensors()[embed].chunk_bytes);
  CHECK(mixed.weight_dtype() == Dtype::int8);
  // weight_dtype alone keeps its plain element size (no scales), as before formats.
  const auto plain = test::tiny_layout({{"weight_dtype", "int4"}});
  CHECK(plain.tensors()[q].chunk_bytes == 32);
}

TEST_CASE("bad format strings are input errors naming the key and the token", "[format]") {
  CHECK_THROWS_WITH(parse_format("int5", "model.weight_format"),
                    Catch::Contains("model.weight_format") && Catch::Contains("did you mean"));
  CHECK_THROWS_WITH(parse_format("int4 g0", "k"), Catch::Contains("'g0'"));
  CHECK_THROWS_WITH(parse_format("int4 d2", "k"), Catch::Contains("no option 'd' for int4"));
  CHECK_THROWS_WITH(parse_format("vq b3 k64", "k"), Catch::Contains("not both"));
  CHECK_THROWS_WITH(parse_format("vq d4 k64", "k"), Catch::Contains("whole number of bits per dimension"));
  CHECK_THROWS_AS(test::tiny_layout({{"weight_formats", {"nothing=int4"}}}), InputError);
  CHECK_THROWS_WITH(test::tiny_layout({{"weight_formats", {"mlp int4"}}}),
                    Catch::Contains("model.weight_formats[0]"));
}
