#!/usr/bin/python3
"""Latency against MACs of `edgesim npu-dataset` rows: one panel per NPU configuration,
points coloured by search space, both axes logarithmic.

    npu_dataset_plot.py --out PLOT.png DATASET_DIR...

Reads each folder's results.jsonl (several folders, one per space say, go on one plot).
Needs matplotlib (Debian's python3-matplotlib). Exit 2 on a folder that is not a dataset.
"""
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", nargs="+")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = []
    for d in args.dataset:
        path = os.path.join(d, "results.jsonl")
        if not os.path.isfile(path):
            print(f"npu_dataset_plot: {path} does not exist (an edgesim npu-dataset --out folder holds it)",
                  file=sys.stderr)
            return 2
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.endswith("\n")]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = sorted({(r["metrics"]["macs_per_cycle"], r["axes"]["config"]) for r in rows})
    spaces = sorted({r["axes"]["space"] for r in rows})
    colours = dict(zip(spaces, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, axes = plt.subplots(1, len(configs), figsize=(4.2 * len(configs), 4), sharex=True, sharey=True,
                             squeeze=False)
    for ax, (_, config) in zip(axes[0], configs):
        for s in spaces:
            pts = [r["metrics"] for r in rows if r["axes"]["config"] == config and r["axes"]["space"] == s]
            ax.scatter([m["macs"] for m in pts], [1e3 * m["latency_s"] for m in pts], s=6, alpha=0.6,
                       color=colours[s], label=f"{s} ({len(pts)})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(config)
        ax.set_xlabel("MACs per inference")
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("latency (ms)")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.suptitle("edgesim npu-dataset: latency against MACs per NPU configuration")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"npu_dataset_plot: {len(rows)} rows -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
