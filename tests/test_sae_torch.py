"""`monolab sae`'s training arithmetic against PyTorch 1.13 autograd.

saedump runs the C code on small inputs and dumps every tensor; here the
same computation is written in PyTorch and compared. Tolerance: normalised
error ||ours - torch|| / ||torch|| <= 1e-5 per tensor.
- L_N and its gradient (ml_sae_ln_grad) and the h̄ update;
- SAE steps through the CPU backend, with and without L_N (L_N from step 1,
  so step 0 is plain and steps 1, 2 carry it): gradients, loss terms,
  parameters after Adam and decoder renormalisation;
- MLP steps: cross-entropy gradient and Adam.
"""
import os
import tempfile

import numpy as np
import pytest
import torch

from conftest import BUILD, run
from stio import load

TOL = 1e-5
SAEDUMP = os.path.join(BUILD, "tests", "saedump")


def normerr(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)


def dump(*args):
    path = os.path.join(tempfile.mkdtemp(), "d.safetensors")
    r = run([SAEDUMP, args[0], path, *map(str, args[1:])])
    assert r.returncode == 0, r.stderr
    t, _ = load(path)
    return {k: torch.from_numpy(v.copy()) for k, v in t.items()}


def ln_loss(X, A, W_enc, hbar, hset):
    """docs/science.md §2.5: L_N = mean_b sum_{j active on b, h̄_j set} 1 - cos(h̄_j * w_j, x_b * w_j)."""
    w = W_enc.t()                                  # [n][d]: w_j
    u = hbar * w                                   # [n][d]
    v = X[:, None, :] * w[None, :, :]              # [B][n][d]
    den = u.norm(dim=-1)[None] * v.norm(dim=-1)
    # a zero-norm pair (h̄ unset, or x ⊙ w = 0) has cos 0, as in the C code; the
    # safe denominator keeps 0/0 out of autograd
    cos = (u[None] * v).sum(-1) / torch.where(den > 0, den, torch.ones_like(den))
    mask = ((A > 0) & (hset[None] > 0)).float()
    return ((1 - cos) * mask).sum() / X.shape[0]


def hbar_update(X, A, hbar, hset):
    hbar, hset = hbar.clone(), hset.clone()
    for b in range(X.shape[0]):
        for j in range(A.shape[1]):
            if A[b, j] > 0:
                hbar[j] = X[b] if hset[j] == 0 else 0.9 * hbar[j] + 0.1 * X[b]
                hset[j] = 1
    return hbar, hset


def test_ln_gradient_matches_autograd():
    t = dump("ln")
    W = t["W_enc"].clone().requires_grad_(True)
    loss = ln_loss(t["X"], t["A"], W, t["hbar"], t["hset"])
    loss.backward()
    assert t["hset"].sum() < len(t["hset"])         # some latents have no h̄ yet ...
    assert (t["grad"] != 0).any()                   # ... and the gradient is not trivially zero
    assert abs(float(loss) - float(t["loss"][0])) <= TOL * abs(float(loss))
    assert normerr(t["grad"], W.grad) <= TOL
    # columns of latents without h̄, or never active, get no gradient
    idle = (t["hset"] == 0) | ((t["A"] > 0).sum(0) == 0)
    assert (t["grad"][:, idle] == 0).all()
    hb, hs = hbar_update(t["X"], t["A"], t["hbar"], t["hset"])
    assert normerr(t["hbar_after"], hb) <= 1e-6
    assert torch.equal(t["hset_after"], hs)


def sae_forward_loss(p, x, l1, ln, hbar, hset, d, n, with_ln):
    W_enc, b_enc, W_dec, b_dec = p
    a = torch.relu((x - b_dec) @ W_enc + b_enc)
    xh = a @ W_dec + b_dec
    mse = ((xh - x) ** 2).mean()
    l1n = a.abs().sum() / x.shape[0]
    lnv = ln_loss(x, a.detach(), W_enc, hbar, hset) if with_ln else torch.tensor(0.0)
    return mse + l1 * l1n + ln * lnv, (mse, l1n, lnv), a


