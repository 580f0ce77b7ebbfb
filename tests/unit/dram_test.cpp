// Command-level DRAM: one scenario per timing constraint, in which that constraint is
// the one that binds, with the cycle it allows worked out by hand beside the check; then
// long random streams checked by the independent checker (dram_checker.hpp).
#include <catch2/catch.hpp>
#include <random>

#include "dram_checker.hpp"
#include "models/memory/dram_command.hpp"
#include "models/memory/dram_ctrl.hpp"
#include "sim/core/errors.hpp"

using namespace edgesim;
using namespace edgesim::memory;
using nlohmann::json;

namespace {

// A made-up part with round, pairwise different numbers so that each scenario's binding
// constraint is unambiguous. tCK = 1 ns and 2 transfers per clock: BL8 takes 4 cycles.
json test_part_json() {
  return json::parse(R"({
    "schema": "edgesim.dram_part/1", "standard": "DDR4", "description": "test part",
    "organisation": {"channel_width_bits": 64, "device_width_bits": 8, "ranks": 1, "bank_groups": 2,
                     "banks_per_group": 4, "rows": 1024, "columns": 1024, "burst_length": 8},
    "clock": {"tCK": "1 ns", "data_rate": "2000 MT/s"},
    "timing": {"CL": "10 nCK", "CWL": "8 nCK", "tRCD": "12 ns", "tRP": "13 ns", "tRAS": "30 ns",
               "tRC": "45 ns", "tCCD_S": "4 nCK", "tCCD_L": "6 nCK", "tRRD_S": "5 nCK", "tRRD_L": "7 nCK",
               "tFAW": "30 ns", "tWTR_S": "3 nCK", "tWTR_L": "8 nCK", "tRTP": "9 nCK", "tWR": "15 ns",
               "tRFC": "100 ns", "tREFI": "5000 ns", "tRTRS": "2 nCK"},
    "power": {"rails": [{"name": "VDD", "voltage": "1.2 V", "IDD0": "60 mA", "IDD2N": "40 mA",
                         "IDD3N": "50 mA", "IDD4R": "150 mA", "IDD4W": "140 mA", "IDD5B": "250 mA"}],
              "io_energy": "2 pJ/bit"}
  })");
}

// Timing scenarios run without refresh unless they test it.
DramControllerSettings quiet() {
  DramControllerSettings s;
  s.refresh = DramControllerSettings::Refresh::Off;
  return s;
}

struct Rig {
  DramPart part;
  DramControllerSettings s;
  std::vector<DramCommandRecord> log;
  std::vector<uint32_t> latency;
  std::unique_ptr<DramSystem> sys;

  explicit Rig(json part_json = test_part_json(), DramControllerSettings settings = quiet()) : s(settings) {
    part = parse_dram_part(part_json, "test");
    part.name = "test";
    s.address_mapping = "row-rank-bankgroup-bank-column-channel";
    sys = std::make_unique<DramSystem>(part, s);
    sys->set_command_log(&log);
    sys->set_latency_log(&latency);
  }
  // Byte address of (rank, bank group, bank, row, column in bursts) under the mapping above.
  uint64_t addr(unsigned rank, unsigned bg, unsigned bank, uint64_t row, uint64_t col = 0) const {
    const auto& o = part.org;
    const uint64_t bursts = o.columns / o.burst_length;
    return ((((row * o.ranks + rank) * o.bank_groups + bg) * o.banks_per_group + bank) * bursts + col) *
           o.burst_bytes();
  }
  void read(int64_t at, uint64_t a) { sys->submit({at, a, 64, false}); }
  void write(int64_t at, uint64_t a) { sys->submit({at, a, 64, true}); }
  // Cycle of the n-th (0-based) command of a kind.
  int64_t at(DramCmd c, int n = 0) const {
    for (const auto& r : log) {
      if (r.cmd == c && n-- == 0) return r.cycle;
    }
    FAIL("no " << dram_cmd_name(c) << " number " << n);
    return -1;
  }
};

json with_timing(std::initializer_list<std::pair<const char*, const char*>> kv) {
  json j = test_part_json();
  for (const auto& [k, v] : kv) j["timing"][k] = v;
  return j;
}

// The test part with power-down and self-refresh: exits tXP 6, tXS 120, minimum
// residencies tCKE 5, tCKESR 10; currents IDD2P 20 mA, IDD3P 30 mA, IDD6 10 mA.
json low_power_part() {
  json j = with_timing({{"tXP", "6 nCK"}, {"tCKE", "5 nCK"}, {"tXS", "120 ns"}, {"tCKESR", "10 nCK"}});
  j["power"]["rails"][0]["IDD2P"] = "20 mA";
  j["power"]["rails"][0]["IDD3P"] = "30 mA";
  j["power"]["rails"][0]["IDD6"] = "10 mA";
  return j;
}

// The test part with interleaved bursts (LPDDR5 bank-group mode's BL32): the 4-cycle
// burst goes out as two 2-cycle halves with a 2-cycle gap (span 6); another group's burst
// may follow at tCCD_S = 2, into the gap, and one of the same group at tCCD_L = 8. Four
// bank groups of two banks; tRRD_S 1 so that rows open early.
json interleaved_part() {
  json j = with_timing({{"tCCD_S", "2 nCK"}, {"tCCD_L", "8 nCK"}, {"tRRD_S", "1 nCK"}, {"tRRD_L", "1 nCK"}});
  j["organisation"]["burst_interleave"] = true;
  j["organisation"]["bank_groups"] = 4;
  j["organisation"]["banks_per_group"] = 2;
  return j;
}
DramControllerSettings low_power(DramControllerSettings::LowPower mode, int64_t pd_after, int64_t sr_after) {
  DramControllerSettings s = quiet();
  s.low_power = mode;
  s.power_down_after = pd_after;
  s.self_refresh_after = sr_after;
  return s;
}

DramControllerSettings writes_first() {
  DramControllerSettings s = quiet();
  s.write_high = 1;  // a single queued write starts a drain...
  s.write_low = 0;   // ...that runs until no write is left
  return s;
}

}  // namespace

TEST_CASE("dram: timing values parse as datasheets write them") {
  CHECK(parse_timing("22 nCK", 0.625e-9, "t") == 22);
  CHECK(parse_timing("13.75 ns", 0.625e-9, "t") == 22);            // exactly 22 cycles
  CHECK(parse_timing("13.76 ns", 0.625e-9, "t") == 23);            // rounds up
  CHECK(parse_timing("max(4 nCK, 7.5 ns)", 0.625e-9, "t") == 12);  // 7.5 / 0.625
  CHECK(parse_timing("max(4 nCK, 1 ns)", 0.625e-9, "t") == 4);
  CHECK_THROWS_AS(parse_timing("4 cycles", 1e-9, "t"), InputError);
  CHECK_THROWS_WITH(parse_timing("max(4 nCK)", 1e-9, "timing.tRRD_S"), Catch::Contains("timing.tRRD_S"));
  // Counts no DRAM timing comes near are refused, not converted (past 2^63 they would not be).
  CHECK(parse_timing("1073741824 nCK", 1e-9, "t") == (int64_t{1} << 30));
  CHECK_THROWS_WITH(parse_timing("1e30 nCK", 1e-9, "timing.tRC"),
                    Catch::Contains("timing.tRC") && Catch::Contains("at most 2^30"));
  CHECK_THROWS_WITH(parse_timing("1e300 ns", 1e-9, "timing.tRC"), Catch::Contains("at most 2^30"));
  CHECK_THROWS_AS(parse_timing("max(4 nCK, 2 s)", 1e-9, "t"), InputError);
}

