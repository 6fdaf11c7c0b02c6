/* test_timefmt.c - unit tests of cli/timefmt.c: durations a person reads
 * ("1 h 0 min", never "3.6e+03 s") and clock times with a date when the
 * time falls on another day. TZ is fixed, so the results are exact. */
#include <check.h>
#include <stdlib.h>
#include <time.h>

#include "run.h"
#include "timefmt.h"

static const struct {
	int64_t ms;
	const char *want;
} durations[] = {
	/* Under a minute: as before ("pausing 2 s", "0.5 s (--timeout)"). */
	{ 0, "0 s" },
	{ 500, "0.5 s" },
	{ 1200, "1.2 s" },
	{ 2000, "2 s" },
	{ 42000, "42 s" },
	{ 59900, "59.9 s" },
	{ -5, "0 s" },
	/* From a minute on: whole units, never an exponent. */
	{ 59950, "1 min 0 s" },
	{ 60000, "1 min 0 s" },
	{ 90400, "1 min 30 s" },
	{ 3599000, "59 min 59 s" },
	{ 3600000, "1 h 0 min" },
	{ 3629000, "1 h 0 min" },
	{ 3631000, "1 h 1 min" },
	{ 86400000, "24 h 0 min" },
	{ INT64_C(86400000) * 400, "9600 h 0 min" },
};

START_TEST(duration)
{
	char buf[PP_TIMEFMT_MAX];

	ck_assert_str_eq(pp_fmt_duration(durations[_i].ms, buf, sizeof(buf)), durations[_i].want);
}
END_TEST

/* 2026-11-30 22:30:00 UTC, in ms. */
#define EVENING INT64_C(1796077800000)

START_TEST(clock_times)
{
	char buf[PP_TIMEFMT_MAX];

	setenv("TZ", "UTC0", 1);
	tzset();
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING, buf, sizeof(buf)), "22:30:00");
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING + 42000, buf, sizeof(buf)), "22:30:42");
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING + 3600000, buf, sizeof(buf)), "23:30:00");
	/* Past midnight: the hour alone would read as today. */
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING + 2 * 3600000, buf, sizeof(buf)),
	                 "2026-12-01 00:30:00");
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING + 86400000, buf, sizeof(buf)),
	                 "2026-12-01 22:30:00");
	/* Local time decides what "another day" is: 07:30 to 09:30 in Tokyo. */
	setenv("TZ", "JST-9", 1); /* UTC+9 (a POSIX TZ: no tzdata needed) */
	tzset();
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING + 2 * 3600000, buf, sizeof(buf)), "09:30:00");
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { clock_times, NULL };
	Suite *s = suite_create("cli-timefmt");
	TCase *tc = pp_test_case(s, "timefmt", NULL, NULL, tests);

	tcase_add_loop_test(tc, duration, 0, (int)(sizeof(durations) / sizeof(durations[0])));
	return pp_test_run(s);
}
