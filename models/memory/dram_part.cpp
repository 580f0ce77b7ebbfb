#include "models/memory/dram_part.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "sim/core/config/embedded.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/config/params.hpp"
#include "sim/core/errors.hpp"

namespace edgesim::memory {

using config::Params;
using config::ParamTable;
using config::Quantity;
using nlohmann::json;

namespace {

constexpr const char* kSchema = "edgesim.dram_part/1";
constexpr const char* kTimingHelp = "\"N nCK\", a time such as \"13.75 ns\", or \"max(N nCK, T ns)\"";

const ParamTable kOrganisation = {{
    {"channel_width_bits", Quantity::Integer, nullptr, "Data bits of one channel", 8, 1024},
    {"device_width_bits", Quantity::Integer, nullptr, "Data bits of one device (x4, x8, x16)", 4, 64},
    {"ranks", Quantity::Integer, 1, "Ranks on a channel", 1, 8},
    {"bank_groups", Quantity::Integer, nullptr, "Bank groups per rank (1 without bank groups)", 1, 16},
    {"banks_per_group", Quantity::Integer, nullptr, "Banks in one bank group", 1, 64},
    {"rows", Quantity::Integer, nullptr, "Rows per bank (power of two)", 2, 1 << 24},
    {"columns", Quantity::Integer, nullptr, "Columns per row, in device-width columns (power of two)", 8,
     1 << 16},
    {"burst_length", Quantity::Integer, nullptr, "Transfers per burst (BL)", 1, 64},
    {"burst_interleave", Quantity::Boolean, false,
     "Each burst goes out as two halves with a one-half gap that another bank group's burst may fill "
     "(LPDDR5/5X bank-group mode, BL32)"},
}};

const ParamTable kClock = {{
    {"tCK", Quantity::Time, nullptr, "Command clock period", 1e-11, 1e-7},
    {"data_rate", Quantity::Frequency, nullptr, "Transfers per second per data pin", 1e6, 1e11},
}};

const std::vector<std::string> kRequiredTimings = {"CL",     "CWL",    "tRCD",   "tRP",    "tRAS", "tRC",
                                                   "tCCD_S", "tCCD_L", "tRRD_S", "tRRD_L", "tFAW", "tWTR_S",
                                                   "tWTR_L", "tRTP",   "tWR",    "tRFC",   "tREFI"};

ParamTable timing_table() {
  ParamTable t;
  for (const auto& k : kRequiredTimings) t.params.push_back({k, Quantity::String, nullptr, kTimingHelp});
  t.params.push_back(
      {"tRFCpb", Quantity::String, "0 nCK", "Per-bank refresh cycle time (0: no per-bank refresh)"});
  t.params.push_back(
      {"tREFIpb", Quantity::String, "0 nCK", "Per-bank refresh interval (0: no per-bank refresh)"});
  t.params.push_back({"tRTRS", Quantity::String, "2 nCK", "Rank-to-rank data-bus switch"});
  t.params.push_back(
      {"tXP", Quantity::String, "0 nCK", "Power-down exit to a valid command (0: no power-down)"});
  t.params.push_back({"tCKE", Quantity::String, "0 nCK", "Minimum power-down residency"});
  t.params.push_back({"tXS", Quantity::String, "0 nCK",
                      "Self-refresh exit to a valid command (LPDDR: tXSR; 0: no self-refresh)"});
  t.params.push_back({"tCKESR", Quantity::String, "0 nCK", "Minimum self-refresh residency (LPDDR: tSR)"});
  return t;
}
const ParamTable kTiming = timing_table();

const ParamTable kRail = {{
    {"name", Quantity::String, nullptr, "Supply rail (VDD, VPP, VDD2H, ...)"},
    {"voltage", Quantity::Voltage, nullptr, "Nominal rail voltage", 0.1, 5},
    {"IDD0", Quantity::Current, nullptr, "One-bank ACT-PRE current", 0, 10},
    {"IDD2N", Quantity::Current, nullptr, "Precharge standby current", 0, 10},
    {"IDD3N", Quantity::Current, nullptr, "Active standby current", 0, 10},
    {"IDD4R", Quantity::Current, nullptr, "Burst read current", 0, 10},
    {"IDD4W", Quantity::Current, nullptr, "Burst write current", 0, 10},
    {"IDD5B", Quantity::Current, nullptr, "Burst (all-bank) refresh current", 0, 10},
    {"IDD5PB", Quantity::Current, "0 A", "Per-bank refresh current (0: derived from IDD5B)", 0, 10},
    {"IDD2P", Quantity::Current, "0 A", "Precharge power-down current (needed with tXP)", 0, 10},
    {"IDD3P", Quantity::Current, "0 A", "Active power-down current (needed with tXP)", 0, 10},
    {"IDD6", Quantity::Current, "0 A", "Self-refresh current (needed with tXS)", 0, 10},
}};

const ParamTable kPower = {{
    {"io_energy", Quantity::EnergyPerBit, "0 pJ/bit", "Interface energy per bit on the bus, not in IDD", 0,
     1e-9},
}};

bool power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

const json& member(const json& j, const char* key, const std::string& origin) {
  if (!j.contains(key)) config::fail_at(origin, std::string("missing section '") + key + "'");
  return j.at(key);
}

// Checks that every "sources" key names a value of the part (same rule as configs).
void check_sources(const json& j, const std::string& origin) {
  if (!j.contains("sources")) return;
  if (!j["sources"].is_object()) config::fail_at(origin + ".sources", "expected an object of key: citation");
  for (const auto& [key, cite] : j["sources"].items()) {
    if (!cite.is_string()) config::fail_at(origin + ".sources." + key, "expected a citation string");
    if (!config::find_dotted(j, key)) {
      config::fail_at(origin + ".sources", "'" + key + "' cites a value the part does not set");
    }
  }
}

}  // namespace

int64_t parse_timing(const std::string& text, double tck, const std::string& path) {
  auto bad = [&]() -> int64_t {
    config::fail_at(path, "'" + text + "' is not a timing (expected " + kTimingHelp + ")");
  };
  // No DRAM timing comes near a second; a larger count is a typo, and past 2^63 it would
  // not convert to an integer at all.
  constexpr double kMaxCycles = 1 << 30;
  auto cycles = [&](double n) -> int64_t {
    if (!(n <= kMaxCycles)) {  // and not a number
      char count[32];
      std::snprintf(count, sizeof count, "%.4g", n);
      config::fail_at(path, "'" + text + "' is " + count + " clock cycles; a timing may be at most 2^30");
    }
    return static_cast<int64_t>(n);
  };
  auto trim = [](std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
  };
  const std::string s = trim(text);
  if (s.rfind("max(", 0) == 0 && s.back() == ')') {
    const std::string inner = s.substr(4, s.size() - 5);
    const size_t comma = inner.find(',');
    if (comma == std::string::npos || inner.find(',', comma + 1) != std::string::npos) return bad();
    return std::max(parse_timing(inner.substr(0, comma), tck, path),
                    parse_timing(inner.substr(comma + 1), tck, path));
  }
  const size_t unit = s.find_last_of("0123456789.") + 1;
  if (unit == 0 || unit == std::string::npos) return bad();
  const std::string suffix = trim(s.substr(unit));
  if (suffix == "nCK" || suffix == "tCK") {
    size_t used = 0;
    double n = 0;
    try {
      n = std::stod(s.substr(0, unit), &used);
    } catch (const std::exception&) {
      return bad();
    }
    if (used != unit || n < 0 || n != std::floor(n)) return bad();
    return cycles(n);
  }
  const double seconds = config::parse_quantity(s, Quantity::Time, path);
  if (seconds < 0) return bad();
  // A controller programs ceil(t / tCK); the small slack absorbs decimal rounding
  // (13.75 ns / 0.625 ns is 22, not 22.000000001).
  return cycles(std::ceil(seconds / tck - 1e-6));
}

unsigned DramPart::refpb_banks() const {
  if (!per_bank_refresh()) return 1;
  const double n =
      static_cast<double>(org.banks()) * static_cast<double>(t.REFIpb) / static_cast<double>(t.REFI);
  unsigned k = 1;
  while (k * 2 <= n + 0.5 && k * 2 <= org.banks()) k *= 2;
  return k;
}

DramEnergy DramPart::energy() const {
  DramEnergy e;
  const double n = org.devices_per_rank();
  const double ras = t.RAS * tCK, rc = t.RC * tCK, burst = t.BL * tCK;
  for (const auto& r : rails) {
    const double k = r.voltage * n;
    e.act += k * (r.IDD0 - r.IDD3N) * ras;
    e.pre += k * (r.IDD0 - r.IDD2N) * (rc - ras);
    e.rd += k * (r.IDD4R - r.IDD3N) * burst;
    e.wr += k * (r.IDD4W - r.IDD3N) * burst;
    e.ref += k * (r.IDD5B - r.IDD3N) * t.RFC * tCK;
    if (r.IDD5PB > 0) e.refpb += k * (r.IDD5PB - r.IDD3N) * t.RFCpb * tCK;
    e.active_standby += k * r.IDD3N;
    e.precharge_standby += k * r.IDD2N;
    e.active_power_down += k * r.IDD3P;
    e.precharge_power_down += k * r.IDD2P;
    e.self_refresh += k * r.IDD6;
  }
  // Without a per-bank current, one per-bank refresh costs its share of an all-bank one.
  bool have_pb = false;
  for (const auto& r : rails) have_pb = have_pb || r.IDD5PB > 0;
  if (!have_pb) e.refpb = e.ref * refpb_banks() / org.banks();
  e.io_per_bit = io_energy_per_bit;
  return e;
}

namespace {
// A top-level text field, "" when absent; any other type is refused naming it (nlohmann's
// value() would throw its own type_error, which is not bad input).
std::string text_field(const json& j, const char* key, const std::string& origin) {
  if (!j.contains(key)) return "";
  if (!j[key].is_string()) config::fail_at(origin + "." + key, "expected a string");
  return j[key].get<std::string>();
}
}  // namespace

DramPart parse_dram_part(const json& j, const std::string& origin) {
  if (!j.is_object()) config::fail_at(origin, "a DRAM part file is a JSON object");
  if (text_field(j, "schema", origin) != kSchema) {
    config::fail_at(origin + ".schema", std::string("expected \"") + kSchema + "\"");
  }
  static const std::vector<std::string> kKeys = {"schema",       "description", "standard", "sources",
                                                 "organisation", "clock",       "timing",   "power"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      std::string msg = "unknown key '" + key + "'";
      const std::string s = config::suggest(key, kKeys);
      if (!s.empty()) msg += "; did you mean '" + s + "'?";
      config::fail_at(origin, msg);
    }
  }
  check_sources(j, origin);
  DramPart p;
  p.source = j;
  p.description = text_field(j, "description", origin);
  const ParamTable std_table = {{{"standard",
                                  Quantity::String,
                                  nullptr,
                                  "JEDEC standard",
                                  -INFINITY,
                                  INFINITY,
                                  {"DDR4", "DDR5", "LPDDR4X", "LPDDR5", "LPDDR5X"}}}};
  p.standard = Params(std_table, json{{"standard", j.value("standard", json())}}, origin).text("standard");

