// An independent check of edgesim's int8 execution: the same TFLite model through Arm NN
// (Debian's libarmnntfliteparser-dev 20.08, its TFLite parser and CpuRef reference
// backend) and through edgesim's NPU execution, on seeded random inputs; every tensor
// both produce (each operator's output, made a subgraph output for Arm NN) compared
// element by element. Prints per tensor the largest difference and how many elements
// differ; exits 1 when any differs by more than the tolerance (default 1 LSB).
//
//   armnn_check [--inputs N] [--seed S] [--tolerance T] [--skip-op TYPE ...] MODEL.tflite ...
//   armnn_check --synthetic   (a model with the ops both read, built here)
//
// Arm NN 20.08 rejects a depthwise bias quantized along dimension 3 (what TFLite's
// converter writes for a 1-D bias); the copy given to Arm NN has it along 0, which
// changes nothing for a 1-D tensor. docs/npu.md gives the results and explains the
// differences.
#include <armnn/ArmNN.hpp>
#include <armnnTfLiteParser/ITfLiteParser.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "models/npu/device.hpp"
#include "models/npu/executor.hpp"
#include "models/npu/tflite.hpp"
#include "models/npu/tflite_schema_generated.h"
#include "sim/core/config/loader.hpp"
#include "tests/unit/tflite_builder.hpp"

