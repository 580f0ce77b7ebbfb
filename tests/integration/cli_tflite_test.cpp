// End-to-end tests of TFLite models on the command line: `edgesim npu` on both real
// networks (per-layer table, bit-exact, SystemC and fast timing agreeing), the JSON
// exporter (the exported network gives the same results), `edgesim fault` and
// `edgesim regress` taking a .tflite network, and bad files (exit 2 naming the file).
#include <catch2/catch.hpp>

#include "tests/integration/run_cli.hpp"

using namespace edgesim::cli_test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

std::string net(const std::string& name) {
  return source_path("configs/networks/tflite/" + name + ".tflite");
}

json npu_json(const std::string& network, std::vector<std::string> more = {}) {
  std::vector<std::string> a = {"npu", "--config", "builtin:npu/ethos-u55-128.json", "--network", network,
                                "--format", "json"};
  a.insert(a.end(), more.begin(), more.end());
  return json::parse(run_expect(a, kOk).out);
}

}  // namespace

TEST_CASE("npu runs person_detect.tflite: 31 layers, bit-exact, every layer on the NPU", "[cli][npu][tflite]") {
  const auto r = run_expect({"npu", "--config", "builtin:npu/ethos-u55-64.json", "--network", net("person_detect")}, kOk);
  CHECK_THAT(r.out, Contains("network person_detect") && Contains("depthwise_conv_2d_0") && Contains("48x48x8") &&
                        Contains("bit-exact with the reference: yes"));
  const json j = npu_json(net("person_detect"), {"--timing", "fast"});
  const json& m = j["metrics"];
  REQUIRE(m["layers"].size() == 31);
  CHECK(m["cpu"]["ops"] == 0);
  uint64_t sum = 0;
  for (const auto& l : m["layers"]) {
    sum += l["cycles"].get<uint64_t>();
    CHECK(l["unit"] == "npu");
  }
  CHECK(sum == m["cycles"].get<uint64_t>());
  CHECK(m["macs"].get<uint64_t>() > 7'000'000);
}

TEST_CASE("npu SystemC and fast timing agree on micro_speech.tflite", "[cli][npu][tflite]") {
  const json sc = npu_json(net("micro_speech_quantized"), {"--timing", "systemc"});
  const json fast = npu_json(net("micro_speech_quantized"), {"--timing", "fast"});
  CHECK(sc["metrics"]["cycles"] == fast["metrics"]["cycles"]);
  CHECK(sc["metrics"]["layers"] == fast["metrics"]["layers"]);
  CHECK(sc["metrics"]["layers"].size() == 4);
}

TEST_CASE("npu --export-json writes a JSON network and weights that run as the TFLite model does",
          "[cli][npu][tflite]") {
  TempDir tmp;
  const auto r =
      run_expect({"npu", "--network", net("micro_speech_quantized"), "--export-json", tmp / "ms.json"}, kOk);
  CHECK_THAT(r.err, Contains("ms.json") && Contains("ms.bin"));
  const json doc = json::parse(read_text(tmp / "ms.json"));
  CHECK(doc["schema"] == "edgesim.npu_network/1");
  CHECK(doc["weights_file"] == "ms.bin");
  CHECK(doc["ops"].size() == 4);
  const json a = npu_json(net("micro_speech_quantized"), {"--timing", "fast"});
  const json b = npu_json(tmp / "ms.json", {"--timing", "fast"});
  CHECK(a["metrics"]["cycles"] == b["metrics"]["cycles"]);
  CHECK(a["metrics"]["layers"] == b["metrics"]["layers"]);
  CHECK(a["metrics"]["inputs"] == b["metrics"]["inputs"]);
  // With --config too, the export comes with the run.
  const json both = npu_json(net("micro_speech_quantized"), {"--export-json", tmp / "again.json"});
  CHECK(both["metrics"]["layers"].size() == 4);
  json again = json::parse(read_text(tmp / "again.json")), first = doc;
  CHECK(again["weights_file"] == "again.bin");
  again.erase("weights_file");
  first.erase("weights_file");
  CHECK(again == first);
  CHECK(read_text(tmp / "again.bin") == read_text(tmp / "ms.bin"));
}

TEST_CASE("fault runs a campaign on a TFLite network", "[cli][fault][tflite]") {
  TempDir tmp;
  const auto r = run_expect({"fault", "--config", "builtin:npu/ethos-u55-128.json", "--network",
                             net("micro_speech_quantized"), "--samples", "400", "--json", tmp / "c.json"},
                            kOk);
  CHECK_THAT(r.out, Contains("network micro_speech_quantized") && Contains("accumulators"));
  const json c = json::parse(read_text(tmp / "c.json"));
  CHECK(c["network"] == "micro_speech_quantized");
  CHECK(c["injections"] == 400);
}