@pytest.mark.parametrize("l1,ln", [(0.01, 0.0), (0.01, 0.5), (0.0, 2.0)])
def test_sae_steps_match_torch(l1, ln):
    d, n, lr, ln_start = 8, 24, 0.01, 1
    t = dump("step", l1, ln, 3)
    flat = t["params0"]
    sizes = [d * n, n, n * d, d]
    chunks = torch.split(flat.clone(), sizes)
    params = [chunks[0].reshape(d, n), chunks[1], chunks[2].reshape(n, d), chunks[3]]
    params = [q.clone().requires_grad_(True) for q in params]
    opt = torch.optim.Adam(params, lr=lr)
    hbar, hset = t["hbar0"].clone(), t["hset0"].clone()
    assert (hset == 0).all()
    for s in range(3):
        x = t["data"][t[f"rows{s}"].long()]
        # the state the C code started the step from
        assert normerr(t[f"hbar{s}"], hbar) <= 1e-6 and torch.equal(t[f"hset{s}"], hset)
        opt.zero_grad()
        with_ln = s >= ln_start and ln != 0
        loss, (mse, l1n, lnv), a = sae_forward_loss(params, x, l1, ln, hbar, hset, d, n, with_ln)
        loss.backward()
        terms = t[f"terms{s}"]
        for ours, ref in zip(terms, (mse, l1n, lnv, loss)):
            assert abs(float(ours) - float(ref)) <= TOL * max(abs(float(ref)), 1e-6), (s, terms, mse, l1n, lnv)
        if with_ln:
            assert float(lnv) > 0                    # L_N really is in this step
        g = torch.cat([q.grad.reshape(-1) for q in params])
        assert normerr(t[f"grad{s}"], g) <= TOL, s
        opt.step()
        with torch.no_grad():
            params[2] /= params[2].norm(dim=1, keepdim=True)
        hbar, hset = hbar_update(x, a.detach(), hbar, hset)
        p = torch.cat([q.detach().reshape(-1) for q in params])
        assert normerr(t[f"params{s + 1}"], p) <= TOL, s


def test_ln_changes_the_step():
    """The L_N runs above must differ from plain ones: the check can fail."""
    a = dump("step", 0.01, 0.0, 3)
    b = dump("step", 0.01, 0.5, 3)
    assert torch.equal(a["grad0"], b["grad0"])       # L_N is off at step 0
    assert normerr(a["grad1"], b["grad1"]) > 1e-3


def test_mlp_steps_match_torch():
    din, h, no, lr = 20, 12, 5, 0.01
    t = dump("mlp", 3)
    flat = t["params0"]
    c = torch.split(flat.clone(), [h * din, h, no * h, no])
    params = [c[0].reshape(h, din), c[1], c[2].reshape(no, h), c[3]]
    params = [q.clone().requires_grad_(True) for q in params]
    opt = torch.optim.Adam(params, lr=lr)
    for s in range(3):
        x, y = t[f"X{s}"], t[f"y{s}"].long()
        opt.zero_grad()
        logits = torch.relu(x @ params[0].t() + params[1]) @ params[2].t() + params[3]
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        assert abs(float(loss) - float(t[f"loss{s}"][0])) <= TOL * float(loss)
        g = torch.cat([q.grad.reshape(-1) for q in params])
        assert normerr(t[f"grad{s}"], g) <= TOL, s
        opt.step()
        p = torch.cat([q.detach().reshape(-1) for q in params])
        assert normerr(t[f"params{s + 1}"], p) <= TOL, s
    # torch.nn.Linear's init range: |W1| <= 1/sqrt(din), |W2| <= 1/sqrt(h)
    assert c[0].abs().max() <= 1 / np.sqrt(din) and c[2].abs().max() <= 1 / np.sqrt(h)
