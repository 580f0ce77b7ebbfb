"""edgesim.run, record, replay and sweep: child processes of the binary, whose documents
are the command line's own for the same config and seed."""
import json
import os

import pytest

import edgesim
from conftest import cli_error

TINY = "builtin:experiments/tiny.json"


def test_run_is_the_cli_document_for_the_same_config_and_seed(cli_json):
    got = edgesim.run(TINY, seed=7, overrides={"weight_store.cache_policy": "lfu"})
    want = cli_json("run", "--config", TINY, "--seed", 7, "--set", "weight_store.cache_policy=\"lfu\"", "--no-progress")
    assert got == want
    assert got["config"]["run"]["seed"] == 7
    assert got["config"]["weight_store"]["cache_policy"] == "lfu"


def test_run_takes_a_dict_config(cli_json, tmp_path):
    resolved = edgesim.run(TINY, seed=3)["config"]
    again = edgesim.run(resolved)
    assert again["metrics"] == cli_json("run", "--config", TINY, "--seed", 3, "--no-progress")["metrics"]


def test_record_then_replay_is_the_cli_document(cli_json, tmp_path):
    trace = tmp_path / "t.trace"
    recorded = edgesim.record(TINY, trace, seed=2)
    assert trace.exists()
    assert recorded["run"]["mode"] == "closed_loop"
    got = edgesim.replay(trace)
    assert got == cli_json("replay", trace, "--no-progress")
    assert got["run"]["mode"] == "replay"
    assert got["metrics"]["tokens_per_s"] == recorded["metrics"]["tokens_per_s"]
    # Under another config: a smaller weight cache reads more from flash.
    small = edgesim.replay(trace, config=TINY, overrides={"weight_store.cache_capacity": "64 KiB"})
    assert small == cli_json("replay", trace, "--config", TINY, "--set", "weight_store.cache_capacity=64 KiB",
                             "--no-progress")


def test_sweep_returns_each_points_record(tmp_path):
    spec = {"base": TINY, "grid": {"weight_store.cache_policy": ["lru", "fifo"], "run.seed": [1, 2]}}
    records = edgesim.sweep(spec, jobs=2, out=tmp_path / "out")
    assert len(records) == 4
    assert all(r["status"] == "ok" for r in records)
    assert sorted(r["index"] for r in records) == [0, 1, 2, 3]
    # Each point's metrics are what a run of that point gives.
    r = next(r for r in records if r["axes"] == {"weight_store.cache_policy": "fifo", "run.seed": 2})
    one = edgesim.run(TINY, seed=2, overrides={"weight_store.cache_policy": "fifo"})
    assert r["metrics"] == one["metrics"]
    assert os.path.exists(tmp_path / "out" / "results.csv")


def test_run_bad_config_is_a_config_error_with_the_cli_message(cli, tmp_path):
    code, _, err = cli("run", "--config", TINY, "--set", "device.dram.channels=0", "--no-progress")
    assert code == 2
    with pytest.raises(edgesim.ConfigError) as e:
        edgesim.run(TINY, overrides={"device.dram.channels": 0})
    assert str(e.value) == cli_error(err)
    assert e.value.path == "device.dram.channels"
    assert isinstance(e.value, edgesim.InputError)


def test_replay_of_a_truncated_trace_is_an_input_error_with_file_and_offset(tmp_path):
    trace = tmp_path / "t.trace"
    edgesim.record(TINY, trace)
    data = trace.read_bytes()
    cut = tmp_path / "cut.trace"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(edgesim.InputError) as e:
        edgesim.replay(cut)
    assert e.value.file == str(cut)
    assert isinstance(e.value.offset, int) and 0 < e.value.offset <= len(data)
    assert "byte offset %d" % e.value.offset in str(e.value)


def test_a_child_that_dies_is_a_simulation_error(tmp_path, monkeypatch):
    # A stand-in binary that dies by a signal, as a crashed simulation would.
    fake = tmp_path / "edgesim"
    fake.write_text("#!/bin/sh\necho 'about to crash' >&2\nkill -SEGV $$\n")
    fake.chmod(0o755)
    monkeypatch.setenv("EDGESIM_BINARY", str(fake))
    with pytest.raises(edgesim.SimulationError, match="exit code -11: about to crash"):
        edgesim.run(TINY)


def test_the_cli_error_lines_map_to_the_exception_types():
    from edgesim._errors import from_child
    e = from_child(1, "edgesim: warn: x\nedgesim: simulation failed: simulation stopped with activity pending\n")
    assert type(e) is edgesim.SimulationError and str(e) == "simulation stopped with activity pending"
    e = from_child(2, "edgesim: error: config error at run.tokens: 0 is below 1\n")
    assert type(e) is edgesim.ConfigError and e.path == "run.tokens"
