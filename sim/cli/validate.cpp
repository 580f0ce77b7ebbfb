// `edgesim validate FILE`: checks a config (or a trace file) without simulating.
#include <boost/program_options.hpp>
#include <cstring>
#include <fstream>
#include <iostream>

#include "sim/cli/commands.hpp"
#include "sim/core/config/units.hpp"
#include "sim/core/errors.hpp"
#include "sim/experiment.hpp"
#include "traces/trace_format.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;

int cmd_validate(const Args& args) {
  std::string path;
  std::vector<std::string> sets;
  po::options_description d("Options");
  d.add_options()("file", po::value(&path), "config or trace file")("set", po::value(&sets)->composing(),
                                                                    "override a config key (repeatable)");
  po::positional_options_description pos;
  pos.add("file", 1);
  if (!parse_args(args, d, &pos,
                  "Usage: edgesim validate FILE [--set KEY=VALUE ...]\n"
                  "Checks a config (extends, units, keys, ranges, whether the model fits) or a trace file.\n"
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
  const sim::Experiment exp = sim::build_experiment(load_merged_config(path, sets));
  const auto& f = exp.footprint;
  using config::format_quantity;
  using config::Quantity;
  std::cout << path << ": valid. " << exp.layout->name() << " ("
            << format_quantity(double(exp.layout->total_weight_bytes()), Quantity::Bytes) << " of weights, "
            << exp.layout->total_chunks() << " chunks) on " << exp.config["device"]["name"].get<std::string>()
            << "; DRAM use " << format_quantity(double(f.total()), Quantity::Bytes) << " of "
            << format_quantity(double(f.available), Quantity::Bytes) << "\n";
  return kExitOk;
}

}  // namespace edgesim::cli
