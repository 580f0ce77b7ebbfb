// Writes the binary seeds of the fuzz corpora that no test leaves on disk, through the
// project's own writers: `fuzz_make_seeds DIR` fills DIR/{trace,tflite,dram_trace}/
// (scripts/fuzz.sh does not run it; the seeds it wrote are committed in fuzz/corpus/,
// docs/fuzzing.md). Small on purpose: libFuzzer mutates small inputs faster.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "models/memory/dram_trace.hpp"
#include "test_helpers.hpp"
#include "tflite_builder.hpp"
#include "traces/trace_format.hpp"

using namespace edgesim;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// Two steps over the tiny model, whose sets take each encoding (none, all, bitmap,
/// delta list), with an adapter-switch event.
void trace_seed(const fs::path& path) {
  const traces::ModelLayout l = test::tiny_layout();
  traces::TraceWriter w(path.string(), {{"policy", {{"name", "seed"}}}}, l);
  for (uint32_t s = 0; s < 2; ++s) {
    traces::Step step;
    step.info.position = s;
    step.info.token = 5 + s;
    for (uint32_t o = 0; o < l.ops().size(); ++o) {
      traces::OpAccess op;
      op.op = o;
      op.needs_input = o % 2 == 1;
      op.flops = 100 * (o + 1);
      op.extra_dram_read_bytes = o;
      for (size_t i = 0; i < l.ops()[o].tensors.size(); ++i) {
        const uint32_t chunks = l.tensors()[l.ops()[o].tensors[i]].chunks;
        ChunkSet set;
        const size_t kind = (o + i + s) % 4;
        if (kind == 0) {
          set.set_none();
        } else if (kind == 1) {
          set.set_all();
        } else {
          set.set_list();
          for (uint32_t c = 0; c < chunks; c += kind == 2 ? 1 : 7) set.ids.push_back(c);
        }
        op.sets.push_back(set);
      }
      step.ops.push_back(op);
    }
    step.events.push_back({1, 3u + s});
    w.write_step(step);
  }
  w.finish();
}

/// A conv, a fully connected layer and a softmax: the smallest network with per-channel
/// weights, a bias and an activation function.
std::vector<uint8_t> small_tflite() {
  namespace tfl = edgesim::tflite;
  npu::test::TfliteBuilder b;
  const int x = b.activation("x", {1, 4, 4, 2}, 0.05f, -3);
  tfl::Conv2DOptionsT co;
  co.padding = tfl::Padding_SAME;
  co.stride_h = co.stride_w = 1;
  co.fused_activation_function = tfl::ActivationFunctionType_RELU;
  const int conv = b.activation("conv", {1, 4, 4, 3}, 0.06f, -128);
  b.op(3,
       {x, b.weights("cw", {3, 3, 3, 2}, {0.01f, 0.02f, 0.03f}, 0),
        b.bias("cb", {10, -20, 30}, 0.05f, {0.01f, 0.02f, 0.03f})},
       {conv}, &co);
  const int rs = b.activation("reshape", {1, 48}, 0.06f, -128);
  tfl::ReshapeOptionsT rso;
  rso.new_shape = {1, 48};
  b.op(22, {conv, b.const_int32("shape", {2}, {1, 48})}, {rs}, &rso);
  const int fc = b.activation("fc", {1, 4}, 0.2f, 3);
  const tfl::FullyConnectedOptionsT fco;
  b.op(9, {rs, b.weights("fw", {4, 48}, {0.02f}, 0), b.bias("fb", {1, 2, 3, 4}, 0.06f, {0.02f})}, {fc}, &fco);
  tfl::SoftmaxOptionsT sm;
  sm.beta = 1.0f;
  const int prob = b.activation("softmax", {1, 4}, 1.0f / 256, -128);
  b.op(25, {fc}, {prob}, &sm);
  return b.finish(x, prob);
}

void dram_seed(const fs::path& path) {
  memory::RequestTraceWriter w(path.string(), true);
  w.write({0, 0x1000, 64, false});
  w.write({1500, 0x2040, 32, true});
  w.write({1500, 0x80000000ULL, 128, false});
  w.write({90000, 0x1000, 64, true});
  w.close();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_seeds DIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* sub : {"trace", "tflite", "dram_trace"}) fs::create_directories(dir / sub);
  trace_seed(dir / "trace" / "tiny-two-steps.trc");
  write(dir / "tflite" / "conv-fc-softmax.tflite", small_tflite());
  write(dir / "tflite" / "synthetic-all-ops.tflite", npu::test::synthetic_model());
  dram_seed(dir / "dram_trace" / "four-requests.bin");
  return 0;
}
