/* run.c - builds and runs the Check suites of the unit and client tests;
 * shared so each test file holds only its cases. */
#include "run.h"

#include <stdlib.h>

TCase *
pp_test_case(Suite *s, const char *name, SFun setup, SFun teardown, const TTest *tests[])
{
	TCase *tc = tcase_create(name);

	if (setup || teardown)
		tcase_add_checked_fixture(tc, setup, teardown);
	for (size_t i = 0; tests[i]; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return tc;
}

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

int
pp_test_main(const char *suite, const char *name, const TTest *tests[])
{
	Suite *s = suite_create(suite);

	pp_test_case(s, name, NULL, NULL, tests);
	return pp_test_run(s);
}