  const Params o(kOrganisation, member(j, "organisation", origin), origin + ".organisation");
  p.org.channel_width_bits = static_cast<unsigned>(o.integer("channel_width_bits"));
  p.org.device_width_bits = static_cast<unsigned>(o.integer("device_width_bits"));
  p.org.ranks = static_cast<unsigned>(o.integer("ranks"));
  p.org.bank_groups = static_cast<unsigned>(o.integer("bank_groups"));
  p.org.banks_per_group = static_cast<unsigned>(o.integer("banks_per_group"));
  p.org.rows = static_cast<uint64_t>(o.integer("rows"));
  p.org.columns = static_cast<uint64_t>(o.integer("columns"));
  p.org.burst_length = static_cast<unsigned>(o.integer("burst_length"));
  p.org.burst_interleave = o.flag("burst_interleave");
  if (p.org.burst_interleave && p.org.bank_groups < 2) {
    config::fail_at(o.path_of("burst_interleave"), "needs bank groups (a half's gap is filled from another group)");
  }
  if (p.org.channel_width_bits % p.org.device_width_bits != 0) {
    config::fail_at(o.path_of("channel_width_bits"), "must be a multiple of device_width_bits");
  }
  // A burst's bytes are the lowest address bits: a 72-bit ECC channel has 64 data bits.
  if (!power_of_two(p.org.channel_width_bits)) {
    config::fail_at(
        o.path_of("channel_width_bits"),
        "must be a power of two (a burst's bytes are address bits); an ECC channel gives its data "
        "bits, e.g. 64 of 72");
  }
  for (const char* key : {"ranks", "bank_groups", "banks_per_group", "rows", "columns", "burst_length"}) {
    if (!power_of_two(static_cast<uint64_t>(o.integer(key)))) {
      config::fail_at(o.path_of(key), "must be a power of two (addresses are bit fields)");
    }
  }
  if (p.org.columns % p.org.burst_length != 0) {
    config::fail_at(o.path_of("columns"), "must be a multiple of burst_length");
  }
  if (p.org.ranks * p.org.banks() > 64) {
    config::fail_at(o.path(), "at most 64 banks per channel (ranks x bank groups x banks per group)");
  }

