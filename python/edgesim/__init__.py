"""edgesim from Python: what an AI model costs on a memory-constrained device.

Dicts in, dicts out: every call returns the JSON document the matching ``edgesim``
command writes (``--format json``), as Python objects. Configs are a path, a
``builtin:`` name or a dict; errors are :class:`InputError`, :class:`ConfigError` (with
``.path``, the JSON path) and :class:`SimulationError`, with the command line's messages.

Where the calls run (docs/python.md):

* in this process, with the GIL released: :func:`npu` (fast timing),
  :func:`npu_estimate`, :func:`fault`, :func:`fault_plan`, :func:`dram`, :func:`describe`;
* in a child process of the bundled ``edgesim`` binary, because SystemC elaborates once
  per process: :func:`run`, :func:`record`, :func:`replay`, :func:`sweep` and
  ``npu(timing="systemc")``.
"""
import json as _json
import os as _os
import subprocess as _subprocess
import tempfile as _tempfile

# SystemC prints its banner when its kernel first starts; the binary turns that off too.
_os.environ.setdefault("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1")
from . import _edgesim  # noqa: E402 (after the environment it reads)
from ._errors import ConfigError, EdgesimError, InputError, SimulationError  # noqa: E402
from ._errors import from_child as _from_child  # noqa: E402

__version__ = _edgesim.version
__all__ = ["run", "record", "replay", "sweep", "npu", "npu_estimate", "fault", "fault_plan", "dram", "describe",
           "executable", "EdgesimError", "InputError", "ConfigError", "SimulationError", "__version__"]


def executable():
    """The edgesim binary that child runs use: $EDGESIM_BINARY, else the package's bin/edgesim."""
    exe = _os.environ.get("EDGESIM_BINARY") or _os.path.join(_os.path.dirname(__file__), "bin", "edgesim")
    if not _os.access(exe, _os.X_OK):
        raise SimulationError("no edgesim binary at %s (set EDGESIM_BINARY, or reinstall the package)" % exe)
    return exe


