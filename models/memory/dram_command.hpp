#pragma once
// The command-level DRAM as the simulator's DRAM ("device.dram.model": "command"): a
// DramSystem behind the Dram interface. Each batch of address ranges becomes bursts at
// those addresses. Long batches are sampled (docs/dram.md): a range is simulated up to
// `sample_range_bytes` and the rest of it costs what a long sequential stream of the
// same part costs (measured once, when first needed); a batch is simulated up to about
// `sample_batch_bytes` by taking every k-th range, whose time, energy and commands
// then stand for all of them.
#include <memory>

#include "models/memory/dram.hpp"
#include "models/memory/dram_ctrl.hpp"

namespace edgesim::config {
class Params;
struct ParamTable;
}  // namespace edgesim::config

namespace edgesim::memory {

class CommandDram final : public Dram {
 public:
  struct Settings {
    uint64_t capacity = 0, reserved = 0;
    DramControllerSettings controller;
    uint64_t sample_range_bytes = 0, sample_batch_bytes = 0;  // 0: simulate every byte
    uint32_t request_bytes = 4096;                            // ranges split into requests of this size
  };
  CommandDram(const DramPart& part, const Settings& s);

  uint64_t capacity() const override { return s_.capacity; }
  uint64_t reserved() const override { return s_.reserved; }
  double peak_bandwidth() const override;
  bool wants_addresses() const override { return true; }
  DramCost access(const DramRange* ranges, size_t n, double start) override;
  void report(double end, sim::Stats& stats) const override;

  const DramSystem& system() const { return *sys_; }
  const Settings& settings() const { return s_; }

 private:
  void calibrate();
  struct Stream {
    double seconds_per_byte = 0, joules_per_byte = 0;
    double commands_per_byte[kDramCmds] = {};
  };
  Stream stream_[2];  // sequential read, write
  bool calibrated_ = false;
  Settings s_;
  std::unique_ptr<DramSystem> sys_;
  int64_t busy_until_ = 0;  // cycle the last batch really ended (sampling stretches it)
  double scaled_[kDramCmds] = {};
  double bytes_asked_ = 0, bytes_simulated_ = 0;
  std::vector<size_t> chosen_;
};

/// The controller settings of a "command" DRAM section (also used by `edgesim dram`).
DramControllerSettings dram_controller_settings(const config::Params& p, const DramPart& part);
/// The parameters of the "command" DRAM model.
const config::ParamTable& command_dram_params();

}  // namespace edgesim::memory
