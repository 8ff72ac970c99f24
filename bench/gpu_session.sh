#!/usr/bin/env bash
# Everything that needs a GPU, run from a built tree: `make gpu-bundle` on a
# machine with nvcc, then carry build/monolab, build/lib, build/gpu and
# build/bench (under 60 MiB). It never calls make or apt.
#
#   bash bench/gpu_session.sh quick     GPU tests without sanitizer, `monolab selftest --full`, the
#                                       paper-shape bench against cuBLAS (estimated 3-5 min, not yet timed)
#   bash bench/gpu_session.sh sanitize  compute-sanitizer memcheck and racecheck on the op and embed tests
#                                       (`sanitize memcheck`, `sanitize racecheck`: one tool per slot)
#   bash bench/gpu_session.sh peers     the ratios against the peers, side by side: one model against the
#                                       authors' PyTorch step, the paper group and 1,000 tiny models against
#                                       torch.compile of the batched step (tf32 and fp32), embed against
#                                       scikit-learn (and the neurons that differ from the CPU)
#   bash bench/gpu_session.sh extras    groups side by side (streams), tf32 vs fp32 sweeps
#   bash bench/gpu_session.sh bench     peers, then extras
#   bash bench/gpu_session.sh full      quick, sanitize and bench in turn (more than 10 minutes)
#   bash bench/gpu_session.sh tests     the GPU tests and the sanitizer runs (what `make test-gpu` runs)
#   bash bench/gpu_session.sh preflight only the checks every stage starts with (libraries, the GPU)
#   bash bench/gpu_session.sh rehearse  on a machine without a GPU: checks that the bundle is complete
#                                       and runs its CPU parts, with make and apt-get made to fail
#
# quick, sanitize, peers and extras each fit a 10-minute slot: every step
# runs under `timeout` (a hung kernel costs its own limit, not the session),
# and a stage stops starting steps when its budget (GPU_SESSION_BUDGET_S,
# default 540 s; 0: none, the default of bench, full and tests) would be
# overrun; what did not run is marked SKIPPED or TIMEOUT. Logs and a summary
# go to $OUT (or /tmp/monolab-gpu); the summary table is printed last. Exit
# status: 0 when every step passed.
#
# Rehearsed in every CI (tests/test_gpu_session.py): GPU_SESSION_BUILD names
# a folder of the same binaries built on the CPU execution layer, and
# GPU_SESSION_REHEARSAL=1 shrinks every shape and runs the PyTorch peers on
# the CPU, so that the stages' steps, parsing and summary run before a GPU
# session depends on them.
set -uo pipefail
stage=${1:-quick}
san_tools=${2:-memcheck racecheck} # compute-sanitizer tools of the sanitizer steps
cd "$(dirname "$0")/.." || exit 2
b=${GPU_SESSION_BUILD:-build} # the binaries' folder
py=${PYTHON:-python3}         # with PyTorch (and torch.compile, PyTorch 2)
# Shapes: N m k B G steps for bench_gpu; the tiny models' G N m B steps and
# widths; the PyTorch peers' device, steps and one model's batch.
if [ "${GPU_SESSION_REHEARSAL:-0}" = 1 ]; then
  paper_shape="64 16 128 256 4 20"; one_shape="64 16 128 256 1 20"
  tiny_shape="50 16 4 64 20"; tiny_ks="4 8"
  side_shape="20 5 10 64 4 20 fp32 4"; sweep_over="seeds=2 train.steps=64"
  torch_dev=cpu; peer_steps=10; embed_env="EMBED_NEURONS=300 EMBED_T=512 REPS=1"
else
  paper_shape="512 64 1024 8192 8 50"; one_shape="512 64 1024 8192 1 50"
  tiny_shape="1000 64 16 1024 200"; tiny_ks="16 64 256"
  side_shape="100 20 64 1024 4 300 fp32 8"; sweep_over="seeds=8"
  torch_dev=cuda; peer_steps=30; embed_env="REPS=3"
