"""PyTorch peer of one monolab training step, written the way the authors'
code trains (docs/science.md §1): one model, nn.Linear layers, x = P v,
h = ReLU(W1 x + b1), y = W2 h, fresh uniform features every step,
squared-error loss, LAMB with torch_optimizer semantics, bias decay.

  torch_authors_step.py [STEPS] [--device cpu|cuda] [--precision fp32|tf32] [--batch B]

N=512, m=64, k=1024; batch 128 by default (`make bench`, on the CPU, all
cores); bench/gpu_session.sh runs it on the GPU at the paper's batch 8192,
with TF32 matmuls or without. Prints one key=value line
(peer_profile.time_steps; PEER_PROFILE=1: and its operators' times)."""
import argparse

import torch

from peer_profile import set_threads, time_steps

N, M, K = 512, 64, 1024
EPS = 1 / 64


def lamb(params, state, lr):
    """torch_optimizer.Lamb's update; the trust ratio stays a tensor, so a
    GPU step never waits for the host."""
    with torch.no_grad():
        for p in params:
            m, v = state.setdefault(p, (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(0.9).add_(p.grad, alpha=0.1)
            v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
            wn = p.pow(2).sum().sqrt().clamp(0, 10)
            a = m / v.sqrt().add(1e-6)
            an = a.pow(2).sum().sqrt()
            r = torch.where((wn == 0) | (an == 0), torch.ones_like(wn), wn / an)
            p.sub_(lr * r * a)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("steps", nargs="?", type=int, default=200)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=("fp32", "tf32"), default="fp32")
    ap.add_argument("--batch", type=int, default=128)
    a = ap.parse_args()
    set_threads()
    torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
    torch.manual_seed(0)
    dev, B = a.device, a.batch
    U = torch.linalg.svd(torch.randn(N, M, device=dev), full_matrices=False)[0]
    P = (U / U.norm(dim=1, keepdim=True)).T.contiguous()
    lin1 = torch.nn.Linear(M, K).to(dev)
    lin2 = torch.nn.Linear(K, N, bias=False).to(dev)
    with torch.no_grad():
        lin1.bias -= 1
    params = [lin1.weight, lin1.bias, lin2.weight]
    state = {}
    lr = 0.007

    def one_step():
        v = torch.rand(B, N, device=dev) * (torch.rand(B, N, device=dev) < EPS)
        y = lin2(torch.relu(lin1(v @ P.T)))
        loss = ((y - v) ** 2).sum() / B
        for p in params:
            p.grad = None
        loss.backward()
        lamb(params, state, lr)
        with torch.no_grad():
            lin1.bias.mul_(1 - 0.03 * lr)

    time_steps(one_step, a.steps, 1, device=dev, extra=f"peer=authors device={dev} precision={a.precision} batch={B}")


if __name__ == "__main__":
    main()
