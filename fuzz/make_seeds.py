#!/usr/bin/env python3
"""Writes the text seeds of the fuzz corpora (fuzz/corpus/TARGET/) from the repository's
own configs and test fixtures, plus hand-made edge cases; the binary seeds come from
fuzz_make_seeds (fuzz/make_seeds.cpp), which this script runs when given its path:

    python3 fuzz/make_seeds.py [build-fuzz/fuzz_make_seeds]

Configs are rewritten to extend their parents as builtin:... (the fuzz targets read
their input from /proc/self/fd/N, where a relative "extends" finds nothing).
"""
import glob
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
SEPARATOR = b"\n--weights--\n"  # fuzz/npu_network_fuzz.cpp
WEIGHTS_FD = "900"


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def compact(doc):
    return json.dumps(doc, separators=(",", ":"))


def builtin_extends(path):
    """A config of configs/ with relative parents named as built-ins instead."""
    doc = json.load(open(os.path.join(ROOT, "configs", path)))
    base = os.path.dirname(path)
    ext = doc.get("extends")
    if ext is not None:
        parents = ext if isinstance(ext, list) else [ext]
        doc["extends"] = ["builtin:" + os.path.normpath(os.path.join(base, p)) for p in parents]
    doc.pop("description", None)
    return compact(doc)


def configs():
    for p in ["experiments/tiny.json", "experiments/default.json", "experiments/moe/tiny.json",
              "experiments/adapters/lora_fused.json", "experiments/llm-in-a-flash/opt-6.7b-window.json"]:
        out("config", p.replace("/", "-"), builtin_extends(p))
    tiny = {"extends": "builtin:experiments/tiny.json"}
    out("config", "units-and-set.json", compact({**tiny, "device": {"dram": {"capacity": "3.5 GiB"}},
                                                  "run": {"tokens": 2, "seed": 7}}))
    out("config", "inline-model.json", compact({"extends": "builtin:hw/phone.json",
                                                 "model": {"name": "m", "layers": 1, "hidden_size": 8,
                                                           "intermediate_size": 16, "heads": 2, "kv_heads": 1,
                                                           "vocab_size": 16, "max_context": 8}}))
    out("config", "empty-object.json", "{}")
    out("config", "not-json.json", '{"run": {"tokens": 1e999, "x": [')


def sweeps():
    for name in ["tiny-200.json", "cache-policies.json", "moe-lambda.json", "llm-in-a-flash-window.json"]:
        doc = json.load(open(os.path.join(ROOT, "configs", "sweeps", name)))
        doc.pop("description", None)
        out("sweep", name, compact(doc))
    base = "builtin:experiments/tiny.json"
    out("sweep", "range-zip-skip.json", compact({
        "base": base,
        "grid": {"run.tokens": {"range": [1, 3, 1]}},
        "zip": {"device.dram.capacity": ["3 GiB", "4 GiB"], "run.seed": [1, 2]},
        "skip": [{"run.tokens": 2, "run.seed": 1}]}))
    out("sweep", "inline-base.json", compact({"base": {"extends": base, "run": {"tokens": 1}},
                                               "grid": {"policy.name": ["dense"]}}))


def fixtures():
    npy = os.path.join(ROOT, "tests", "data", "npy")
    for f in sorted(os.listdir(npy)):
        if f.endswith(".npy"):
            shutil.copy(os.path.join(npy, f), os.path.join(CORPUS, "npy", f))
        elif f.endswith(".npz") and os.path.getsize(os.path.join(npy, f)) < 8000:
            shutil.copy(os.path.join(npy, f), os.path.join(CORPUS, "npz", f))
    out("npy", "header-only.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", 54) +
        b"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }".ljust(53) + b"\n")
    fault = os.path.join(ROOT, "tests", "data", "fault")
    for f in ["campaign-u55-128.json", "campaign-u55-32.json"]:
        out("fault_campaign", f, compact(json.load(open(os.path.join(fault, f)))))


