// The NPU model's pure C++ core: requantization arithmetic, the network loader, the
// bit-exact datapath against the reference kernels, the timing model against hand
// computation, weight compression, and the digits network's accuracy.
#include <catch2/catch.hpp>

#include <algorithm>
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
#include "models/npu/weight_codec.hpp"
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

TEST_CASE("the DMA and the NPU overlap through double buffers and prefetch as hand-computed", "[npu]") {
  // Weights in flash (1 B/cycle, no latency), buffers in SRAM (8 B/cycle): a 100 B item
  // takes 100 cycles. Layer A: jobs of 300, 50, 50 cycles, each needing its own item.
  // Double buffering: items 0-100 and 100-200; item 2's buffer frees when job 0 ends
  // (100 + 300 = 400): 400-500. Jobs 100-400, 400-450, 500-550.
  const NpuDevice dev = build_npu_device(test_device_json(128, "flash"));
  LayerPlan a;
  for (uint64_t c : {300, 50, 50}) {
    Job j;
    j.compute_cycles = j.cycles = c;
    j.dma_ready = static_cast<uint32_t>(a.jobs.size() + 1);
    a.jobs.push_back(j);
    DmaItem d;
    d.bytes = 100;
    d.first_job = d.last_job = static_cast<uint32_t>(a.jobs.size() - 1);
    a.dma.push_back(d);
  }
  a.tail_job = 2;
  NpuSettings s = dev.settings;
  EngineState st;
  LayerTiming lt;
  time_layer(a, s, dev.memories(), st, lt);
  CHECK(lt.cycles == 550);
  CHECK(lt.dma_cycles == 300);
  CHECK(lt.read_bytes[kFlash] == 300);
  CHECK(lt.write_bytes[kSram] == 300);
  // Layer B's one item (100 B) may start when A's tail job started (500), the DMA being
  // free then: it arrives at 600, 50 cycles into B (which starts at 550); B ends at 620.
  LayerPlan b;
  Job j;
  j.compute_cycles = j.cycles = 20;
  j.dma_ready = 1;
  b.jobs.push_back(j);
  DmaItem d;
  d.bytes = 100;
  b.dma.push_back(d);
  LayerTiming lb;
  time_layer(b, s, dev.memories(), st, lb);
  CHECK(lb.cycles == 70);
  CHECK(st.npu_free == 620);
  // One buffer: an item waits for the previous one's job: (100 + 300) + (100 + 50) + (100 + 50).
  s.buffers = 1;
  EngineState one;
  LayerTiming l1;
  time_layer(a, s, dev.memories(), one, l1);
  CHECK(l1.cycles == 700);
}

TEST_CASE("a compute-bound convolution's cycles match hand computation", "[npu]") {
  // 16x16x64 -> 16x16x16, 3x3 same, one forced 16x16x16 block, weights in SRAM (read in
  // place, no DMA); input and output are the network's, so stored linearly (NHWC).
  const json doc = network(tensor("x", {16, 16, 64}), {weighted("conv2d", "x", tensor("y", {16, 16, 16}),
                                                                {16, 3, 3, 64}, 16, {{"padding", "same"}})});
  const json over = {{"block_config", "16x16x16"}, {"shared_buffer", "1 MiB"}};
  const NpuRun r256(test_device_json(256, "sram", over), doc), r128(test_device_json(128, "sram", over), doc);
  // 64 input channels: depth first (32-deep input slices). 256 MACs, micro-block 2x2x8:
  // 8 x 8 = 64 micro-blocks per depth step, 2 depth steps, 9 kernel steps, 2 input slices:
  // max(32 weight cycles, 4 x 64) x 9 x 2 x 2 = 9216 MAC cycles. Output unit 4096 x 0.25 =
  // 1024. A quarter of the command time: IFM block 16x16x32 = 8192 B / 8 = 1024 (32 B
  // bursts: full), OFM 4096 B in 16 B runs (twice the bus time) = 1024, so (1024 + 1024 +
  // 1024 + 9216) / 4 = 3072 floors the output unit: 9216 + 3072 = 12288.
  // 128 MACs (micro-block 1x2x8, 128 per depth step): 512 x 9 x 2 x 2 = 18432; output
  // 4096 x 0.5 = 2048 < (1024 + 1024 + 2048 + 18432) / 4 = 5632: 18432 + 5632 = 24064.
  REQUIRE(r256.plan.layers[0].jobs.size() == 1);
  CHECK(r256.plan.layers[0].dma.empty());
  CHECK(r256.timing.layers[0].compute_cycles == 12288);
  CHECK(r256.timing.cycles == 12288);
  CHECK(r128.timing.cycles == 24064);
  CHECK_FALSE(r256.timing.layers[0].memory_bound());
  // Weights: 9216 values over 255 levels, no zeros: no palette, 8-bit uncompressed
  // indices; header 23 + palette header 13 + 73728 bits + end code 3 = 73767 bits = 9221
  // B, padded to 9232; bias and scale 10 x 16 = 160 B. IFM 16x16x64 read once, OFM once.
  CHECK(r256.plan.layers[0].weight_stream_bytes == 160 + 9232);
  CHECK(r256.timing.layers[0].read_bytes[kSram] == 16384 + 160 + 9232);
  CHECK(r256.timing.layers[0].write_bytes[kSram] == 4096);
}

