// libFuzzer target: the output folders of sweeps and npu-datasets, as `sweep --resume`,
// `sweep merge` and `npu-dataset merge` read them. The input holds up to five sections,
// separated by a line "%%":
//   sweep.json, then results.jsonl and layers.jsonl of folder A, then the same two of B
// (a section the input does not reach is a file the folder lacks; both folders get the
// same sweep.json). The target reads A's manifest and records and writes its CSV, as a
// resumed sweep does before and after its run, then merges A and B into a third folder:
// `npu-dataset merge` when the manifest's spec names a dataset, `sweep merge` otherwise.
#include <filesystem>

#include "fuzz/fuzz_common.hpp"
#include "sim/npu_dataset.hpp"
#include "sim/sweep_output.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  namespace fs = std::filesystem;
  const sim::ScratchDir& scratch = fuzz::scratch_folder();
  const std::string a = scratch.file("a"), b = scratch.file("b"), out = scratch.file("out");
  for (const auto& d : {a, b, out}) fs::remove_all(d);
  const std::vector<std::string> s = fuzz::split_sections(data, size, "\n%%\n", 5);
  const char* files[] = {"results.jsonl", "layers.jsonl"};
  fuzz::write_file(a + "/sweep.json", s[0]);
  fuzz::write_file(b + "/sweep.json", s[0]);
  for (size_t i = 1; i < s.size(); ++i) fuzz::write_file((i < 3 ? a : b) + "/" + files[(i - 1) % 2], s[i]);
  return fuzz::accept_input_errors([&] {
    sim::read_manifest(a);
    sim::records_csv(sim::read_records(a + "/results.jsonl", true));
    if (sim::is_npu_dataset(a)) {
      sim::merge_npu_datasets({a, b}, out);
    } else {
      sim::merge_sweeps({a, b}, out);
    }
  });
}
