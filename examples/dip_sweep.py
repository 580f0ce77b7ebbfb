#!/usr/bin/python3
"""A DIP sparsity sweep from Python, into a plain-text table (no pandas).

    dip_sweep.py [--base builtin:experiments/dip/paper.json] [--sparsity 0.3 0.5 0.7]
                 [--policies dip dip_cache_aware] [--jobs N] [--out DIR]

Builds a sweep spec as a dict (DIP, Federico et al. 2024: the MLP's input and down
projection pruned per token; and its cache-aware variant) over the sparsity levels,
runs it with edgesim.sweep (each point in its own process), and prints one row per point:
tokens/s, the accuracy proxy (the relative error the pruning leaves in the MLP's output),
and the flash and DRAM bytes read per token. --base builtin:experiments/tiny.json makes
it a quick check (the tests run it so).
"""
import argparse
import sys
import tempfile

import edgesim


def table(rows, columns):
    """Rows of dicts as aligned text columns: [(header, key, format), ...]."""
    cells = [[h for h, _, _ in columns]] + [[f % r[k] if r.get(k) is not None else "-" for _, k, f in columns]
                                             for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c[i].rjust(widths[i]) for i in range(len(columns))) for c in cells)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="builtin:experiments/dip/paper.json")
    ap.add_argument("--sparsity", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    ap.add_argument("--policies", nargs="+", default=["dip", "dip_cache_aware"])
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--out", default=None, help="sweep output folder (default: a temporary one)")
    args = ap.parse_args()
    spec = {"base": args.base,
            "grid": {"policy": [{"name": p, "sparsity_mlp_in": s, "sparsity_mlp_down": s}
                                for p in args.policies for s in args.sparsity]}}
    with tempfile.TemporaryDirectory(prefix="dip-sweep-") as tmp:
        records = edgesim.sweep(spec, jobs=args.jobs, out=args.out or tmp + "/out")
    rows = []
    for r in sorted(records, key=lambda r: r["index"]):
        policy = r["axes"]["policy"]
        row = {"policy": policy["name"], "sparsity": policy["sparsity_mlp_in"], "status": r["status"]}
        if r["status"] == "ok":
            m = r["metrics"]
            row.update(tokens_per_s=m["tokens_per_s"], proxy=m["sparsity"]["accuracy_proxy"],
                       flash_mb=m["flash_bytes_per_token"] / 1e6, dram_mb=m["dram_bytes_per_token"] / 1e6)
        rows.append(row)
    print("DIP sparsity sweep over %s (%d points)" % (args.base, len(rows)))
    print(table(rows, [("policy", "policy", "%s"), ("sparsity", "sparsity", "%.2f"), ("status", "status", "%s"),
                       ("tokens/s", "tokens_per_s", "%.3f"), ("accuracy proxy", "proxy", "%.4f"),
                       ("flash MB/token", "flash_mb", "%.2f"), ("DRAM MB/token", "dram_mb", "%.2f")]))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