fi
out=${OUT:-/tmp/monolab-gpu}
mkdir -p "$out"
: >"$out/summary.txt"
: >"$out/log.txt"
status=0
case "$stage" in quick | sanitize | peers | extras) budget=${GPU_SESSION_BUDGET_S:-540} ;; *) budget=${GPU_SESSION_BUDGET_S:-0} ;; esac
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
need() { for f in "$@"; do [ -x "$f" ] || { echo "missing $f: run 'make gpu-bundle' on the build machine and carry build/"; exit 2; }; done; }
BINS="$b/monolab $b/gpu/test_backend_ops $b/gpu/test_embed_cuda $b/gpu/test_philox_curand $b/bench/bench_gpu"
need $BINS
# Before anything long on a GPU machine: every library resolves (CUDA's own
# come from the machine's toolkit: the binaries need the major version they
# were built with) and the driver runs this CUDA runtime. Either failure
# would otherwise show as every step failing, minutes later.
# CUDA's own libraries (cuBLAS, cuBLASLt) are the machine's, found through
# the toolkit path the binaries were built with. Where that path differs
# there, look for the same sonames where toolkits and PyTorch's wheels put
# them (GPU_SESSION_LIB_ROOTS), and say which folder was used.
cuda_lib_roots=${GPU_SESSION_LIB_ROOTS:-/usr/local /usr/lib /usr/lib64 /opt /root /home}
find_cuda_libs() {
  local lib hit dirs=
  for lib in $(for f in $BINS; do ldd "$f" 2>/dev/null; done | awk '/not found/ && $1 ~ /^libcu/ {print $1}' | sort -u); do
    # shellcheck disable=SC2086 # the roots are words
    hit=$(timeout 60 find $cuda_lib_roots -name "$lib" -print 2>/dev/null | head -1)
    [ -n "$hit" ] && dirs="${dirs:+$dirs:}$(dirname "$hit")"
  done
  [ -z "$dirs" ] && return 0
  export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "CUDA libraries found outside the build's toolkit path: LD_LIBRARY_PATH=$LD_LIBRARY_PATH" | tee -a "$out/log.txt"
}
preflight() {
  local missing info
  find_cuda_libs
  missing=$(for f in $BINS; do ldd "$f" 2>/dev/null | grep 'not found' | sed "s|^|$f:|"; done)
  if [ -n "$missing" ]; then
    row "preflight" "FAIL: libraries not found (see log.txt)"; echo "$missing" | tee -a "$out/log.txt"
  else
    info=$("$b/monolab" info 2>&1 | grep '^cuda backend' || true)
    echo "$info" | tee -a "$out/log.txt"
    case "$info" in "cuda backend: unavailable"* | "") row "preflight" "FAIL: ${info:-monolab info failed}" ;; *) return 0 ;; esac
  fi
  echo; echo "== summary ($stage)"; cat "$out/summary.txt"; exit 1
}

