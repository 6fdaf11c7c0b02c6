# bench/, fuzz/ and tests/faults/: `make bench` (figures, not assertions),
# the libFuzzer targets (--enable-fuzzing, CC=clang) and the fault tests.

# --- bench: built with `make all` so CI keeps them compiling -----------------
noinst_PROGRAMS += bench/floor bench/prefill bench/hitloop
bench_floor_SOURCES = bench/floor.c
bench_floor_LDADD = $(FCGI_LIBS)
PP_BENCH_LIBS = $(PP_CORE_LIBS)
bench_prefill_SOURCES = bench/prefill.c
bench_prefill_LDADD = $(PP_BENCH_LIBS)
bench_hitloop_SOURCES = bench/hitloop.c
bench_hitloop_LDADD = $(PP_BENCH_LIBS)
EXTRA_DIST += bench/run.sh bench/lib.sh bench/callgrind.sh bench/wrk.lua bench/README.md

# Bounded (< 5 min): wrk rounds, a 1M-key prefill, callgrind.
bench: all
	PP_BUILDDIR='$(abs_top_builddir)' PP_SRCDIR='$(abs_top_srcdir)' \
		$(SHELL) $(srcdir)/bench/run.sh
.PHONY: bench

# --- fuzz: the code under test is compiled into each target, instrumented ----
if FUZZING
PP_FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer -g
noinst_PROGRAMS += fuzz/fuzz_validate
fuzz_fuzz_validate_SOURCES = fuzz/fuzz_validate.c src/validate.c
fuzz_fuzz_validate_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(PP_FUZZ_FLAGS)
fuzz_fuzz_validate_LDFLAGS = $(PP_FUZZ_FLAGS)
fuzz_fuzz_validate_LDADD = $(JANSSON_LIBS)
noinst_PROGRAMS += fuzz/fuzz_ratelimit
fuzz_fuzz_ratelimit_SOURCES = fuzz/fuzz_ratelimit.c cli/ratelimit.c
fuzz_fuzz_ratelimit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cli
fuzz_fuzz_ratelimit_CFLAGS = $(AM_CFLAGS) $(PP_FUZZ_FLAGS)
fuzz_fuzz_ratelimit_LDFLAGS = $(PP_FUZZ_FLAGS)
endif
EXTRA_DIST += fuzz/run.sh fuzz/corpus
