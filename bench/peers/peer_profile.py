"""How a PyTorch peer is timed, and where its step time goes: with PEER_PROFILE=1 in the
environment, a peer runs a few more steps under torch.profiler after its
timed loop and prints its operators by self CPU time (stderr, so the
key=value line on stdout stays the one bench/bench_cpu.py reads)."""
import os
import sys
import time

import torch


def maybe_profile(step, steps=30, rows=12):
    """step(): one training step of the peer."""
    if os.environ.get("PEER_PROFILE") != "1":
        return
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    print(f"{steps} steps, operators by self CPU time:", file=sys.stderr)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows), file=sys.stderr)


def time_steps(step, steps, models, warmup=10):
    """Times `steps` calls of step() after `warmup` untimed ones, then profiles
    (PEER_PROFILE=1), and prints the key=value line bench/bench_cpu.py reads;
    `models`: the models one step trains."""
    for t in range(steps + warmup):
        if t == warmup:
            t0 = time.perf_counter()
        step()
    el = time.perf_counter() - t0
    maybe_profile(step)
    print(f"torch_threads={torch.get_num_threads()} steps_per_s={steps / el:.2f} "
          f"model_steps_per_s={models * steps / el:.2f}")
