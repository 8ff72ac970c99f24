"""`make bench` on the CPU, two tables:

1. The paper shape (N=512, m=64, k=1024, B=128): monolab's training step,
   a lone model and a group of 2, against OpenBLAS sgemm running the
   step's five GEMMs on the same shapes in the same process (the rate the
   step could reach if everything else were free), and against the
   per-model PyTorch peer (bench/peers/torch_authors_step.py).
2. The quickstart's tiny models (N=64, m=16, k=16..256, B=128, 16 models
   per group): monolab's group step against the batched PyTorch peer
   (bench/peers/torch_batched_step.py: the same 16 models in one tensor
   with an instance axis, one optimiser).
Both peers run on 1 thread and on all threads, and each repetition's
faster run is the reference (run_peer).

Every run of every row is repeated REPS times, interleaved with the other
rows, and each row reports the median and [min-max] of its runs. Ratios
are taken run by run against the side-by-side run (the sgemm rate of the
same process; the peer run of the same repetition), then summarised the
same way. The ms columns say where monolab's step time goes (each backend
call's time per step). The header and footer give the CPU, the thread
count and how busy other work kept the cores before and after
(bench/benchstat.py).

BASELINE=<another build's bench_cpu binary> adds its rows, run in the same
interleaved loop, for before/after comparisons under the same conditions.
Arguments: [paper steps (300) [tiny steps (1000) [tiny peer steps (300)]]]
(the peer is slower, so fewer of its steps take as long); TINY_K="16 256"
picks the widths."""
import os
import subprocess
import sys

from benchstat import Conditions, kv, spread, threads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER = (512, 64, 1024, 128)
TINY_G, TINY_N, TINY_M, TINY_B = 16, 64, 16, 128
PHASES = ("sample", "forward", "backward", "optimize")


def step_flops(N, m, k, B):
    return 2 * B * k * (2 * m + 3 * N)


def run(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    return kv(out.strip().splitlines()[-1])


def run_peer(cmd, by_threads, key):
    """One repetition of a PyTorch peer, on 1 thread and on all: PyTorch's
    threads can cost more than they gain on small tensors or on a shared
    machine, so monolab is compared with the faster of the two in each
    repetition. Every run is kept in by_threads[(key, threads)]."""
    best = None
    for nt in sorted({1, threads()}):
        r = run([sys.executable, *cmd], env=dict(os.environ, OMP_NUM_THREADS=str(nt)))
        by_threads.setdefault((key, nt), []).append(r)
        best = r if best is None or r["model_steps_per_s"] > best["model_steps_per_s"] else best
    return best


def peer_rows(by_threads, label, fmt, show_key):
    for (key, nt), ps in by_threads.items():
        print(f"| {label}, {nt} thread{'s' if nt > 1 else ''} |{f' {key} |' if show_key else ''} "
              f"{spread([p['model_steps_per_s'] for p in ps], fmt)} |")


def phase_cells(runs):
    return " | ".join(spread([r[f"ms_{p}"] for r in runs], "{:.2f}") for p in PHASES)


def paper_table(binaries, reps, steps):
    runs, peer, peer_nt = {}, [], {}
    for _ in range(reps):
        for name, binary in binaries.items():
            for G in (1, 2):
                runs.setdefault((name, G), []).append(run([binary, str(G), steps]))
        peer.append(run_peer([os.path.join(ROOT, "bench/peers/torch_authors_step.py"), steps], peer_nt, "paper"))
    print(f"\nPaper shape N={PAPER[0]} m={PAPER[1]} k={PAPER[2]} B={PAPER[3]}, decoder, ReLU, LAMB, fp32; "
          f"{steps} steps per run; median [min-max] of {reps} interleaved runs")
    print("| config | model-steps/s | GFLOP/s | % of sgemm (same process) | x PyTorch per model-step "
          "| ms sample | ms forward | ms backward | ms optimize |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, G), rs in runs.items():
        pct = [100 * r["gflops"] / r["sgemm_gflops"] for r in rs]
        vs = [r["model_steps_per_s"] / p["steps_per_s"] for r, p in zip(rs, peer)]
        print(f"| {name} G={G} | {spread([r['model_steps_per_s'] for r in rs])} | {spread([r['gflops'] for r in rs])} "
              f"| {spread(pct, '{:.0f}%')} | {spread(vs, '{:.2f}x')} | {phase_cells(rs)} |")
    sg = [r["sgemm_gflops"] for rs in runs.values() for r in rs]
    print(f"| sgemm alone (five GEMMs, all cores) | | {spread(sg)} | 100% | | | | | |")
    flops = step_flops(*PAPER)
    print(f"| PyTorch peer, the faster thread count of each repetition | {spread([p['steps_per_s'] for p in peer])} "
          f"| {spread([flops * p['steps_per_s'] / 1e9 for p in peer])} | | 1.00x | | | | |")
    print("\n| PyTorch peer by thread count | model-steps/s |\n|---|---|")
    peer_rows(peer_nt, "PyTorch peer", "{:.1f}", False)


def tiny_table(binaries, reps, steps, peer_steps, widths):
    runs, peer, peer_nt = {}, {}, {}
    for _ in range(reps):
        for k in widths:
            for name, binary in binaries.items():
                runs.setdefault((name, k), []).append(
                    run([binary, str(TINY_G), steps, "0", str(TINY_N), str(TINY_M), str(k), str(TINY_B)]))
            shape = [peer_steps, str(TINY_G), str(TINY_N), str(TINY_M), str(k), str(TINY_B)]
            peer.setdefault(k, []).append(
                run_peer([os.path.join(ROOT, "bench/peers/torch_batched_step.py"), *shape], peer_nt, k))
    print(f"\nTiny models (the quickstart's shapes): N={TINY_N} m={TINY_M} B={TINY_B}, {TINY_G} models per group, "
          f"LAMB, fp32; {steps} steps per run ({peer_steps} for the peer); median [min-max] of {reps} interleaved runs")
    print("| config | k | model-steps/s | x batched PyTorch | ms sample | ms forward | ms backward | ms optimize |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, k), rs in runs.items():
        vs = [r["model_steps_per_s"] / p["model_steps_per_s"] for r, p in zip(rs, peer[k])]
        print(f"| {name} G={TINY_G} | {k} | {spread([r['model_steps_per_s'] for r in rs], '{:.0f}')} "
              f"| {spread(vs, '{:.2f}x')} | {phase_cells(rs)} |")
    print("\n| batched PyTorch peer by thread count | k | model-steps/s |\n|---|---|---|")
    peer_rows(peer_nt, f"batched PyTorch peer, {TINY_G} instances", "{:.0f}", True)


def main():
    steps = sys.argv[1] if len(sys.argv) > 1 else "300"
    tiny_steps = sys.argv[2] if len(sys.argv) > 2 else "1000"
    peer_steps = sys.argv[3] if len(sys.argv) > 3 else "300"
    reps = int(os.environ.get("REPS", "3"))
    widths = [int(k) for k in os.environ.get("TINY_K", "16 32 64 128 256").split()]
    binaries = {"monolab": os.path.join(ROOT, "build/bench/bench_cpu")}
    if os.environ.get("BASELINE"):
        binaries["baseline"] = os.environ["BASELINE"]
    cond = Conditions("CPU training step (bench_cpu.py)")
    paper_table(binaries, reps, steps)
    tiny_table(binaries, reps, tiny_steps, peer_steps, widths)
    cond.report()


if __name__ == "__main__":
    main()
