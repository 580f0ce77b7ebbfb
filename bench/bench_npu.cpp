// Simulated inferences per wall-clock second of the NPU model on the digits network:
// per inference, the timing model (the DMA/compute schedule over the memory models) and
// the bit-exact int8 functional execution, on one core. Prints figures; asserts nothing.
//   build-release/bench/bench_npu [SOURCE_DIR] [INFERENCES] [DEVICE]   (DEVICE: e.g. ethos-u55-32)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "bench/bench_clock.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
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

int main(int argc, char** argv) {
  const std::string root = argc > 1 ? argv[1] : EDGESIM_SOURCE_DIR;
  const long n = argc > 2 ? std::atol(argv[2]) : 50000;
  const std::string only = argc > 3 ? argv[3] : "";
  const Network net = load_network(root + "/configs/networks/digits.json");
  const Dataset data = load_dataset(root + "/data/digits-heldout.csv.gz", net);
  std::printf("digits network: %zu layers, %zu MACs/inference; %ld inferences over %zu held-out inputs\n",
              net.ops.size(), net.total_macs(), n, data.rows());
  std::printf("%-16s %14s %14s %14s %14s %10s %10s\n", "device", "timing+exec/s", "(per CPU s)",
              "timing only/s", "exec only/s", "sim inf/s", "accuracy");
  for (const char* device :
       {"ethos-u55-32.json", "ethos-u55-64.json", "ethos-u55-128.json", "ethos-u55-256.json"}) {
    if (!only.empty() && only + ".json" != device) continue;
    const NpuDevice dev = build_npu_device(config::load_config(std::string("builtin:npu/") + device));
    const MemorySystem mem = dev.memories();
    const Plan plan = plan_network(net, dev.settings, mem);
    Executor exec(net, plan);
    Timing t;
    time_network(plan, mem, t);  // sizes t's storage once
    size_t correct = 0;
    uint64_t cycles = 0;
    auto t0 = Clock::now();
    const double cpu0 = thread_cpu_seconds();
    for (long i = 0; i < n; ++i) {
      const size_t row = static_cast<size_t>(i) % data.rows();
      time_network(plan, mem, t);
      exec.set_input(data.row(row));
      exec.run();
      cycles += t.cycles;
      correct += exec.argmax() == data.labels[row] ? 1 : 0;
    }
    const double both = static_cast<double>(n) / seconds_since(t0);
    const double both_cpu = static_cast<double>(n) / (thread_cpu_seconds() - cpu0);
    t0 = Clock::now();
    for (long i = 0; i < n; ++i) {
      time_network(plan, mem, t);
      cycles += t.cycles;
    }
    const double timing_only = static_cast<double>(n) / seconds_since(t0);
    t0 = Clock::now();
    for (long i = 0; i < n; ++i) {
      exec.set_input(data.row(static_cast<size_t>(i) % data.rows()));
      exec.run();
      cycles += static_cast<uint64_t>(exec.output()[0] & 1);
    }
    const double exec_only = static_cast<double>(n) / seconds_since(t0);
    std::printf("%-16s %14.0f %14.0f %14.0f %14.0f %10.0f %9.2f%%\n", dev.settings.name.c_str(), both,
                both_cpu, timing_only, exec_only, 1.0 / t.seconds,
                100.0 * static_cast<double>(correct) / static_cast<double>(n));
    if (cycles == 0) std::printf("(no cycles)\n");  // keeps the loops' results observable
  }
  return 0;
}
