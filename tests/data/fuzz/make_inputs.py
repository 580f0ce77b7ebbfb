#!/usr/bin/env python3
"""Writes the hand-made regression inputs of tests/data/fuzz/ (docs/fuzzing.md, "Bugs found
and fixed"): files that reproduce a bug found by the fuzz targets or named in issue 20,
built from the repository's own files so that each one is small and its defect is
exactly the one described. Inputs that libFuzzer itself found are committed as it wrote
them (their names start with crash-, leak-, timeout- or oom-) and are not made here.

    python3 tests/data/fuzz/make_inputs.py
"""
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.join(ROOT, "tests", "data", "fuzz")


def out(sub, name, data):
    os.makedirs(os.path.join(HERE, sub), exist_ok=True)
    with open(os.path.join(HERE, sub, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def u16(b, at):
    return struct.unpack_from("<H", b, at)[0]


def u32(b, at):
    return struct.unpack_from("<I", b, at)[0]


def i32(b, at):
    return struct.unpack_from("<i", b, at)[0]


def tflite_inputs():
    """micro_speech with one FlatBuffers offset made hostile, for the Locator (the code that
    places a failed verification): each fails verification, and locating it used to read
    outside the file."""
    src = open(os.path.join(ROOT, "configs", "networks", "tflite", "micro_speech_quantized.tflite"), "rb").read()
    root = u32(src, 0)
    vtable = root - i32(src, root)
    # Model fields (tflite_schema.fbs): version 4, operator_codes 6, subgraphs 8 (vtable byte offsets).
    # subgraphs[0]'s vtable moved past the end of the file: the Locator went into the subgraph
    # and looked its fields up in that vtable (a SEGV).
    slot = root + u16(src, vtable + 8)
    vec = slot + u32(src, slot)
    elem = vec + 4
    sub = elem + u32(src, elem)
    b = bytearray(src)
    struct.pack_into("<i", b, sub, sub - (len(src) + 4096))
    out("tflite", "locator-subgraph-vtable-outside.tflite", bytes(b))
    # The model's operator_codes field offset made to point 65000 bytes into the table, past
    # the end of the file: the Locator read the offset stored there (a heap-buffer-overflow).
    b = bytearray(src)
    struct.pack_into("<H", b, vtable + 6, 65000)
    out("tflite", "locator-offset-slot-outside.tflite", bytes(b))


def sweep_inputs():
    """A range axis of 10^300 values: its count was converted to an integer before the
    limit was checked (UBSan: float-cast-overflow); and axes whose product is 10^12 points,
    each a copy of the base config (out of memory before the first point ran)."""
    out("sweep", "range-1e300.json", json.dumps(
        {"base": "builtin:experiments/tiny.json", "grid": {"run.seed": {"range": [0, 1e300]}}}))
    axis = {"range": [1, 1000]}
    out("sweep", "grid-1e12-points.json", json.dumps(
        {"base": "builtin:experiments/tiny.json",
         "grid": {"run.seed": axis, "run.tokens": axis, "run.warmup_tokens": axis, "run.prompt_tokens": axis}}))


def varint(n):
    b = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            b.append(byte | 0x80)
        else:
            b.append(byte)
            return bytes(b)


def trace_inputs():
    """A trace whose one tensor has 4e9 chunks and whose first chunk set claims a delta list
    of 4e9 ids: 16 GB were reserved for them before the first id was read."""
    header = json.dumps({"format": "edgesim-trace", "version": 1, "policy": {"name": "hostile"},
                         "layout": {"tensors": [{"name": "t", "chunks": 4000000000, "chunk_bytes": 1,
                                                 "flash_offset": 0}],
                                    "ops": [{"name": "op", "tensors": [0]}]}}).encode()
    body = b"S" + varint(0) + varint(0) + varint(1) + varint(0)      # step: position, token, 1 op, 0 events
    body += varint(0) + b"\x00" + varint(0) + varint(0) + varint(0)  # op 0, flags, flops, extra reads/writes
    body += b"\x03" + varint(3999999999) + b"\x00" * 8                # delta list: count, then too few ids
    out("trace", "delta-count-4e9.trc", b"EDGESIMT" + struct.pack("<II", 1, len(header)) + header + body)


def npu_inputs():
    """Issue 20's NPU network with a per-channel weight scale of 1e308 (the requantization
    shift reached 1023: UBSan "shift exponent 1023 is too large for 32-bit type" in
    multiply_by_quantized_multiplier, and garbage outputs with exit 0 in a Release build),
    and its neighbours: a scale TFLite can store but a ratio of scales of 2^30 or more, and
    an output zero point outside int8. The network is the small inline one of the fuzz
    seeds; the TFLite model is the conv + fully connected seed with its first weight scale
    made 3e38."""
    small = json.load(open(os.path.join(ROOT, "fuzz", "corpus", "npu_network", "inline-small.json")))
    def variant(name, edit):
        doc = json.loads(json.dumps(small))
        edit(doc)
        out("npu_network", name, json.dumps(doc, indent=1))
    variant("weight-scale-1e308.json", lambda d: d["ops"][0]["weights"]["scales"].__setitem__(0, 1e308))
    # With an input scale of 10 the ratio 10 x 1e308 / 0.02 overflows to infinity: glibc's
    # frexp gives it exponent 0 and llround(inf) LLONG_MIN, so the multiplier was 0 and the
    # network ran to exit 0 with every output at its zero point.
    def inf_ratio(d):
        d["input"]["scale"] = 10.0
        d["ops"][0]["weights"]["scales"][0] = 1e308
    variant("weight-scale-1e308-ratio-inf.json", inf_ratio)
    variant("weight-scale-ratio-2e29.json", lambda d: d["ops"][0]["weights"]["scales"].__setitem__(0, 1e30))
    variant("zero-point-300.json", lambda d: d["ops"][2]["output"].__setitem__("zero_point", 300))
    src = bytearray(open(os.path.join(ROOT, "fuzz", "corpus", "tflite", "conv-fc-softmax.tflite"), "rb").read())
    scales = struct.pack("<3f", 0.01, 0.02, 0.03)
    at = src.find(scales)
    assert at > 0 and src.find(scales, at + 1) < 0
    struct.pack_into("<f", src, at, 3e38)
    out("tflite", "weight-scale-3e38.tflite", bytes(src))


def dram_part_inputs():
    # tRC of 1e30 clock cycles: converted to an integer, it was undefined behaviour (and came
    # out as "must be at least one clock cycle").
    part = json.load(open(os.path.join(ROOT, "configs", "dram", "lpddr5-6400.json")))
    part["timing"]["tRC"] = "1e30 nCK"
    out("dram_part", "timing-1e30-nck.json", json.dumps(part, indent=2) + "\n")


if __name__ == "__main__":
    npu_inputs()
    tflite_inputs()
    sweep_inputs()
    trace_inputs()
    dram_part_inputs()