TEST_CASE("dram: part validation names the key") {
  json j = test_part_json();
  j["organisation"]["rows"] = 1000;
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"),
                    Catch::Contains("p.json.organisation.rows") && Catch::Contains("power of two"));
  // A 72-bit ECC channel: 144-byte bursts, which the bit-field mapping cannot address (the
  // dram_part fuzz target's hang: the request's burst count came out wrapped).
  j = test_part_json();
  j["organisation"]["channel_width_bits"] = 72;
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"),
                    Catch::Contains("p.json.organisation.channel_width_bits") && Catch::Contains("64 of 72"));
  j = test_part_json();
  j["schema"] = json::object();
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"), Catch::Contains("p.json.schema: expected a string"));
  j = test_part_json();
  j["timing"]["tRC"] = "40 ns";  // < tRAS + tRP = 43
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"), Catch::Contains("p.json.timing.tRC"));
  j = test_part_json();
  j["timing"].erase("tFAW");
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"), Catch::Contains("tFAW"));
  j = test_part_json();
  j["sources"] = {{"timing.tXYZ", "made up"}};
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"), Catch::Contains("timing.tXYZ"));
  j = test_part_json();
  j["clock"]["data_rate"] = "1500 MT/s";  // BL8 / 1.5 per clock is not whole
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"), Catch::Contains("whole number"));
  // Interleaved bursts: another group fills the gap, halves are whole cycles, and bursts of
  // one group stay a span apart.
  j = interleaved_part();
  j["organisation"]["bank_groups"] = 1;
  j["organisation"]["banks_per_group"] = 8;
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"),
                    Catch::Contains("p.json.organisation.burst_interleave") && Catch::Contains("bank groups"));
  j = interleaved_part();
  j["organisation"]["burst_length"] = 2;  // 1 cycle: no whole halves
  j["organisation"]["columns"] = 1024;
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"),
                    Catch::Contains("p.json.organisation.burst_interleave") && Catch::Contains("even"));
  j = interleaved_part();
  j["timing"]["tCCD_L"] = "5 nCK";  // < span 6
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"), Catch::Contains("p.json.timing.tCCD_L") && Catch::Contains("span"));
  j = interleaved_part();
  j["timing"]["tCCD_S"] = "1 nCK";  // < half 2
  CHECK_THROWS_WITH(parse_dram_part(j, "p.json"), Catch::Contains("p.json.timing.tCCD_S") && Catch::Contains("half"));
  CHECK(parse_dram_part(interleaved_part(), "p.json").t.span() == 6);
}

TEST_CASE("dram: address mapping puts each field where the scheme says") {
  const DramPart p = parse_dram_part(test_part_json(), "t");
  AddressMapper m(p.org, 2, "row-bank-bankgroup-rank-column-channel", false);
  // 64-byte bursts: bits 0-5 offset, bit 6 channel, bits 7-13 column (128 bursts/row),
  // no rank bits, bit 14 bank group, bits 15-16 bank, then the row.
  const DramAddress a =
      m.map((uint64_t{5} << 17) | (uint64_t{3} << 15) | (1u << 14) | (77u << 7) | (1u << 6) | 9);
  CHECK(a.channel == 1);
  CHECK(a.column == 77);
  CHECK(a.bank_group == 1);
  CHECK(a.bank == 3);
  CHECK(a.row == 5);
  CHECK(m.capacity() == uint64_t{2} * p.org.rank_bytes());
  AddressMapper x(p.org, 2, "row-bank-bankgroup-rank-column-channel", true);
  CHECK(x.map(uint64_t{5} << 17).bank == (5 & 3));  // bank XOR low row bits
  CHECK_THROWS_WITH(AddressMapper(p.org, 2, "row-bank-bankgrp-rank-column-channel", false),
                    Catch::Contains("did you mean 'bankgroup'"));
  CHECK_THROWS_WITH(AddressMapper(p.org, 3, "row-bank-bankgroup-rank-column-channel", false),
                    Catch::Contains("power of two"));
  // A split column: 2 low column bits below the bank group, the other 5 above it.
  AddressMapper split(p.org, 1, "row-bank-column-bankgroup-column:2-rank-channel", false);
  const DramAddress s = split.map((uint64_t{9} << 16) | (uint64_t{2} << 14) | (uint64_t{21} << 9) |
                                  (1u << 8) | (uint64_t{3} << 6));
  CHECK(s.column == (21u << 2 | 3u));
  CHECK(s.bank_group == 1);
  CHECK(s.bank == 2);
  CHECK(s.row == 9);
  CHECK(m.column_bits() == uint64_t{0x7f} << 7);
  CHECK(split.column_bits() == ((uint64_t{3} << 6) | (uint64_t{0x1f} << 9)));
  // Addresses that differ only in column bits share every other field (the controller
  // maps a request's next burst only when it leaves them); any other bit changes one.
  std::mt19937_64 rng(7);
  for (const AddressMapper* mm : {&m, &x, &split}) {
    for (int i = 0; i < 200; ++i) {
      const uint64_t a = rng() % mm->capacity() & ~uint64_t{63};
      const unsigned bit = 6 + static_cast<unsigned>(rng() % 20);
      const DramAddress u = mm->map(a), v = mm->map(a ^ (uint64_t{1} << bit));
      const bool same = u.channel == v.channel && u.rank == v.rank && u.bank_group == v.bank_group &&
                        u.bank == v.bank && u.row == v.row;
      CHECK(same == (((mm->column_bits() >> bit) & 1) == 1));
    }
  }
  CHECK_THROWS_WITH(AddressMapper(p.org, 1, "row-bank-column-bankgroup-bank:1-rank-channel", false),
                    Catch::Contains("only column takes"));
  CHECK_THROWS_WITH(AddressMapper(p.org, 1, "row-bank-column-bankgroup-rank", false),
                    Catch::Contains("must name each"));
  // auto: 64-byte lines stay in one bank; 32-byte bursts get one low column bit.
  CHECK(default_address_mapping(p.org) == "row-bank-column-bankgroup-rank-channel");
  DramOrganisation lp = p.org;
  lp.channel_width_bits = 16;
  lp.burst_length = 16;
  CHECK(default_address_mapping(lp) == "row-bank-column-bankgroup-column:1-rank-channel");
}

TEST_CASE("dram: a request's bursts go to their own banks where the request crosses a row") {
  // 192 bytes from the row's last-but-one burst: two bursts in bank 0 (the second is the
  // column after the first, the same row), the third in bank 1, where the column field
  // wraps into the bank field.
  Rig r;
  r.sys->submit({0, r.addr(0, 0, 0, 3, 126), 192, false});
  r.sys->drain();
  unsigned acts[2] = {0, 0}, reads[2] = {0, 0};
  for (const auto& c : r.log) {
    REQUIRE(c.bank_group == 0);
    REQUIRE(c.bank < 2);
    if (c.cmd == DramCmd::ACT) {
      CHECK(c.row == 3);
      ++acts[c.bank];
    }
    if (c.cmd == DramCmd::RD) ++reads[c.bank];
  }
  CHECK(acts[0] == 1);
  CHECK(acts[1] == 1);
  CHECK(reads[0] == 2);
  CHECK(reads[1] == 1);
  CHECK(r.latency.size() == 1);
}

