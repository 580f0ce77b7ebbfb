#!/usr/bin/python3
"""An npu-dataset made as a Slurm job array on a real single-node Slurm equals a local run.

Starts slurmctld and slurmd on localhost (local_slurm.py), submits
scripts/slurm/npu-dataset-array.sbatch as a 3-task array numbered from 0, waits for it
with a bound, merges the shards with `edgesim npu-dataset merge`, and checks that the
merged rows and layers are byte for byte those of `edgesim npu-dataset` run locally.

usage: npu_dataset_array_test.py EDGESIM SOURCE_DIR
Exit 0 passed, 1 failed, 77 skipped (not root, or slurm-wlm not installed).
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from local_slurm import SKIP, LocalSlurm, records, run, slurm_env  # noqa: E402

TASKS = 3
WAIT_S = 240
DATASET = ["--space", "dscnn", "--count", "8", "--configs", "32,256", "--seed", "5", "--set", "dscnn.channels_max=64"]


def log(msg):
    print(f"slurm npu-dataset test: {msg}", flush=True)


def main():
    edgesim, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    env = slurm_env(log)
    if env is None:
        return SKIP
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="edgesim-slurm-dataset-")
    try:
        env["EDGESIM"] = edgesim
        base = os.path.join(tmp, "array")
        with LocalSlurm(src, os.path.join(tmp, "slurm"), env, log) as slurm:
            task_logs = slurm.run_array([f"--array=0-{TASKS - 1}",
                                         os.path.join(src, "scripts/slurm/npu-dataset-array.sbatch"), base] + DATASET,
                                        tmp, WAIT_S)
        log(f"array done after {time.monotonic() - started:.1f} s; task logs:\n{task_logs}")
        shards = [os.path.join(base, f"shard-{t}") for t in range(TASKS)]
        networks = []
        for t, d in enumerate(shards):
            if not os.path.isfile(os.path.join(d, "results.jsonl")):
                raise AssertionError(f"task {t} wrote no {d}/results.jsonl; task logs:\n{task_logs}")
            networks += sorted({r["axes"]["network"] for r in records(os.path.join(d, "results.jsonl"))})
        assert len(networks) == len(set(networks)) == 8, f"networks made by the tasks: {networks}"
        merged, local = os.path.join(tmp, "merged"), os.path.join(tmp, "local")
        run([edgesim, "npu-dataset", "merge", "--out", merged] + shards, env)
        run([edgesim, "npu-dataset", "--out", local] + DATASET, env, timeout=300)
        for name in ("results.jsonl", "layers.jsonl", "results.csv", "layers.csv"):
            with open(os.path.join(merged, name)) as a, open(os.path.join(local, name)) as b:
                assert a.read() == b.read(), f"merged {name} differs from the local run's"
        log(f"PASS: {TASKS} tasks, 8 networks x 2 configurations identical to the local run; "
            f"{time.monotonic() - started:.1f} s")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"slurm npu-dataset test: FAIL: {e}", flush=True)
        sys.exit(1)
