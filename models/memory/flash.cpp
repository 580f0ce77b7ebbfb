#include "models/memory/flash.hpp"

#include <algorithm>

#include "sim/core/registry.hpp"

namespace edgesim::memory {

uint64_t QueuedFlash::device_bytes(uint64_t bytes) const {
  return (bytes + s_.page_size - 1) / s_.page_size * s_.page_size;
}

double QueuedFlash::read_time(const uint64_t* sizes, size_t n) const {
  if (n == 0) return 0.0;
  const double p = parallelism();
  double t = s_.read_latency;
  for (size_t i = 0; i < n; ++i) {
    const double transfer = static_cast<double>(device_bytes(sizes[i])) / s_.bandwidth;
    t += std::max(transfer, (s_.read_latency + transfer) / p);
  }
  return t;
}

double QueuedFlash::read_energy(uint64_t device_bytes) const {
  return 8.0 * static_cast<double>(device_bytes) * s_.read_energy_per_bit;
}

double QueuedFlash::write_time(uint64_t bytes) const {
  if (bytes == 0) return 0.0;
  return s_.read_latency + static_cast<double>(device_bytes(bytes)) / s_.write_bandwidth;
}

double QueuedFlash::write_energy(uint64_t device_bytes) const {
  return 8.0 * static_cast<double>(device_bytes) * s_.write_energy_per_bit;
}

namespace {
using config::Quantity;
const config::ParamTable kParams = {{
    {"bandwidth", Quantity::Bandwidth, nullptr, "Sequential read bandwidth", 1, 1e13},
    {"read_latency", Quantity::Time, "80 us", "Latency of one small read, command to data", 0, 1},
    {"channels", Quantity::Integer, 8, "Units serving small reads in parallel (dies, planes)", 1, 4096},
    {"queue_depth", Quantity::Integer, 32, "Reads the host keeps in flight", 1, 65536},
    {"page_size", Quantity::Bytes, "4 KiB", "Read granularity: requests round up to it", 1, 1 << 24},
    {"read_energy", Quantity::EnergyPerBit, "40 pJ/bit", "Energy per bit read from the device", 0, 1e-6},
    {"write_bandwidth", Quantity::Bandwidth, "2.8 GB/s",
     "Sequential write bandwidth (default: Samsung UFS 4.0, 2,800 MB/s, 2022); adapter fusion rewrites "
     "weights",
     1, 1e13},
    {"write_energy", Quantity::EnergyPerBit, "100 pJ/bit",
     "Energy per bit written (assumption: about twice the read energy; NAND programs cost more than "
     "reads)",
     0, 1e-6},
    {"capacity", Quantity::Bytes, "256 GB", "Storage capacity (the model must fit)", 1, 1e16},
}};
const Registration<Flash> kRegistration("queued",
                                        "Latency + bandwidth per read, limited parallelism (Little's law)",
                                        kParams, [](const config::Params& p) {
                                          QueuedFlash::Settings s;
                                          s.bandwidth = p.number("bandwidth");
                                          s.read_latency = p.number("read_latency");
                                          s.channels = static_cast<unsigned>(p.integer("channels"));
                                          s.queue_depth = static_cast<unsigned>(p.integer("queue_depth"));
                                          s.page_size = static_cast<uint64_t>(p.number("page_size"));
                                          s.read_energy_per_bit = p.number("read_energy");
                                          s.capacity = static_cast<uint64_t>(p.number("capacity"));
                                          s.write_bandwidth = p.number("write_bandwidth");
                                          s.write_energy_per_bit = p.number("write_energy");
                                          return std::make_unique<QueuedFlash>(s);
                                        });
}  // namespace

std::unique_ptr<Flash> make_flash(const nlohmann::json& section, nlohmann::json& resolved) {
  return make_from<Flash>(section, "device.flash", "model", "queued", resolved);
}

}  // namespace edgesim::memory
