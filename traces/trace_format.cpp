#include "traces/trace_format.hpp"

#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/hash.hpp"
#include "sim/core/input_file.hpp"
#include "sim/core/json_count.hpp"
#include "traces/adapter.hpp"

namespace edgesim::traces {

using nlohmann::json;

namespace {

constexpr uint8_t kStepTag = 'S', kEndTag = 'E';
enum : uint8_t { kEncNone = 0, kEncAll = 1, kEncBitmap = 2, kEncDelta = 3 };

// The header's fields that the readers of a trace use (`trace info`, `replay`), each of
// the type the writer gives it; parents before their members. A damaged header is refused
// when the trace is opened, not met as a JSON type error (exit 1) where a field is read.
enum class Want { Object, Text, Count };
struct HeaderField {
  const char* key;
  Want want;
};
constexpr HeaderField kHeaderFields[] = {{"version", Want::Count},
                                         {"edgesim_version", Want::Text},
                                         {"model", Want::Object},
                                         {"model.name", Want::Text},
                                         {"policy", Want::Object},
                                         {"policy.name", Want::Text},
                                         {"weight_store", Want::Object},
                                         {"weight_store.cache_policy", Want::Text},
                                         {"config", Want::Object},
                                         {"config.run", Want::Object},
                                         {"config.run.warmup_tokens", Want::Count},
                                         {"config.policy", Want::Object},
                                         {"config.adapter", Want::Object},
                                         {"config.adapter.method", Want::Text}};

void check_header_fields(const json& header) {
  if (!header.is_object()) throw std::runtime_error("the header is " + std::string(header.type_name()));
  for (const HeaderField& f : kHeaderFields) {
    const json* v = config::find_dotted(header, f.key);
    if (!v) continue;
    bool ok = false;
    const char* wanted = "";
    switch (f.want) {
      case Want::Object: ok = v->is_object(), wanted = "an object"; break;
      case Want::Text: ok = v->is_string(), wanted = "a string"; break;
      case Want::Count: ok = json_is_count(*v), wanted = "a count"; break;
    }
    if (!ok) {
      throw std::runtime_error("'" + std::string(f.key) + "' is " +
                               (v->is_number() ? v->dump() : v->type_name()) + ", not " + wanted);
    }
  }
}

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void table_from_header(const json& header, std::vector<uint32_t>& tensor_chunks,
                       std::vector<std::vector<uint32_t>>& op_tensors) {
  const json& t = header.at("layout").at("tensors");
  for (const auto& e : t) tensor_chunks.push_back(json_count<uint32_t>(e.at("chunks"), "a tensor's chunks"));
  for (const auto& o : header.at("layout").at("ops")) {
    std::vector<uint32_t> ts;
    for (const auto& v : o.at("tensors")) {
      const uint32_t ti = json_count<uint32_t>(v, "an op's tensor");
      if (ti >= tensor_chunks.size()) throw std::out_of_range("op names tensor " + std::to_string(ti));
      ts.push_back(ti);
    }
    op_tensors.push_back(std::move(ts));
  }
}

}  // namespace

json layout_table(const ModelLayout& layout) {
  json tensors = json::array(), ops = json::array();
  for (const auto& t : layout.tensors()) {
    tensors.push_back({{"name", t.name},
                       {"chunks", t.chunks},
                       {"chunk_bytes", t.chunk_bytes},
                       {"flash_offset", t.flash_offset}});
  }
  for (const auto& o : layout.ops()) ops.push_back({{"name", o.name}, {"tensors", o.tensors}});
  return {{"tensors", tensors}, {"ops", ops}};
}

void check_layout_matches(const json& header, const ModelLayout& layout, const std::string& path) {
  const json want = layout_table(layout);
  if (header.at("layout") != want) {
    throw InputError("trace " + path + ": its chunk table does not match the model in the config ('" +
                     layout.name() + "'); replay it with the model it was recorded with");
  }
}

// ---------------------------------------------------------------- writer

TraceWriter::TraceWriter(const std::string& path, json header, const ModelLayout& layout)
    : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid())) {
  header["format"] = "edgesim-trace";
  header["version"] = kTraceVersion;
  header["layout"] = layout_table(layout);
  table_from_header(header, tensor_chunks_, op_tensors_);
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw InputError("cannot write trace '" + tmp_ + "': " + std::strerror(errno));
  const std::string text = header.dump();
  put(kTraceMagic, sizeof kTraceMagic);
  const uint32_t version = kTraceVersion, len = static_cast<uint32_t>(text.size());
  put(&version, 4);
  put(&len, 4);
  put(text.data(), text.size());
}

