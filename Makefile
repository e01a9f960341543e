# rsc - a ResNet-RS model compiler.
#   make          build build/rsc
#   make run      compile the trained digits model, build it, check it against PyTorch (the main job)
#   make demo-rs50  compile ResNet-RS-50 (random weights), build it, time it
#   make test     everything CI runs
#   make sanitize the suite under ASan+UBSan (build-san/; a representative subset of the
#                 slow suites, SAN_SUBSET=0 for all of it; .ci/run runs it after make test)
#   make golden   rewrite the checked-in generated models under generated/ and the
#                 IR dumps tests/dump/*.expected
#   make bench    rsc vs PyTorch and ONNX Runtime side by side -> bench/results.md (BENCH_QUICK=1: RS-50 batch 1 only)
#   make install  PREFIX=/usr/local DESTDIR=
CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/rsc
MANDIR  ?= $(PREFIX)/share/man

WARN    = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wswitch-enum -Werror
CFLAGS  ?= -O2 -g
RSC_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS)
# libhdf5 (Keras .h5 weights): Debian's serial build, found through pkg-config,
# else at Debian's fixed paths.
H5_CFLAGS := $(shell pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)
H5_LIBS   := $(shell pkg-config --libs hdf5 2>/dev/null || echo -lhdf5_serial)
LDLIBS  = -lcjson $(H5_LIBS) -lm

