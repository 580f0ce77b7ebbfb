// libFuzzer target: an .npz archive (ZIP, stored or deflated with zlib), read as captured
// activations are (traces::ActivationFile: the central directory, meta.json, every
// layer's entries) and as captured router logits are (traces::RouterLogitFile: meta.json,
// the first routed layers' arrays) and, whatever its entries, each one read and inflated
// through traces::NpzReader::read as the sources do.
#include "fuzz/fuzz_common.hpp"
#include "traces/activation_file.hpp"
#include "traces/npy.hpp"
#include "traces/router_logits.hpp"

namespace {
// Entries and layers read per input: enough to reach every code path, few enough that a
// valid archive with many entries does not turn into a slow input.
constexpr size_t kMaxEntries = 8;
constexpr uint32_t kMaxLayers = 2;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgesim;
  const fuzz::MemFile file(data, size);
  fuzz::accept_input_errors([&] {
    const traces::NpzReader npz(file.path());
    const std::vector<std::string> names = npz.names();
    for (size_t i = 0; i < names.size() && i < kMaxEntries; ++i) {
      try {
        npz.read(names[i]);
      } catch (const InputError&) {
        // One bad entry: the others are still read.
      }
    }
  });
  fuzz::accept_input_errors([&] {
    const traces::NpzReader npz(file.path());
    const traces::RouterLogitFile logits(file.path());
    // The first routed layers: a layer without an entry is not routed (MoE models may
    // start with dense layers), which the policy learns from the model, not the file.
    uint32_t read = 0;
    for (uint32_t layer = 0; layer < kMaxEntries && read < kMaxLayers; ++layer) {
      if (!npz.contains(traces::RouterLogitFile::entry_name(layer))) continue;
      logits.read(layer);
      ++read;
    }
  });
  return fuzz::accept_input_errors([&] {
    const traces::ActivationFile act(file.path());
    for (uint32_t layer = 0; layer < act.layers() && layer < kMaxLayers; ++layer) {
      for (size_t k = 0; k < traces::kLinearInputs; ++k) act.read(layer, static_cast<traces::LinearInput>(k));
    }
  });
}
