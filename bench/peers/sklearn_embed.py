"""The published per-neuron pipeline (Foote 2024) in numpy + scikit-learn,
for the embed benchmark: for each sampled neuron, its activations, the first
100 examples >= 0.75 max, embeddings h * w_j, cosine distances,
AgglomerativeClustering(average, precomputed, threshold 0.5) and the metrics.
usage: sklearn_embed.py FILE.safetensors N_NEURONS -> prints seconds per neuron"""
import sys
import time

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics.pairwise import cosine_distances

sys.path.insert(0, __file__.rsplit("/", 3)[0] + "/tests")
sys.path.insert(0, __file__.rsplit("/", 3)[0] + "/python")  # the monolab package stio reads with
from stio import load  # noqa: E402


def gelu_new(x):
    return 0.5 * x * (1 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))


def one_neuron(pre, w, b):
    a = gelu_new(pre @ w + b)
    mx = a.max()
    idx = np.nonzero(a >= 0.75 * mx)[0][:100] if mx > 0 else np.array([], int)
    if len(idx) < 2:
        return len(idx)
    E = pre[idx] * w
    D = cosine_distances(E)
    cl = AgglomerativeClustering(metric="precomputed", linkage="average", distance_threshold=0.5,
                                 n_clusters=None).fit(D)
    iu = np.triu_indices(len(idx), 1)
    same = cl.labels_[iu[0]] == cl.labels_[iu[1]]
    d = D[iu]
    return d.max(), d.mean(), d[same].mean() if same.any() else np.nan, d[~same].mean() if (~same).any() else np.nan


def main():
    t, _ = load(sys.argv[1])
    k = int(sys.argv[2])
    pre, W, b = t["pre_mlp"], t["W_in"], t["b_in"]
    rng = np.random.default_rng(1)
    cols = rng.choice(W.shape[1], k, replace=False)
    t0 = time.perf_counter()
    for j in cols:
        one_neuron(pre, W[:, j], b[j])
    el = time.perf_counter() - t0
    print(f"sklearn_seconds_per_neuron={el / k:.6f} neurons={k}")


if __name__ == "__main__":
    main()
