#!/usr/bin/python3
"""scripts/capture_activations.py against a tiny randomly initialised Llama.

Builds the model (2 layers, hidden 64, intermediate 128, 4 heads, 2 KV heads, vocabulary
256) and a word-level tokenizer in a temporary directory, runs the capture script on
them, and checks the .npz: entry names, shapes and dtype against the config, meta.json,
and that the recorded inputs are what a direct forward pass over the same tokens computes,
layer by layer:
    attn.qkv    = input_layernorm(h_i)
    mlp.gate_up = post_attention_layernorm(h_i + o_proj(attn.o))
    mlp.down    = silu(gate_proj(mlp.gate_up)) * up_proj(mlp.gate_up)
    h_{i+1}     = h_i + o_proj(attn.o) + down_proj(mlp.down)
where h_i is the hidden state entering layer i (output_hidden_states). Exits 77 (ctest:
skipped) saying why when torch or transformers cannot be imported.
"""
import json
import os
import subprocess
import sys
import tempfile
import zipfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "scripts", "capture_activations.py")

try:
    import numpy as np
    import torch
    import transformers
except ImportError as e:
    print(f"SKIP: {sys.executable} cannot import what scripts/capture_activations.py needs ({e}); "
          "run this test with a Python that has numpy, torch and transformers (e.g. a virtual environment)")
    sys.exit(SKIP)

LAYERS, HIDDEN, INTER, HEADS, KV_HEADS, VOCAB = 2, 64, 128, 4, 2, 256
WORDS = "the quick brown fox jumps over a lazy dog and runs far away from here".split()
PROMPT = "the quick brown fox jumps over the lazy dog"
DECODE = 5
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def close(got, want, what, rel=5e-3):
    """got (recorded, float16) against want (float32): within rel of want's largest magnitude."""
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    scale = float(np.max(np.abs(want)))
    err = float(np.max(np.abs(got - want)))
    check(got.shape == want.shape and scale > 0 and err <= rel * scale,
          f"{what}: max error {err:.3g} against max |value| {scale:.3g} (shapes {got.shape}, {want.shape})")


def build_model(root):
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=INTER, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, max_position_embeddings=128,
        bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = transformers.LlamaForCausalLM(config).eval()
    model.save_pretrained(root)

    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                                eos_token="</s>", pad_token="<unk>")
    fast.save_pretrained(root)
    return model, fast


def run_capture(*args):
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    r = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, env=env)
    print(f"$ capture_activations.py {' '.join(args)}\n{r.stdout}{r.stderr}".rstrip())
    return r


def load(path):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != "meta.json"}
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("meta.json"))
    return arrays, meta


def check_against_forward(model, arrays, token_ids):
    with torch.no_grad():
        out = model(torch.tensor([token_ids]), output_hidden_states=True)
        hs = [h[0].float() for h in out.hidden_states]
        for i, layer in enumerate(model.model.layers):
            rec = {k: torch.from_numpy(arrays[f"layers.{i}.{k}"].astype(np.float32))
                   for k in ("attn.qkv", "attn.o", "mlp.gate_up", "mlp.down")}
            close(rec["attn.qkv"], layer.input_layernorm(hs[i]), f"layer {i} attn.qkv = input_layernorm(h)")
            resid = hs[i] + layer.self_attn.o_proj(rec["attn.o"])
            close(rec["mlp.gate_up"], layer.post_attention_layernorm(resid),
                  f"layer {i} mlp.gate_up = post_attention_layernorm(h + o_proj(attn.o))")
            x = rec["mlp.gate_up"]
            close(rec["mlp.down"], torch.nn.functional.silu(layer.mlp.gate_proj(x)) * layer.mlp.up_proj(x),
                  f"layer {i} mlp.down = silu(gate(x)) * up(x)")
            if i + 1 < LAYERS:  # the last hidden state is after the final norm
                close(resid + layer.mlp.down_proj(rec["mlp.down"]), hs[i + 1],
                      f"layer {i} output = h + o_proj(attn.o) + down_proj(mlp.down)")


