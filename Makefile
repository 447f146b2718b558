# tessera — `make` builds build/tessera and build/libtessera.a;
# `make test` builds and runs the cmocka suites (and `make test-asan` the
# same under AddressSanitizer + UndefinedBehaviorSanitizer).

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
PKGS    := libpng libjpeg sndfile soxr fftw3f cmocka
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter $(if $(CI),-Werror,)
OPT     ?= -O2 -march=native
# `#pragma omp simd` on hot loops (vectorization only: no OpenMP runtime)
SIMD    := -fopenmp-simd
# OpenBLAS ships a .pc on Debian only under an alternatives path: fall back.
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-pthread)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
DEP_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(BLAS_CFLAGS)
DEP_LIBS    := $(shell pkg-config --libs libpng libjpeg sndfile soxr fftw3f 2>/dev/null) -lfftw3f_threads $(BLAS_LIBS) -lz -lm -lpthread
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = $(CSTD) $(WARN) $(SIMD) $(CFLAGS) $(EXTRA_CFLAGS) -Iinclude -I. $(DEP_CFLAGS) -MMD -MP

LIB_DIRS := core nn vision audio vqvae text model fusion eval
LIB_SRC  := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
CLI_SRC  := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_UTIL_SRC := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))
BENCH_SRC := $(wildcard bench/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_UTIL_OBJ := $(TEST_UTIL_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test test-asan check bench fuzz install deps clean format model
DATA ?= ../shared/data
all: $(BUILD)/tessera $(BUILD)/libtessera.a

deps:
	@tools/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libtessera.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tessera: $(CLI_OBJ) $(BUILD)/libtessera.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(CLI_OBJ) $(BUILD)/libtessera.a $(DEP_LIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(TEST_UTIL_OBJ) $(BUILD)/libtessera.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(TEST_UTIL_OBJ) $(BUILD)/libtessera.a -lcmocka $(DEP_LIBS) -o $@

$(BUILD)/bench/%: bench/%.c $(BUILD)/libtessera.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $< $(BUILD)/libtessera.a $(DEP_LIBS) -o $@

# The tests find the binary and samples through these variables.
test: $(TEST_BIN) $(BUILD)/tessera
	@TESSERA_BIN=$(abspath $(BUILD)/tessera) tests/run_tests.sh $(TEST_BIN)

test-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan \
	  OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" TS_SANITIZED=1 test

check: test test-asan

bench: $(BENCH_BIN) $(BUILD)/tessera

fuzz:
	@$(MAKE) --no-print-directory -f fuzz/Makefile

# Rebuilds models/tessera.gguf from the data sets (tools/make_model.sh says
# how; about 80 minutes on 2 cores; resumes where it stopped).
model: $(BUILD)/tessera
	DATA=$(DATA) tools/make_model.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/tessera
	install -m 755 $(BUILD)/tessera $(DESTDIR)$(PREFIX)/bin/tessera
	install -m 644 $(BUILD)/libtessera.a $(DESTDIR)$(PREFIX)/lib/libtessera.a
	install -m 644 include/tessera.h $(DESTDIR)$(PREFIX)/include/tessera.h
	install -m 644 include/tessera/*.h $(DESTDIR)$(PREFIX)/include/tessera/
	@if [ -f models/tessera.gguf ]; then \
	  install -d $(DESTDIR)$(PREFIX)/share/tessera && \
	  install -m 644 models/tessera.gguf $(DESTDIR)$(PREFIX)/share/tessera/tessera.gguf; fi

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) include/*.h include/tessera/*.h

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_UTIL_OBJ:.o=.d)
