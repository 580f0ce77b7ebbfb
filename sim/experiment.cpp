#include "sim/experiment.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <set>

#include "sim/core/config/units.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/pattern.hpp"
#include "sim/core/registry.hpp"
#include "sim/model_source.hpp"
#include "sim/weight_placement.hpp"

namespace edgesim::sim {
namespace {

using config::fail_at;
using config::Params;
using config::Quantity;

const config::ParamTable kDeviceParams = {{
    {"name", Quantity::String, "device", "Name shown in results"},
    {"static_power", Quantity::Power, "0.5 W", "Background power of SoC and memories while generating", 0,
     1e4},
}};
const config::ParamTable kStoreParams = {{
    {"pinned", Quantity::StringList, json::array({"norm", "attn"}),
     "Tensor classes kept in DRAM: \"*\", a class (\"mlp.down\"), a prefix (\"attn\") or a last part "
     "(\"norm\")"},
    {"cache_capacity",
     Quantity::Bytes,
     "auto",
     "DRAM weight cache over flash for unpinned tensors; \"auto\" = all DRAM left; 0 B = stream from flash",
     0,
     1e15,
     {"auto"}},
    {"pinned_experts", Quantity::Integer, 0,
     "MoE: experts per routed layer held in DRAM for the whole run, the ones the routing policy's profile "
     "uses most (outside cache_capacity)",
     0, 1 << 16},
    {"cache_policy", Quantity::String, "lru",
     "Replacement policy of the weight cache (see `describe replacement`)"},
    {"staging_traffic", Quantity::Boolean, true,
     "Data read from flash is written to DRAM and read back by compute (counts as DRAM traffic)"},
    {"flash_dram_concurrent", Quantity::Boolean, true,
     "Flash and DRAM transfers of one op overlap (time = max) rather than serialise (time = sum)"},
    {"cache_partition",
     Quantity::String,
     "global",
     "One cache over all cached tensors, or per_tensor: the capacity split evenly over them, each with its "
     "own "
     "replacement (the DIP paper's accounting)",
     -INFINITY,
     INFINITY,
     {"global", "per_tensor"}},
}};
const config::ParamTable kRunParams = {{
    {"tokens", Quantity::Integer, 8, "Decode steps measured", 1, 1e7},
    {"warmup_tokens", Quantity::Integer, 1, "Decode steps simulated before measuring (cache warm-up)", 0,
     1e6},
    {"prompt_tokens", Quantity::Integer, 512,
     "Context in the KV cache when decoding starts (encoder-decoder: the prompt the encoder runs over first)",
     0, 1e8},
    {"seed", Quantity::Integer, 1, "Seed of every random choice (token ids, synthetic activations)", 0,
     9.0e15},
    {"prefill_chunk", Quantity::Integer, 0,
     "Prompt tokens one prefill step runs over (a pass over the weights each); 0: the prompt is assumed "
     "in the KV cache, not simulated (docs/decoding.md)",
     0, 1e8},
}};

const SectionRegistration kDeviceSection("device", "The device: DRAM, flash, compute and static power",
                                         "device", kDeviceParams);
const SectionRegistration kStoreSection("weight_store", "Where weights live: pinned, cached or streamed",
                                        "weight_store", kStoreParams);
const SectionRegistration kRunSection("run", "What to simulate: tokens, context, seed", "run", kRunParams);

const json& section(const json& parent, const std::string& key) {
  static const json empty = json::object();
  auto it = parent.find(key);
  return it == parent.end() ? empty : *it;
}

}  // namespace

namespace {

void check_top_level(const json& raw) {
  if (!raw.is_object()) fail_at("(top level)", "expected an object");
  const std::vector<std::string> known = {"device",       "model", "policy",  "adapter",
                                          "weight_store", "run",   "decoding"};
  for (const auto& [k, v] : raw.items()) {
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string msg = "unknown section '" + k + "'";
    const std::string s = config::suggest(k, known);
    msg += s.empty() ? " (sections: device, model, policy, adapter, weight_store, run, decoding)"
                     : "; did you mean '" + s + "'?";
    fail_at(k, msg);
  }
  if (!raw.contains("model"))
    fail_at("model", "missing: the config names no model (extend a file of configs/models/)");
  if (!raw.contains("device"))
    fail_at("device", "missing: the config names no device (extend a file of configs/hw/)");
}

/// The draft (speculative) or the small decoder (hybrid): a model source as --model takes,
/// stored as the experiment's model is (its storage keys), with the scheme's settings.
void load_second_model(const json& raw, const Params& decp, Experiment& e) {
  DecodingSettings& d = e.decoding;
  const bool speculative = d.scheme == Scheme::Speculative;
  const std::string key = speculative ? "draft" : "decoder";
  const std::string where = "decoding." + key;
  if (decp.text(key).empty()) {
    fail_at(where,
            std::string("missing: scheme ") +
                (speculative ? "speculative needs a draft model" : "hybrid needs a small decoder model") +
                " (a built-in model's name, an edgesim model JSON or a Hugging Face config.json)");
  }
  json holder = {{"model", raw["model"]}};
  try {
    apply_model_source(holder, decp.text(key));
  } catch (const InputError& err) {
    fail_at(where, err.what());
  }
  Params p(traces::ModelLayout::param_table(), holder["model"], where);
  e.second = std::make_unique<traces::ModelLayout>(p);
  const std::string placement = decp.text("placement");
  d.second_placement = placement == "pinned"   ? cache::Placement::Dram
                       : placement == "cached" ? cache::Placement::Cache
                                               : cache::Placement::Flash;
  d.compare_plain = decp.flag("compare_plain");
  if (speculative) {
    // Every drafted token is a token id of the target's vocabulary.
    if (e.second->vocab_size() != e.layout->vocab_size()) {
      fail_at(where, "the draft '" + e.second->name() + "' has a vocabulary of " +
                         std::to_string(e.second->vocab_size()) + " tokens, the model '" + e.layout->name() +
                         "' " + std::to_string(e.layout->vocab_size()) +
                         ": a draft must share the model's vocabulary");
    }
    d.gamma = static_cast<uint32_t>(decp.integer("gamma"));
    d.acceptance = decp.number("acceptance");
    if (!decp.text("acceptance_trace").empty()) {
      d.acceptance_trace = read_acceptance_trace(decp.text("acceptance_trace"), "decoding.acceptance_trace");
    }
  } else {
    // Linear, ReLU, linear: from the large model's width to the small model's.
    d.projector_in = e.layout->hidden_size();
    d.projector_out = e.second->hidden_size();
    d.projector_hidden = decp.integer("projector_hidden") > 0
                             ? static_cast<uint64_t>(decp.integer("projector_hidden"))
                             : d.projector_out;
  }
}

std::string bytes_text(uint64_t b) {
  return config::format_quantity(static_cast<double>(b), Quantity::Bytes);
}

}  // namespace

json Footprint::to_json() const {
  json j = {{"total", total()},      {"weights_pinned", weights_pinned}, {"weight_cache", weight_cache},
            {"kv_cache", kv_cache},  {"activations", activations},       {"staging", staging},
            {"available", available}};
  if (has_adapter) j["adapters"] = adapters;
  return j;
}

Experiment build_experiment(const json& given) {
  json raw = given;
  resolve_model_source(raw);  // model.hf_config (a sweep axis, a --set) replaces the shape
  check_top_level(raw);
  Experiment e;
  json& out = e.config;

  // Device.
  const json& dev = raw["device"];
  Params devp(kDeviceParams, dev, "device", {{"dram", "flash", "compute", "prefill_compute"}});
  out["device"] = devp.resolved();
  e.static_power = devp.number("static_power");
  for (const char* part : {"dram", "flash", "compute"}) {
    if (!dev.contains(part)) fail_at(std::string("device.") + part, "missing section");
  }
  e.dram = memory::make_dram(dev["dram"], out["device"]["dram"]);
  e.flash = memory::make_flash(dev["flash"], out["device"]["flash"]);
  e.compute = make_from<compute::Engine>(dev["compute"], "device.compute", "model", "roofline",
                                         out["device"]["compute"]);
  if (dev.contains("prefill_compute")) {
    e.prefill_compute = make_from<compute::Engine>(dev["prefill_compute"], "device.prefill_compute", "model",
                                                   "roofline", out["device"]["prefill_compute"]);
  }

  // Decoding: the scheme, and (hybrid) the large model that replaces the model section.
  Params decp(decoding_param_table(), section(raw, "decoding"), "decoding");
  out["decoding"] = decp.resolved();
  const std::string scheme = decp.text("scheme");
  DecodingSettings& d = e.decoding;
  d.scheme = scheme == "speculative" ? Scheme::Speculative
             : scheme == "hybrid"    ? Scheme::Hybrid
                                     : Scheme::Plain;
  if (d.scheme == Scheme::Hybrid && !decp.text("encoder").empty()) {
    try {
      apply_model_source(raw, decp.text("encoder"));
    } catch (const InputError& err) {
      fail_at("decoding.encoder", err.what());
    }
  }

  // Model.
  Params modelp(traces::ModelLayout::param_table(), raw["model"], "model");
  out["model"] = modelp.resolved();
  e.layout = std::make_unique<traces::ModelLayout>(modelp);
  if (e.layout->total_weight_bytes() > e.flash->capacity()) {
    fail_at("device.flash.capacity",
            "the model's weights (" + bytes_text(e.layout->total_weight_bytes()) + ") do not fit in flash");
  }

  // The second model: the draft, or the hybrid scheme's small decoder.
  if (d.scheme != Scheme::Plain) load_second_model(raw, decp, e);

  if (e.second && e.layout->total_weight_bytes() + e.second->total_weight_bytes() > e.flash->capacity()) {
    fail_at("device.flash.capacity",
            "the two models' weights (" +
                bytes_text(e.layout->total_weight_bytes() + e.second->total_weight_bytes()) +
                ") do not fit in flash");
  }

  // Policy.
  e.policy = make_from<traces::Policy>(section(raw, "policy"), "policy", "name", "dense", out["policy"]);
  e.policy->check(*e.layout);  // before the run: a policy's errors cannot leave a SystemC thread cleanly
  if (out["policy"]["name"] == "relu_predictor" && e.layout->mlp() != traces::MlpKind::Relu) {
    spdlog::warn(
        "policy relu_predictor on model '{}', whose MLP is {}: its neuron sparsity is an assumption "
        "(a ReLU MLP such as OPT's has it by itself; docs/sparsity.md)",
        e.layout->name(), out["model"]["mlp"].get<std::string>());
  }
  e.layout->set_chunk_bytes(
      [&](const traces::Tensor& t) { return e.policy->stored_chunk_bytes(t, e.layout->weight_dtype()); });

  // Adapters: composed with the policy, validated against the model before the run.
  Params adapterp(traces::Adapter::param_table(), section(raw, "adapter"), "adapter");
  e.adapter = std::make_unique<traces::Adapter>(adapterp, *e.layout);
  out["adapter"] = adapterp.resolved();

  // Run.
  Params runp(kRunParams, section(raw, "run"), "run");
  out["run"] = runp.resolved();
  e.run.tokens = runp.integer("tokens");
  e.run.warmup_tokens = runp.integer("warmup_tokens");
  e.run.prompt_tokens = runp.integer("prompt_tokens");
  e.run.seed = runp.integer("seed");
  e.run.prefill_chunk = runp.integer("prefill_chunk");
  // Each model's context at its last step (a verification runs up to gamma past the last
  // token counted); an encoder-decoder model's prompt went to its encoder, which is bounded
  // by max_context too. The hybrid scheme's large model only encodes the prompt.
  const uint64_t overshoot = d.scheme == Scheme::Speculative ? d.gamma : 0;
  uint64_t kv_bytes = 0;
  for (const traces::ModelLayout* l : {e.layout.get(), e.second.get()}) {
    if (!l) continue;
    const bool encodes_only = d.scheme == Scheme::Hybrid && l == e.layout.get();
    const std::string key = l == e.layout.get()          ? "run.tokens"
                            : d.scheme == Scheme::Hybrid ? "decoding.decoder"
                                                         : "decoding.draft";
    const uint64_t context = encodes_only ? (l->encoder_decoder() ? 0 : e.run.prompt_tokens)
                                          : e.run.first_position(*l) + e.run.total_steps() + overshoot;
    const uint64_t encoder = e.run.encoder_tokens(*l);
    if (context > l->max_context()) {
      fail_at(key, "model '" + l->name() +
                       "': " + (l->encoder_decoder() || encodes_only ? "" : "prompt_tokens + ") +
                       (encodes_only ? "prompt_tokens" : "warmup_tokens + tokens") +
                       (overshoot ? " + gamma" : "") + " = " + std::to_string(context) +
                       " exceeds its max_context (" + std::to_string(l->max_context()) + ")");
    }
    if (encoder > l->max_context()) {
      fail_at("run.prompt_tokens", "the encoder's input of " + std::to_string(encoder) +
                                       " tokens exceeds model '" + l->name() + "''s max_context (" +
                                       std::to_string(l->max_context()) + ")");
    }
    kv_bytes += l->kv_cache_bytes(context, encodes_only ? 0 : encoder);
  }
  e.models = lay_out_models(*e.layout, e.second.get());

  // Weight store: placement, then the DRAM budget. The replacement policy's own parameters
  // (window_tokens) sit beside cache_policy in the section.
  const json& store_sec = section(raw, "weight_store");
  if (!store_sec.is_object()) fail_at("weight_store", "expected an object");
  const auto cp = store_sec.find("cache_policy");
  const std::string policy_name = cp != store_sec.end() && cp->is_string() ? cp->get<std::string>() : "lru";
  const auto& rentry = Registry<cache::Replacement>::instance().at(policy_name, "weight_store.cache_policy");
  json policy_sec = json::object(), store_rest = store_sec;
  for (const auto& d : rentry.params->params) {
    if (!store_sec.contains(d.key)) continue;
    policy_sec[d.key] = store_sec[d.key];
    store_rest.erase(d.key);
  }
  Params storep(kStoreParams, store_rest, "weight_store");
  const Params rparams(*rentry.params, policy_sec, "weight_store");
  out["weight_store"] = storep.resolved();
  out["weight_store"].update(rparams.resolved());
  const auto pinned = storep.list("pinned");
  std::set<std::string> classes, candidates;
  for (const auto& t : e.layout->tensors()) {
    classes.insert(t.klass);
    candidates.insert(t.klass);
    candidates.insert(t.klass.substr(0, t.klass.find('.')));
    candidates.insert(t.klass.substr(t.klass.rfind('.') + 1));
  }
  for (size_t i = 0; i < pinned.size(); ++i) {
    bool any = false;
    for (const auto& c : classes) any = any || pattern_matches(pinned[i], c);
    if (!any) {
      std::string known;
      for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
      const std::string s = config::suggest(pinned[i], {candidates.begin(), candidates.end()});
      fail_at("weight_store.pinned[" + std::to_string(i) + "]",
              "'" + pinned[i] + "' matches no tensor class" +
                  (s.empty() ? "" : "; did you mean '" + s + "'?") + " (classes: " + known + ")");
    }
  }
  e.make_replacement = [make = rentry.make, rparams] { return make(rparams); };
  e.store.partition_per_tensor = storep.text("cache_partition") == "per_tensor";
  if (e.make_replacement()->by_step()) {
    // Windowing keeps one matrix per tensor (the paper's per-layer matrices), whatever
    // cache_partition says; the resolved config records what runs.
    e.store.partition_per_tensor = true;
    out["weight_store"]["cache_partition"] = "per_tensor";
  }
  if (rentry.params->find("row_copy_time")) e.store.row_copy_time = rparams.number("row_copy_time");
  if (rentry.params->find("window_tokens") &&
      static_cast<uint64_t>(rparams.integer("window_tokens")) > e.run.total_steps()) {
    fail_at("weight_store.window_tokens",
            "a window of " + std::to_string(rparams.integer("window_tokens")) + " tokens is longer than the run (" +
                "run.warmup_tokens + run.tokens = " + std::to_string(e.run.total_steps()) + ")");
  }
  e.store.staging_traffic = storep.flag("staging_traffic");
  e.flash_dram_concurrent = storep.flag("flash_dram_concurrent");
  const bool auto_cache = storep.is_keyword("cache_capacity");
  const uint64_t asked = auto_cache ? 0 : static_cast<uint64_t>(storep.number("cache_capacity"));
  Footprint& f = e.footprint;
  f.available = e.dram->capacity() - e.dram->reserved();
  f.kv_cache = kv_bytes;
  const uint64_t projector_bytes = d.projector_bytes(e.layout->weight_dtype());
  f.activations = std::max(e.layout->activation_bytes(), e.second ? e.second->activation_bytes() : 0);
  f.has_adapter = e.adapter->enabled();
  f.adapters = e.adapter->peak_dram_bytes(e.run.total_steps());
  // DRAM for pinned weights and for the op-sized buffers that flash-only tensors stream
  // through; what is left may hold the weight cache.
  uint64_t cacheable = 0;
  // Pinned experts: the policy's hot set, when it has one (an MoE routing policy).
  const uint32_t pinned_experts = static_cast<uint32_t>(storep.integer("pinned_experts"));
  std::vector<uint32_t> hot;
  if (pinned_experts > 0) {
    if (!e.layout->moe().enabled() || pinned_experts > e.layout->moe().experts) {
      fail_at("weight_store.pinned_experts", "pins " + std::to_string(pinned_experts) +
                                                 " experts a layer; model '" + e.layout->name() + "' has " +
                                                 std::to_string(e.layout->moe().experts));
    }
    hot = e.policy->hot_chunks(*e.layout, pinned_experts);
    if (hot.empty()) {
      fail_at("weight_store.pinned_experts", "policy '" + out["policy"]["name"].get<std::string>() +
                                                 "' does not route experts; pinned experts need a routing "
                                                 "policy (top_k, cache_prior, ...)");
    }
  }
  // The hybrid scheme's large model runs only its encoding ops.
  auto idle = [&](const RunModel& m, bool encoder, const traces::OpSpec& op) {
    return d.scheme == Scheme::Hybrid && m.tensor_base == 0 &&
           ((m.layout->encoder_decoder() && !encoder) || hybrid_encoder_skips(op));
  };
  auto place = [&](bool have_cache) {
    e.store.placement = place_tensors(*e.layout, pinned, have_cache);
    if (e.second) {
      // The second model as a whole: pinned, in the shared cache, or streamed.
      const cache::Placement p = d.second_placement == cache::Placement::Cache && !have_cache
                                     ? cache::Placement::Flash
                                     : d.second_placement;
      e.store.placement.insert(e.store.placement.end(), e.second->tensors().size(), p);
    }
    if (d.scheme == Scheme::Hybrid) {
      // The large model's tensors that only its idle ops read stay in flash, untouched.
      std::vector<bool> used(e.layout->tensors().size(), false);
      for (const bool encoder : {false, true}) {
        for (const auto& op : encoder ? e.layout->encoder_ops() : e.layout->ops()) {
          if (idle(e.models[0], encoder, op)) continue;
          for (uint32_t t : op.tensors) used[t] = true;
        }
      }
      for (size_t t = 0; t < used.size(); ++t) {
        if (!used[t]) e.store.placement[t] = cache::Placement::Flash;
      }
    }
    f.weights_pinned = cacheable = 0;
    uint64_t largest_streamed_op = 0;
    for (const RunModel& m : e.models) {
      for (size_t i = 0; i < m.layout->tensors().size(); ++i) {
        const auto& t = m.layout->tensors()[i];
        const cache::Placement p = e.store.placement[m.tensor_base + i];
        if (p == cache::Placement::Dram) f.weights_pinned += t.bytes();
        if (p == cache::Placement::Cache) cacheable += t.bytes();
      }
      for (const bool encoder : {false, true}) {
        const auto& specs = encoder ? m.layout->encoder_ops() : m.layout->ops();
        const auto& ids = encoder ? m.encoder_op_tensors : m.op_tensors;
        for (size_t k = 0; k < specs.size(); ++k) {
          if (idle(m, encoder, specs[k])) continue;
          uint64_t streamed = 0;
          for (uint32_t ti : ids[k]) {
            if (e.store.placement[ti] == cache::Placement::Flash)
              streamed += m.layout->tensors()[ti - m.tensor_base].bytes();
          }
          largest_streamed_op = std::max(largest_streamed_op, streamed);
        }
      }
    }
    f.weights_pinned += projector_bytes;
    e.store.pinned_chunks.clear();
    if (have_cache && pinned_experts > 0) {
      for (uint32_t c : hot) {
        if (e.store.placement[e.layout->tensor_of_chunk(c)] != cache::Placement::Cache)
          continue;  // pinned whole
        const uint64_t b = e.layout->tensors()[e.layout->tensor_of_chunk(c)].chunk_bytes;
        e.store.pinned_chunks.push_back(c);
        f.weights_pinned += b;
        cacheable -= b;
      }
    }
    f.staging = largest_streamed_op * e.compute->weight_buffers();
    return f.weights_pinned + f.kv_cache + f.activations + f.staging + f.adapters;
  };
  uint64_t fixed = place(auto_cache || asked > 0);
  if (auto_cache && fixed >= f.available) fixed = place(false);  // no DRAM left for a cache: stream
  if (pinned_experts > 0 && e.store.pinned_chunks.empty()) {
    fail_at("weight_store.pinned_experts",
            "pinned experts are held beside the expert cache, and there is none (cache_capacity 0, no DRAM "
            "left, or the experts pinned whole by weight_store.pinned)");
  }
  const std::string parts = "pinned weights " + bytes_text(f.weights_pinned) + " + KV cache " +
                            bytes_text(f.kv_cache) + " + activations " + bytes_text(f.activations) +
                            " + streaming buffers " + bytes_text(f.staging) +
                            (f.adapters ? " + adapters " + bytes_text(f.adapters) : "");
  if (fixed > f.available) {
    fail_at("weight_store.pinned",
            "the model does not fit in DRAM: " + parts + " = " + bytes_text(fixed) + " > " +
                bytes_text(f.available) +
                " available (device.dram.capacity - device.dram.reserved); pin fewer tensors");
  }
  if (auto_cache) {
    f.weight_cache = std::min(cacheable, f.available - fixed);
  } else {
    f.weight_cache = std::min(cacheable, asked);
    if (fixed + asked > f.available) {
      fail_at("weight_store.cache_capacity", "a cache of " + bytes_text(asked) + " does not fit: " + parts +
                                                 " leave " + bytes_text(f.available - fixed) + " of DRAM");
    }
  }
  e.store.cache_capacity = f.weight_cache;
  e.store.dram_addresses = e.dram->wants_addresses();
  e.store.kv_bytes_per_layer =
      e.layout->kv_cache_bytes(e.layout->max_context(),
                               e.layout->encoder_decoder() ? e.layout->max_context() : 0) /
      std::max<uint64_t>(e.layout->layers(), 1);
  return e;
}

}  // namespace edgesim::sim
