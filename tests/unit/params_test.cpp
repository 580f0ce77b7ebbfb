#include <catch2/catch.hpp>

#include "sim/core/config/params.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/json_count.hpp"

using namespace edgesim;
using namespace edgesim::config;
using nlohmann::json;

namespace {
const ParamTable kTable = {{
    {"channels", Quantity::Integer, 4, "channels", 1, 64},
    {"capacity", Quantity::Bytes, nullptr, "capacity", 1, 1e15},
    {"cache", Quantity::Bytes, "auto", "cache", 0, 1e15, {"auto"}},
    {"policy", Quantity::String, "lru", "policy", -1e300, 1e300, {"lru", "lfu"}},
    {"on", Quantity::Boolean, true, "flag"},
}};
}

TEST_CASE("defaults are filled in and quantities converted to base units", "[params]") {
  Params p(kTable, json{{"capacity", "2 KiB"}}, "sec");
  CHECK(p.integer("channels") == 4);
  CHECK(p.number("capacity") == 2048.0);
  CHECK(p.is_keyword("cache"));
  CHECK_FALSE(p.is_keyword("capacity"));
  CHECK(p.text("policy") == "lru");
  CHECK(p.flag("on"));
  CHECK(p.resolved()["channels"] == 4);
  CHECK(p.resolved()["capacity"] == "2 KiB");
}

TEST_CASE("a misspelt key is rejected with its path and a suggestion", "[params]") {
  CHECK_THROWS_WITH(Params(kTable, json{{"capacity", 1}, {"chanels", 2}}, "device.dram"),
                    Catch::Contains("device.dram.chanels") && Catch::Contains("did you mean 'channels'"));
}

TEST_CASE("a missing required key, a wrong type and an out-of-range value are errors", "[params]") {
  CHECK_THROWS_WITH(Params(kTable, json::object(), "s"),
                    Catch::Contains("s.capacity") && Catch::Contains("missing"));
  CHECK_THROWS_WITH(Params(kTable, json{{"capacity", 1}, {"channels", "four"}}, "s"),
                    Catch::Contains("s.channels") && Catch::Contains("expected an integer"));
  CHECK_THROWS_WITH(Params(kTable, json{{"capacity", 1}, {"channels", 0}}, "s"),
                    Catch::Contains("s.channels") && Catch::Contains("out of range"));
  CHECK_THROWS_WITH(Params(kTable, json{{"capacity", 1}, {"channels", 2.5}}, "s"),
                    Catch::Contains("integer"));
  CHECK_THROWS_WITH(Params(kTable, json{{"capacity", 1}, {"policy", "lur"}}, "s"),
                    Catch::Contains("did you mean 'lru'"));
  CHECK_THROWS_WITH(Params(kTable, json{{"capacity", 1}, {"cache", "big"}}, "s.x"),
                    Catch::Contains("s.x.cache"));
  CHECK_THROWS_AS(Params(kTable, json{{"capacity", 1}, {"on", 1}}, "s"), InputError);
}

TEST_CASE("suggest finds the closest known word and nothing for unrelated ones", "[params]") {
  CHECK(suggest("bandwith", {"bandwidth", "latency"}) == "bandwidth");
  CHECK(suggest("zzzzzz", {"bandwidth", "latency"}).empty());
}

TEST_CASE("a count is a whole number from 0, parsed or built in code, within its type", "[json_count]") {
  CHECK(json_is_count(json::parse("7")));
  CHECK(json_is_count(json(7)));  // built from a signed int: not number_unsigned, still a count
  CHECK(json_is_count(json(0)));
  CHECK(json_is_count(json::parse("18446744073709551615")));
  CHECK_FALSE(json_is_count(json::parse("-1")));
  CHECK_FALSE(json_is_count(json(-1)));
  CHECK_FALSE(json_is_count(json::parse("2.0")));
  CHECK_FALSE(json_is_count(json::parse("1.6e18")));
  CHECK_FALSE(json_is_count(json("3")));
  CHECK(json_count<uint32_t>(json(4294967295u), "n") == 4294967295u);
  CHECK(json_count<uint8_t>(json(7), "n") == 7);
  CHECK_THROWS_WITH(json_count<uint8_t>(json::parse("256"), "a tensor's chunks"),
                    "a tensor's chunks 256 is not a whole number from 0 to 255");
  CHECK_THROWS_AS(json_count<uint64_t>(json::parse("-3"), "n"), std::out_of_range);
}