def _sets(overrides):
    """--set arguments from {"dram.channels": 4} (values as JSON) or ["dram.channels=4"]."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return ["%s=%s" % (k, _json.dumps(v)) for k, v in overrides.items()]
    if isinstance(overrides, str):
        raise TypeError("overrides: expected a dict or a list of KEY=VALUE strings, got a str")
    return [str(o) for o in overrides]


def _child(args):
    """Runs the edgesim binary with `args` and --format json; its results document."""
    proc = _subprocess.run([executable()] + args + ["--format", "json"], stdin=_subprocess.DEVNULL,
                           stdout=_subprocess.PIPE, stderr=_subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise _from_child(proc.returncode, proc.stderr)
    try:
        return _json.loads(proc.stdout)
    except ValueError:
        raise SimulationError("no results document from edgesim; stderr: " + proc.stderr.strip()) from None



class _Files:
    """Writes dict configs and in-memory networks to a private temporary folder, so a
    child process can read them; removed afterwards."""

    def __enter__(self):
        self._dir = _tempfile.TemporaryDirectory(prefix="edgesim-py-")
        return self

    def __exit__(self, *exc):
        self._dir.cleanup()

    def path(self, value, name, what):
        if isinstance(value, (str, _os.PathLike)):
            return _os.fspath(value)
        p = _os.path.join(self._dir.name, name)
        if isinstance(value, dict):
            with open(p, "w") as f:
                _json.dump(value, f)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            with open(p, "wb") as f:
                f.write(value)
        else:
            raise TypeError("%s: expected a path, a builtin: name or a dict, got %s" % (what, type(value).__name__))
        return p


def _experiment_args(files, config, overrides, seed=None, model=None):
    """--config, --set, --seed and --model of the commands that run an experiment."""
    args = []
    if config is not None:
        args += ["--config", files.path(config, "config.json", "config")]
    for s in _sets(overrides):
        args += ["--set", s]
    if seed is not None:
        args += ["--seed", str(int(seed))]
    if model is not None:
        args += ["--model", _os.fspath(model)]
    return args


def run(config=None, overrides=None, seed=None, model=None):
    """Simulates an experiment: the results document of ``edgesim run --format json``.

    config: a path, a ``builtin:`` name or a dict (None: the built-in default experiment);
    a dict's ``extends`` paths are taken relative to the working directory only when
    absolute, so prefer ``builtin:`` names or absolute paths there.
    overrides: {"device.dram.channels": 4} or ["device.dram.channels=4"] (``--set``).
    seed: overrides run.seed (``--seed``). model: ``--model`` (a built-in model's name,
    a model JSON or a Hugging Face config.json).

    Runs in a child process of the edgesim binary: SystemC elaborates once per process.
    The GIL is released while it runs.
    """
    with _Files() as files:
        return _child(["run", "--no-progress"] + _experiment_args(files, config, overrides, seed, model))


def record(config, trace, overrides=None, seed=None, model=None):
    """Runs an experiment closed loop and records its trace to the file ``trace``
    (``edgesim trace record``): the run's results document. Arguments as :func:`run`.

    Runs in a child process of the edgesim binary: SystemC elaborates once per process.
    """
    with _Files() as files:
        return _child(["trace", "record", "--no-progress", "-o", _os.fspath(trace)] +
                      _experiment_args(files, config, overrides, seed, model))


def replay(trace, config=None, overrides=None):
    """Replays a recorded trace open loop: the results document of ``edgesim replay``
    (``edgesim run``'s document, mode "replay"). Without config, under the config the
    trace was recorded with.

    Runs in a child process of the edgesim binary: SystemC elaborates once per process.
    """
    with _Files() as files:
        return _child(["replay", _os.fspath(trace), "--no-progress"] + _experiment_args(files, config, overrides))


def npu(network, device, inputs=None, timing="fast", overrides=None):
    """Runs an int8 CNN on the NPU model: the results document of ``edgesim npu``.

    network: a path (.tflite or edgesim.npu_network/1 JSON), the bytes of a .tflite file,
    or a network document as a dict. device: an NPU config path, ``builtin:npu/...`` name
    or dict. inputs: a CSV (or .csv.gz) of inputs, one a line (``--input``); without it,
    one all-zero input. overrides: ``--set`` on the device.
    timing="fast" (the schedule in plain C++) runs in this process with the GIL released;
    timing="systemc" runs in a child process of the edgesim binary (SystemC elaborates
    once per process).
    """
    if timing != "systemc":
        return _edgesim.npu(network, device, _sets(overrides), _os.fspath(inputs) if inputs else "", timing)
    with _Files() as files:
        suffix = ".tflite" if isinstance(network, (bytes, bytearray, memoryview)) else ".json"
        args = ["npu", "--network", files.path(network, "network" + suffix, "network"),
                "--timing", "systemc", "--config", files.path(device, "device.json", "device")]
        if inputs:
            args += ["--input", _os.fspath(inputs)]
        for s in _sets(overrides):
            args += ["--set", s]
        return _child(args)


def npu_estimate(networks, devices, return_errors=False):
    """Timing only, for a batch: one dict per network, as ``edgesim npu``'s metrics
    without the per-layer table and the inputs (cycles, latency_s, inferences_per_s,
    macs, mac_utilisation, energy_J, weight bytes, the host CPU's share).

    networks: a list of networks (paths, .tflite bytes or dicts). devices: one device
    (path, ``builtin:`` name or dict) for all, or a list with one per network.
    return_errors: a network that cannot be estimated (it does not fit the device, say)
    is its exception (InputError, ConfigError, SimulationError) in the list, in place of a
    dict, rather than raised: a search loop skips it and goes on.
    Runs in this process with the GIL released; each thread keeps a cache of compiled
    plans (device and network), so a repeated pair is planned once.
    """
    return _edgesim.npu_estimate(networks, devices, bool(return_errors))


def describe(kind=None, name=None):
    """Every kind of part with its implementations and their parameters (key, type, unit,
    default, range, description), as ``edgesim describe --format json [KIND [NAME]]``."""
    return _edgesim.describe([w for w in (kind, name) if w is not None])


def fault(network, device, samples=None, error_margin=None, inputs=None, overrides=None, confidence=0.95,
          sampling="both", fault_model="single_bit", mbu_width=2, stuck_cycles=1000, dram_ecc="none",
          hang_factor=2.0, seed=1, jobs=None, ra=False):
    """A soft-error injection campaign on the NPU model: the edgesim.fault_campaign/1
    document of ``edgesim fault --format json`` (docs/fault.md).

    network, device, inputs, overrides: as :func:`npu` (inputs must be labelled for ra).
    Give exactly one of samples (injections per sampling scheme) or error_margin (the
    sample size from Leveugle et al.). jobs: worker threads (default: all cores; the
    results do not depend on it). Runs in this process with the GIL released.
    """
    return _edgesim.fault(network, device, _sets(overrides), _os.fspath(inputs) if inputs else "",
                          int(samples or 0), float(error_margin or 0), float(confidence), sampling, fault_model,
                          int(mbu_width), int(stuck_cycles), dram_ecc, float(hang_factor), int(seed),
                          int(jobs or _os.cpu_count() or 1), bool(ra))


def fault_plan(campaign, protection=None, macs=None, derating=None):
    """ISO 26262 metrics and the least-area protection plan meeting the targets, from a
    fault campaign (a path, or the dict :func:`fault` returns): the edgesim.fault_plan/1
    document of ``edgesim fault-plan --format json``. Runs in this process."""
    return _edgesim.fault_plan(campaign, _os.fspath(protection) if protection else "", int(macs or 0),
                               derating or "")


def dram(trace, part=None, config=None, overrides=None):
    """Replays a memory request trace on the command-level DRAM model: the results
    document of ``edgesim dram --format json``. part: a built-in part (``lpddr5x-8533``)
    or part file; config: a part file, a config path or a dict whose device.dram is the
    command model. Runs in this process with the GIL released."""
    return _edgesim.dram(_os.fspath(trace), part or "", config, _sets(overrides))


def sweep(spec, jobs=None, out="sweep-out", resume=False):
    """Runs every point of a sweep spec (a path, or a dict, written to OUT/spec.json; use
    ``builtin:`` or absolute paths in it): ``edgesim sweep SPEC --out OUT``. Returns the records of
    OUT/results.jsonl, one dict per point (point, index, axes, status, metrics or error);
    failed points are records with status "failed", not exceptions.

    The sweep runs in a child process of the edgesim binary, which runs each point in a
    process of its own, ``jobs`` at a time (default: all cores).
    """
    out = _os.fspath(out)
    if isinstance(spec, dict):
        # Written into the output folder, which keeps it beside the results it made.
        _os.makedirs(out, exist_ok=True)
        path = _os.path.join(out, "spec.json")
        with open(path, "w") as f:
            _json.dump(spec, f, indent=1)
    else:
        path = _os.fspath(spec)
    args = [executable(), "sweep", path, "--out", out]
    if jobs is not None:
        args += ["--jobs", str(int(jobs))]
    if resume:
        args.append("--resume")
    proc = _subprocess.run(args, stdin=_subprocess.DEVNULL, stdout=_subprocess.PIPE, stderr=_subprocess.PIPE,
                           text=True)
    if proc.returncode not in (0, 1):  # 1: some points failed, each recorded
        raise _from_child(proc.returncode, proc.stderr)
    with open(_os.path.join(out, "results.jsonl")) as f:
        return [_json.loads(line) for line in f if line.strip()]
