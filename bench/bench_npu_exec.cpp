// Bit-exact int8 inference per wall-clock second of the NPU model's functional execution
// (models/npu/executor.*) on the TFLite networks (person_detect, micro_speech), one core,
// in each Ethos-U55 configuration (the plan's block shapes change the traversal); and
// the same figure for the plain reference kernels. Prints figures; asserts nothing.
//   build-release/bench/bench_npu_exec [SOURCE_DIR] [SECONDS_PER_POINT]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_clock.hpp"
#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
#include "models/npu/reference.hpp"
#include "models/npu/timing.hpp"
#include "sim/core/config/loader.hpp"

// libsystemc.so refers to sc_main; this benchmark never starts SystemC.
extern "C" int sc_main(int, char**) {
  return 0;
}

using namespace edgesim;
using namespace edgesim::npu;
using edgesim::bench::Clock;
using edgesim::bench::seconds_since;
using edgesim::bench::thread_cpu_seconds;

namespace {

/// Runs `step` until `budget` seconds have passed; returns calls per second (wall) and per
/// thread-CPU second.
template <class F>
std::pair<double, double> rate(double budget, F&& step) {
  long n = 0;
  const auto t0 = Clock::now();
  const double c0 = thread_cpu_seconds();
  double elapsed = 0;
  do {
    for (int k = 0; k < 8; ++k, ++n) step(n);
    elapsed = seconds_since(t0);
  } while (elapsed < budget);
  return {static_cast<double>(n) / elapsed, static_cast<double>(n) / (thread_cpu_seconds() - c0)};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string root = argc > 1 ? argv[1] : EDGESIM_SOURCE_DIR;
  const double budget = argc > 2 ? std::atof(argv[2]) : 3.0;
  std::printf("%-24s %-14s %12s %12s %10s %14s\n", "network", "device", "inferences/s", "(per CPU s)", "GMAC/s",
              "reference inf/s");
  for (const char* name : {"person_detect", "micro_speech_quantized"}) {
    const Network net = load_network(root + "/configs/networks/tflite/" + name + ".tflite");
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> u(-128, 127);
    std::vector<std::vector<int8_t>> inputs(16, std::vector<int8_t>(net.tensors[static_cast<size_t>(net.input)].size()));
    for (auto& in : inputs)
      for (auto& v : in) v = static_cast<int8_t>(u(rng));
    double reference = 0;
    for (const char* device : {"ethos-u55-32", "ethos-u55-64", "ethos-u55-128", "ethos-u55-256"}) {
      const NpuDevice dev = build_npu_device(config::load_config(std::string("builtin:npu/") + device + ".json"));
      const Plan plan = plan_network(net, dev.settings, dev.memories());
      Executor exec(net, plan);
      long checksum = 0;
      const auto [wall, cpu] = rate(budget, [&](long i) {
        exec.set_input(inputs[static_cast<size_t>(i) % inputs.size()].data());
        exec.run();
        checksum += exec.argmax();
      });
      if (reference == 0) {
        reference = rate(budget, [&](long i) {
                      const auto arena = run_reference(net, inputs[static_cast<size_t>(i) % inputs.size()].data());
                      checksum += arena[0];
                    }).first;
      }
      std::printf("%-24s %-14s %12.0f %12.0f %10.2f %14.1f%s\n", name, device, wall, cpu,
                  wall * static_cast<double>(net.total_macs()) / 1e9, reference, checksum == -1 ? " " : "");
    }
  }
  return 0;
}
