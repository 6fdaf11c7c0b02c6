# Tests of the server core: Check unit tests (the same library code the
# binary links) and integration tests through a real nginx.
UNIT_TESTS =
print-unit-tests:
	@echo $(UNIT_TESTS)
.PHONY: print-unit-tests

PP_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS)
PP_TEST_LIBS = $(PP_CORE_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_limiter
tests_unit_test_limiter_SOURCES = tests/unit/test_limiter.c
tests_unit_test_limiter_CFLAGS = $(PP_TEST_CFLAGS)
tests_unit_test_limiter_LDADD = $(PP_TEST_LIBS)
UNIT_TESTS += tests/unit/test_limiter
TESTS += tests/unit/test_limiter

# Replaces malloc process-wide: in TESTS only, never under ASan.
check_PROGRAMS += tests/unit/test_chaos
tests_unit_test_chaos_SOURCES = tests/unit/test_chaos.c
tests_unit_test_chaos_CFLAGS = $(PP_TEST_CFLAGS)
tests_unit_test_chaos_LDADD = $(PP_TEST_LIBS)
TESTS += tests/unit/test_chaos
