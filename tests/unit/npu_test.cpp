// The NPU model's pure C++ core: requantization arithmetic, the network loader, the
// bit-exact datapath against the reference kernels, the timing model against hand
// computation, weight compression, and the digits network's accuracy.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "models/memory/dram.hpp"
#include "models/memory/flash.hpp"
#include "models/npu/compress.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
#include "models/npu/quant.hpp"
#include "models/npu/reference.hpp"
#include "models/npu/timing.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "tests/unit/npu_helpers.hpp"

using namespace edgesim;
using namespace edgesim::npu;
using nlohmann::json;

namespace {

const std::string kRoot = EDGESIM_TEST_DATA "/../..";

}  // namespace

TEST_CASE("requantization rounds as TFLite (half away from zero and a saturating doubling high multiply)",
          "[npu]") {
  CHECK(rounding_divide_by_pot(5, 1) == 3);
  CHECK(rounding_divide_by_pot(-5, 1) == -3);
  CHECK(rounding_divide_by_pot(-3, 1) == -2);
  CHECK(rounding_divide_by_pot(4, 2) == 1);
  CHECK(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX);
  const Requant half = quantize_multiplier(0.5);
  CHECK(half.multiplier == 1 << 30);
  CHECK(half.shift == 0);
  CHECK(multiply_by_quantized_multiplier(1001, half) == 501);
  // gemmlowp's nudge for negative products is 1 - 2^30: an exact -500.5 rounds to -500.
  CHECK(multiply_by_quantized_multiplier(-1001, half) == -500);
  CHECK(multiply_by_quantized_multiplier(-1003, half) == -501);
  const Requant r = quantize_multiplier(0.0123);
  CHECK(multiply_by_quantized_multiplier(100000, r) == 1230);
  const Requant big = quantize_multiplier(3.0);  // a multiplier above 1 shifts left first
  CHECK(multiply_by_quantized_multiplier(7, big) == 21);
}

