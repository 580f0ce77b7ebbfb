#include "models/memory/dram.hpp"

#include "sim/core/registry.hpp"

namespace edgesim::memory {

void Dram::report(double, sim::Stats&) const {}

DramCost BandwidthDram::access(const DramRange* ranges, size_t n, double) {
  uint64_t bytes[2] = {0, 0};
  for (size_t i = 0; i < n; ++i) bytes[ranges[i].write ? 1 : 0] += ranges[i].bytes;
  DramCost c;
  for (int w = 0; w < 2; ++w) {
    c.time += access_time(bytes[w], w == 1);
    c.energy += access_energy(bytes[w], w == 1);
  }
  return c;
}

double BandwidthDram::access_time(uint64_t bytes, bool) const {
  if (bytes == 0) return 0.0;
  return s_.latency + static_cast<double>(bytes) / sustained_bandwidth();
}

double BandwidthDram::access_energy(uint64_t bytes, bool write) const {
  return 8.0 * static_cast<double>(bytes) * (write ? s_.write_energy_per_bit : s_.read_energy_per_bit);
}

namespace {
using config::Quantity;
const config::ParamTable kParams = {{
    {"capacity", Quantity::Bytes, nullptr, "Installed DRAM", 1, 1e15},
    {"reserved", Quantity::Bytes, "0 B", "DRAM the model may not use (OS, other apps)", 0, 1e15},
    {"channels", Quantity::Integer, 1, "Independent channels", 1, 64},
    {"bus_width_bits", Quantity::Integer, 16, "Data bus width of one channel", 1, 1024},
    {"data_rate", Quantity::Frequency, nullptr, "Transfers per second per data pin", 1, 1e12},
    {"efficiency", Quantity::Real, 0.8, "Sustained / peak bandwidth for streaming reads", 0.01, 1},
    {"latency", Quantity::Time, "100 ns", "Time to first data of a batch", 0, 1e-3},
    {"read_energy", Quantity::EnergyPerBit, "4 pJ/bit", "Energy per bit read, I/O included", 0, 1e-6},
    {"write_energy", Quantity::EnergyPerBit, "4 pJ/bit", "Energy per bit written, I/O included", 0, 1e-6},
}};
const Registration<Dram> kRegistration("bandwidth",
                                       "Peak bandwidth x efficiency plus a fixed latency per batch", kParams,
                                       [](const config::Params& p) {
                                         BandwidthDram::Settings s;
                                         s.capacity = static_cast<uint64_t>(p.number("capacity"));
                                         s.reserved = static_cast<uint64_t>(p.number("reserved"));
                                         if (s.reserved >= s.capacity) {
                                           config::fail_at(p.path_of("reserved"),
                                                           "reserved DRAM must be smaller than the capacity");
                                         }
                                         s.channels = static_cast<unsigned>(p.integer("channels"));
                                         s.bus_width_bits =
                                             static_cast<unsigned>(p.integer("bus_width_bits"));
                                         s.data_rate = p.number("data_rate");
                                         s.efficiency = p.number("efficiency");
                                         s.latency = p.number("latency");
                                         s.read_energy_per_bit = p.number("read_energy");
                                         s.write_energy_per_bit = p.number("write_energy");
                                         return std::make_unique<BandwidthDram>(s);
                                       });
}  // namespace

std::unique_ptr<Dram> make_dram(const nlohmann::json& section, nlohmann::json& resolved,
                                const std::string& path) {
  return make_from<Dram>(section, path, "model", "bandwidth", resolved);
}

}  // namespace edgesim::memory
