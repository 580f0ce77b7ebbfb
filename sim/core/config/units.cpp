#include "sim/core/config/units.hpp"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "sim/core/errors.hpp"

namespace edgesim::config {
namespace {

struct UnitDef {
  std::string_view symbol;
  Quantity quantity;
  double scale;  // multiply to get base units
};

constexpr double kKi = 1024.0;
// clang-format off
constexpr std::array kUnits = {
  UnitDef{"B", Quantity::Bytes, 1.0},
  UnitDef{"KB", Quantity::Bytes, 1e3}, UnitDef{"MB", Quantity::Bytes, 1e6},
  UnitDef{"GB", Quantity::Bytes, 1e9}, UnitDef{"TB", Quantity::Bytes, 1e12},
  UnitDef{"KiB", Quantity::Bytes, kKi}, UnitDef{"MiB", Quantity::Bytes, kKi * kKi},
  UnitDef{"GiB", Quantity::Bytes, kKi * kKi * kKi},
  UnitDef{"TiB", Quantity::Bytes, kKi * kKi * kKi * kKi},
  UnitDef{"B/s", Quantity::Bandwidth, 1.0},
  UnitDef{"KB/s", Quantity::Bandwidth, 1e3}, UnitDef{"MB/s", Quantity::Bandwidth, 1e6},
  UnitDef{"GB/s", Quantity::Bandwidth, 1e9}, UnitDef{"TB/s", Quantity::Bandwidth, 1e12},
  UnitDef{"KiB/s", Quantity::Bandwidth, kKi}, UnitDef{"MiB/s", Quantity::Bandwidth, kKi * kKi},
  UnitDef{"GiB/s", Quantity::Bandwidth, kKi * kKi * kKi},
  UnitDef{"Hz", Quantity::Frequency, 1.0}, UnitDef{"kHz", Quantity::Frequency, 1e3},
  UnitDef{"MHz", Quantity::Frequency, 1e6}, UnitDef{"GHz", Quantity::Frequency, 1e9},
  UnitDef{"MT/s", Quantity::Frequency, 1e6}, UnitDef{"GT/s", Quantity::Frequency, 1e9},
  UnitDef{"s", Quantity::Time, 1.0}, UnitDef{"ms", Quantity::Time, 1e-3},
  UnitDef{"us", Quantity::Time, 1e-6}, UnitDef{"ns", Quantity::Time, 1e-9},
  UnitDef{"ps", Quantity::Time, 1e-12},
  UnitDef{"J", Quantity::Energy, 1.0}, UnitDef{"mJ", Quantity::Energy, 1e-3},
  UnitDef{"uJ", Quantity::Energy, 1e-6}, UnitDef{"nJ", Quantity::Energy, 1e-9},
  UnitDef{"pJ", Quantity::Energy, 1e-12},
  UnitDef{"J/bit", Quantity::EnergyPerBit, 1.0}, UnitDef{"nJ/bit", Quantity::EnergyPerBit, 1e-9},
  UnitDef{"pJ/bit", Quantity::EnergyPerBit, 1e-12},
  UnitDef{"W", Quantity::Power, 1.0}, UnitDef{"mW", Quantity::Power, 1e-3},
  UnitDef{"FLOP/s", Quantity::FlopRate, 1.0}, UnitDef{"GFLOP/s", Quantity::FlopRate, 1e9},
  UnitDef{"TFLOP/s", Quantity::FlopRate, 1e12},
  UnitDef{"OP/s", Quantity::FlopRate, 1.0}, UnitDef{"GOP/s", Quantity::FlopRate, 1e9},
  UnitDef{"TOP/s", Quantity::FlopRate, 1e12},
  UnitDef{"V", Quantity::Voltage, 1.0}, UnitDef{"mV", Quantity::Voltage, 1e-3},
  UnitDef{"A", Quantity::Current, 1.0}, UnitDef{"mA", Quantity::Current, 1e-3},
  UnitDef{"uA", Quantity::Current, 1e-6},
};
// clang-format on

std::string units_of(Quantity q) {
  std::string out;
  for (const auto& u : kUnits) {
    if (u.quantity != q) continue;
    if (!out.empty()) out += ", ";
    out += u.symbol;
  }
  return out;
}

}  // namespace

std::string_view base_unit(Quantity q) {
  switch (q) {
    case Quantity::Bytes: return "B";
    case Quantity::Bandwidth: return "B/s";
    case Quantity::Frequency: return "Hz";
    case Quantity::Time: return "s";
    case Quantity::Energy: return "J";
    case Quantity::EnergyPerBit: return "J/bit";
    case Quantity::Power: return "W";
    case Quantity::FlopRate: return "FLOP/s";
    case Quantity::Voltage: return "V";
    case Quantity::Current: return "A";
    default: return "";
  }
}

std::string_view quantity_name(Quantity q) {
  switch (q) {
    case Quantity::Integer: return "integer";
    case Quantity::Real: return "number";
    case Quantity::Boolean: return "boolean";
    case Quantity::String: return "string";
    case Quantity::StringList: return "list of strings";
    case Quantity::Bytes: return "size";
    case Quantity::Bandwidth: return "bandwidth";
    case Quantity::Frequency: return "frequency";
    case Quantity::Time: return "time";
    case Quantity::Energy: return "energy";
    case Quantity::EnergyPerBit: return "energy per bit";
    case Quantity::Power: return "power";
    case Quantity::FlopRate: return "compute rate";
    case Quantity::Voltage: return "voltage";
    case Quantity::Current: return "current";
  }
  return "?";
}

std::string_view quantity_example(Quantity q) {
  switch (q) {
    case Quantity::Bytes: return "\"16 GiB\"";
    case Quantity::Bandwidth: return "\"51.2 GB/s\"";
    case Quantity::Frequency: return "\"1.1 GHz\" or \"8533 MT/s\"";
    case Quantity::Time: return "\"90 ns\"";
    case Quantity::Energy: return "\"0.5 pJ\"";
    case Quantity::EnergyPerBit: return "\"2.5 pJ/bit\"";
    case Quantity::Power: return "\"0.8 W\"";
    case Quantity::FlopRate: return "\"4.6 TFLOP/s\"";
    case Quantity::Voltage: return "\"1.1 V\"";
    case Quantity::Current: return "\"58 mA\"";
    case Quantity::Integer: return "4";
    case Quantity::Real: return "0.8";
    case Quantity::Boolean: return "true";
    case Quantity::String: return "\"lru\"";
    case Quantity::StringList: return "[\"a\", \"b\"]";
  }
  return "";
}

double parse_quantity(std::string_view text, Quantity q, const std::string& path) {
  const std::string s(text);
  const char* begin = s.c_str();
  char* end = nullptr;
  const double number = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(number)) {
    throw InputError("config error at " + path + ": '" + s + "' is not a " + std::string(quantity_name(q)) +
                     " (expected a number and a unit, e.g. " + std::string(quantity_example(q)) + ")");
  }
  std::string_view unit(end);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.remove_prefix(1);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back()))) unit.remove_suffix(1);
  if (unit.empty()) {
    throw InputError("config error at " + path + ": '" + s + "' has no unit (a " +
                     std::string(quantity_name(q)) + " takes one of: " + units_of(q) + ")");
  }
  for (const auto& u : kUnits) {
    if (u.symbol == unit) {
      if (u.quantity != q) break;
      return number * u.scale;
    }
  }
  throw InputError("config error at " + path + ": unit '" + std::string(unit) + "' in '" + s +
                   "' is not a unit of " + std::string(quantity_name(q)) + " (one of: " + units_of(q) + ")");
}

