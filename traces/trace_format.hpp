#pragma once
// Trace file format v1 (little endian):
//   magic "EDGESIMT" | u32 version | u32 header length | header JSON
//   step records:  'S' pos token n_ops n_events  {op}*  {event}*
//     op:     op_index flags(u8: bit0 needs_input) flops extra_dram_read extra_dram_write {set}* (one per
//     tensor of the op) set:    u8 encoding: 0 none | 1 all | 2 bitmap (ceil(chunks/8) bytes, LSB first)
//                        | 3 delta list (count, first id, then gaps >= 1)
//     event:  type value  (type 1: adapter switch, value = bitmask of the active adapter ids)
//   end record: 'E' n_steps | u64 FNV-1a of every byte before it (edgesim's offset basis,
//   sim/core/hash.hpp)
// Integers other than u8/u32/u64 are LEB128 varints. The header records the model, the
// policy and cache settings the trace was made under, and the chunk table (chunks and
// chunk bytes per tensor, tensors per op) the reader validates every set against.
// The writer picks, per set, whichever of bitmap and delta list is smaller.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/hash.hpp"
#include "traces/model_layout.hpp"
#include "traces/step.hpp"

namespace edgesim::traces {

constexpr uint32_t kTraceVersion = 1;
constexpr char kTraceMagic[8] = {'E', 'D', 'G', 'E', 'S', 'I', 'M', 'T'};

/// The chunk table part of a trace header, from a model layout.
nlohmann::json layout_table(const ModelLayout& layout);

/// Writes a trace to `path` atomically: to a temporary file, renamed on finish().
class TraceWriter {
 public:
  TraceWriter(const std::string& path, nlohmann::json header, const ModelLayout& layout);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  void write_step(const Step& step);
  void finish();
  uint64_t steps() const { return steps_; }

 private:
  void put(const void* data, size_t n);
  void put_u8(uint8_t v) { put(&v, 1); }
  void put_varint(uint64_t v);
  void put_set(const ChunkSet& set, uint32_t chunks);
  std::string path_, tmp_;
  std::ofstream out_;
  std::vector<uint32_t> tensor_chunks_;
  std::vector<std::vector<uint32_t>> op_tensors_;
  std::vector<uint8_t> buf_;
  uint64_t hash_ = kFnv1aBasis;
  uint64_t steps_ = 0;
  bool finished_ = false;
};

/// Reads a whole trace into memory and decodes it step by step. Every malformed or
/// truncated part raises InputError with the byte offset and what was expected there.
class TraceReader {
 public:
  explicit TraceReader(const std::string& path);

  const nlohmann::json& header() const { return header_; }
  /// Decodes the next step; false after the last one (the end record is then checked).
  bool next(Step& step);
  /// Decodes the whole file once (checking the end record and checksum), then rewinds.
  uint64_t validate();
  void rewind();
  uint64_t file_bytes() const { return data_.size(); }
  /// Events in the whole file (after validate()).
  uint64_t events() const { return validated_events_; }
  /// Chunk-set encodings seen so far: none, all, bitmap, delta.
  const uint64_t* encoding_counts() const { return encodings_; }

 private:
  [[noreturn]] void fail(size_t at, const std::string& what) const;
  uint8_t get_u8(const char* what);
  uint64_t get_varint(const char* what);
  void read_set(ChunkSet& set, uint32_t chunks);
  std::string path_;
  std::vector<uint8_t> data_;
  nlohmann::json header_;
  std::vector<uint32_t> tensor_chunks_;
  std::vector<std::vector<uint32_t>> op_tensors_;
  size_t body_start_ = 0, pos_ = 0;
  uint64_t steps_read_ = 0;
  uint64_t events_read_ = 0, validated_events_ = 0;
  uint64_t encodings_[4] = {0, 0, 0, 0};
  bool ended_ = false;
};

/// Compares a trace's chunk table with a model layout; throws InputError on mismatch.
void check_layout_matches(const nlohmann::json& header, const ModelLayout& layout, const std::string& path);

}  // namespace edgesim::traces
