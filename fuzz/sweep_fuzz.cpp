// libFuzzer target: a sweep spec, read and expanded as `edgesim sweep SPEC` does
// (config::parse_json_text of the file, sim::expand_sweep), then the first points resolved
// with sim::build_experiment as the sweep does for every point before running any. Only
// the first kResolvedPoints are resolved here: each is the config target's work, and a
// spec of many valid points would only repeat it. For the same reason the target expands
// at most kFuzzMaxPoints points (sim::kMaxSweepPoints for the CLI): a valid spec of 10^5
// points takes seconds to expand under the sanitizers, a slow input to libFuzzer
// (-timeout=2) that is no bug; the limit's check itself is the same code.
#include "fuzz/fuzz_common.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/experiment.hpp"
#include "sim/sweep.hpp"

namespace {
constexpr size_t kResolvedPoints = 4;
constexpr size_t kFuzzMaxPoints = 512;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  const fuzz::MemFile file(data, size);
  return fuzz::accept_input_errors([&] {
    const nlohmann::json spec = config::parse_json_text(config::read_file(file.path()), file.path());
    const std::vector<sim::SweepPoint> points = sim::expand_sweep(spec, file.path(), kFuzzMaxPoints);
    for (size_t i = 0; i < points.size() && i < kResolvedPoints; ++i) {
      try {
        sim::point_id(sim::build_experiment(points[i].config).config);
      } catch (const InputError&) {
        // The sweep records an invalid point and goes on with the next.
      }
    }
  });
}