TEST_CASE("dram: a request that arrives before the last one waiting is refused") {
  Rig r;
  r.read(10, r.addr(0, 0, 0, 1));
  r.read(20, r.addr(0, 1, 0, 1));
  CHECK_THROWS_WITH(r.read(15, r.addr(0, 0, 1, 1)), Catch::Matchers::Contains("arrivals must not decrease"));
  r.read(20, r.addr(0, 0, 1, 1));  // the same cycle is fine
  r.sys->drain();
  CHECK(r.latency.size() == 3);
}

TEST_CASE("dram: a request past the top of the 64-bit address space is refused, the last bytes are not") {
  // Its burst count would wrap to about 2^59 (a libFuzzer timeout: the controller never drained).
  const DramPart p = parse_dram_part(test_part_json(), "t");
  DramSystem sys(p, DramControllerSettings{});
  CHECK_THROWS_WITH(sys.submit({0, ~uint64_t{0} - 31, 64, false}),
                    Catch::Matchers::Contains("runs past the end of the 64-bit address space"));
  sys.submit({0, ~uint64_t{0} - 63, 64, false});
  sys.drain();
  CHECK(sys.counters().requests == 1);
}

TEST_CASE("dram: tRCD and CL bind a read to a closed bank") {
  Rig r;
  r.read(0, r.addr(0, 0, 0, 1));
  r.sys->drain();
  CHECK(r.at(DramCmd::ACT) == 0);
  CHECK(r.at(DramCmd::RD) == 12);         // tRCD = 12 ns = 12 cycles
  CHECK(r.latency.at(0) == 12 + 10 + 4);  // tRCD + CL + burst (8 transfers, 2 per clock)
}

TEST_CASE("dram: CWL binds a write's latency") {
  Rig r;
  r.write(0, r.addr(0, 0, 0, 1));
  r.sys->drain();
  CHECK(r.at(DramCmd::WR) == 12);
  CHECK(r.latency.at(0) == 12 + 8 + 4);  // tRCD + CWL + burst
}

TEST_CASE("dram: tRAS binds PRE after ACT, tRC binds the next ACT") {
  Rig r;
  r.read(0, r.addr(0, 0, 0, 1));
  r.read(0, r.addr(0, 0, 0, 2));  // same bank, other row
  r.sys->drain();
  CHECK(r.at(DramCmd::PRE) == 30);     // tRAS = 30 beats RD + tRTP = 12 + 9 = 21
  CHECK(r.at(DramCmd::ACT, 1) == 45);  // tRC = 45 beats PRE + tRP = 43
}

TEST_CASE("dram: tWR binds PRE after a write, then tRP binds ACT") {
  Rig r(test_part_json(), writes_first());
  r.write(0, r.addr(0, 0, 0, 1));
  r.write(0, r.addr(0, 0, 0, 2));
  r.sys->drain();
  CHECK(r.at(DramCmd::WR) == 12);
  CHECK(r.at(DramCmd::PRE) == 12 + 8 + 4 + 15);  // WR + CWL + burst + tWR = 39 > tRAS 30
  CHECK(r.at(DramCmd::ACT, 1) == 39 + 13);       // PRE + tRP = 52 > tRC 45
}

TEST_CASE("dram: tRTP binds PRE after a late read") {
  Rig r;
  for (int i = 0; i < 3; ++i) r.read(0, r.addr(0, 0, 0, 1, i));
  r.read(0, r.addr(0, 0, 0, 2));
  r.sys->drain();
  CHECK(r.at(DramCmd::RD, 2) == 24);    // 12, 18, 24: tCCD_L = 6 within the bank group
  CHECK(r.at(DramCmd::PRE) == 24 + 9);  // tRTP = 9 beats tRAS = 30
}

TEST_CASE("dram: tCCD_L binds reads in one bank group, tCCD_S across groups") {
  Rig same;
  same.read(0, same.addr(0, 0, 0, 1, 0));
  same.read(0, same.addr(0, 0, 0, 1, 1));
  same.sys->drain();
  CHECK(same.at(DramCmd::RD, 1) - same.at(DramCmd::RD, 0) == 6);  // tCCD_L

  Rig cross(with_timing({{"tRRD_S", "1 nCK"}}));  // both rows open early
  cross.read(0, cross.addr(0, 0, 0, 1));
  cross.read(0, cross.addr(0, 1, 0, 1));
  cross.sys->drain();
  CHECK(cross.at(DramCmd::ACT, 1) == 1);
  CHECK(cross.at(DramCmd::RD, 1) == 12 + 4);  // tCCD_S = 4 beats ACT + tRCD = 13
}

TEST_CASE("dram: an interleaved burst's gap takes another group's burst, and nothing else") {
  // docs/dram.md, Timing constraints: after a burst alone at t, another group's burst may
  // go at t + 2 (into the gap), not at t + 3 to t + 5 (its halves would meet the first
  // burst's second half), and again from t + 6; after a pair (t and t + 2), from t + 8.
  // Each scenario opens rows in different groups at cycles 0, 1, 2 (tRRD 1), so the reads
  // are ready at tRCD = 12, 13, 14 unless the ACTs are held back.
  Rig fill(interleaved_part());
  fill.read(0, fill.addr(0, 0, 0, 1));
  fill.read(0, fill.addr(0, 1, 0, 1));
  fill.sys->drain();
  CHECK(fill.at(DramCmd::RD, 0) == 12);
  CHECK(fill.at(DramCmd::RD, 1) == 14);  // ready at 13, the gap opens at 12 + 2 = tCCD_S
  CHECK(fill.latency.at(0) == 12 + 10 + 6);  // tRCD + CL + the span: both halves and the gap
  CHECK(fill.latency.at(1) == 14 + 10 + 6);

  // The second row opens at 3 (tRRD 3): ready at 15, inside the first burst's span, so it
  // waits for the span's end at 12 + 6 = 18.
  json slow_acts = interleaved_part();
  slow_acts["timing"]["tRRD_S"] = slow_acts["timing"]["tRRD_L"] = "3 nCK";
  Rig late(slow_acts);
  late.read(0, late.addr(0, 0, 0, 1));
  late.read(0, late.addr(0, 1, 0, 1));
  late.sys->drain();
  CHECK(late.at(DramCmd::ACT, 1) == 3);
  CHECK(late.at(DramCmd::RD, 1) == 12 + 6);

  // A pair fills the bus to its span's end: a third group's burst waits for 14 + 6 = 20
  // (tCCD_S alone would allow 16), and a fourth group's, also ready, goes at 22, into the
  // third's gap.
  Rig pair(interleaved_part());
  for (unsigned g = 0; g < 4; ++g) pair.read(0, pair.addr(0, g, 0, 1));
  pair.sys->drain();
  CHECK(pair.at(DramCmd::RD, 0) == 12);
  CHECK(pair.at(DramCmd::RD, 1) == 14);
  CHECK(pair.at(DramCmd::RD, 2) == 20);
  CHECK(pair.at(DramCmd::RD, 3) == 22);

  // One group: tCCD_L = 8 apart, never in each other's gap.
  Rig same(interleaved_part());
  same.read(0, same.addr(0, 0, 0, 1, 0));
  same.read(0, same.addr(0, 0, 0, 1, 1));
  same.sys->drain();
  CHECK(same.at(DramCmd::RD, 1) - same.at(DramCmd::RD, 0) == 8);
}

