#pragma once
// Flash storage (UFS, NVMe) serving batches of reads. Small random reads are far slower
// than large sequential ones: each read pays a latency, and only a limited number of
// reads are in flight at once.
#include <cstddef>
#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>

namespace edgesim::memory {

class Flash {
 public:
  static constexpr const char* kKind = "flash";
  static constexpr const char* kKindDescription = "Flash storage model (device.flash.model)";
  static constexpr const char* kConfigPath = "device.flash";

  virtual ~Flash() = default;
  /// Seconds to serve reads of the given sizes, issued together in this order.
  virtual double read_time(const uint64_t* sizes, size_t n) const = 0;
  /// Bytes the device actually reads for a request of `bytes` (whole pages).
  virtual uint64_t device_bytes(uint64_t bytes) const = 0;
  virtual double read_energy(uint64_t device_bytes) const = 0;
  /// Seconds and joules to write `bytes` sequentially (rewriting fused weights in place).
  virtual double write_time(uint64_t bytes) const = 0;
  virtual double write_energy(uint64_t device_bytes) const = 0;
  virtual uint64_t capacity() const = 0;
};

/// Queued flash: reads of sizes s_i (rounded up to pages) with P = min(queue_depth,
/// channels) in flight take T = L + sum_i max(s_i / BW, (L + s_i / BW) / P).
/// One large read costs L + s / BW; a stream of small reads is limited to
/// P / (L + s / BW) reads per second (Little's law), as random-read IOPS figures show.
class QueuedFlash final : public Flash {
 public:
  struct Settings {
    double bandwidth = 0, read_latency = 0, read_energy_per_bit = 0;
    double write_bandwidth = 0, write_energy_per_bit = 0;
    unsigned channels = 1, queue_depth = 1;
    uint64_t page_size = 4096;
    uint64_t capacity = 0;
  };
  explicit QueuedFlash(const Settings& s) : s_(s) {}
  double read_time(const uint64_t* sizes, size_t n) const override;
  uint64_t device_bytes(uint64_t bytes) const override;
  double read_energy(uint64_t device_bytes) const override;
  /// One sequential write: latency + whole pages / write bandwidth.
  double write_time(uint64_t bytes) const override;
  double write_energy(uint64_t device_bytes) const override;
  uint64_t capacity() const override { return s_.capacity; }
  unsigned parallelism() const { return s_.channels < s_.queue_depth ? s_.channels : s_.queue_depth; }

 private:
  Settings s_;
};

/// The flash a `device.flash` section describes, by its `model` key ("queued" when
/// absent); `resolved` receives the section with its defaults.
std::unique_ptr<Flash> make_flash(const nlohmann::json& section, nlohmann::json& resolved);

}  // namespace edgesim::memory
