// ActivationFile over fixtures laid out as scripts/capture_activations.py writes them
// (tests/data/npy/make_fixtures.py, write_activations).
#include <catch2/catch.hpp>

#include "sim/core/errors.hpp"
#include "test_helpers.hpp"
#include "traces/activation_file.hpp"

using namespace edgesim;
using namespace edgesim::traces;
using Catch::Contains;

namespace {

std::string fixture(const std::string& name) {
  return std::string(EDGESIM_TEST_DATA) + "/npy/" + name;
}

// make_fixtures.py's activation_value: multiples of 1/8, exact in float16.
float pattern(uint32_t layer, size_t kind, uint64_t token, uint64_t feature) {
  return static_cast<float>(static_cast<int>((layer * 31 + kind * 17 + token * 7 + feature) % 23) - 11) /
         8.0f;
}

constexpr LinearInput kInputs[] = {LinearInput::AttnQkv, LinearInput::AttnO, LinearInput::MlpGateUp,
                                   LinearInput::MlpDown};

}  // namespace

TEST_CASE("activations: every layer's four inputs read as [tokens, features] with their values",
          "[activations]") {
  const ActivationFile f(fixture("activations.npz"));
  CHECK(f.layers() == 2);
  CHECK(f.tokens() == 3);
  CHECK(f.prompt_tokens() == 2);
  CHECK(f.meta().at("model_type") == "llama");
  CHECK(f.features(LinearInput::AttnQkv) == 64);
  CHECK(f.features(LinearInput::AttnO) == 64);
  CHECK(f.features(LinearInput::MlpGateUp) == 64);
  CHECK(f.features(LinearInput::MlpDown) == 128);
  CHECK(ActivationFile::entry_name(1, LinearInput::MlpGateUp) == "layers.1.mlp.gate_up");
  for (uint32_t l = 0; l < 2; ++l) {
    for (size_t k = 0; k < kLinearInputs; ++k) {
      const NpyArray a = f.read(l, kInputs[k]);
      CAPTURE(l, k);
      REQUIRE(a.shape == std::vector<uint64_t>{3, f.features(kInputs[k])});
      size_t wrong = 0;
      for (uint64_t t = 0; t < 3; ++t)
        for (uint64_t j = 0; j < a.shape[1]; ++j) wrong += a.data[t * a.shape[1] + j] != pattern(l, k, t, j);
      CHECK(wrong == 0);
    }
  }
  CHECK_THROWS_WITH(f.read(2, LinearInput::AttnO), Contains("no layer 2"));
}

TEST_CASE("activations: the file matches the model it was captured from, and no other", "[activations]") {
  const ActivationFile f(fixture("activations.npz"));
  CHECK_NOTHROW(f.check_matches(test::tiny_layout()));
  CHECK_THROWS_AS(f.check_matches(test::tiny_layout({{"layers", 3}})), InputError);
  CHECK_THROWS_WITH(f.check_matches(test::tiny_layout({{"layers", 3}})),
                    Contains("2 layers") && Contains("has 3"));
  CHECK_THROWS_WITH(
      f.check_matches(test::tiny_layout({{"intermediate_size", 256}})),
      Contains("'mlp.down' inputs have 128 features") && Contains("layers.0.mlp.down takes 256"));
  CHECK_THROWS_WITH(f.check_matches(test::tiny_layout({{"head_dim", 8}})),
                    Contains("'attn.o' inputs have 64 features") && Contains("takes 32"));
}

TEST_CASE("activations: a missing entry, a wrong width and a plain archive are rejected", "[activations]") {
  CHECK_THROWS_AS(ActivationFile(fixture("activations_missing.npz")), InputError);
  CHECK_THROWS_WITH(ActivationFile(fixture("activations_missing.npz")),
                    Contains("no entry 'layers.1.attn.o'") && Contains("2 layers"));

  const ActivationFile bad(fixture("activations_bad_shape.npz"));
  CHECK(bad.read(0, LinearInput::MlpDown).shape == std::vector<uint64_t>{2, 128});
  CHECK_THROWS_AS(bad.read(1, LinearInput::MlpDown), InputError);
  CHECK_THROWS_WITH(bad.read(1, LinearInput::MlpDown),
                    Contains("'layers.1.mlp.down' has shape (2, 127), expected (2, 128)"));

  CHECK_THROWS_WITH(ActivationFile(fixture("stored.npz")),
                    Contains("stored.npz") && Contains("no 'meta.json'"));
  // A count written as a float (nlohmann converted 1.6e18 to uint32 without a check).
  CHECK_THROWS_WITH(ActivationFile(fixture("activations_float_count.npz")),
                    Contains("meta.json: layers 1.6e+18 is not a whole number from 0 to 4294967295"));
}

// Written by scripts/capture_activations.py itself (torch 2.11, transformers 5.17, numpy 2.5)
// from the tiny random Llama of tests/scripts/test_capture.py: prompt "the quick", 2
// decoding steps, --compress. The expected numbers are what NumPy reads from the file.
TEST_CASE("activations: a file the capture script wrote reads as NumPy reads it", "[activations]") {
  const ActivationFile f(fixture("captured_tiny_llama.npz"));
  CHECK(f.layers() == 2);
  CHECK(f.tokens() == 4);
  CHECK(f.prompt_tokens() == 2);
  CHECK(f.meta().at("token_ids") == nlohmann::json::array({3, 4, 73, 179}));
  CHECK(f.meta().at("versions").at("transformers") == "5.17.0");
  CHECK_NOTHROW(f.check_matches(test::tiny_layout()));

  const NpyArray qkv = f.read(0, LinearInput::AttnQkv);
  CHECK(qkv.dtype == "<f2");
  REQUIRE(qkv.shape == std::vector<uint64_t>{4, 64});
  CHECK(qkv.data.front() == 0.775390625f);
  CHECK(qkv.data.back() == -0.2445068359375f);
  double sum = 0;
  for (float v : qkv.data) sum += v;
  CHECK(sum == Approx(-12.177848815917969).epsilon(1e-12));

  const NpyArray down = f.read(1, LinearInput::MlpDown);
  REQUIRE(down.shape == std::vector<uint64_t>{4, 128});
  CHECK(down.data.front() == -0.00014781951904296875f);
  CHECK(down.data.back() == 0.00482940673828125f);
  sum = 0;
  for (float v : down.data) sum += v;
  CHECK(sum == Approx(0.04322689771652222).epsilon(1e-9));
}
