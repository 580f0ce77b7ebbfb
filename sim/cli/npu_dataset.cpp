// `edgesim npu-dataset`: networks sampled from a search space, each timed on NPU
// configurations, one row per (network, configuration) and one per layer (sim/npu_dataset.hpp,
// docs/npu-dataset.md). `npu-dataset merge` joins the folders of its shards;
// `npu-dataset generate` regenerates one network from its row's seed and writes it as
// .tflite and/or edgesim JSON.
#include <spdlog/spdlog.h>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "models/npu/spaces/space.hpp"
#include "models/npu/tflite_writer.hpp"
#include "sim/cli/commands.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/npu_dataset.hpp"
#include "sim/results.hpp"

namespace edgesim::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// `--set SPACE.KEY=VALUE` into {SPACE: {KEY: value}}.
json space_options(const std::vector<std::string>& sets) {
  json o = json::object();
  for (const auto& s : sets) {
    const size_t eq = s.find('='), dot = s.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq)
      throw InputError("--set '" + s + "': expected SPACE.KEY=VALUE, e.g. mobilenetv2.resolution_min=224");
    config::apply_override(o, s);
  }
  return o;
}

std::vector<std::string> split_configs(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) throw InputError("--configs '" + text + "': an empty item");
    out.push_back(item);
  }
  return out;
}

int cmd_merge(const Args& args) {
  std::string out;
  std::vector<std::string> dirs;
  if (!parse_merge_args(
          args, "npu-dataset",
          "Joins the output folders of a dataset's shards into one (rows and layers, deduplicated).\n"
          "Exit 2 when the folders hold different datasets or two rows of one point differ.",
          out, dirs))
    return kExitOk;
  const sim::MergeSummary s = sim::merge_npu_datasets(dirs, out);
  std::cout << "npu-dataset merge: " << dirs.size() << " folders, " << s.merged << " of " << s.points
            << " rows, " << s.duplicates << " repeated rows dropped\n";
  warn_missing_shards("npu-dataset", s);
  std::cout << "  results: " << out << "/results.jsonl, results.csv, layers.jsonl, layers.csv\n";
  return kExitOk;
}

int cmd_generate(const Args& args) {
  std::string space, tflite, json_out, seed_text;
  std::vector<std::string> sets;
  po::options_description d("Options");
  d.add_options()("space", po::value(&space), "search space")("network-seed", po::value(&seed_text),
                                                              "the network's seed (a row's `seed` column)")(
      "set", po::value(&sets)->composing(), "a space option, SPACE.KEY=VALUE (as the dataset was made with)")(
      "tflite", po::value(&tflite), "write the network as a TFLite flatbuffer")(
      "json", po::value(&json_out),
      "write the network as edgesim.npu_network/1 JSON (weights beside it, .bin)");
  if (!parse_args(args, d, nullptr,
                  "Usage: edgesim npu-dataset generate --space S --network-seed X [--set SPACE.KEY=V ...]\n"
                  "                                    [--tflite OUT.tflite] [--json OUT.json]\n"
                  "Regenerates the network of a dataset row from its seed."))
    return kExitOk;
  if (space.empty()) throw InputError("npu-dataset generate: no --space given");
  if (seed_text.empty()) throw InputError("npu-dataset generate: no --network-seed given");
  if (tflite.empty() && json_out.empty())
    throw InputError("npu-dataset generate: give --tflite and/or --json");
  uint64_t seed = 0;
  try {
    size_t used = 0;
    seed = std::stoull(seed_text, &used, 0);
    if (used != seed_text.size()) throw std::invalid_argument("trailing characters");
  } catch (const std::exception&) {
    throw InputError("--network-seed '" + seed_text + "': expected an unsigned integer");
  }
  json resolved;
  const auto s = npu::spaces::make_space(space, space_options(sets), resolved);
  const npu::spaces::Sample sample = s->generate(seed, nullptr);
  if (!tflite.empty()) {
    const std::vector<uint8_t> bytes = npu::write_tflite(sample.net);
    sim::write_atomic(tflite, std::string(bytes.begin(), bytes.end()));
  }
  if (!json_out.empty()) {
    fs::path bin(json_out);
    bin.replace_extension(".bin");
    const npu::ExportedNetwork e = npu::export_network(sample.net, bin.filename().string());
    sim::write_atomic(bin.string(), e.weights);
    sim::write_atomic(json_out, e.doc.dump(1) + "\n");
  }
  std::cout << "npu-dataset generate: " << sample.net.name << " (" << sample.net.ops.size() << " ops, "
            << sample.net.total_macs() << " MACs): " << sample.arch.dump() << "\n";
  return kExitOk;
}

}  // namespace