B       = build
SRCS    = $(sort $(wildcard compiler/*.c))
OBJS    = $(SRCS:compiler/%.c=$(B)/obj/%.o)
LIBOBJS = $(filter-out $(B)/obj/main.o,$(OBJS))
HDRS    = $(wildcard compiler/*.h) runtime/rsc_limits.h runtime/rsc_checksum.h
RT_HDRS = $(wildcard runtime/*.h)
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: all deps run demo-rs50 test unit golden install uninstall clean bench bench-precision docs fuzz sanitize sanitize-tools
all: $(B)/rsc

deps:
	@tools/ensure-deps.sh

$(B)/obj/%.o: compiler/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(RSC_CFLAGS) -c $< -o $@

$(B)/obj/weights_h5.o: RSC_CFLAGS += $(H5_CFLAGS)
# sqrt without errno can be vectorised (fill_normal); its results are the same.
$(B)/obj/weights.o: RSC_CFLAGS += -fno-math-errno

$(B)/rsc: $(OBJS)
	$(CC) $(RSC_CFLAGS) -o $@ $(OBJS) $(LDLIBS)

# Unit tests: one cmocka program per tests/unit/test_*.c, linked with the compiler.
$(B)/tests/test_%: tests/unit/test_%.c $(LIBOBJS) $(HDRS) $(RT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(RSC_CFLAGS) -Icompiler -Iruntime -o $@ $< $(LIBOBJS) -lcmocka $(LDLIBS)

# The kernel and vector-layer tests once more with the vector code of the CPU running them
# (AVX-512 or AVX2+FMA intrinsics); the build above, without -m flags, tests
# the portable 4-lane code. Here the kernels run with run-time shapes, where
# gcc cannot follow the accumulators through its unrolled copies of the tile
# loops and warns falsely (maybe-uninitialized); generated code, whose shapes
# are constants, is built with every warning as an error by tests/e2e.sh.
HOST_ISA := $(shell if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then echo -mavx512f -mavx2 -mfma; \
  elif grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo; then echo -mavx2 -mfma; fi)
ifneq ($(HOST_ISA),)
UNIT_BINS += $(B)/tests/test_kernels_host $(B)/tests/test_vec_host
endif
$(B)/tests/test_vec_host: tests/unit/test_vec.c $(RT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(RSC_CFLAGS) $(HOST_ISA) -Iruntime -o $@ $< -lcmocka -lm
$(B)/tests/test_kernels_host: tests/unit/test_kernels.c $(LIBOBJS) $(HDRS) $(RT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(RSC_CFLAGS) $(HOST_ISA) -Wno-maybe-uninitialized -Icompiler -Iruntime -o $@ $< \
	  $(LIBOBJS) -lcmocka $(LDLIBS)

# The reference evaluator: the unfused network from the spec, naive loops.
$(B)/tests/refeval: tests/refeval.c $(LIBOBJS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(RSC_CFLAGS) -Icompiler -o $@ $< $(LIBOBJS) $(LDLIBS)

$(B)/tests/f32cmp: tests/f32cmp.c
	@mkdir -p $(@D)
	$(CC) $(RSC_CFLAGS) -o $@ $< -lm

$(B)/tests/f32gen: tests/f32gen.c
	@mkdir -p $(@D)
	$(CC) $(RSC_CFLAGS) -o $@ $<

# Fuzz targets (fuzz/fuzz_*.c). The seed corpus fuzz/corpus/<target>/ is replayed
# under $(CC) by a plain driver in `make test`; `make fuzz` runs each target under
# libFuzzer (Debian clang-14 + libclang-rt-14-dev) for FUZZ_SECONDS, into
# $(FUZZ_DIR) (build-fuzz/ for the default B), or until FUZZ_RUNS executions.
# `make fuzz FUZZ_TARGETS=h5` runs one.
FUZZ_TARGETS  = spec safetensors loader h5 paths
FUZZ_REPLAYS  = $(FUZZ_TARGETS:%=$(B)/fuzz/replay_%)
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?= -1
FUZZ_DIR     ?= $(B)-fuzz
FUZZ_CC      ?= clang-14
FUZZ_FLAGS    = -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined $(H5_CFLAGS) -Icompiler
# fuzz_loader opens weights files with the loader of a model rsc generates from
# fuzz/loader.spec (prefix fz) into $(B)/fuzz/loader/; it is compiled into the
# target (FUZZ_SRCS_loader) and the valid fz.weights is the target's reference.
LOADER_DIR    = $(B)/fuzz/loader
GEN_WARN      = -std=c11 -Wall -Wextra -Wpedantic -Werror
FUZZ_EXTRA_loader = -I$(LOADER_DIR) -DFUZZ_LOADER_WEIGHTS='"$(LOADER_DIR)/fz.weights"'
FUZZ_SRCS_loader  = $(LOADER_DIR)/fz.c
comma := ,
FUZZ_EXTRA_h5     = $(H5_CFLAGS)
# fuzz_h5 serves the file it builds in memory to weights_load_h5 through these
# (fuzz/fuzz_h5.c): no file per input.
FUZZ_LDFLAGS_h5   = -Wl,--wrap=fopen,--wrap=H5Fis_hdf5,--wrap=H5Fopen
# fuzz_loader: the generated loader's fopen, the same way.
FUZZ_LDFLAGS_loader = -Wl,--wrap=fopen

$(LOADER_DIR)/fz.c: fuzz/loader.spec $(B)/rsc $(wildcard templates/*.m4) $(RT_HDRS)
	@mkdir -p $(@D)
	$(B)/rsc fuzz/loader.spec --target generic --seed 1 --name fz -o $@

$(LOADER_DIR)/fz.o: $(LOADER_DIR)/fz.c
	$(CC) $(GEN_WARN) $(CFLAGS) -c $< -o $@

$(B)/fuzz/replay_%: fuzz/driver.c fuzz/fuzz_%.c fuzz/clone.h $(LIBOBJS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(RSC_CFLAGS) -Icompiler $(FUZZ_EXTRA_$*) -o $@ fuzz/driver.c fuzz/fuzz_$*.c \
	  $(FUZZ_SRCS_$*:.c=.o) $(LIBOBJS) $(FUZZ_LDFLAGS_$*) $(LDLIBS)

$(B)/fuzz/replay_loader: $(LOADER_DIR)/fz.o

$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c fuzz/clone.h $(SRCS) $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_EXTRA_$*) -o $@ fuzz/fuzz_$*.c $(FUZZ_OBJS_$*) \
	  $(filter-out compiler/main.c,$(SRCS)) $(FUZZ_LDFLAGS_$*) $(LDLIBS)

# The generated model keeps edge coverage but not comparison tracing: the
# kernels' loop compares would otherwise take a third of the time per input.
# The kernels (fuzz/loader_kernels.txt: k_* and the runtime's kernel functions
# inlined into them) get no sanitizer and no coverage: with them clang-14 -O1
# spent over 12 CPU minutes in loop passes on this fz.c (6 s without), and they
# only need to run. The loader, the thread team and the fz_* API keep all.
FUZZ_OBJS_loader = $(FUZZ_DIR)/fz.o
$(FUZZ_DIR)/fuzz_loader: $(FUZZ_DIR)/fz.o
$(FUZZ_DIR)/fz.o: $(LOADER_DIR)/fz.c fuzz/loader_kernels.txt
	@mkdir -p $(@D)
	$(FUZZ_CC) $(subst fuzzer$(comma),fuzzer-no-link$(comma),$(FUZZ_FLAGS)) \
	  -fno-sanitize-coverage=trace-cmp -fsanitize-ignorelist=fuzz/loader_kernels.txt \
	  -fsanitize-coverage-ignorelist=fuzz/loader_kernels.txt -c $< -o $@

fuzz: deps $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
	set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus-$$t; \
	  RSC_FUZZ_H5_RAW=0 $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) -rss_limit_mb=2048 -timeout=10 \
	    -artifact_prefix=$(abspath $(FUZZ_DIR))/crash-$$t- $(FUZZ_DIR)/corpus-$$t fuzz/corpus/$$t; \
	done

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

# make test builds what the suites need one job per CPU unless make was given
# -j (in a fresh clone the two builds of test_kernels.c alone are minutes of
# CPU), then runs them (tests/run.sh, side by side too).
TEST_JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 1))
test: deps
	@$(MAKE) --no-print-directory $(TEST_JOBS) sanitize-tools
	tests/run.sh

# make sanitize: the suite (tests/run.sh) with rsc, its test tools, the fuzz
# replays and every generated model the suites compile (GEN_CFLAGS) built under
# ASan+UBSan, into $(SAN_DIR) (build-san/ for the default B). The generated
# models are built at -O1: gcc takes 9 times longer on them at -O2 with the
# sanitizers. RSC_TEST_SUBSET=1 makes the slow suites (e2e, endpoints, torch,
# profile, embed, digits, classify, tsan) run a representative subset that keeps
# every code path (docs/robustness.md, "Sanitizers"), so it fits in CI after
# `make test` (.ci/run); `make sanitize SAN_SUBSET=0` runs every case. CC and
# CFLAGS go to the suites too, so a make they run (tests/integration.sh's
# `make install`) builds with the same flags if it has anything to rebuild.
SAN_FLAGS  = -fsanitize=address,undefined -fno-sanitize-recover=undefined
SAN_DIR   ?= $(B)-san
SAN_SUBSET ?= 1
sanitize: deps
	$(MAKE) B=$(SAN_DIR) CC=gcc CFLAGS="-O1 -g $(SAN_FLAGS)" sanitize-tools
	B=$(SAN_DIR) CC=gcc CFLAGS="-O1 -g $(SAN_FLAGS)" GEN_CFLAGS="-O1 $(SAN_FLAGS)" \
	  RSC_TEST_SUBSET=$(SAN_SUBSET) UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh

# What tests/run.sh needs built (make test's and make sanitize's).
sanitize-tools: $(B)/rsc $(UNIT_BINS) $(B)/tests/refeval $(B)/tests/f32cmp $(B)/tests/f32gen \
      $(FUZZ_REPLAYS)

run: deps $(B)/rsc
	tools/run-demo.sh

demo-rs50: deps $(B)/rsc
	SPEC=specs/resnet-rs-50-i160.spec tools/run-demo.sh

golden: $(B)/rsc
	tools/golden.sh write
	tests/dump.sh write

# docs/rs50-{built,fused}.svg: ResNet-RS-50 before and after fusion (rsc --emit=dot),
# rendered with Debian's graphviz (installed here if missing). --target avx2 pins
# the kernel names in the labels, so the checked-in files do not depend on the host.
docs: $(B)/rsc
	@command -v dot >/dev/null || apt-get install -y graphviz
	$(B)/rsc specs/resnet-rs-50-i160.spec --target avx2 --emit=dot:built > $(B)/rs50-built.dot
	$(B)/rsc specs/resnet-rs-50-i160.spec --target avx2 --emit=dot:fused > $(B)/rs50-fused.dot
	dot -Tsvg $(B)/rs50-built.dot -o docs/rs50-built.svg
	dot -Tsvg $(B)/rs50-fused.dot -o docs/rs50-fused.svg

bench: deps $(B)/rsc
	bench/run.sh

# bf16 next to fp32, accuracy and speed (docs/precision.md).
bench-precision: $(B)/rsc
	bench/precision.sh

install: $(B)/rsc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(DATADIR)/runtime \
	  $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(B)/rsc $(DESTDIR)$(BINDIR)/rsc
	install -m 644 templates/*.m4 $(DESTDIR)$(DATADIR)/templates/
	install -m 644 runtime/*.h $(DESTDIR)$(DATADIR)/runtime/
	install -m 644 docs/rsc.1 $(DESTDIR)$(MANDIR)/man1/rsc.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/rsc $(DESTDIR)$(MANDIR)/man1/rsc.1
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf $(B)
