#!/usr/bin/python3
"""edgesim.npu_estimate from Python against the command line, per estimate.

    bench_python.py [BUILD_DIR] [--batches N] [--cli-runs N] [--threads T]

Times edgesim.npu_estimate on person_detect (configs/networks/tflite/person_detect.tflite)
on the Ethos-U55-128 preset in batches of 1,000 from one Python thread (one core: the
call releases the GIL but runs on the calling thread), best of N batches, per wall
second and per second of the thread's CPU time (what one core does when others load it); then T threads
at once; then `edgesim npu --timing fast --format json` run as a process per estimate,
as a Python loop without the module would. Prints estimates per second and the machine's
load average (the machine may be shared). docs/python.md quotes its figures.
"""
import argparse
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
NETWORK = os.path.join(SOURCE, "configs", "networks", "tflite", "person_detect.tflite")
DEVICE = "builtin:npu/ethos-u55-128.json"
BATCH = 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--cli-runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.abspath(args.build), "python"))
    import edgesim

    print("load average before: %.2f %.2f %.2f on %d cores" % (os.getloadavg() + (os.cpu_count(),)))
    start = time.perf_counter()
    first = edgesim.npu_estimate([NETWORK], DEVICE)[0]
    print("first estimate (reads and plans person_detect): %.1f ms; %d cycles, %.3f ms per inference"
          % (1e3 * (time.perf_counter() - start), first["cycles"], 1e3 * first["latency_s"]))

    batch = [NETWORK] * BATCH
    best = best_cpu = float("inf")
    for _ in range(args.batches):
        start, start_cpu = time.perf_counter(), time.thread_time()
        out = edgesim.npu_estimate(batch, DEVICE)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.thread_time() - start_cpu)
        assert len(out) == BATCH and out[-1]["cycles"] == first["cycles"]
    per_core = BATCH / best
    print("npu_estimate, one thread, batch of %d: %.0f estimates per wall second (%.1f us each), "
          "%.0f per CPU second of the thread (best of %d batches)"
          % (BATCH, per_core, 1e6 * best / BATCH, BATCH / best_cpu, args.batches))

    if args.threads > 1:
        def work():
            for _ in range(args.batches):
                edgesim.npu_estimate(batch, DEVICE)

        threads = [threading.Thread(target=work) for _ in range(args.threads)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
        print("npu_estimate, %d threads at once: %.0f estimates/s in all"
              % (args.threads, args.threads * args.batches * BATCH / seconds))

    exe = os.path.join(os.path.abspath(args.build), "edgesim")
    start = time.perf_counter()
    for _ in range(args.cli_runs):
        subprocess.run([exe, "npu", "--network", NETWORK, "--config", DEVICE, "--timing", "fast", "--format",
                        "json"], check=True, stdout=subprocess.DEVNULL)
    per_cli = (time.perf_counter() - start) / args.cli_runs
    print("edgesim npu as a process per estimate: %.1f ms each, %.1f estimates/s (npu_estimate: %.0fx)"
          % (1e3 * per_cli, 1 / per_cli, per_core * per_cli))
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
