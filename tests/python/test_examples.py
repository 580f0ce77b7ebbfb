"""The scripts in examples/ run, through the package the build lays out, and print what
they promise."""
import os
import subprocess
import sys

from conftest import BUILD, SOURCE

EXAMPLES = os.path.join(SOURCE, "examples")


def run_example(name, *args):
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.abspath(BUILD), "python"))
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)] + [str(a) for a in args], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_arch_search_prints_a_pareto_front():
    out = run_example("arch_search.py", "--candidates", "40", "--seed", "3")
    rows = [l.split() for l in out.splitlines() if l.strip().startswith("candidate")]
    assert rows, out
    macs = [int(r[1]) for r in rows]
    latency = [float(r[2]) for r in rows]
    # Fastest first, and each further point buys more MACs with more latency.
    assert latency == sorted(latency)
    assert macs == sorted(macs) and len(set(macs)) == len(macs)


def test_dip_sweep_prints_one_row_per_point():
    out = run_example("dip_sweep.py", "--base", "builtin:experiments/tiny.json", "--sparsity", "0.3", "0.7",
                      "--jobs", "2")
    rows = [l.split() for l in out.splitlines() if l.split() and l.split()[0] in ("dip", "dip_cache_aware")]
    assert len(rows) == 4, out
    assert all(r[2] == "ok" for r in rows)
    proxy = {(r[0], r[1]): float(r[4]) for r in rows}
    # More sparsity, more error left in the MLP's output.
    assert proxy[("dip", "0.70")] > proxy[("dip", "0.30")]


def test_capture_replay_on_the_capture_scripts_output():
    # tests/data/npy/captured_tiny_llama.npz was written by scripts/capture_activations.py
    # (a tiny random Llama with the tiny model's shape; docs/activations.md), so this runs
    # without PyTorch; with it, the example captures first (--model).
    npz = os.path.join(SOURCE, "tests", "data", "npy", "captured_tiny_llama.npz")
    out = run_example("capture_replay.py", "--activations", npz)
    assert "the replay under the recorded config matches the closed-loop run" in out
    assert len([l for l in out.splitlines() if "replayed, cache" in l]) == 2
