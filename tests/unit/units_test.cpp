#include <catch2/catch.hpp>

#include "sim/core/config/units.hpp"
#include "sim/core/errors.hpp"

using namespace edgesim;
using namespace edgesim::config;

TEST_CASE("sizes parse with decimal and binary prefixes", "[units]") {
  CHECK(parse_quantity("16 GiB", Quantity::Bytes, "x") == 16.0 * 1024 * 1024 * 1024);
  CHECK(parse_quantity("4 KB", Quantity::Bytes, "x") == 4000.0);
  CHECK(parse_quantity("1.5GB", Quantity::Bytes, "x") == 1.5e9);
}

TEST_CASE("rates, times and energies convert to base units", "[units]") {
  CHECK(parse_quantity("51.2 GB/s", Quantity::Bandwidth, "x") == Approx(51.2e9));
  CHECK(parse_quantity("8533 MT/s", Quantity::Frequency, "x") == Approx(8.533e9));
  CHECK(parse_quantity("1.1 GHz", Quantity::Frequency, "x") == Approx(1.1e9));
  CHECK(parse_quantity("90 ns", Quantity::Time, "x") == Approx(90e-9));
  CHECK(parse_quantity("2.5 pJ/bit", Quantity::EnergyPerBit, "x") == Approx(2.5e-12));
  CHECK(parse_quantity("0.8 W", Quantity::Power, "x") == Approx(0.8));
  CHECK(parse_quantity("4.6 TFLOP/s", Quantity::FlopRate, "x") == Approx(4.6e12));
}

TEST_CASE("a unit of the wrong quantity is rejected with the path", "[units]") {
  CHECK_THROWS_WITH(parse_quantity("16 GB/s", Quantity::Bytes, "device.dram.capacity"),
                    Catch::Contains("device.dram.capacity") && Catch::Contains("not a unit of size"));
  CHECK_THROWS_WITH(parse_quantity("16", Quantity::Bytes, "p"), Catch::Contains("has no unit"));
  CHECK_THROWS_AS(parse_quantity("lots", Quantity::Time, "p"), InputError);
}
