#include "traces/adapter.hpp"

#include <algorithm>
#include <cmath>

#include "sim/core/errors.hpp"
#include "sim/core/pattern.hpp"
#include "sim/core/registry.hpp"

namespace edgesim::traces {
namespace {

using config::Quantity;

const config::ParamTable kParams = {{
    {"method",
     Quantity::String,
     "none",
     "none; lora_fused (B A added into W: nothing per token, a switch rewrites W); lora_unfused (A and B "
     "read and computed beside W every token); shira (a sparse share of W overwritten in place)",
     -INFINITY,
     INFINITY,
     {"none", "lora_fused", "lora_unfused", "shira"}},
    {"targets", Quantity::StringList, nlohmann::json::array({"attn", "mlp"}),
     "Linear tensor classes the adapters change (patterns as weight_store.pinned)"},
    {"rank", Quantity::Integer, 16, "LoRA rank r: A is r x cols, B is rows x r", 1, 65536},
    {"dtype", Quantity::String, "fp16", "Format of the adapters' values (LoRA A and B, SHiRA values)",
     -INFINITY, INFINITY, dtype_names()},
    {"sparsity", Quantity::Real, 0.01, "SHiRA: share of each target tensor's weights an adapter changes",
     1e-9, 1},
    {"index_bits", Quantity::Integer, 32, "SHiRA: bits of the stored index of each changed weight", 1, 64},
    {"scatter_unit", Quantity::Bytes, "64 B",
     "SHiRA: DRAM unit a scattered weight costs, read and written back (a cache line; assumption)", 1,
     1 << 20},
    {"kernel_overhead", Quantity::Time, "10 us",
     "Unfused LoRA: cost of each extra kernel (x A, then (x A) B added to the output), per target tensor, "
     "adapter and token",
     0, 1},
    {"adapters", Quantity::Integer, 2, "Adapters in the library, ids 0 to adapters - 1", 1, 64},
    {"concurrent", Quantity::Integer, 1,
     "Adapters active at once (2 for lora_unfused, or shira with disjoint masks)", 1, 2},
    {"switch_every", Quantity::Integer, 0,
     "Switch every N steps to the next adapters (ids rotate); 0: no periodic switch", 0, 1e12},
    {"schedule", Quantity::StringList, nlohmann::json::array(),
     "Switches as \"STEP:ID[+ID]\" (e.g. [\"0:0\", \"4:1\", \"8:0+1\"]), instead of switch_every; the "
     "first adapters (step 0) are loaded at step 0, and that load is charged"},
}};

const SectionRegistration kSection(
    "adapter", "Adapters (LoRA fused or unfused, SHiRA) and the schedule that switches them", "adapter",
    kParams);

uint64_t bit_count(uint64_t m) {
  return static_cast<uint64_t>(__builtin_popcountll(m));
}

}  // namespace

const config::ParamTable& Adapter::param_table() {
  return kParams;
}

uint64_t SwitchCost::flash_read_bytes() const {
  uint64_t b = 0;
  for (uint64_t r : flash_reads) b += r;
  return b;
}

Adapter::Adapter(const config::Params& p, const ModelLayout& layout) : layout_(layout) {
  const std::string m = p.text("method");
  method_ = m == "lora_fused"     ? AdapterMethod::lora_fused
            : m == "lora_unfused" ? AdapterMethod::lora_unfused
            : m == "shira"        ? AdapterMethod::shira
                                  : AdapterMethod::none;
  rank_ = static_cast<uint64_t>(p.integer("rank"));
  dtype_ = dtype_from_name(p.text("dtype"));
  sparsity_ = p.number("sparsity");
  index_bits_ = static_cast<uint64_t>(p.integer("index_bits"));
  scatter_unit_ = static_cast<uint64_t>(p.number("scatter_unit"));
  kernel_overhead_ = p.number("kernel_overhead");
  adapters_ = static_cast<uint32_t>(p.integer("adapters"));
  concurrent_ = static_cast<uint32_t>(p.integer("concurrent"));
  every_ = static_cast<uint64_t>(p.integer("switch_every"));
  if (!enabled()) return;

  if (concurrent_ > 1 && method_ == AdapterMethod::lora_fused) {
    config::fail_at(p.path_of("concurrent"),
                    "a fused LoRA holds one adapter in W; use lora_unfused or shira for two at once");
  }
  if (concurrent_ > adapters_) {
    config::fail_at(p.path_of("concurrent"), std::to_string(concurrent_) +
                                                 " adapters at once, but the library has " +
                                                 std::to_string(adapters_) + " (adapter.adapters)");
  }
  const auto patterns = p.list("targets");
  if (patterns.empty()) config::fail_at(p.path_of("targets"), "no target tensor classes");
  for (size_t i = 0; i < patterns.size(); ++i) {
    bool any = false;
    for (uint32_t ti = 0; ti < layout.tensors().size(); ++ti) {
      const Tensor& t = layout.tensors()[ti];
      if (t.kind != TensorKind::Linear || !pattern_matches(patterns[i], t.klass)) continue;
      any = true;
      if (std::find(targets_.begin(), targets_.end(), ti) == targets_.end()) targets_.push_back(ti);
    }
    if (!any) {
      config::fail_at(p.path_of("targets") + "[" + std::to_string(i) + "]",
                      "'" + patterns[i] + "' matches no linear tensor class");
    }
  }
  std::sort(targets_.begin(), targets_.end());

  // The schedule: explicit, or periodic. The first entry is the set loaded at step 0.
  const auto list = p.list("schedule");
  if (!list.empty() && every_ > 0) {
    config::fail_at(p.path_of("schedule"), "give schedule or switch_every, not both");
  }
  uint64_t first = 0;
  for (uint32_t i = 0; i < concurrent_; ++i) first |= uint64_t(1) << i;
  schedule_.push_back({0, first});
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = p.path_of("schedule") + "[" + std::to_string(i) + "]";
    const std::string& e = list[i];
    const auto colon = e.find(':');
    auto bad = [&](const std::string& why) { config::fail_at(path, "'" + e + "': " + why); };
    if (colon == std::string::npos || colon == 0) bad("expected STEP:ID or STEP:ID+ID");
    uint64_t step = 0, mask = 0;
    try {
      size_t used = 0;
      step = std::stoull(e.substr(0, colon), &used);
      if (used != colon) bad("the step is not a number");
      std::string ids = e.substr(colon + 1);
      size_t start = 0;
      while (start <= ids.size()) {
        const size_t plus = ids.find('+', start);
        const std::string id_text =
            ids.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
        const unsigned long id = std::stoul(id_text, &used);
        if (used != id_text.size()) bad("'" + id_text + "' is not an adapter id");
        if (id >= adapters_) {
          bad("adapter id " + std::to_string(id) + " is not below adapter.adapters (" +
              std::to_string(adapters_) + ")");
        }
        mask |= uint64_t(1) << id;
        if (plus == std::string::npos) break;
        start = plus + 1;
      }
    } catch (const std::logic_error&) {
      bad("expected STEP:ID or STEP:ID+ID with decimal numbers");
    }
    if (bit_count(mask) > concurrent_) {
      bad(std::to_string(bit_count(mask)) + " adapters at once, more than adapter.concurrent (" +
          std::to_string(concurrent_) + ")");
    }
    if (i == 0 && step == 0) {
      schedule_[0].second = mask;
    } else {
      if (step <= schedule_.back().first) bad("steps must increase along the schedule");
      schedule_.push_back({step, mask});
    }
  }
}

