"""`make bench`, shared-machine rows: how much slower monolab gets when other
CPU-bound processes share the cores, under libgomp's default wait policy
(spin ~300,000 iterations at each barrier, forced here with
GOMP_SPINCOUNT=300000) and under monolab's default (OMP_WAIT_POLICY=PASSIVE,
set by src/threads.c). Two workloads:
  sweep  `monolab sweep` of 12 tiny models x 200 steps (many short regions)
  step   build/bench/bench_cpu 1 <steps>: the paper-shape training step
Each (workload, policy, load) cell runs REPS times, interleaved; prints the
median and the [min, max] spread, because other jobs share this machine."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MONOLAB = os.path.join(ROOT, "build/monolab")
SWEEP = """name: contended
seeds: 2
model: {N: 16, m: 4, k: [8, 12, 16], bias_offset: [0.0, -1.0]}
data: {eps: 0.125}
train: {steps: 200, batch: 32, lr: 0.01}
eval: {batch: 64}
checkpoints: none
"""
POLICIES = {"libgomp default (spin)": {"GOMP_SPINCOUNT": "300000"}, "monolab (passive)": {}}


def timed(cmd, env):
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    reps = int(os.environ.get("REPS", "5"))
    hogs_n = int(os.environ.get("HOGS", "2"))
    steps = os.environ.get("STEPS", "100")
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    times = {}
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "c.yaml")
        with open(cfg, "w") as f:
            f.write(SWEEP)
        work = {"sweep": lambda i: [MONOLAB, "sweep", cfg, "-o", os.path.join(d, f"o{i}"), "--device", "cpu"],
                "step": lambda i: [os.path.join(ROOT, "build/bench/bench_cpu"), "1", steps]}
        i = 0
        for _ in range(reps):
            for load in ("alone", f"+{hogs_n} busy"):
                hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(
                    hogs_n if load != "alone" else 0)]
                try:
                    for w, cmd in work.items():
                        for pol, extra in POLICIES.items():
                            i += 1
                            times.setdefault((w, pol, load), []).append(timed(cmd(i), dict(base, **extra)))
                finally:
                    for h in hogs:
                        h.kill()
                        h.wait()
    print(f"Shared machine: {os.cpu_count()} cores, load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after; "
          f"{reps} interleaved runs per cell; wall seconds, median [min, max]")
    print("| workload | policy | alone | with " + f"{hogs_n} busy processes | slowdown |")
    print("|---|---|---|---|---|")
    for w in work:
        for pol in POLICIES:
            a, c = times[(w, pol, "alone")], times[(w, pol, f"+{hogs_n} busy")]
            fmt = lambda v: f"{statistics.median(v):.2f} [{min(v):.2f}, {max(v):.2f}]"
            print(f"| {w} | {pol} | {fmt(a)} | {fmt(c)} | {statistics.median(c) / statistics.median(a):.1f}x |")


if __name__ == "__main__":
    main()
