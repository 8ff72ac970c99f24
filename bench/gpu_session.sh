#!/usr/bin/env bash
# Everything that needs a GPU, run from a built tree: `make gpu-bundle` on a
# machine with nvcc, then carry build/monolab, build/lib, build/gpu and
# build/bench (under 60 MiB). It never calls make or apt.
#
#   bash bench/gpu_session.sh quick     GPU tests without sanitizer + the paper-shape bench (estimated 3-5 min, not yet timed)
#   bash bench/gpu_session.sh sanitize  compute-sanitizer memcheck and racecheck on the op and embed tests
#                                       (`sanitize memcheck`, `sanitize racecheck`: one tool per slot)
#   bash bench/gpu_session.sh bench     the other benchmarks: one model, tiny models, groups side by side,
#                                       torch peers, tf32 vs fp32 sweeps, embed
#   bash bench/gpu_session.sh full      quick, sanitize and bench in turn (more than 10 minutes)
#   bash bench/gpu_session.sh tests     the GPU tests and the sanitizer runs (what `make test-gpu` runs)
#   bash bench/gpu_session.sh rehearse  on a machine without a GPU: checks that the bundle is complete
#                                       and runs its CPU parts, with make and apt-get made to fail
#
# quick, sanitize and bench each fit a 10-minute slot: every step runs under
# `timeout` (a hung kernel costs its own limit, not the session), and a stage
# stops starting steps when its budget (GPU_SESSION_BUDGET_S, default 540 s;
# 0: none, the default of full and tests) would be overrun; what did not run
# is marked SKIPPED or TIMEOUT. Logs and a summary go to $OUT (or
# /tmp/monolab-gpu); the summary table is printed last. Exit status: 0 when
# every step passed.
set -uo pipefail
stage=${1:-quick}
san_tools=${2:-memcheck racecheck} # compute-sanitizer tools of the sanitizer steps
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/monolab-gpu}
mkdir -p "$out"
: >"$out/summary.txt"
: >"$out/log.txt"
status=0
case "$stage" in quick | sanitize | bench) budget=${GPU_SESSION_BUDGET_S:-540} ;; *) budget=${GPU_SESSION_BUDGET_S:-0} ;; esac
start=$SECONDS
row() { printf '%-44s %s\n' "$1" "$2" >>"$out/summary.txt"; }
# limit SECONDS: that step limit, cut to what the stage budget has left (15 s
# kept for the summary); 0 or less: the budget is spent.
limit() {
  local want=$1 left
  if [ "$budget" -gt 0 ]; then left=$((budget - (SECONDS - start) - 15)); [ "$left" -lt "$want" ] && want=$left; fi
  echo "$want"
}
# run NAME LIMIT CMD...: run a step under timeout, log it, add a PASS/FAIL/TIMEOUT row
run() {
  local name=$1 lim rc; lim=$(limit "$2"); shift 2
  if [ "$lim" -le 0 ]; then row "$name" "SKIPPED (stage budget of $budget s spent)"; status=1; return; fi
  echo "== $name (limit $lim s): $*" | tee -a "$out/log.txt"
  local t0=$SECONDS
  timeout -k 10 "$lim" "$@" 2>&1 | tee -a "$out/log.txt"; rc=${PIPESTATUS[0]}
  if [ "$rc" = 0 ]; then row "$name" "PASS ($((SECONDS - t0)) s)"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then row "$name" "TIMEOUT (killed after $lim s)"; status=1
  else row "$name" "FAIL ($((SECONDS - t0)) s)"; status=1; fi
}
need() { for b in "$@"; do [ -x "$b" ] || { echo "missing $b: run 'make gpu-bundle' on the build machine and carry build/"; exit 2; }; done; }
BINS="build/monolab build/gpu/test_backend_ops build/gpu/test_embed_cuda build/gpu/test_philox_curand build/bench/bench_gpu"
need $BINS
# Before anything long on a GPU machine: every library resolves (CUDA's own
# come from the machine's toolkit: the binaries need the major version they
# were built with) and the driver runs this CUDA runtime. Either failure
# would otherwise show as every step failing, minutes later.
preflight() {
  local missing info
  missing=$(for b in $BINS; do ldd "$b" 2>/dev/null | grep 'not found' | sed "s|^|$b:|"; done)
  if [ -n "$missing" ]; then
    row "preflight" "FAIL: libraries not found (see log.txt)"; echo "$missing" | tee -a "$out/log.txt"
  else
    info=$(build/monolab info 2>&1 | grep '^cuda backend' || true)
    echo "$info" | tee -a "$out/log.txt"
    case "$info" in "cuda backend: unavailable"* | "") row "preflight" "FAIL: ${info:-monolab info failed}" ;; *) return 0 ;; esac
  fi
  echo; echo "== summary ($stage)"; cat "$out/summary.txt"; exit 1
}

