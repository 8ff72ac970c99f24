# The CPU execution layer (docs/architecture.md "The CUDA source on the
# CPU"): g++ compiles kernels/*.cu and tests/gpu/* with tests/cuda_host/
# first on the include path, and links them with the layer, OpenBLAS and
# Boost.Context. Included by the Makefile; nothing here is part of
# build/monolab.
#
#   $(EMU)/       -O2, what `make test` runs (reduced sizes, natural order)
#   $(EMU)-asan/  -O1 with AddressSanitizer and UBSan, for `make test-emu`
EMU := $(BUILD)/emu
EMU_CXX ?= g++
EMU_SRC := $(wildcard tests/cuda_host/*.cpp)
EMU_KERNELS := train_kernels backend_cuda embed_cuda embed_similar_cuda lt_epilogue
EMU_BASE := -std=c++17 -ffp-contract=off -fno-math-errno -fopenmp -Wall -Werror=format -Wno-unused-function \
            -Itests/cuda_host -Ikernels -Iinclude -Isrc -MMD -MP
EMU_FLAGS := -O2 -march=x86-64-v3 $(EMU_BASE)
# sched.cpp tells AddressSanitizer about every switch between fiber stacks.
EMU_ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined $(EMU_BASE)
EMU_LIBS := -lboost_context -lyaml -lcjson -llapacke -lopenblas -lz -lm -lcmocka -fopenmp
# NVIDIA's curand_kernel.h, compiled as host code for the Philox test
CUDA_INC := $(wildcard $(CUDA_HOME)/include/curand_kernel.h)

define emu_variant # $(1): folder, $(2): flags, $(3): extra link flags
$(1)/obj/%.o: tests/cuda_host/%.cpp $(BUILD)/.config | $(BUILD)/.deps
	@mkdir -p $$(dir $$@)
	$(EMU_CXX) $(2) -c $$< -o $$@
$(1)/obj/k_%.o: kernels/%.cu $(BUILD)/.config | $(BUILD)/.deps
	@mkdir -p $$(dir $$@)
	$(EMU_CXX) $(2) -x c++ -c $$< -o $$@
$(1)/obj/t_%.o: tests/gpu/%.c $(BUILD)/.config | $(BUILD)/.deps
	@mkdir -p $$(dir $$@)
	$(CC) $(CFLAGS) $(filter -fsanitize% -g -O1,$(2)) -Itests -Ikernels -c $$< -o $$@
$(1)/lib.a: $(EMU_SRC:tests/cuda_host/%.cpp=$(1)/obj/%.o) $(EMU_KERNELS:%=$(1)/obj/k_%.o)
	rm -f $$@ && ar rcs $$@ $$^
$(1)/test_backend_ops $(1)/test_embed_cuda: $(1)/%: $(1)/obj/t_%.o $(1)/lib.a $(BUILD)/libmonolab.a
	$(EMU_CXX) $(2) $$^ -o $$@ $(EMU_LIBS) $(3)
$(1)/monolab-emu: $(BUILD)/obj/main.o $(1)/lib.a $(BUILD)/libmonolab.a
	$(EMU_CXX) $(2) $$^ -o $$@ $(EMU_LIBS) $(3)
$(1)/bench_gpu: bench/bench_gpu.cu $(1)/lib.a $(BUILD)/libmonolab.a
	$(EMU_CXX) $(2) -x c++ $$< -x none $(1)/lib.a $(BUILD)/libmonolab.a -o $$@ $(EMU_LIBS) $(3)
$(1)/test_layer: tests/cuda_host/test_layer.cu $(1)/lib.a
	$(EMU_CXX) $(2) -x c++ $$< -x none $(1)/lib.a -o $$@ $(EMU_LIBS) $(3)
$(1)/test_philox_curand: tests/gpu/test_philox_curand.cu $(1)/lib.a
	$(EMU_CXX) $(2) -I$(CUDA_HOME)/include -x c++ $$< -x none $(1)/lib.a -o $$@ $(EMU_LIBS) $(3)
endef
$(eval $(call emu_variant,$(EMU),$(EMU_FLAGS),))
$(eval $(call emu_variant,$(EMU)-asan,$(EMU_ASAN_FLAGS),-fsanitize=address,undefined))

EMU_TESTS = $(1)/test_layer $(1)/test_backend_ops $(1)/test_embed_cuda $(if $(CUDA_INC),$(1)/test_philox_curand) $(1)/monolab-emu
# and the GPU session's benchmark, so that bench/gpu_session.sh is rehearsed
# on the layer (tests/test_gpu_session.py)
emu: $(call EMU_TESTS,$(EMU)) $(EMU)/bench_gpu
emu-asan: $(call EMU_TESTS,$(EMU)-asan)

-include $(wildcard $(EMU)/obj/*.d $(EMU)-asan/obj/*.d $(EMU)/*.d $(EMU)-asan/*.d)
