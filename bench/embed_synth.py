"""Synthetic GPT-2-small-scale activation file for the embed benchmark:
pre_mlp [T, 768] is a mixture of directions (each token a sparse positive
combination of 64 unit directions plus noise), W_in [768, 12*3072] random
with a share of each neuron aligned to a few of those directions, so that
neurons have structured, clusterable activating examples.
usage: embed_synth.py OUT.safetensors [T]"""
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests")
from stio import save  # noqa: E402


def main():
    out = sys.argv[1]
    T = int(sys.argv[2]) if len(sys.argv) > 2 else 8192
    d, n, n_dir = 768, 12 * 3072, 64
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
    save(out, {"pre_mlp": pre, "W_in": W, "b_in": np.full(n, -0.1, np.float32)},
         {"model": "synthetic-gpt2-small", "layer": "all", "activation": "gelu_new"})


if __name__ == "__main__":
    main()
