#pragma once
// Physical quantities in configs: "16 GiB", "51.2 GB/s", "1.1 GHz", "90 ns", "2.5 pJ/bit".
// Every value is converted to its SI base unit (bytes, bytes/s, Hz or transfers/s,
// seconds, joules, joules/bit, watts, FLOP/s, volts, amperes) at validation time; code never sees units.
#include <string>
#include <string_view>

namespace edgesim::config {

enum class Quantity {
  Integer,  // a plain count
  Real,     // a plain number (a ratio, an efficiency)
  Boolean,
  String,
  StringList,
  Bytes,         // B, KB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (powers of 1024)
  Bandwidth,     // B/s and prefixed forms
  Frequency,     // Hz, kHz, MHz, GHz; MT/s (transfers per second) for data rates
  Time,          // s, ms, us, ns, ps
  Energy,        // J, mJ, uJ, nJ, pJ
  EnergyPerBit,  // J/bit, nJ/bit, pJ/bit
  Power,         // W, mW
  FlopRate,      // FLOP/s, GFLOP/s, TFLOP/s (also OP/s forms for integer datapaths)
  Voltage,       // V, mV
  Current,       // A, mA, uA
};

/// Name of the base unit a quantity is stored in ("bytes", "B/s", ...), empty for plain kinds.
std::string_view base_unit(Quantity q);
/// Human name of the kind ("size", "bandwidth", ...), used in docs and errors.
std::string_view quantity_name(Quantity q);
/// An example of an accepted literal, for error messages and docs.
std::string_view quantity_example(Quantity q);

/// Parses "16 GiB" into base units. Throws InputError naming `path` on a bad literal or
/// a unit that does not belong to the quantity.
double parse_quantity(std::string_view text, Quantity q, const std::string& path);

/// Formats a base-unit value for people: 1.5e9 B/s -> "1.50 GB/s".
std::string format_quantity(double value, Quantity q);

}  // namespace edgesim::config