int cmd_npu_dataset(const Args& args) {
  if (!args.empty() && args.front() == "merge") return cmd_merge(Args(args.begin() + 1, args.end()));
  if (!args.empty() && args.front() == "generate") return cmd_generate(Args(args.begin() + 1, args.end()));
  sim::NpuDatasetSpec spec;
  sim::NpuDatasetRun run;
  std::string configs = "32,64,128,256", shard_option;
  std::vector<std::string> sets;
  long long count = 0;
  po::options_description d("Options");
  d.add_options()("space", po::value(&spec.space),
                  "search space: mobilenetv2, resnet, dscnn or compressible (edgesim describe space)")(
      "count", po::value(&count), "networks to draw")(
      "configs", po::value(&configs)->default_value(configs),
      "NPU configurations: MAC counts (builtin:npu/ethos-u55-N.json) or device config files, "
      "comma-separated")("seed", po::value(&spec.seed)->default_value(0),
                         "dataset seed (network i's seed derives from it)")(
      "set", po::value(&sets)->composing(),
      "a space option: SPACE.KEY=VALUE, e.g. mobilenetv2.resolution_min=224")(
      "out", po::value(&run.out)->default_value(run.out), "output folder")(
      "shard", po::value(&shard_option),
      "make only shard K/N: networks whose index modulo N is K. Default: from a Slurm job array, else all")(
      "resume", po::bool_switch(&run.resume), "go on with the networks the output folder does not hold yet")(
      "jobs,j", po::value(&run.jobs)->default_value(1), "threads");
  if (!parse_args(args, d, nullptr,
                  "Usage: edgesim npu-dataset --space S --count N [--configs 32,64,128,256] [--seed K]\n"
                  "                           [--set SPACE.KEY=V ...] [--out DIR] [--shard K/N] [--resume] "
                  "[--jobs J]\n"
                  "       edgesim npu-dataset merge --out DIR SHARD_DIR...\n"
                  "       edgesim npu-dataset generate --space S --network-seed X [--tflite F] [--json F]\n"
                  "Draws networks from a search space and times each on the NPU configurations: one row per\n"
                  "(network, configuration) in results.jsonl/.csv, one per layer in layers.jsonl/.csv."))
    return kExitOk;
  if (spec.space.empty())
    throw InputError("npu-dataset: no --space given (" + [] {
      std::string l;
      for (const auto& n : npu::spaces::space_names()) l += (l.empty() ? "" : ", ") + n;
      return l;
    }() + ")");
  if (count < 1) throw InputError("npu-dataset: --count must be at least 1");
  spec.count = static_cast<uint64_t>(count);
  spec.configs = split_configs(configs);
  spec.options = space_options(sets);
  run.shard = sim::choose_shard(shard_option, "--shard");
  const SigintFlag sigint;
  run.interrupted = sigint.flag();
  const sim::NpuDatasetSummary s = sim::run_npu_dataset(spec, run);
  const double rate = s.seconds > 0 ? static_cast<double>(s.made) / s.seconds : 0.0;
  std::cout << "npu-dataset: " << spec.space << ", " << spec.count << " networks";
  if (run.shard.count > 1) std::cout << " (shard " << run.shard.str() << ": " << s.in_shard << ")";
  std::cout << ": " << s.made << " made now (" << static_cast<long long>(rate) << " networks/s on "
            << run.jobs << " threads), " << s.done_before << " already done";
  if (s.dropped_rows) std::cout << ", " << s.dropped_rows << " partial rows of an interrupted network redone";
  if (s.interrupted)
    std::cout << "; interrupted: " << s.in_shard - s.done_before - s.made << " not made (use --resume)";
  std::cout << "\n  results: " << run.out << "/results.jsonl, results.csv, layers.jsonl, layers.csv\n";
  return s.interrupted ? 130 : kExitOk;
}

}  // namespace edgesim::cli
