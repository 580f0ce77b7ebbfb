// edgesim: what an AI model costs on a memory-constrained device.
#include <spdlog/spdlog.h>
#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>
#include <systemc>

#include "sim/cli/commands.hpp"
#include "sim/core/errors.hpp"

#if defined(EDGESIM_ASAN)
// LeakSanitizer cannot walk SystemC's coroutine stacks and crashes at exit; leak checks
// stay on in the unit tests, which do not run SystemC.
extern "C" const char* __asan_default_options() {
  return "detect_leaks=0";
}
#endif

namespace {

const char* kUsage =
    "edgesim " EDGESIM_VERSION
    " - what an AI model costs on a memory-constrained device\n\n"
    "Usage: edgesim [--log-level LEVEL] COMMAND [OPTIONS]\n\n"
    "Commands:\n"
    "  run        simulate an experiment (no --config: the built-in default experiment)\n"
    "  replay     replay a recorded trace\n"
    "  trace      record a trace (trace record) or check and summarise one (trace info)\n"
    "  validate   check a config or trace file without simulating\n"
    "  describe   list models, policies and their parameters\n"
    "  sweep      run every point of a sweep spec (or one shard of it), each in its own process;\n"
    "             sweep merge joins the shards' output folders\n"
    "  regress    run a regression suite and compare its metrics with the goldens\n"
    "  dram       replay a memory request trace on the command-level DRAM model\n"
    "  npu        run an int8 CNN on the Ethos-U55-class NPU model (cycles, traffic, energy, outputs)\n"
    "  npu-dataset  networks drawn from a search space, timed on NPU configurations (rows, layers);\n"
    "             npu-dataset merge joins the shards' output folders\n"
    "  fault      soft-error injection campaign on the NPU model (SDC/DUE rates, Resiliency Accuracy)\n"
    "  fault-plan ISO 26262 metrics and the least-area protection plan meeting ASIL-D, from a fault "
    "campaign\n\n"
    "Global options:\n"
    "  --help, -h         this help (COMMAND --help for a command's)\n"
    "  --version          print the version\n"
    "  --log-level LEVEL  trace, debug, info, warn (default), error, off\n\n"
    "Exit codes: 0 ok, 1 simulation failure, 2 bad input (config, trace, arguments).\n";

int dispatch(int argc, char** argv) {
  using namespace edgesim;
  cli::init_logging();

  std::vector<std::string> args(argv + 1, argv + argc);
  size_t i = 0;
  for (; i < args.size() && !args[i].empty() && args[i][0] == '-'; ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (args[i] == "--version") {
      std::cout << "edgesim " << EDGESIM_VERSION << " (SystemC " << sc_core::sc_release() << ")\n";
      return kExitOk;
    }
    if (args[i] == "--log-level" && i + 1 < args.size()) {
      const auto level = spdlog::level::from_str(args[++i]);
      if (level == spdlog::level::off && args[i] != "off") {
        throw InputError("--log-level '" + args[i] + "': expected trace, debug, info, warn, error or off");
      }
      spdlog::set_level(level);
      continue;
    }
    throw InputError("unknown option '" + args[i] + "' (see edgesim --help)");
  }
  if (i >= args.size()) {
    std::cerr << kUsage;
    return kExitBadInput;
  }
  const std::string cmd = args[i];
  const cli::Args rest(args.begin() + static_cast<long>(i) + 1, args.end());
  if (cmd == "run") return cli::cmd_run(rest);
  if (cmd == "replay") return cli::cmd_replay(rest);
  if (cmd == "trace") return cli::cmd_trace(rest);
  if (cmd == "validate") return cli::cmd_validate(rest);
  if (cmd == "describe") return cli::cmd_describe(rest);
  if (cmd == "sweep") return cli::cmd_sweep(rest);
  if (cmd == "regress") return cli::cmd_regress(rest);
  if (cmd == "dram") return cli::cmd_dram(rest);
  if (cmd == "npu") return cli::cmd_npu(rest);
  if (cmd == "npu-dataset") return cli::cmd_npu_dataset(rest);
  if (cmd == "fault") return cli::cmd_fault(rest);
  if (cmd == "fault-plan") return cli::cmd_fault_plan(rest);
  throw InputError("unknown command '" + cmd +
                   "' (commands: run, replay, trace, validate, describe, sweep, regress, dram, npu, "
                   "npu-dataset, fault, fault-plan)");
}

}  // namespace

int sc_main(int argc, char** argv) {
  using namespace edgesim;
  try {
    return dispatch(argc, argv);
  } catch (const InputError& e) {
    std::cerr << "edgesim: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const boost::program_options::error& e) {
    std::cerr << "edgesim: error: " << e.what() << " (see --help)\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "edgesim: simulation failed: " << e.what() << "\n";
    return kExitSimFailure;
  }
}

int main(int argc, char** argv) {
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  return sc_core::sc_elab_and_sim(argc, argv);
}
