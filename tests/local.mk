# Tests of the server core: Check unit tests (the same library code the
# binary links) and integration tests through a real nginx.
# UNIT_TESTS starts empty in Makefile.am, so every local.mk can add to it.
print-unit-tests:
	@echo $(UNIT_TESTS)
.PHONY: print-unit-tests

PP_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS)
PP_TEST_LIBS = $(PP_CORE_LIBS) $(CHECK_LIBS)
PP_TEST_TMPDIR = tests/unit/tmpdir.c tests/unit/tmpdir.h

check_PROGRAMS += tests/unit/test_limiter
tests_unit_test_limiter_SOURCES = tests/unit/test_limiter.c
tests_unit_test_limiter_CFLAGS = $(PP_TEST_CFLAGS)
tests_unit_test_limiter_LDADD = $(PP_TEST_LIBS)
UNIT_TESTS += tests/unit/test_limiter
TESTS += tests/unit/test_limiter

# Replaces malloc process-wide: in TESTS only, never under ASan.
check_PROGRAMS += tests/unit/test_chaos
tests_unit_test_chaos_SOURCES = tests/unit/test_chaos.c $(PP_TEST_TMPDIR)
tests_unit_test_chaos_CFLAGS = $(PP_TEST_CFLAGS)
tests_unit_test_chaos_LDADD = $(PP_TEST_LIBS)
TESTS += tests/unit/test_chaos

# --- validation cases, unit tests of validate/config/store, integration tests
# through nginx ----------------------------------------------------------------
EXTRA_DIST += tests/integration/lib.sh tests/integration/post.lua tests/cases

check_PROGRAMS += tests/unit/test_validate tests/unit/test_config tests/unit/test_store
UNIT_TESTS += tests/unit/test_validate tests/unit/test_config tests/unit/test_store
TESTS += tests/unit/test_validate tests/unit/test_config tests/unit/test_store

tests_unit_test_validate_SOURCES = tests/unit/test_validate.c
tests_unit_test_validate_CPPFLAGS = $(AM_CPPFLAGS) -DPP_CASES_DIR='"$(abs_top_srcdir)/tests/cases"'
tests_unit_test_validate_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_validate_LDADD = $(PP_CORE_LIBS) $(CHECK_LIBS)

tests_unit_test_config_SOURCES = tests/unit/test_config.c $(PP_TEST_TMPDIR)
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_config_LDADD = $(PP_CORE_LIBS) $(CHECK_LIBS)

tests_unit_test_store_SOURCES = tests/unit/test_store.c $(PP_TEST_TMPDIR)
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_test_store_LDADD = $(PP_CORE_LIBS) $(CHECK_LIBS)

# Integration tests: real nginx + spawn-fcgi/multiwatch workers (lib.sh).
TESTS += tests/integration/cases.sh tests/integration/api.sh tests/integration/noquota.sh \
	tests/integration/concurrency.sh tests/integration/global.sh tests/integration/restart.sh \
	tests/integration/nocleartext.sh tests/integration/probes.sh tests/integration/flood.sh

TESTS += tests/integration/store-full.sh
EXTRA_DIST += tests/integration/store-full.sh tests/integration/distinct-keys.lua
check_PROGRAMS += tests/integration/hold-reader
tests_integration_hold_reader_SOURCES = tests/integration/hold-reader.c
tests_integration_hold_reader_CFLAGS = $(AM_CFLAGS) $(LMDB_CFLAGS)
tests_integration_hold_reader_LDADD = $(LMDB_LIBS)
EXTRA_DIST += tests/free-port

# Integration tests scripts/test runs again against the ASan+UBSan build of
# pingpong-fcgi: the request path under real traffic (lib.sh fails a test on
# any sanitizer report in workers.log).
SANITIZED_INTEGRATION_TESTS = tests/integration/api.sh tests/integration/cases.sh \
	tests/integration/noquota.sh tests/integration/concurrency.sh tests/integration/global.sh \
	tests/integration/restart.sh tests/integration/store-full.sh tests/faults/hostile.sh \
	tests/faults/clockstep.sh tests/cli/server.sh
print-sanitized-integration-tests:
	@echo $(SANITIZED_INTEGRATION_TESTS)
.PHONY: print-sanitized-integration-tests
EXTRA_DIST += tests/integration/api.sh tests/integration/cases.sh tests/integration/concurrency.sh \
	tests/integration/flood.sh tests/integration/global.sh tests/integration/nocleartext.sh \
	tests/integration/noquota.sh tests/integration/probes.sh tests/integration/restart.sh

# The workers under valgrind memcheck while API tests run against them.
TESTS += tests/faults/valgrind-server.sh
EXTRA_DIST += tests/faults/valgrind-server.sh

# Every test runs through tests/run-test: a time limit (a runaway is a named
# failure) and the skip policy (PP_ALLOW_SKIP; see the script). Scripts keep
# SH_LOG_COMPILER = $(SHELL); the wrapper goes in front through the flags.
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/run-test
AM_SH_LOG_FLAGS = $(top_srcdir)/tests/run-test $(SHELL)
EXTRA_DIST += tests/run-test

# The bytes of every answer: quota headers, Retry-After rounding, bodies.
check_PROGRAMS += tests/unit/test_response
tests_unit_test_response_SOURCES = tests/unit/test_response.c
tests_unit_test_response_CFLAGS = $(PP_TEST_CFLAGS)
tests_unit_test_response_LDADD = $(PP_TEST_LIBS)
UNIT_TESTS += tests/unit/test_response
TESTS += tests/unit/test_response

# The shared counters (src/metrics.c), built without the core library.
check_PROGRAMS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c src/metrics.c src/metrics.h $(PP_TEST_TMPDIR)
tests_unit_test_metrics_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_metrics_LDADD = $(CHECK_LIBS)
TESTS += tests/unit/test_metrics
UNIT_TESTS += tests/unit/test_metrics

# --- fault and abuse tests (tests/faults/) -------------------------------------
# Through real nginx + workers (tests/integration/lib.sh); each bounded < 30 s.
TESTS += tests/faults/kill9.sh
EXTRA_DIST += tests/faults/kill9.sh
TESTS += tests/faults/smallmap.sh
EXTRA_DIST += tests/faults/smallmap.sh
TESTS += tests/faults/clockstep.sh
EXTRA_DIST += tests/faults/clockstep.sh
TESTS += tests/faults/hostile.sh
EXTRA_DIST += tests/faults/hostile.sh
# The unit tests under valgrind memcheck (a skip, naming valgrind, when it is missing).
TESTS += tests/faults/valgrind.sh
EXTRA_DIST += tests/faults/valgrind.sh
valgrind: $(check_PROGRAMS)
	PP_BUILDDIR='$(abs_top_builddir)' $(SHELL) $(srcdir)/tests/faults/valgrind.sh
.PHONY: valgrind
