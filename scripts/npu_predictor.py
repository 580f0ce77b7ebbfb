#!/usr/bin/python3
"""Baseline latency predictors trained on an `edgesim npu-dataset` folder.

    npu_predictor.py DATASET_DIR... [--test-fraction 0.2] [--seed 0] [--json OUT.json] [--threads 1]

(several folders, one per search space say, are read as one dataset).
Networks (all their configurations together) are split into training and held-out sets;
three predictors of the latency are fitted on the training networks and scored on the
held-out ones by MAPE (mean absolute percentage error), per NPU configuration and per
search space:

  macs     latency proportional to MACs, one factor per configuration (least squares on
           the log): the roofline-free rule of thumb;
  graph    gradient-boosted trees on the row's graph-level features (layers, MACs,
           parameters, sparsity, peak activations, input shape, op mix) plus aggregates
           of its per-layer features (MACs, parameters and output elements by layer kind,
           narrow layers), one model over all configurations (MACs/cycle a feature),
           fitted to log latency;
  layers   gradient-boosted trees on each layer's features (kind, shapes, kernel, stride,
           MACs, parameters, MACs/cycle) fitted to log(1 + layer cycles); a network's
           latency is the sum of its predicted layers.

Only features of the graph and the configuration go in; the annotations (cycles, bound,
utilisation, weight stream bytes) are the targets or stay out. Needs numpy and
scikit-learn (Debian's python3-sklearn; scripts/setup.sh installs it). Prints a table;
--json writes the figures. Exit 2 on a folder that is not a dataset.
"""
import argparse
import json
import math
import os
import sys
from collections import defaultdict

LAYER_KINDS = ["conv1x1", "conv", "depthwise", "fully_connected", "pool", "elementwise", "other"]


def fail(msg):
    print(f"npu_predictor: {msg}", file=sys.stderr)
    sys.exit(2)


def read_jsonl(path):
    if not os.path.isfile(path):
        fail(f"{path} does not exist (an edgesim npu-dataset --out folder holds it)")
    out = []
    with open(path) as f:
        for no, line in enumerate(f, 1):
            if not line.endswith("\n"):
                break  # a partial last line of an interrupted run
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                fail(f"{path} line {no}: not JSON")
    return out


def layer_kind(l):
    t = l["type"]
    if t == "conv2d":
        return "conv1x1" if l["kernel"] == "1x1" else "conv"
    if t == "depthwise_conv2d":
        return "depthwise"
    if t == "fully_connected":
        return "fully_connected"
    if t in ("avg_pool", "max_pool", "mean"):
        return "pool"
    if t in ("add", "sub", "mul", "hard_swish", "logistic", "tanh", "relu", "relu6", "softmax"):
        return "elementwise"
    return "other"


def shape(s):
    h, w, c = (int(x) for x in s.split("x"))
    return h, w, c


def layer_features(l, macs_per_cycle):
    ih, iw, ic = shape(l["input_shape"])
    oh, ow, oc = shape(l["output_shape"])
    kh, kw = (int(x) for x in l["kernel"].split("x"))
    kind = layer_kind(l)
    onehot = [1.0 if kind == k else 0.0 for k in LAYER_KINDS]
    return onehot + [
        math.log1p(l["macs"]), math.log1p(l["params"]), math.log1p(ih * iw * ic), math.log1p(oh * ow * oc),
        ih, iw, ic, oh, ow, oc, kh, kw, l["stride"], macs_per_cycle, float(l["on_cpu"]),
        math.log1p(l["macs"]) - math.log(macs_per_cycle),
    ]


