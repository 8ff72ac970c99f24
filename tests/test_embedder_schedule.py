"""The embedder against numpy's SVD construction (docs/science.md §1.2) and the lr
schedule against torch's CosineAnnealingLR (docs/science.md §1.7)."""
import os
import tempfile

import numpy as np
import pytest
import torch

from conftest import run
from stio import load


@pytest.mark.parametrize("seed,N,m", [(0, 512, 64), (3, 64, 16), (11, 20, 20), (5, 7, 1)])
def test_embedder_matches_numpy_svd(refdump, seed, N, m):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "e.safetensors")
        r = run([refdump, "embedder", path, str(seed), str(N), str(m)])
        assert r.returncode == 0, r.stderr
        t, _ = load(path)
    G, Pt = t["G"], t["Pt"].astype(np.float64)
    assert abs(G.mean()) < 5 / np.sqrt(G.size) and abs(G.std() - 1) < 5 / np.sqrt(G.size)
    np.testing.assert_allclose(np.linalg.norm(Pt, axis=1), 1.0, atol=1e-6)
    # The authors' construction: thin SVD's U, rows scaled to unit norm.
    U = np.linalg.svd(G, full_matrices=False)[0]
    U = U / np.linalg.norm(U, axis=1, keepdims=True)
    # The basis is free, the row Gram matrix is not.
    np.testing.assert_allclose(Pt @ Pt.T, U @ U.T, atol=2e-6)


def test_schedule_matches_torch_cosine_annealing(refdump):
    steps, t_max = 3000, 512
    r = run([refdump, "schedule", str(t_max), str(steps)])
    assert r.returncode == 0, r.stderr
    ours = np.array([float(x) for x in r.stdout.split()])
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=0)
    ref = []
    for _ in range(steps):
        ref.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    ref = np.array(ref)
    assert ours.shape == ref.shape
    # torch's recursive form accumulates rounding; it is exactly periodic in ours.
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    assert ours[512] < 1e-15 and ours[1536] < 1e-15 and ours[1024] == 1.0