  const Params c(kClock, member(j, "clock", origin), origin + ".clock");
  p.tCK = c.number("tCK");
  p.data_rate = c.number("data_rate");
  const double per_ck = p.data_rate * p.tCK;  // transfers per command clock
  const double bl = p.org.burst_length / per_ck;
  if (std::fabs(bl - std::round(bl)) > 1e-3 || std::round(bl) < 1) {
    config::fail_at(c.path(), "burst_length / (data_rate x tCK) = " + std::to_string(bl) +
                                  " is not a whole number of clock cycles");
  }
  p.t.BL = static_cast<int64_t>(std::round(bl));
  if (p.org.burst_interleave) {
    if (p.t.BL % 2 != 0) {
      config::fail_at(o.path_of("burst_interleave"), "needs a burst of an even number of clock cycles (" +
                                                         std::to_string(p.t.BL) + " nCK), two whole halves");
    }
    p.t.half = p.t.BL / 2;
  }

  const Params t(kTiming, member(j, "timing", origin), origin + ".timing");
  auto cyc = [&](const char* key) { return parse_timing(t.text(key), p.tCK, t.path_of(key)); };
  p.t.CL = cyc("CL");
  p.t.CWL = cyc("CWL");
  p.t.RCD = cyc("tRCD");
  p.t.RP = cyc("tRP");
  p.t.RAS = cyc("tRAS");
  p.t.RC = cyc("tRC");
  p.t.CCD_S = cyc("tCCD_S");
  p.t.CCD_L = cyc("tCCD_L");
  p.t.RRD_S = cyc("tRRD_S");
  p.t.RRD_L = cyc("tRRD_L");
  p.t.FAW = cyc("tFAW");
  p.t.WTR_S = cyc("tWTR_S");
  p.t.WTR_L = cyc("tWTR_L");
  p.t.RTP = cyc("tRTP");
  p.t.WR = cyc("tWR");
  p.t.RFC = cyc("tRFC");
  p.t.REFI = cyc("tREFI");
  p.t.RFCpb = cyc("tRFCpb");
  p.t.REFIpb = cyc("tREFIpb");
  p.t.RTRS = cyc("tRTRS");
  p.t.XP = cyc("tXP");
  p.t.CKE = cyc("tCKE");
  p.t.XS = cyc("tXS");
  p.t.CKESR = cyc("tCKESR");
  auto require = [&](bool ok, const char* key, const std::string& why) {
    if (!ok) config::fail_at(t.path_of(key), why);
  };
  for (const char* key : {"CL", "CWL", "tRCD", "tRP", "tRAS", "tRC", "tCCD_S", "tCCD_L", "tRFC", "tREFI"}) {
    require(cyc(key) > 0, key, "must be at least one clock cycle");
  }
  // Every timing but the refresh intervals is far shorter than tREFI in any JEDEC part (tens
  // of ns against microseconds); one that is not is a typo ("5 ms" for "5 ns"), and would
  // make the controller step through thousands of refreshes per command.
  for (const char* key :
       {"CL",   "CWL",    "tRCD",   "tRP",  "tRAS", "tRC",   "tCCD_S", "tCCD_L", "tRRD_S", "tRRD_L",
        "tFAW", "tWTR_S", "tWTR_L", "tRTP", "tWR",  "tRTRS", "tXP",    "tCKE",   "tXS",    "tCKESR"}) {
    require(cyc(key) < p.t.REFI, key, "must be below tREFI (" + std::to_string(p.t.REFI) + " nCK)");
  }
  require(p.t.RC >= p.t.RAS + p.t.RP, "tRC", "must be at least tRAS + tRP");
  require(p.t.CCD_L >= p.t.CCD_S, "tCCD_L", "must be at least tCCD_S");
  // An interleaved burst's successor from another group may start after its first half.
  const int64_t min_ccd = p.org.burst_interleave ? p.t.half : p.t.BL;
  require(p.t.CCD_S >= min_ccd, "tCCD_S",
          std::string("must be at least the ") + (p.org.burst_interleave ? "first half's" : "burst's") +
              " bus time (" + std::to_string(min_ccd) + " nCK)");
  require(!p.org.burst_interleave || p.t.CCD_L >= p.t.span(), "tCCD_L",
          "must be at least an interleaved burst's span (" + std::to_string(p.t.span()) +
              " nCK): bursts of one group do not interleave");
  require(p.t.RRD_L >= p.t.RRD_S, "tRRD_L", "must be at least tRRD_S");
  require(p.t.REFI > p.t.RFC, "tREFI", "must exceed tRFC");
  require((p.t.RFCpb > 0) == (p.t.REFIpb > 0), "tREFIpb",
          "tRFCpb and tREFIpb are given together or not at all");
  require(p.t.REFIpb == 0 || p.t.REFIpb > p.t.RFCpb, "tREFIpb", "must exceed tRFCpb");
  require((p.t.XP > 0) == (p.t.XS > 0), "tXS",
          "tXP and tXS are given together (power-down and self-refresh) or not at all");
  require(p.t.XS == 0 || p.t.XS > p.t.RFC, "tXS",
          "must exceed tRFC (self-refresh exit waits for a refresh to end)");

