"""Synthetic GPT-2-small-scale activation file for the embed benchmark:
pre_mlp [T, 768] is a mixture of directions (each token a sparse positive
combination of 64 unit directions plus noise), W_in [768, 12*3072] random
with a share of each neuron aligned to a few of those directions, so that
neurons have structured, clusterable activating examples.
With --contexts C the rows also get token_ids (random ids of a 50,257-token
vocabulary, written as OUT's vocab_synth.json) and doc_index (C rows per
context), the shape of an exported GPT-2 layer, for the explorer benchmark.
With --neurons N the layer has N neurons instead of GPT-2 small's 36,864
(the GPU session's rehearsal on the CPU execution layer uses a few hundred).
usage: embed_synth.py OUT.safetensors [T] [--contexts C] [--neurons N]"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests")
sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/python")  # the monolab package stio reads with
from stio import save  # noqa: E402


def main():
    args = sys.argv[1:]

    def option(name, default):
        if name not in args:
            return default
        i = args.index(name)
        value = int(args[i + 1])
        del args[i:i + 2]
        return value
    ctx = option("--contexts", None)
    n = option("--neurons", 12 * 3072)
    out = args[0]
    T = int(args[1]) if len(args) > 1 else 8192
    d, n_dir = 768, 64
    rng = np.random.default_rng(0)
    dirs = rng.standard_normal((n_dir, d)).astype(np.float32)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    coef = (rng.random((T, n_dir)) < 4 / n_dir) * rng.random((T, n_dir))
    pre = (coef @ dirs + 0.05 * rng.standard_normal((T, d))).astype(np.float32)
    pre /= np.linalg.norm(pre, axis=1, keepdims=True) / np.sqrt(d) + 1e-6  # LayerNorm-like scale
    W = (0.02 * rng.standard_normal((d, n))).astype(np.float32)
    pick = rng.integers(0, n_dir, (n, 3))
    for q in range(3):
        W += (0.05 * rng.random(n)).astype(np.float32) * dirs[pick[:, q]].T
    tensors = {"pre_mlp": pre, "W_in": W, "b_in": np.full(n, -0.1, np.float32)}
    meta = {"model": "synthetic-gpt2-small", "layer": "all", "activation": "gelu_new"}
    if ctx:
        vocab = 50257
        tensors["token_ids"] = rng.integers(0, vocab, T).astype(np.int64)
        tensors["doc_index"] = (np.arange(T) // ctx).astype(np.int64)
        meta["vocab"] = "vocab_synth.json"
        with open(os.path.join(os.path.dirname(os.path.abspath(out)), meta["vocab"]), "w") as f:
            json.dump([f" tok{i}" for i in range(vocab)], f)
    save(out, tensors, meta)


if __name__ == "__main__":
    main()
