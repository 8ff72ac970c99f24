#!/usr/bin/env bash
# Everything that needs a GPU, in one go (one device call): build, GPU tests,
# compute-sanitizer, the four CUDA-backend benchmarks of the issue and the
# embed benchmark. Prints a short table last. Run from the repository root
# on a machine with a GPU, the CUDA toolkit and PyTorch.
set -uo pipefail
out=${OUT:-/tmp/monolab-gpu}; mkdir -p "$out"
log() { echo "$@" | tee -a "$out/summary.txt"; }
nvidia-smi -L | tee "$out/device.txt"
make -j16 all build/bench/bench_gpu 2>&1 | tail -3
make test-gpu 2>&1 | tee "$out/test-gpu.txt" | tail -30
B=build/bench/bench_gpu
log "== 1. paper shape, G=8"
for p in fp32 tf32; do $B 512 64 1024 8192 8 50 $p | tee -a "$out/summary.txt"; done
log "== 2. PyTorch peer, one model, fp32"
python3 bench/peers/torch_gpu_step.py 30 | tee -a "$out/summary.txt"
$B 512 64 1024 8192 1 50 fp32 | tee -a "$out/summary.txt"
log "== 3. tiny models, G=1000"
$B 20 5 10 1024 1000 200 fp32 | tee -a "$out/summary.txt"
python3 bench/peers/torch_gpu_step.py --tiny 1000 20 10 200 | tee -a "$out/summary.txt"
log "== 4. tf32 against fp32: reduced LR1 and K1, 8 seeds"
for p in fp32 tf32; do for c in LR1 K1; do
  build/monolab sweep configs/figures-quick/$c.yaml seeds=8 train.precision=$p -o "$out/prec_${c}_$p" --device cuda >/dev/null 2>&1
done; done
python3 - "$out" <<'PY' | tee -a "$out/summary.txt"
import csv, sys, statistics as st
d = sys.argv[1]
for c in ("LR1", "K1"):
    for p in ("fp32", "tf32"):
        rows = list(csv.DictReader(open(f"{d}/prec_{c}_{p}/runs.csv")))
        key = "lr" if c == "LR1" else "k"
        by = {}
        for r in rows: by.setdefault(float(r[key]), []).append(float(r["mono_per_feature"]))
        print(c, p, " ".join(f"{key}={x:g}:{st.mean(v):.3f}+-{st.pstdev(v):.3f}" for x, v in sorted(by.items())))
PY
log "== embed on the GPU"
python3 bench/bench_embed.py cuda | tee -a "$out/summary.txt"
echo; cat "$out/summary.txt"