  const json& power = member(j, "power", origin);
  if (!power.is_object()) config::fail_at(origin + ".power", "expected an object");
  json rest = power;
  rest.erase("rails");
  const Params pw(kPower, rest, origin + ".power");
  p.io_energy_per_bit = pw.number("io_energy");
  const json& rails = member(power, "rails", origin + ".power");
  if (!rails.is_array() || rails.empty())
    config::fail_at(origin + ".power.rails", "expected a non-empty list of rails");
  for (size_t i = 0; i < rails.size(); ++i) {
    const Params r(kRail, rails[i], origin + ".power.rails." + std::to_string(i));
    DramRail rail{r.text("name"),    r.number("voltage"), r.number("IDD0"),
                  r.number("IDD2N"), r.number("IDD3N"),   r.number("IDD4R"),
                  r.number("IDD4W"), r.number("IDD5B"),   r.number("IDD5PB")};
    rail.IDD2P = r.number("IDD2P");
    rail.IDD3P = r.number("IDD3P");
    rail.IDD6 = r.number("IDD6");
    const double floor = std::max(rail.IDD2N, rail.IDD3N);
    if (rail.IDD0 < floor || rail.IDD4R < rail.IDD3N || rail.IDD4W < rail.IDD3N || rail.IDD5B < rail.IDD3N) {
      config::fail_at(r.path(), "IDD0, IDD4R, IDD4W and IDD5B must not be below the standby currents");
    }
    if (rail.IDD2P > rail.IDD2N || rail.IDD3P > rail.IDD3N || rail.IDD6 > rail.IDD2N) {
      config::fail_at(r.path(), "IDD2P, IDD3P and IDD6 must not exceed the standby currents they replace");
    }
    p.rails.push_back(rail);
  }
  if (p.low_power_states()) {
    double pd = 0, sr = 0;
    for (const auto& rail : p.rails) {
      pd += rail.IDD2P * rail.IDD3P;
      sr += rail.IDD6;
    }
    if (pd <= 0 || sr <= 0) {
      config::fail_at(origin + ".power.rails",
                      "tXP and tXS are given, so some rail must give IDD2P, IDD3P and IDD6 (power-down and "
                      "self-refresh currents)");
    }
  }
  return p;
}