namespace tfl = edgesim::tflite;
using namespace edgesim;

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The model as Arm NN takes it: every operator's output a subgraph output, and a
/// depthwise bias's quantized dimension 0.
std::vector<uint8_t> for_armnn(const std::vector<uint8_t>& bytes, std::vector<std::string>& outputs) {
  std::unique_ptr<tfl::ModelT> m(tfl::GetModel(bytes.data())->UnPack());
  tfl::SubGraphT& g = *m->subgraphs.at(0);
  std::set<int> outs(g.outputs.begin(), g.outputs.end());
  for (const auto& op : g.operators) {
    const auto& code = *m->operator_codes.at(op->opcode_index);
    const int32_t c = std::max<int32_t>(code.builtin_code, code.deprecated_builtin_code);
    if (c == 4 && op->inputs.size() > 2 && op->inputs[2] >= 0) {  // DEPTHWISE_CONV_2D's bias
      auto& q = g.tensors.at(static_cast<size_t>(op->inputs[2]))->quantization;
      if (q) q->quantized_dimension = 0;
    }
    for (int o : op->outputs) outs.insert(o);
  }
  g.outputs.assign(outs.begin(), outs.end());
  for (int o : g.outputs) outputs.push_back(g.tensors.at(static_cast<size_t>(o))->name);
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(tfl::Model::Pack(fbb, m.get()), tfl::ModelIdentifier());
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

struct Stats {
  std::string op;
  size_t elements = 0, differing = 0;
  int max_diff = 0;      // the op run on Arm NN's inputs: the op's own difference
  int end_to_end = 0;    // the whole network run by each: differences carried from earlier ops
  void add(const int8_t* a, const int8_t* b, size_t n, bool isolated) {
    for (size_t k = 0; k < n; ++k) {
      const int d = std::abs(static_cast<int>(a[k]) - b[k]);
      if (isolated) {
        max_diff = std::max(max_diff, d);
        differing += d != 0;
        ++elements;
      } else {
        end_to_end = std::max(end_to_end, d);
      }
    }
  }
};

int check(const std::string& label, const std::vector<uint8_t>& bytes, int inputs, unsigned seed, int tolerance,
          const std::set<std::string>& skip) {
  const npu::Network net = npu::parse_tflite(bytes.data(), bytes.size(), label);
  const npu::NpuDevice dev = npu::build_npu_device(config::load_config("builtin:npu/ethos-u55-128.json"));
  const npu::Plan plan = npu::plan_network(net, dev.settings, dev.memories());
  npu::Executor exec(net, plan);

  std::vector<std::string> names;
  const std::vector<uint8_t> model = for_armnn(bytes, names);
  auto parser = armnnTfLiteParser::ITfLiteParser::Create();
  armnn::INetworkPtr network = parser->CreateNetworkFromBinary(model);
  armnn::IRuntime::CreationOptions options;
  armnn::IRuntimePtr runtime = armnn::IRuntime::Create(options);
  armnn::IOptimizedNetworkPtr optimized =
      armnn::Optimize(*network, {armnn::Compute::CpuRef}, runtime->GetDeviceSpec());
  armnn::NetworkId id = 0;
  std::string message;
  if (runtime->LoadNetwork(id, std::move(optimized), message) != armnn::Status::Success)
    throw std::runtime_error("Arm NN cannot load " + label + ": " + message);
  const auto in_names = parser->GetSubgraphInputTensorNames(0);
  const auto in_binding = parser->GetNetworkInputBindingInfo(0, in_names.at(0));

  // Arm NN's value of every op output, by edgesim tensor index.
  std::map<int, std::vector<int8_t>> theirs;
  armnn::OutputTensors output_tensors;
  for (const std::string& n : names) {
    const int t = net.tensor_index(n);
    if (t < 0) continue;
    const auto bind = parser->GetNetworkOutputBindingInfo(0, n);
    theirs[t].resize(bind.second.GetNumElements());
    output_tensors.emplace_back(bind.first, armnn::Tensor(bind.second, theirs[t].data()));
  }
  std::map<std::string, Stats> stats;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(-128, 127);
  const npu::Tensor& tin = net.tensors[static_cast<size_t>(net.input)];
  std::vector<int8_t> x(tin.size());
  for (int i = 0; i < inputs; ++i) {
    for (auto& v : x) v = static_cast<int8_t>(u(rng));
    armnn::InputTensors input_tensors{{in_binding.first, armnn::ConstTensor(in_binding.second, x.data())}};
    if (runtime->EnqueueWorkload(id, input_tensors, output_tensors) != armnn::Status::Success)
      throw std::runtime_error("Arm NN failed to run " + label);
    theirs[net.input] = x;
    exec.set_input(x.data());
    exec.run();  // end to end
    std::vector<std::vector<int8_t>> ours(net.ops.size());
    for (size_t k = 0; k < net.ops.size(); ++k) {
      const npu::Tensor& t = net.tensors[static_cast<size_t>(net.ops[k].output)];
      ours[k].assign(exec.tensor(net.ops[k].output), exec.tensor(net.ops[k].output) + t.size());
    }
    // Each op on its own, from Arm NN's values of its inputs.
    for (size_t k = 0; k < net.ops.size(); ++k) {
      const npu::Op& op = net.ops[k];
      const std::string type = npu::op_type_name(op.type);
      if (skip.count(type) || !theirs.count(op.output)) continue;
      bool fed = true;
      for (int t : op.inputs) {
        if (net.tensors[static_cast<size_t>(t)].constant()) continue;
        if (!theirs.count(t)) fed = false;
        else std::copy(theirs[t].begin(), theirs[t].end(), exec.arena() + net.tensors[static_cast<size_t>(t)].offset);
      }
      if (!fed) continue;
      exec.run_layer(k);
      const npu::Tensor& to = net.tensors[static_cast<size_t>(op.output)];
      Stats& s = stats[to.name];
      s.op = type;
      s.add(exec.tensor(op.output), theirs[op.output].data(), to.size(), true);
      s.add(ours[k].data(), theirs[op.output].data(), to.size(), false);
    }
  }
  int worst = 0;
  std::printf("%s: %d random inputs (seed %u), %zu tensors compared with Arm NN %s CpuRef\n", label.c_str(), inputs,
              seed, stats.size(), ARMNN_VERSION);
  std::printf("  %-48s %-17s %10s %10s %6s %12s\n", "tensor (each op on Arm NN's inputs)", "op", "elements",
              "differ", "max", "end-to-end");
  for (const auto& [n, s] : stats) {
    std::printf("  %-48s %-17s %10zu %10zu %6d %12d\n", n.substr(0, 48).c_str(), s.op.c_str(), s.elements,
                s.differing, s.max_diff, s.end_to_end);
    worst = std::max(worst, s.max_diff);
  }
  std::printf("  largest difference of an op: %d LSB (tolerance %d)\n", worst, tolerance);
  return worst <= tolerance ? 0 : 1;
}

}  // namespace

// libsystemc.so refers to sc_main; this check starts no SystemC simulation.
extern "C" int sc_main(int, char**) {
  return 0;
}

int main(int argc, char** argv) {
  int inputs = 8, tolerance = 1;
  unsigned seed = 1;
  bool synthetic = false;
  std::vector<std::string> files;
  std::set<std::string> skip;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--inputs" && i + 1 < argc) inputs = std::atoi(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (a == "--tolerance" && i + 1 < argc) tolerance = std::atoi(argv[++i]);
    else if (a == "--skip-op" && i + 1 < argc) skip.insert(argv[++i]);
    else if (a == "--synthetic") synthetic = true;
    else files.push_back(a);
  }
  armnn::ConfigureLogging(false, false, armnn::LogSeverity::Fatal);
  int rc = 0;
  try {
    if (synthetic) rc |= check("synthetic", npu::test::synthetic_model(), inputs, seed, tolerance, skip);
    for (const auto& f : files) rc |= check(f, read_bytes(f), inputs, seed, tolerance, skip);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "armnn_check: %s\n", e.what());
    return 2;
  }
  return rc;
}