uint64_t Adapter::active_at(uint64_t step) const {
  if (!enabled()) return 0;
  if (every_ > 0) {
    const uint64_t k = (step / every_) % adapters_;
    uint64_t mask = 0;
    for (uint32_t i = 0; i < concurrent_; ++i) mask |= uint64_t(1) << ((k + i) % adapters_);
    return mask;
  }
  uint64_t mask = 0;
  for (const auto& [s, m] : schedule_) {
    if (s > step) break;
    mask = m;
  }
  return mask;
}

void Adapter::events_at(uint64_t step, std::vector<Event>& out) const {
  if (!enabled()) return;
  const uint64_t now = active_at(step);
  const uint64_t before = step == 0 ? 0 : active_at(step - 1);
  if (now != before) out.push_back({kEventAdapterSet, now});
}

uint64_t Adapter::lora_bytes(const Tensor& t) const {
  return dtype_bytes(dtype_, rank_ * (t.rows + t.cols));
}

uint64_t Adapter::shira_nonzeros(const Tensor& t) const {
  return static_cast<uint64_t>(std::llround(sparsity_ * static_cast<double>(t.rows * t.cols)));
}

OpAdapterCost Adapter::op_cost(const OpSpec& op, uint64_t mask) const {
  OpAdapterCost c;
  if (method_ != AdapterMethod::lora_unfused || mask == 0) return c;
  const uint64_t n = bit_count(mask);
  for (uint32_t ti : op.tensors) {
    if (!std::binary_search(targets_.begin(), targets_.end(), ti)) continue;
    const Tensor& t = layout_.tensors()[ti];
    // y += (x A^T) B^T: a multiply-add per value of A and of B, both read from DRAM.
    c.dram_read_bytes += n * lora_bytes(t);
    c.flops += n * 2 * rank_ * (t.rows + t.cols);
    c.kernels += static_cast<uint32_t>(2 * n);
  }
  return c;
}