TraceWriter::~TraceWriter() {
  if (!finished_) {
    out_.close();
    std::remove(tmp_.c_str());
  }
}

void TraceWriter::put(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  hash_ = fnv1a(hash_, p, n);
  buf_.insert(buf_.end(), p, p + n);
  if (buf_.size() >= (1u << 20)) {
    out_.write(reinterpret_cast<const char*>(buf_.data()), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }
}

void TraceWriter::put_varint(uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<uint8_t>(v);
  put(b, n);
}

void TraceWriter::put_set(const ChunkSet& set, uint32_t chunks) {
  if (set.kind != ChunkSet::Kind::List) {
    put_u8(set.kind == ChunkSet::Kind::All ? kEncAll : kEncNone);
    return;
  }
  size_t delta = varint_size(set.ids.size());
  for (size_t i = 0; i < set.ids.size(); ++i)
    delta += varint_size(i ? set.ids[i] - set.ids[i - 1] : set.ids[0]);
  const size_t bitmap = (chunks + 7) / 8;
  if (bitmap < delta) {
    std::vector<uint8_t> bits(bitmap, 0);
    for (uint32_t id : set.ids) bits[id >> 3] |= static_cast<uint8_t>(1u << (id & 7));
    put_u8(kEncBitmap);
    put(bits.data(), bits.size());
  } else {
    put_u8(kEncDelta);
    put_varint(set.ids.size());
    for (size_t i = 0; i < set.ids.size(); ++i) put_varint(i ? set.ids[i] - set.ids[i - 1] : set.ids[0]);
  }
}

void TraceWriter::write_step(const Step& step) {
  put_u8(kStepTag);
  put_varint(step.info.position);
  put_varint(step.info.token);
  put_varint(step.ops.size());
  put_varint(step.events.size());
  for (const auto& op : step.ops) {
    if (op.op >= op_tensors_.size() || op.sets.size() != op_tensors_[op.op].size()) {
      throw SimError("internal: trace writer got an op that does not match the chunk table");
    }
    put_varint(op.op);
    put_u8(op.needs_input ? 1 : 0);
    put_varint(op.flops);
    put_varint(op.extra_dram_read_bytes);
    put_varint(op.extra_dram_write_bytes);
    for (size_t i = 0; i < op.sets.size(); ++i) put_set(op.sets[i], tensor_chunks_[op_tensors_[op.op][i]]);
  }
  for (const auto& ev : step.events) {
    put_varint(ev.type);
    put_varint(ev.value);
  }
  ++steps_;
}

void TraceWriter::finish() {
  put_u8(kEndTag);
  put_varint(steps_);
  const uint64_t h = hash_;
  put(&h, 8);
  out_.write(reinterpret_cast<const char*>(buf_.data()), static_cast<std::streamsize>(buf_.size()));
  buf_.clear();
  out_.flush();
  out_.close();
  if (!out_) throw InputError("cannot write trace '" + tmp_ + "'");
  std::filesystem::rename(tmp_, path_);
  finished_ = true;
}

// ---------------------------------------------------------------- reader

TraceReader::TraceReader(const std::string& path) : path_(path) {
  std::ifstream in = open_input_file(path, "trace");
  data_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (data_.size() < 16) fail(data_.size(), "a 16-byte preamble (magic, version, header length)");
  if (std::memcmp(data_.data(), kTraceMagic, 8) != 0) {
    fail(0, "the magic \"EDGESIMT\" (this is not an edgesim trace)");
  }
  uint32_t version = 0, len = 0;
  std::memcpy(&version, data_.data() + 8, 4);
  std::memcpy(&len, data_.data() + 12, 4);
  if (version != kTraceVersion) {
    fail(8, "format version " + std::to_string(kTraceVersion) + ", found version " + std::to_string(version));
  }
  if (16 + uint64_t(len) > data_.size()) fail(data_.size(), "a header of " + std::to_string(len) + " bytes");
  try {
    header_ = json::parse(data_.begin() + 16, data_.begin() + 16 + len);
    check_header_fields(header_);
    table_from_header(header_, tensor_chunks_, op_tensors_);
  } catch (const std::exception& e) {
    fail(16, std::string("a valid JSON header with a chunk table (") + e.what() + ")");
  }
  body_start_ = pos_ = 16 + len;
}

void TraceReader::fail(size_t at, const std::string& what) const {
  std::string msg = "trace " + path_ + ": at byte offset " + std::to_string(at) + ": expected " + what;
  if (at >= data_.size()) msg += " (the file ends at byte " + std::to_string(data_.size()) + ": truncated)";
  throw InputError(msg);
}

uint8_t TraceReader::get_u8(const char* what) {
  if (pos_ >= data_.size()) fail(pos_, what);
  return data_[pos_++];
}

uint64_t TraceReader::get_varint(const char* what) {
  const size_t start = pos_;
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size())
      fail(data_.size(), std::string(what) + " (a varint starting at byte " + std::to_string(start) + ")");
    const uint8_t b = data_[pos_++];
    v |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  fail(start, std::string(what) + " (a varint of at most 10 bytes)");
}

