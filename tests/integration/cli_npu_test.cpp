// End-to-end tests of `edgesim npu`: the digits network on the built-in Ethos-U55
// configurations, result files and formats, SystemC and fast timing agreeing, weight
// compression, and bad input (exit 2 naming what and where).
#include <catch2/catch.hpp>

#include "tests/integration/run_cli.hpp"

using namespace edgesim::cli_test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

std::vector<std::string> npu_args(const std::string& device, std::vector<std::string> more = {}) {
  std::vector<std::string> a = {"npu", "--config", "builtin:npu/" + device, "--network",
                                source_path("configs/networks/digits.json")};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

json npu_json(const std::string& device, std::vector<std::string> more = {}) {
  more.insert(more.end(), {"--format", "json"});
  return json::parse(run_expect(npu_args(device, more), kOk).out);
}

}  // namespace

TEST_CASE("npu runs the digits network with a per-layer table and held-out accuracy and a bit-exact datapath",
          "[cli][npu]") {
  const auto r =
      run_expect(npu_args("ethos-u55-128.json", {"--input", source_path("data/digits-heldout.csv.gz")}), kOk);
  CHECK_THAT(r.out, Contains("conv2d") && Contains("depthwise_conv2d") && Contains("softmax"));
  CHECK_THAT(r.out, Contains("inferences/s") && Contains("energy/inference"));
  CHECK_THAT(r.out, Contains("bit-exact with the reference: yes"));
  const json j = npu_json("ethos-u55-128.json", {"--input", source_path("data/digits-heldout.csv.gz")});
  const json& m = j["metrics"];
  CHECK(m["inputs"]["count"] == 360);
  CHECK(m["inputs"]["accuracy"].get<double>() >= 0.95);
  CHECK(m["layers"].size() == 9);
  uint64_t sum = 0;
  for (const auto& l : m["layers"]) sum += l["cycles"].get<uint64_t>();
  CHECK(sum == m["cycles"].get<uint64_t>());
  CHECK(m["inferences_per_s"].get<double>() == Approx(500e6 / m["cycles"].get<double>()));
  CHECK(j["config"]["device"]["npu"]["macs"] == 128);
}

TEST_CASE("npu SystemC and fast timing give the same cycles and traffic", "[cli][npu]") {
  for (const char* device : {"ethos-u55-64.json", "ethos-u55-256.json"}) {
    const json sc = npu_json(device, {"--timing", "systemc"});
    const json fast = npu_json(device, {"--timing", "fast"});
    CHECK(sc["metrics"]["cycles"] == fast["metrics"]["cycles"]);
    CHECK(sc["metrics"]["layers"] == fast["metrics"]["layers"]);
  }
}

TEST_CASE("npu writes results.json and results.csv atomically with one CSV row per layer and a total",
          "[cli][npu]") {
  TempDir tmp;
  run_expect(npu_args("ethos-u55-32.json", {"--out", tmp / "out", "--format", "csv"}), kOk);
  const std::string csv = read_text(tmp / "out/results.csv");
  size_t lines = 0;
  for (char c : csv) lines += c == '\n';
  CHECK(lines == 1 + 9 + 1);
  CHECK_THAT(csv, Contains("total,"));
  const json j = json::parse(read_text(tmp / "out/results.json"));
  CHECK(j["run"]["mode"] == "npu");
}

TEST_CASE("npu compression by pruning and clustering shrinks the weight stream from flash", "[cli][npu]") {
  const json dense = npu_json("ethos-u55-128.json");
  const json packed =
      npu_json("ethos-u55-128.json", {"--set", "device.npu.prune=0.6", "--set", "device.npu.clusters=8"});
  CHECK(packed["metrics"]["weight_stream_bytes"].get<double>() <
        0.6 * dense["metrics"]["weight_stream_bytes"].get<double>());
  CHECK(packed["metrics"]["energy_J"]["flash"].get<double>() <
        dense["metrics"]["energy_J"]["flash"].get<double>());
  CHECK_THAT(packed["metrics"]["layers"][4]["weights"]["encoding"].get<std::string>(), Contains("palette"));
}

TEST_CASE("npu rejects bad input with exit 2 naming what and where", "[cli][npu]") {
  TempDir tmp;
  auto err = [&](const std::vector<std::string>& args) { return run_expect(args, kBadInput).err; };
  CHECK_THAT(err(npu_args("ethos-u55-128.json", {"--set", "device.npu.macs=100"})),
             Contains("device.npu.macs") && Contains("32, 64, 128 or 256"));
  CHECK_THAT(err(npu_args("ethos-u55-128.json", {"--set", "device.npu.weights_in=rom"})),
             Contains("device.npu.weights_in"));
  CHECK_THAT(err(npu_args("ethos-u55-128.json", {"--set", "device.npu.mac=3"})),
             Contains("did you mean 'macs'"));
  CHECK_THAT(err(npu_args("ethos-u55-128.json", {"--set", "device.sram.capacity=1 KiB"})),
             Contains("device.sram") && Contains("needs"));
  // A device name that is not a string (a JSON type error, exit 1, before).
  CHECK_THAT(err(npu_args("ethos-u55-128.json", {"--set", "device.name=5"})),
             Contains("device.name: expected the device's name, not 5"));
  write_text(tmp / "bad.csv", "1,2,3\n");
  CHECK_THAT(err(npu_args("ethos-u55-128.json", {"--input", tmp / "bad.csv"})),
             Contains("bad.csv:1") && Contains("64 elements"));
  write_text(tmp / "nan.csv", "1,x\n");
  CHECK_THAT(err(npu_args("ethos-u55-128.json", {"--input", tmp / "nan.csv"})), Contains("nan.csv:1"));
  // A network whose weights file was cut short.
  const std::string net = read_text(source_path("configs/networks/digits.json"));
  write_text(tmp / "digits.json", net);
  const std::string bin = read_text(source_path("configs/networks/digits.bin"));
  write_text(tmp / "digits.bin", bin.substr(0, 3000));
  CHECK_THAT(err({"npu", "--config", "builtin:npu/ethos-u55-128.json", "--network", tmp / "digits.json"}),
             Contains("digits.bin") && Contains("truncated"));
  write_text(tmp / "broken.json", net.substr(0, net.size() / 2));
  CHECK_THAT(err({"npu", "--config", "builtin:npu/ethos-u55-128.json", "--network", tmp / "broken.json"}),
             Contains("broken.json"));
  CHECK_THAT(err({"npu", "--config", "builtin:npu/ethos-u55-128.json"}), Contains("--network"));
  CHECK_THAT(err(npu_args("ethos-u55-128.json", {"--timing", "slow"})), Contains("--timing"));
}