TEST_CASE("dram: tRRD_S and tRRD_L space activations") {
  Rig r(with_timing({{"tRCD", "20 ns"}}));  // reads come after all three ACTs
  r.read(0, r.addr(0, 0, 0, 1));
  r.read(0, r.addr(0, 1, 0, 1));  // other bank group
  r.read(0, r.addr(0, 1, 1, 1));  // same group as the second
  r.sys->drain();
  CHECK(r.at(DramCmd::ACT, 1) == 5);      // tRRD_S
  CHECK(r.at(DramCmd::ACT, 2) == 5 + 7);  // tRRD_L from the second (beats tRRD_S from it)
}

TEST_CASE("dram: tFAW holds the fifth activation") {
  Rig r;
  // Alternate groups: ACTs at 0 (g0), 5 (g1), 10 (g0, tRRD_L from 0 is 7), 15 (g1);
  // the fifth may not come before 0 + tFAW = 30 (tRRD alone would allow 20).
  const unsigned seq[5][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0, 2}};
  for (const auto& s : seq) r.read(0, r.addr(0, s[0], s[1], 1));
  r.sys->drain();
  CHECK(r.at(DramCmd::ACT, 3) == 15);
  CHECK(r.at(DramCmd::ACT, 4) == 30);
}

TEST_CASE("dram: tWTR_L and tWTR_S bind a read after a write") {
  Rig same(test_part_json(), writes_first());
  same.write(0, same.addr(0, 0, 0, 1, 0));
  same.read(1, same.addr(0, 0, 0, 1, 1));
  same.sys->drain();
  CHECK(same.at(DramCmd::WR) == 12);
  CHECK(same.at(DramCmd::RD) == 12 + 8 + 4 + 8);  // WR + CWL + burst + tWTR_L

  Rig cross(test_part_json(), writes_first());
  cross.write(0, cross.addr(0, 0, 0, 1));
  cross.read(1, cross.addr(0, 1, 0, 1));
  cross.sys->drain();
  // The read's ACT waits for the write drain: ACT at 13, so tRCD allows 25 and
  // WR + CWL + burst + tWTR_S = 27 binds.
  CHECK(cross.at(DramCmd::ACT, 1) == 13);
  CHECK(cross.at(DramCmd::RD) == 27);
}

TEST_CASE("dram: read-to-write turnaround binds a write after a read") {
  Rig r;
  r.read(0, r.addr(0, 0, 0, 1, 0));
  r.write(1, r.addr(0, 0, 0, 1, 1));
  r.sys->drain();
  CHECK(r.at(DramCmd::RD) == 12);
  CHECK(r.at(DramCmd::WR) == 12 + (10 + 4 + 2 - 8));  // RL + burst + 2 - WL = 8 beats tCCD_L = 6
}

TEST_CASE("dram: tRTRS binds reads on two ranks") {
  json j = test_part_json();
  j["organisation"]["ranks"] = 2;
  Rig r(j);
  r.read(0, r.addr(0, 0, 0, 1));
  r.read(0, r.addr(1, 0, 0, 1));
  r.sys->drain();
  CHECK(r.at(DramCmd::ACT, 1) == 1);          // other rank: only the command bus
  CHECK(r.at(DramCmd::RD, 1) == 12 + 4 + 2);  // burst + tRTRS = 18 beats ACT + tRCD = 13
}