def networks():
    for name in ["digits", "digits-pruned"]:
        doc = json.load(open(os.path.join(ROOT, "configs", "networks", name + ".json")))
        doc["weights_file"] = WEIGHTS_FD
        doc.pop("description", None)
        doc.pop("source", None)
        weights = open(os.path.join(ROOT, "configs", "networks", name + ".bin"), "rb").read()
        out("npu_network", name + ".seed", compact(doc).encode() + SEPARATOR + weights)
    # Inline weights, no weights file: a conv, a reshape, a fully connected layer.
    q = lambda shape, scale, zp: {"shape": shape, "scale": scale, "zero_point": zp}
    small = {
        "schema": "edgesim.npu_network/1", "name": "small",
        "input": {"name": "in", **q([4, 4, 1], 0.0039, -128)},
        "ops": [
            {"name": "c", "type": "conv2d", "inputs": ["in"], "output": {"name": "c", **q([4, 4, 2], 0.02, -128)},
             "stride": [1, 1], "padding": "same", "activation": "relu",
             "weights": {"shape": [2, 3, 3, 1], "scales": [0.01, 0.02], "data": list(range(-9, 9))},
             "bias": {"data": [5, -5]}},
            {"name": "f", "type": "reshape", "inputs": ["c"], "output": {"name": "f", **q([32], 0.02, -128)}},
            {"name": "fc", "type": "fully_connected", "inputs": ["f"], "output": {"name": "fc", **q([3], 0.1, 0)},
             "activation": "none",
             "weights": {"shape": [3, 32], "scales": [0.01, 0.01, 0.01], "data": [(i % 17) - 8 for i in range(96)]},
             "bias": {"data": [1, 2, 3]}}],
        "output": "fc"}
    out("npu_network", "inline-small.json", compact(small))


def inputs():
    row = ",".join(str((i * 7) % 17) for i in range(64))
    plain = "%s,3\n%s,7\n" % (row, row)
    out("input_csv", "two-labelled.csv", plain)
    out("input_csv", "unlabelled-crlf.csv", row + "\r\n\n" + row + "\r\n")
    out("input_csv", "two-labelled.csv.gz", gzip.compress(plain.encode(), mtime=0))


def dram():
    out("dram_trace", "text.txt", "# time_ns R|W address size\n0 R 0x1000 64\n1.5 W 2040 32\n"
        "1.5 R 0x80000000 128\n90 W 0x1000 64\n")


def dram_parts():
    # The built-in part files as they are (the loader reads a file by path; none extends another).
    for path in sorted(glob.glob(os.path.join(ROOT, "configs", "dram", "*.json"))):
        with open(path, "rb") as f:
            out("dram_part", os.path.basename(path), f.read())


def hf_configs():
    # The Hugging Face config.json fixtures as published (configs/hf/README.md), the small
    # edgesim model files, and hand-made configs of the smallest shapes: one per table row
    # that the fixtures lack (gpt2, gpt_neox, qwen2, gemma) and T5's gated-silu MLP.
    for path in sorted(glob.glob(os.path.join(ROOT, "configs", "hf", "*", "config.json"))):
        with open(path, "rb") as f:
            out("hf_config", os.path.basename(os.path.dirname(path)) + ".json", f.read())
    for name in ["tiny.json", "tiny-moe.json", "tiny-draft.json"]:
        doc = json.load(open(os.path.join(ROOT, "configs", "models", name)))
        doc.pop("description", None)
        out("hf_config", "edgesim-" + name, compact(doc))
    small = {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
             "vocab_size": 100, "max_position_embeddings": 64}
    out("hf_config", "small-qwen2.json", compact({"model_type": "qwen2", "num_key_value_heads": 2, **small}))
    out("hf_config", "small-gemma.json", compact({"model_type": "gemma", "head_dim": 32, **small}))
    out("hf_config", "small-gpt-neox.json", compact({"model_type": "gpt_neox", **small}))
    out("hf_config", "small-gpt2.json", compact({"model_type": "gpt2", "n_layer": 2, "n_embd": 64, "n_head": 4,
                                                 "vocab_size": 100, "n_positions": 64}))
    out("hf_config", "small-t5-gated-silu.json", compact({
        "model_type": "t5", "num_layers": 2, "num_decoder_layers": 1, "d_model": 64, "d_ff": 128, "num_heads": 4,
        "d_kv": 16, "vocab_size": 100, "feed_forward_proj": "gated-silu"}))


