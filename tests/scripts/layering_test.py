#!/usr/bin/env python3
"""scripts/check_layering.py fails on a planted violation of each rule, naming the file,
the line and the rule, and passes the tree as it is.

    layering_test.py SOURCE_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.abspath(sys.argv[1])
CHECKER = os.path.join(SRC, "scripts", "check_layering.py")


def run(root):
    p = subprocess.run([sys.executable, CHECKER, root], capture_output=True, text=True)
    return p.returncode, p.stdout


def copy_tree(dst):
    for top in ("sim", "models", "traces"):
        shutil.copytree(os.path.join(SRC, top), os.path.join(dst, top))


def plant(root, path, line):
    """Appends an include to `path`; returns the line number it lands on."""
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    text = open(full).read() if os.path.exists(full) else ""
    if text and not text.endswith("\n"):
        text += "\n"
    text += line + "\n"
    open(full, "w").write(text)
    return text.count("\n")


failures = []


def expect(name, ok, detail):
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        failures.append(name)
        print(detail)


with tempfile.TemporaryDirectory() as tmp:
    clean = os.path.join(tmp, "clean")
    copy_tree(clean)
    rc, out = run(clean)
    expect("the tree as it is passes", rc == 0, out)

    cases = [
        ("a model includes the engine", "models/npu/network.hpp", '#include "sim/experiment.hpp"',
         "models/ includes only models/ and sim/core/"),
        ("a model includes the workload", "models/cache/weight_store.hpp", '#include "traces/model_layout.hpp"',
         "models/ includes only models/ and sim/core/"),
        ("the workload includes a model", "traces/adapter.cpp", '#include "models/cache/weight_store.hpp"',
         "traces/ includes only traces/ and sim/core/"),
        ("the foundation includes the engine", "sim/core/errors.hpp", '#include "sim/results.hpp"',
         "sim/core/ includes only sim/core/"),
        ("the foundation includes a model", "sim/core/stats.cpp", '#include "models/memory/dram.hpp"',
         "sim/core/ includes only sim/core/"),
        ("the engine includes the CLI", "sim/experiment.cpp", '#include "sim/cli/commands.hpp"',
         "the engine (sim/ outside sim/core/ and sim/cli/) never includes sim/cli/"),
        ("a relative include is resolved", "models/npu/timing.cpp", '#include "../../sim/top.hpp"',
         "models/ includes only models/ and sim/core/"),
    ]
    for i, (name, path, line, rule) in enumerate(cases):
        root = os.path.join(tmp, f"case{i}")
        copy_tree(root)
        n = plant(root, path, line)
        rc, out = run(root)
        expect(name, rc == 1 and f"{path}:{n}:" in out and rule in out, out)

    # Two model folders that include each other: a folder cycle, though each include alone
    # keeps to its floor.
    root = os.path.join(tmp, "cycle")
    copy_tree(root)
    plant(root, "models/memory/flash.cpp", '#include "models/npu/arch.hpp"')
    rc, out = run(root)
    expect("two model folders that include each other", rc == 1 and "folder cycle models/memory <-> models/npu" in out,
           out)

sys.exit(1 if failures else 0)
