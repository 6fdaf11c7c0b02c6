/* test_schedule.c - unit tests of cli/schedule.c with a fake clock: the
 * fixed grid of deadlines, pauses that move it, the backoff. */
#include <check.h>

#include "run.h"
#include "schedule.h"

START_TEST(grid_without_drift)
{
	struct pp_sched s;

	pp_sched_start(&s, 5000, 1000);
	ck_assert_int_eq(pp_sched_due(&s), 5000);
	/* Answers arrive at varying times inside the interval: the grid holds. */
	ck_assert_int_eq(pp_sched_next(&s, 5030), 6000);
	ck_assert_int_eq(pp_sched_next(&s, 6999), 7000);
	ck_assert_int_eq(pp_sched_next(&s, 7000), 8000);
	for (int k = 0; k < 1000; k++)
		pp_sched_next(&s, pp_sched_due(&s) + 17);
	ck_assert_int_eq(pp_sched_due(&s), 5000 + 1003 * 1000);
}
END_TEST

START_TEST(fractional_interval)
{
	struct pp_sched s;

	pp_sched_start(&s, 0, 333);
	for (int k = 1; k <= 9; k++)
		ck_assert_int_eq(pp_sched_next(&s, k * 333 - 100), k * 333);
}
END_TEST

START_TEST(missed_ticks_are_skipped)
{
	struct pp_sched s;

	pp_sched_start(&s, 0, 1000);
	/* The request sent at 0 took 2.5 s: ticks 1000 and 2000 are gone. */
	ck_assert_int_eq(pp_sched_next(&s, 2500), 3000);
	/* Exactly on a tick counts as on time. */
	ck_assert_int_eq(pp_sched_next(&s, 5000), 5000);
	ck_assert_int_eq(pp_sched_next(&s, 5001), 6000);
}
END_TEST

START_TEST(sleep_never_negative)
{
	ck_assert_int_eq(pp_sleep_ms(1000, 400), 600);
	ck_assert_int_eq(pp_sleep_ms(1000, 1000), 0);
	ck_assert_int_eq(pp_sleep_ms(1000, 5000), 0);
}
END_TEST

START_TEST(pause_moves_the_grid)
{
	struct pp_sched s;
	int64_t d;

	pp_sched_start(&s, 0, 1000);
	/* Pause shorter than the gap to the next tick: the tick stands. */
	ck_assert_int_eq(pp_sched_after(&s, 20, 500, &d), 1000);
	ck_assert_int_eq(d, 0);
	/* No pause. */
	ck_assert_int_eq(pp_sched_after(&s, 1020, 0, &d), 2000);
	ck_assert_int_eq(d, 0);
	/* A 42 s pause: the next ping is exactly at its end, then every second. */
	ck_assert_int_eq(pp_sched_after(&s, 2010, 42000, &d), 44010);
	ck_assert_int_eq(d, 41010); /* past the tick at 3000 */
	ck_assert_int_eq(pp_sched_after(&s, 44030, 0, &d), 45010);
	ck_assert_int_eq(pp_sched_after(&s, 45030, 0, &d), 46010);
}
END_TEST

START_TEST(backoff_doubles_to_cap)
{
	struct pp_backoff b;
	const int64_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 };

	pp_backoff_init(&b, 1000, 60000);
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		ck_assert_int_eq(pp_backoff_next(&b), want[k]);
	pp_backoff_reset(&b);
	ck_assert_int_eq(pp_backoff_next(&b), 1000);
	/* Nonsense settings are made safe. */
	pp_backoff_init(&b, 0, -5);
	ck_assert_int_eq(pp_backoff_next(&b), 1);
	ck_assert_int_eq(pp_backoff_next(&b), 1);
}
END_TEST

int
main(void)
{
	const TTest *schedule[] = { grid_without_drift, fractional_interval,
		                    missed_ticks_are_skipped, sleep_never_negative,
		                    pause_moves_the_grid, NULL };
	const TTest *backoff[] = { backoff_doubles_to_cap, NULL };
	Suite *s = suite_create("cli-schedule");

	pp_test_case(s, "schedule", NULL, NULL, schedule);
	pp_test_case(s, "backoff", NULL, NULL, backoff);
	return pp_test_run(s);
}
