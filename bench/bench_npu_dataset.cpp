// Networks annotated per second of one core for `edgesim npu-dataset` (docs/npu-dataset.md):
// MobileNetV2-space networks at 224x224 drawn and timed on the four Ethos-U55
// configurations (32, 64, 128, 256 MACs), timing only (generation, plan, schedule and the
// run's totals: no files); the share of generation, planning and timing in that; and the
// same with the rows and per-layer rows built as the command writes them. Figures are
// per second of the thread's CPU time (on a shared machine, wall time also counts other
// processes') and per wall second. Last, the timing-only loop on every core at once (each
// thread its share of the networks), per wall second, and what EdgeDLPerf's size (134,912
// networks on four configurations, the yardstick) would take at that rate.
// Prints figures; asserts nothing.
//   build/bench/bench_npu_dataset [NETWORKS] [SPACE] [RESOLUTION]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_clock.hpp"
#include "bench/plan_digest.hpp"
#include "models/npu/device.hpp"
#include "models/npu/spaces/space.hpp"
#include "models/npu/summary.hpp"
#include "models/npu/timing.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/npu_dataset.hpp"

using namespace edgesim;
using namespace edgesim::npu;
using edgesim::bench::Clock;
using edgesim::bench::seconds_since;
using edgesim::bench::thread_cpu_seconds;
using nlohmann::json;

int main(int argc, char** argv) {
  const int networks = argc > 1 ? std::atoi(argv[1]) : 300;
  const std::string space_name = argc > 2 ? argv[2] : "mobilenetv2";
  const int resolution = argc > 3 ? std::atoi(argv[3]) : 224;
  json options = {{space_name, json::object()}};
  if (space_name == "mobilenetv2" || space_name == "resnet")
    options[space_name] = {{"resolution_min", resolution}, {"resolution_max", resolution}};
  json resolved;
  const auto space = spaces::make_space(space_name, options, resolved);
  std::vector<NpuDevice> devices;
  for (int macs : {32, 64, 128, 256})
    devices.push_back(
        build_npu_device(config::load_config("builtin:npu/ethos-u55-" + std::to_string(macs) + ".json")));

  // Timing only, by stage.
  double gen = 0, plan = 0, timing = 0, hashing = 0;  // hashing: the digest, left out of the figures
  uint64_t cycles = 0, ops = 0, jobs = 0, macs = 0;
  Timing t;
  bench::Digest digest;  // every plan, bit for bit (compare with an earlier binary's)
  const auto w0 = Clock::now();
  const double c0 = thread_cpu_seconds();
  for (int i = 0; i < networks; ++i) {
    double a = thread_cpu_seconds();
    const spaces::Sample s = space->generate(spaces::network_seed(1, static_cast<uint64_t>(i)), nullptr);
    double b = thread_cpu_seconds();
    gen += b - a;
    ops += s.net.ops.size();
    macs += s.net.total_macs();
    PlanCache cache;  // as npu-dataset plans: the configurations share the weight streams
    for (const NpuDevice& d : devices) {
      a = thread_cpu_seconds();
      const Plan p = plan_network(s.net, d.settings, d.memories(), &cache);
      b = thread_cpu_seconds();
      bench::add_plan(digest, p);
      const double hashed = thread_cpu_seconds();
      hashing += hashed - b;
      b = hashed;
      time_network(p, d.memories(), t);
      const RunSummary r = summarise(s.net, p, t);
      timing += thread_cpu_seconds() - b;
      plan += b - a;
      cycles += r.cycles;
      for (const auto& l : p.layers) jobs += l.jobs.size();
    }
  }
  const double cpu = thread_cpu_seconds() - c0 - hashing, wall = seconds_since(w0) - hashing;
  std::printf(
      "npu-dataset annotation, %s at %dx%d, %d networks x 4 configurations (32/64/128/256 MACs), timing "
      "only\n",
      space_name.c_str(), resolution, resolution, networks);
  std::printf(
      "  %.0f networks/s per core (CPU time; %.0f per wall second), %.0f (network, configuration) rows/s\n",
      networks / cpu, networks / wall, 4 * networks / cpu);
  std::printf("  per network: generation %.3f ms, planning %.3f ms (4 configurations), timing %.3f ms\n",
              1e3 * gen / networks, 1e3 * plan / networks, 1e3 * timing / networks);
  std::printf("  mean network: %.1f ops, %.1f M MACs, %.0f jobs per configuration; checksum %llu cycles\n",
              static_cast<double>(ops) / networks, 1e-6 * static_cast<double>(macs) / networks,
              static_cast<double>(jobs) / (4.0 * networks), static_cast<unsigned long long>(cycles));
  std::printf("  plan digest %llu\n", static_cast<unsigned long long>(digest.value()));

  // With the rows the command writes (JSON and CSV lines of every row and layer; no file I/O).
  sim::NpuDatasetSpec spec;
  spec.space = space_name;
  spec.count = static_cast<uint64_t>(networks);
  spec.seed = 1;
  spec.options = options;
  const sim::NpuDataset ds(spec);
  auto worker = ds.worker();
  const double r0 = thread_cpu_seconds();
  size_t records = 0;
  for (int i = 0; i < networks; ++i) {
    const sim::NetworkRows rows = ds.rows(static_cast<uint64_t>(i), *worker);
    records += rows.results + rows.layers;
  }
  const double rcpu = thread_cpu_seconds() - r0;
  std::printf("  with rows and per-layer rows built: %.0f networks/s per core (%.0f records/s)\n",
              networks / rcpu, static_cast<double>(records) / rcpu);

  // Every core at once: what the machine makes (memory bandwidth and caches shared).
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::vector<NpuDevice>> own(cores);  // each thread its devices (memory models hold state)
  for (auto& ds : own)
    for (int m : {32, 64, 128, 256})
      ds.push_back(
          build_npu_device(config::load_config("builtin:npu/ethos-u55-" + std::to_string(m) + ".json")));
  std::atomic<int> next{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (unsigned k = 0; k < cores; ++k) {
    threads.emplace_back([&, k] {
      Timing tt;
      for (int i; (i = next++) < networks;) {
        const spaces::Sample s = space->generate(spaces::network_seed(1, static_cast<uint64_t>(i)), nullptr);
        PlanCache cache;
        for (const NpuDevice& d : own[k]) {
          const Plan p = plan_network(s.net, d.settings, d.memories(), &cache);
          time_network(p, d.memories(), tt);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double all_wall = seconds_since(t0);
  constexpr double kEdgeDlPerf = 134912;  // networks (PerfSAGE's EdgeDLPerf)
  std::printf(
      "  on all %u cores at once: %.0f networks/s (wall); EdgeDLPerf's 134,912 networks x 4 configurations "
      "would take %.1f minutes\n",
      cores, networks / all_wall, kEdgeDlPerf / (networks / all_wall) / 60);
  return 0;
}
