#pragma once
// What the NPU network, TFLite and NPU config targets do: what `edgesim npu --config
// CONFIG --network NET --timing fast` does (npu::setup_npu: compression, the fit check,
// the plan; the timing; one inference of real zeros through the executor and through the
// reference kernels). CONFIG is builtin:npu/ethos-u55-128.json unless the config is the
// target's input.
#include <algorithm>
#include <string>

#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
#include "models/npu/reference.hpp"
#include "models/npu/timing.hpp"

namespace edgesim::fuzz {

// An inference is skipped above this many MACs (the read, plan and timing still run): a
// valid network of a few million MACs takes seconds under the sanitizers and would only
// be a slow input (libFuzzer's -timeout), not a different path.
constexpr size_t kMaxFuzzMacs = 2'000'000;

inline void run_npu(const std::string& network_path,
                    const std::string& config_path = "builtin:npu/ethos-u55-128.json") {
  const npu::NpuSetup setup = npu::setup_npu(config_path, {}, network_path);
  npu::time_network(setup.plan, setup.dev.memories());
  if (setup.net.total_macs() > kMaxFuzzMacs) return;
  npu::Executor exec(setup.net, setup.plan);
  const npu::Dataset zero = npu::load_dataset_or_zero("", setup.net);
  exec.set_input(zero.row(0));
  exec.run();
  exec.argmax();
  const std::vector<int8_t> ref = npu::run_reference(setup.net, zero.row(0));
  // The CLI reports a datapath that disagrees with the reference as a failed simulation:
  // on any input the reader accepts, that is a bug.
  if (!std::equal(ref.begin(), ref.end(), exec.arena())) {
    std::fprintf(stderr, "fuzz: the NPU's execution differs from the reference kernels\n");
    std::abort();
  }
}

}  // namespace edgesim::fuzz
