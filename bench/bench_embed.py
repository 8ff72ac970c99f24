"""`make bench-embed`: monolab embed on a synthetic GPT-2-small-scale input
(36,864 neurons, d=768) against the scikit-learn per-neuron pipeline on a
sample of neurons, extrapolated, on the same machine. Pass --device cuda on
a GPU machine to time the CUDA backend the same way. Similar clusters are
off (--similar 0): this input's 550k mostly single-example clusters would
make them 466 TFLOP, GPU work, and they are not part of the comparison."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    device = sys.argv[1] if len(sys.argv) > 1 else "cpu"
    T = os.environ.get("EMBED_T", "8192")
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "synth.safetensors")
        subprocess.run([sys.executable, os.path.join(ROOT, "bench/embed_synth.py"), f, T], check=True)
        r = subprocess.run([os.path.join(ROOT, "build/monolab"), "embed", f, "-o", os.path.join(d, "out"),
                            "--device", device, "--similar", "0"], capture_output=True, text=True, check=True)
        m = re.search(r"(\d+) neurons, (\d+) examples: selection ([\d.]+) s, embed\+cluster ([\d.]+) s", r.stderr)
        n, ex, sel, clu = int(m[1]), int(m[2]), float(m[3]), float(m[4])
        peer = subprocess.run([sys.executable, os.path.join(ROOT, "bench/peers/sklearn_embed.py"), f, "300"],
                              capture_output=True, text=True, check=True).stdout
        per = float(re.search(r"sklearn_seconds_per_neuron=([\d.e-]+)", peer)[1])
    ours = sel + clu
    print(f"embed benchmark: {n} neurons, d=768, T={T} tokens, {ex} examples selected; device {device}")
    print("| pipeline | seconds for all neurons | x scikit-learn |")
    print("|---|---|---|")
    print(f"| monolab embed ({device}), selection | {sel:.2f} | |")
    print(f"| monolab embed ({device}), embed + cluster | {clu:.2f} | |")
    print(f"| monolab embed ({device}), total (file reading excluded) | {ours:.2f} | {per * n / ours:.1f}x |")
    print(f"| scikit-learn per neuron (300 sampled, extrapolated) | {per * n:.1f} | 1.0x |")


if __name__ == "__main__":
    main()
