"""How a PyTorch peer is timed, and where its step time goes: with PEER_PROFILE=1 in the
environment, a peer runs a few more steps under torch.profiler after its
timed loop and prints its operators by self CPU time (stderr, so the
key=value line on stdout stays the one bench/bench_cpu.py and
bench/gpu_session.sh read)."""
import os
import sys
import time

import torch


def set_threads():
    """PyTorch's CPU threads: OMP_NUM_THREADS if set (bench/bench_cpu.py tries 1 and all), else every core."""
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", len(os.sched_getaffinity(0)))))


def maybe_profile(step, steps=30, rows=12):
    """step(): one training step of the peer."""
    if os.environ.get("PEER_PROFILE") != "1":
        return
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    print(f"{steps} steps, operators by self CPU time:", file=sys.stderr)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows), file=sys.stderr)


def time_steps(step, steps, models, warmup=10, device="cpu", extra=""):
    """Times `steps` calls of step() after `warmup` untimed ones (on a GPU,
    between two synchronisations: the queued work is what counts), then
    profiles (PEER_PROFILE=1), and prints one key=value line, `extra` first;
    `models`: the models one step trains."""
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    for t in range(steps + warmup):
        if t == warmup:
            sync()
            t0 = time.perf_counter()
        step()
    sync()
    el = time.perf_counter() - t0
    maybe_profile(step)
    print(f"{extra + ' ' if extra else ''}torch_threads={torch.get_num_threads()} steps_per_s={steps / el:.2f} "
          f"model_steps_per_s={models * steps / el:.2f}")
