#!/usr/bin/python3
"""Writes the NumPy fixtures that tests/unit/npy_test.cpp and activation_file_test.cpp read.

Run from anywhere with Debian's NumPy:  /usr/bin/python3 tests/data/npy/make_fixtures.py
The .npy files come out byte for byte the same on every run. The .npz files written by
np.savez / np.savez_compressed hold the time of writing in their ZIP headers, so they
differ in those bytes only; their contents are the same. The C++ tests hard-code the
values below (exact in float16/float32), so change both together.

captured_tiny_llama.npz is not written here: scripts/capture_activations.py wrote it
(torch 2.11, transformers 5.17, numpy 2.5) from the tiny random Llama that
tests/scripts/test_capture.py builds:
    python3 -c "import test_capture as t; t.build_model('/tmp/m')"   # in tests/scripts
    python3 scripts/capture_activations.py --model /tmp/m --prompt "the quick" --tokens 2 \
        -o captured_tiny_llama.npz --device cpu --compress
Random initialisation differs between torch versions, so a rerun elsewhere gives other
values; activation_file_test.cpp hard-codes a few of this file's.
"""
import io
import json
import os
import struct
import sys
import zipfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


# IEEE binary16 bit patterns and what they mean (checked by the C++ test):
F16_BITS = [
    0x0000,  # +0
    0x8000,  # -0
    0x3C00,  # 1
    0xC100,  # -2.5
    0x2E66,  # 0.0999755859375 (0.1 rounded)
    0x7BFF,  # 65504, the largest finite
    0xFBFF,  # -65504
    0x0400,  # 2^-14, the smallest normal
    0x0001,  # 2^-24, the smallest subnormal
    0x0200,  # 2^-15, a subnormal
    0x83FF,  # -1023 * 2^-24, the largest subnormal, negative
    0x7C00,  # +inf
    0xFC00,  # -inf
    0x7E00,  # quiet NaN
    0x7C01,  # signalling NaN with payload 1
]


def activation_value(layer, kind, token, feature):
    """The pattern of the fake activations: multiples of 1/8, exact in float16."""
    return ((layer * 31 + kind * 17 + token * 7 + feature) % 23 - 11) / 8.0


ACT_KINDS = ["attn.qkv", "attn.o", "mlp.gate_up", "mlp.down"]


def write_activations(name, layers, tokens, prompt_tokens, features, skip=(), bad=None, meta_patch=None):
    """An .npz laid out as scripts/capture_activations.py writes it (docs/activations.md).

    skip: entry names left out; bad: {entry name: features} to write a wrong width;
    meta_patch: meta.json keys written over the right ones."""
    bad = bad or {}
    arrays = {}
    for layer in range(layers):
        for k, kind in enumerate(ACT_KINDS):
            entry = f"layers.{layer}.{kind}"
            if entry in skip:
                continue
            width = bad.get(entry, features[kind])
            a = np.empty((tokens, width), dtype=np.float16)
            for t in range(tokens):
                for j in range(width):
                    a[t, j] = activation_value(layer, k, t, j)
            arrays[entry] = a
    meta = {
        "format": "edgesim-activations",
        "version": 1,
        "model": "fixture (not a real model)",
        "model_type": "llama",
        "layers": layers,
        "hidden_size": features["attn.qkv"],
        "intermediate_size": features["mlp.down"],
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": features["attn.o"] // 4,
        "vocab_size": 256,
        "features": features,
        "tokens": tokens,
        "prompt_tokens": prompt_tokens,
        "decode_tokens": tokens - prompt_tokens,
        "token_ids": list(range(1, tokens + 1)),
        "prompt": "fixture",
        "decoding": {"do_sample": False, "seed": 0},
        "dtype": "float16",
    }
    meta.update(meta_patch or {})
    np.savez_compressed(path(name), **arrays)
    with zipfile.ZipFile(path(name), "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("meta.json", json.dumps(meta, indent=1))


def write_zip64(name, arrays, comment):
    """A stored archive whose every size and offset goes through ZIP64 fields (APPNOTE
    4.3.14-4.3.16, 4.5.3), as a capture over 4 GiB needs; Python's zipfile only writes
    them for large archives. Fixed timestamps, so the bytes are reproducible."""
    out = bytearray()
    central = bytearray()
    dos_time, dos_date = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00
    for key, arr in arrays.items():
        fname = (key + ".npy").encode()
        buf = io.BytesIO()
        np.lib.format.write_array(buf, arr)
        data = buf.getvalue()
        crc = zlib.crc32(data)
        offset = len(out)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, dos_time, dos_date, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(fname), len(local_extra))
        out += fname + local_extra + data
        central_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, dos_time, dos_date,
                               crc, 0xFFFFFFFF, 0xFFFFFFFF, len(fname), len(central_extra), 0, 0, 0,
                               0, 0xFFFFFFFF)
        central += fname + central_extra
    dir_at = len(out)
    out += central
    end64_at = len(out)
    n = len(arrays)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), dir_at)
    out += struct.pack("<IIQI", 0x07064B50, 0, end64_at, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                       len(comment))
    out += comment
    with open(path(name), "wb") as f:
        f.write(out)


