#pragma once
// The digits network on a built-in Ethos-U55 configuration, compiled, timed, its fault
// sites mapped and its golden runs over the held-out inputs: what the fault tests share.
#include <string>

#include "models/fault/campaign.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "sim/core/config/loader.hpp"

namespace edgesim::fault_test {

struct Digits {
  npu::NpuDevice dev;
  npu::Network net;
  npu::Plan plan;
  npu::Timing timing;
  npu::Dataset data;
  fault::SiteMap sites;
  fault::Goldens goldens;
  fault::InjectorOptions io;

  explicit Digits(const std::string& device = "ethos-u55-128", bool dram_ecc = false) {
    const std::string root = EDGESIM_TEST_DATA "/../..";
    dev = npu::build_npu_device(config::load_config("builtin:npu/" + device + ".json"));
    net = npu::load_network(root + "/configs/networks/digits.json");
    plan = npu::plan_network(net, dev.settings, dev.memories());
    timing = npu::time_network(plan, dev.memories());
    data = npu::load_dataset(root + "/data/digits-heldout.csv.gz", net);
    fault::SiteOptions so;
    so.dram_ecc = dram_ecc;
    sites = fault::map_sites(net, plan, timing, so);
    goldens = fault::run_goldens(net, plan, data.inputs.data(), data.rows());
    io.capacity[npu::kSram] = dev.sram->capacity();
    io.capacity[npu::kFlash] = dev.flash->capacity();
    io.capacity[npu::kDram] = dev.dram ? dev.dram->capacity() : 0;
  }
  size_t site(const std::string& name) const {
    for (size_t i = 0; i < sites.sites.size(); ++i)
      if (sites.sites[i].name == name) return i;
    throw std::runtime_error("no site " + name);
  }
};

/// The ethos-u55-128 fixture, built once per test process.
inline Digits& digits() {
  static Digits d;
  return d;
}

}  // namespace edgesim::fault_test
