/* run.h - the one main() of every Check test (unit and client): cases
 * built from lists of tests, the suite run, non-zero exit on a failure. */
#ifndef PP_TESTS_RUN_H
#define PP_TESTS_RUN_H

#include <check.h>

/* Adds a case named name to s holding tests (NULL-terminated), with setup
 * and teardown as its checked fixture when either is not NULL. Returns the
 * case, for a loop test or a timeout of its own. */
TCase *pp_test_case(Suite *s, const char *name, SFun setup, SFun teardown, const TTest *tests[]);

/* Runs s (and frees it). Returns EXIT_SUCCESS or EXIT_FAILURE. */
int pp_test_run(Suite *s);

/* The whole main() of a file of one plain case: suite name, case name,
 * tests (NULL-terminated). Returns as pp_test_run. */
int pp_test_main(const char *suite, const char *name, const TTest *tests[]);

#endif
