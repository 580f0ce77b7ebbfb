#include "sim/timeline.hpp"

#include <algorithm>

#include "sim/core/errors.hpp"

namespace edgesim::sim {

using nlohmann::json;

namespace {

bool parse_step(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoull(text);
  return true;
}

constexpr double kMicro = 1e6;  // trace-event times are in microseconds

}  // namespace

TokenRange parse_token_range(const std::string& text, const std::string& where) {
  const size_t colon = text.find(':');
  TokenRange r;
  bool ok;
  if (colon == std::string::npos) {
    ok = parse_step(text, r.first);
    r.last = r.first + 1;
  } else {
    const std::string a = text.substr(0, colon), b = text.substr(colon + 1);
    r.first = 0;
    r.last = UINT64_MAX;
    ok = (a.empty() || parse_step(a, r.first)) && (b.empty() || parse_step(b, r.last)) && r.first < r.last;
  }
  if (!ok) {
    throw InputError(
        where + " '" + text +
        "': expected A:B (tokens A to B-1, counted from 0 at the first warm-up token), A:, :B or A");
  }
  return r;
}

void Timeline::load(uint64_t step, uint32_t op, double start, double flash_time, double dram_time,
                    uint64_t flash_bytes, uint64_t dram_read_bytes, uint64_t dram_write_bytes) {
  if (flash_time > 0) events_.push_back({start, flash_time, step, flash_bytes, 0, op, Lane::Flash});
  if (dram_time > 0) {
    // Serialised, the data staged from flash passes through DRAM after the flash read.
    const double at = concurrent_ ? start : start + flash_time;
    events_.push_back({at, dram_time, step, dram_read_bytes, dram_write_bytes, op, Lane::Dram});
  }
}

void Timeline::compute(uint64_t step, uint32_t op, double start, double duration, uint64_t flops) {
  events_.push_back({start, duration, step, flops, 0, op, Lane::Compute});
}

void Timeline::adapter_switch(uint64_t step, double start, double duration, uint64_t from, uint64_t to) {
  events_.push_back({start, duration, step, from, to, 0, Lane::Adapter});
}

void Timeline::add_tokens(const std::vector<StepRecord>& steps, size_t first_measured) {
  steps_ = steps.size();
  info_.clear();
  for (const StepRecord& r : steps) info_.push_back(r.info);
  for (uint64_t s = tokens_.first; s < std::min<uint64_t>(tokens_.last, steps.size()); ++s) {
    const double start = steps[s].start_time;
    Lane lane = Lane::Tokens;
    switch (steps[s].info.phase) {
      case traces::Phase::Prefill:
      case traces::Phase::Encode: lane = Lane::Prompt; break;
      case traces::Phase::Draft: lane = Lane::Draft; break;
      case traces::Phase::Verify: lane = Lane::Verify; break;
      case traces::Phase::Decode: break;
    }
    events_.push_back({start, steps[s].end_time - start, s, steps[s].ops, s < first_measured, 0, lane});
  }
}

json Timeline::to_json(const std::vector<RunModel>& models, const json& about) const {
  json ev = json::array();
  const int pid = 1;
  ev.push_back({{"name", "process_name"},
                {"ph", "M"},
                {"pid", pid},
                {"args", {{"name", about.value("title", "edgesim")}}}});
  const std::pair<Lane, const char*> lanes[] = {{Lane::Flash, "flash reads"},
                                                {Lane::Dram, "DRAM reads and writes"},
                                                {Lane::Compute, "compute"},
                                                {Lane::Tokens, "tokens"},
                                                {Lane::Adapter, "adapter switches"},
                                                {Lane::Prompt, "prefill and encoding"},
                                                {Lane::Draft, "draft"},
                                                {Lane::Verify, "verify"}};
  for (const auto& [lane, name] : lanes) {
    // The optional lanes only where they have events.
    const Lane l = lane;
    const bool used =
        std::any_of(events_.begin(), events_.end(), [l](const Event& e) { return e.lane == l; });
    if (lane >= Lane::Adapter && !used) continue;
    const int tid = static_cast<int>(lane);
    ev.push_back(
        {{"name", "thread_name"}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", {{"name", name}}}});
    ev.push_back({{"name", "thread_sort_index"},
                  {"ph", "M"},
                  {"pid", pid},
                  {"tid", tid},
                  {"args", {{"sort_index", tid}}}});
  }
  // A complete ("X") event of `e` on its lane.
  auto complete = [&](const Event& e, const std::string& name, const char* cat, json args) {
    ev.push_back({{"name", name},
                  {"cat", cat},
                  {"ph", "X"},
                  {"ts", e.start * kMicro},
                  {"dur", e.duration * kMicro},
                  {"pid", pid},
                  {"tid", static_cast<int>(e.lane)},
                  {"args", std::move(args)}});
  };
  for (const Event& e : events_) {
    if (e.lane == Lane::Tokens || e.lane >= Lane::Prompt) {
      const bool warmup = e.b != 0;
      const traces::StepInfo& i = info_[e.step];
      const std::string what = e.lane == Lane::Tokens ? "token" : std::string(traces::phase_name(i.phase));
      json args = {{"token", e.step}, {"warmup", warmup}, {"ops", e.a}};
      if (e.lane != Lane::Tokens) {
        args["model"] = models[i.model].layout->name();
        args["position"] = i.position;
        args["tokens"] = i.tokens;
        args["emitted"] = i.emitted;
      }
      complete(e,
               what + " " + std::to_string(e.step) + (warmup && e.lane != Lane::Prompt ? " (warm-up)" : ""),
               e.lane == Lane::Tokens ? "token" : traces::phase_name(i.phase), args);
      continue;
    }
    if (e.lane == Lane::Adapter) {
      complete(e, "adapter switch", "adapter", {{"token", e.step}, {"from", e.a}, {"to", e.b}});
      continue;
    }
    const traces::StepInfo& i = info_.at(e.step);
    const traces::OpSpec& op = models.at(i.model).table(i.phase).at(e.op);
    json args = {{"token", e.step}, {"layer", op.layer}, {"op", op.name}};
    const char* cat = "compute";
    switch (e.lane) {
      case Lane::Flash:
        cat = "flash";
        args["bytes"] = e.a;
        break;
      case Lane::Dram:
        cat = "dram";
        args["read_bytes"] = e.a;
        args["write_bytes"] = e.b;
        break;
      default: args["flops"] = e.a; break;
    }
    complete(e, op.name, cat, args);
  }
  json other = about;
  other["tokens"] = {{"first", tokens_.first}, {"last", std::min<uint64_t>(tokens_.last, steps_)}};
  other["flash_dram_concurrent"] = concurrent_;
  return {{"traceEvents", ev}, {"displayTimeUnit", "ns"}, {"otherData", other}};
}

}  // namespace edgesim::sim
