# Tests of the server core: Check unit tests (the same library code the
# binary links) and integration tests through a real nginx.
# UNIT_TESTS starts empty in Makefile.am, so every local.mk can add to it.
print-unit-tests:
	@echo $(UNIT_TESTS)
.PHONY: print-unit-tests

PP_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS)
PP_TEST_LIBS = tests/unit/libpptest.a $(PP_CORE_LIBS) $(CHECK_LIBS)
PP_TEST_TMPDIR = tests/unit/tmpdir.c tests/unit/tmpdir.h
# The Check runner every C test ends in, client tests too (tests/unit/run.h).
check_LIBRARIES = tests/unit/libpptest.a
tests_unit_libpptest_a_SOURCES = tests/unit/run.c tests/unit/run.h
tests_unit_libpptest_a_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

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
EXTRA_DIST += tests/lib.sh tests/integration/post.lua tests/cases

check_PROGRAMS += tests/unit/test_validate tests/unit/test_config tests/unit/test_store
UNIT_TESTS += tests/unit/test_validate tests/unit/test_config tests/unit/test_store
TESTS += tests/unit/test_validate tests/unit/test_config tests/unit/test_store

tests_unit_test_validate_SOURCES = tests/unit/test_validate.c
tests_unit_test_validate_CPPFLAGS = $(AM_CPPFLAGS) -DPP_CASES_DIR='"$(abs_top_srcdir)/tests/cases"'
tests_unit_test_validate_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_validate_LDADD = $(PP_TEST_LIBS)

tests_unit_test_config_SOURCES = tests/unit/test_config.c $(PP_TEST_TMPDIR)
tests_unit_test_config_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_config_LDADD = $(PP_TEST_LIBS)

tests_unit_test_store_SOURCES = tests/unit/test_store.c $(PP_TEST_TMPDIR)
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_test_store_LDADD = $(PP_CORE_LIBS) $(CHECK_LIBS)

# Integration tests: real nginx + spawn-fcgi/multiwatch workers (tests/lib.sh).
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

# ---- ops: dry run, global_limit = off, db_map_size = auto, pingpongctl ----
TESTS += tests/integration/dryrun.sh tests/integration/globaloff.sh
EXTRA_DIST += tests/integration/dryrun.sh tests/integration/globaloff.sh
check_PROGRAMS += tests/unit/test_ops
tests_unit_test_ops_SOURCES = tests/unit/test_ops.c ctl/key.c ctl/key.h $(PP_TEST_TMPDIR)
tests_unit_test_ops_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/ctl
tests_unit_test_ops_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_ops_LDADD = $(PP_TEST_LIBS)
UNIT_TESTS += tests/unit/test_ops
TESTS += tests/unit/test_ops
TESTS += tests/integration/ctl.sh tests/integration/ctl-stats.sh
EXTRA_DIST += tests/integration/ctl.sh tests/integration/ctl-stats.sh
TESTS += tests/integration/automap.sh
EXTRA_DIST += tests/integration/automap.sh
# The request path of dry_run and global_limit = off, and pingpongctl beside
# the workers, under ASan+UBSan too (scripts/test).
SANITIZED_INTEGRATION_TESTS += tests/integration/dryrun.sh tests/integration/globaloff.sh \
	tests/integration/ctl.sh

# pingpong-fcgi with the test clock (src/clock.c with PP_TEST_CLOCK: honours
# PINGPONG_TEST_CLOCK_OFFSET_FILE). Built for tests only, never installed; its
# clock.o replaces the library's, which the linker then does not pull in.
check_PROGRAMS += tests/pingpong-fcgi-testclock
tests_pingpong_fcgi_testclock_SOURCES = src/main.c src/fcgi.c src/fcgi.h src/clock.c
tests_pingpong_fcgi_testclock_CPPFLAGS = $(AM_CPPFLAGS) -DPP_TEST_CLOCK
tests_pingpong_fcgi_testclock_LDADD = $(PP_CORE_LIBS) $(FCGI_LIBS)
TESTS += tests/faults/testclock.sh
EXTRA_DIST += tests/faults/testclock.sh
TESTS += tests/faults/diskfull.sh
EXTRA_DIST += tests/faults/diskfull.sh

