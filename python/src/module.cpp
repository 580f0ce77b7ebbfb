// The C++ half of `import edgesim` (python/edgesim/__init__.py is the other): the calls
// that run in-process (the NPU's fast path and estimates, fault campaigns and plans, the
// DRAM model, describe) through the functions the command line builds its documents with
// (sim/cli/documents.hpp), so both give the same documents. Errors leave
// as edgesim.InputError, ConfigError or SimulationError (python/edgesim/_errors.py) with
// the command line's messages. The GIL is released while anything is simulated.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <sys/stat.h>
#include <filesystem>
#include <memory>
#include <unordered_map>

#include "convert.hpp"
#include "models/fault/iso26262.hpp"
#include "models/npu/dataset.hpp"
#include "models/npu/device.hpp"
#include "models/npu/tflite.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/documents.hpp"
#include "sim/core/config/loader.hpp"
#include "sim/core/errors.hpp"
#include "sim/core/hash.hpp"

// SystemC's library refers to the program's sc_main; the module never starts SystemC in
// its own process (python/edgesim runs those simulations in a child process), so this
// one only answers if something did.
extern "C" __attribute__((visibility("default"))) int sc_main(int, char**) {
  return edgesim::kExitSimFailure;
}

namespace edgesim::python {

namespace py = pybind11;
using nlohmann::json;

namespace {

// ---- Arguments: a network or a device as Python gives it, read once per call ----

/// A network: a path (str or os.PathLike), the bytes of a .tflite file, or an
/// edgesim.npu_network/1 document as a dict.
struct NetworkArg {
  std::string path, bytes;
  json doc;
  std::string key;  // identity in the plan cache
  npu::Network load() const {
    if (!path.empty()) return npu::load_network(path);
    if (!bytes.empty())
      return npu::parse_tflite(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "<bytes>");
    return npu::parse_network(doc, std::filesystem::current_path().string(), "<dict>");
  }
};

std::string hash_text(const std::string& s) {
  return std::to_string(fnv1a(kFnv1aBasis, reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

/// A path's identity: the absolute path and the file's size and modification time, so
/// that a file rewritten between calls is read again (the files it names, a network's
/// weights or a config's `extends`, are not looked at).
std::string file_key(const std::string& path) {
  std::error_code ec;
  const std::string abs = std::filesystem::absolute(path, ec).string();
  struct stat st {};
  if (ec || ::stat(path.c_str(), &st) != 0) return path;  // the loader reports what is wrong
  return abs + "@" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

bool is_path(py::handle h) {
  return py::isinstance<py::str>(h) || py::hasattr(h, "__fspath__");
}

std::string path_of(py::handle h) {
  return py::str(py::module_::import("os").attr("fspath")(h)).cast<std::string>();
}

NetworkArg network_arg(py::handle h, const std::string& where) {
  NetworkArg a;
  if (is_path(h)) {
    a.path = path_of(h);
    a.key = "file:" + file_key(a.path);
  } else if (py::isinstance<py::bytes>(h) || py::isinstance<py::bytearray>(h) ||
             py::isinstance<py::memoryview>(h)) {
    const py::object b = py::module_::import("builtins").attr("bytes")(h);
    a.bytes = std::string(py::reinterpret_borrow<py::bytes>(b));
    if (a.bytes.empty()) throw InputError(where + ": empty bytes (expected a .tflite model)");
    a.key = "tflite:" + hash_text(a.bytes) + ":" + std::to_string(a.bytes.size());
  } else if (py::isinstance<py::dict>(h)) {
    a.doc = from_python(h, where);
    const std::string text = a.doc.dump();
    a.key = "json:" + hash_text(text) + ":" + std::to_string(text.size());
  } else {
    throw py::type_error(where + ": expected a path, .tflite bytes or a dict, got " +
                         std::string(py::str(py::type::of(h))));
  }
  return a;
}

/// A device: a config path or builtin: name (with its `extends`), or a merged config as
/// a dict; then `--set`-style overrides.
struct DeviceArg {
  std::string path;
  json doc;
  std::vector<std::string> sets;
  std::string key;
  json load() const {
    json cfg = path.empty() ? doc : config::load_config(path);
    for (const auto& s : sets) config::apply_override(cfg, s);
    return cfg;
  }
};

DeviceArg device_arg(py::handle h, const std::vector<std::string>& sets, const std::string& where) {
  DeviceArg a;
  a.sets = sets;
  if (is_path(h)) {
    a.path = path_of(h);
    a.key = a.path.rfind(config::kBuiltinPrefix, 0) == 0 ? a.path : "file:" + file_key(a.path);
  } else if (py::isinstance<py::dict>(h)) {
    a.doc = from_python(h, where);
    a.key = "json:" + hash_text(a.doc.dump());
  } else {
    throw py::type_error(where + ": expected a config path, a builtin: name or a dict, got " +
                         std::string(py::str(py::type::of(h))));
  }
  for (const auto& s : sets) a.key += "\n" + s;
  return a;
}

// ---- The plan cache ----

/// A device and a network compiled for it. Memory models that keep state between
/// accesses (the command-level DRAM) make a compiled setup single-use: such setups are
/// built afresh for every call, as the command line would, and not cached.
struct CachedSetup {
  npu::NpuSetup setup;
  bool reusable = true;
};

bool stateless(const npu::NpuDevice& dev) {
  for (const memory::Dram* d : {dev.sram.get(), dev.dram.get()})
    if (d && d->wants_addresses()) return false;
  return true;
}

/// One cache per thread: threads calling npu_estimate at once never share a memory
/// model or wait for each other. Bounded; cleared whole when full (a search loop's
/// candidates are mostly new, a benchmark's mostly the same).
constexpr size_t kCacheEntries = 256;

std::shared_ptr<const CachedSetup> setup_for(const NetworkArg& net, const DeviceArg& dev) {
  thread_local std::unordered_map<std::string, std::shared_ptr<const CachedSetup>> cache;
  const std::string key = net.key + "\n" + dev.key;
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto entry = std::make_shared<CachedSetup>();
  entry->setup = npu::setup_npu(dev.load(), net.load());
  entry->reusable = stateless(entry->setup.dev);
  if (entry->reusable) {
    if (cache.size() >= kCacheEntries) cache.clear();
    cache.emplace(key, entry);
  }
  return entry;
}

std::vector<std::string> strings(const py::handle& h) {
  std::vector<std::string> out;
  if (h.is_none()) return out;
  for (const auto& e : py::reinterpret_borrow<py::sequence>(h)) out.push_back(e.cast<std::string>());
  return out;
}

/// The edgesim exception (python/edgesim/_errors.py) for a message of a kind: "input" or
/// "simulation".
py::object error_object(const char* kind, const char* message) {
  return py::module_::import("edgesim._errors").attr("from_message")(kind, message);
}

// ---- The calls ----

py::object npu_call(py::handle network, py::handle device, py::handle sets, const std::string& inputs,
                    const std::string& timing) {
  cli::check_npu_timing(timing);
  if (timing != "fast") throw InputError("npu: in-process runs take timing 'fast' only");
  const NetworkArg net = network_arg(network, "network");
  const DeviceArg dev = device_arg(device, strings(sets), "device");
  const std::string name = net.path.empty() ? (net.bytes.empty() ? "<dict>" : "<bytes>") : net.path;
  json results;
  bool exact = true;
  {
    py::gil_scoped_release release;
    const auto entry = setup_for(net, dev);
    const npu::Dataset data = npu::load_dataset_or_zero(inputs, entry->setup.net);
    results = cli::npu_results(entry->setup, data, {name, inputs, timing}, &exact);
  }
  if (!exact) throw SimError("npu: the NPU's int8 execution differs from the reference kernels");
  return to_python(results);
}

py::list npu_estimate(py::handle networks, py::handle devices, bool return_errors) {
  if (is_path(networks) || py::isinstance<py::dict>(networks) || py::isinstance<py::bytes>(networks))
    throw py::type_error("networks: expected a list of networks (paths, .tflite bytes or dicts)");
  // Lists hold their items: the handles below stay valid, and an item's identity is its own.
  const py::list nets(py::reinterpret_borrow<py::object>(networks));
  const size_t n = nets.size();
  // Each distinct Python object is read once, however often the batch repeats it.
  std::vector<NetworkArg> net_args;
  std::vector<DeviceArg> dev_args;
  std::vector<std::pair<size_t, size_t>> pairs(n);
  std::unordered_map<PyObject*, size_t> seen_net, seen_dev;
  auto add = [](auto& seen, auto& args, py::handle h, auto&& make) {
    auto [it, fresh] = seen.emplace(h.ptr(), args.size());
    if (fresh) args.push_back(make());
    return it->second;
  };
  const bool one_device = is_path(devices) || py::isinstance<py::dict>(devices);
  const py::list devs = one_device ? py::list() : py::list(py::reinterpret_borrow<py::object>(devices));
  if (!one_device && devs.size() != n)
    throw InputError("npu_estimate: " + std::to_string(n) + " networks and " + std::to_string(devs.size()) +
                     " devices (give one device, or one per network)");
  for (size_t i = 0; i < n; ++i) {
    const py::handle h = nets[i];
    const std::string w = "networks[" + std::to_string(i) + "]";
    pairs[i].first = add(seen_net, net_args, h, [&] { return network_arg(h, w); });
    const py::handle d = one_device ? devices : py::handle(devs[i]);
    const std::string dw = one_device ? "devices" : "devices[" + std::to_string(i) + "]";
    pairs[i].second = add(seen_dev, dev_args, d, [&] { return device_arg(d, {}, dw); });
  }
  std::vector<json> out(n);
  // With return_errors, a failed estimate is its error: (kind, message) in place of a result.
  std::vector<std::pair<const char*, std::string>> failed(return_errors ? n : 0);
  {
    py::gil_scoped_release release;
    thread_local npu::Timing t;  // its storage reused from one estimate to the next
    for (size_t i = 0; i < n; ++i) {
      try {
        const auto entry = setup_for(net_args[pairs[i].first], dev_args[pairs[i].second]);
        npu::time_network(entry->setup.plan, entry->setup.dev.memories(), t);
        out[i] = cli::npu_totals(entry->setup, t);
      } catch (const InputError& e) {
        if (!return_errors) throw;
        failed[i] = {"input", e.what()};
      } catch (const SimError& e) {
        if (!return_errors) throw;
        failed[i] = {"simulation", e.what()};
      }
    }
  }
  py::list l(n);
  for (size_t i = 0; i < n; ++i)
    l[i] = return_errors && failed[i].first ? error_object(failed[i].first, failed[i].second.c_str())
                                            : to_python(out[i]);
  py::gil_scoped_release release;  // the documents are freed while other threads run Python
  std::vector<json>().swap(out);
  return l;
}

py::object fault_call(py::handle network, py::handle device, py::handle sets, const std::string& inputs,
                      const cli::FaultOptions& o) {
  o.validate();
  const NetworkArg net = network_arg(network, "network");
  const DeviceArg dev = device_arg(device, strings(sets), "device");
  json result;
  {
    py::gil_scoped_release release;
    const auto entry = setup_for(net, dev);
    result = cli::fault_campaign(entry->setup, npu::load_dataset_or_zero(inputs, entry->setup.net), o);
  }
  return to_python(result);
}

py::object fault_plan_call(py::handle campaign, const std::string& protection, int macs,
                           const std::string& derating) {
  std::string name;
  json doc;
  if (is_path(campaign)) {
    name = path_of(campaign);
  } else if (py::isinstance<py::dict>(campaign)) {
    name = "<dict>";
    doc = from_python(campaign, "campaign");
  } else {
    throw py::type_error("campaign: expected a path or a dict (what edgesim.fault returns)");
  }
  json result;
  {
    py::gil_scoped_release release;
    const fault::Campaign c = doc.is_null() ? fault::load_campaign(name) : fault::parse_campaign(doc, name);
    result =
        cli::fault_plan(c, name, protection.empty() ? cli::kDefaultProtection : protection, macs, derating);
  }
  return to_python(result);
}

py::object dram_call(const std::string& trace, const std::string& part, py::handle config, py::handle sets) {
  const std::vector<std::string> s = strings(sets);
  json cfg;
  std::string path;
  if (py::isinstance<py::dict>(config)) {
    cfg = from_python(config, "config");
  } else if (!config.is_none()) {
    path = path_of(config);
  }
  json result;
  {
    py::gil_scoped_release release;
    if (cfg.is_null()) {
      cfg = cli::dram_config(path, part, s);
    } else {
      if (!part.empty()) throw InputError("dram: give --config or --part, not both");
      for (const auto& a : s) config::apply_override(cfg, a);
    }
    result = cli::dram_results(cfg, trace);
  }
  return to_python(result);
}

py::object describe(const std::vector<std::string>& what) {
  return to_python(cli::describe_json(what));
}

// ---- Errors ----

void raise(const char* kind, const char* message) {
  const py::object err = error_object(kind, message);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(err.ptr())), err.ptr());
}

}  // namespace

PYBIND11_MODULE(_edgesim, m) {
  m.doc() = "edgesim's C++ core (use the edgesim package, which wraps it)";
  m.attr("version") = EDGESIM_VERSION;
  cli::init_logging();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      raise("input", e.what());
    } catch (const SimError& e) {
      raise("simulation", e.what());
    } catch (const py::builtin_exception&) {
      throw;  // TypeError and the like: pybind11's own translation
    } catch (const py::error_already_set&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;  // MemoryError
    } catch (const std::exception& e) {
      raise("simulation", e.what());  // as the command line: any other failure is exit 1
    }
  });
  m.def("npu", &npu_call, py::arg("network"), py::arg("device"), py::arg("overrides"), py::arg("inputs"),
        py::arg("timing"));
  m.def("npu_estimate", &npu_estimate, py::arg("networks"), py::arg("devices"), py::arg("return_errors"));
  m.def("describe", &describe, py::arg("what"));
  m.def("dram", &dram_call, py::arg("trace"), py::arg("part"), py::arg("config"), py::arg("overrides"));
  m.def("fault_plan", &fault_plan_call, py::arg("campaign"), py::arg("protection"), py::arg("macs"),
        py::arg("derating"));
  m.def(
      "fault",
      [](py::handle network, py::handle device, py::handle sets, const std::string& inputs, uint64_t samples,
         double error_margin, double confidence, const std::string& sampling, const std::string& fault_model,
         int mbu_width, uint64_t stuck_cycles, const std::string& dram_ecc, double hang_factor, uint64_t seed,
         unsigned jobs, bool ra) {
        cli::FaultOptions o;
        o.samples = samples, o.error_margin = error_margin, o.confidence = confidence, o.sampling = sampling;
        o.fault_model = fault_model, o.mbu_width = mbu_width, o.stuck_cycles = stuck_cycles;
        o.dram_ecc = dram_ecc, o.hang_factor = hang_factor, o.seed = seed, o.jobs = jobs, o.ra = ra;
        return fault_call(network, device, sets, inputs, o);
      },
      py::arg("network"), py::arg("device"), py::arg("overrides"), py::arg("inputs"), py::arg("samples"),
      py::arg("error_margin"), py::arg("confidence"), py::arg("sampling"), py::arg("fault_model"),
      py::arg("mbu_width"), py::arg("stuck_cycles"), py::arg("dram_ecc"), py::arg("hang_factor"),
      py::arg("seed"), py::arg("jobs"), py::arg("ra"));
}

}  // namespace edgesim::python