TEST_CASE("regress takes an NPU experiment on a TFLite network", "[cli][regress][tflite]") {
  TempDir tmp;
  const json suite = {{"description", "a TFLite network in a regression suite"},
                      {"golden_dir", tmp.path()},
                      {"experiments",
                       {{{"name", "micro-speech-64"},
                         {"config", "builtin:npu/ethos-u55-64.json"},
                         {"network", net("micro_speech_quantized")}}}}};
  write_text(tmp / "suite.json", suite.dump(2));
  run_expect({"regress", tmp / "suite.json", "--update"}, kOk);
  run_expect({"regress", tmp / "suite.json"}, kOk);
  const json golden = json::parse(read_text(tmp / "micro-speech-64.json"));
  CHECK(golden.dump().find("depthwise_conv_2d_1") != std::string::npos);
}

TEST_CASE("bad TFLite files exit 2 naming the file and what is wrong", "[cli][npu][tflite]") {
  TempDir tmp;
  const std::string bytes = read_text(net("person_detect"));
  auto err = [&](const std::string& file) {
    return run_expect({"npu", "--config", "builtin:npu/ethos-u55-128.json", "--network", file}, kBadInput).err;
  };
  write_text(tmp / "cut.tflite", bytes.substr(0, bytes.size() / 2));
  CHECK_THAT(err(tmp / "cut.tflite"), Contains("cut.tflite") && Contains("not a valid TFLite flatbuffer") &&
                                          Contains("byte"));
  write_text(tmp / "tiny.tflite", bytes.substr(0, 6));
  CHECK_THAT(err(tmp / "tiny.tflite"), Contains("tiny.tflite: truncated: 6 bytes"));
  std::string other = bytes;
  other.replace(4, 4, "JUNK");
  write_text(tmp / "other.tflite", other);
  CHECK_THAT(err(tmp / "other.tflite"), Contains("other.tflite") && Contains("'JUNK'"));
  // The schema version (the model table's first field, 3) changed to 7: the root table's
  // offset at byte 0, its vtable before it, the field's offset in the vtable's first slot.
  std::string v7 = bytes;
  auto u32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, v7.data() + at, 4);
    return v;
  };
  const size_t root = u32(0);
  const size_t vtable = root - static_cast<size_t>(static_cast<int32_t>(u32(root)));
  uint16_t field = 0;
  std::memcpy(&field, v7.data() + vtable + 4, 2);
  REQUIRE(field != 0);
  REQUIRE(u32(root + field) == 3);
  v7[root + field] = 7;
  write_text(tmp / "v7.tflite", v7);
  CHECK_THAT(err(tmp / "v7.tflite"), Contains("v7.tflite") && Contains("schema version 7"));
  CHECK_THAT(err(tmp / "missing.tflite"), Contains("missing.tflite"));
  // fault and --export-json read through the same reader.
  CHECK_THAT(run_expect({"fault", "--config", "builtin:npu/ethos-u55-128.json", "--network", tmp / "cut.tflite",
                         "--samples", "10"},
                        kBadInput)
                 .err,
             Contains("cut.tflite"));
  CHECK_THAT(run_expect({"npu", "--network", tmp / "tiny.tflite", "--export-json", tmp / "x.json"}, kBadInput).err,
             Contains("tiny.tflite"));
}

TEST_CASE("an op the NPU cannot take runs on the host CPU: cpu in the table, counted in the totals",
          "[cli][npu]") {
  // digits' fully connected layer has per-channel weights: Vela leaves it to the CPU.
  const std::vector<std::string> args = {"npu", "--config", "builtin:npu/ethos-u55-128.json", "--network",
                                         source_path("configs/networks/digits.json"), "--timing", "fast"};
  const auto table = run_expect(args, kOk);
  CHECK_THAT(table.out, Contains("fully_connected") && Contains(" cpu ") && Contains("on the host CPU"));
  const json j = npu_json(source_path("configs/networks/digits.json"), {"--timing", "fast"});
  const json& m = j["metrics"];
  CHECK(m["cpu"]["ops"] == 1);
  uint64_t cpu = 0, total = 0;
  for (const auto& l : m["layers"]) {
    total += l["cycles"].get<uint64_t>();
    if (l["unit"] == "cpu") {
      cpu += l["cycles"].get<uint64_t>();
      CHECK(l["bound"] == "cpu");
      CHECK_THAT(l["cpu_reason"].get<std::string>(), Contains("per-channel"));
    }
  }
  CHECK(cpu == m["cpu"]["cycles"].get<uint64_t>());
  CHECK(total == m["cycles"].get<uint64_t>());
  // A slower CPU makes that layer, and only it, slower.
  const json slow = npu_json(source_path("configs/networks/digits.json"),
                             {"--timing", "fast", "--set", "device.cpu.cycles_per_mac=4"});
  CHECK(slow["metrics"]["cpu"]["cycles"].get<uint64_t>() > m["cpu"]["cycles"].get<uint64_t>());
  CHECK(slow["metrics"]["cycles"].get<uint64_t>() - m["cycles"].get<uint64_t>() ==
        slow["metrics"]["cpu"]["cycles"].get<uint64_t>() - m["cpu"]["cycles"].get<uint64_t>());
}