def results_folders():
    # Sweep output folders (fuzz/sweep_results_fuzz.cpp: sweep.json, then A's results.jsonl
    # and layers.jsonl, then B's, separated by "%%" lines). The two real ones,
    # sweep-tiny-2-shards.txt and npu-dataset-dscnn-2-shards.txt, were written by edgesim
    # itself (docs/fuzzing.md, Seeds); these are small hand-made cases beside them.
    manifest = {"schema": "edgesim.sweep/1", "sweep_id": "0123456789abcdef", "spec": "spec.json", "points": 3,
                "shard": {"index": 0, "count": 2}, "merged_from": []}
    ok = {"point": "aaaa", "index": 0, "axes": {"run.tokens": 1}, "status": "ok",
          "metrics": {"tokens_per_s": 2.5, "energy_breakdown_j": {"dram": 1e-3}, "names": [{"name": "a", "x": 1}]}}
    failed = {"point": "bbbb", "index": 1, "axes": {"run.tokens": 2}, "status": "failed", "exit_code": 2,
              "error": "config error"}
    sep = "\n%%\n"
    out("sweep_results", "hand-partial-last-line.txt",
        sep.join([compact(manifest), compact(ok) + "\n" + compact(failed)[:20], "", compact(failed) + "\n"]))
    other = dict(ok, metrics={"tokens_per_s": 3.5})
    out("sweep_results", "hand-conflict.txt",
        sep.join([compact(manifest), compact(ok) + "\n", "", compact(other) + "\n", ""]))


def regress_suites():
    # A suite and its first experiment's golden (fuzz/regress_fuzz.cpp), from the spine's.
    golden = os.path.join(ROOT, "tests", "golden", "spine")
    spine = json.load(open(os.path.join(ROOT, "configs", "regress", "spine.json")))
    spine.pop("description")
    with open(os.path.join(golden, "tiny.json")) as f:
        tiny = f.read()
    out("regress", "spine.txt", compact(spine) + "\n%%\n" + tiny)
    by_name = {e["name"]: e for e in spine["experiments"]}
    for name in ["tiny-int4", "tiny-command-dram", "npu-digits-128-flash", "npu-digits-32-sram-compressed"]:
        one = dict(spine, experiments=[by_name[name]])
        with open(os.path.join(golden, name + ".json")) as f:
            out("regress", name + ".txt", compact(one) + "\n%%\n" + f.read())


def npu_configs():
    # The built-in NPU devices, with their parents named as built-ins (builtin_extends).
    for path in sorted(glob.glob(os.path.join(ROOT, "configs", "npu", "*.json"))):
        rel = os.path.relpath(path, os.path.join(ROOT, "configs"))
        out("npu_config", os.path.basename(path), builtin_extends(rel))


def dict_line(token):
    esc = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "\\x%02x" % ord(c) for c in token)
    return '"%s"\n' % esc


def json_keys(doc, acc, strings):
    if isinstance(doc, dict):
        for k, v in doc.items():
            acc.add(k)
            json_keys(v, acc, strings)
    elif isinstance(doc, list):
        for v in doc:
            json_keys(v, acc, strings)
    elif isinstance(doc, str) and len(doc) <= 24 and "/" not in doc:
        strings.add(doc)


