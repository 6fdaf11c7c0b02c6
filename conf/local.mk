# conf/local.mk - the deployment side: metrics unit test, sample configs,
# man pages, and the deploy tests (lighttpd, metrics, container, manifests).

# --- shared counters (src/metrics.c) -----------------------------------------
check_PROGRAMS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c src/metrics.c src/metrics.h
tests_unit_test_metrics_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_metrics_LDADD = $(CHECK_LIBS)
TESTS += tests/unit/test_metrics
UNIT_TESTS += tests/unit/test_metrics
TESTS += tests/deploy/metrics-format.sh
EXTRA_DIST += tests/deploy
