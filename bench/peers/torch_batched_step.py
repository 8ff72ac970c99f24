"""Batched PyTorch peer of a monolab group's training step on the CPU
(docs/science.md §1), in the form ARENA-style toy-model code trains many
small models: every tensor carries an instance axis g in front, the layers
are einsums over it, the loss is summed over the instances (their gradients
stay independent) and one optimiser steps them all. The model is monolab's
decoder (x = P v, h = ReLU(W1 x + b1), y = W2 h, squared error summed over
outputs and averaged over the batch), LAMB as torch_optimizer.Lamb 0.3 but
with each instance's own trust ratio per tensor (monolab's LAMB; one norm
over all instances would couple the models), bias decay per instance.

tests/test_step_torch_batched.py pins Group.step against monolab's losses
and parameters on a few steps of a group (tests/refdump.c `group`).

Run as a script:
  torch_batched_step.py STEPS G N m k B [--device cpu|cuda] [--precision fp32|tf32] [--compile]
trains G fresh instances on fresh uniform features (eps = 8/N, as
bench/bench_cpu.c) and prints one key=value line with steps_per_s and
model_steps_per_s (PEER_PROFILE=1: and its operators' times,
peer_profile.py). `make bench` runs it on the CPU; bench/gpu_session.sh on
the GPU with --compile: the sampling and forward pass (with the backward
AOTAutograd derives from it) and the LAMB update each through
torch.compile, the strongest form of this code a researcher would write.
Where this PyTorch has no torch.compile (before 2.0), the line says
compiled=no; where compiling fails, compiled=failed (and why, on stderr),
and the eager step is timed."""
import argparse
import math
import sys

import torch

from peer_profile import set_threads, time_steps

BETA1, BETA2, LAMB_EPS, LAMB_CLAMP = 0.9, 0.999, 1e-6, 10.0


def per_instance(x, t):
    """x (one number per instance) shaped to broadcast against t [G, ...]."""
    return x.view(-1, *([1] * (t.dim() - 1)))


class Group:
    """G decoders in [G, ...] tensors: W1 [G,k,m], b1 [G,k], W2 [G,out,k]."""

    def __init__(self, W1, b1, W2, lr, decay):
        self.params = [t.clone().requires_grad_(True) for t in (W1, b1, W2)]
        self.lr = lr
        self.decay = torch.as_tensor(decay, dtype=torch.float32)
        self.state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in self.params]

    def losses(self, x, t):
        """Per-instance loss of a batch: x [G,B,m], targets t [G,B,out]."""
        W1, b1, W2 = self.params
        h = torch.relu(torch.einsum("gbm,gkm->gbk", x, W1) + b1[:, None, :])
        y = torch.einsum("gbk,gok->gbo", h, W2)
        return ((y - t) ** 2).sum(dim=(1, 2)) / x.shape[1]

    def lamb(self, lr):
        with torch.no_grad():
            for p, (m, v) in zip(self.params, self.state):
                g = p.grad
                m.mul_(BETA1).add_(g, alpha=1 - BETA1)
                v.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
                a = m / v.sqrt().add(LAMB_EPS)
                wn = p.flatten(1).pow(2).sum(1).sqrt().clamp(0, LAMB_CLAMP)
                an = a.flatten(1).pow(2).sum(1).sqrt()
                trust = torch.where((wn == 0) | (an == 0), torch.ones_like(wn), wn / an)
                p.sub_(a * per_instance(lr * trust, p))

    def step(self, x, t, lr_t, decay_on):
        """One optimiser step on a batch; returns the per-instance losses."""
        return self.update(self.losses(x, t), lr_t, decay_on)

    def update(self, loss, lr_t, decay_on):
        """The optimiser step of the per-instance losses of a batch."""
        for p in self.params:
            p.grad = None
        loss.sum().backward()
        self.lamb(lr_t)
        if decay_on:  # bias decay uses the base lr (docs/science.md §1.7)
            with torch.no_grad():
                self.params[1].mul_((1 - self.decay * self.lr)[:, None])
        return loss.detach()


def sample(Pt, B, eps):
    """Fresh uniform features v [G,B,N] (active with probability eps) and x = P v."""
    G, N, _ = Pt.shape
    v = torch.rand(G, B, N, device=Pt.device) * (torch.rand(G, B, N, device=Pt.device) < eps)
    return torch.einsum("gbn,gnm->gbm", v, Pt), v


def main():
    ap = argparse.ArgumentParser(description="the batched PyTorch peer of a monolab group's training step")
    for name in ("steps", "G", "N", "m", "k", "B"):
        ap.add_argument(name, type=int)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=("fp32", "tf32"), default="fp32")
    ap.add_argument("--compile", action="store_true")
    a = ap.parse_args()
    G, N, m, k, B, dev = a.G, a.N, a.m, a.k, a.B, a.device
    set_threads()
    torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
    torch.manual_seed(0)
    Pt = torch.nn.functional.normalize(torch.randn(G, N, m, device=dev), dim=2)
    bound1, bound2 = 1 / math.sqrt(m), 1 / math.sqrt(k)
    group = Group((torch.rand(G, k, m, device=dev) * 2 - 1) * bound1,
                  (torch.rand(G, k, device=dev) * 2 - 1) * bound1 - 1,
                  (torch.rand(G, N, k, device=dev) * 2 - 1) * bound2, lr=0.03,
                  decay=torch.full((G,), 0.03, device=dev))
    eps = 8 / N
    compiled = "no"
    forward = lambda: group.losses(*sample(Pt, B, eps))  # noqa: E731
    if a.compile and hasattr(torch, "compile"):
        eager = forward, group.lamb
        forward, group.lamb, compiled = torch.compile(forward), torch.compile(group.lamb), "yes"
        try:  # torch.compile fails at the first call, if at all (no compiler, no Triton): eager then, and said
            group.update(forward(), group.lr, True)
        except Exception as e:  # noqa: BLE001 -- any backend failure
            print(f"torch.compile failed, timing the eager step: {type(e).__name__}: {e}", file=sys.stderr)
            (forward, group.lamb), compiled = eager, "failed"

    time_steps(lambda: group.update(forward(), group.lr, True), a.steps, G, device=dev,
               extra=f"peer=batched device={dev} precision={a.precision} compiled={compiled if a.compile else 'off'} "
                     f"G={G} N={N} m={m} k={k} B={B}")


if __name__ == "__main__":
    main()