void TraceReader::read_set(ChunkSet& set, uint32_t chunks) {
  const size_t at = pos_;
  const uint8_t enc = get_u8("a chunk-set encoding byte");
  if (enc > kEncDelta) fail(at, "a chunk-set encoding 0..3, found " + std::to_string(enc));
  ++encodings_[enc];
  switch (enc) {
    case kEncNone: set.set_none(); return;
    case kEncAll: set.set_all(); return;
    case kEncBitmap: {
      const size_t n = (chunks + 7) / 8;
      if (pos_ + n > data_.size()) fail(data_.size(), "a bitmap of " + std::to_string(n) + " bytes");
      set.set_list();
      for (size_t i = 0; i < n; ++i) {
        uint8_t b = data_[pos_ + i];
        while (b) {
          const unsigned bit = static_cast<unsigned>(__builtin_ctz(b));
          const uint64_t id = i * 8 + bit;
          if (id >= chunks) fail(pos_ + i, "no bits past chunk " + std::to_string(chunks - 1));
          set.ids.push_back(static_cast<uint32_t>(id));
          b &= static_cast<uint8_t>(b - 1);
        }
      }
      pos_ += n;
      return;
    }
    default: {
      const size_t count_at = pos_;
      const uint64_t count = get_varint("a chunk count");
      if (count > chunks)
        fail(at, "at most " + std::to_string(chunks) + " chunks, found " + std::to_string(count));
      // Each id takes at least a byte: a count the rest of the file cannot hold is refused
      // before anything is allocated for it.
      if (count > data_.size() - pos_)
        fail(count_at, "a chunk count the rest of the file can hold (" + std::to_string(data_.size() - pos_) +
                           " bytes), found " + std::to_string(count));
      set.set_list();
      set.ids.reserve(count);
      uint64_t id = 0;
      for (uint64_t i = 0; i < count; ++i) {
        const size_t id_at = pos_;
        const uint64_t d = get_varint("a chunk id delta");
        if (i > 0 && d == 0) fail(id_at, "a chunk id delta >= 1 (ids are sorted and unique)");
        id = i ? id + d : d;
        if (id >= chunks) {
          fail(id_at, "a chunk id below " + std::to_string(chunks) + " (the tensor's chunk count), found " +
                          std::to_string(id) + ": chunk id out of range");
        }
        set.ids.push_back(static_cast<uint32_t>(id));
      }
    }
  }
}

