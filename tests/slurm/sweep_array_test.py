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
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
TASKS = 4
WAIT_S = 240  # bound on the wait for the array (a 12-point tiny sweep takes seconds)
SPEC = {
    "base": "builtin:experiments/tiny.json",
    "grid": {"weight_store.cache_policy": ["lru", "fifo", "opt"], "run.seed": {"range": [1, 4]}},
}


def log(msg):
    print(f"slurm test: {msg}", flush=True)


def run(cmd, env, timeout=120, check=True):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def free_port_pair():
    """A base port P with P and P+1 free on loopback (slurmctld and slurmd)."""
    for port in range(16817, 17017, 2):
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise AssertionError("no free port pair for slurmctld and slurmd in 16817..17016")


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def main():
    edgesim, src = sys.argv[1], sys.argv[2]
    env = dict(os.environ)
    env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
    if os.geteuid() != 0:
        log("SKIP: needs root (the local Slurm daemons run as root)")
        return SKIP
    missing = [b for b in ("slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")
               if shutil.which(b, path=env["PATH"]) is None]
    if missing:
        log(f"SKIP: slurm-wlm is not installed (missing {', '.join(missing)}; scripts/setup.sh installs it)")
        return SKIP

    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="edgesim-slurm-")
    slurm_dir = os.path.join(tmp, "slurm")
    local_slurm = os.path.join(src, "scripts/slurm/run-local-slurm.sh")
    env["SLURM_LOCAL_PORT"] = str(free_port_pair())
    try:
        spec = os.path.join(tmp, "spec.json")
        with open(spec, "w") as f:
            json.dump(SPEC, f)
        up = run(["bash", local_slurm, "start", slurm_dir], env, timeout=60)
        conf = up.stdout.strip().split("=", 1)[1]
        env["SLURM_CONF"] = conf
        env["EDGESIM"] = edgesim
        log(f"Slurm up ({conf}, ports {env['SLURM_LOCAL_PORT']}-{int(env['SLURM_LOCAL_PORT']) + 1})")

        base = os.path.join(tmp, "array")
        sub = run(["sbatch", "--parsable", f"--array=1-{TASKS}%2", f"--output={tmp}/task-%A_%a.out",
                   f"--chdir={tmp}", os.path.join(src, "scripts/slurm/sweep-array.sbatch"), spec, base], env)
        job = sub.stdout.strip().split(";")[0]
        log(f"submitted job array {job} (tasks 1-{TASKS})")
        deadline = time.monotonic() + WAIT_S
        while True:
            q = run(["squeue", "-h", "-j", job], env, check=False)
            if q.returncode != 0 or not q.stdout.strip():
                break
            if time.monotonic() > deadline:
                run(["scancel", job], env, check=False)
                raise AssertionError(f"job array {job} not done after {WAIT_S} s:\n{q.stdout}")
            time.sleep(0.5)
        outs = sorted(p for p in os.listdir(tmp) if p.startswith("task-"))
        task_logs = "".join(open(os.path.join(tmp, p)).read() for p in outs)
        log(f"array done after {time.monotonic() - started:.1f} s; task logs:\n{task_logs}")

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
        run(["bash", local_slurm, "stop", slurm_dir], env, timeout=60, check=False)
        log(f"Slurm stopped; {time.monotonic() - started:.1f} s in all")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"slurm test: FAIL: {e}", flush=True)
        sys.exit(1)