def mape(pred, true):
    return 100.0 * sum(abs(p - t) / t for p, t in zip(pred, true)) / len(true)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", nargs="+")
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--threads", type=int, default=1,
                    help="OpenMP threads of the tree fits (default 1; the figures do not depend on it)")
    args = ap.parse_args()
    if args.threads < 1:
        fail(f"--threads {args.threads}: at least 1")
    # Read by the OpenMP and BLAS runtimes when numpy and scikit-learn load, so set first.
    # One thread by default: with the other core of a 2-core machine busy, the fits' many
    # short parallel regions spun for 124 s of CPU where one thread takes 3 s.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    try:
        import numpy as np
        from sklearn.ensemble import HistGradientBoostingRegressor
    except ImportError as e:
        fail(f"needs numpy and scikit-learn ({e}); scripts/setup.sh installs python3-sklearn")

    rows, layers = [], []
    for d in args.dataset:
        rows += read_jsonl(os.path.join(d, "results.jsonl"))
        layers += read_jsonl(os.path.join(d, "layers.jsonl"))
    if not rows:
        fail(f"{' '.join(args.dataset)}: no rows")
    by_point = defaultdict(list)
    for l in layers:
        by_point[l["point"]].append(l)

    # Graph-level features of each row.
    op_cols = sorted(k for k in rows[0]["metrics"] if k.startswith("n_"))
    base_cols = ["layers", "cpu_layers", "macs", "params", "weight_bytes", "weight_sparsity", "peak_activation_bytes",
                 "input_h", "input_w", "input_c"]
    logged = {"macs", "params", "weight_bytes", "peak_activation_bytes"}

    def graph_row(r):
        m = r["metrics"]
        f = [math.log1p(m[c]) if c in logged else float(m[c]) for c in base_cols]
        f += [float(m[c]) for c in op_cols]
        f += [m["macs_per_cycle"], math.log1p(m["macs"]) - math.log(m["macs_per_cycle"])]
        agg = defaultdict(float)
        for l in by_point[r["point"]]:
            k = layer_kind(l)
            oh, ow, oc = shape(l["output_shape"])
            agg["macs_" + k] += l["macs"]
            agg["params_" + k] += l["params"]
            agg["out_" + k] += oh * ow * oc
            agg["narrow"] += 1.0 if oc < 16 else 0.0
        f += [math.log1p(agg["macs_" + k]) for k in LAYER_KINDS]
        f += [math.log1p(agg["params_" + k]) for k in LAYER_KINDS]
        f += [math.log1p(agg["out_" + k]) for k in LAYER_KINDS]
        f.append(agg["narrow"])
        return f

    networks = sorted({r["axes"]["network"] for r in rows})
    rng = np.random.default_rng(args.seed)
    held = set(rng.choice(networks, size=max(1, int(round(args.test_fraction * len(networks)))), replace=False))
    train = [r for r in rows if r["axes"]["network"] not in held]
    test = [r for r in rows if r["axes"]["network"] in held]
    if not train or not test:
        fail(f"{len(networks)} networks are too few to hold some out")

    y_train = np.log([r["metrics"]["latency_s"] for r in train])
    truth = [r["metrics"]["latency_s"] for r in test]
    preds = {}

    # macs: log latency = log MACs + a per-configuration offset.
    offset = defaultdict(list)
    for r in train:
        offset[r["metrics"]["macs_per_cycle"]].append(math.log(r["metrics"]["latency_s"]) - math.log(r["metrics"]["macs"]))
    off = {k: sum(v) / len(v) for k, v in offset.items()}
    preds["macs"] = [math.exp(math.log(r["metrics"]["macs"]) + off.get(r["metrics"]["macs_per_cycle"], 0.0)) for r in test]

    # graph: trees on graph-level and aggregated per-layer features.
    g = HistGradientBoostingRegressor(max_iter=400, learning_rate=0.08, random_state=args.seed)
    g.fit(np.array([graph_row(r) for r in train]), y_train)
    preds["graph"] = list(np.exp(g.predict(np.array([graph_row(r) for r in test]))))

    # layers: trees on each layer, summed per network.
    clock = {}
    for r in rows:
        clock[r["point"]] = r["metrics"]["cycles"] / r["metrics"]["latency_s"]
    lx, ly = [], []
    for r in train:
        for l in by_point[r["point"]]:
            lx.append(layer_features(l, r["metrics"]["macs_per_cycle"]))
            ly.append(math.log1p(l["cycles"]))
    lm = HistGradientBoostingRegressor(max_iter=400, learning_rate=0.08, random_state=args.seed)
    lm.fit(np.array(lx), np.array(ly))
    preds["layers"] = []
    for r in test:
        ls = by_point[r["point"]]
        cyc = np.expm1(lm.predict(np.array([layer_features(l, r["metrics"]["macs_per_cycle"]) for l in ls]))).clip(0)
        preds["layers"].append(float(cyc.sum()) / clock[r["point"]])

    # MAPE per configuration and per space.
    result = {"dataset": args.dataset, "networks": len(networks), "held_out_networks": len(held), "rows": len(rows),
              "layers": len(layers), "models": {}}
    groups = {"all": lambda r: True}
    for c in sorted({r["axes"]["config"] for r in rows}):
        groups["config " + c] = lambda r, c=c: r["axes"]["config"] == c
    for s in sorted({r["axes"]["space"] for r in rows}):
        groups["space " + s] = lambda r, s=s: r["axes"]["space"] == s
    for name, p in preds.items():
        result["models"][name] = {}
        for gname, keep in groups.items():
            idx = [i for i, r in enumerate(test) if keep(r)]
            if idx:
                result["models"][name][gname] = {"mape_percent": mape([p[i] for i in idx], [truth[i] for i in idx]),
                                                 "rows": len(idx)}
    print(f"npu_predictor: {len(networks)} networks ({len(held)} held out), {len(rows)} rows, {len(layers)} layer rows")
    print(f"  held-out MAPE of latency (%)      {'macs':>8} {'graph':>8} {'layers':>8}   rows")
    for gname in groups:
        if gname not in result["models"]["graph"]:
            continue
        vals = " ".join(f"{result['models'][m][gname]['mape_percent']:8.2f}" for m in ("macs", "graph", "layers"))
        print(f"  {gname:<34} {vals}   {result['models']['graph'][gname]['rows']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
