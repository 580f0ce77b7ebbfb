"""edgesim.describe, dram, fault and fault_plan: in-process, the command line's documents."""
import json

import pytest

import edgesim
from conftest import DIGITS, SOURCE, U55, cli_error


def test_describe_lists_every_kind():
    names = [k["name"] for k in edgesim.describe()["kinds"]]
    assert "dram" in names and "policy" in names


def test_describe_is_the_cli_json(cli):
    for what in ([], ["dram"], ["dram", "bandwidth"]):
        code, out, err = cli("describe", *what, "--format", "json")
        assert code == 0, err
        assert edgesim.describe(*what) == json.loads(out)
    one = edgesim.describe("dram", "bandwidth")
    assert [c["name"] for c in one["components"]] == ["bandwidth"]
    keys = {p["key"]: p for p in one["components"][0]["params"]}
    assert keys["channels"]["type"] and "description" in keys["channels"]


def test_describe_unknown_kind_is_the_cli_error(cli):
    code, _, err = cli("describe", "drma")
    assert code == 2
    with pytest.raises(edgesim.InputError) as e:
        edgesim.describe("drma")
    assert str(e.value) == cli_error(err)
    assert "did you mean 'dram'" in str(e.value)


def dram_trace(cli, path, count=200):
    code, _, err = cli("dram", "gen", "--pattern", "random", "--count", count, "-o", path)
    assert code == 0, err
    return path


def test_dram_is_the_cli_document(cli, cli_json, tmp_path):
    trace = dram_trace(cli, tmp_path / "t.txt")
    got = edgesim.dram(trace, part="lpddr5-6400")
    assert got == cli_json("dram", "--part", "lpddr5-6400", "--trace", trace)
    assert got["metrics"]["requests"] == 200
    closed = edgesim.dram(trace, part="lpddr5-6400", overrides={"device.dram.page_policy": "closed"})
    assert closed == cli_json("dram", "--part", "lpddr5-6400", "--trace", trace, "--set",
                              "device.dram.page_policy=closed")
    # A dict config: the resolved one of the run before gives the same metrics.
    assert edgesim.dram(trace, config=got["config"])["metrics"] == got["metrics"]


def test_dram_without_the_command_model_is_a_config_error(cli, tmp_path):
    trace = dram_trace(cli, tmp_path / "t.txt")
    code, _, err = cli("dram", "--config", "builtin:experiments/tiny.json", "--trace", trace)
    assert code == 2
    with pytest.raises(edgesim.ConfigError) as e:
        edgesim.dram(trace, config="builtin:experiments/tiny.json")
    assert e.value.path == "device.dram.model"
    assert str(e.value) == cli_error(err)


FAULT_ARGS = ["--samples", "300", "--seed", "5", "--jobs", "2", "--sampling", "both"]


def test_fault_campaign_is_the_cli_document(cli_json):
    got = edgesim.fault(DIGITS, U55, samples=300, seed=5, jobs=2)
    want = cli_json("fault", "--network", DIGITS, "--config", U55, *FAULT_ARGS)
    assert got == want
    assert got["injections"] == 300 and "naive_uniform" in got
    # Worker threads do not change the result.
    assert edgesim.fault(DIGITS, U55, samples=300, seed=5, jobs=1) == got


def test_fault_plan_from_a_campaign_dict_and_file(cli_json, tmp_path):
    # Enough injections that every block with live bits is sampled (the plan needs each).
    campaign = edgesim.fault(DIGITS, U55, samples=1000, seed=5, jobs=2, sampling="proportional")
    path = tmp_path / "campaign.json"
    path.write_text(json.dumps(campaign))
    from_file = edgesim.fault_plan(path)
    assert from_file == cli_json("fault-plan", "--campaign", path)
    from_dict = edgesim.fault_plan(campaign, derating="ci_high")
    assert from_dict["campaign"]["path"] == "<dict>"
    assert from_dict["settings"]["derating"] == "ci_high"
    committed = SOURCE + "/tests/data/fault/campaign-u55-128.json"
    assert edgesim.fault_plan(committed, macs=128) == cli_json("fault-plan", "--campaign", committed, "--macs", 128)


def test_fault_argument_errors_are_the_cli_messages(cli):
    code, _, err = cli("fault", "--network", DIGITS, "--config", U55, "--samples", 10, "--error-margin", 0.1)
    assert code == 2
    with pytest.raises(edgesim.InputError) as e:
        edgesim.fault(DIGITS, U55, samples=10, error_margin=0.1)
    assert str(e.value) == cli_error(err)


def test_bad_tflite_bytes_are_an_input_error_with_the_offset(tmp_path):
    with open(SOURCE + "/configs/networks/tflite/person_detect.tflite", "rb") as f:
        data = bytearray(f.read())
    data[0:4] = (len(data) + 100).to_bytes(4, "little")  # the root table offset, past the end
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(bytes(data))
    with pytest.raises(edgesim.InputError) as e:
        edgesim.npu(bad, U55)
    assert e.value.file == str(bad)
    assert e.value.offset == 0
    with pytest.raises(edgesim.InputError) as e:
        edgesim.npu_estimate([bytes(data)], U55)
    assert e.value.file == "<bytes>"


def test_config_errors_in_process_carry_the_json_path(cli):
    code, _, err = cli("npu", "--network", DIGITS, "--config", U55, "--set", "device.npu.macs=100")
    assert code == 2
    with pytest.raises(edgesim.ConfigError) as e:
        edgesim.npu(DIGITS, U55, overrides={"device.npu.macs": 100})
    assert str(e.value) == cli_error(err)
    assert e.value.path == "device.npu.macs"
    with pytest.raises(edgesim.ConfigError) as e:
        edgesim.npu_estimate([DIGITS], {"device": {"npu": {"macs": 128, "clock": "fast"}}})
    assert e.value.path.startswith("device.")


def test_integers_beyond_64_bits_are_read_as_the_cli_reads_their_digits(cli):
    # They raised pybind11's RuntimeError "Unable to cast Python instance to C++ type".
    # The same digits in a config file or --set are a double, which the key then refuses.
    code, _, err = cli("npu", "--network", DIGITS, "--config", U55, "--set", f"device.npu.macs={2**70}")
    assert code == 2
    with pytest.raises(edgesim.ConfigError) as e:
        edgesim.npu(DIGITS, {"device": {"npu": {"macs": 2**70}}})
    assert e.value.path == "device.npu.macs"
    assert "expected an integer, got a number (1.1805916207174113e+21)" in str(e.value)
    assert "expected an integer, got a number (1.1805916207174113e+21)" in err
    with pytest.raises(ValueError, match=r"device.device.npu.macs: an integer of 401 digits has no JSON form"):
        edgesim.npu(DIGITS, {"device": {"npu": {"macs": 10**400}}})


def test_non_json_values_are_type_errors():
    with pytest.raises(TypeError, match="device.device"):
        edgesim.npu(DIGITS, {"device": object()})
