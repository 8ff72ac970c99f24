"""The batched PyTorch peer of `make bench` (bench/peers/torch_batched_step.py:
all models of a group in [G, ...] tensors, einsum layers, one optimiser)
trains what monolab trains: fed monolab's batches and initial parameters
(tests/refdump.c `group`: 5 decoders with their own seeds, bias offsets and
decays, LAMB, cosine schedule, bias decay on for all but the last step), its
per-model losses on every step and the parameters after the last step match
monolab's. Tolerance as tests/test_step_torch.py: 1e-5 relative per loss,
normalised error 1e-5 per model and tensor."""
import math
import os
import sys
import tempfile

import numpy as np
import torch

from conftest import ROOT, run
from stio import load

sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
from torch_batched_step import Group  # noqa: E402

TOL = 1e-5
G, STEPS = 5, 4


def split(flat, k, m):
    """[G, n_param] -> W1 [G,k,m], b1 [G,k], W2 [G,N,k] (monolab's layout)."""
    Gn = flat.shape[0]
    return (torch.tensor(flat[:, : k * m].reshape(Gn, k, m)), torch.tensor(flat[:, k * m : k * m + k]),
            torch.tensor(flat[:, k * m + k :].reshape(Gn, -1, k)))


def test_batched_peer_matches_monolab(refdump):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "group.safetensors")
        r = run([refdump, "group", path, str(G), str(STEPS)])
        assert r.returncode == 0, r.stderr
        t, meta = load(path)
    m, k = int(meta["m"]), int(meta["k"])
    lr, steps, t_max = float(meta["lr"]), int(meta["steps"]), int(meta["t_max"])
    group = Group(*split(t["params0"], k, m), lr=lr, decay=torch.tensor(t["decay"]))
    assert len(set(t["decay"].tolist())) > 1  # the models differ in decay, so it is per instance
    for s in range(STEPS):
        lr_t = lr * (1 + math.cos(math.pi * s / t_max)) / 2
        loss = group.step(torch.tensor(t[f"X{s}"]), torch.tensor(t[f"T{s}"]), lr_t, 2 * s < steps).numpy()
        ours = t[f"loss{s}"]
        assert np.all(np.abs(loss - ours) <= TOL * np.abs(ours)), (s, loss, ours)
    for name, ours, peer in zip(("W1", "b1", "W2"), split(t["params_end"], k, m), group.params):
        for i in range(G):
            a, b = ours[i].numpy().astype(np.float64), peer[i].detach().numpy().astype(np.float64)
            e = np.linalg.norm(a - b) / np.linalg.norm(b)
            assert e <= TOL, f"model {i} {name}: normalised error {e:.2e}"
