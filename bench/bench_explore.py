"""`make bench` part: `monolab explore` on the synthetic GPT-2-small-scale
input (36,864 neurons; bench/embed_synth.py), once with rows as examples
(the embed benchmark's file) and once with tokens in contexts of 16 (token
windows coloured per token, as for an exported layer). The embed run that
feeds it uses --similar 0 (see bench_embed.py); the site's size and the
explore wall time are reported, with its CPU time (user + system, which
other load on the machine inflates less than the wall time) and the share
of the cores other work kept busy while it ran (bench/benchstat.py). REPS (default 2) runs of explore per input; each
column is the median and [min-max] of its runs."""
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from benchstat import Conditions, cpus, other_work, sample, spread

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MONOLAB = os.path.join(ROOT, "build/monolab")


def du(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    T = os.environ.get("EMBED_T", "8192")
    reps = int(os.environ.get("REPS", "2"))
    cond = Conditions("explore benchmark (bench_explore.py)")
    print(f"explore benchmark: 36,864 neurons, d=768, T={T}; median [min-max] of {reps} runs per input")
    print("| input | examples | clusters | site files | site MB | explore wall s | explore CPU s | other work % |")
    print("|---|---|---|---|---|---|---|---|")
    only = os.environ.get("EXPLORE_ONLY")  # "tokens" or "rows": one of the two inputs
    for label, extra in (("rows as examples, no tokens", []), ("tokens, contexts of 16", ["--contexts", "16"])):
        if only and not label.startswith(only):
            continue
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "synth.safetensors")
            subprocess.run([sys.executable, os.path.join(ROOT, "bench/embed_synth.py"), f, T, *extra], check=True)
            r = subprocess.run([MONOLAB, "embed", f, "-o", os.path.join(d, "e"), "--device", "cpu", "--similar", "0"],
                               capture_output=True, text=True, check=True)
            ex = int(re.search(r"(\d+) examples", r.stderr)[1])
            clusters = int(re.search(r"(\d+) clusters", r.stderr)[1])
            wall, cpu, others = [], [], []
            for rep in range(reps):
                site = os.path.join(d, f"site{rep}")
                ru0, t0, s0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.time(), sample()
                subprocess.run([MONOLAB, "explore", os.path.join(d, "e"), "-o", site], check=True, capture_output=True)
                wall.append(time.time() - t0)
                others.append(100 * other_work(s0, sample(), cpus()))
                ru = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime)
                if rep + 1 < reps:  # each site is hundreds of MB
                    shutil.rmtree(site)
            files = sum(len(fs) for _, _, fs in os.walk(site))
            print(f"| {label} | {ex:,} | {clusters:,} | {files:,} | {du(site) / 1e6:.0f} | {spread(wall)} "
                  f"| {spread(cpu)} | {spread(others, '{:.0f}')} |", flush=True)
    cond.report()


if __name__ == "__main__":
    main()