# Step limits: several times each step's estimated run time on an H100
# (the estimates are from the work each does; nothing here has been timed).
gpu_tests() {
  run "philox: host and device vs cuRAND" 120 "$b/gpu/test_philox_curand"
  run "backend ops vs CPU, trajectory, invariance" 300 "$b/gpu/test_backend_ops"
  run "embed CUDA vs CPU" 180 "$b/gpu/test_embed_cuda"
}
sanitizer() {
  if ! command -v compute-sanitizer >/dev/null; then row "compute-sanitizer" "NOT FOUND"; status=1; return; fi
  for tool in $san_tools; do
    for t in test_backend_ops test_embed_cuda; do
      run "sanitizer $tool $t" 300 env MONOLAB_GPU_QUICK=1 compute-sanitizer --tool "$tool" --error-exitcode 3 "$b/gpu/$t"
    done
  done
}
bench_line() { # bench_line LABEL VARIANT ARGS...: one bench_gpu row into the summary
  local label=$1 var=$2; shift 2
  local line ok=1 note="" lim rc
  lim=$(limit 90)
  if [ "$lim" -le 0 ]; then row "$label" "SKIPPED (stage budget of $budget s spent)"; status=1; return; fi
  line=$(MONOLAB_KERNELS=$var timeout -k 10 "$lim" "$b/bench/bench_gpu" "$@" 2>"$out/bench_err.txt"); rc=$?
  cat "$out/bench_err.txt" >>"$out/log.txt"
  if [ $rc = 124 ] || [ $rc = 137 ]; then row "$label" "TIMEOUT (killed after $lim s)"; status=1; return; fi
  [ $rc = 0 ] || ok=0
  [ $ok = 1 ] || { row "$label" "FAIL"; status=1; return; }
  # the backend's create line says when lt asked for the epilogue but fell back
  grep -q 'lt(off' "$out/bench_err.txt" && note="(lt fell back to the plain path)"
  echo "$line" | tee -a "$out/bench.txt"
  rate[$label]=$(echo "$line" | grep -o 'model_steps_per_s=[^ ]*' | cut -d= -f2)
  row "$label" "$(echo "$line" | grep -o 'step_ms=[^ ]*\|model_steps_per_s=[^ ]*\|frac_of_gemm=[^ ]*' | tr '\n' ' ')$note"
}
declare -A rate # model-steps per second of each bench and peer row, by label
# peer_line LABEL ARGS...: one PyTorch peer's key=value line into the summary
peer_line() {
  local label=$1 lim line rc; shift
  lim=$(limit 180)
  if [ "$lim" -le 0 ]; then row "$label" "SKIPPED (stage budget of $budget s spent)"; status=1; return; fi
  echo "== $label (limit $lim s): $py $*" | tee -a "$out/log.txt"
  line=$(timeout -k 10 "$lim" "$py" "$@" 2>>"$out/log.txt" | tail -1); rc=${PIPESTATUS[0]}
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then row "$label" "TIMEOUT (killed after $lim s)"; status=1; return; fi
  case "$line" in *model_steps_per_s=*) ;; *) row "$label" "FAIL (see log.txt)"; status=1; return ;; esac
  echo "$line" | tee -a "$out/bench.txt"
  rate[$label]=$(echo "$line" | grep -o 'model_steps_per_s=[^ ]*' | cut -d= -f2)
  row "$label" "$(echo "$line" | grep -o 'model_steps_per_s=[^ ]*\|compiled=[^ ]*' | tr '\n' ' ')"
}
# ratio LABEL OURS PEER: OURS's model-steps per second over PEER's, both of this run
ratio() {
  local a=${rate[$2]:-} p=${rate[$3]:-}
  if [ -z "$a" ] || [ -z "$p" ]; then row "$1" "n/a (a side did not run)"; return; fi
  row "$1" "$(awk -v a="$a" -v p="$p" 'BEGIN { printf "%.2fx", a / p }')"
}
# Variants side by side: ref, fast, fast without lt (what lt adds to it),
# and lt alone (what it adds to ref). The paper shapes use ReLU, so lt's
# cuBLASLt epilogue applies.
BENCH_VARIANTS="ref fast gather,fused,batched,graph,tiny lt"
vlabel() { [ "$1" = gather,fused,batched,graph,tiny ] && echo "fast w/o lt" || echo "$1"; }
paper_bench() {
  local groups; groups=$(echo "$paper_shape" | cut -d' ' -f5)
  for p in tf32 fp32; do for v in $BENCH_VARIANTS; do
    bench_line "paper shape G=$groups $p $(vlabel $v)" $v $paper_shape $p
  done; done
}

