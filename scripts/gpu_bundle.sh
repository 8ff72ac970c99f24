#!/usr/bin/env bash
# Makes build/ runnable as carried on a GPU machine that has the CUDA
# toolkit but no apt and no -dev packages: copies beside the binaries
# (build/lib, found through their $ORIGIN rpath) every shared library they
# need that is not part of CUDA or of the C runtime. Idempotent: a library
# already in build/lib is left alone. Called by `make gpu-bundle`.
set -euo pipefail
build=${1:-build}
mkdir -p "$build/lib"
bins=("$build/monolab" "$build/bench/bench_gpu" "$build"/gpu/* "$build"/tests/test_* "$build/tests/refdump")
for b in "${bins[@]}"; do [ -x "$b" ] && ldd "$b"; done 2>/dev/null |
  awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    case "$name" in
      libcu*|libnv*|libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|ld-linux*|libgcc_s.so*) continue ;;
    esac
    # already bundled (ldd then resolves it into build/lib itself)
    [ -e "$build/lib/$name" ] && continue
    cp -L "$path" "$build/lib/$name"
  done
echo "bundled libraries: $(ls "$build/lib" | tr '\n' ' ')"
# What travels: the binary, the GPU tests and bench, and their libraries.
du -shc "$build/monolab" "$build/lib" "$build/gpu" "$build/bench" | tail -1 |
  awk '{print "bundle size (build/monolab, build/lib, build/gpu, build/bench):", $1}'
