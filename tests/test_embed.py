"""`monolab embed` (docs/science.md §2): the selection rule on a hand-built activation
file, the whole pipeline against numpy + scikit-learn, the edge cases, the
toy-model ground-truth summary, and malformed inputs."""
import csv
import json
import os
import tempfile

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.cluster import AgglomerativeClustering

from conftest import run, run_id
from stio import load, save


def embed(monolab, path, out, *args):
    r = run([monolab, "embed", path, "-o", out, "--device", "cpu", *args])
    assert r.returncode == 0, r.stderr
    neurons = list(csv.DictReader(open(os.path.join(out, "neurons.csv"))))
    examples = list(csv.DictReader(open(os.path.join(out, "examples.csv"))))
    return neurons, examples


def test_selection_rule_first_not_top(monolab):
    """Neuron 0 sees column 0 of pre_mlp. Its max is 10; qualifying rows
    (>= 7.5) are 1, 3, 4, 6, 8; the first 3 in dataset order are kept, not the
    3 largest (8 and 6 are larger than 1)."""
    acts = np.array([0, 7.5, 1, 8, 9, 2, 10, 7.4, 9.5], np.float32)
    pre = np.stack([acts, np.ones_like(acts)], 1)
    W = np.array([[1, 0], [0, 1]], np.float32)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "a.safetensors")
        save(p, {"pre_mlp": pre, "W_in": W})
        _, ex = embed(monolab, p, os.path.join(d, "o"), "--max-examples", "3")
        n0 = [(int(e["example"]), float(e["activation"])) for e in ex if e["neuron"] == "0"]
        assert n0 == [(1, 7.5), (3, 8.0), (4, 9.0)]
        # max_act from a reference set changes the threshold: 0.75 * 12 = 9
        save(p, {"pre_mlp": pre, "W_in": W, "max_act": np.array([12, 1], np.float32)})
        _, ex = embed(monolab, p, os.path.join(d, "o2"), "--max-examples", "3")
        assert [int(e["example"]) for e in ex if e["neuron"] == "0"] == [4, 6, 8]
        # contexts: the example is the document, its key token the argmax
        doc = np.array([0, 0, 1, 1, 1, 2, 2, 3, 3], np.int64)
        save(p, {"pre_mlp": pre, "W_in": W, "doc_index": doc})
        _, ex = embed(monolab, p, os.path.join(d, "o3"), "--max-examples", "10")
        n0 = [(int(e["example"]), int(e["token"]), float(e["activation"])) for e in ex if e["neuron"] == "0"]
        assert n0 == [(0, 1, 7.5), (1, 4, 9.0), (2, 6, 10.0), (3, 8, 9.5)]


PHI = {
    "none": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "gelu_new": lambda z: 0.5 * z * (1 + np.tanh(0.7978845608028654 * (z + 0.044715 * z ** 3))),
    "solu": lambda z: z * np.exp(z),
}


def reference(pre, W, b, frac, cap, t, act="none"):
    """The per-neuron pipeline in numpy and scikit-learn."""
    A = PHI[act](pre.astype(np.float64) @ W + b)
    out = []
    for j in range(W.shape[1]):
        mx = A[:, j].max()
        idx = [i for i in range(len(A)) if mx > 0 and A[i, j] >= frac * mx][:cap]
        E = pre[idx].astype(np.float64) * W[:, j]
        n = len(idx)
        if n == 0:
            out.append((idx, 0, None, None))
            continue
        nrm = np.linalg.norm(E, axis=1)
        D = 1 - (E @ E.T) / np.outer(nrm, nrm)
        np.fill_diagonal(D, 0)
        D = np.clip(D, 0, 2)
        if n == 1:
            out.append((idx, 1, D, np.zeros(1, int)))
            continue
        sk = AgglomerativeClustering(metric="precomputed", linkage="average", distance_threshold=t,
                                     n_clusters=None).fit(D)
        out.append((idx, sk.n_clusters_, D, sk.labels_))
    return out


def same_partition(a, b):
    pairs = set(zip(list(a), list(b)))
    return len(pairs) == len(set(a)) == len(set(b))


@pytest.mark.parametrize("t,act", [(0.3, "none"), (0.5, "none"), (0.7, "none"), (0.5, "relu"),
                                   (0.5, "gelu_new"), (0.5, "solu")])