bool TraceReader::next(Step& step) {
  if (ended_) return false;
  const size_t at = pos_;
  const uint8_t tag = get_u8("a step record ('S') or the end record ('E')");
  if (tag == kEndTag) {
    const size_t count_at = pos_;
    const uint64_t n = get_varint("the step count of the end record");
    if (n != steps_read_) {
      fail(count_at,
           "a step count of " + std::to_string(steps_read_) + " (steps read), found " + std::to_string(n));
    }
    if (pos_ + 8 > data_.size()) fail(data_.size(), "an 8-byte checksum");
    uint64_t stored = 0;
    std::memcpy(&stored, data_.data() + pos_, 8);
    if (stored != fnv1a(kFnv1aBasis, data_.data(), pos_)) {
      fail(pos_, "a checksum matching the file's contents (the file is corrupt)");
    }
    pos_ += 8;
    if (pos_ != data_.size()) fail(pos_, "the end of the file after the end record");
    ended_ = true;
    return false;
  }
  if (tag != kStepTag)
    fail(at, "a step record ('S') or the end record ('E'), found byte " + std::to_string(tag));
  step.info.position = get_varint("a step position");
  step.info.token = static_cast<uint32_t>(get_varint("a token id"));
  const size_t nops_at = pos_;
  const uint64_t n_ops = get_varint("an op count");
  const uint64_t n_events = get_varint("an event count");
  // An op record takes at least 5 bytes (index, flags, three varints) and an event 2: counts
  // the rest of the file cannot hold are refused before the step is sized for them.
  const uint64_t left = data_.size() - pos_;
  if (n_ops > left / 5 || n_events > left / 2 || 5 * n_ops + 2 * n_events > left) {
    fail(nops_at, "op and event counts that fit in the rest of the file (" + std::to_string(left) +
                      " bytes: truncated, or corrupt counts)");
  }
  step.ops.resize(n_ops);
  for (auto& op : step.ops) {
    const size_t op_at = pos_;
    const uint64_t idx = get_varint("an op index");
    if (idx >= op_tensors_.size()) {
      fail(op_at,
           "an op index below " + std::to_string(op_tensors_.size()) + ", found " + std::to_string(idx));
    }
    op.op = static_cast<uint32_t>(idx);
    op.needs_input = (get_u8("op flags") & 1) != 0;
    op.flops = get_varint("an op's FLOPs");
    op.extra_dram_read_bytes = get_varint("an op's extra DRAM read bytes");
    op.extra_dram_write_bytes = get_varint("an op's extra DRAM write bytes");
    const auto& ts = op_tensors_[op.op];
    op.sets.resize(ts.size());
    for (size_t i = 0; i < ts.size(); ++i) read_set(op.sets[i], tensor_chunks_[ts[i]]);
  }
  step.events.resize(n_events);
  for (auto& ev : step.events) {
    const size_t ev_at = pos_;
    const uint64_t type = get_varint("an event type");
    if (type != kEventAdapterSet) {
      fail(ev_at, "an event type " + std::to_string(kEventAdapterSet) + " (adapter switch), found " +
                      std::to_string(type));
    }
    ev.type = static_cast<uint32_t>(type);
    ev.value = get_varint("an event value");
    ++events_read_;
  }
  ++steps_read_;
  return true;
}

void TraceReader::rewind() {
  pos_ = body_start_;
  steps_read_ = 0;
  events_read_ = 0;
  ended_ = false;
  std::fill(std::begin(encodings_), std::end(encodings_), 0);
}

uint64_t TraceReader::validate() {
  rewind();
  Step s;
  while (next(s)) {
  }
  const uint64_t n = steps_read_;
  validated_events_ = events_read_;
  rewind();
  return n;
}

}  // namespace edgesim::traces