std::string format_quantity(double value, Quantity q) {
  struct Step {
    double scale;
    const char* symbol;
  };
  auto pick = [&](std::initializer_list<Step> steps) {
    const Step* best = steps.begin();
    for (const auto& st : steps) {
      if (std::fabs(value) >= st.scale) best = &st;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g %s", value / best->scale, best->symbol);
    return std::string(buf);
  };
  switch (q) {
    case Quantity::Bytes: return pick({{1, "B"}, {kKi, "KiB"}, {kKi * kKi, "MiB"}, {kKi * kKi * kKi, "GiB"}});
    case Quantity::Bandwidth: return pick({{1, "B/s"}, {1e3, "KB/s"}, {1e6, "MB/s"}, {1e9, "GB/s"}});
    case Quantity::Frequency: return pick({{1, "Hz"}, {1e3, "kHz"}, {1e6, "MHz"}, {1e9, "GHz"}});
    case Quantity::Time: return pick({{1e-12, "ps"}, {1e-9, "ns"}, {1e-6, "us"}, {1e-3, "ms"}, {1, "s"}});
    case Quantity::Energy: return pick({{1e-12, "pJ"}, {1e-9, "nJ"}, {1e-6, "uJ"}, {1e-3, "mJ"}, {1, "J"}});
    case Quantity::EnergyPerBit: return pick({{1e-12, "pJ/bit"}, {1e-9, "nJ/bit"}, {1, "J/bit"}});
    case Quantity::Power: return pick({{1e-3, "mW"}, {1, "W"}});
    case Quantity::FlopRate: return pick({{1, "FLOP/s"}, {1e9, "GFLOP/s"}, {1e12, "TFLOP/s"}});
    case Quantity::Voltage: return pick({{1e-3, "mV"}, {1, "V"}});
    case Quantity::Current: return pick({{1e-6, "uA"}, {1e-3, "mA"}, {1, "A"}});
    default: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%g", value);
      return buf;
    }
  }
}

}  // namespace edgesim::config
