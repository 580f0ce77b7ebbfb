#pragma once
// DRAM seen by the weight store: capacity, and the time and energy of moving a batch of
// bytes. The default implementation ("bandwidth") is a peak-bandwidth x efficiency plus
// latency model; a command-level model registers under another name.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace edgesim::sim {
class Stats;
}

namespace edgesim::memory {

/// Bytes at a DRAM address, read or written.
struct DramRange {
  uint64_t addr = 0;
  uint64_t bytes = 0;
  bool write = false;
};

struct DramCost {
  double time = 0;    // seconds from the batch's start until its last data moved
  double energy = 0;  // joules the batch's accesses cost
};

class Dram {
 public:
  static constexpr const char* kKind = "dram";
  static constexpr const char* kKindDescription = "DRAM model (device.dram.model)";
  static constexpr const char* kConfigPath = "device.dram";

  virtual ~Dram() = default;
  virtual uint64_t capacity() const = 0;
  /// Bytes the model may not use (operating system, other apps).
  virtual uint64_t reserved() const = 0;
  virtual double peak_bandwidth() const = 0;

  /// True when access() looks at addresses; callers then lay out where data lives.
  virtual bool wants_addresses() const { return false; }
  /// A batch of ranges issued together at `start` (seconds of simulated time): how long
  /// until its last data moved, and what it cost.
  virtual DramCost access(const DramRange* ranges, size_t n, double start) = 0;
  /// Adds what the model knows of the whole run, ended at `end` seconds (command counts,
  /// background energy), to `stats`.
  virtual void report(double end, sim::Stats& stats) const;
};

/// Bandwidth/latency DRAM: a batch of B bytes takes latency + B / (peak x efficiency),
/// where peak = channels x bus_width_bits / 8 x data_rate. A batch's reads are served
/// as one such batch and then its writes as another; addresses are ignored.
class BandwidthDram final : public Dram {
 public:
  struct Settings {
    uint64_t capacity = 0, reserved = 0;
    unsigned channels = 1, bus_width_bits = 16;
    double data_rate = 0;  // transfers per second per pin
    double efficiency = 1, latency = 0, read_energy_per_bit = 0, write_energy_per_bit = 0;
  };
  explicit BandwidthDram(const Settings& s) : s_(s) {}
  uint64_t capacity() const override { return s_.capacity; }
  uint64_t reserved() const override { return s_.reserved; }
  double peak_bandwidth() const override { return s_.channels * (s_.bus_width_bits / 8.0) * s_.data_rate; }
  double sustained_bandwidth() const { return peak_bandwidth() * s_.efficiency; }
  /// Seconds to read (or write) `bytes` issued back to back as one batch; 0 for 0 bytes.
  double access_time(uint64_t bytes, bool write) const;
  double access_energy(uint64_t bytes, bool write) const;
  DramCost access(const DramRange* ranges, size_t n, double start) override;

 private:
  Settings s_;
};

/// The DRAM (or SRAM) a config section at `path` describes, by its `model` key
/// ("bandwidth" when absent); `resolved` receives the section with its defaults.
std::unique_ptr<Dram> make_dram(const nlohmann::json& section, nlohmann::json& resolved,
                                const std::string& path = "device.dram");

}  // namespace edgesim::memory