TEST_CASE("dram: all-bank refresh every tREFI, tRP before REF, tRFC after it") {
  DramControllerSettings s;
  s.refresh = DramControllerSettings::Refresh::AllBank;
  Rig r(test_part_json(), s);
  r.read(4990, r.addr(0, 0, 0, 1));  // opens a row just before the refresh is due at 5000
  r.read(5001, r.addr(0, 1, 0, 1));
  r.sys->drain();
  CHECK(r.at(DramCmd::ACT) == 4990);
  CHECK(r.at(DramCmd::PRE) == 4990 + 30);       // refresh closes the row once tRAS allows
  CHECK(r.at(DramCmd::REF) == 4990 + 30 + 13);  // PRE + tRP
  CHECK(r.at(DramCmd::ACT, 1) == 5033 + 100);   // REF + tRFC
  r.sys->advance_to(20'001);
  CHECK(r.sys->counters().commands[static_cast<int>(DramCmd::REF)] == 4);  // due at 5, 10, 15, 20 us
  // Both reads' rows are open at 10 us (the refresh at 5 us closed the first before its
  // read, which re-activated): PREs at 10000 and 10001, one command per clock, then tRP.
  CHECK(r.at(DramCmd::PRE, 1) == 10'000);
  CHECK(r.at(DramCmd::REF, 1) == 10'001 + 13);
  CHECK(r.at(DramCmd::REF, 2) == 15'000);  // all banks closed since: on time
}

TEST_CASE("dram: per-bank refresh covers one bank for tRFCpb") {
  json j = with_timing({{"tRFCpb", "40 ns"}, {"tREFIpb", "625 ns"}});  // 5000 / 8 banks
  DramControllerSettings s;
  s.refresh = DramControllerSettings::Refresh::PerBank;
  Rig r(j, s);
  REQUIRE(r.part.refpb_banks() == 1);
  r.read(626, r.addr(0, 0, 0, 1));  // bank 0, refreshed at 625
  r.read(626, r.addr(0, 0, 1, 1));  // bank 1, free
  r.sys->drain();
  CHECK(r.at(DramCmd::REFPB) == 625);
  CHECK(r.log[1].cmd == DramCmd::ACT);
  CHECK(r.log[1].bank == 1);
  CHECK(r.log[1].cycle == 625 + 5);          // tRRD_S after the REFpb
  CHECK(r.at(DramCmd::ACT, 1) == 625 + 40);  // bank 0 after tRFCpb
}

TEST_CASE("dram: FR-FCFS serves row hits first, FCFS in order") {
  for (auto sched : {DramControllerSettings::Scheduler::FrFcfs, DramControllerSettings::Scheduler::Fcfs}) {
    DramControllerSettings s = quiet();
    s.scheduler = sched;
    Rig r(test_part_json(), s);
    r.read(0, r.addr(0, 0, 0, 1, 0));
    r.read(0, r.addr(0, 0, 0, 2, 0));  // conflict
    r.read(0, r.addr(0, 0, 0, 1, 1));  // hit on the first row
    r.sys->drain();
    const auto& c = r.sys->counters();
    CHECK(c.commands[static_cast<int>(DramCmd::ACT)] ==
          (sched == DramControllerSettings::Scheduler::FrFcfs ? 2u : 3u));
  }
}

TEST_CASE("dram: closed page precharges after the last queued hit") {
  DramControllerSettings s = quiet();
  s.page_policy = DramControllerSettings::PagePolicy::Closed;
  Rig r(test_part_json(), s);
  r.read(0, r.addr(0, 0, 0, 1, 0));
  r.read(0, r.addr(0, 0, 0, 1, 1));
  r.sys->drain();
  r.sys->advance_to(1000);  // the precharge needs no request: it comes as time passes
  CHECK(r.sys->counters().commands[static_cast<int>(DramCmd::PRE)] == 1);
  CHECK(r.at(DramCmd::PRE) == 30);  // after both reads, when tRAS allows
}

namespace {
void random_stream(DramControllerSettings s, const DramPart& p, unsigned channels, uint64_t seed) {
  s.channels = channels;
  DramSystem sys(p, s);
  std::vector<DramCommandRecord> log;
  sys.set_command_log(&log);
  std::mt19937_64 rng(seed);
  const uint64_t span = uint64_t{1} << 24;  // few rows: hits, conflicts and bank clashes mix
  int64_t t = 0;
  const int n = 30'000;
  for (int i = 0; i < n; ++i) {
    t += static_cast<int64_t>(rng() % 6);
    const uint64_t a = (rng() % span) & ~uint64_t{63};
    const uint32_t size = (rng() % 4 == 0) ? 256 : 64;
    sys.submit({t, a, size, rng() % 3 == 0});
  }
  sys.drain();
  CHECK(sys.counters().requests == static_cast<uint64_t>(n));
  const auto errors = edgesim::test::check_commands(p, channels, log);
  for (const auto& e : errors) UNSCOPED_INFO(e);
  CHECK(errors.empty());
  CHECK(log.size() > static_cast<size_t>(n));
}
void random_stream(DramControllerSettings s, const json& part_json, unsigned channels, uint64_t seed) {
  DramPart p = parse_dram_part(part_json, "t");
  p.name = "t";
  random_stream(s, p, channels, seed);
}
}  // namespace

TEST_CASE("dram: random streams never violate a constraint (independent checker)") {
  json two_ranks = test_part_json();
  two_ranks["organisation"]["ranks"] = 2;
  json pb = with_timing({{"tRFCpb", "40 ns"}, {"tREFIpb", "625 ns"}});
  DramControllerSettings s;
  SECTION("FR-FCFS, open page, all-bank refresh, 2 ranks, 2 channels") {
    random_stream(s, two_ranks, 2, 1);
  }
  SECTION("FCFS, closed page") {
    s.scheduler = DramControllerSettings::Scheduler::Fcfs;
    s.page_policy = DramControllerSettings::PagePolicy::Closed;
    random_stream(s, two_ranks, 1, 2);
  }
  SECTION("per-bank refresh, bank XOR") {
    s.refresh = DramControllerSettings::Refresh::PerBank;
    s.bank_xor = true;
    random_stream(s, pb, 1, 3);
  }
  SECTION("power-down and self-refresh of idle ranks") {
    s.low_power = DramControllerSettings::LowPower::SelfRefresh;
    s.power_down_after = 3;
    s.self_refresh_after = 40;
    json lp = low_power_part();
    lp["organisation"]["ranks"] = 2;
    random_stream(s, lp, 1, 5);
  }
  SECTION("interleaved bursts, 2 ranks, 2 channels, per-bank refresh") {
    json il = interleaved_part();
    il["organisation"]["ranks"] = 2;
    il["timing"]["tRFCpb"] = "40 ns";
    il["timing"]["tREFIpb"] = "625 ns";
    s.refresh = DramControllerSettings::Refresh::PerBank;
    random_stream(s, il, 2, 6);
  }
  SECTION("the built-in parts with interleaved bursts, 2 ranks") {
    for (const char* name : {"lpddr5-6400-bl32", "lpddr5x-8533-bl32"}) {
      DramPart part = load_dram_part(name);
      REQUIRE(part.org.burst_interleave);
      part.org.ranks = 2;
      s.refresh = DramControllerSettings::Refresh::PerBank;
      random_stream(s, part, 1, 7);
    }
  }
  SECTION("small queues, tight watermarks") {
    s.read_queue = 4;
    s.write_queue = 4;
    s.write_high = 2;
    s.write_low = 1;
    random_stream(s, two_ranks, 1, 4);
  }
}

TEST_CASE("dram: the checker catches a violation") {
  const DramPart p = parse_dram_part(test_part_json(), "t");
  std::vector<DramCommandRecord> log = {{0, DramCmd::ACT, 0, 0, 0, 0, 1}, {11, DramCmd::RD, 0, 0, 0, 0, 1}};
  const auto errors = edgesim::test::check_commands(p, 1, log);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Contains("tRCD"));

  // Interleaved bursts: another group's read in the first read's gap (t + 2) is legal, one
  // whose first half meets the first read's second half (t + 3) is not.
  const DramPart il = parse_dram_part(interleaved_part(), "t");
  for (const int64_t second : {14, 15}) {
    const std::vector<DramCommandRecord> two = {{0, DramCmd::ACT, 0, 0, 0, 0, 1},
                                                {1, DramCmd::ACT, 0, 0, 1, 0, 1},
                                                {12, DramCmd::RD, 0, 0, 0, 0, 1},
                                                {second, DramCmd::RD, 0, 0, 1, 0, 1}};
    const auto e = edgesim::test::check_commands(il, 1, two);
    INFO("second read at " << second);
    if (second == 14) {
      CHECK(e.empty());
    } else {
      REQUIRE(e.size() == 1);
      CHECK_THAT(e[0], Catch::Contains("overlaps"));
    }
  }
}

TEST_CASE("dram: energy follows the IDD accounting") {
  const DramPart p = parse_dram_part(test_part_json(), "t");
  const DramEnergy e = p.energy();
  // 8 devices x 1.2 V: ACT (IDD0 - IDD3N) x tRAS, RD (IDD4R - IDD3N) x 4 ns, REF (IDD5B - IDD3N) x tRFC.
  CHECK(e.act == Approx(8 * 1.2 * 0.010 * 30e-9));
  CHECK(e.pre == Approx(8 * 1.2 * 0.020 * 15e-9));
  CHECK(e.rd == Approx(8 * 1.2 * 0.100 * 4e-9));
  CHECK(e.ref == Approx(8 * 1.2 * 0.200 * 100e-9));
  CHECK(e.precharge_standby == Approx(8 * 1.2 * 0.040));
}

namespace {
// Idles a two-read rig through [0, idle_end) twice: once with one advance_to (the long-idle
// shortcut), once in steps too short for it; the commands, the low-power residency, the
// background energy and the cycles of the reads after the stretch must agree. Returns the
// shortcut's counters.
DramCounters idle_stretch_matches(const json& part, const DramControllerSettings& s, int64_t idle_end) {
  Rig skip(part, s), step(part, s);
  for (Rig* r : {&skip, &step}) {
    r->read(0, r->addr(0, 0, 0, 1));
    r->read(0, r->addr(1, 1, 2, 7));
    r->sys->drain();
  }
  skip.sys->advance_to(idle_end);                                       // takes the shortcut
  for (int64_t t = 0; t < idle_end; t += 997) step.sys->advance_to(t);  // never idle long enough
  step.sys->advance_to(idle_end);
  for (Rig* r : {&skip, &step}) {
    r->read(idle_end, r->addr(0, 0, 0, 1));
    r->read(idle_end, r->addr(1, 1, 2, 7));
    r->sys->drain();
  }
  const auto& a = skip.sys->counters();
  const auto& b = step.sys->counters();
  for (int c = 0; c < kDramCmds; ++c) CHECK(a.commands[c] == b.commands[c]);
  CHECK(a.power_down_cycles == b.power_down_cycles);
  CHECK(a.self_refresh_cycles == b.self_refresh_cycles);
  CHECK(a.power_down_entries == b.power_down_entries);
  CHECK(a.self_refresh_entries == b.self_refresh_entries);
  // The reads after the idle stretch issue at the same cycles.
  auto after = [&](const Rig& r) {
    std::vector<int64_t> v;
    for (const auto& c : r.log) {
      if (c.cycle >= idle_end && c.cmd != DramCmd::REF && c.cmd != DramCmd::REFPB) v.push_back(c.cycle);
    }
    return v;
  };
  CHECK(after(skip) == after(step));
  CHECK(after(skip).size() >= 4);
  CHECK(skip.sys->energy(idle_end + 5000).background == Approx(step.sys->energy(idle_end + 5000).background));
  return a;
}
}  // namespace

TEST_CASE("dram: a long idle stretch counts its refreshes exactly as simulating them") {
  for (auto mode : {DramControllerSettings::Refresh::AllBank, DramControllerSettings::Refresh::PerBank}) {
    json j = with_timing({{"tRFCpb", "40 ns"}, {"tREFIpb", "625 ns"}});
    j["organisation"]["ranks"] = 2;
    DramControllerSettings s;
    s.refresh = mode;
    const DramCounters a = idle_stretch_matches(j, s, 1'000'003);  // 1 ms: thousands of refreshes
    CHECK(a.commands[static_cast<int>(
              mode == DramControllerSettings::Refresh::AllBank ? DramCmd::REF : DramCmd::REFPB)] > 300);
  }
}
namespace {
// Bus efficiency of `n` 64-byte reads, all queued at once, on a built-in part.
double stream_efficiency(const DramPart& p, DramControllerSettings s, uint64_t n, bool random) {
  DramSystem sys(p, s);
  std::mt19937_64 rng(7);
  const uint64_t slots = sys.mapper().capacity() / 64;
  for (uint64_t i = 0; i < n; ++i) sys.submit({0, (random ? rng() % slots : i) * 64, 64, false});
  const int64_t end = sys.drain();
  const double bus = static_cast<double>(sys.counters().read_bursts * p.t.BL);
  return bus / static_cast<double>(end);
}
}  // namespace

TEST_CASE("dram: the BL32 LPDDR parts read a 64-byte line with one column command") {
  // configs/dram/README.md: lpddr4x-4266-bl32 and lpddr5-6400-8b carry a 64-byte line in
  // one 32-beat burst, where their BL16 siblings need two. Six lines of one row and a
  // seventh in another row of the same bank, read with the parts' own mapping: one ACT,
  // six RDs tCCD apart, a PRE that the last RD's tRTP holds (tRAS is over by then), and
  // the first line's latency tRCD + CL + the burst. Cycles worked out from the part files.
  struct Case {
    const char* part;
    const char* sibling;
    int64_t rcd, cl, burst, ccd, rtp, ras;
    uint64_t row_bytes;  // one row across all banks: the next row of bank 0
  };
  // lpddr4x-4266-bl32: tCK 0.46882 ns, tRCD ceil(18 / 0.46882) = 39, CL 36, 32 beats at
  // 2 per CK = 16, tCCD 16, tRTP 24, tRAS ceil(42 / 0.46882) = 90; 8 banks x 2KB rows.
  // lpddr5-6400-8b: tCK 1.25 ns, tRCD ceil(18 / 1.25) = 15, CL 17, 32 beats at 8 per CK
  // = 4, tCCD 4, tRTP max(6, ceil(10 / 1.25)) = 8, tRAS ceil(42 / 1.25) = 34; 8 banks x 4KB.
  for (const Case& c : {Case{"lpddr4x-4266-bl32", "lpddr4x-4266", 39, 36, 16, 16, 24, 90, 8 * 2048},
                        Case{"lpddr5-6400-8b", "lpddr5-6400", 15, 17, 4, 4, 8, 34, 8 * 4096}}) {
    INFO(c.part);
    const DramPart part = load_dram_part(c.part);
    REQUIRE(part.org.burst_bytes() == 64);
    std::vector<DramCommandRecord> log;
    std::vector<uint32_t> latency;
    DramSystem sys(part, quiet());
    sys.set_command_log(&log);
    sys.set_latency_log(&latency);
    for (uint64_t i = 0; i < 6; ++i) sys.submit({0, i * 64, 64, false});
    sys.submit({0, c.row_bytes, 64, false});
    sys.drain();
    std::vector<int64_t> rd, pre, act;
    for (const auto& r : log) {
      if (r.cmd == DramCmd::RD && rd.size() < 6) rd.push_back(r.cycle);
      if (r.cmd == DramCmd::PRE) pre.push_back(r.cycle);
      if (r.cmd == DramCmd::ACT) act.push_back(r.cycle);
    }
    CHECK(sys.counters().read_bursts == 7);  // one per line
    REQUIRE(act.size() == 2);
    REQUIRE(rd.size() == 6);
    REQUIRE(pre.size() == 1);
    CHECK(act[0] == 0);
    for (size_t i = 0; i < rd.size(); ++i) CHECK(rd[i] == c.rcd + static_cast<int64_t>(i) * c.ccd);
    CHECK(pre[0] == std::max(c.ras, rd.back() + c.rtp));
    CHECK(rd.back() + c.rtp > c.ras);  // tRTP is the one that binds
    CHECK(latency.at(0) == c.rcd + c.cl + c.burst);

    // The BL16 sibling spends two column commands on each line.
    DramSystem bl16(load_dram_part(c.sibling), quiet());
    for (uint64_t i = 0; i < 6; ++i) bl16.submit({0, i * 64, 64, false});
    bl16.drain();
    CHECK(bl16.counters().read_bursts == 12);
  }
}

TEST_CASE("dram: sequential reads reach the peak less the refresh overhead computed by hand") {
  // docs/dram.md: each all-bank refresh costs the data bus a train of PREs (one per open
  // bank, one per clock), tRP, tRFC and tRCD before reads resume; the rest of tREFI
  // streams at the peak (bank groups interleave per burst, so tCCD_S = burst time).
  const DramPart p = load_dram_part("ddr4-3200");
  DramControllerSettings s;
  s.refresh = DramControllerSettings::Refresh::AllBank;
  const auto& t = p.t;
  REQUIRE(t.CCD_S == t.BL);
  const double lost = (p.org.banks() - 1) + t.RP + t.RFC + t.RCD;  // 15 + 22 + 560 + 22 = 619 cycles
  const double expected = 1 - lost / static_cast<double>(t.REFI);  // 95.04 %
  const double got = stream_efficiency(p, s, 400'000, false);
  INFO("measured " << got << ", by hand " << expected);
  CHECK(got == Approx(expected).margin(0.003));
  s.refresh = DramControllerSettings::Refresh::Off;
  CHECK(stream_efficiency(p, s, 100'000, false) > 0.999);  // only the first activation is lost
}

TEST_CASE("dram: random reads land at the activation-rate bound that row misses set") {
  // Every 64-byte random read on DDR4 (one burst) needs its own ACT. ACTs are bounded by
  // tRRD_S, by tFAW (4 per window) and by tRC per bank; on DDR4-3200 x8 tFAW binds:
  // 4 bursts of 4 cycles per 34-cycle window, 47 % of the bus.
  const DramPart p = load_dram_part("ddr4-3200");
  const auto& t = p.t;
  const double per_act =
      std::max({static_cast<double>(t.RRD_S), t.FAW / 4.0, static_cast<double>(t.RC) / p.org.banks()});
  REQUIRE(per_act == Approx(t.FAW / 4.0));
  const double bound = static_cast<double>(t.BL) / per_act;
  DramControllerSettings s;
  s.refresh = DramControllerSettings::Refresh::Off;
  const double got = stream_efficiency(p, s, 200'000, true);
  INFO("measured " << got << ", bound " << bound);
  CHECK(got <= bound + 1e-9);
  CHECK(got > 0.88 * bound);  // bank conflicts in a 32-entry queue cost the rest
}

TEST_CASE("dram: an idle rank powers down after power_down_idle and pays tXP to leave") {
  using LP = DramControllerSettings::LowPower;
  Rig on(low_power_part(), low_power(LP::PowerDown, 50, 0)), off(low_power_part(), quiet());
  for (Rig* r : {&on, &off}) {
    r->read(0, r->addr(0, 0, 0, 1));     // ACT 0, RD 12 (tRCD), data until 12 + CL 10 + 4 = 26
    r->read(1000, r->addr(0, 0, 0, 1));  // a row hit after a long idle stretch
    r->sys->drain();
  }
  // Idle from 26; active power-down (the row stays open) from 26 + 50 = 76 to 1000; the
  // read waits for max(1000, 76 + tCKE 5) + tXP 6 = 1006.
  CHECK(off.at(DramCmd::RD, 1) == 1000);
  CHECK(on.at(DramCmd::RD, 1) == 1006);
  const auto& c = on.sys->counters();
  CHECK(c.power_down_cycles == 924);
  CHECK(c.active_power_down_cycles == 924);
  CHECK(c.power_down_entries == 1);
  CHECK(c.self_refresh_entries == 0);
  // Background: the 924 cycles cost IDD3P instead of IDD3N (8 devices x 1.2 V, tCK 1 ns).
  const int64_t until = 1050;  // before the rank powers down again (1006 + 14 + 50 = 1070)
  const double saved = off.sys->energy(until).background - on.sys->energy(until).background;
  CHECK(saved == Approx(924e-9 * 8 * 1.2 * (0.050 - 0.030)));
  CHECK(on.sys->energy(until).low_power == Approx(924e-9 * 8 * 1.2 * 0.030));
}

TEST_CASE("dram: closed page powers down precharged (IDD2P)") {
  using LP = DramControllerSettings::LowPower;
  DramControllerSettings s = low_power(LP::PowerDown, 50, 0);
  s.page_policy = DramControllerSettings::PagePolicy::Closed;
  Rig on(low_power_part(), s);
  on.read(0, on.addr(0, 0, 0, 1));
  on.read(1000, on.addr(0, 0, 0, 1));
  on.sys->drain();
  // PRE at max(tRAS 30, RD 12 + tRTP 9) = 30, so the rank is idle from 30 + tRP 13 = 43,
  // in precharge power-down from 93 to 1000: the read's ACT waits until 1006.
  CHECK(on.at(DramCmd::PRE) == 30);
  CHECK(on.at(DramCmd::ACT, 1) == 1006);
  CHECK(on.sys->counters().power_down_cycles == 907);
  CHECK(on.sys->counters().active_power_down_cycles == 0);
}

TEST_CASE("dram: self-refresh closes the banks, replaces refreshes and pays tXS") {
  using LP = DramControllerSettings::LowPower;
  DramControllerSettings lp = low_power(LP::SelfRefresh, 50, 500), ref = quiet();
  lp.refresh = ref.refresh = DramControllerSettings::Refresh::AllBank;  // tREFI 5000
  Rig on(low_power_part(), lp), off(low_power_part(), ref);
  for (Rig* r : {&on, &off}) {
    r->read(0, r->addr(0, 0, 0, 1));
    r->read(19000, r->addr(0, 0, 0, 1));
    r->sys->drain();
  }
  // Reads end at 26; power-down from 76. At 26 + 500 = 526 the rank falls due for
  // self-refresh: it leaves power-down (tXP: 532), precharges its open bank (PRE at 532)
  // and sleeps from 532 + tRP 13 = 545. The refreshes due at 5000, 10000 and 15000 are
  // the device's own. The read at 19000 waits max(19000, 545 + 10) + tXS 120 = 19120 for
  // its ACT.
  CHECK(off.sys->counters().commands[static_cast<int>(DramCmd::REF)] == 3);
  CHECK(on.sys->counters().commands[static_cast<int>(DramCmd::REF)] == 0);
  CHECK(on.at(DramCmd::PRE) == 532);
  CHECK(on.at(DramCmd::ACT, 1) == 19120);
  const auto& c = on.sys->counters();
  CHECK(c.power_down_cycles == 526 - 76);
  CHECK(c.self_refresh_cycles == 19000 - 545);
  CHECK(c.self_refresh_entries == 1);
  CHECK(edgesim::test::check_commands(on.part, 1, on.log).empty());
}

TEST_CASE("dram: a long idle stretch in low-power states counts them exactly as simulating them") {
  using LP = DramControllerSettings::LowPower;
  for (LP mode : {LP::PowerDown, LP::SelfRefresh}) {
    for (auto refresh :
         {DramControllerSettings::Refresh::AllBank, DramControllerSettings::Refresh::PerBank}) {
      json j = low_power_part();
      j["timing"]["tRFCpb"] = "40 ns";
      j["timing"]["tREFIpb"] = "625 ns";
      j["organisation"]["ranks"] = 2;
      DramControllerSettings s = low_power(mode, 50, 2000);
      s.refresh = refresh;
      const DramCounters a = idle_stretch_matches(j, s, 1'000'003);
      if (mode == LP::SelfRefresh) {
        CHECK(a.self_refresh_cycles > 2 * 900'000);  // both ranks slept through the stretch
      } else {
        CHECK(a.power_down_entries > 300);  // each refresh woke the rank
      }
    }
  }
}

TEST_CASE("dram: low-power data in a part file is validated") {
  json j = low_power_part();
  j["timing"].erase("tXS");
  CHECK_THROWS_WITH(parse_dram_part(j, "p"), Catch::Contains("p.timing.tXS") && Catch::Contains("together"));
  j = low_power_part();
  j["power"]["rails"][0]["IDD6"] = "45 mA";  // above IDD2N 40 mA
  CHECK_THROWS_WITH(parse_dram_part(j, "p"), Catch::Contains("p.power.rails.0") && Catch::Contains("IDD6"));
  j = low_power_part();
  j["power"]["rails"][0].erase("IDD6");
  CHECK_THROWS_WITH(parse_dram_part(j, "p"), Catch::Contains("IDD6"));
  CHECK_FALSE(parse_dram_part(test_part_json(), "p").low_power_states());
  CHECK(parse_dram_part(low_power_part(), "p").low_power_states());
}

namespace {
// DDR4-3200 with two ranks (DRAMsim3's DDR4_8Gb_x8_3200 organisation), refresh off, the
// mapping that keeps a whole row in one bank: row-channel-rank-bank-bankgroup-column.
DramSystem two_rank_ddr4(DramControllerSettings s) {
  DramPart p = load_dram_part("ddr4-3200");
  p.org.ranks = 2;
  s.refresh = DramControllerSettings::Refresh::Off;
  s.address_mapping = "row-channel-rank-bank-bankgroup-column";
  return DramSystem(p, s);
}
}  // namespace

TEST_CASE("dram: a sequential stream within one bank gains what the read window overlaps across rows") {
  // docs/dram.md, "Writes and queue depth": a row's 128 bursts stream at tCCD_L = 8 cycles
  // (one bank group). Once the next row's first burst (in another bank group) enters the
  // Q-entry read queue, its bank opens (tRP + tRCD = 44 cycles, during which the old row
  // keeps streaming alone) and the two rows alternate at tCCD_S = 4: about
  // Q - 1 - 44 / 8 bursts of each row overlap, so a row takes
  // 8 x 128 - 8 x (Q - 6.5) cycles for 128 x 4 cycles of data.
  for (unsigned q : {16u, 32u, 40u, 64u}) {
    DramControllerSettings s;
    s.read_queue = q;
    DramSystem sys = two_rank_ddr4(s);
    const uint64_t n = 128 * 400;
    for (uint64_t i = 0; i < n; ++i) sys.submit({0, i * 64, 64, false});
    const double eff = static_cast<double>(n * 4) / static_cast<double>(sys.drain());
    const double expected = 512.0 / (1024.0 - 8.0 * (q - 6.5));
    INFO("read queue " << q << ": " << eff << " against " << expected);
    CHECK(eff == Approx(expected).epsilon(0.02));
  }
}

TEST_CASE("dram: write drains run from write_high down to write_low") {
  // Random traffic with 30 % writes: every switch to writes drains a batch of at least
  // write_high - write_low writes (the last batch, once reads run out, may be smaller).
  DramControllerSettings s;
  DramSystem sys = two_rank_ddr4(s);
  std::vector<DramCommandRecord> log;
  sys.set_command_log(&log);
  std::mt19937_64 rng(3);
  const uint64_t slots = sys.mapper().capacity() / 64;
  for (int i = 0; i < 20000; ++i) sys.submit({0, (rng() % slots) * 64, 64, rng() % 10 < 3});
  sys.drain();
  std::vector<unsigned> batches;
  bool writing = false;
  for (const auto& c : log) {
    if (c.cmd == DramCmd::WR) {
      if (!writing) batches.push_back(0);
      ++batches.back();
      writing = true;
    } else if (c.cmd == DramCmd::RD) {
      writing = false;
    }
  }
  REQUIRE(batches.size() > 100);
  for (size_t i = 0; i + 1 < batches.size(); ++i) CHECK(batches[i] >= s.write_high - s.write_low);
}

namespace {
// Every command (cycle, kind, coordinates, row), every latency and the totals of a run, as
// one list of numbers, so that two runs compare whole.
struct RunRecord {
  std::vector<int64_t> v;
  void add(const std::vector<DramCommandRecord>& log, const std::vector<uint32_t>& latencies) {
    for (const auto& c : log) {
      v.insert(v.end(), {c.cycle, static_cast<int64_t>(c.cmd), c.rank, c.bank_group, c.bank, c.row});
    }
    v.insert(v.end(), latencies.begin(), latencies.end());
  }
};

// A run of `n` random requests (30 % writes, with idle gaps), an idle stretch of 2^35
// cycles (keys counted from the first epoch would not fit) and `n` / 4 more requests.
RunRecord record_run(const DramPart& part, const DramControllerSettings& s, uint64_t n, bool& lean) {
  DramSystem sys(part, s);
  lean = sys.lean();
  std::vector<DramCommandRecord> log;
  std::vector<uint32_t> latencies;
  sys.set_command_log(&log);
  sys.set_latency_log(&latencies);
  RunRecord rec;
  std::mt19937_64 rng(11);
  const uint64_t slots = sys.mapper().capacity() / 64;
  int64_t t = 0;
  auto submit = [&](uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
      t += rng() % 100 == 0 ? static_cast<int64_t>(rng() % 5000) : static_cast<int64_t>(rng() % 4);
      sys.submit({t, (rng() % slots) * 64, 64, rng() % 10 < 3});
    }
    sys.drain();
    rec.add(log, latencies);
    log.clear();
    latencies.clear();
  };
  submit(n);
  sys.advance_to(sys.now() + (int64_t{1} << 35));
  t = sys.now();
  submit(n / 4);
  const DramCounters& k = sys.counters();
  rec.v.insert(rec.v.end(), k.commands, k.commands + kDramCmds);
  rec.v.insert(rec.v.end(),
               {static_cast<int64_t>(k.requests), static_cast<int64_t>(k.latency_sum), sys.now()});
  return rec;
}
}  // namespace

TEST_CASE("dram: the lean decision issues what the general one does") {
  // docs/dram.md, Controller: with one rank and no low-power states the run loop takes a
  // decision compiled without ranks, low-power states and the packed keys' range tests. A
  // power-down policy whose idle time is never reached changes nothing the controller
  // does, but takes the general decision: both must issue the same commands at the same
  // cycles, on every built-in part (those with interleaved bursts included), with each
  // refresh kind, both schedulers and page policies, and past the packed keys' first epoch
  // (the idle stretch of 2^35 cycles).
  for (const std::string& name : builtin_dram_parts()) {
    const DramPart part = load_dram_part(name);
    for (int cfg = 0; cfg < 4; ++cfg) {
      DramControllerSettings s;
      s.refresh = cfg == 1                              ? DramControllerSettings::Refresh::Off
                  : cfg == 2 && part.per_bank_refresh() ? DramControllerSettings::Refresh::PerBank
                                                        : DramControllerSettings::Refresh::AllBank;
      if (cfg == 2) s.scheduler = DramControllerSettings::Scheduler::Fcfs;
      if (cfg == 3) s.page_policy = DramControllerSettings::PagePolicy::Closed;
      DramControllerSettings general = s;
      general.low_power = DramControllerSettings::LowPower::PowerDown;
      general.power_down_after = int64_t{1} << 50;
      bool lean_a = false, lean_b = true;
      const RunRecord a = record_run(part, s, 6000, lean_a);
      const RunRecord b = record_run(part, general, 6000, lean_b);
      INFO(name << " settings " << cfg);
      REQUIRE(lean_a);
      REQUIRE_FALSE(lean_b);
      REQUIRE(a.v.size() == b.v.size());
      CHECK(a.v == b.v);
    }
  }
}

TEST_CASE("dram: the lean decision stays exact past the packed request ages") {
  // Three writes queued behind 2.2 million reads (4.4 million bursts): the reads are
  // served first, so the writes wait longer than the packed ages count (2^22 bursts). The
  // lean decision hands over to the general one when the ages are repacked and while a
  // wait does not fit.
  const DramPart part = load_dram_part("lpddr5x-8533");  // 32-byte bursts: 2 per request
  DramControllerSettings s, general;
  general.low_power = DramControllerSettings::LowPower::PowerDown;
  general.power_down_after = int64_t{1} << 50;
  RunRecord rec[2];
  for (int i = 0; i < 2; ++i) {
    DramSystem sys(part, i == 0 ? s : general);
    REQUIRE(sys.lean() == (i == 0));
    std::vector<uint32_t> latencies;
    sys.set_latency_log(&latencies);
    std::mt19937_64 rng(5);
    const uint64_t slots = sys.mapper().capacity() / 64;
    for (int w = 0; w < 3; ++w) sys.submit({0, (rng() % slots) * 64, 64, true});
    for (uint64_t k = 0; k < 2'200'000; ++k) sys.submit({0, (rng() % slots) * 64, 64, false});
    const int64_t end = sys.drain();
    rec[i].add({}, latencies);
    const DramCounters& c = sys.counters();
    rec[i].v.insert(rec[i].v.end(), c.commands, c.commands + kDramCmds);
    rec[i].v.push_back(end);
  }
  CHECK(rec[0].v.size() > 2'200'000);
  CHECK(rec[0].v == rec[1].v);
}