def test_pipeline_matches_sklearn(monolab, t, act):
    rng = np.random.default_rng(7)
    T, d, n = 600, 24, 40
    dirs = rng.standard_normal((5, d))  # a mixture of directions, not pure noise
    pre = (dirs[rng.integers(0, 5, T)] * rng.random((T, 1)) + 0.3 * rng.standard_normal((T, d))).astype(np.float32)
    W = rng.standard_normal((d, n)).astype(np.float32)
    b = (0.1 * rng.standard_normal(n)).astype(np.float32)
    with tempfile.TemporaryDirectory() as dd:
        p = os.path.join(dd, "a.safetensors")
        save(p, {"pre_mlp": pre, "W_in": W, "b_in": b}, {"activation": act})
        neurons, ex = embed(monolab, p, os.path.join(dd, "o"), "--threshold", str(t), "--max-examples", "30")
        Z, _ = load(os.path.join(dd, "o", "linkage.safetensors"))
    ref = reference(pre, W, b, 0.75, 30, t, act)
    for j, (idx, k, D, labels) in enumerate(ref):
        row = neurons[j]
        ours = [e for e in ex if int(e["neuron"]) == j]
        assert [int(e["example"]) for e in ours] == idx, j
        assert int(row["n_examples"]) == len(idx) and int(row["n_clusters"]) == k, j
        if len(idx) >= 2:
            assert same_partition([int(e["cluster"]) for e in ours], labels), j
            iu = np.triu_indices(len(idx), 1)
            np.testing.assert_allclose(float(row["max_dist"]), D[iu].max(), atol=1e-5)
            np.testing.assert_allclose(float(row["mean_dist"]), D[iu].mean(), atol=1e-5)
            zo = Z["offsets"]
            assert zo[j + 1] - zo[j] == len(idx) - 1
    # the test exercised clustering (SoLU is peaked: fewer neurons reach 2 examples)
    assert sum(len(r[0]) >= 2 for r in ref) > (5 if act == "solu" else 20)


def test_edge_cases(monolab):
    """0 examples (never positive), 1 example, and zero-norm embeddings
    (w_j = 0 on the only input dimension that varies)."""
    pre = np.array([[1, 0], [2, 0], [3, 0], [0.5, 0]], np.float32)
    W = np.array([[-1, 0, 1], [0, 1, 0]], np.float32)  # neuron 0 always <= 0
    b = np.array([0, 0, 0], np.float32)
    # neuron 1: pre[:,1] = 0 -> activations 0 -> max 0 -> no examples.
    # neuron 2: activations 1,2,3,0.5 -> only row 2 (3 >= 2.25) qualifies.
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "a.safetensors")
        save(p, {"pre_mlp": pre, "W_in": W, "b_in": b})
        neurons, _ = embed(monolab, p, os.path.join(d, "o"))
        assert [(r["n_examples"], r["n_clusters"]) for r in neurons] == [("0", "0"), ("0", "0"), ("1", "1")]
        assert neurons[2]["max_dist"] == "nan" and neurons[2]["mean_intra"] == "nan"
        # zero-norm embeddings: neuron 1 sees dimension 1 through the bias only
        W2 = np.array([[1, 0], [0, 1]], np.float32)
        save(p, {"pre_mlp": pre, "W_in": W2, "b_in": np.array([0, 1], np.float32)})
        neurons, _ = embed(monolab, p, os.path.join(d, "o2"), "--act-frac", "0.5")
        n1 = neurons[1]
        assert n1["n_examples"] == "4" and n1["n_clusters"] == "4"  # distance 1 >= 0.5 between all
        assert float(n1["max_dist"]) == 1.0 and float(n1["mean_dist"]) == 1.0


def test_toy_checkpoint_summary(monolab):
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "t.yaml")
        open(cfg, "w").write("seeds: 1\nmodel:\n  N: 32\n  m: 8\n  k: 64\ndata:\n  eps: 0.125\n"
                             "train:\n  steps: 300\n  batch: 64\n  lr: 0.01\neval:\n  batch: 64\ncheckpoints: final\n")
        r = run([monolab, "sweep", cfg, "-o", os.path.join(d, "s"), "--device", "cpu"])
        assert r.returncode == 0, r.stderr
        ck = os.path.join(d, "s", "ckpt", run_id(os.path.join(d, "s")), "step_000300.safetensors")
        neurons, _ = embed(monolab, ck, os.path.join(d, "e"), "--samples", "2000")
        s = json.load(open(os.path.join(d, "e", "summary.json")))
    have = [r for r in neurons if int(r["n_examples"]) > 0]
    assert len(neurons) == 64 and s["neurons_with_examples"] == len(have) > 10
    # dead neurons (true count 0) are counted apart, not in the agreement
    live = [r for r in have if int(r["true_features"]) > 0]
    assert s["live_with_examples"] == len(live) and s["dead_with_examples"] == len(have) - len(live)
    have = live
    tf = [int(r["true_features"]) for r in have]
    nc = [int(r["n_clusters"]) for r in have]
    np.testing.assert_allclose(s["spearman"], spearmanr(tf, nc).correlation, atol=1e-9)
    assert s["exact_match"] == pytest.approx(np.mean(np.array(tf) == np.array(nc)))


