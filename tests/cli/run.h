/* run.h - the one main() every Check test of the client ends in: run the
 * suite, exit non-zero when a test failed. */
#ifndef PP_TESTS_CLI_RUN_H
#define PP_TESTS_CLI_RUN_H

#include <check.h>

/* Runs s (and frees it). Returns EXIT_SUCCESS or EXIT_FAILURE. */
int pp_test_run(Suite *s);

#endif