# Step limits: several times each step's estimated run time on an H100
# (the estimates are from the work each does; nothing here has been timed).
gpu_tests() {
  run "philox: host and device vs cuRAND" 120 build/gpu/test_philox_curand
  run "backend ops vs CPU, trajectory, invariance" 300 build/gpu/test_backend_ops
  run "embed CUDA vs CPU" 180 build/gpu/test_embed_cuda
}
sanitizer() {
  if ! command -v compute-sanitizer >/dev/null; then row "compute-sanitizer" "NOT FOUND"; status=1; return; fi
  for tool in $san_tools; do
    for t in test_backend_ops test_embed_cuda; do
      run "sanitizer $tool $t" 300 env MONOLAB_GPU_QUICK=1 compute-sanitizer --tool "$tool" --error-exitcode 3 build/gpu/$t
    done
  done
}
bench_line() { # bench_line LABEL VARIANT ARGS...: one bench_gpu row into the summary
  local label=$1 var=$2; shift 2
  local line ok=1 note= lim rc
  lim=$(limit 90)
  if [ "$lim" -le 0 ]; then row "$label" "SKIPPED (stage budget of $budget s spent)"; status=1; return; fi
  line=$(MONOLAB_KERNELS=$var timeout -k 10 "$lim" build/bench/bench_gpu "$@" 2>"$out/bench_err.txt"); rc=$?
  cat "$out/bench_err.txt" >>"$out/log.txt"
  if [ $rc = 124 ] || [ $rc = 137 ]; then row "$label" "TIMEOUT (killed after $lim s)"; status=1; return; fi
  [ $rc = 0 ] || ok=0
  [ $ok = 1 ] || { row "$label" "FAIL"; status=1; return; }
  # the backend's create line says when lt asked for the epilogue but fell back
  grep -q 'lt(off' "$out/bench_err.txt" && note="(lt fell back to the plain path)"
  echo "$line" | tee -a "$out/bench.txt"
  row "$label" "$(echo "$line" | grep -o 'step_ms=[^ ]*\|model_steps_per_s=[^ ]*\|frac_of_gemm=[^ ]*' | tr '\n' ' ')$note"
}
# Variants side by side: ref, fast, fast without lt (what lt adds to it),
# and lt alone (what it adds to ref). The paper shapes use ReLU, so lt's
# cuBLASLt epilogue applies.
BENCH_VARIANTS="ref fast gather,fused,batched,graph,tiny lt"
vlabel() { [ "$1" = gather,fused,batched,graph,tiny ] && echo "fast w/o lt" || echo "$1"; }
paper_bench() {
  for p in tf32 fp32; do for v in $BENCH_VARIANTS; do
    bench_line "paper shape G=8 $p $(vlabel $v)" $v 512 64 1024 8192 8 50 $p
  done; done
}

