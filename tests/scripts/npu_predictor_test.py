#!/usr/bin/python3
"""scripts/npu_predictor.py and scripts/npu_dataset_plot.py on a small generated dataset:
the predictor reports a held-out MAPE for every configuration and space, its models beat
the MACs-only rule, and the plot is a PNG; a folder that is not a dataset exits 2.

usage: npu_predictor_test.py EDGESIM SOURCE_DIR
Exit 0 passed, 1 failed, 77 skipped (scikit-learn or matplotlib missing).
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def run(cmd, timeout=600):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def main():
    edgesim, src = sys.argv[1], sys.argv[2]
    try:
        import sklearn  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as e:
        print(f"npu predictor test: SKIP: {e} (scripts/setup.sh installs python3-sklearn and python3-matplotlib)")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="edgesim-predictor-")
    try:
        dirs = []
        for space, sets in (("dscnn", ["dscnn.channels_max=128"]),
                            ("mobilenetv2", ["mobilenetv2.resolution_max=128", "mobilenetv2.classes=100"])):
            d = os.path.join(tmp, space)
            cmd = [edgesim, "npu-dataset", "--space", space, "--count", "60", "--configs", "32,256", "--seed", "3",
                   "--out", d, "--jobs", "2"]
            for s in sets:
                cmd += ["--set", s]
            run(cmd)
            dirs.append(d)
        out = os.path.join(tmp, "p.json")
        r = run(["/usr/bin/python3", os.path.join(src, "scripts/npu_predictor.py"), *dirs, "--json", out])
        print(r.stdout)
        with open(out) as f:
            p = json.load(f)
        assert p["networks"] == 120 and p["held_out_networks"] == 24, p
        groups = ["all", "config ethos-u55-32", "config ethos-u55-256", "space dscnn", "space mobilenetv2"]
        for model in ("macs", "graph", "layers"):
            for g in groups:
                m = p["models"][model][g]["mape_percent"]
                assert math.isfinite(m) and m >= 0, (model, g, m)
        for model in ("graph", "layers"):
            assert p["models"][model]["all"]["mape_percent"] < p["models"]["macs"]["all"]["mape_percent"], p["models"]
        png = os.path.join(tmp, "plot.png")
        run(["/usr/bin/python3", os.path.join(src, "scripts/npu_dataset_plot.py"), "--out", png, *dirs])
        with open(png, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", "the plot is not a PNG"
        bad = subprocess.run(["/usr/bin/python3", os.path.join(src, "scripts/npu_predictor.py"), tmp],
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "does not exist" in bad.stderr, (bad.returncode, bad.stderr)
        print("npu predictor test: PASS")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"npu predictor test: FAIL: {e}")
        sys.exit(1)
