"""Where a PyTorch peer's step time goes: with PEER_PROFILE=1 in the
environment, a peer runs a few more steps under torch.profiler after its
timed loop and prints its operators by self CPU time (stderr, so the
key=value line on stdout stays the one bench/bench_cpu.py reads)."""
import os
import sys

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
