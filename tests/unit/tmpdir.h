/* tmpdir.h - scratch directories for the unit tests: made under $TMPDIR
 * (or /tmp), removed with everything in them. */
#ifndef PP_TEST_TMPDIR_H
#define PP_TEST_TMPDIR_H

#include <stddef.h>

/* Makes $TMPDIR/pp-NAME.XXXXXX into out (cap bytes); fails the test if it
 * cannot. */
void pp_test_mkdtemp(const char *name, char *out, size_t cap);
/* Removes dir and all below it; a missing dir is fine. */
void pp_test_rmtree(const char *dir);

#endif
