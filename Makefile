# monolab build. `make` builds build/monolab (with the CUDA backend when nvcc
# is present and NO_CUDA is unset); `make run` runs the quickstart sweep;
# `make test` runs every test that this machine can run.
SHELL := /bin/bash
CC ?= gcc
PY := /usr/bin/python3
BUILD := build
NVCC ?= $(shell command -v nvcc 2>/dev/null)

# Debian packages the build and the tests need; installed when run as root.
# dict-gcide is the English corpus of `make lm-demo` (scripts/train_lm.py).
DEB_PKGS := libyaml-dev libcjson-dev libopenblas-dev liblapacke-dev libcmocka-dev libboost-context-dev pkg-config \
            gnuplot-nox zlib1g-dev dataset-fashion-mnist python3-numpy python3-scipy python3-sklearn \
            python3-torch python3-pytest slurmctld slurmd slurm-client munge \
            python3-pip python3-regex python3-tqdm python3-filelock python3-requests python3-yaml \
            python3-packaging python3-typing-extensions chromium chromium-driver python3-selenium \
            python3-matplotlib python3-pandas python3-nbclient python3-nbformat python3-ipykernel \
            dict-gcide

# The Hugging Face stack for scripts/export_activations.py's test: no Debian
# package has transformers, and its newest releases need a newer torch than
# Debian's 1.13, so these pinned releases, which run on torch 1.13, go into
# build/pydeps with pip --no-deps; their other dependencies are the Debian
# packages above.
PYDEPS_PINS := transformers==4.40.2 tokenizers==0.19.1 huggingface-hub==0.23.0 safetensors==0.4.3

CFLAGS ?= -O3 -march=x86-64-v3
# -fno-math-errno: sqrtf may not set errno (nothing reads it), so loops that
# call it vectorise, the CPU LAMB pass among them (bench/RESULTS.md, "CPU
# step regression found"); it changes no result bit. -ffp-contract=off (also
# implied by -std=c11, stated so that a change of -std cannot drop it): no
# FMA contraction, which the bit-pinning tests and embed's canonical
# pre-activations, the same bits as the GPU's (--fmad=false), rely on.
# -fno-trapping-math: float operations may be computed where the C source
# computes them only on one side of a branch (nothing reads the FP exception
# flags), so loops with a select vectorise, the CPU sampler's among them
# (Philox on 8 lanes; bench/RESULTS.md, "issue 28"); it changes no result bit.
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -fno-math-errno -fno-trapping-math -ffp-contract=off -fopenmp -Iinclude -Isrc -MMD -MP
LDLIBS := -lyaml -lcjson -llapacke -lopenblas -lz -lm -fopenmp
# Binaries also look in build/lib, where `make gpu-bundle` copies the shared
# libraries a GPU machine without apt lacks.
# DT_RPATH (not RUNPATH) so that the libraries' own dependencies (libblas,
# libgfortran, ...) are found there too.
LDLIBS += -Wl,--disable-new-dtags -Wl,-rpath,'$$ORIGIN/lib:$$ORIGIN/../lib'


