"""PyTorch peer of one monolab training step on the CPU (docs/science.md §1): the
authors' model (x = P v, h = ReLU(W1 x + b1), y = W2 h), fresh uniform
features every step, squared-error loss, LAMB with torch_optimizer
semantics, bias decay. fp32, one model, all cores.

Prints one key=value line: steps_per_s at N=512, m=64, k=1024, B=128
(PEER_PROFILE=1: and its operators' times, peer_profile.py)."""
import os
import sys

import torch

from peer_profile import time_steps

N, M, K, B = 512, 64, 1024, 128
EPS = 1 / 64


def lamb(params, state, lr):
    with torch.no_grad():
        for p in params:
            g = p.grad
            st = state.setdefault(p, (torch.zeros_like(p), torch.zeros_like(p)))
            m, v = st
            m.mul_(0.9).add_(g, alpha=0.1)
            v.mul_(0.999).addcmul_(g, g, value=0.001)
            wn = p.pow(2).sum().sqrt().clamp(0, 10)
            a = m / v.sqrt().add(1e-6)
            an = a.pow(2).sum().sqrt()
            r = 1.0 if (wn == 0 or an == 0) else float(wn / an)
            p.add_(a, alpha=-lr * r)


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", len(os.sched_getaffinity(0)))))
    torch.manual_seed(0)
    G = torch.randn(N, M)
    U = torch.linalg.svd(G, full_matrices=False)[0]
    P = (U / U.norm(dim=1, keepdim=True)).T.contiguous()
    lin1 = torch.nn.Linear(M, K)
    lin2 = torch.nn.Linear(K, N, bias=False)
    with torch.no_grad():
        lin1.bias -= 1
    params = [lin1.weight, lin1.bias, lin2.weight]
    state = {}
    lr = 0.007

    def one_step():
        v = torch.rand(B, N) * (torch.rand(B, N) < EPS)
        x = v @ P.T
        h = torch.relu(lin1(x))
        y = lin2(h)
        loss = ((y - v) ** 2).sum() / B
        for p in params:
            p.grad = None
        loss.backward()
        lamb(params, state, lr)
        with torch.no_grad():
            lin1.bias.mul_(1 - 0.03 * lr)

    time_steps(one_step, steps, 1)


if __name__ == "__main__":
    main()
