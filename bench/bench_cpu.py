"""`make bench` on the CPU: monolab's training step against OpenBLAS sgemm on
the same shapes (same process) and against the PyTorch peer (same machine,
same thread count). Each of the three is run REPS times, interleaved, and
the best run of each is kept, because timings on a shared VM vary by
+-15% from run to run. Prints a table; copy it into bench/RESULTS.md with
the date and machine.

BASELINE=<another build's bench_cpu binary> adds its rows, run in the same
interleaved loop, for before/after comparisons under the same conditions."""
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kv(line):
    return {k: float(v) for k, v in (p.split("=") for p in line.split())}


def main():
    steps = sys.argv[1] if len(sys.argv) > 1 else "300"
    reps = int(os.environ.get("REPS", "3"))
    binaries = {"monolab": os.path.join(ROOT, "build/bench/bench_cpu")}
    if os.environ.get("BASELINE"):
        binaries["baseline"] = os.environ["BASELINE"]
    best = {}
    for _ in range(reps):
        for name, binary in binaries.items():
            for G in (1, 2):
                out = kv(subprocess.run([binary, str(G), steps], capture_output=True, text=True, check=True).stdout)
                if (name, G) not in best or out["model_steps_per_s"] > best[(name, G)]["model_steps_per_s"]:
                    best[(name, G)] = out
        peer_run = kv(subprocess.run([sys.executable, os.path.join(ROOT, "bench/peers/torch_cpu_step.py"), steps],
                                     capture_output=True, text=True, check=True).stdout)
        if "peer" not in best or peer_run["steps_per_s"] > best["peer"]["steps_per_s"]:
            best["peer"] = peer_run
    rows, peer = [(name, best[(name, G)]) for name in binaries for G in (1, 2)], best["peer"]
    cpu = platform.processor() or platform.machine()
    print(f"CPU training step, N=512 m=64 k=1024 B=128, LAMB, fp32; {int(rows[0][1]['threads'])} threads; {cpu}; "
          f"best of {reps} interleaved runs each")
    print("| config | model-steps/s | GFLOP/s | sgemm GFLOP/s (same shapes) | % of sgemm | x PyTorch per model-step |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} G={int(r['G'])} | {r['model_steps_per_s']:.1f} | {r['gflops']:.1f} | {r['sgemm_gflops']:.1f} "
              f"| {100 * r['gflops'] / r['sgemm_gflops']:.0f}% | {r['model_steps_per_s'] / peer['steps_per_s']:.2f}x |")
    flops = 2 * 128 * 1024 * (2 * 64 + 3 * 512)
    print(f"| PyTorch peer | {peer['steps_per_s']:.1f} | {flops * peer['steps_per_s'] / 1e9:.1f} | | | 1.00x |")


if __name__ == "__main__":
    main()