# Issue 9's LMDB faults: the emptied sweep, another layout, > 126 workers,
# mixed map sizes (forked processes).
check_PROGRAMS += tests/unit/test_lmdb_faults
tests_unit_test_lmdb_faults_SOURCES = tests/unit/test_lmdb_faults.c $(PP_TEST_TMPDIR)
tests_unit_test_lmdb_faults_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LMDB_CFLAGS)
tests_unit_test_lmdb_faults_LDADD = $(PP_CORE_LIBS) $(CHECK_LIBS)
UNIT_TESTS += tests/unit/test_lmdb_faults
TESTS += tests/unit/test_lmdb_faults
TESTS += tests/faults/readyz-sizes.sh
EXTRA_DIST += tests/faults/readyz-sizes.sh
TESTS += tests/faults/policy-clash.sh
EXTRA_DIST += tests/faults/policy-clash.sh

# pp_log_due on the monotonic clock (replaces clock_gettime/time in-binary).
check_PROGRAMS += tests/unit/test_log_due
tests_unit_test_log_due_SOURCES = tests/unit/test_log_due.c
tests_unit_test_log_due_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_log_due_LDADD = $(PP_TEST_LIBS)
UNIT_TESTS += tests/unit/test_log_due
TESTS += tests/unit/test_log_due
TESTS += tests/faults/man-facts.sh
EXTRA_DIST += tests/faults/man-facts.sh

# ---- Redis store (redis branch): redis-server started by each test ----
check_PROGRAMS += tests/redis/diff-script
tests_redis_diff_script_SOURCES = tests/redis/diff-script.c
tests_redis_diff_script_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS)
tests_redis_diff_script_LDADD = $(PP_CORE_LIBS)
TESTS += tests/redis/diff.sh tests/redis/basic.sh tests/redis/fleet.sh tests/redis/faults.sh \
	tests/redis/cache.sh tests/redis/badpeer.sh tests/redis/cluster.sh tests/redis/local.sh \
	tests/redis/store-suite.sh tests/redis/sentinel.sh
EXTRA_DIST += tests/redis/lib.sh tests/redis/diff.sh tests/redis/basic.sh tests/redis/fleet.sh \
	tests/redis/faults.sh tests/redis/local.sh tests/redis/cache.sh tests/redis/badpeer.sh \
	tests/redis/cluster.sh tests/redis/store-suite.sh tests/redis/sentinel.sh
check_PROGRAMS += tests/unit/test_refusal_cache
tests_unit_test_refusal_cache_SOURCES = tests/unit/test_refusal_cache.c $(PP_TEST_TMPDIR)
tests_unit_test_refusal_cache_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_refusal_cache_LDADD = $(PP_TEST_LIBS)
UNIT_TESTS += tests/unit/test_refusal_cache
TESTS += tests/unit/test_refusal_cache
check_PROGRAMS += tests/unit/test_redis_script
tests_unit_test_redis_script_SOURCES = tests/unit/test_redis_script.c
tests_unit_test_redis_script_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(HIREDIS_CFLAGS)
tests_unit_test_redis_script_LDADD = $(PP_TEST_LIBS)
UNIT_TESTS += tests/unit/test_redis_script
TESTS += tests/unit/test_redis_script

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

# The shared counters (src/metrics.c, src/metrics_store.c), built without the core library.
check_PROGRAMS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c src/metrics.c src/metrics.h \
	src/metrics_store.c src/metrics_store.h $(PP_TEST_TMPDIR)
tests_unit_test_metrics_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_metrics_LDADD = tests/unit/libpptest.a $(CHECK_LIBS)
TESTS += tests/unit/test_metrics
UNIT_TESTS += tests/unit/test_metrics

# --- fault and abuse tests (tests/faults/) -------------------------------------
# Through real nginx + workers (tests/lib.sh); each bounded < 30 s.
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

# ---- fleet: failover under load (Sentinel kill -9), fleet branch ----
TESTS += tests/redis/failover-sentinel.sh
EXTRA_DIST += tests/redis/failover-sentinel.sh
# Containers on one Redis (podman; skips with reason "container" as container.sh does).
TESTS += tests/deploy/container-fleet.sh
EXTRA_DIST += tests/deploy/container-fleet.sh
# Cluster failover under load (kill -9 of the slot's master, 3+3 nodes).
TESTS += tests/redis/failover-cluster.sh
EXTRA_DIST += tests/redis/failover-cluster.sh
# nginx refusal cache: the shipped purge units run as shipped, and the clock
# stepped back (libfaketime under nginx, the test clock under the workers).
TESTS += tests/integration/refusal-cache-purge.sh
EXTRA_DIST += tests/integration/refusal-cache-purge.sh
# redis_url as a list of seeds (a dead first seed; Cluster and plain).
TESTS += tests/redis/cluster-seeds.sh
EXTRA_DIST += tests/redis/cluster-seeds.sh
