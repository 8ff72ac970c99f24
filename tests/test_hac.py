"""Average-linkage HAC against scipy and scikit-learn (docs/science.md §2.3-§2.4).

Hundreds of distance matrices: cosine distances of random points and of
clustered blobs, duplicates, exact ties, all-identical points, d=1, zero
vectors, n = 2..100, thresholds 0.1..0.9. For each: the linkage matrix
equals scipy.cluster.hierarchy.linkage(method='average') (indices exactly,
distances to 1e-12), the partition equals sklearn's
AgglomerativeClustering(metric='precomputed', linkage='average',
distance_threshold=t) up to label permutation, and the metrics equal a
direct numpy computation."""
import os
import tempfile

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform
from sklearn.cluster import AgglomerativeClustering

from conftest import run
from stio import load, save


def cosine_dist(E):
    E = np.asarray(E, np.float64)
    nrm = np.linalg.norm(E, axis=1)
    safe = np.where(nrm > 0, nrm, 1)
    C = (E / safe[:, None]) @ (E / safe[:, None]).T
    D = 1 - C
    zero = nrm == 0
    D[zero, :] = 1
    D[:, zero] = 1
    np.fill_diagonal(D, 0)
    return np.clip((D + D.T) / 2, 0, 2)


def cases():
    rng = np.random.default_rng(1234)
    out = []
    for i in range(320):
        n = int(rng.integers(2, 101))
        kind = i % 8
        if kind == 0:  # random directions
            E = rng.standard_normal((n, int(rng.integers(2, 50))))
        elif kind == 1:  # clustered blobs
            c = rng.standard_normal((int(rng.integers(1, 6)), 16))
            E = c[rng.integers(0, len(c), n)] + 0.2 * rng.standard_normal((n, 16))
        elif kind == 2:  # duplicates
            base = rng.standard_normal((max(1, n // 4), 8))
            E = base[rng.integers(0, len(base), n)]
        elif kind == 3:  # exact ties: distances on a coarse grid
            D = rng.integers(0, 5, (n, n)) / 4.0
            D = np.triu(D, 1)
            D = D + D.T
            out.append((f"D{i}", D, float(rng.choice([0.1, 0.25, 0.5, 0.75, 0.9]))))
            continue
        elif kind == 4:  # all identical
            E = np.tile(rng.standard_normal(5), (n, 1))
        elif kind == 5:  # d = 1: distances are 0 or 2
            E = rng.standard_normal((n, 1))
        elif kind == 6:  # some zero vectors
            E = rng.standard_normal((n, 6))
            E[rng.random(n) < 0.3] = 0
        else:  # sparse non-negative, like ReLU-world embeddings
            E = np.maximum(rng.standard_normal((n, 12)), 0)
        out.append((f"D{i}", cosine_dist(E), float(rng.uniform(0.1, 0.9))))
    return out


CASES = cases()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from conftest import BUILD
    d = tmp_path_factory.mktemp("hac")
    save(str(d / "in.safetensors"), {name: D for name, D, _ in CASES}, {f"t_{name}": repr(t) for name, _, t in CASES})
    r = run([os.path.join(BUILD, "tests", "refdump"), "hac", str(d / "in.safetensors"), str(d / "out.safetensors")])
    assert r.returncode == 0, r.stderr
    return load(str(d / "out.safetensors"))[0]


def same_partition(a, b):
    a, b = np.asarray(a), np.asarray(b)
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_linkage_matches_scipy(results):
    for name, D, _ in CASES:
        ref = linkage(squareform(D, checks=False), method="average")
        Z = results[f"Z_{name}"]
        np.testing.assert_array_equal(Z[:, [0, 1, 3]], ref[:, [0, 1, 3]], err_msg=name)
        np.testing.assert_allclose(Z[:, 2], ref[:, 2], rtol=1e-12, atol=1e-12, err_msg=name)


def test_partition_matches_sklearn(results):
    for name, D, t in CASES:
        sk = AgglomerativeClustering(metric="precomputed", linkage="average", distance_threshold=t,
                                     n_clusters=None).fit(D)
        ours = results[f"L_{name}"]
        assert same_partition(ours, sk.labels_), name
        assert results[f"M_{name}"][0] == sk.n_clusters_, name


def test_metrics_match_numpy(results):
    for name, D, _ in CASES:
        lab = results[f"L_{name}"]
        iu = np.triu_indices(len(D), 1)
        d = D[iu]
        same = lab[iu[0]] == lab[iu[1]]
        M = results[f"M_{name}"]
        np.testing.assert_allclose(M[1], d.max(), rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(M[2], d.mean(), rtol=1e-12, err_msg=name)
        if same.any():
            np.testing.assert_allclose(M[3], d[same].mean(), rtol=1e-12, err_msg=name)
        else:
            assert np.isnan(M[3])
        if (~same).any():
            np.testing.assert_allclose(M[4], d[~same].mean(), rtol=1e-12, err_msg=name)
        else:
            assert np.isnan(M[4])
