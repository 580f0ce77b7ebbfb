#pragma once
// The documents the commands write, built by the same functions for the command line and
// the Python module (python/src/module.cpp), so that both give the same JSON.
#include <string>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "models/fault/iso26262.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "models/npu/timing.hpp"

namespace edgesim::cli {

/// What one timed inference of `setup` costs, as `edgesim npu` reports it in `metrics`
/// (without the per-layer table and the inputs): the device's name and sizes, cycles,
/// latency, inferences/s, MACs and their utilisation, energy by part, weight bytes, the
/// host CPU's share. `edgesim.npu_estimate` returns exactly this.
nlohmann::json npu_totals(const npu::NpuSetup& setup, const npu::Timing& t);

/// Throws InputError unless `timing` is "systemc" or "fast".
void check_npu_timing(const std::string& timing);

/// How `edgesim npu` ran: recorded in the results' `run`.
struct NpuRunInfo {
  std::string network;  // the network as given (a path, or what the caller names it)
  std::string input;    // the inputs' file; empty when none
  std::string timing;   // "systemc" or "fast"
};

/// Times `setup` (SystemC or plain C++, as info.timing says), runs every row of `data`
/// through the int8 executor and the reference kernels, and returns the results document
/// of `edgesim npu`. `*exact` says whether every output matched the reference (a
/// mismatch is a failed simulation, for the caller to report after writing the results).
nlohmann::json npu_results(const npu::NpuSetup& setup, const npu::Dataset& data, const NpuRunInfo& info,
                           bool* exact);

/// The settings of a fault campaign (`edgesim fault`'s options, docs/fault.md).
struct FaultOptions {
  uint64_t samples = 0;  // injections per sampling scheme; or 0 and an error margin
  double error_margin = 0, confidence = 0.95;
  std::string sampling = "both";           // proportional, uniform or both
  std::string fault_model = "single_bit";  // single_bit, multi_bit or stuck_at
  int mbu_width = 2;
  uint64_t stuck_cycles = 1000;
  std::string dram_ecc = "none";  // none or secded
  double hang_factor = 2.0;
  uint64_t seed = 1;
  unsigned jobs = 1;
  bool ra = false;        // Resiliency Accuracy (needs labelled inputs)
  bool progress = false;  // a progress bar on stderr
  /// Throws InputError (with the command line's wording) for a value out of range.
  void validate() const;
};

/// A fault campaign on `setup` over the inputs `data`: the edgesim.fault_campaign/1
/// document `edgesim fault` writes.
nlohmann::json fault_campaign(const npu::NpuSetup& setup, const npu::Dataset& data, const FaultOptions& o);

/// `edgesim dram`'s config: a built-in part or part file (`part`), or a part file, device
/// or experiment config (`config_path`), with `--set` overrides applied.
nlohmann::json dram_config(const std::string& config_path, const std::string& part,
                           const std::vector<std::string>& sets);

/// Replays a memory request trace (text or binary) on the command-level DRAM model
/// `config` selects (device.dram): the results document of `edgesim dram`.
nlohmann::json dram_results(const nlohmann::json& config, const std::string& trace);

/// The protection config `edgesim fault-plan` uses when given none.
extern const char* const kDefaultProtection;

/// Per-block FIT, ISO 26262-5 metrics and the least-area protection plan from campaign
/// `c` (named `campaign_name` in the result): the edgesim.fault_plan/1 document.
/// `macs` 0: the campaign's; `derating` empty: the protection config's bound.
nlohmann::json fault_plan(const fault::Campaign& c, const std::string& campaign_name,
                          const std::string& protection_path, int macs, const std::string& derating);

}  // namespace edgesim::cli
