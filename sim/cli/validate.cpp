// `edgesim validate FILE`: checks a config, a model source (a Hugging Face config.json or an
// edgesim model file) or a trace file without simulating.
#include <boost/program_options.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "sim/cli/commands.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/config/units.hpp"
#include "sim/core/errors.hpp"
#include "sim/experiment.hpp"
#include "traces/hf_config.hpp"
#include "traces/trace_format.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;

namespace {

using config::format_quantity;
using config::Quantity;

std::string bytes_text(uint64_t b) {
  return format_quantity(static_cast<double>(b), Quantity::Bytes);
}

std::string count_text(double n) {
  char buf[32];
  if (n >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.3f B", n / 1e9);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f M", n / 1e6);
  }
  return buf;
}

// A model source alone: its mapping, then the layout it expands to (fp16 weights).
int validate_model_source(const std::string& path) {
  const traces::ModelSource src = traces::load_model_source(path);
  nlohmann::json section = src.model;
  const traces::ModelLayout layout(config::Params(traces::ModelLayout::param_table(), section, "model"));
  const double params = static_cast<double>(layout.parameters());
  std::cout << path << ": valid model, " << src.description << "\n  " << layout.name() << ": "
            << count_text(params) << " parameters, " << layout.layers() << " layers"
            << (layout.encoder_decoder() ? " (+ " + std::to_string(layout.encoder_layers()) + " encoder)"
                                         : "")
            << ", " << bytes_text(layout.total_weight_bytes()) << " in fp16, KV cache "
            << bytes_text(layout.kv_bytes_per_position()) << " a token\n  model: " << src.model.dump()
            << "\n";
  return kExitOk;
}

}  // namespace

int cmd_validate(const Args& args) {
  std::string path, model;
  std::vector<std::string> sets;
  po::options_description d("Options");
  d.add_options()("file", po::value(&path), "config, model or trace file")(
      "set", po::value(&sets)->composing(), "override a config key (repeatable)");
  add_model_option(d, model);
  po::positional_options_description pos;
  pos.add("file", 1);
  if (!parse_args(
          args, d, &pos,
          "Usage: edgesim validate FILE [--model PATH] [--set KEY=VALUE ...]\n"
          "Checks a config (extends, units, keys, ranges, whether the model fits), a model (a Hugging\n"
          "Face config.json or an edgesim model file: what it maps to) or a trace file.\n"
          "Exit 0 when valid, 2 with the first problem otherwise."))
    return kExitOk;
  if (path.empty()) throw InputError("validate: no file given (usage: edgesim validate FILE)");

  char magic[8] = {};
  std::ifstream probe(path, std::ios::binary);
  if (probe.read(magic, 8) && std::memcmp(magic, traces::kTraceMagic, 8) == 0) {
    traces::TraceReader reader(path);
    const uint64_t steps = reader.validate();
    std::cout << path << ": valid trace, " << steps << " steps\n";
    return kExitOk;
  }
  // A config.json, or a model file (a model section and no device), is a model source.
  if (model.empty() && sets.empty()) {
    const nlohmann::json doc = config::load_config(path);
    if (traces::is_hf_config(doc) || (doc.contains("model") && !doc.contains("device"))) {
      return validate_model_source(path);
    }
  }
  const sim::Experiment exp = sim::build_experiment(load_merged_config(path, model, sets));
  const auto& f = exp.footprint;
  std::cout << path << ": valid. " << exp.layout->name() << " ("
            << bytes_text(exp.layout->total_weight_bytes()) << " of weights, " << exp.layout->total_chunks()
            << " chunks) on " << exp.config["device"]["name"].get<std::string>() << "; DRAM use "
            << bytes_text(f.total()) << " of " << bytes_text(f.available) << "\n";
  return kExitOk;
}

}  // namespace edgesim::cli
