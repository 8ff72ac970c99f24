"""`monolab analyze` on a hand-built model with known neuron kinds: three
monosemantic neurons, two always-on neurons (large positive bias, small
weights), one dead neuron. It must recover the counts and the rank (2) of
the always-on neurons' linear map W2_on W1_on P; and bad checkpoints exit 2
naming the tensor."""
import json
import os
import tempfile

import numpy as np
import pytest

from conftest import run
from stio import save

META = {"task": "decoder", "activation": "relu", "sampling": "uniform", "eps": "0.25", "seed": "1",
        "run_id": "hand"}


def hand_model(rng):
    N, m = 8, 4
    G = rng.standard_normal((N, m))
    U = np.linalg.qr(G)[0]
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    P = U.T.astype(np.float32)  # m x N, unit columns
    W1 = np.zeros((6, m), np.float32)
    b1 = np.zeros(6, np.float32)
    gram = P.T @ P
    for j in range(3):  # feature j alone drives neuron j above zero
        c = max(gram[j, i] for i in range(N) if i != j)
        W1[j] = 5 * P[:, j]
        b1[j] = -5 * (c + 0.5 * (1 - c))
    W1[3:5] = 0.01 * rng.standard_normal((2, m))
    b1[3:5] = 5.0  # always on
    b1[5] = -1.0  # W1 row 0: dead
    W2 = rng.standard_normal((N, 6)).astype(np.float32)
    return {"W1": W1, "b1": b1, "W2": W2, "P": P}


def test_analyze_recovers_always_on_neurons(monolab):
    t = hand_model(np.random.default_rng(0))
    with tempfile.TemporaryDirectory() as d:
        ck = os.path.join(d, "step_000001.safetensors")
        save(ck, t, META)
        r = run([monolab, "analyze", ck, "--samples", "2048"])
        assert r.returncode == 0, r.stderr
        assert "3 monosemantic, 1 dead, 2 other" in r.stdout
        with open(os.path.join(d, "analysis.json")) as f:
            a = json.load(f)
    assert a["mono_neurons"] == 3 and a["dead_neurons"] == 1
    assert a["always_on"] == 2 and a["other_positive_bias"] == 2
    assert a["map_rank"] == 2
    sv = np.array(a["singular_values"])
    M = t["W2"][:, 3:5].astype(np.float64) @ t["W1"][3:5] @ t["P"]
    np.testing.assert_allclose(sv[:2], np.linalg.svd(M, compute_uv=False)[:2], rtol=1e-5)
    # ReLU neurons that never turn off are exactly linear: the map fits y_on.
    assert a["map_fit_rel_error"] < 1e-5
    assert {o["neuron"] for o in a["other"]} == {3, 4}


@pytest.mark.parametrize("case,msg", [
    ("missing_W2", "tensor 'W2' is missing"),
    ("bad_shape", "tensor 'W2' has shape[1] = 5, expected 6"),
    ("offsets", "tensor 'b1': data_offsets"),
    ("truncated", "truncated"),
    ("header_len", "header length"),
    ("no_meta", "metadata key 'task' is missing"),
])
def test_analyze_bad_checkpoint(monolab, case, msg):
    t = hand_model(np.random.default_rng(1))
    meta = dict(META)
    over = None
    if case == "missing_W2":
        del t["W2"]
    elif case == "bad_shape":
        t["W2"] = t["W2"][:, :5].copy()
    elif case == "offsets":
        def over(h):
            h["b1"]["data_offsets"][1] += 10 ** 6
    elif case == "no_meta":
        meta = None
    with tempfile.TemporaryDirectory() as d:
        ck = os.path.join(d, "c.safetensors")
        save(ck, t, meta, over)
        if case == "truncated":
            with open(ck, "r+b") as f:
                f.truncate(5)
        if case == "header_len":
            with open(ck, "r+b") as f:
                f.write((10 ** 12).to_bytes(8, "little"))
        r = run([monolab, "analyze", ck])
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
        assert msg in r.stderr, r.stderr