double Adapter::touched_units(uint64_t region, uint64_t unit, uint64_t n) {
  if (region == 0 || n == 0) return 0;
  const double units = std::ceil(static_cast<double>(region) / static_cast<double>(unit));
  // N (1 - (1 - 1/N)^n), computed as -N expm1(n log1p(-1/N)) to stay exact for large N.
  return units == 1 ? 1.0 : -units * std::expm1(static_cast<double>(n) * std::log1p(-1.0 / units));
}

SwitchCost Adapter::switch_cost(uint64_t from, uint64_t to, const std::function<TensorHome(uint32_t)>& home,
                                uint64_t flash_page) const {
  SwitchCost c;
  if (!enabled() || from == to) return c;
  const uint64_t removed = bit_count(from & ~to), added = bit_count(to & ~from);
  switch (method_) {
    case AdapterMethod::lora_unfused:
      // Each new adapter's A and B come from flash (one file each) into DRAM; the old ones
      // are dropped.
      for (uint64_t a = 0; a < added; ++a) {
        c.flash_reads.push_back(stored_bytes());
        c.dram_write_bytes += stored_bytes();
      }
      break;
    case AdapterMethod::lora_fused: {
      // W' = W - B_old A_old + B_new A_new, tensor by tensor: W is read from where it lives
      // and written back there (to flash for a cached or streamed tensor, and to the
      // DRAM copies of its resident chunks); the old and the new A and B are read from
      // flash (the fused model keeps no copy of them).
      for (uint32_t ti : targets_) {
        const Tensor& t = layout_.tensors()[ti];
        const TensorHome h = home(ti);
        const uint64_t w = t.bytes();
        c.dram_read_bytes += h.dram_bytes;
        c.dram_write_bytes += h.dram_bytes;
        if (h.in_flash) {
          if (w > h.dram_bytes) c.flash_reads.push_back(w - h.dram_bytes);
          c.flash_write_bytes += w;
        }
        // B A (rows x r times r x cols) and its addition to W, per adapter taken out or put in.
        c.flops += (removed + added) * (2 * rank_ + 1) * t.rows * t.cols;
      }
      for (uint64_t a = 0; a < removed + added; ++a) c.flash_reads.push_back(stored_bytes());
      break;
    }
    case AdapterMethod::shira: {
      // Taking an adapter out: its indices and the base values it overwrote (kept in DRAM)
      // are read, and the base values scattered back. Putting one in: its file (indices and
      // values) is read from flash, the base values at its indices gathered and kept, and
      // its values scattered. A scatter or gather touches whole units: DRAM bursts of
      // scatter_unit bytes, and in flash whole pages, each read and written back.
      const uint64_t vbits = dtype_bits(dtype_);
      for (uint64_t a = 0; a < added; ++a) {
        c.flash_reads.push_back(stored_bytes());
        c.dram_write_bytes += stored_bytes();
      }
      for (uint32_t ti : targets_) {
        const Tensor& t = layout_.tensors()[ti];
        const TensorHome h = home(ti);
        const uint64_t nnz = shira_nonzeros(t);
        const uint64_t kept = (nnz * (index_bits_ + vbits) + 7) / 8;  // indices + saved base values
        c.dram_read_bytes += removed * kept;                          // restore: what to put back
        c.dram_read_bytes += added * kept;                            // the loaded file, to scatter
        c.dram_write_bytes += added * kept;                           // keep the base values
        const uint64_t changes = removed + added;
        // Scaled by the share of the tensor in DRAM (a cached tensor's resident chunks).
        const double dram_share =
            t.bytes() ? static_cast<double>(h.dram_bytes) / static_cast<double>(t.bytes()) : 0;
        const double dram_units =
            touched_units(h.dram_bytes, scatter_unit_, static_cast<uint64_t>(std::llround(dram_share * nnz)));
        const auto dram_touched = static_cast<uint64_t>(std::llround(changes * dram_units)) * scatter_unit_;
        c.dram_read_bytes += dram_touched;
        c.dram_write_bytes += dram_touched;
        if (h.in_flash) {
          const auto pages =
              static_cast<uint64_t>(std::llround(changes * touched_units(t.bytes(), flash_page, nnz)));
          for (uint64_t i = 0; i < pages; ++i) c.flash_reads.push_back(flash_page);
          c.flash_write_bytes += pages * flash_page;
        }
      }
      break;
    }
    case AdapterMethod::none: break;
  }
  return c;
}