LIB_SRC := $(filter-out src/main.c src/backend_cuda_stub.c,$(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
# The CUDA backend is built whenever nvcc is found, unless NO_CUDA=1; the
# binary still runs without a GPU or driver (cudart is linked statically and
# --device auto falls back to the CPU; `monolab info` says why).
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
NVFLAGS := -O3 -std=c++17 --fmad=false -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 -Iinclude -Isrc
ifneq ($(NVCC),)
ifeq ($(NO_CUDA),)
WITH_CUDA := 1
endif
endif
ifdef WITH_CUDA
CU_OBJ := $(patsubst kernels/%.cu,$(BUILD)/cuda/%.o,$(wildcard kernels/*.cu))
BACKEND_OBJ := $(CU_OBJ)
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcublasLt -lcudart_static -lrt -ldl -lpthread -lstdc++
else
BACKEND_OBJ := $(BUILD)/obj/backend_cuda_stub.o
endif

# Objects know their sources and headers (-MMD), not the flags or the CUDA
# choice: $(BUILD)/.config records those and is rewritten only when they
# change, and every object depends on it, so `make NO_CUDA=1` followed by
# `make` relinks with the CUDA backend instead of keeping the stub.
BUILD_CONFIG := $(CC) $(CFLAGS) | $(NVCC) $(NVFLAGS) | cuda=$(WITH_CUDA)
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(BUILD)/.config 2>/dev/null)" = '$(BUILD_CONFIG)' ] || printf '%s\n' '$(BUILD_CONFIG)' >$(BUILD)/.config; })

$(BUILD)/cuda/%.o: kernels/%.cu $(BUILD)/.config | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -MMD -MP -c $< -o $@

include tests/cuda_host/rules.mk

TEST_C := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_C:tests/%.c=$(BUILD)/tests/%)

GPU_TEST_CU := $(wildcard tests/gpu/*.cu)
GPU_TEST_C := $(wildcard tests/gpu/*.c)
GPU_TEST_BIN := $(GPU_TEST_CU:tests/gpu/%.cu=$(BUILD)/gpu/%) $(GPU_TEST_C:tests/gpu/%.c=$(BUILD)/gpu/%)

.PHONY: all install python run lm-demo test test-gpu test-emu emu emu-asan mutants nvcc-check bench deps clean figures figures-quick fuzz fuzz-safetensors fuzz-config gpu-bundle ne-truth
# The pinned Hugging Face stack is part of `all`: scripts/export_activations.py
# and scripts/train_lm.py need it, not only the tests.
all: $(BUILD)/.deps $(BUILD)/monolab $(BUILD)/tests/refdump $(BUILD)/tests/saedump $(BUILD)/pydeps

# Install what is missing (root), or say exactly what to run.
$(BUILD)/.deps: Makefile
	@mkdir -p $(BUILD)
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing packages; run: sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi
	@touch $@
deps: $(BUILD)/.deps

$(BUILD)/obj/%.o: src/%.c $(BUILD)/.config | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The explorer's page (share/explorer/) is linked into the binary as data
# (symbols _binary_<name>_start/_end), so a site can be written from anywhere.
EXPLORER_ASSETS := index.html explorer.css explorer.js
$(BUILD)/obj/explorer_assets.o: $(addprefix share/explorer/,$(EXPLORER_ASSETS)) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	cd share/explorer && ld -r -b binary -z noexecstack -o $(abspath $@) $(EXPLORER_ASSETS)

# Rebuilt from scratch: an object of a renamed or deleted source must not linger.
$(BUILD)/libmonolab.a: $(LIB_OBJ) $(BUILD)/obj/explorer_assets.o
	rm -f $@
	ar rcs $@ $^

$(BUILD)/monolab: $(BUILD)/obj/main.o $(BACKEND_OBJ) $(BUILD)/libmonolab.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(BACKEND_OBJ) $(BUILD)/libmonolab.a | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc $^ -o $@ $(LDLIBS) -lcmocka

$(BUILD)/bench/bench_gpu: bench/bench_gpu.cu $(CU_OBJ) $(BUILD)/libmonolab.a | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) $^ -o $@ -Xcompiler -fopenmp -lyaml -lcjson -llapacke -lopenblas -lcublas -lcublasLt -lm \
	  -Xlinker --disable-new-dtags -Xlinker -rpath -Xlinker '$$ORIGIN/../lib'

# For a GPU machine with the CUDA toolkit but no apt: build everything here
# (the binaries, the GPU tests, the GPU bench), copy the non-CUDA shared
# libraries into build/lib, then carry build/ and run
# `bash bench/gpu_session.sh quick|full` there (no make, no apt).
gpu-bundle: all $(TEST_BIN) nvcc-check
	@bash scripts/gpu_bundle.sh $(BUILD)

$(BUILD)/bench/%: bench/%.c $(BACKEND_OBJ) $(BUILD)/libmonolab.a | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc $^ -o $@ $(LDLIBS)

# `monolab` onto PATH: the binary (the explorer's page is linked into it)
# and a copy of that page for restyling; DESTDIR for packagers.
PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/monolab/explorer
	install -m 755 $(BUILD)/monolab $(DESTDIR)$(PREFIX)/bin/monolab
	install -m 644 $(addprefix share/explorer/,$(EXPLORER_ASSETS)) $(DESTDIR)$(PREFIX)/share/monolab/explorer/
	@echo "installed $(DESTDIR)$(PREFIX)/bin/monolab"

# The Python package (python/monolab) into PY's environment, editable.
python:
	$(PY) -m pip install --no-deps -e python

run: all
	rm -rf runs/quickstart
	$(BUILD)/monolab sweep configs/quickstart.yaml -o runs/quickstart

# The offline path from a language model to the explorer (README "From a
# language model to an explorer"): a small GPT-2 trained on dict-gcide, every
# layer exported, embedded and explored, Foote's Table 1 in runs/lm-demo/table1.md.
lm-demo: all
	PY=$(PY) MONOLAB=$(BUILD)/monolab PYDEPS=$(abspath $(BUILD)/pydeps) bash scripts/lm_demo.sh runs/lm-demo

$(BUILD)/pydeps: | $(BUILD)/.deps
	rm -rf $@.tmp && PIP_ROOT_USER_ACTION=ignore $(PY) -m pip install -q --disable-pip-version-check --no-deps --target $@.tmp $(PYDEPS_PINS) && mv $@.tmp $@

# The fuzz targets replay their corpora once in `make test` (a second or
# so), so a regression on a saved input, or a fuzz build broken by a
# refactor, fails CI; `make fuzz` is the long search.
FUZZ_BIN := $(BUILD)/fuzz/fuzz_safetensors $(BUILD)/fuzz/fuzz_config
test: all $(TEST_BIN) nvcc-check emu $(BUILD)/pydeps $(FUZZ_BIN)
	@set -o pipefail; fail=0; for t in $(TEST_BIN); do echo "== $$t"; $$t || fail=1; done; \
	echo "== the CUDA sources on the CPU execution layer (tests/cuda_host)"; \
	bash tests/cuda_host/run_tests.sh quick $(BUILD) || fail=1; \
	echo "== fuzz corpora replayed"; \
	$(BUILD)/fuzz/fuzz_safetensors -runs=0 tests/fuzz/corpus 2>&1 | tail -1 || fail=1; \
	ASAN_OPTIONS=detect_leaks=0 $(BUILD)/fuzz/fuzz_config -runs=0 tests/fuzz/corpus_config 2>&1 | tail -1 || fail=1; \
	$(PY) -m pytest -q tests || fail=1; \
	if nvidia-smi -L >/dev/null 2>&1; then echo "A GPU is present: run 'make test-gpu' for the GPU tests."; \
	else echo "No GPU on this machine: the GPU tests ran on the CPU execution layer above, not on a device."; fi; \
	exit $$fail

# Every .cu file must at least compile, GPU or not.
nvcc-check: $(GPU_TEST_BIN) $(CU_OBJ) $(if $(WITH_CUDA),$(BUILD)/bench/bench_gpu)
ifndef WITH_CUDA
	@echo "CUDA sources were not compiled (nvcc not found, or NO_CUDA set)"
endif

$(BUILD)/gpu/%: tests/gpu/%.cu | $(BUILD)/.deps
ifdef WITH_CUDA
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) $< -o $@ -lcurand -Xlinker --disable-new-dtags -Xlinker -rpath -Xlinker '$$ORIGIN/../lib'
endif

# GPU tests written in C against the backend interface (both twins).
$(BUILD)/gpu/%: tests/gpu/%.c $(BACKEND_OBJ) $(BUILD)/libmonolab.a | $(BUILD)/.deps
ifdef WITH_CUDA
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -Ikernels $^ -o $@ $(LDLIBS) -lcmocka
endif

# The GPU tests on the CPU execution layer at full size, in every thread
# order, then under AddressSanitizer and UBSan (about 10 minutes on 2 cores).
test-emu: all emu emu-asan
	@bash tests/cuda_host/run_tests.sh full $(BUILD)

# Seeded bugs in kernels/, each built on a copy and run through the
# emulated tests: every one must be caught (tests/cuda_host/mutants.sh).
mutants: all emu
	@$(PY) tests/cuda_host/mutants.py $(BUILD)

# `make print-VAR`: a variable as make expands it (mutants.py reads the
# layer's flags this way rather than keeping a copy).
print-%:
	@echo '$($*)'

# On a GPU machine: every GPU test, then memcheck and racecheck on the op
# and embed tests (the same script a carried bundle runs).
test-gpu: all $(GPU_TEST_BIN) $(BUILD)/bench/bench_gpu
	@bash bench/gpu_session.sh tests

bench: all $(BUILD)/bench/bench_cpu
	$(PY) bench/bench_cpu.py
	$(PY) bench/bench_embed.py cpu
	$(PY) bench/bench_contended.py
	$(PY) bench/bench_explore.py

# Reduced-scale LR1, LR3, K0, K1 on the CPU (see configs/figures-quick/), their
# figures, and the numbers that decide claims 1-3 (runs/figures-quick/claims.md).
QUICK := LR1 LR3 K0 K1
figures-quick: all
	@for c in $(QUICK); do \
	  $(BUILD)/monolab sweep configs/figures-quick/$$c.yaml -o runs/figures-quick/$$c --resume || exit 1; \
	  $(BUILD)/monolab plot runs/figures-quick/$$c || exit 1; \
	done
	$(PY) scripts/claims.py runs/figures-quick

# The neuron-embedding ground-truth study (FINDINGS.md): 72 toy models
# (configs/ne-truth/{none,j22}.yaml), `monolab embed` over the fixed grid of
# configs/ne-truth/embed.json on each, then docs/ne-truth/ (table, figures).
ne-truth: all
	@for c in none j22; do \
	  $(BUILD)/monolab sweep configs/ne-truth/$$c.yaml -o runs/ne-truth/$$c --resume || exit 1; \
	done
	$(PY) scripts/ne_truth.py --grid configs/ne-truth/embed.json --out docs/ne-truth runs/ne-truth/none runs/ne-truth/j22

# Every docs/science.md §1.10 batch at published scale: GPU-sized (see README).
figures: all
	@for f in configs/jermyn2022/*.yaml; do c=$$(basename $$f .yaml); \
	  $(BUILD)/monolab sweep $$f -o runs/jermyn2022/$$c --resume || exit 1; \
	  $(BUILD)/monolab plot runs/jermyn2022/$$c || exit 1; \
	done
	$(PY) scripts/claims.py runs/jermyn2022

# libFuzzer + ASan + UBSan on the safetensors reader and on the config loader
# with overrides; new inputs join tests/fuzz/corpus and tests/fuzz/corpus_config.
# `make fuzz` runs both, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 600
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Iinclude -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
$(BUILD)/fuzz/fuzz_safetensors: tests/fuzz/fuzz_safetensors.c src/safetensors_read.c src/fsutil.c src/testhook.c src/common.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $^ -o $@ -lcjson -lm
$(BUILD)/fuzz/fuzz_config: tests/fuzz/fuzz_config.c src/config.c src/config_axes.c src/config_schema.c src/run_ids.c src/sae_config.c \
  src/strbuf.c src/vocab.c src/yaml_tree.c src/fsutil.c src/testhook.c src/common.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $^ -o $@ -lyaml -lm
fuzz: fuzz-safetensors fuzz-config
fuzz-safetensors: $(BUILD)/fuzz/fuzz_safetensors
	mkdir -p $(BUILD)/fuzz/new
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $(BUILD)/fuzz/new tests/fuzz/corpus
	$< -merge=1 tests/fuzz/corpus $(BUILD)/fuzz/new
# Leaks are not checked here: a refused config exits the process in real use
# (see tests/fuzz/fuzz_config.c), so the harness leaks by design, about 6 MB
# a second at full speed: the RSS limit allows 10 minutes of that, while
# -malloc_limit_mb still catches any one oversized allocation.
fuzz-config: $(BUILD)/fuzz/fuzz_config
	mkdir -p $(BUILD)/fuzz/new_config
	ASAN_OPTIONS=detect_leaks=0 $< -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=12288 -malloc_limit_mb=512 $(BUILD)/fuzz/new_config tests/fuzz/corpus_config
	ASAN_OPTIONS=detect_leaks=0 $< -merge=1 tests/fuzz/corpus_config $(BUILD)/fuzz/new_config

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/main.d
-include $(CU_OBJ:.o=.d)