# the benchmarks beyond the paper shape, the peers and the sweeps
more_bench() {
  echo "== PyTorch peer, one model, tf32 and fp32" | tee -a "$out/log.txt"
  run "torch peer (authors' step)" 180 python3 bench/peers/torch_gpu_step.py 30
  for v in $BENCH_VARIANTS; do bench_line "one model tf32 $(vlabel $v)" $v 512 64 1024 8192 1 50 tf32; done
  for v in $BENCH_VARIANTS; do bench_line "tiny N=20 k=10 G=1000 $(vlabel $v)" $v 20 5 10 1024 1000 200 fp32; done
  # small groups side by side (the streams variant's mechanism): 8 groups of 4 width-sweep models
  for v in ref fast; do
    local lim; lim=$(limit 120)
    if [ "$lim" -le 0 ]; then row "8 small groups side by side $v" "SKIPPED (stage budget of $budget s spent)"; status=1; continue; fi
    line=$(MONOLAB_KERNELS=$v timeout -k 10 "$lim" build/bench/bench_gpu 100 20 64 1024 4 300 fp32 8 2>>"$out/log.txt" | tail -1) \
      || { row "8 small groups side by side $v" "FAIL or TIMEOUT"; status=1; continue; }
    echo "$line" | tee -a "$out/bench.txt"
    row "8 small groups side by side $v" "$(echo "$line" | grep -o '_s=[^ ]*\|speedup=[^ ]*' | tr '\n' ' ')"
  done
  run "torch tiny peer" 180 python3 bench/peers/torch_gpu_step.py --tiny 1000 20 10 200
  for p in fp32 tf32; do for c in LR1 K1; do
    run "sweep $c $p" 240 build/monolab sweep configs/figures-quick/$c.yaml seeds=8 train.precision=$p \
        -o "$out/prec_${c}_$p" --device cuda
  done; done
  # the same width sweep with every fast variant, small groups side by side (streams)
  run "sweep K1 fp32 fast (streams)" 240 env MONOLAB_KERNELS=fast build/monolab sweep configs/figures-quick/K1.yaml \
      seeds=8 train.precision=fp32 -o "$out/fast_K1_fp32" --device cuda
  python3 - "$out" <<'PY' | tee -a "$out/summary.txt"
import csv, sys, statistics as st
d = sys.argv[1]
for c in ("LR1", "K1"):
    for p in ("fp32", "tf32"):
        try: rows = list(csv.DictReader(open(f"{d}/prec_{c}_{p}/runs.csv")))
        except OSError: continue
        key = "lr" if c == "LR1" else "k"
        by = {}
        for r in rows: by.setdefault(float(r[key]), []).append(float(r["mono_per_feature"]))
        print(c, p, " ".join(f"{key}={x:g}:{st.mean(v):.3f}+-{st.pstdev(v):.3f}" for x, v in sorted(by.items())))
PY
  run "embed bench" 300 python3 bench/bench_embed.py cuda
}

# monolab's own GPU self-test (src/selftest.c), so the check that decides
# --device auto is itself validated on a real GPU; its stamp goes to $out.
selftest_full() { run "monolab selftest --full" 300 env XDG_CACHE_HOME="$out/cache" build/monolab selftest --full; }

case "$stage" in
rehearse)
  # make and apt-get must not be needed: shadow them with commands that fail.
  fake=$(mktemp -d); for c in make apt-get apt dpkg; do printf '#!/bin/sh\necho "rehearsal: %s was called" >&2; exit 99\n' $c >"$fake/$c"; chmod +x "$fake/$c"; done
  export PATH="$fake:$PATH"; unset LD_LIBRARY_PATH
  if bash scripts/gpu_bundle.sh --check build; then row "bundle self-contained" "PASS"
  else row "bundle self-contained" "FAIL"; status=1; fi
  run "monolab info" 60 build/monolab info
  run "sweep --dry-run (paper LR1)" 60 build/monolab sweep configs/jermyn2022/LR1.yaml --dry-run
  rm -rf "$out/rehearse_sweep"
  run "monolab selftest --device cpu" 120 build/monolab selftest --device cpu
  run "tiny CPU sweep from the bundle" 300 build/monolab sweep configs/quickstart.yaml model.k=16 seeds=2 train.steps=64 \
      -o "$out/rehearse_sweep" --device cpu
  rm -rf "$fake" ;;
tests) preflight; gpu_tests; sanitizer ;;
quick)
  nvidia-smi | tee "$out/device.txt"
  preflight
  gpu_tests
  selftest_full
  paper_bench ;;
sanitize) preflight; sanitizer ;; # `sanitize memcheck` or `sanitize racecheck`: one tool, if both do not fit one slot
bench)
  nvidia-smi | tee "$out/device.txt"
  preflight
  more_bench ;;
full)
  nvidia-smi | tee "$out/device.txt"
  preflight
  gpu_tests
  selftest_full
  paper_bench
  sanitizer
  more_bench ;;
*) echo "usage: bash bench/gpu_session.sh quick|sanitize|bench|full|tests|rehearse"; exit 2 ;;
esac
echo; echo "== summary ($stage)"; cat "$out/summary.txt"
exit $status
