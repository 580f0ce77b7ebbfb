"""edgesim.npu and edgesim.npu_estimate: the same documents as `edgesim npu`, in-process."""
import json
import threading

import pytest

import edgesim
from conftest import DIGITS, PERSON_DETECT, U55, cli_error


def test_version_is_the_binarys(cli):
    code, out, _ = cli("--version")
    assert code == 0
    assert out.split()[:2] == ["edgesim", edgesim.__version__]


def test_npu_fast_is_the_cli_document(cli_json):
    assert edgesim.npu(PERSON_DETECT, U55) == cli_json("npu", "--network", PERSON_DETECT, "--config", U55,
                                                       "--timing", "fast")


def test_npu_with_inputs_and_overrides_is_the_cli_document(cli_json, tmp_path):
    # Two digits inputs (64 raw values each, then a label): accuracy and bit-exactness.
    csv = tmp_path / "in.csv"
    csv.write_text(",".join(["3"] * 64) + ",0\n" + ",".join(str(i % 16) for i in range(64)) + ",7\n")
    got = edgesim.npu(DIGITS, U55, inputs=str(csv), overrides={"device.npu.macs": 256})
    want = cli_json("npu", "--network", DIGITS, "--config", U55, "--timing", "fast", "--input", csv,
                    "--set", "device.npu.macs=256")
    assert got == want
    assert got["metrics"]["inputs"]["count"] == 2
    assert got["metrics"]["macs_per_cycle"] == 256


def test_npu_systemc_runs_in_a_child_and_is_the_cli_document(cli_json):
    got = edgesim.npu(DIGITS, U55, timing="systemc")
    assert got == cli_json("npu", "--network", DIGITS, "--config", U55, "--timing", "systemc")
    assert got["run"]["timing"] == "systemc"


def test_npu_takes_tflite_bytes_and_dicts():
    by_path = edgesim.npu(PERSON_DETECT, U55)["metrics"]
    with open(PERSON_DETECT, "rb") as f:
        by_bytes = edgesim.npu(f.read(), U55)["metrics"]
    assert by_bytes["cycles"] == by_path["cycles"] > 0
    assert by_bytes["energy_J"] == by_path["energy_J"]
    with open(DIGITS) as f:
        doc = json.load(f)
    # A dict's weights_file is found from the working directory: make it absolute.
    doc["weights_file"] = DIGITS[: -len(".json")] + ".bin"
    device = edgesim.npu(DIGITS, U55)["config"]
    assert edgesim.npu(doc, device)["metrics"]["cycles"] == edgesim.npu(DIGITS, U55)["metrics"]["cycles"]


def test_npu_estimate_is_the_cli_metrics(cli_json):
    metrics = cli_json("npu", "--network", PERSON_DETECT, "--config", U55, "--timing", "fast")["metrics"]
    estimates = edgesim.npu_estimate([PERSON_DETECT] * 3, U55)
    assert len(estimates) == 3
    for e in estimates:
        assert set(e) == set(metrics) - {"layers", "inputs"}
        for key, value in e.items():
            assert value == metrics[key], key


def test_npu_estimate_pairs_networks_with_devices():
    small, big = "builtin:npu/ethos-u55-32.json", "builtin:npu/ethos-u55-256.json"
    e = edgesim.npu_estimate([PERSON_DETECT, PERSON_DETECT, DIGITS], [small, big, big])
    assert [x["macs_per_cycle"] for x in e] == [32, 256, 256]
    assert e[0]["cycles"] > e[1]["cycles"]  # 8x the MACs: fewer cycles
    assert e[2]["network"] == "digits"
    with pytest.raises(edgesim.InputError, match="2 networks and 1 devices"):
        edgesim.npu_estimate([PERSON_DETECT, DIGITS], [small])
    with pytest.raises(TypeError):
        edgesim.npu_estimate(PERSON_DETECT, small)


def test_npu_estimate_from_threads_at_once():
    want = edgesim.npu_estimate([PERSON_DETECT, DIGITS], U55)
    results, errors = {}, []

    def work(i):
        try:
            results[i] = edgesim.npu_estimate([PERSON_DETECT, DIGITS] * 100, U55)
        except Exception as e:  # reported below, with the thread
            errors.append((i, e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 4
    for r in results.values():
        assert len(r) == 200
        assert all(x == want[i % 2] for i, x in enumerate(r))


def test_npu_timing_other_than_fast_or_systemc_is_the_cli_error(cli):
    code, _, err = cli("npu", "--network", DIGITS, "--config", U55, "--timing", "slow")
    assert code == 2
    with pytest.raises(edgesim.InputError) as e:
        edgesim.npu(DIGITS, U55, timing="slow")
    assert str(e.value) == cli_error(err)


def test_npu_estimate_returns_errors_in_place_when_asked():
    device = edgesim.npu(DIGITS, U55)["config"]
    device["device"]["sram"]["capacity"] = "64 KiB"  # person_detect's activations need more
    with pytest.raises(edgesim.ConfigError) as e:
        edgesim.npu_estimate([DIGITS, PERSON_DETECT], device)
    assert e.value.path == "device.sram"
    got = edgesim.npu_estimate([DIGITS, PERSON_DETECT, DIGITS], device, return_errors=True)
    assert isinstance(got[1], edgesim.ConfigError) and got[1].path == "device.sram"
    assert str(got[1]) == str(e.value)
    assert got[0] == got[2] and got[0]["network"] == "digits"