def main():
    np.save(path("f2_special.npy"), np.array(F16_BITS, dtype="<u2").view("<f2"))
    np.save(path("f4_3d.npy"), (np.arange(24, dtype="<f4") * 0.25 - 3).reshape(2, 3, 4))
    flt_max = float(np.finfo(np.float32).max)
    np.save(path("f8_2d.npy"), np.array([[1 / 3, -2 / 7], [0.1, -0.0], [1e300, 5e-324],
                                         [flt_max + 2.0**102, -1e39]], dtype="<f8"))
    for version in [(2, 0), (3, 0)]:
        with open(path(f"v{version[0]}_header.npy"), "wb") as f:
            np.lib.format.write_array(f, np.arange(5, dtype="<f4") - 2, version=version)
    np.save(path("scalar.npy"), np.array(2.5, dtype="<f4"))
    np.save(path("empty.npy"), np.zeros((0, 3), dtype="<f4"))
    np.save(path("fortran.npy"), np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    np.save(path("i4.npy"), np.arange(4, dtype="<i4"))
    np.save(path("be_f4.npy"), np.arange(3, dtype=">f4"))

    a = (np.arange(6, dtype="<f4") * 1.5 - 4).reshape(2, 3)
    b = np.array([0.5, -1, 65504, 2**-24], dtype="<f2")
    np.savez(path("stored.npz"), a=a, b=b)
    np.savez_compressed(path("compressed.npz"), a=a, b=b, zeros=np.zeros(256, dtype="<f4"))
    write_zip64("zip64.npz", {"a": a, "b": b}, b"edgesim ZIP64 fixture")

    # The tiny Llama of tests/scripts/test_capture.py: 2 layers, hidden 64, 4 heads of 16,
    # intermediate 128. Three tokens: two of prompt, one decoding step.
    features = {"attn.qkv": 64, "attn.o": 64, "mlp.gate_up": 64, "mlp.down": 128}
    write_activations("activations.npz", 2, 3, 2, features)
    write_activations("activations_missing.npz", 2, 2, 1, features, skip={"layers.1.attn.o"})
    write_activations("activations_bad_shape.npz", 2, 2, 1, features, bad={"layers.1.mlp.down": 127})
    write_activations("activations_float_count.npz", 1, 2, 1, features, meta_patch={"layers": 1.6e18})

    # Self-check: NumPy and zipfile read back what was written.
    for name in ["stored.npz", "compressed.npz", "zip64.npz", "activations.npz"]:
        with zipfile.ZipFile(path(name)) as z:
            assert z.testzip() is None, name
        with np.load(path(name)) as z:
            for key in z.files:
                z[key]
    with np.load(path("zip64.npz")) as z:
        assert np.array_equal(z["a"], a) and np.array_equal(z["b"], b)
    total = sum(os.path.getsize(path(f)) for f in os.listdir(HERE) if f.endswith((".npy", ".npz")))
    print(f"fixtures written to {HERE}: {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
