"""Fixtures of the Python package's tests: where the binary, the sources and the
package are. ctest passes them in the environment (tests/CMakeLists.txt); run by hand:
    EDGESIM_BUILD=build /usr/bin/python3 -m pytest tests/python
"""
import json
import os
import subprocess
import sys

import pytest

SOURCE = os.environ.get("EDGESIM_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("EDGESIM_BUILD") or os.path.join(SOURCE, "build")
sys.path.insert(0, os.path.join(os.path.abspath(BUILD), "python"))

PERSON_DETECT = os.path.join(SOURCE, "configs", "networks", "tflite", "person_detect.tflite")
DIGITS = os.path.join(SOURCE, "configs", "networks", "digits.json")
U55 = "builtin:npu/ethos-u55-128.json"


@pytest.fixture(scope="session")
def cli():
    """Runs the edgesim binary: cli(args...) -> (exit code, stdout, stderr)."""
    exe = os.path.join(os.path.abspath(BUILD), "edgesim")

    def call(*args):
        p = subprocess.run([exe] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return p.returncode, p.stdout, p.stderr

    return call


@pytest.fixture(scope="session")
def cli_json(cli):
    """The results document of an edgesim command run with --format json."""

    def call(*args):
        code, out, err = cli(*args, "--format", "json")
        assert code == 0, err
        return json.loads(out)

    return call


def cli_error(stderr):
    """The message of the CLI's last "edgesim: error: ..." or "simulation failed" line."""
    for line in reversed(stderr.splitlines()):
        for prefix in ("edgesim: error: ", "edgesim: simulation failed: "):
            if line.startswith(prefix):
                return line[len(prefix):]
    raise AssertionError("no error line in: " + stderr)
