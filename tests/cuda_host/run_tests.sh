#!/usr/bin/env bash
# The GPU tests on the CPU execution layer (docs/architecture.md "The CUDA
# source on the CPU").
#   run_tests.sh quick BUILD   what `make test` runs: the layer's own test,
#                              the backend op test at MONOLAB_GPU_QUICK sizes
#                              (every case, every variant), the embed twin
#                              test and Philox against cuRAND; natural order
#   run_tests.sh full BUILD    what `make test-emu` runs: the op test at full
#                              size, then at quick sizes in reverse and random
#                              thread order, the embed test in all three
#                              orders, the op test and `selftest --full` with
#                              GEMMs summed in another order (CUDA_HOST_GEMM_ORDER
#                              =split), then everything again at quick sizes
#                              under AddressSanitizer and UBSan (BUILD/emu-asan)
# Prints one line per step and a summary; exits non-zero if any step failed.
set -u
mode=${1:?usage: run_tests.sh quick|full BUILD}
build=${2:?usage: run_tests.sh quick|full BUILD}
emu=$build/emu
asan=$build/emu-asan
log=$build/emu-logs
mkdir -p "$log"
fail=0
summary=()

# step NAME ENV... -- COMMAND...: runs COMMAND with ENV, its output in $log/NAME.log
step() {
    local name=$1
    shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    local t0=$SECONDS
    if env "${envs[@]}" "$@" >"$log/$name.log" 2>&1; then
        summary+=("$(printf '%-34s ok      %4d s' "$name" $((SECONDS - t0)))")
    else
        fail=1
        summary+=("$(printf '%-34s FAILED  %4d s  (%s)' "$name" $((SECONDS - t0)) "$log/$name.log")")
        echo "---- $name failed; the end of its log:"
        tail -n 25 "$log/$name.log"
    fi
    echo "${summary[-1]}"
}

philox() { # NVIDIA's curand_kernel.h comes with the CUDA toolkit
    if [ -x "$1/test_philox_curand" ]; then
        step "philox_curand$2" -- "$1/test_philox_curand"
    else
        summary+=("philox_curand$2: not built (no CUDA toolkit with curand_kernel.h); test_philox.c still runs")
        echo "${summary[-1]}"
    fi
}

if [ "$mode" = quick ]; then
    step layer -- "$emu/test_layer"
    step backend_ops MONOLAB_GPU_QUICK=1 -- "$emu/test_backend_ops"
    step embed_cuda -- "$emu/test_embed_cuda"
    philox "$emu" ""
elif [ "$mode" = full ]; then
    step layer -- "$emu/test_layer"
    step backend_ops.full CUDA_HOST_THREADS=2 -- "$emu/test_backend_ops"
    for order in reverse random; do
        step "backend_ops.$order" MONOLAB_GPU_QUICK=1 CUDA_HOST_ORDER=$order CUDA_HOST_SEED=$RANDOM -- \
            "$emu/test_backend_ops"
    done
    for order in natural reverse random; do
        step "embed_cuda.$order" CUDA_HOST_ORDER=$order -- "$emu/test_embed_cuda"
    done
    philox "$emu" ""
    # the tolerances against a GEMM summation order other than the CPU twin's (cuBLAS has its own):
    # the op test at full size and the full self-test, which gates --device auto
    step backend_ops.split_k CUDA_HOST_GEMM_ORDER=split CUDA_HOST_THREADS=2 -- "$emu/test_backend_ops"
    step selftest_full.split_k CUDA_HOST_GEMM_ORDER=split XDG_CACHE_HOME="$log/selftest-cache" -- \
        "$emu/monolab-emu" selftest --full
    # a GEMM's order by its operands' alignment, as cuBLAS picks kernels: group invariance must hold
    step backend_ops.align MONOLAB_GPU_QUICK=1 CUDA_HOST_GEMM_ORDER=align -- "$emu/test_backend_ops"
    # the fall-back paths of cuBLASLt: no PEDANTIC algorithm (fp32 groups take COMPUTE_32F)
    step backend_ops.lt_no_pedantic MONOLAB_GPU_QUICK=1 CUDA_HOST_LT_NO_ALGO=pedantic -- "$emu/test_backend_ops"
    A=(ASAN_OPTIONS=detect_leaks=0:detect_stack_use_after_return=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
    step asan.layer "${A[@]}" -- "$asan/test_layer"
    step asan.backend_ops "${A[@]}" MONOLAB_GPU_QUICK=1 CUDA_HOST_ORDER=random -- "$asan/test_backend_ops"
    step asan.embed_cuda "${A[@]}" MONOLAB_GPU_QUICK=1 -- "$asan/test_embed_cuda"
    philox "$asan" " (asan)"
else
    echo "run_tests.sh: unknown mode '$mode' (quick or full)" >&2
    exit 2
fi
echo "== CPU execution layer: summary"
printf '%s\n' "${summary[@]}"
exit $fail
