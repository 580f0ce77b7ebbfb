#!/usr/bin/python3
"""Capture activations, then record and replay a trace with them, from Python.

    capture_replay.py --activations out.npz [--config builtin:experiments/tiny.json]
    capture_replay.py --model NAME_OR_PATH --prompt TEXT --tokens N [--config ...]

1. Capture: scripts/capture_activations.py records the inputs of every linear layer of a
   Hugging Face model (needs torch and transformers); or --activations names a .npz it
   wrote before (tests/data/npy/captured_tiny_llama.npz is one, for the tiny model).
2. Record: edgesim.record runs the experiment with DIP deciding, from those activations,
   which weight columns each token reads, and writes the trace.
3. Replay: edgesim.replay replays the trace open loop, under the recorded config and then
   under smaller and larger DRAM weight caches, and a table compares them.
The config's model must have the captured model's shape (edgesim checks it).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import edgesim

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURE = os.path.join(HERE, "..", "scripts", "capture_activations.py")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activations", help="a .npz written by scripts/capture_activations.py")
    ap.add_argument("--model", help="capture from this Hugging Face model first (needs torch, transformers)")
    ap.add_argument("--prompt", default="The quick brown fox")
    ap.add_argument("--tokens", type=int, default=4)
    ap.add_argument("--config", default="builtin:experiments/tiny.json")
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--caches", nargs="+", default=["64 KiB", "1 MiB"],
                    help="weight cache sizes (weight_store.cache_capacity) to replay under")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="capture-replay-") as tmp:
        activations = args.activations
        if not activations:
            if not args.model:
                ap.error("give --activations FILE, or --model to capture one")
            activations = os.path.join(tmp, "activations.npz")
            subprocess.run([sys.executable, CAPTURE, "--model", args.model, "--prompt", args.prompt,
                            "--tokens", str(args.tokens), "-o", activations], check=True)
        trace = os.path.join(tmp, "dip.trace")
        recorded = edgesim.record(args.config, trace, overrides={
            "policy.name": "dip", "policy.activations": os.path.abspath(activations),
            "policy.sparsity_mlp_in": args.sparsity, "policy.sparsity_mlp_down": args.sparsity})
        rows = [("recorded (closed loop)", recorded), ("replayed", edgesim.replay(trace))]
        for size in args.caches:
            rows.append(("replayed, cache %s" % size,
                         edgesim.replay(trace, config=args.config,
                                        overrides={"weight_store.cache_capacity": size})))
    m0 = recorded["metrics"]
    print("DIP at sparsity %.2f on activations from %s; %d steps" % (args.sparsity, activations,
                                                                      recorded["run"]["steps"]))
    print("  %-26s %12s %16s %16s" % ("run", "tokens/s", "flash B/token", "accuracy proxy"))
    for name, r in rows:
        m = r["metrics"]
        # The accuracy proxy needs the activations: the closed-loop run has them, a replay only the trace.
        proxy = m.get("sparsity", {}).get("accuracy_proxy") if r is recorded else None
        print("  %-26s %12.3f %16.0f %16s" % (name, m["tokens_per_s"], m["flash_bytes_per_token"],
                                              "%.4f" % proxy if proxy is not None else "-"))
    same = rows[1][1]["metrics"]["tokens_per_s"] == m0["tokens_per_s"]
    print("  the replay under the recorded config %s the closed-loop run" % ("matches" if same else "DIFFERS FROM"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
