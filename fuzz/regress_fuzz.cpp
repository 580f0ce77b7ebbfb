// libFuzzer target: a regress suite and a golden, as `edgesim regress SUITE` reads them
// before it runs anything. The input is the suite, a line "%%", then the golden of the
// suite's first experiment. The suite is read from configs/regress/ of a copy of the
// source tree's layout (configs/ and data/ linked from the source tree), so paths written
// as in configs/regress/spine.json resolve: sim::load_suite (keys, tolerances, each
// experiment's config, overrides, network and input) resolves every experiment; then
// the golden is read (sim::read_golden) and compared (sim::compare_metrics) with the
// metrics of tests/golden/spine/tiny.json, standing in for a run's.
#include <filesystem>

#include "fuzz/fuzz_common.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/regress.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// The folder the suite is read from, with the source tree's configs (but regress) and data.
std::string suite_folder() {
  const std::string root = edgesim::fuzz::scratch_folder().file("tree");
  const fs::path src = EDGESIM_SOURCE_DIR;
  fs::create_directories(fs::path(root) / "configs" / "regress");
  for (const auto& e : fs::directory_iterator(src / "configs")) {
    if (e.path().filename() != "regress")
      fs::create_directory_symlink(e.path(), fs::path(root) / "configs" / e.path().filename());
  }
  fs::create_directory_symlink(src / "data", fs::path(root) / "data");
  return root + "/configs/regress";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  static const std::string folder = suite_folder();
  static const json now = config::parse_json_text(
      config::read_file(EDGESIM_SOURCE_DIR "/tests/golden/spine/tiny.json"), "tiny.json")["metrics"];
  const std::string golden_dir = fuzz::scratch_folder().file("golden");
  fs::remove_all(golden_dir);
  std::string suite_text, golden_text;
  fuzz::split_input(data, size, "\n%%\n", suite_text, golden_text);
  fuzz::write_file(folder + "/suite.json", suite_text);
  return fuzz::accept_input_errors([&] {
    sim::RegressSuite suite = sim::load_suite(folder + "/suite.json");
    suite.golden_dir = golden_dir;  // as --golden-dir does
    fuzz::write_file(suite.golden_path(suite.experiments.front().name), golden_text);
    const json golden = sim::read_golden(suite, suite.experiments.front());
    golden["config_hash"].get<std::string>();
    std::vector<std::string> added;
    sim::compare_metrics(suite, golden["metrics"], now, added);
  });
}