TEST_CASE("a bandwidth-bound fully connected layer's cycles match hand computation", "[npu]") {
  // 1024 -> 256, weights in flash read in place (a vector product's weights are not
  // buffered) at 1 B/cycle: 262144 weights over 255 levels code as 8-bit uncompressed
  // indices in 9 slices of at most 32767: 9 x 23 + 13 + 8 x 262144 + 3 = 2097375 bits =
  // 262172 B, padded to 262176, plus 2560 B bias and scale: 264736 cycles. Compute at 256
  // MACs: 32 depth steps x 32 input slices x max(32, 4) = 32768 MAC cycles, the output unit
  // floored at a quarter of the command time, (4 + 64 + 64 + 32768) / 4 = 8225: 40993.
  // At 128 about the same: flash-bound either way.
  const json doc =
      network(tensor("x", {1024}), {weighted("fully_connected", "x", tensor("y", {256}), {256, 1024}, 256)});
  const json over = {{"block_config", "1x1x256"}, {"shared_buffer", "1 MiB"}};
  const NpuRun r256(test_device_json(256, "flash", over), doc), r128(test_device_json(128, "flash", over), doc);
  CHECK(r256.plan.layers[0].dma.empty());
  CHECK(r256.timing.layers[0].compute_cycles == 40993);
  CHECK(r256.timing.cycles == 264736);
  CHECK(r128.timing.cycles == r256.timing.cycles);
  CHECK(r256.timing.layers[0].memory_bound());
  CHECK(r256.timing.layers[0].read_bytes[kFlash] == 264736);
}

TEST_CASE("twice the MACs about halves a compute-bound layer and leaves a bandwidth-bound one alone",
          "[npu]") {
  // 64 -> 128 gains more than 2x: the 64-MAC configuration's 16 shared-buffer banks (24 at
  // 128) force smaller blocks, which re-read more IFM and fill the micro-blocks less.
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
    CHECK(speedup < 2.3);
    const NpuRun f_lo(test_device_json(lo, "flash"), fc), f_hi(test_device_json(hi, "flash"), fc);
    const double fc_speedup =
        static_cast<double>(f_lo.timing.cycles) / static_cast<double>(f_hi.timing.cycles);
    INFO("fc " << f_lo.timing.cycles << " -> " << f_hi.timing.cycles);
    CHECK(f_lo.timing.layers[0].memory_bound());
    CHECK(fc_speedup > 0.97);
    CHECK(fc_speedup < 1.03);
  }
}