uint64_t Adapter::stored_bytes() const {
  uint64_t b = 0;
  for (uint32_t ti : targets_) {
    const Tensor& t = layout_.tensors()[ti];
    if (method_ == AdapterMethod::shira) {
      b += (shira_nonzeros(t) * (index_bits_ + dtype_bits(dtype_)) + 7) / 8;
    } else if (method_ != AdapterMethod::none) {
      b += lora_bytes(t);
    }
  }
  return b;
}

uint64_t Adapter::dram_bytes(uint64_t mask) const {
  if (method_ == AdapterMethod::lora_unfused || method_ == AdapterMethod::shira) {
    // Unfused LoRA: A and B; SHiRA: indices and the overwritten base values (same size as
    // the adapter's file when index and value widths are as stored).
    return bit_count(mask) * stored_bytes();
  }
  return 0;  // a fused LoRA lives in W
}

uint64_t Adapter::peak_dram_bytes(uint64_t steps) const {
  if (!enabled()) return 0;
  uint64_t most = 0;
  if (every_ > 0 || schedule_.size() == 1) {
    most = dram_bytes(active_at(0));
  }
  for (const auto& [s, m] : schedule_) {
    if (s < steps) most = std::max(most, dram_bytes(m));
  }
  return most;
}

nlohmann::json Adapter::summary() const {
  // The method itself is in the resolved config (adapter.method), not repeated here: a
  // sweep's CSV flattens both into the same column names.
  return {{"target_tensors", targets_.size()}, {"stored_bytes_per_adapter", stored_bytes()}};
}

}  // namespace edgesim::traces
