#!/usr/bin/env python3
"""`make mutants`: seeded bugs in kernels/, each applied to a copy of the
sources, built for the CPU execution layer and run through its tests.

A mutant is caught when a test fails on it. Each runs through the stages
below in order and stops at the first that catches it: the test of the
mutated file at MONOLAB_GPU_QUICK sizes in natural thread order, then in
random and reverse order, then under AddressSanitizer (only for the mutants
whose bug is an out-of-bounds access, which only ASan can see when the
stray access happens to land in memory the process owns). Prints one line
per mutant and a table; exits 1 if any mutant was missed.

Usage: mutants.py BUILD [NAME ...]    (BUILD is the build folder, e.g. build)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# name: (file, old text, new text, occurrence (1 = first), test, needs ASan, what it models)
MUTANTS = {
    "barrier_tile_consumed": ("train_kernels.cu", "        __syncthreads(); // the previous tile is consumed\n", "\n",
                              1, "backend_ops", False, "missing barrier: the next tile overwrites one still read"),
    "barrier_tile_loaded": ("train_kernels.cu", "            if (!reproj) t[i0 + i] = is_abs ? fabsf(val) : val;\n"
                            "        }\n        __syncthreads();\n",
                            "            if (!reproj) t[i0 + i] = is_abs ? fabsf(val) : val;\n        }\n", 1,
                            "backend_ops", False, "missing barrier: a tile read before it is written"),
    "barrier_ballot_count": ("train_kernels.cu", "        if (lane == 0) wcount[warp] = __popc(ballot);\n        __syncthreads();\n",
                             "        if (lane == 0) wcount[warp] = __popc(ballot);\n", 1, "backend_ops", False,
                             "missing barrier: the gather's warp counts read before written"),
    "barrier_list_written": ("train_kernels.cu", "            val_l[pos] = val;\n        }\n        __syncthreads();\n",
                             "            val_l[pos] = val;\n        }\n", 1, "backend_ops", False,
                             "missing barrier: the gather's list flushed before every thread has written it"),
    "smem_off_by_one": ("train_kernels.cu", "            v[i] = val;\n", "            v[i + 1] = val;\n", 1,
                        "backend_ops", True, "off by one in a shared tile"),
    "collective_divergent": ("train_kernels.cu", "    acc = warp_fold(acc);\n    if (lane == 0) rowloss[row] = acc;\n",
                             "    if (lane < 16) acc = warp_fold(acc);\n    if (lane == 0) rowloss[row] = acc;\n", 1,
                             "backend_ops", False, "a warp collective under a divergent branch"),
    "shuffle_offset": ("train_kernels.cu", "v += __shfl_down_sync(FULL_MASK, v, w);",
                       "v += __shfl_down_sync(FULL_MASK, v, w / 2 + 1);", 1, "backend_ops", False,
                       "a wrong shuffle offset"),
    "syncwarp_missing": ("train_kernels.cu", "    __syncwarp();\n", "\n", 1, "backend_ops", False,
                         "missing __syncwarp between a warp's writes and its reads"),
    "grid_stride_one_pass": ("train_kernels.cu",
                             "e < n; e += (size_t)gridDim.x * blockDim.x) {\n        int gi = (int)(e / g.k), j = (int)(e % g.k);",
                             "e < n; e = n) {\n        int gi = (int)(e / g.k), j = (int)(e % g.k);", 1, "backend_ops",
                             False, "a grid-stride loop that stops after one pass of the grid"),
    "tiny_grid_rounds_down": ("train_kernels.cu", "dim3 tgrid((g.B + ML_TINY_ROWS - 1) / ML_TINY_ROWS, g.G);",
                              "dim3 tgrid(g.B / ML_TINY_ROWS, g.G);", 1, "backend_ops", False,
                              "a grid rounded down: the last rows are never sampled"),
    "gemm_wrong_transpose": ("backend_cuda.cu", "gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, k, B, m, s->params + g->off_W1",
                             "gemm(s, CUBLAS_OP_N, CUBLAS_OP_N, k, B, m, s->params + g->off_W1", 1, "backend_ops",
                             False, "a GEMM with the wrong transpose"),
    "gemm_wrong_ld": ("backend_cuda.cu", "gemm(s, CUBLAS_OP_N, CUBLAS_OP_T, m, k, B, s->X, m, (long long)B * m, s->dH, k,",
                      "gemm(s, CUBLAS_OP_N, CUBLAS_OP_T, m, k, B, s->X, m, (long long)B * m, s->dH, k + 1,", 1,
                      "backend_ops", False, "a GEMM with the wrong leading dimension"),
    "epilogue_dropped": ("lt_epilogue.cu", "CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_RELU_BIAS",
                         "CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_BIAS", 1, "backend_ops", False,
                         "a dropped epilogue (bias without the ReLU)"),
    "epilogue_attr_type": ("lt_epilogue.cu", "set_desc<int64_t>(lt->op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE",
                           "set_desc<int32_t>(lt->op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE", 1, "backend_ops",
                           False, "a cuBLASLt attribute of the wrong type"),
    "embed_barrier_norms": ("embed_cuda.cu", "sqrt(fmax((double)G[(size_t)a * cap + a], 0.0));\n    __syncthreads();\n",
                            "sqrt(fmax((double)G[(size_t)a * cap + a], 0.0));\n", 1, "embed_cuda", False,
                            "missing barrier: norms read before written"),
    "embed_scan_bound": ("embed_cuda.cu", "    int j = blockIdx.x * blockDim.x + threadIdx.x;\n    if (j >= n) return;\n"
                         "    ml_sel_slots", "    int j = blockIdx.x * blockDim.x + threadIdx.x;\n    if (j > n) return;\n"
                         "    ml_sel_slots", 1, "embed_cuda", True, "an off-by-one bound: one thread past the neurons"),
    "similar_merge_order": ("embed_similar_cuda.cu", "for (int p = 0; p < SEGMENTS; p++) {",
                            "for (int p = SEGMENTS - 1; p >= 0; p--) {", 1, "embed_cuda", False,
                            "similar clusters: segment lists merged out of index order (ties swap)"),
    "similar_segment_bound": ("embed_similar_cuda.cu", "c_hi = min(nc, c_lo + len);", "c_hi = c_lo + len;", 1,
                              "embed_cuda", True, "similar clusters: the last segment runs past the tile's columns"),
}

KERNELS = ["train_kernels", "backend_cuda", "embed_cuda", "embed_similar_cuda", "lt_epilogue"]
STAGES = [("natural", {}), ("random", {"CUDA_HOST_ORDER": "random"}), ("reverse", {"CUDA_HOST_ORDER": "reverse"})]


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, **kw)


def make_var(name):
    """A variable of tests/cuda_host/rules.mk, as make expands it."""
    r = sh(f"make -s -C {ROOT} --no-print-directory print-{name}")
    if r.returncode:
        sys.exit(f"mutants: cannot read {name} from the Makefile: {r.stderr.strip()}")
    return r.stdout.strip()


def first_cause(out, rc):
    """The first line that says why a run failed."""
    lines = out.splitlines()
    for key in ("AddressSanitizer", "runtime error", "cuda_host: error", "monolab: fatal"):
        for line in lines:
            if key in line:
                return line.strip()[:150]
    if rc < 0:
        return f"killed by {signal.Signals(-rc).name}"
    for i, line in enumerate(lines):  # a cmocka failure: "[  ERROR   ] --- message", or the line before "Failure!"
        m = re.search(r"\[  ERROR   \] --- (.+)", line)
        if m and "[   LINE" not in m.group(1):
            return ("test: " + m.group(1).strip())[:150]
        if "Failure!" in line:
            msg = next((l for l in reversed(lines[:i]) if l.strip() and "[monolab]" not in l), line)
            return ("test: " + msg.strip())[:150]
    return "exit status"


def run_mutant(build, name, spec, flags, asan_flags, libs):
    fname, old, new, occ, test, needs_asan, _ = spec
    src = os.path.join(ROOT, "kernels", fname)
    text = open(src).read()
    at = -1
    for _ in range(occ):
        at = text.find(old, at + 1)
    if at < 0:
        return "not applied", f"the text to mutate is no longer in kernels/{fname}"
    work = os.path.join(build, "mutants", name)
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "kernels"), os.path.join(work, "kernels"))
    with open(os.path.join(work, "kernels", fname), "w") as f:
        f.write(text[:at] + new + text[at + len(old):])
    stages = list(STAGES) + ([("asan", {})] if needs_asan else [])
    for stage, env in stages:
        var = "emu-asan" if stage == "asan" else "emu"
        fl = asan_flags if stage == "asan" else flags
        objs = []
        for k in KERNELS:  # only the mutated file is rebuilt; the others are the layer build's
            if k + ".cu" == fname:
                o = os.path.join(work, f"{var}-{k}.o")
                r = sh(f"g++ {fl} -I{work}/kernels -x c++ -c {work}/kernels/{fname} -o {o}", cwd=ROOT)
                if r.returncode:
                    return "build failed", r.stderr.strip().splitlines()[-1][:150]
                objs.append(o)
            else:
                objs.append(os.path.join(build, var, "obj", f"k_{k}.o"))
        layer = " ".join(os.path.join(build, var, "obj", f) for f in sorted(os.listdir(os.path.join(build, var, "obj")))
                         if f.endswith(".o") and not f.startswith(("k_", "t_")))
        exe = os.path.join(work, f"test_{test}.{var}")
        r = sh(f"g++ {fl} {os.path.join(build, var, 'obj', 't_test_' + test + '.o')} {' '.join(objs)} {layer} "
               f"{build}/libmonolab.a -o {exe} {libs}" + (" -fsanitize=address,undefined" if stage == "asan" else ""),
               cwd=ROOT)
        if r.returncode:
            return "build failed", r.stderr.strip().splitlines()[-1][:150]
        e = dict(os.environ, MONOLAB_GPU_QUICK="1", ASAN_OPTIONS="detect_leaks=0", **env)
        try:
            r = subprocess.run([exe], capture_output=True, text=True, env=e, timeout=600, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return f"caught ({stage})", "timed out after 600 s (a hang)"
        if r.returncode != 0:
            return f"caught ({stage})", first_cause(r.stdout + r.stderr, r.returncode)
    return "MISSED", "every stage passed"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(MUTANTS)
    flags, asan_flags, libs = make_var("EMU_FLAGS"), make_var("EMU_ASAN_FLAGS"), make_var("EMU_LIBS")
    needs_asan = any(MUTANTS[n][5] for n in names)
    if needs_asan and sh(f"make -C {ROOT} -s {build}/emu-asan/lib.a {build}/emu-asan/obj/t_test_backend_ops.o "
                         f"{build}/emu-asan/obj/t_test_embed_cuda.o").returncode:
        sys.exit("mutants: the ASan build of the layer failed (make emu-asan)")
    rows, missed = [], 0
    for n in names:
        if n not in MUTANTS:
            sys.exit(f"mutants: no mutant '{n}' (known: {', '.join(MUTANTS)})")
        t0 = time.time()
        verdict, why = run_mutant(build, n, MUTANTS[n], flags, asan_flags, libs)
        missed += not verdict.startswith("caught")
        rows.append((n, MUTANTS[n][6], verdict, why, time.time() - t0))
        print(f"{n:28s} {verdict:18s} {why}  ({time.time() - t0:.0f} s)", flush=True)
    print("\n| mutant | bug | verdict | first sign |\n|---|---|---|---|")
    for n, what, v, why, _ in rows:
        print(f"| {n} | {what} | {v} | {why.replace('|', '/')} |")
    print(f"\n{len(rows) - missed} of {len(rows)} mutants caught")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