TEST_CASE("weight streams decode to what was encoded, and their sizes follow hand computation", "[npu]") {
  // 100 ones: a two-entry palette (1, padded with 0) of 2-bit entries; one index bit per
  // weight uncompressed beats the 12-bit unary chunks (108 bits): 23 + 13 + 2 x 2 + 100 =
  // 140 bits, + end code 3 = 18 B, padded to 32.
  const std::vector<int16_t> ones(100, 1);
  const StreamCode c1 = analyse_stream(ones.data(), ones.size());
  CHECK(c1.mode() == "palette+uncompressed");
  CHECK(c1.payload_bits == 140);
  CHECK(c1.bytes == 32);
  // 100 zeros: zero runs, the first zero coded as a weight (a 2-bit direct value,
  // uncompressed), then runs 0 and 99 with divisor 3 (1 + 13 = 14 unary positions in two
  // 8-bit chunks, plus 2 x 3 remainder bits: 22): 23 + 13 + 2 + 22 = 60 bits, + 3 = 8 B,
  // padded to 16.
  const std::vector<int16_t> zeros(100, 0);
  const StreamCode c0 = analyse_stream(zeros.data(), zeros.size());
  CHECK(c0.zero_runs);
  CHECK(c0.zero_div == 3);
  CHECK(c0.payload_bits == 60);
  CHECK(c0.bytes == 16);
  // Every stream decodes back: dense, sparse, few-valued, longer than one slice.
  std::mt19937 rng(5);
  for (int t = 0; t < 40; ++t) {
    const size_t n = t < 36 ? 1 + rng() % 3000 : 40000 + rng() % 30000;
    std::vector<int16_t> w(n);
    for (auto& v : w) {
      const int r = static_cast<int>(rng() % 256) - 128;
      v = static_cast<int16_t>(t % 3 == 0 ? r : t % 3 == 1 ? (rng() % 5 ? 0 : r) : r % 4);
    }
    const std::vector<uint8_t> bytes = encode_stream(w.data(), w.size());
    CHECK(bytes.size() == encoded_stream_bytes(w.data(), w.size()));
    CHECK(bytes.size() % 16 == 0);
    CHECK(decode_stream(bytes.data(), bytes.size()) == w);
  }
  // A stream cut short is an error naming where.
  const std::vector<uint8_t> ok = encode_stream(ones.data(), ones.size());
  CHECK_THROWS_WITH(decode_stream(ok.data(), 3), Catch::Contains("bit"));
}

TEST_CASE("zero-run streams, sized from their counts and long runs, match the encoder", "[npu]") {
  // Streams with zero runs are sized from the value counts (per slice), the zeros and the
  // runs of two or more zeros (weight_codec.cpp analyse_runs, analyse_sliced_runs); the
  // encoder writes every bit and checks its length against that size. Dense and sparse
  // streams, runs from 0 to past 64 zeros, padding-like periodic zeros, and (the last
  // ones) more than one slice of non-zero values.
  std::mt19937 rng(11);
  int zero_run_streams = 0, multi_slice = 0;
  for (int t = 0; t < 306; ++t) {
    const size_t n = t < 300 ? 1 + rng() % 6000 : 70000 + rng() % 40000;
    int zero_pct = static_cast<int>(rng() % 100), spread = 1 + static_cast<int>(rng() % 255);
    if (t >= 300) zero_pct = 10 + 8 * (t - 300), spread = 60 + 30 * (t - 300);  // 40,000+ non-zero values
    const int pattern = t % 4;
    std::vector<int16_t> w(n);
    for (size_t i = 0; i < n; ++i) {
      bool zero = static_cast<int>(rng() % 100) < zero_pct;
      if (pattern == 1 && i % 12 >= 9) zero = true;       // a depthwise 3x3 padded to 12
      if (pattern == 2 && (i / 70) % 3 == 0) zero = true;  // runs of 70
      const int v = static_cast<int>(rng() % static_cast<unsigned>(2 * spread + 1)) - spread;
      w[i] = static_cast<int16_t>(zero ? 0 : v);
    }
    if (pattern == 3 && n > 8) w[n / 2] = 0, w[0] = 0, w[n - 1] = 0;
    const StreamCode c = analyse_stream(w.data(), w.size());
    Histogram h{};
    size_t nonzero = 0;
    for (int16_t v : w) {
      ++h[static_cast<size_t>(v + 255)];
      nonzero += v != 0 ? 1 : 0;
    }
    const StreamCode known = analyse_stream(w.data(), w.size(), h);
    CHECK(known.bytes == c.bytes);
    CHECK(known.payload_bits == c.payload_bits);
    if (c.zero_runs) {
      ++zero_run_streams;
      multi_slice += nonzero > kMaxSliceValues ? 1 : 0;
      CHECK(c.coded_weights == std::max<size_t>(nonzero, 1));
    }
    const std::vector<uint8_t> bytes = encode_stream(w.data(), w.size());  // throws if the size differs
    CHECK(bytes.size() == c.bytes);
    CHECK(decode_stream(bytes.data(), bytes.size()) == w);
  }
  CHECK(zero_run_streams > 150);
  CHECK(multi_slice >= 2);
}

