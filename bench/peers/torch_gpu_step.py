"""PyTorch peer on the GPU: the authors' training step, one model per
process, fp32 (TF32 off), LAMB with torch_optimizer semantics, fresh
features every step. Prints model_steps_per_s. Also the tiny-model peer:
`--tiny G N k` trains G instances at once with einsum over instances and
torch.compile (the ARENA-style trainer).
usage: torch_gpu_step.py [steps] | --tiny G N k [steps]"""
import sys
import time

import torch


def lamb_(params, state, lr):
    with torch.no_grad():
        for p in params:
            g = p.grad
            m, v = state.setdefault(p, (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(0.9).add_(g, alpha=0.1)
            v.mul_(0.999).addcmul_(g, g, value=0.001)
            wn = p.pow(2).sum().sqrt().clamp(0, 10)
            a = m / v.sqrt().add(1e-6)
            an = a.pow(2).sum().sqrt()
            r = torch.where((wn > 0) & (an > 0), wn / an, torch.ones_like(wn))
            p.sub_(lr * r * a)


def paper(steps):
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = "cuda"
    N, M, K, B = 512, 64, 1024, 8192
    U = torch.linalg.svd(torch.randn(N, M, device=dev), full_matrices=False)[0]
    P = (U / U.norm(dim=1, keepdim=True)).T.contiguous()
    l1 = torch.nn.Linear(M, K).to(dev)
    l2 = torch.nn.Linear(K, N, bias=False).to(dev)
    params, state = [l1.weight, l1.bias, l2.weight], {}
    for t in range(steps + 10):
        if t == 10:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        v = torch.rand(B, N, device=dev) * (torch.rand(B, N, device=dev) < 1 / 64)
        y = l2(torch.relu(l1(v @ P.T)))
        loss = ((y - v) ** 2).sum() / B
        for p in params:
            p.grad = None
        loss.backward()
        lamb_(params, state, 0.007)
        with torch.no_grad():
            l1.bias.mul_(1 - 0.03 * 0.007)
    torch.cuda.synchronize()
    print(f"peer=paper model_steps_per_s={steps / (time.perf_counter() - t0):.2f}")


def tiny(G, N, K, steps):
    dev = "cuda"
    B, M = 1024, max(2, N // 4)
    W1 = (torch.rand(G, K, M, device=dev) * 2 - 1) / M ** 0.5
    b1 = torch.zeros(G, K, device=dev)
    W2 = (torch.rand(G, N, K, device=dev) * 2 - 1) / K ** 0.5
    P = torch.randn(G, M, N, device=dev)
    params = [W1.requires_grad_(), b1.requires_grad_(), W2.requires_grad_()]
    opt = torch.optim.Adam(params, lr=1e-3)

    @torch.compile
    def step():
        v = torch.rand(G, B, N, device=dev) * (torch.rand(G, B, N, device=dev) < 0.1)
        x = torch.einsum("gmn,gbn->gbm", P, v)
        h = torch.relu(torch.einsum("gkm,gbm->gbk", W1, x) + b1[:, None])
        y = torch.einsum("gnk,gbk->gbn", W2, h)
        return ((y - v) ** 2).sum() / B

    for t in range(steps + 10):
        if t == 10:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        step().backward()
        opt.step()
    torch.cuda.synchronize()
    print(f"peer=tiny G={G} model_steps_per_s={G * steps / (time.perf_counter() - t0):.1f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--tiny":
        G, N, K = (int(x) for x in sys.argv[2:5])
        tiny(G, N, K, int(sys.argv[5]) if len(sys.argv) > 5 else 200)
    else:
        paper(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
