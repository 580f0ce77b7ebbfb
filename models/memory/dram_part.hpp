#pragma once
// A DRAM part as its datasheet describes it: organisation, clock, timing and IDD
// currents, read from a part file (configs/dram/<part>.json, schema
// "edgesim.dram_part/1"). Timings are converted to whole command-clock cycles the way a
// controller programs them: ceil(t / tCK), and "max(N nCK, T ns)" takes the larger.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgesim::memory {

struct DramOrganisation {
  unsigned channel_width_bits = 0, device_width_bits = 0;
  unsigned ranks = 1, bank_groups = 1, banks_per_group = 1;
  uint64_t rows = 0, columns = 0;
  unsigned burst_length = 0;
  // LPDDR5/5X bank-group mode with BL32: a burst goes out as two halves with a gap of one
  // half between them, which a burst of another bank group may fill (docs/dram.md, Parts).
  bool burst_interleave = false;
  unsigned banks() const { return bank_groups * banks_per_group; }
  unsigned devices_per_rank() const { return channel_width_bits / device_width_bits; }
  /// Bytes one burst moves on the channel.
  uint64_t burst_bytes() const { return uint64_t{channel_width_bits} / 8 * burst_length; }
  /// Bytes of one row across the rank (the page a row activation opens).
  uint64_t row_bytes() const { return columns * channel_width_bits / 8; }
  uint64_t rank_bytes() const { return row_bytes() * rows * banks(); }
};

/// Timing in command-clock (CK) cycles.
struct DramTiming {
  int64_t CL = 0, CWL = 0;
  int64_t BL = 0;  // cycles one burst occupies the data bus: burst_length / (transfers per CK)
  // An interleaved burst (DramOrganisation::burst_interleave): each half's cycles, BL / 2;
  // 0 for a burst sent in one piece.
  int64_t half = 0;
  int64_t RCD = 0, RP = 0, RAS = 0, RC = 0;
  int64_t CCD_S = 0, CCD_L = 0, RRD_S = 0, RRD_L = 0, FAW = 0;
  int64_t WTR_S = 0, WTR_L = 0, RTP = 0, WR = 0;
  int64_t RFC = 0, REFI = 0;
  int64_t RFCpb = 0, REFIpb = 0;  // 0 when the part has no per-bank refresh
  int64_t RTRS = 0;               // rank-to-rank switch on the data bus
  // Low-power states (0 when the part file gives none): power-down exit and minimum
  // residency (tXP, tCKE), self-refresh exit and minimum residency (tXS / LPDDR's tXSR,
  // tCKESR / tSR).
  int64_t XP = 0, CKE = 0, XS = 0, CKESR = 0;
  /// Cycles from a burst's first data to its last: BL, and for an interleaved burst its
  /// two halves and the gap between them (3 x half).
  int64_t span() const { return BL + half; }
  /// Read-to-write turnaround on one rank: RL + the burst's span - WL + 2 (two cycles of
  /// bus turnaround, the controller convention of JESD79-4's tRTW note).
  int64_t RTW() const { return CL + span() + 2 - CWL; }
};

struct DramRail {
  std::string name;
  double voltage = 0;                                                                  // V
  double IDD0 = 0, IDD2N = 0, IDD3N = 0, IDD4R = 0, IDD4W = 0, IDD5B = 0, IDD5PB = 0;  // A per device
  double IDD2P = 0, IDD3P = 0, IDD6 = 0;  // precharge / active power-down, self-refresh
};

/// Energy per command and background power of one rank, from the IDD currents
/// (Micron TN-41-01 / DRAMPower accounting; docs/dram.md).
struct DramEnergy {
  double act = 0, pre = 0, rd = 0, wr = 0, ref = 0, refpb = 0;  // J per command (refpb: per REFpb)
  double active_standby = 0, precharge_standby = 0;             // W per rank
  double active_power_down = 0, precharge_power_down = 0;       // W per rank (IDD3P, IDD2P)
  double self_refresh = 0;                                      // W per rank (IDD6)
  double io_per_bit = 0;                                        // J per bit on the bus
};

struct DramPart {
  std::string name, standard, description;
  DramOrganisation org;
  double tCK = 0;        // seconds
  double data_rate = 0;  // transfers per second per pin
  DramTiming t;
  std::vector<DramRail> rails;
  double io_energy_per_bit = 0;
  nlohmann::json source;  // the part file as read, for results

  bool per_bank_refresh() const { return t.RFCpb > 0 && t.REFIpb > 0; }
  /// The part file gives power-down and self-refresh timings and currents.
  bool low_power_states() const { return t.XP > 0 && t.XS > 0; }
  /// Banks one per-bank refresh command covers: banks x tREFIpb / tREFI, a power of two
  /// (LPDDR4: one bank; LPDDR5: a bank pair; DDR5 REFsb: the same bank in every group).
  unsigned refpb_banks() const;
  /// Peak data bandwidth of one channel, bytes per second.
  double channel_peak_bandwidth() const { return org.channel_width_bits / 8.0 * data_rate; }
  DramEnergy energy() const;
};

/// Loads a part: a built-in name ("lpddr5x-8533", also "builtin:dram/lpddr5x-8533.json")
/// or a path to a part file. Throws InputError naming the file and key on bad input, or
/// `path` (the config key that named the part) when there is no such part.
DramPart load_dram_part(const std::string& part, const std::string& path = "part");
/// Parses a part from JSON already read; `origin` names it in errors.
DramPart parse_dram_part(const nlohmann::json& j, const std::string& origin);
/// Names of the built-in parts.
std::vector<std::string> builtin_dram_parts();

/// Parses one timing value ("22 nCK", "13.75 ns", "max(4 nCK, 7.5 ns)") into cycles of
/// `tck` seconds. Throws InputError naming `path`.
int64_t parse_timing(const std::string& text, double tck, const std::string& path);

}  // namespace edgesim::memory