def write_dict(target, keys, values, extra=()):
    """libFuzzer dictionary: every key as "key": and every short string value quoted."""
    d = os.path.join(ROOT, "fuzz", "dict")
    os.makedirs(d, exist_ok=True)
    tokens = ['"%s":' % k for k in sorted(keys)] + ['"%s"' % v for v in sorted(values)] + list(extra)
    with open(os.path.join(d, target + ".dict"), "w") as f:
        f.write("# Generated by fuzz/make_seeds.py from the repository's own files: keys and short values.\n")
        for t in tokens:
            f.write(dict_line(t))


def dictionaries():
    """JSON keys and values of the formats with keywords, gathered from configs/ and the seeds."""
    def gather(paths):
        keys, values = set(), set()
        for p in paths:
            try:
                json_keys(json.load(open(p)), keys, values)
            except ValueError:
                pass
        return keys, values
    configs = [p for p in glob.glob(os.path.join(ROOT, "configs", "**", "*.json"), recursive=True)
               if not re.search(r"/(networks|fault|sweeps|regress)/", p)]
    k, v = gather(configs)
    extra = ['"builtin:"', '"builtin:experiments/tiny.json"', '"builtin:hw/phone.json"', '"extends"', '" GiB"',
             '" MiB"', '" GB/s"', '" ns"', '" GHz"', '"1e308"', '"-1"', '"1e-320"']
    write_dict("config", k, v, extra)
    sk, sv = gather(glob.glob(os.path.join(ROOT, "configs", "sweeps", "*.json")))
    write_dict("sweep", k | sk | {"base", "grid", "zip", "skip", "range"}, v | sv, extra)
    nk, nv = gather(glob.glob(os.path.join(ROOT, "configs", "networks", "*.json")))
    ops = ["add", "avg_pool", "concat", "conv2d", "depthwise_conv2d", "fully_connected", "hard_swish",
           "leaky_relu", "logistic", "max_pool", "mean", "mul", "none", "pad", "quantize", "relu", "relu6",
           "relu_n1_to_1", "reshape", "resize_bilinear", "resize_nearest", "softmax", "strided_slice", "sub",
           "tanh", "transpose", "same", "valid"]
    write_dict("npu_network", nk | {"constants", "multiplier", "alpha", "beta", "axis", "axes", "perm", "begin",
                                    "end", "strides", "paddings", "size", "keep_dims", "depth_multiplier",
                                    "dilation", "offset", "count"},
               nv | set(ops), ['"edgesim.npu_network/1"', '"900"', '"1e308"', '"1e-300"', '"-129"', '"2147483648"',
                               "\n--weights--\n"])
    fk, fv = gather(glob.glob(os.path.join(ROOT, "tests", "data", "fault", "*.json")))
    write_dict("fault_campaign", fk, fv, ['"edgesim.fault_campaign/1"', '"1e308"', '"-1"', '"nan"'])
    with open(os.path.join(ROOT, "fuzz", "dict", "npy.dict"), "w") as f:
        f.write("# .npy header keywords (NumPy's format.py), written by fuzz/make_seeds.py\n")
        for t in ["\x93NUMPY", "'descr'", "'fortran_order'", "'shape'", "'<f4'", "'<f2'", "'<f8'", "'>f4'",
                  "'<i4'", "True", "False", "(", ")", ", ", "99999999999"]:
            f.write(dict_line(t))
    with open(os.path.join(ROOT, "fuzz", "dict", "npz.dict"), "w") as f:
        f.write("# ZIP signatures and .npz names, written by fuzz/make_seeds.py\n")
        for t in ["PK\x03\x04", "PK\x01\x02", "PK\x05\x06", "PK\x06\x06", "PK\x06\x07", "meta.json",
                  ".npy", "layers.0.attn.qkv", "\x93NUMPY", "'shape'", "'descr'", "'<f4'"]:
            f.write(dict_line(t))
    pk, pv = gather(glob.glob(os.path.join(ROOT, "configs", "dram", "*.json")))
    write_dict("dram_part", pk, pv, ['"edgesim.dram_part/1"', '" nCK"', '" ns"', '" us"', '"max("', '" mA"',
                                     '" V"', '" pJ/bit"', '"1e30 nCK"', '"0 nCK"', '"nan ns"', '"-1"'])
    hk, hv = gather(glob.glob(os.path.join(ROOT, "configs", "hf", "*", "config.json")))
    write_dict("hf_config", hk | {"n_inner", "ffn_hidden_size", "num_kv_heads", "num_ln_in_parallel_attn",
                                  "word_embed_proj_dim", "enable_bias", "use_parallel_residual", "mlp_only_layers",
                                  "decoder_sparse_step", "moe_layer_freq", "use_sliding_window", "mlp_bias",
                                  "lm_head_bias", "attention_bias", "head_dim", "num_key_value_heads"},
               hv | {"gpt2", "gpt_neox", "qwen2", "gemma", "gated-silu", "gated-gelu", "gelu_new", "swish"},
               ['"model_type"', "0", "null", "true", "false", "-1", "1e308", "18446744073709551615",
                "4294967296"])
    uk, uv = gather(glob.glob(os.path.join(ROOT, "configs", "npu", "*.json")))
    write_dict("npu_config", uk | {"name", "npu", "cpu", "sram", "flash", "dram", "extends"},
               uv, ['"builtin:npu/ethos-u55-128.json"', '" MiB"', '" KiB"', '" GB/s"', '" MHz"', '" ns"', '"-1"',
                    '"1e308"', '"0"'])
    write_dict("sweep_results", {"schema", "sweep_id", "spec", "points", "shard", "index", "count", "merged_from",
                                  "point", "axes", "status", "metrics", "exit_code", "error", "layer", "name"},
               {"edgesim.sweep/1", "ok", "failed"},
               ['"npu-dataset {', "\n%%\n", "\n", "0", "-1", "1e308", "18446744073709551615", "null", "[]", "{}"])
    rk, rv = gather([os.path.join(ROOT, "configs", "regress", "spine.json")])
    write_dict("regress", rk | {"description", "golden_dir", "input", "schema", "suite", "experiment",
                                "config_hash", "metrics", "rel", "abs"},
               rv | {"edgesim.golden/1"}, ["\n%%\n", "0", "-1", "1e308", "null", '"nan"'])
    with open(os.path.join(ROOT, "fuzz", "dict", "dram_trace.dict"), "w") as f:
        f.write("# DRAM request trace tokens (models/memory/dram_trace.hpp), written by fuzz/make_seeds.py\n")
        for t in ["EDGESIMR", " R ", " W ", "0x", "#", "\n", "\x14\x00\x00\x00", "\x01\x00\x00\x00"]:
            f.write(dict_line(t))
    with open(os.path.join(ROOT, "fuzz", "dict", "trace.dict"), "w") as f:
        f.write("# Trace file tokens (traces/trace_format.hpp), written by fuzz/make_seeds.py\n")
        for t in ["EDGESIMT", "\x01\x00\x00\x00", '"tensors"', '"chunks"', '"chunk_bytes"', '"ops"', '"model"',
                  '"policy"', '"version"', "S", "E", "\xff\xff\xff\xff\x0f"]:
            f.write(dict_line(t))


def main():
    for d in ["config", "sweep", "npy", "npz", "fault_campaign", "npu_network", "input_csv", "dram_trace",
              "dram_part", "trace", "tflite", "hf_config", "npu_config", "sweep_results", "regress"]:
        os.makedirs(os.path.join(CORPUS, d), exist_ok=True)
    configs()
    sweeps()
    fixtures()
    networks()
    inputs()
    dram()
    dram_parts()
    hf_configs()
    npu_configs()
    results_folders()
    regress_suites()
    dictionaries()
    if len(sys.argv) > 1:
        subprocess.run([sys.argv[1], CORPUS], check=True)
        shutil.copy(os.path.join(ROOT, "configs", "networks", "tflite", "micro_speech_quantized.tflite"),
                    os.path.join(CORPUS, "tflite", "micro_speech_quantized.tflite"))


if __name__ == "__main__":
    main()
