// Fault injections per second on the digits network (single bit flips drawn in proportion
// to live bit-cycles, the campaign's correct distribution), each through the NPU's
// bit-exact int8 execution: with incremental re-execution (from the faulted layer, stopping
// once every value still to be read is golden again) and with full re-execution, on one
// core; then the campaign on all cores. Prints figures; asserts nothing.
//   build-release/bench/bench_fault [SOURCE_DIR] [INJECTIONS] [DEVICE]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <thread>

#include "bench/bench_clock.hpp"
#include "models/fault/campaign.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "sim/core/config/loader.hpp"

using namespace edgesim;
using edgesim::bench::Clock;
using edgesim::bench::thread_cpu_seconds;

int main(int argc, char** argv) {
  const std::string root = argc > 1 ? argv[1] : EDGESIM_SOURCE_DIR;
  const long n = argc > 2 ? std::atol(argv[2]) : 200000;
  const std::string device = argc > 3 ? argv[3] : "ethos-u55-128";
  const npu::NpuDevice dev = npu::build_npu_device(config::load_config("builtin:npu/" + device + ".json"));
  const npu::Network net = npu::load_network(root + "/configs/networks/digits.json");
  const npu::Dataset data = npu::load_dataset(root + "/data/digits-heldout.csv.gz", net);
  const npu::Plan plan = npu::plan_network(net, dev.settings, dev.memories());
  const npu::Timing timing = npu::time_network(plan, dev.memories());
  const fault::SiteMap sites = fault::map_sites(net, plan, timing, {});
  const fault::Goldens goldens = fault::run_goldens(net, plan, data.inputs.data(), data.rows());
  fault::InjectorOptions io;
  io.capacity[npu::kSram] = dev.sram->capacity();
  io.capacity[npu::kFlash] = dev.flash->capacity();
  std::printf("digits network on %s: %zu sites, %zu inputs, %ld single-bit injections per row\n",
              device.c_str(), sites.sites.size(), data.rows(), n);
  std::printf("%-34s %14s %14s %12s %10s\n", "mode", "injections/s", "(per CPU s)", "layers/inj",
              "not masked");
  const fault::Sampler sampler(sites, fault::Sampling::kProportional, io.model);
  for (bool incremental : {true, false}) {
    fault::InjectorOptions o = io;
    o.incremental = incremental;
    fault::Injector inj(net, plan, sites, goldens, o);
    std::mt19937_64 rng(1);
    uint64_t layers = 0, faulty = 0;
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_seconds();
    for (long i = 0; i < n; ++i) {
      const auto d = sampler.draw(rng);
      const auto r = inj.inject(d.fault, rng() % goldens.inputs());
      layers += r.layers_run;
      faulty += r.outcome != fault::Outcome::kMasked ? 1 : 0;
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = thread_cpu_seconds() - c0;
    std::printf("%-34s %14.0f %14.0f %12.2f %10.4f\n",
                incremental ? "one core, incremental re-execution" : "one core, full re-execution",
                static_cast<double>(n) / wall, static_cast<double>(n) / cpu,
                static_cast<double>(layers) / static_cast<double>(n),
                static_cast<double>(faulty) / static_cast<double>(n));
  }
  fault::CampaignOptions co;
  co.samples = static_cast<uint64_t>(n);
  co.workers = std::max(1u, std::thread::hardware_concurrency());
  const auto t0 = Clock::now();
  const auto samples = fault::run_campaign(net, plan, sites, goldens, io, co);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("%-34s %14.0f   (%u workers, %zu samples)\n", "campaign, all cores, incremental",
              static_cast<double>(n) / wall, co.workers, samples.size());
  return 0;
}