TEST_CASE("the network loader reports bad graphs with the JSON path", "[npu]") {
  const json in = tensor("x", {4, 4, 2});
  const json good =
      network(in, {weighted("conv2d", "x", tensor("y", {4, 4, 3}), {3, 3, 3, 2}, 3, {{"padding", "same"}})});
  REQUIRE_NOTHROW(parse_network(good, ".", "t.json"));
  auto error = [&](json doc) {
    try {
      parse_network(doc, ".", "t.json");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  json bad = good;
  bad["ops"][0]["strides"] = {1, 1};
  CHECK_THAT(error(bad),
             Catch::Contains("t.json: ops[0].strides") && Catch::Contains("did you mean 'stride'"));
  bad = good;
  bad["ops"][0]["weights"]["shape"] = {3, 3, 3, 4};
  CHECK_THAT(error(bad), Catch::Contains("ops[0].weights.shape") && Catch::Contains("expected [3, 3, 3, 2]"));
  bad = good;
  bad["ops"][0]["output"]["shape"] = {2, 2, 3};
  CHECK_THAT(error(bad), Catch::Contains("ops[0].output.shape") && Catch::Contains("4x4"));
  bad = good;
  bad["ops"][0]["inputs"] = {"z"};
  CHECK_THAT(error(bad), Catch::Contains("ops[0].inputs[0]") && Catch::Contains("no tensor 'z'"));
  bad = good;
  bad["ops"][0]["weights"]["scales"] = {0.1, 0.1};
  CHECK_THAT(error(bad), Catch::Contains("ops[0].weights.scales"));
  bad = good;
  bad["ops"][0]["weights"]["data"][5] = 300;
  CHECK_THAT(error(bad), Catch::Contains("ops[0].weights.data[5]") && Catch::Contains("out of range"));
  bad = good;
  bad["ops"][0]["weights"]["data"] = {{"offset", 0}, {"count", 54}};
  CHECK_THAT(error(bad), Catch::Contains("names no weights_file"));
  bad = good;
  bad["ops"][0]["type"] = "conv";
  CHECK_THAT(error(bad), Catch::Contains("ops[0].type") && Catch::Contains("did you mean 'conv2d'"));
}

TEST_CASE("a truncated weights file is an input error naming the file and the byte range", "[npu]") {
  const std::string dir = kRoot + "/configs/networks";
  json doc = config::parse_json_text(config::read_file(dir + "/digits.json"), "digits.json");
  doc["ops"][7]["weights"]["data"]["offset"] = 1 << 20;  // beyond the 6.5 KB file
  try {
    parse_network(doc, dir, "digits.json");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("ops[7].weights.data") &&
                                          Catch::Contains("digits.bin") && Catch::Contains("truncated"));
  }
}

TEST_CASE("the NPU executes the digits network bit-exactly as the reference in every layer and configuration",
          "[npu]") {
  const Network digits = load_network(kRoot + "/configs/networks/digits.json");
  const Dataset data = load_dataset(kRoot + "/data/digits-heldout.csv.gz", digits);
  REQUIRE(data.rows() == 360);
  for (int macs : {32, 64, 128, 256}) {
    for (const char* block : {"auto", "3x5x4", "1x1x16"}) {  // odd blocks exercise the edges
      const NpuRun r(test_device_json(macs, "flash", {{"block_config", block}}), digits);
      for (size_t i = 0; i < data.rows(); i += 45) {
        const std::vector<int8_t> x(data.row(i), data.row(i) + data.input_size);
        std::string where;
        INFO("MACs " << macs << ", block " << block << ", input " << i
                     << ", first tensor differing: " << where);
        CHECK(bit_exact(r.net, r.plan, x, where));
      }
    }
  }
}

TEST_CASE(
    "every op type runs bit-exactly on the NPU (strides and padding and depth multiplier and concat and mul "
    "and relu6)",
    "[npu]") {
  const json ops = {weighted("conv2d", "x", tensor("c1", {5, 5, 12}, 0.08, -128), {12, 3, 3, 6}, 12,
                             {{"stride", {2, 2}}, {"padding", "same"}, {"activation", "relu6"}}),
                    weighted("depthwise_conv2d", "c1", tensor("d1", {3, 3, 24}, 0.06, 5), {1, 3, 3, 24}, 24,
                             {{"depth_multiplier", 2}, {"stride", {1, 1}}, {"padding", "valid"}}),
                    {{"name", "p1"},
                     {"type", "avg_pool"},
                     {"inputs", {"c1"}},
                     {"output", tensor("p1", {3, 3, 12}, 0.08, -128)},
                     {"kernel", {3, 3}},
                     {"stride", {2, 2}},
                     {"padding", "same"}},
                    {{"name", "m1"},
                     {"type", "max_pool"},
                     {"inputs", {"c1"}},
                     {"output", tensor("m1", {3, 3, 12}, 0.08, -128)},
                     {"kernel", {2, 2}},
                     {"stride", {2, 2}},
                     {"padding", "same"}},
                    {{"name", "cat"},
                     {"type", "concat"},
                     {"inputs", {"p1", "d1", "m1"}},
                     {"output", tensor("cat", {3, 3, 48}, 0.07, 2)}},
                    {{"name", "mul"},
                     {"type", "mul"},
                     {"inputs", {"cat", "cat"}},
                     {"output", tensor("mul", {3, 3, 48}, 0.1, -20)}},
                    {{"name", "add"},
                     {"type", "add"},
                     {"inputs", {"mul", "cat"}},
                     {"output", tensor("add", {3, 3, 48}, 0.12, 0)},
                     {"activation", "relu"}},
                    {{"name", "flat"},
                     {"type", "reshape"},
                     {"inputs", {"add"}},
                     {"output", tensor("flat", {432}, 0.12, 0)}},
                    weighted("fully_connected", "flat", tensor("fc", {7}, 0.5, 10), {7, 432}, 7),
                    {{"name", "sm"},
                     {"type", "softmax"},
                     {"inputs", {"fc"}},
                     {"output", tensor("sm", {7}, 1.0 / 256, -128)}}};
  const json doc = network(tensor("x", {9, 9, 6}, 0.03, -7), ops);
  std::mt19937 rng(7);
  for (int macs : {32, 256}) {
    for (const char* block : {"auto", "2x3x4"}) {
      const NpuRun r(test_device_json(macs, "sram", {{"block_config", block}}), doc);
      for (int trial = 0; trial < 4; ++trial) {
        std::string where;
        const auto x = random_input(r.net, rng);
        INFO("MACs " << macs << ", block " << block);
        CHECK(bit_exact(r.net, r.plan, x, where));
        CAPTURE(where);
      }
    }
  }
  // The reference is not trivially constant: outputs vary with the input.
  const Network net = parse_network(doc, ".", "t");
  std::vector<int8_t> a(net.tensors[0].size(), -100), b(net.tensors[0].size(), 90);
  const auto ra = run_reference(net, a.data()), rb = run_reference(net, b.data());
  const Tensor& fc = net.tensors[static_cast<size_t>(net.tensor_index("fc"))];
  CHECK_FALSE(std::equal(ra.begin() + static_cast<long>(fc.offset),
                         ra.begin() + static_cast<long>(fc.offset + fc.size()),
                         rb.begin() + static_cast<long>(fc.offset)));
}

TEST_CASE("the digits network classifies at least 95% of the held-out digits through the NPU execution",
          "[npu]") {
  const Network net = load_network(kRoot + "/configs/networks/digits.json");
  const Dataset data = load_dataset(kRoot + "/data/digits-heldout.csv.gz", net);
  const NpuRun r(test_device_json(128, "flash"), net);
  Executor exec(r.net, r.plan);
  size_t correct = 0;
  for (size_t i = 0; i < data.rows(); ++i) {
    exec.set_input(data.row(i));
    exec.run();
    correct += exec.argmax() == data.labels[i] ? 1 : 0;
  }
  const double accuracy = static_cast<double>(correct) / static_cast<double>(data.rows());
  INFO("accuracy " << accuracy * 100 << " % over " << data.rows() << " held-out images");
  CHECK(accuracy >= 0.95);
}

TEST_CASE("a layer runs again on its own from the stored intermediates as fault injection needs", "[npu]") {
  const Network net = load_network(kRoot + "/configs/networks/digits.json");
  const Dataset data = load_dataset(kRoot + "/data/digits-heldout.csv.gz", net);
  const NpuRun r(test_device_json(64, "flash"), net);
  Executor exec(r.net, r.plan);
  exec.set_input(data.row(3));
  exec.run();
  const std::vector<int8_t> golden(exec.arena(), exec.arena() + net.arena_bytes);
  const Tensor& conv2 = net.tensors[static_cast<size_t>(net.tensor_index("conv2"))];
  std::fill(exec.arena() + conv2.offset, exec.arena() + conv2.offset + conv2.size(),
            0);      // corrupt conv2's output
  exec.run_from(4);  // conv2 is layer 4: recompute it and everything after
  CHECK(std::equal(golden.begin(), golden.end(), exec.arena()));
  // A flipped weight bit changes the outputs from that layer on.
  const int8_t flipped = static_cast<int8_t>(exec.weight_buffer(4)[17] ^ 0x40);
  exec.set_weights(4, 17, &flipped, 1);
  exec.run_from(4);
  CHECK_FALSE(std::equal(golden.begin(), golden.end(), exec.arena()));
}

TEST_CASE("the pipeline overlaps DMA and compute through its buffers as hand-computed", "[npu]") {
  // Three jobs, DMA 10/10/10, compute 30/5/5. Double buffering: DMA 0-10, 10-20, then job
  // 2's slot frees when job 0's compute ends (40): DMA 40-50; compute 10-40, 40-45, 50-55.
  Pipeline two(2);
  two.push(10, 30);
  two.push(10, 5);
  CHECK(two.next_dma_start() == 40);
  CHECK(two.push(10, 5) == 55);
  // One buffer: no overlap at all: (10 + 30) + (10 + 5) + (10 + 5).
  Pipeline one(1);
  for (auto [d, c] : {std::pair{10, 30}, {10, 5}, {10, 5}})
    one.push(static_cast<uint64_t>(d), static_cast<uint64_t>(c));
  CHECK(one.end() == 70);
}

TEST_CASE("a compute-bound convolution's cycles match hand computation", "[npu]") {
  // 16x16x64 -> 16x16x16, 3x3 same, one forced 16x16x16 block, weights in SRAM.
  const json doc = network(tensor("x", {16, 16, 64}), {weighted("conv2d", "x", tensor("y", {16, 16, 16}),
                                                                {16, 3, 3, 64}, 16, {{"padding", "same"}})});
  const json over = {{"block_config", "16x16x16"}, {"shared_buffer", "1 MiB"}};
  const NpuRun r256(test_device_json(256, "sram", over), doc), r128(test_device_json(128, "sram", over), doc);
  // DMA (8 B/cycle, no latency): weights 16 x 576 B + 10 B x 16 bias/scale = 9376 B -> 1172;
  // IFM 16 x 16 x 64 = 16384 B -> 2048; OFM 4096 B -> 512. Total 3732 cycles.
  // MACs, 256 (ublock 2x2x8, 8 deep): 8 x 8 x 2 x 9 x 8 = 9216 cycles; output unit
  // 4096 x 0.625 = 2560; decoder 9216 / 8 = 1152. 128 (ublock 2x1x8): 8 x 16 x 2 x 9 x 8 = 18432.
  // One job: no overlap, so cycles = DMA + compute.
  REQUIRE(r256.plan.layers[0].jobs.size() == 1);
  CHECK(r256.timing.layers[0].dma_cycles == 3732);
  CHECK(r256.timing.layers[0].compute_cycles == 9216);
  CHECK(r256.timing.cycles == 3732 + 9216);
  CHECK(r128.timing.cycles == 3732 + 18432);
  CHECK_FALSE(r256.timing.layers[0].memory_bound());
  CHECK(r256.timing.layers[0].read_bytes[kSram] == 9376 + 16384);
  CHECK(r256.timing.layers[0].write_bytes[kSram] == 4096);
}

TEST_CASE("a bandwidth-bound fully connected layer's cycles match hand computation", "[npu]") {
  // 1024 -> 256 with weights in flash (1 B/cycle): 262144 B + 2560 B bias/scale = 264704
  // cycles; input 1024 B from SRAM -> 128, output 256 B -> 32. Compute: decoder
  // 262144 / 8 = 32768 cycles (MACs 32 x 128 = 4096 at 256 MACs; output 160).
  const json doc =
      network(tensor("x", {1024}), {weighted("fully_connected", "x", tensor("y", {256}), {256, 1024}, 256)});
  const json over = {{"block_config", "1x1x256"}, {"shared_buffer", "1 MiB"}};
  const NpuRun r256(test_device_json(256, "flash", over), doc), r128(test_device_json(128, "flash", over), doc);
  CHECK(r256.timing.layers[0].dma_cycles == 264704 + 128 + 32);
  CHECK(r256.timing.cycles == 264704 + 128 + 32 + 32768);
  CHECK(r128.timing.cycles == r256.timing.cycles);
  CHECK(r256.timing.layers[0].memory_bound());
  CHECK(r256.timing.layers[0].read_bytes[kFlash] == 264704);
}

TEST_CASE("twice the MACs nearly halves a compute-bound layer and leaves a bandwidth-bound one alone",
          "[npu]") {
  const json conv = network(tensor("x", {32, 32, 64}), {weighted("conv2d", "x", tensor("y", {32, 32, 64}),
                                                                 {64, 3, 3, 64}, 64, {{"padding", "same"}})});
  const json fc =
      network(tensor("x", {2048}), {weighted("fully_connected", "x", tensor("y", {512}), {512, 2048}, 512)});
  for (auto [lo, hi] : {std::pair{32, 64}, {64, 128}, {128, 256}}) {
    const NpuRun c_lo(test_device_json(lo, "sram"), conv), c_hi(test_device_json(hi, "sram"), conv);
    const double speedup = static_cast<double>(c_lo.timing.cycles) / static_cast<double>(c_hi.timing.cycles);
    INFO(lo << " -> " << hi << " MACs: conv " << c_lo.timing.cycles << " -> " << c_hi.timing.cycles);
    CHECK_FALSE(c_hi.timing.layers[0].memory_bound());
    CHECK(speedup > 1.8);
    CHECK(speedup < 2.05);
    const NpuRun f_lo(test_device_json(lo, "flash"), fc), f_hi(test_device_json(hi, "flash"), fc);
    const double fc_speedup =
        static_cast<double>(f_lo.timing.cycles) / static_cast<double>(f_hi.timing.cycles);
    INFO("fc " << f_lo.timing.cycles << " -> " << f_hi.timing.cycles);
    CHECK(f_lo.timing.layers[0].memory_bound());
    CHECK(fc_speedup > 0.97);
    CHECK(fc_speedup < 1.03);
  }
}

TEST_CASE("the weight encoder's stream sizes follow its three modes", "[npu]") {
  std::vector<int8_t> w(100);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = static_cast<int8_t>(static_cast<int>(i) - 50 + (i >= 50 ? 1 : 0));
  CHECK(encode_weights(w.data(), w.size()).mode == "raw");  // 100 distinct non-zero values
  CHECK(encode_weights(w.data(), w.size()).bits == 800);
  for (size_t i = 0; i < 60; ++i) w[i] = 0;  // 40 non-zero left, all distinct: zero flags
  const WeightEncoding z = encode_weights(w.data(), w.size());
  CHECK(z.mode == "zero_flag");
  CHECK(z.bits == 100 + 8 * 40);
  for (size_t i = 60; i < 100; ++i) w[i] = static_cast<int8_t>(i % 2 ? 7 : -7);  // 2 distinct: palette
  const WeightEncoding p = encode_weights(w.data(), w.size());
  CHECK(p.mode == "palette");
  CHECK(p.bits == 2 * 8 + 100 + 1 * 40);
}

TEST_CASE("pruning and clustering shrink the weight stream and the flash-bound layer's cycles", "[npu]") {
  std::vector<int8_t> w(4096);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> u(-127, 127);
  for (auto& v : w) v = static_cast<int8_t>(u(rng));
  std::vector<int8_t> pruned = w;
  prune_and_cluster(pruned.data(), pruned.size(), 0.5, 0);
  CHECK(std::count(pruned.begin(), pruned.end(), 0) >= 2048);
  for (size_t i = 0; i < w.size(); ++i) {  // the survivors are the large ones, unchanged
    if (pruned[i] != 0) CHECK(pruned[i] == w[i]);
    if (pruned[i] != 0) CHECK(std::abs(w[i]) >= 60);
  }
  std::vector<int8_t> clustered = pruned;
  prune_and_cluster(clustered.data(), clustered.size(), 0, 16);
  const WeightEncoding e = encode_weights(clustered.data(), clustered.size());
  CHECK(e.distinct_nonzero <= 16);
  CHECK(e.mode == "palette");
  CHECK(e.bits < encode_weights(pruned.data(), pruned.size()).bits);

  const json fc =
      network(tensor("x", {1024}), {weighted("fully_connected", "x", tensor("y", {256}), {256, 1024}, 256)});
  const NpuRun dense(test_device_json(128, "flash"), fc);
  const NpuRun compressed(test_device_json(128, "flash", {{"prune", 0.5}, {"clusters", 16}}), [&] {
    Network n = parse_network(fc, ".", "t");
    compress_network(n, 0.5, 16, {"*"});
    return n;
  }());
  const uint64_t dense_stream = dense.plan.layers[0].weight_stream_bytes;
  const uint64_t small_stream = compressed.plan.layers[0].weight_stream_bytes;
  INFO("stream " << dense_stream << " -> " << small_stream << " B");
  // Palette of 16 (4 bits) on half the weights plus 1 flag bit each: ~3 bits per weight.
  CHECK(small_stream < dense_stream / 2);
  CHECK(compressed.timing.cycles < dense.timing.cycles * 0.6);
}

TEST_CASE("device configs reject impossible NPUs and missing memories with the JSON path", "[npu]") {
  auto error = [](const json& cfg) {
    try {
      build_npu_device(cfg);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error(test_device_json(100, "flash")),
             Catch::Contains("device.npu.macs") && Catch::Contains("32, 64, 128 or 256"));
  json no_dram = test_device_json(128, "dram");
  CHECK_THAT(error(no_dram), Catch::Contains("device.dram") && Catch::Contains("missing"));
  CHECK_THAT(error(test_device_json(128, "flash", {{"block_config", "8x8"}})),
             Catch::Contains("device.npu.block_config"));
  CHECK_THAT(error(test_device_json(128, "flash", {{"mac", 3}})), Catch::Contains("device.npu.mac"));
}

TEST_CASE("input CSV files are quantized with the input's scale and rejected line by line when malformed",
          "[npu]") {
  const Network net = parse_network(
      network(tensor("x", {2, 1, 1}, 0.5, -10), json::array({{{"name", "r"},
                                                              {"type", "reshape"},
                                                              {"inputs", {"x"}},
                                                              {"output", tensor("r", {2}, 0.5, -10)}}})),
      ".", "t");
  const std::string dir = std::filesystem::temp_directory_path().string() + "/edgesim-npu-" +
                          std::to_string(static_cast<long>(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  // real = raw x raw_scale (1); q = round(real / 0.5) - 10, clamped to int8.
  const Dataset d = load_dataset(write("ok.csv", "1.0, 2.25\n\n-100,3\n"), net);
  REQUIRE(d.rows() == 2);
  CHECK(d.labels.empty());
  CHECK(int{d.row(0)[0]} == -8);
  CHECK(int{d.row(0)[1]} == -5);  // 4.5 rounds away from zero
  CHECK(int{d.row(1)[0]} == -128);
  auto error = [&](const std::string& path) {
    try {
      load_dataset(path, net);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error(write("short.csv", "1,2\n3\n")),
             Catch::Contains("short.csv:2") && Catch::Contains("2 elements"));
  CHECK_THAT(error(write("mixed.csv", "1,2,1\n3,4\n")),
             Catch::Contains("mixed.csv:2") && Catch::Contains("label"));
  CHECK_THAT(error(write("label.csv", "1,2,9\n")),
             Catch::Contains("label.csv:1") && Catch::Contains("class index"));
  CHECK_THAT(error(write("text.csv", "1,two\n")),
             Catch::Contains("text.csv:1") && Catch::Contains("not a number"));
  CHECK_THAT(error(write("empty.csv", "\n")), Catch::Contains("no inputs"));
  CHECK_THAT(error(dir + "/missing.csv"), Catch::Contains("cannot read"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("compression applies only to the layers compress_layers names and rejects unknown ones", "[npu]") {
  Network net = load_network(kRoot + "/configs/networks/digits.json");
  const Network original = net;
  compress_network(net, 0.5, 0, {"conv2"});
  for (size_t i = 0; i < net.ops.size(); ++i) {
    INFO(net.ops[i].name);
    if (net.ops[i].name == "conv2")
      CHECK(std::count(net.ops[i].weights.begin(), net.ops[i].weights.end(), 0) >=
            static_cast<long>(net.ops[i].weights.size() / 2));
    else
      CHECK(net.ops[i].weights == original.ops[i].weights);
  }
  CHECK_THROWS_WITH(compress_network(net, 0.5, 0, {"conv9"}),
                    Catch::Contains("compress_layers") && Catch::Contains("conv9"));
}
