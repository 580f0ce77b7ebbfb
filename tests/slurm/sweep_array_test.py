#!/usr/bin/python3
"""A sweep run as a Slurm job array on a real single-node Slurm equals a local run.

Starts slurmctld and slurmd on localhost (scripts/slurm/run-local-slurm.sh), submits
scripts/slurm/sweep-array.sbatch as a 4-task array numbered from 1 (so the shard comes
from SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN), waits for it with a bound, merges the
shards with `edgesim sweep merge`, and checks that every point has the same metrics as in
`edgesim sweep` run locally, then stops Slurm.

usage: sweep_array_test.py EDGESIM SOURCE_DIR
Exit 0 passed, 1 failed, 77 skipped (not root, or slurm-wlm not installed).
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from local_slurm import SKIP, LocalSlurm, records, run, slurm_env  # noqa: E402

TASKS = 4
WAIT_S = 240  # bound on the wait for the array (a 12-point tiny sweep takes seconds)
SPEC = {
    "base": "builtin:experiments/tiny.json",
    "grid": {"weight_store.cache_policy": ["lru", "fifo", "opt"], "run.seed": {"range": [1, 4]}},
}


def log(msg):
    print(f"slurm test: {msg}", flush=True)


def main():
    edgesim, src = sys.argv[1], sys.argv[2]
    env = slurm_env(log)
    if env is None:
        return SKIP

    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="edgesim-slurm-")
    try:
        spec = os.path.join(tmp, "spec.json")
        with open(spec, "w") as f:
            json.dump(SPEC, f)
        env["EDGESIM"] = edgesim
        with LocalSlurm(src, os.path.join(tmp, "slurm"), env, log) as slurm:
            task_logs = slurm.run_array([f"--array=1-{TASKS}%2", os.path.join(src, "scripts/slurm/sweep-array.sbatch"),
                                         spec, os.path.join(tmp, "array")], tmp, WAIT_S)
        log(f"array done after {time.monotonic() - started:.1f} s; task logs:\n{task_logs}")

        base = os.path.join(tmp, "array")
        shard_dirs = [os.path.join(base, f"shard-{t}") for t in range(1, TASKS + 1)]
        shard_ids = []
        for t, d in enumerate(shard_dirs, start=1):
            if not os.path.isfile(os.path.join(d, "results.jsonl")):
                raise AssertionError(f"task {t} wrote no {d}/results.jsonl; task logs:\n{task_logs}")
            with open(os.path.join(d, "sweep.json")) as f:
                shard = json.load(f)["shard"]
            assert shard == {"index": t - 1, "count": TASKS}, f"task {t} ran shard {shard}"
            shard_ids += [r["point"] for r in records(os.path.join(d, "results.jsonl"))]
        assert len(shard_ids) == len(set(shard_ids)) == 12, f"points run by the tasks: {sorted(shard_ids)}"

        merged = os.path.join(tmp, "merged")
        run([edgesim, "sweep", "merge", "--out", merged] + shard_dirs, env)
        local = os.path.join(tmp, "local")
        run([edgesim, "sweep", spec, "--out", local, "--jobs", "2"], env, timeout=300)

        got = {r["point"]: r for r in records(os.path.join(merged, "results.jsonl"))}
        want = {r["point"]: r for r in records(os.path.join(local, "results.jsonl"))}
        assert set(got) == set(want), f"merged points {sorted(got)} != local points {sorted(want)}"
        for pid, w in want.items():
            assert w["status"] == "ok", f"local point {pid} failed: {w}"
            assert got[pid]["status"] == "ok", f"array point {pid} failed: {got[pid]}"
            assert got[pid]["metrics"] == w["metrics"], f"point {pid}: metrics differ"
            assert got[pid]["axes"] == w["axes"], f"point {pid}: axes differ"
        with open(os.path.join(merged, "results.csv")) as a, open(os.path.join(local, "results.csv")) as b:
            assert a.read() == b.read(), "merged results.csv differs from the local sweep's"
        log(f"PASS: {len(want)} points, identical metrics; {time.monotonic() - started:.1f} s from start to merge")
        return 0
    finally:
        log(f"{time.monotonic() - started:.1f} s in all")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"slurm test: FAIL: {e}", flush=True)
        sys.exit(1)
