/* test_history.c - unit tests of cli/history.c: the bound the client's own
 * admissions give on when a server window frees a unit. */
#include <check.h>

#include "history.h"
#include "run.h"

START_TEST(history_bound)
{
	struct pp_hist h;

	pp_hist_init(&h);
	ck_assert_int_eq(pp_hist_free_in(&h, 1, 3000, 0), -1);
	pp_hist_add(&h, 0, 10);
	pp_hist_add(&h, 1000, 1010);
	/* q=2, w=3 s: the pong sent at 0 (answered at 10) leaves by 3010. */
	ck_assert_int_eq(pp_hist_free_in(&h, 2, 3000, 1010), 2000);
	ck_assert_int_eq(pp_hist_free_in(&h, 1, 3000, 1010), 3000);
	ck_assert_int_eq(pp_hist_free_in(&h, 3, 3000, 1010), -1); /* fewer than q pongs */
	/* Sent 3 s ago or more: it may be gone, so no bound. */
	ck_assert_int_eq(pp_hist_free_in(&h, 2, 3000, 3000), -1);
	ck_assert_int_eq(pp_hist_free_in(&h, 2, 3000, 2999), 11);
	for (int k = 0; k < 100; k++)
		pp_hist_add(&h, 5000 + k, 5001 + k);
	ck_assert_int_eq(pp_hist_free_in(&h, 1, 1000, 5100), 1000);
	ck_assert_int_eq(pp_hist_free_in(&h, PP_HIST_MAX, 1000, 5100), 1000 - 63);
	ck_assert_int_eq(pp_hist_free_in(&h, PP_HIST_MAX + 1, 1000, 5100), -1);
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { history_bound, NULL };
	return pp_test_main("cli-history", "history", tests);
}
