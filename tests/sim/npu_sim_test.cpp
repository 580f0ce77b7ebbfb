// The NPU's SystemC wrapper (DMA and compute processes over TLM targets around the
// memory models) against the pure C++ schedule. One simulation per TEST_CASE: ctest runs
// each case in its own process (SystemC elaborates once per process).
#include <catch2/catch.hpp>

#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
#include "models/npu/npu_tlm.hpp"
#include "models/npu/reference.hpp"
#include "sim/core/config/loader.hpp"

using namespace edgesim;
using namespace edgesim::npu;

namespace {

void systemc_matches_pure_schedule(const std::string& device, const std::vector<std::string>& sets) {
  nlohmann::json cfg = config::load_config("builtin:npu/" + device);
  for (const auto& s : sets) config::apply_override(cfg, s);
  const NpuDevice dev = build_npu_device(cfg);
  const std::string root = EDGESIM_SOURCE_DIR;
  const Network net = load_network(root + "/configs/networks/digits.json");
  const Plan plan = plan_network(net, dev.settings, dev.memories());
  const Timing pure = time_network(plan, dev.memories());
  const Dataset data = load_dataset(root + "/data/digits-heldout.csv.gz", net);
  Executor exec(net, plan);
  exec.set_input(data.row(0));
  sim::Stats stats;
  const Timing sc = run_systemc(plan, dev.memories(), &exec, stats);
  REQUIRE(sc.layers.size() == pure.layers.size());
  for (size_t i = 0; i < pure.layers.size(); ++i) {
    INFO("layer " << net.ops[i].name);
    CHECK(sc.layers[i].cycles == pure.layers[i].cycles);
    CHECK(sc.layers[i].dma_cycles == pure.layers[i].dma_cycles);
    for (int m = 0; m < kMemories; ++m) {
      CHECK(sc.layers[i].read_bytes[m] == pure.layers[i].read_bytes[m]);
      CHECK(sc.layers[i].write_bytes[m] == pure.layers[i].write_bytes[m]);
    }
  }
  CHECK(sc.cycles == pure.cycles);
  CHECK(sc.energy == Approx(pure.energy).epsilon(1e-9));
  // The compute process ran every layer's functional execution at the layer's end.
  const std::vector<int8_t> ref = run_reference(net, data.row(0));
  CHECK(std::equal(ref.begin(), ref.end(), exec.arena()));
  // The memory targets counted the DMA's traffic.
  const auto j = stats.to_json();
  uint64_t sram_read = 0;
  for (const auto& l : pure.layers) sram_read += l.read_bytes[kSram];
  CHECK(j["sram"]["read_bytes"]["value"].get<double>() == Approx(static_cast<double>(sram_read)));
}

}  // namespace

TEST_CASE(
    "NPU SystemC processes reproduce the pure schedule (U55-128 with weights in flash and double "
    "buffering)") {
  systemc_matches_pure_schedule("ethos-u55-128.json", {});
}

TEST_CASE(
    "NPU SystemC processes reproduce the pure schedule (U55-32 with weights in SRAM and single buffering)") {
  systemc_matches_pure_schedule("ethos-u55-32.json",
                                {"device.npu.weights_in=sram", "device.npu.double_buffering=false"});
}