std::vector<std::string> builtin_dram_parts() {
  std::vector<std::string> out;
  for (const auto& [path, text] : config::embedded_configs()) {
    if (path.rfind("dram/", 0) == 0 && path.size() > 10 && path.compare(path.size() - 5, 5, ".json") == 0) {
      out.push_back(path.substr(5, path.size() - 10));
    }
  }
  return out;
}

DramPart load_dram_part(const std::string& part, const std::string& path) {
  std::string name = part;
  if (name.rfind("builtin:dram/", 0) == 0) name = name.substr(13);
  const bool is_path = part.find('/') != std::string::npos || part.find(".json") != std::string::npos;
  if (part.rfind("builtin:", 0) == 0 || !is_path) {
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) name.resize(name.size() - 5);
    const auto& files = config::embedded_configs();
    const auto it = files.find("dram/" + name + ".json");
    if (it == files.end()) {
      const auto names = builtin_dram_parts();
      std::string msg = "unknown DRAM part '" + part + "' (built-in parts:";
      for (const auto& n : names) msg += " " + n;
      msg += "; or give a path to a part file)";
      const std::string s = config::suggest(name, names);
      if (!s.empty()) msg += "; did you mean '" + s + "'?";
      config::fail_at(path, msg);
    }
    DramPart p = parse_dram_part(config::parse_json_text(it->second, "builtin:dram/" + name + ".json"),
                                 "builtin:dram/" + name + ".json");
    p.name = name;
    return p;
  }
  if (!std::filesystem::exists(part)) config::fail_at(path, "DRAM part file '" + part + "' does not exist");
  DramPart p = parse_dram_part(config::parse_json_text(config::read_file(part), part), part);
  p.name = part;
  return p;
}

}  // namespace edgesim::memory