# The ratios against the peers, each side by side in this run (the goals
# are in bench/RESULTS.md's GPU section): one model against the authors'
# PyTorch step; the paper group and the tiny models against torch.compile
# of the batched step (bench/peers/torch_batched_step.py, pinned against
# monolab by tests/test_step_torch_batched.py); embed against scikit-learn.
peers_bench() {
  local N m k B G tG tN tm tB tS
  read -r N m k B G _ <<<"$paper_shape"
  read -r tG tN tm tB tS <<<"$tiny_shape"
  for p in tf32 fp32; do
    peer_line "authors' torch step, one model $p" bench/peers/torch_authors_step.py "$peer_steps" \
        --device "$torch_dev" --precision "$p" --batch "$B"
    for v in ref fast; do bench_line "one model $p $v" $v $one_shape $p; done
    ratio "one model $p: fast / authors' torch" "one model $p fast" "authors' torch step, one model $p"
  done
  for p in tf32 fp32; do
    peer_line "torch.compile batched, G=$G $p" bench/peers/torch_batched_step.py "$peer_steps" "$G" "$N" "$m" "$k" "$B" \
        --device "$torch_dev" --precision "$p" --compile
    bench_line "paper shape G=$G $p fast" fast $paper_shape $p
    ratio "paper G=$G $p: fast / torch.compile" "paper shape G=$G $p fast" "torch.compile batched, G=$G $p"
  done
  for tk in $tiny_ks; do
    peer_line "torch.compile batched, tiny G=$tG k=$tk" bench/peers/torch_batched_step.py "$tS" "$tG" "$tN" "$tm" "$tk" "$tB" \
        --device "$torch_dev" --compile
    bench_line "tiny G=$tG N=$tN k=$tk fp32 fast" fast "$tN" "$tm" "$tk" "$tB" "$tG" "$tS" fp32
    ratio "tiny k=$tk: fast / torch.compile" "tiny G=$tG N=$tN k=$tk fp32 fast" "torch.compile batched, tiny G=$tG k=$tk"
  done
  # the embed goals: time, x scikit-learn, neurons that differ from the CPU
  run "embed bench (cuda, against scikit-learn and the CPU)" 300 env $embed_env MONOLAB="$b/monolab" "$py" bench/bench_embed.py cuda
  grep -h '^| monolab embed (cuda), total\|^against the CPU backend' "$out/log.txt" | tail -2 | tee -a "$out/summary.txt"
}

# Groups side by side (the streams variant's mechanism) and the precision sweeps.
extras_bench() {
  local v c p lim line
  for v in ref fast; do # 8 small groups of 4 width-sweep models, one after another and side by side
    lim=$(limit 120)
    if [ "$lim" -le 0 ]; then row "small groups side by side $v" "SKIPPED (stage budget of $budget s spent)"; status=1; continue; fi
    line=$(MONOLAB_KERNELS=$v timeout -k 10 "$lim" "$b/bench/bench_gpu" $side_shape 2>>"$out/log.txt" | tail -1) \
      || { row "small groups side by side $v" "FAIL or TIMEOUT"; status=1; continue; }
    echo "$line" | tee -a "$out/bench.txt"
    row "small groups side by side $v" "$(echo "$line" | grep -o '[a-z_]*_s=[^ ]*\|speedup=[^ ]*' | tr '\n' ' ')"
  done
  for p in fp32 tf32; do for c in LR1 K1; do
    run "sweep $c $p" 240 "$b/monolab" sweep configs/figures-quick/$c.yaml $sweep_over train.precision=$p \
        -o "$out/prec_${c}_$p" --device cuda
  done; done
  # the same width sweep with every fast variant, small groups side by side (streams)
  run "sweep K1 fp32 fast (streams)" 240 env MONOLAB_KERNELS=fast "$b/monolab" sweep configs/figures-quick/K1.yaml \
      $sweep_over train.precision=fp32 -o "$out/fast_K1_fp32" --device cuda
  "$py" - "$out" <<'PY' | tee -a "$out/summary.txt"
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
}

# monolab's own GPU self-test (src/selftest.c), so the check that decides
# --device auto is itself validated on a real GPU; its stamp goes to $out.
selftest_full() { run "monolab selftest --full" 300 env XDG_CACHE_HOME="$out/cache" "$b/monolab" selftest --full; }

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
preflight) preflight; row "preflight" "PASS" ;;
tests) preflight; gpu_tests; sanitizer ;;
quick)
  nvidia-smi | tee "$out/device.txt"
  preflight
  gpu_tests
  selftest_full
  paper_bench ;;
sanitize) preflight; sanitizer ;; # `sanitize memcheck` or `sanitize racecheck`: one tool, if both do not fit one slot
peers | extras | bench)
  nvidia-smi | tee "$out/device.txt"
  preflight
  case "$stage" in peers) peers_bench ;; extras) extras_bench ;; *) peers_bench; extras_bench ;; esac ;;
full)
  nvidia-smi | tee "$out/device.txt"
  preflight
  gpu_tests
  selftest_full
  paper_bench
  sanitizer
  peers_bench
  extras_bench ;;
*) echo "usage: bash bench/gpu_session.sh quick|sanitize|peers|extras|bench|full|tests|preflight|rehearse"; exit 2 ;;
esac
echo; echo "== summary ($stage)"; cat "$out/summary.txt"
exit $status
