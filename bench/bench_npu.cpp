// Simulated inferences per wall-clock second of the NPU model on the digits network:
// per inference, the timing model (the DMA/compute schedule over the memory models) and
// the bit-exact int8 functional execution, on one core. Then, on the real TFLite networks
// (person_detect, micro_speech: configs/networks/tflite): plans per second from the
// .tflite file (read, lower, choose blocks, encode the weights), reads of the file alone
// (read, verify, copy the weights), plans from the loaded network, timings per second
// with the plan reused, and bit-exact inferences per second of the NPU's functional
// execution (random inputs), each per wall second and per second of the thread's CPU
// time (one core; on a shared machine the wall figure also counts other processes' time),
// and a digest of each plan (to compare with another binary's). Prints figures; asserts
// nothing.
//   build-release/bench/bench_npu [SOURCE_DIR] [INFERENCES] [DEVICE] [SECONDS]
//   (DEVICE: e.g. ethos-u55-32, or all)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_clock.hpp"
#include "bench/plan_digest.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
#include "models/npu/timing.hpp"
#include "sim/core/config/loader.hpp"

using namespace edgesim;
using namespace edgesim::npu;
using edgesim::bench::Clock;
using edgesim::bench::seconds_since;
using edgesim::bench::thread_cpu_seconds;

namespace {

/// Calls per wall second and per second of the thread's CPU time.
struct Rate {
  double wall = 0, cpu = 0;
};

/// Repeats `f` (given the call's number) for at least `seconds` of wall time.
template <class F>
Rate rate(double seconds, F&& f) {
  long calls = 0;
  const auto t0 = Clock::now();
  const double c0 = thread_cpu_seconds();
  double elapsed = 0;
  do {
    for (int i = 0; i < 16; ++i) f(calls + i);
    calls += 16;
    elapsed = seconds_since(t0);
  } while (elapsed < seconds);
  return {static_cast<double>(calls) / elapsed, static_cast<double>(calls) / (thread_cpu_seconds() - c0)};
}

void tflite_network(const std::string& root, const char* name, const std::string& only, double seconds) {
  const std::string path = root + "/configs/networks/tflite/" + name + ".tflite";
  const Network probe = load_network(path);
  std::printf("\n%s.tflite: %zu ops, %zu MACs/inference; per wall second (per thread CPU second)\n", name,
              probe.ops.size(), probe.total_macs());
  std::printf("%-14s %20s %20s %20s %22s %20s %10s %20s\n", "device", "file+plan/s", "file only/s",
              "plan only/s", "timings/s", "inferences/s", "cycles", "plan digest");
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> u(-128, 127);
  std::vector<std::vector<int8_t>> inputs(16, std::vector<int8_t>(probe.tensors[probe.input].size()));
  for (auto& in : inputs)
    for (auto& v : in) v = static_cast<int8_t>(u(rng));
  const auto cell = [](const Rate& r) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f (%.0f)", r.wall, r.cpu);
    return std::string(buf);
  };
  for (const char* device :
       {"ethos-u55-32.json", "ethos-u55-64.json", "ethos-u55-128.json", "ethos-u55-256.json"}) {
    if (!only.empty() && only != "all" && only + ".json" != device) continue;
    const NpuDevice dev = build_npu_device(config::load_config(std::string("builtin:npu/") + device));
    const MemorySystem mem = dev.memories();
    size_t sink = 0;
    const Rate plans = rate(seconds, [&](long) {
      const Network net = load_network(path);
      sink += plan_network(net, dev.settings, mem).layers.size();
    });
    const Rate files = rate(seconds, [&](long) { sink += load_network(path).ops.size(); });
    const Rate plans_only = rate(seconds, [&](long) { sink += plan_network(probe, dev.settings, mem).layers.size(); });
    const Plan plan = plan_network(probe, dev.settings, mem);
    bench::Digest digest;  // the plan, bit for bit (compare with an earlier binary's)
    bench::add_plan(digest, plan);
    Timing t;
    time_network(plan, mem, t);  // sizes t's storage once
    const Rate timings = rate(seconds, [&](long) {
      time_network(plan, mem, t);
      sink += t.cycles;
    });
    Executor exec(probe, plan);
    const Rate inferences = rate(seconds, [&](long i) {
      exec.set_input(inputs[static_cast<size_t>(i) % inputs.size()].data());
      exec.run();
      sink += static_cast<size_t>(exec.argmax());
    });
    std::printf("%-14s %20s %20s %20s %22s %20s %10llu %20llu\n", dev.settings.name.c_str(),
                cell(plans).c_str(), cell(files).c_str(), cell(plans_only).c_str(), cell(timings).c_str(),
                cell(inferences).c_str(), static_cast<unsigned long long>(t.cycles),
                static_cast<unsigned long long>(digest.value()));
    if (sink == 0) std::printf("(nothing planned)\n");  // keeps the loops' results observable
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string root = argc > 1 ? argv[1] : EDGESIM_SOURCE_DIR;
  const long n = argc > 2 ? std::atol(argv[2]) : 50000;
  const std::string only = argc > 3 ? argv[3] : "";
  const double seconds = argc > 4 ? std::atof(argv[4]) : 2.0;
  const Network net = load_network(root + "/configs/networks/digits.json");
  const Dataset data = load_dataset(root + "/data/digits-heldout.csv.gz", net);
  std::printf("digits network: %zu layers, %zu MACs/inference; %ld inferences over %zu held-out inputs\n",
              net.ops.size(), net.total_macs(), n, data.rows());
  std::printf("%-16s %14s %14s %14s %14s %10s %10s\n", "device", "timing+exec/s", "(per CPU s)",
              "timing only/s", "exec only/s", "sim inf/s", "accuracy");
  for (const char* device :
       {"ethos-u55-32.json", "ethos-u55-64.json", "ethos-u55-128.json", "ethos-u55-256.json"}) {
    if (!only.empty() && only != "all" && only + ".json" != device) continue;
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
  for (const char* name : {"person_detect", "micro_speech_quantized"}) tflite_network(root, name, only, seconds);
  return 0;
}
