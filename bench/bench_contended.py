"""`make bench`, shared-machine rows: how monolab's thread policy changes its
speed alone and next to other CPU-bound processes.

Policies (each set explicitly in the environment):
  monolab default  nothing set: libgomp's own wait (spin ~300,000 times at a
                   barrier, then sleep) and the thread gauge of
                   src/threads.c, which sheds threads while the cores are
                   shared
  all threads, W   OMP_NUM_THREADS = cores (the gauge is then off) with wait
                   W: libgomp's spin, GOMP_SPINCOUNT=N for N in SPINS
                   (default "30000"), or OMP_WAIT_POLICY=PASSIVE
Workloads:
  sweep  `monolab sweep` of 12 tiny models x SWEEP_STEPS (600) steps in 3
         groups (many short parallel regions), wall time of the process
  step   build/bench/bench_cpu 1 <STEPS> 0: the paper-shape training step,
         the time of its step loop (without start-up and the sgemm reference)
Loads: alone, and next to HOGS `python3 -c "while True: pass"` processes.
Each (workload, policy, load) cell runs REPS times. Within a repetition
every policy runs once per (load, workload), in an order shuffled anew each
time (seeded), so that other jobs on a shared machine hit every policy
alike. Prints the median and the [min, max] spread of each cell, the
slowdown next to the busy processes, and each policy's alone median against
the fastest policy's."""
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

from benchstat import Conditions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MONOLAB = os.path.join(ROOT, "build/monolab")
BENCH_CPU = os.path.join(ROOT, "build/bench/bench_cpu")
SWEEP = """name: contended
seeds: 2
model: {N: 16, m: 4, k: [8, 12, 16], bias_offset: [0.0, -1.0]}
data: {eps: 0.125}
train: {steps: %s, batch: 32, lr: 0.01}
eval: {batch: 64}
checkpoints: none
"""
POLICY_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
SPINS = os.environ.get("SPINS", "30000").split()
CORES = str(len(os.sched_getaffinity(0)))
POLICIES = {"monolab default (adaptive threads)": {},
            "all threads, libgomp spin": {"OMP_NUM_THREADS": CORES},
            **{f"all threads, spin {n}": {"OMP_NUM_THREADS": CORES, "GOMP_SPINCOUNT": n} for n in SPINS},
            "all threads, passive": {"OMP_NUM_THREADS": CORES, "OMP_WAIT_POLICY": "PASSIVE"}}


def run_sweep(cmd, env):
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def run_step(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"step_loop_s=([0-9.]+)", out).group(1))


def main():
    reps = int(os.environ.get("REPS", "10"))
    hogs_n = int(os.environ.get("HOGS", "2"))
    steps = os.environ.get("STEPS", "100")
    base = {k: v for k, v in os.environ.items() if k not in POLICY_VARS}
    shuffle = random.Random(12)
    times = {}
    cond = Conditions("Shared machine (bench_contended.py)")
    busy = f"+{hogs_n} busy"
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "c.yaml")
        with open(cfg, "w") as f:
            f.write(SWEEP % os.environ.get("SWEEP_STEPS", "600"))
        work = {"sweep": (run_sweep, lambda i: [MONOLAB, "sweep", cfg, "-o", os.path.join(d, f"o{i}"), "--device", "cpu"]),
                "step": (run_step, lambda i: [BENCH_CPU, "1", steps, "0"])}
        i = 0
        for _ in range(reps):
            for load in ("alone", busy):
                hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                        for _ in range(hogs_n if load != "alone" else 0)]
                try:
                    for w, (timer, cmd) in work.items():
                        order = list(POLICIES)
                        shuffle.shuffle(order)
                        for pol in order:
                            i += 1
                            times.setdefault((w, pol, load), []).append(timer(cmd(i), dict(base, **POLICIES[pol])))
                finally:
                    for h in hogs:
                        h.kill()
                        h.wait()
    print(f"{reps} interleaved runs per cell (policy order shuffled each time); seconds, median [min, max]; "
          f"sweep: wall time of `monolab sweep`; step: bench_cpu's loop of {steps} paper-shape steps")
    print(f"| workload | policy | alone | vs fastest alone | with {hogs_n} busy processes | slowdown |")
    print("|---|---|---|---|---|---|")
    med = statistics.median
    fmt = lambda v: f"{med(v):.3f} [{min(v):.3f}, {max(v):.3f}]"
    for w in work:
        fastest = min(med(times[(w, p, "alone")]) for p in POLICIES)
        for pol, env in POLICIES.items():
            a, c = times[(w, pol, "alone")], times[(w, pol, busy)]
            print(f"| {w} | {pol} | {fmt(a)} | {100 * (med(a) / fastest - 1):+.0f}% | {fmt(c)} "
                  f"| {med(c) / med(a):.1f}x |")
    cond.report()


if __name__ == "__main__":
    main()
