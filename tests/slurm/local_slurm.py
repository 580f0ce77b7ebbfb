"""What the Slurm tests share: a throw-away single-node Slurm on this host
(scripts/slurm/run-local-slurm.sh), submitting a job array and waiting for it with a
bound, and reading results.jsonl files. The tests skip (77) without root or slurm-wlm.
"""
import json
import os
import shutil
import socket
import subprocess
import time

SKIP = 77


def tail(path, lines):
    """The last `lines` lines of a text file, or why there are none."""
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"({e})\n"


def run(cmd, env, timeout=120, check=True):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


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


def slurm_env(log):
    """The environment for the Slurm tools and EDGESIM, or None (after logging why) when
    the test cannot run here."""
    env = dict(os.environ)
    env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
    if os.geteuid() != 0:
        log("SKIP: needs root (the local Slurm daemons run as root)")
        return None
    missing = [b for b in ("slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")
               if shutil.which(b, path=env["PATH"]) is None]
    if missing:
        log(f"SKIP: slurm-wlm is not installed (missing {', '.join(missing)}; scripts/setup.sh installs it)")
        return None
    return env


class LocalSlurm:
    """Starts Slurm under DIR on entering, stops it on leaving; `env` gets SLURM_CONF."""

    def __init__(self, src, slurm_dir, env, log):
        self.script = os.path.join(src, "scripts/slurm/run-local-slurm.sh")
        self.dir, self.env, self.log = slurm_dir, env, log

    def __enter__(self):
        self.env["SLURM_LOCAL_PORT"] = str(free_port_pair())
        up = run(["bash", self.script, "start", self.dir], self.env, timeout=60)
        self.env["SLURM_CONF"] = up.stdout.strip().split("=", 1)[1]
        port = int(self.env["SLURM_LOCAL_PORT"])
        self.log(f"Slurm up ({self.env['SLURM_CONF']}, ports {port}-{port + 1})")
        return self

    def __exit__(self, *exc):
        run(["bash", self.script, "stop", self.dir], self.env, timeout=60, check=False)
        self.log("Slurm stopped")

    def run_array(self, sbatch_args, tmp, wait_s):
        """Submits `sbatch_args` (array options, script, its arguments) with task logs in
        TMP and waits at most `wait_s` seconds; returns the task logs."""
        sub = run(["sbatch", "--parsable", f"--output={tmp}/task-%A_%a.out", f"--chdir={tmp}"] + sbatch_args,
                  self.env)
        job = sub.stdout.strip().split(";")[0]
        self.log(f"submitted job array {job}")
        deadline = time.monotonic() + wait_s
        while True:
            q = run(["squeue", "-h", "-j", job], self.env, check=False)
            if q.returncode != 0 or not q.stdout.strip():
                break
            if time.monotonic() > deadline:
                # What kept it: each task's state and reason, and the daemons' last words
                # (a task whose launch timed out under load is requeued and held, for one).
                show = run(["scontrol", "show", "job", job], self.env, check=False)
                logs = "".join(f"--- {name} (last 30 lines):\n{tail(os.path.join(self.dir, 'log', name), 30)}"
                               for name in ("slurmctld.log", "slurmd.log"))
                run(["scancel", job], self.env, check=False)
                raise AssertionError(f"job array {job} not done after {wait_s} s:\n{q.stdout}\n"
                                     f"--- scontrol show job {job}:\n{show.stdout}{show.stderr}{logs}")
            time.sleep(0.5)
        outs = sorted(p for p in os.listdir(tmp) if p.startswith("task-"))
        return "".join(open(os.path.join(tmp, p)).read() for p in outs)
