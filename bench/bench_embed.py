"""`make bench-embed`: monolab embed on a synthetic GPT-2-small-scale input
(36,864 neurons, d=768; EMBED_NEURONS to change) against the scikit-learn per-neuron pipeline on a
sample of neurons, extrapolated, on the same machine. `bench_embed.py cuda`
on a GPU machine times the CUDA backend the same way; it then also runs the
CPU backend on the same input and counts the neurons whose selection or
partition differs between the two (the input is not exact in float, so the
two GEMM libraries may round a pre-activation to either side of a
threshold: that count is what this measures). Similar clusters are
off (--similar 0): this input's 550k mostly single-example clusters would
make them 466 TFLOP, GPU work, and they are not part of the comparison.
REPS (default 3) interleaved runs of monolab and the peer; each row is the
median and [min-max] of its runs, the ratio taken run by run."""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from benchstat import Conditions, spread

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# MONOLAB: the binary (default build/monolab; the GPU session's rehearsal
# passes the one built on the CPU execution layer)
MONOLAB = os.environ.get("MONOLAB", os.path.join(ROOT, "build/monolab"))


def run_embed(f, out, device):
    r = subprocess.run([MONOLAB, "embed", f, "-o", out, "--device", device,
                        "--similar", "0"], capture_output=True, text=True, check=True)
    m = re.search(r"(\d+) neurons, (\d+) examples: selection ([\d.]+) s, embed\+cluster ([\d.]+) s", r.stderr)
    return int(m[1]), int(m[2]), float(m[3]), float(m[4])


def per_neuron(out):
    """examples.csv as {neuron: (examples, tokens, clusters)} and neurons.csv's metric columns."""
    ex = np.loadtxt(os.path.join(out, "examples.csv"), delimiter=",", skiprows=1, usecols=(0, 1, 2, 3), dtype=np.int64,
                    ndmin=2)
    cut = np.flatnonzero(np.diff(ex[:, 0])) + 1
    groups = {int(g[0, 0]): g[:, 1:] for g in np.split(ex, cut) if len(g)}
    met = np.loadtxt(os.path.join(out, "neurons.csv"), delimiter=",", skiprows=1, usecols=(3, 4, 5, 6), ndmin=2)
    return groups, met


def compare_with_cpu(f, d, out):
    """Neurons whose selected examples, or (same selection) clusters, differ from the CPU backend's."""
    run_embed(f, os.path.join(d, "out_cpu"), "cpu")
    gg, mg = per_neuron(out)
    gc, mc = per_neuron(os.path.join(d, "out_cpu"))
    sel = part = 0
    for j in set(gg) | set(gc):
        a, b = gg.get(j), gc.get(j)
        if a is None or b is None or a.shape != b.shape or not np.array_equal(a[:, :2], b[:, :2]):
            sel += 1
        elif not np.array_equal(a[:, 2], b[:, 2]):
            part += 1
    both = ~(np.isnan(mg) | np.isnan(mc))
    dmax = float(np.max(np.abs(mg[both] - mc[both]))) if both.any() else 0.0
    print(f"against the CPU backend: {sel} neurons select other examples, {part} more cluster them otherwise; "
          f"largest metric difference {dmax:.3g}")


def main():
    device = sys.argv[1] if len(sys.argv) > 1 else "cpu"
    T = os.environ.get("EMBED_T", "8192")
    reps = int(os.environ.get("REPS", "3"))
    cond = Conditions("embed benchmark (bench_embed.py)")
    sel, clu, peer = [], [], []
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "synth.safetensors")
        subprocess.run([sys.executable, os.path.join(ROOT, "bench/embed_synth.py"), f, T,
                        "--neurons", os.environ.get("EMBED_NEURONS", str(12 * 3072))], check=True)
        for rep in range(reps):
            n, ex, s, c = run_embed(f, os.path.join(d, "out"), device)
            sel.append(s)
            clu.append(c)
            out = subprocess.run([sys.executable, os.path.join(ROOT, "bench/peers/sklearn_embed.py"), f, str(min(300, n))],
                                 capture_output=True, text=True, check=True).stdout
            peer.append(n * float(re.search(r"sklearn_seconds_per_neuron=([\d.e-]+)", out)[1]))
            if device != "cpu" and rep == 0:
                compare_with_cpu(f, d, os.path.join(d, "out"))
    total = [a + b for a, b in zip(sel, clu)]
    print(f"embed benchmark: {n} neurons, d=768, T={T} tokens, {ex} examples selected; device {device}; "
          f"median [min-max] of {reps} interleaved runs")
    print("| pipeline | seconds for all neurons | x scikit-learn |")
    print("|---|---|---|")
    print(f"| monolab embed ({device}), selection | {spread(sel, '{:.2f}')} | |")
    print(f"| monolab embed ({device}), embed + cluster | {spread(clu, '{:.2f}')} | |")
    print(f"| monolab embed ({device}), total (file reading excluded) | {spread(total, '{:.2f}')} "
          f"| {spread([p / t for p, t in zip(peer, total)])}x |")
    print(f"| scikit-learn per neuron (300 sampled, extrapolated) | {spread(peer)} | 1.0x |")
    cond.report()


if __name__ == "__main__":
    main()
