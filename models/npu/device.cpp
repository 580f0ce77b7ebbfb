#include "models/npu/device.hpp"

#include "models/npu/compress.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/config/units.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::npu {

using nlohmann::json;

namespace {

void check_keys(const json& obj, const std::string& path, const std::vector<std::string>& known) {
  if (!obj.is_object()) config::fail_at(path, "expected an object");
  for (const auto& [k, v] : obj.items()) {
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    const std::string s = config::suggest(k, known);
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    config::fail_at(
        (path == "(top level)" ? "" : path + ".") + k,
        "unknown key '" + k + "'" + (s.empty() ? " (keys: " + list + ")" : "; did you mean '" + s + "'?"));
  }
}

std::string bytes_text(double b) {
  return config::format_quantity(b, config::Quantity::Bytes);
}

}  // namespace

NpuDevice build_npu_device(const json& raw) {
  check_keys(raw, "(top level)", {"device"});
  if (!raw.contains("device")) config::fail_at("device", "missing: an NPU config has a device section");
  const json& d = raw["device"];
  check_keys(d, "device", {"name", "npu", "cpu", "sram", "flash", "dram"});
  if (!d.contains("npu")) config::fail_at("device.npu", "missing: the device has no NPU");
  NpuDevice dev;
  config::Params p(npu_params(), d["npu"], "device.npu");
  dev.settings = npu_settings(p);
  json& out = dev.config["device"];
  if (d.contains("name") && !d["name"].is_string()) {
    config::fail_at("device.name", "expected the device's name, not " + d["name"].dump());
  }
  out["name"] = d.value("name", dev.settings.name);
  out["npu"] = p.resolved();
  // The host CPU that runs what the NPU cannot (defaults when the config has no section).
  config::Params cp(cpu_params(), d.contains("cpu") ? d["cpu"] : json::object(), "device.cpu");
  dev.settings.cpu = cpu_settings(cp);
  out["cpu"] = cp.resolved();
  auto needed = [&](Mem m) { return dev.settings.weights_in == m || dev.settings.activations_in == m; };
  if (d.contains("sram")) dev.sram = memory::make_dram(d["sram"], out["sram"], "device.sram");
  if (d.contains("flash")) dev.flash = memory::make_flash(d["flash"], out["flash"]);
  if (d.contains("dram")) dev.dram = memory::make_dram(d["dram"], out["dram"], "device.dram");
  for (Mem m : {kSram, kFlash, kDram}) {
    const bool present = m == kSram    ? dev.sram != nullptr
                         : m == kFlash ? dev.flash != nullptr
                                       : dev.dram != nullptr;
    if (needed(m) && !present)
      config::fail_at(std::string("device.") + mem_name(m),
                      std::string("missing: device.npu puts ") +
                          (dev.settings.weights_in == m ? "weights" : "activations") + " in " + mem_name(m));
  }
  return dev;
}

void check_fits(const NpuDevice& dev, const Network& net) {
  auto capacity = [&](Mem m) -> double {
    if (m == kFlash) return static_cast<double>(dev.flash->capacity());
    const memory::Dram* d = m == kSram ? dev.sram.get() : dev.dram.get();
    return static_cast<double>(d->capacity() - std::min(d->capacity(), d->reserved()));
  };
  const NpuSettings& s = dev.settings;
  double use[kMemories] = {};
  use[s.activations_in] += static_cast<double>(net.arena_bytes);
  use[s.weights_in] += static_cast<double>(net.weight_bytes());
  for (Mem m : {kSram, kFlash, kDram}) {
    if (use[m] > 0 && use[m] > capacity(m))
      throw InputError(std::string("config error at device.") + mem_name(m) + ": network " + net.name +
                       " needs " + bytes_text(use[m]) +
                       " there (activations and/or weights), the device has " + bytes_text(capacity(m)));
  }
}

NpuSetup setup_npu(const std::string& config_path, const std::vector<std::string>& sets,
                   const std::string& network_path) {
  nlohmann::json cfg = config::load_config(config_path);
  for (const auto& s : sets) config::apply_override(cfg, s);
  return setup_npu(cfg, load_network(network_path));
}

NpuSetup setup_npu(const nlohmann::json& config, Network net) {
  NpuSetup r{build_npu_device(config), std::move(net), {}};
  const NpuSettings& s = r.dev.settings;
  compress_network(r.net, s.prune, s.clusters, s.compress_layers);
  check_fits(r.dev, r.net);
  r.plan = plan_network(r.net, s, r.dev.memories());
  return r;
}

}  // namespace edgesim::npu
