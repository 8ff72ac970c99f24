#!/usr/bin/env bash
# Makes build/ runnable as carried on a GPU machine that has the CUDA
# toolkit but no apt and no -dev packages: copies beside the binaries
# (build/lib, found through their $ORIGIN rpath) every shared library they
# need that is not part of CUDA or of the C runtime. Idempotent: a library
# already in build/lib is left alone. Called by `make gpu-bundle`.
#
#   bash scripts/gpu_bundle.sh [BUILD]          copy what is missing
#   bash scripts/gpu_bundle.sh --check [BUILD]  list what resolves outside BUILD/lib (exit 1 if any)
set -euo pipefail
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
build=${1:-build}
mkdir -p "$build/lib"
lib=$(realpath "$build/lib")
# (name, path) of every shared library the bundle's binaries load that is
# neither CUDA's nor the C runtime's: what a bare GPU machine may lack.
needed() {
  for b in "$build/monolab" "$build/bench/bench_gpu" "$build"/gpu/test_* "$build"/tests/test_* "$build/tests/refdump"; do
    case $b in *.d) ;; *) [ -x "$b" ] && ldd "$b" ;; esac
  done 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
    grep -Ev '^(libcu|libnv|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread\.so|ld-linux|libgcc_s)' || true
}
if [ $check = 1 ]; then
  bad=$(needed | while read -r name path; do case "$(realpath "$path")" in "$lib"/*) ;; *) echo "$name $path" ;; esac; done)
  [ -z "$bad" ] && exit 0
  echo "libraries resolved outside $build/lib:"; echo "$bad"; exit 1
fi
needed | while read -r name path; do
  # already bundled (ldd then resolves it into build/lib itself)
  [ -e "$build/lib/$name" ] && continue
  cp -L "$path" "$build/lib/$name"
done
echo "bundled libraries: $(ls "$build/lib" | tr '\n' ' ')"
# What travels: the binary, the GPU tests and bench, and their libraries.
du -shc "$build/monolab" "$build/lib" "$build/gpu" "$build/bench" | tail -1 |
  awk '{print "bundle size (build/monolab, build/lib, build/gpu, build/bench):", $1}'
