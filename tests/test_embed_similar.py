"""`monolab embed` cluster summaries and similar clusters against numpy:
central examples, sizes and mean intra-cluster distances recomputed from
examples.csv and the input, and the top-20 similar clusters of other
neurons from the full similarity matrix (enough clusters to cross the
C code's row and column blocks)."""
import csv
import os
import tempfile

import numpy as np

from conftest import run
from stio import load, save


def clusters_of(monolab, tensors, *args):
    d = tempfile.mkdtemp()
    p = os.path.join(d, "a.safetensors")
    save(p, tensors)
    out = os.path.join(d, "o")
    r = run([monolab, "embed", p, "-o", out, "--device", "cpu", *args])
    assert r.returncode == 0, r.stderr
    ex = list(csv.DictReader(open(os.path.join(out, "examples.csv"))))
    cl = list(csv.DictReader(open(os.path.join(out, "clusters.csv"))))
    sim, meta = load(os.path.join(out, "similar.safetensors"))
    return ex, cl, sim, meta, p


def test_central_examples_and_similar_clusters_match_numpy(monolab):
    rng = np.random.default_rng(5)
    T, d, n = 3000, 16, 360
    pre = rng.standard_normal((T, d)).astype(np.float32)
    W = rng.standard_normal((d, n)).astype(np.float32)
    b = np.zeros(n, np.float32)
    W[:, 7], b[7] = 0, -1  # a neuron that never fires: no clusters
    ex, cl, sim, meta, path = clusters_of(monolab, {"pre_mlp": pre, "W_in": W, "b_in": b},
                                          "--max-examples", "20", "--threshold", "0.05")
    assert meta["input"] == os.path.realpath(path) and meta["k"] == "20"

    # per-cluster reference from examples.csv and the embeddings h * w_j
    want = []
    for j in range(n):
        rows = [e for e in ex if int(e["neuron"]) == j]
        if not rows:
            continue
        E = pre[[int(e["token"]) for e in rows]].astype(np.float64) * W[:, j]
        U = E / np.linalg.norm(E, axis=1, keepdims=True)
        S = U @ U.T
        lab = np.array([int(e["cluster"]) for e in rows])
        for c in range(lab.max() + 1):
            m = np.flatnonzero(lab == c)
            sub = S[np.ix_(m, m)]
            if len(m) == 1:
                central, intra = m[0], np.nan
            else:
                off = sub * (1 - np.eye(len(m)))  # a pair of two ties: the first member wins
                mean_sim = off.sum(1) / (len(m) - 1)
                central = m[np.argmax(mean_sim)]
                intra = np.mean(1 - sub[np.triu_indices(len(m), 1)])
            want.append((j, c, len(m), intra, int(rows[central]["example"]), E[central]))
    assert 4096 < len(want) == len(cl)  # more clusters than one column block, many row blocks
    assert not any(int(r["neuron"]) == 7 for r in cl)
    for row, (j, c, size, intra, central, _) in zip(cl, want):
        assert (int(row["neuron"]), int(row["cluster"]), int(row["size"])) == (j, c, size)
        assert int(row["central_example"]) == central
        np.testing.assert_allclose(float(row["mean_intra"]), intra, atol=1e-5)
    E = np.array([w[5] for w in want])
    np.testing.assert_allclose(sim["central_embedding"], E, rtol=1e-5, atol=1e-6)

    # similar clusters: top 20 of other neurons, best first
    U = E / np.linalg.norm(E, axis=1, keepdims=True)
    S = U @ U.T
    nid = np.array([w[0] for w in want])
    S[nid[:, None] == nid[None, :]] = -np.inf
    top = -np.sort(-S, axis=1)[:, :20]
    got_i, got_s = sim["similar_id"], sim["similarity"]
    assert got_i.shape == (len(want), 20)
    np.testing.assert_allclose(got_s, top, atol=2e-6)
    assert np.all(np.diff(got_s, axis=1) <= 0)
    rows = np.arange(len(want))[:, None]
    np.testing.assert_allclose(S[rows, got_i], got_s, atol=2e-6)  # each id really has that similarity
    assert np.all(nid[got_i] != nid[:, None])
    assert all(len(set(r)) == 20 for r in got_i.tolist())


def test_fewer_other_clusters_than_k_and_similar_off(monolab):
    """Two neurons with one cluster each: one similar cluster, the rest of
    the row is empty (-1, NaN); --similar 0 keeps the summaries only."""
    pre = np.array([[1, 0], [2, 0.1], [0, 1], [0.1, 2]], np.float32)
    W = np.eye(2, dtype=np.float32)
    _, cl, sim, _, _ = clusters_of(monolab, {"pre_mlp": pre, "W_in": W})
    assert [(r["neuron"], r["size"]) for r in cl] == [("0", "1"), ("1", "1")]
    assert cl[0]["mean_intra"] == "nan"
    assert sim["similar_id"][:, 0].tolist() == [1, 0]
    assert np.all(sim["similar_id"][:, 1:] == -1) and np.all(np.isnan(sim["similarity"][:, 1:]))
    # the central embeddings h * w_j = (2, 0) and (0, 2) are orthogonal
    np.testing.assert_allclose(sim["similarity"][:, 0], [0, 0], atol=1e-7)
    _, cl0, sim0, _, _ = clusters_of(monolab, {"pre_mlp": pre, "W_in": W}, "--similar", "0")
    assert cl0 == cl and sim0["similar_id"].shape == (2, 0)
