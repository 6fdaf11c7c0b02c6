/* run.c - runs one Check suite of the client's unit tests; shared so each
 * test file holds only its cases. */
#include "run.h"

#include <stdlib.h>

int
pp_test_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
