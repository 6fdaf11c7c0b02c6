/* test_log_due.c - pp_log_due rate-limits repeating log lines on the
 * monotonic clock: a wall clock stepped back an hour must not silence the
 * line for an hour. This binary replaces clock_gettime() and time() (the
 * library is linked statically, so its calls resolve to these) with a wall
 * clock and a monotonic clock the test moves independently. */
#include <check.h>
#include <time.h>

#include "log.h"
#include "run.h"

static time_t wall_s = 1700000000, mono_s = 1000;

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	ts->tv_sec = id == CLOCK_REALTIME ? wall_s : mono_s;
	ts->tv_nsec = 0;
	return 0;
}

time_t
time(time_t *t)
{
	if (t)
		*t = wall_s;
	return wall_s;
}

static void
advance(time_t s)
{
	wall_s += s;
	mono_s += s;
}

START_TEST(test_due_every_interval)
{
	struct pp_log_limit lim = { 0 };
	unsigned long n = 0;
	ck_assert(pp_log_due(&lim, 10, &n));
	ck_assert_uint_eq(n, 1);
	advance(3);
	ck_assert(!pp_log_due(&lim, 10, &n));
	ck_assert(!pp_log_due(&lim, 10, &n));
	advance(8);
	ck_assert(pp_log_due(&lim, 10, &n));
	ck_assert_uint_eq(n, 3); /* the two held back and this one */
}
END_TEST

START_TEST(test_wall_clock_stepped_back)
{
	struct pp_log_limit lim = { 0 };
	unsigned long n = 0;
	ck_assert(pp_log_due(&lim, 10, &n));
	wall_s -= 3600; /* an operator or NTP steps the clock back an hour */
	advance(11);
	ck_assert_msg(pp_log_due(&lim, 10, &n), "silenced by a wall clock stepped back");
	advance(11);
	ck_assert(pp_log_due(&lim, 10, &n));
}
END_TEST

START_TEST(test_wall_clock_stepped_forward)
{
	struct pp_log_limit lim = { 0 };
	unsigned long n = 0;
	ck_assert(pp_log_due(&lim, 10, &n));
	wall_s += 3600; /* a step forward is not ten seconds passing */
	advance(1);
	ck_assert_msg(!pp_log_due(&lim, 10, &n), "a wall clock step forward let a line through early");
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { test_due_every_interval, test_wall_clock_stepped_back,
		                 test_wall_clock_stepped_forward, NULL };
	return pp_test_main("log_due", "due", tests);
}