def main():
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, "tiny-llama")
        model, tok = build_model(model_dir)
        prompt_ids = list(tok(PROMPT)["input_ids"])
        P, T = len(prompt_ids), len(prompt_ids) + DECODE

        out = os.path.join(tmp, "acts.npz")
        r = run_capture("--model", model_dir, "--prompt", PROMPT, "--tokens", str(DECODE), "-o", out,
                        "--device", "cpu")
        check(r.returncode == 0, "capture from a text prompt exits 0")
        if r.returncode != 0:
            return
        arrays, meta = load(out)
        want_names = {f"layers.{i}.{k}" for i in range(LAYERS)
                      for k in ("attn.qkv", "attn.o", "mlp.gate_up", "mlp.down")}
        check(set(arrays) == want_names, f"entries are the {len(want_names)} layer inputs and meta.json")
        width = {"attn.qkv": HIDDEN, "attn.o": HEADS * (HIDDEN // HEADS), "mlp.gate_up": HIDDEN,
                 "mlp.down": INTER}
        for name, a in sorted(arrays.items()):
            kind = name.split(".", 2)[2]
            check(a.shape == (T, width[kind]) and a.dtype == np.float16,
                  f"{name} is [{T}, {width[kind]}] float16 (got {list(a.shape)} {a.dtype})")
            check(float(np.std(a.astype(np.float32))) > 0, f"{name} is not constant")
        check(meta["format"] == "edgesim-activations" and meta["version"] == 1, "meta.json format and version")
        check(meta["layers"] == LAYERS and meta["hidden_size"] == HIDDEN and meta["intermediate_size"] == INTER
              and meta["num_attention_heads"] == HEADS and meta["num_key_value_heads"] == KV_HEADS
              and meta["head_dim"] == HIDDEN // HEADS, "meta.json dimensions match the config")
        check(meta["features"] == width, f"meta.json features {meta['features']}")
        check(meta["tokens"] == T and meta["prompt_tokens"] == P and meta["decode_tokens"] == DECODE,
              f"meta.json tokens {meta['tokens']} = {P} prompt + {DECODE} decoded")
        check(meta["token_ids"][:P] == prompt_ids and len(meta["token_ids"]) == T,
              "meta.json token_ids: the prompt's ids, then the fed-back ones")
        check(meta["decoding"]["strategy"] == "greedy" and meta["prompt"] == PROMPT, "meta.json decoding, prompt")

        # Greedy decoding: each fed-back token is the argmax after the tokens before it.
        with torch.no_grad():
            logits = model(torch.tensor([meta["token_ids"] + [meta["next_token_id"]]])).logits[0]
        greedy = logits.argmax(-1).tolist()
        seq = meta["token_ids"] + [meta["next_token_id"]]
        check(all(seq[t + 1] == greedy[t] for t in range(P - 1, T)), "fed-back tokens are the greedy choices")

        check_against_forward(model, arrays, meta["token_ids"])

        # The same prompt as ids, stored float32 and deflated: the same tokens, values within float16 rounding.
        out32 = os.path.join(tmp, "acts32.npz")
        r = run_capture("--model", model_dir, "--prompt-ids", ",".join(map(str, prompt_ids)), "--tokens",
                        str(DECODE), "-o", out32, "--dtype", "float32", "--compress", "--device", "cpu")
        check(r.returncode == 0, "capture from --prompt-ids with --dtype float32 --compress exits 0")
        if r.returncode == 0:
            arrays32, meta32 = load(out32)
            check(meta32["token_ids"] == meta["token_ids"], "same prompt as ids: same tokens")
            with zipfile.ZipFile(out32) as z:
                check(all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist()), "entries deflated")
            for name in sorted(arrays):
                check(arrays32[name].dtype == np.float32 and
                      np.array_equal(arrays32[name].astype(np.float16), arrays[name]),
                      f"{name}: float32 capture rounds to the float16 one")

        bad = run_capture("--model", model_dir, "--prompt", PROMPT, "--tokens", "-1", "-o", out)
        check(bad.returncode != 0 and "--tokens" in bad.stderr, "--tokens -1 is rejected")
        bad = run_capture("--model", os.path.join(tmp, "absent"), "--prompt-ids", "1,2", "--tokens", "1", "-o",
                          os.path.join(tmp, "x.npz"), "--device", "cpu")
        check(bad.returncode == 2 and "cannot load model" in bad.stderr, "a missing model is reported, exit 2")
        check(not os.path.exists(os.path.join(tmp, "x.npz")), "nothing written for a failed capture")


if __name__ == "__main__":
    main()
    if failures:
        print(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("all checks passed")
