"""One training step of the CPU backend against PyTorch (docs/science.md §1.4-§1.7).

refdump runs 3 steps of a small model (N=24, m=6, k=20, B=16, L1 0.01,
bias decay 0.5 with steps=4 so decay is on for steps 0,1 and off for 2,
cosine schedule with T_max=3) and dumps the batch, loss, gradients and
parameters of every step. We replay the same batches in PyTorch starting
from the same initial parameters. Tolerance: normalised error
||ours - torch|| / ||torch|| <= 1e-5 per tensor.
"""
import math
import os
import tempfile

import numpy as np
import pytest
import torch

from conftest import run
from stio import load

TOL = 1e-5


def lamb_step(params, grads, state, lr):
    """torch_optimizer.Lamb 0.3 defaults: betas (0.9, 0.999), eps 1e-6,
    weight_decay 0, clamp_value 10, adam=False, debias=False."""
    for name, p in params.items():
        g = grads[name]
        st = state.setdefault(name, {"m": torch.zeros_like(p), "v": torch.zeros_like(p)})
        st["m"].mul_(0.9).add_(g, alpha=1 - 0.9)
        st["v"].mul_(0.999).addcmul_(g, g, value=1 - 0.999)
        weight_norm = p.pow(2).sum().sqrt().clamp(0, 10)
        adam_step = st["m"] / st["v"].sqrt().add(1e-6)
        adam_norm = adam_step.pow(2).sum().sqrt()
        trust = 1.0 if (weight_norm == 0 or adam_norm == 0) else (weight_norm / adam_norm)
        p.add_(adam_step, alpha=-lr * float(trust))


def act_fn(name):
    return {
        "relu": torch.relu,
        "gelu": lambda z: torch.nn.functional.gelu(z),  # exact erf form
        "solu": lambda z: z * torch.exp(z),
    }[name]


def unpack(flat, k, m, out):
    W1 = flat[: k * m].reshape(k, m)
    b1 = flat[k * m : k * m + k]
    W2 = flat[k * m + k :].reshape(out, k)
    return W1, b1, W2


def normerr(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)


@pytest.mark.parametrize("task", ["decoder", "reprojector", "abs"])
@pytest.mark.parametrize("act", ["relu", "gelu", "solu"])
@pytest.mark.parametrize("opt", ["lamb", "adam", "adamw"])
def test_step_matches_torch(refdump, task, act, opt):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "step.safetensors")
        r = run([refdump, "step", path, task, act, opt, "3"])
        assert r.returncode == 0, r.stderr
        t, meta = load(path)
    N, m, k = int(meta["N"]), int(meta["m"]), int(meta["k"])
    lr, decay, l1 = float(meta["lr"]), float(meta["decay"]), float(meta["l1"])
    steps, t_max = int(meta["steps"]), int(meta["t_max"])
    out = m if task == "reprojector" else N
    W1, b1, W2 = (torch.tensor(a.copy(), requires_grad=True) for a in unpack(t["params0"], k, m, out))
    params = {"W1": W1, "b1": b1, "W2": W2}
    phi = act_fn(act)
    if opt == "lamb":
        state = {}
    else:
        cls = torch.optim.Adam if opt == "adam" else torch.optim.AdamW
        torch_opt = cls([W1, b1, W2], lr=lr)  # AdamW default weight_decay 0.01
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(torch_opt, T_max=t_max, eta_min=0)
    for s in range(3):
        X = torch.tensor(t[f"X{s}"])
        T = torch.tensor(t[f"T{s}"])
        B = X.shape[0]
        h = phi(X @ W1.T + b1)
        y = h @ W2.T
        mse = ((y - T) ** 2).sum() / B
        loss = mse + l1 * h.abs().sum() / B
        for p in params.values():
            p.grad = None
        loss.backward()
        assert abs(float(mse) - float(t[f"loss{s}"][0])) <= TOL * abs(float(mse)), (s, float(mse), t[f"loss{s}"])
        ours_g = unpack(t[f"grad{s}"], k, m, out)
        for name, og in zip(["W1", "b1", "W2"], ours_g):
            e = normerr(og, params[name].grad.numpy())
            assert e <= TOL, f"step {s} grad {name}: normalised error {e:.2e}"
        with torch.no_grad():
            lr_t = lr * (1 + math.cos(math.pi * s / t_max)) / 2
            if opt == "lamb":
                lamb_step(params, {n: p.grad for n, p in params.items()}, state, lr_t)
            else:
                torch_opt.step()
                sched.step()
            if s < steps / 2:
                b1.mul_(1 - decay * lr)
        ours_p = unpack(t[f"params{s + 1}"], k, m, out)
        for name, op in zip(["W1", "b1", "W2"], ours_p):
            e = normerr(op, params[name].detach().numpy())
            assert e <= TOL, f"step {s} params {name}: normalised error {e:.2e}"
