#!/usr/bin/python3
"""Random architecture search against the NPU model, keeping the Pareto front.

    arch_search.py [--candidates N] [--seed S] [--device builtin:npu/ethos-u55-128.json]

Draws N random MobileNet-like int8 CNNs (a stem convolution, then depthwise-separable
blocks of random width, stride and count, global average pooling and a classifier) for a
96x96 grey input, as person_detect takes; estimates each on the NPU with
edgesim.npu_estimate (in this process, the plans cached); and keeps the Pareto front of
accuracy proxy (MACs: more capacity, more accuracy, as in the search literature's
FLOPs-constrained spaces) against NPU latency. Prints the front, fastest first.

The candidates are built here as edgesim.npu_network/1 dicts with random weights (their
values do not change the timing, only their count and zeros do): `random_network` is the
one function to swap for another design space's generator.
"""
import argparse
import random
import sys
import time

import edgesim


def tensor(name, h, w, c):
    return {"name": name, "shape": [h, w, c], "scale": 0.02, "zero_point": -128}


def conv(rng, name, inp, shape_in, out_c, kernel, stride, depthwise=False):
    """A conv2d (or depthwise_conv2d) with ReLU, "same" padding and random int8 weights."""
    h, w, in_c = shape_in
    oh, ow = -(-h // stride), -(-w // stride)
    oc = in_c if depthwise else out_c
    wshape = [1, kernel, kernel, oc] if depthwise else [oc, kernel, kernel, in_c]
    count = wshape[0] * wshape[1] * wshape[2] * wshape[3]
    op = {"name": name, "type": "depthwise_conv2d" if depthwise else "conv2d", "inputs": [inp],
          "output": tensor(name, oh, ow, oc), "stride": [stride, stride], "padding": "same",
          "activation": "relu",
          "weights": {"shape": wshape, "scales": [0.01] * oc, "data": [rng.randint(-127, 127) for _ in range(count)]},
          "bias": {"data": [rng.randint(-512, 512) for _ in range(oc)]}}
    return op, (oh, ow, oc)


def random_network(rng, index, classes=2):
    """One candidate of the space: stem width, block count, each block's width and stride."""
    ops = []
    shape = (96, 96, 1)
    op, shape = conv(rng, "stem", "input", shape, rng.choice([8, 16]), 3, 2)
    ops.append(op)
    last = "stem"
    for b in range(rng.randint(2, 6)):
        stride = rng.choice([1, 2]) if shape[0] > 3 else 1
        op, shape = conv(rng, "dw%d" % b, last, shape, 0, 3, stride, depthwise=True)
        ops.append(op)
        op, shape = conv(rng, "pw%d" % b, "dw%d" % b, shape, rng.choice([16, 32, 64, 128]), 1, 1)
        ops.append(op)
        last = "pw%d" % b
    h, w, c = shape
    ops.append({"name": "pool", "type": "avg_pool", "inputs": [last], "output": tensor("pool", 1, 1, c),
                "kernel": [h, w], "stride": [h, w], "padding": "valid"})
    ops.append({"name": "flat", "type": "reshape", "inputs": ["pool"],
                "output": {"name": "flat", "shape": [c], "scale": 0.02, "zero_point": -128}})
    ops.append({"name": "fc", "type": "fully_connected", "inputs": ["flat"],
                "output": {"name": "fc", "shape": [classes], "scale": 0.1, "zero_point": 0}, "activation": "none",
                "weights": {"shape": [classes, c], "scales": [0.01] * classes,
                            "data": [rng.randint(-127, 127) for _ in range(classes * c)]},
                "bias": {"data": [0] * classes}})
    return {"schema": "edgesim.npu_network/1", "name": "candidate%d" % index,
            "input": {"name": "input", "shape": [96, 96, 1], "scale": 0.0078125, "zero_point": -128,
                      "raw_scale": 1.0},
            "ops": ops}


def pareto_front(points):
    """The points no other point beats on both axes: more MACs and less latency."""
    front = []
    for p in sorted(points, key=lambda p: (p["latency_s"], -p["macs"])):
        if not front or p["macs"] > front[-1]["macs"]:
            front.append(p)
    return front


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="builtin:npu/ethos-u55-128.json")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    networks = [random_network(rng, i) for i in range(args.candidates)]
    start = time.perf_counter()
    # A candidate too big for the device comes back as its error, and is left out.
    results = edgesim.npu_estimate(networks, args.device, return_errors=True)
    seconds = time.perf_counter() - start
    estimates = [r for r in results if isinstance(r, dict)]
    misfits = [r for r in results if isinstance(r, edgesim.InputError)]
    front = pareto_front(estimates)
    print("%d candidates estimated in %.2f s (%.1f ms each, each network new: read and planned), "
          "%d did not fit the device; Pareto front of MACs against latency on %s:"
          % (len(networks), seconds, 1e3 * seconds / len(networks), len(misfits), estimates[0]["npu"]))
    print("  %-14s %12s %12s %14s %10s" % ("network", "MACs", "latency ms", "inferences/s", "MAC util"))
    for p in front:
        print("  %-14s %12d %12.3f %14.1f %9.1f%%" % (p["network"], p["macs"], 1e3 * p["latency_s"],
                                                    p["inferences_per_s"], 100 * p["mac_utilisation"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