TEST_CASE("a stream of several slices without zero runs is sized from its slices' histograms", "[npu]") {
  // The planner sizes such streams from per-slice histograms (timing.cpp slice_histograms)
  // without building them: the same code as from the values; streams with zero runs refuse.
  std::mt19937 rng(12);
  for (int t = 0; t < 6; ++t) {
    const size_t n = 32768 + rng() % 90000;
    const int spread = 2 + 40 * t;
    std::vector<int16_t> w(n);
    for (auto& v : w) v = static_cast<int16_t>(static_cast<int>(rng() % static_cast<unsigned>(2 * spread + 1)) - spread);
    Histogram all{};
    std::vector<Histogram> slices((n + kMaxSliceValues - 1) / kMaxSliceValues, Histogram{});
    for (size_t i = 0; i < n; ++i) {
      ++all[static_cast<size_t>(w[i] + 255)];
      ++slices[i / kMaxSliceValues][static_cast<size_t>(w[i] + 255)];
    }
    StreamCode c;
    REQUIRE(analyse_slices(all, n, slices, c));
    const StreamCode direct = analyse_stream(w.data(), n);
    CHECK_FALSE(direct.zero_runs);
    CHECK(c.bytes == direct.bytes);
    CHECK(c.payload_bits == direct.payload_bits);
    CHECK(c.weight_div == direct.weight_div);
    CHECK(c.palette_size == direct.palette_size);
  }
  std::vector<int16_t> sparse(50000, 0);
  for (size_t i = 0; i < sparse.size(); i += 10) sparse[i] = static_cast<int16_t>(1 + i % 7);
  Histogram all{};
  std::vector<Histogram> slices(2, Histogram{});
  for (size_t i = 0; i < sparse.size(); ++i) {
    ++all[static_cast<size_t>(sparse[i] + 255)];
    ++slices[i / kMaxSliceValues][static_cast<size_t>(sparse[i] + 255)];
  }
  StreamCode c;
  CHECK_FALSE(analyse_slices(all, sparse.size(), slices, c));
}

TEST_CASE("an OFM block of a 1x1 kernel is counted in parts from its weights", "[npu]") {
  // Pointwise convolutions and fully connected layers are counted tile by tile (an output
  // micro-block over a 32-deep input slice) without building their stream: against the
  // built stream, for blocks over several slices, inputs that do not fill the last slice,
  // a partial output micro-block, and cuts inside tiles, at tile edges and at slices.
  std::mt19937 rng(29);
  for (int t = 0; t < 24; ++t) {
    WeightLayout l;
    l.traversal = WeightTraversal::DepthFirst;
    l.ofm_ublock_depth = t % 2 ? 8 : 4;
    l.ifm_ublock_depth = 8;
    l.ofm_block_depth = l.ofm_ublock_depth * (1 + static_cast<int>(rng() % 16));
    l.ofm_depth = l.ofm_block_depth + 1 + static_cast<int>(rng() % static_cast<unsigned>(l.ofm_block_depth));
    l.ifm_depth = t < 4 ? 1280 : 1 + static_cast<int>(rng() % 1300);
    std::vector<int8_t> w(static_cast<size_t>(l.ofm_depth) * l.ifm_depth);
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    const int c0 = l.ofm_block_depth, c1 = l.ofm_depth;  // the second block: partial
    std::vector<int16_t> stream;
    reorder_weights(w.data(), l, c0, c1, stream);
    const size_t n = stream.size(), tile = static_cast<size_t>(l.ofm_ublock_depth) * 32;
    std::vector<size_t> ends = {std::min(n, tile + 5), std::min(n, 3 * tile)};
    for (size_t e = kMaxSliceValues; e < n; e += kMaxSliceValues) ends.push_back(e);
    ends.push_back(n);
    std::sort(ends.begin(), ends.end());
    std::vector<Histogram> got(ends.size(), Histogram{});
    std::vector<Histogram*> parts;
    for (size_t k = 0; k < got.size(); ++k) parts.push_back(k == 2 ? nullptr : &got[k]);
    add_part_histograms(w.data(), l, c0, c1, false, ends, parts);
    for (size_t k = 0, from = 0; k < ends.size(); from = ends[k++]) {
      INFO("layout " << l.ofm_depth << "x" << l.ifm_depth << ", block " << l.ofm_block_depth << ", part "
                     << k);
      Histogram want{};
      if (k != 2)
        for (size_t i = from; i < ends[k]; ++i) ++want[static_cast<size_t>(stream[i] + 255)];
      CHECK(got[k] == want);
    }
  }
}