BAD = [
    ("header_len", "header length"),
    ("offsets", "tensor 'W_in': data_offsets"),
    ("dtype", "tensor 'pre_mlp': unsupported dtype 'U8'"),
    ("shape", "tensor 'W_in' has 5 rows but pre_mlp has d = 4"),
    ("nbytes", "tensor 'pre_mlp': 64 bytes of data for a shape of 12 F32 elements"),
    ("truncated", "tensor 'W_in': data_offsets"),
    ("missing", "tensor 'W_in' is missing"),
    ("doc", "tensor 'doc_index' must have shape [4]"),
    ("nan_pre", "tensor 'pre_mlp' holds a non-finite value (nan at flat index 5)"),
    ("inf_w", "tensor 'W_in' holds a non-finite value (inf at flat index 2)"),
    ("inf_b", "tensor 'b_in' holds a non-finite value (-inf at flat index 1)"),
    ("nan_max", "tensor 'max_act' holds a non-finite value (nan at flat index 0)"),
]


@pytest.mark.parametrize("case,msg", BAD)
def test_malformed_activation_files(monolab, case, msg):
    pre = np.ones((4, 4), np.float32)
    t = {"pre_mlp": pre, "W_in": np.ones((4, 3), np.float32)}
    over = None
    if case == "offsets":
        def over(h):
            h["W_in"]["data_offsets"] = [0, 10 ** 9]
    elif case == "dtype":
        def over(h):
            h["pre_mlp"]["dtype"] = "U8"
    elif case == "shape":
        t["W_in"] = np.ones((5, 3), np.float32)
    elif case == "nbytes":
        def over(h):
            h["pre_mlp"]["shape"] = [3, 4]
    elif case == "missing":
        del t["W_in"]
    elif case == "doc":
        t["doc_index"] = np.zeros(3, np.int64)
    elif case == "nan_pre":
        t["pre_mlp"] = pre.copy()
        t["pre_mlp"].flat[5] = np.nan
    elif case == "inf_w":
        t["W_in"].flat[2] = np.inf
    elif case == "inf_b":
        t["b_in"] = np.array([0, -np.inf, 0], np.float32)
    elif case == "nan_max":
        t["max_act"] = np.array([np.nan, 1, 1], np.float32)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "a.safetensors")
        save(p, t, None, over)
        if case == "header_len":
            with open(p, "r+b") as f:
                f.write((2 ** 40).to_bytes(8, "little"))
        if case == "truncated":
            size = os.path.getsize(p)
            with open(p, "r+b") as f:
                f.truncate(size - 20)
        r = run([monolab, "embed", p, "-o", os.path.join(d, "o"), "--device", "cpu"])
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert msg in r.stderr, r.stderr
        assert not os.path.exists(os.path.join(d, "o", "neurons.csv"))


def test_f16_and_bf16_inputs_match_f32(monolab):
    """pre_mlp and W_in stored as F16 or BF16 give exactly the results of the
    same values stored as F32."""
    rng = np.random.default_rng(3)
    pre = rng.standard_normal((300, 16)).astype(np.float32)
    W = rng.standard_normal((16, 12)).astype(np.float32)
    pre16, W16 = pre.astype(np.float16), W.astype(np.float16)
    # bf16: the upper half of each float32
    bf = lambda a: (a.view(np.uint32) >> 16).astype(np.uint16)  # noqa: E731
    unbf = lambda u: (u.astype(np.uint32) << 16).view(np.float32)  # noqa: E731

    def with_bf16(h):
        h["pre_mlp"]["dtype"] = "BF16"
        h["W_in"]["dtype"] = "BF16"

    with tempfile.TemporaryDirectory() as d:
        outs = {}
        for name, tensors, over in [
            ("f32_of_f16", {"pre_mlp": pre16.astype(np.float32), "W_in": W16.astype(np.float32)}, None),
            ("f16", {"pre_mlp": pre16, "W_in": W16}, None),
            ("f32_of_bf16", {"pre_mlp": unbf(bf(pre)), "W_in": unbf(bf(W))}, None),
            ("bf16", {"pre_mlp": bf(pre).view(np.float16), "W_in": bf(W).view(np.float16)}, with_bf16),
        ]:
            p = os.path.join(d, name + ".safetensors")
            save(p, tensors, None, over)
            outs[name] = embed(monolab, p, os.path.join(d, name))
        assert outs["f16"] == outs["f32_of_f16"]
        assert outs["bf16"] == outs["f32_of_bf16"]
        assert sum(int(r["n_examples"]) for r in outs["f16"][0]) > 20