TEST_CASE("streams are sized from the layout's padding and counted in parts without being built", "[npu]") {
  // The planner sizes a zero-run stream from its histogram and its runs' sums: from the
  // layout's padding when its weights hold no zero (padding_runs, with its slices' counts by
  // index from add_part_histograms), else from its stream as bytes (reorder_bytes,
  // zero_run_sums); it counts a block across slices in parts (by value). All as from the
  // built stream.
  // Depthwise, depth-first and part-kernel-first layouts, partial micro-blocks, 4- and
  // 8-deep micro-blocks, kernels split into sub-kernels, and streams over several slices.
  std::mt19937 rng(13);
  int zero_run = 0, multi_slice = 0;
  for (int t = 0; t < 60; ++t) {
    WeightLayout l;
    l.traversal = static_cast<WeightTraversal>(t % 3);
    const bool big = t % 10 == 9;
    l.ofm_depth = big ? 520 : 1 + static_cast<int>(rng() % 40);
    l.kernel_h = l.traversal == WeightTraversal::Depthwise || big ? 1 + static_cast<int>(rng() % 3)
                                                                  : 1 + static_cast<int>(rng() % 10);
    l.kernel_w = big ? 1 : 1 + static_cast<int>(rng() % 4);
    l.ifm_depth = l.traversal == WeightTraversal::Depthwise ? 1 : big ? 72 : 1 + static_cast<int>(rng() % 70);
    l.ofm_ublock_depth = t % 2 ? 8 : 4;
    l.ifm_ublock_depth = 8;
    l.ofm_block_depth = l.ofm_ublock_depth * (1 + static_cast<int>(rng() % 4));
    const int spread = 1 + static_cast<int>(rng() % 127);
    std::vector<int8_t> w(static_cast<size_t>(l.ofm_depth) * l.kernel_h * l.kernel_w * l.ifm_depth);
    for (auto& v : w) {  // no zero among the weights
      const int x = static_cast<int>(rng() % static_cast<unsigned>(2 * spread)) - spread;
      v = static_cast<int8_t>(x >= 0 ? x + 1 : x);
    }
    const int c0 = l.ofm_depth > 8 ? l.ofm_block_depth : 0, c1 = l.ofm_depth;
    if (c0 >= c1) continue;
    std::vector<int16_t> stream;
    reorder_weights(w.data(), l, c0, c1, stream);
    REQUIRE(stream.size() == stream_length(l, c0, c1));
    Histogram all{};
    std::vector<int16_t> weights;
    for (int16_t v : stream) {
      ++all[static_cast<size_t>(v + 255)];
      if (v != 0) weights.push_back(v);
    }
    // Parts by value and by index, cut at every slice and once inside the first.
    for (bool by_index : {false, true}) {
      const std::vector<int16_t>& seq = by_index ? weights : stream;
      std::vector<size_t> ends;
      if (seq.size() > 10) ends.push_back(std::min(seq.size(), kMaxSliceValues) / 3);
      for (size_t e = kMaxSliceValues; e < seq.size(); e += kMaxSliceValues) ends.push_back(e);
      ends.push_back(seq.size());
      std::vector<Histogram> got(ends.size(), Histogram{});
      std::vector<Histogram*> parts;
      for (size_t k = 0; k < got.size(); ++k) parts.push_back(k == 1 ? nullptr : &got[k]);
      add_part_histograms(w.data(), l, c0, c1, by_index, ends, parts);
      for (size_t k = 0, from = 0; k < ends.size(); from = ends[k++]) {
        Histogram want{};
        if (k != 1)
          for (size_t i = from; i < ends[k]; ++i) ++want[static_cast<size_t>(seq[i] + 255)];
        CHECK(got[k] == want);
      }
    }
    const StreamCode built = analyse_stream(stream.data(), stream.size());
    // The run sums of the stream as bytes (whatever its zeros), against the built stream's
    // size where its indices fit one slice.
    for (int zeroed = 0; zeroed < 2; ++zeroed) {
      std::vector<int8_t> w2 = w;
      if (zeroed)
        for (size_t i = 0; i < w2.size(); i += 1 + rng() % 4) w2[i] = 0;
      std::vector<int8_t> bytes;
      reorder_bytes(w2.data(), l, c0, c1, bytes);
      std::vector<int16_t> s16;
      reorder_weights(w2.data(), l, c0, c1, s16);
      REQUIRE(bytes.size() == s16.size());
      CHECK(std::equal(bytes.begin(), bytes.end(), s16.begin()));
      std::vector<RunSlice> one(1);
      for (int16_t v : s16) ++one[0].values[static_cast<size_t>(v + 255)];
      one[0].zeros = one[0].values[255];
      one[0].sums = zero_run_sums(bytes.data(), bytes.size());
      if (s16.size() - one[0].zeros > kMaxSliceValues) continue;
      const StreamCode want = analyse_stream(s16.data(), s16.size());
      StreamCode got;
      CHECK(analyse_runs(one[0].values, s16.size(), one, got) == want.zero_runs);
      if (want.zero_runs) CHECK(got.payload_bits == want.payload_bits);
    }
    std::vector<RunSlice> slices;
    padding_runs(l, c0, c1, slices);
    REQUIRE(slices.size() == std::max<size_t>(1, (weights.size() + kMaxSliceValues - 1) / kMaxSliceValues));
    for (size_t i = 0; i < weights.size(); ++i)
      ++slices[i / kMaxSliceValues].values[static_cast<size_t>(weights[i] + 255)];
    size_t zeros = 0;
    for (const RunSlice& s : slices) zeros += s.zeros;
    CHECK(zeros == stream.size() - weights.size());
    StreamCode c;
    const bool sized = analyse_runs(all, stream.size(), slices, c);
    CHECK(sized == built.zero_runs);
    if (!sized) continue;
    ++zero_run;
    multi_slice += slices.size() > 1 ? 1 : 0;
    CHECK(c.bytes == built.bytes);
    CHECK(c.payload_bits == built.payload_bits);
    CHECK(c.zero_div == built.zero_div);
    CHECK(c.weight_div == built.weight_div);
    CHECK(c.coded_weights == built.coded_weights);
  }
  CHECK(zero_run > 20);
  CHECK(multi_slice >= 2);
}

TEST_CASE("the decoder's weight order pads partial micro-blocks and kernel elements with zeros", "[npu]") {
  // Depthwise 3x3 over 4 channels with 8-deep micro-blocks: per kernel element (9, padded
  // to 12) one micro-block of 8 output channels; channels 4-7 and elements 9-11 are zeros.
  std::vector<int8_t> w(4 * 9);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(i + 1);  // OHWI [4][3][3][1]
  const WeightLayout l{4, 3, 3, 1, WeightTraversal::Depthwise, 8, 8, 8};
  std::vector<int16_t> out;
  reorder_weights(w.data(), l, 0, 4, out);
  REQUIRE(out.size() == 12 * 8);
  CHECK(out[0] == 1);      // element 0 of channel 0
  CHECK(out[1] == 10);     // element 0 of channel 1
  CHECK(out[4] == 0);      // channel 4: padding
  CHECK(out[8] == 2);      // element 1 of channel 0
  CHECK(out[9 * 8] == 0);  // element 9: padding
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
  CHECK_THAT(e.mode, Catch::Contains("palette") && Catch::Contains("zero runs"));
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
  // Half the weights are zeros (coded as runs) and the rest index a 16-entry palette.
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
