/* test_timefmt.c - unit tests of cli/timefmt.c: durations a person reads
 * ("1 h 0 min", never "3.6e+03 s") and clock times with a date when the
 * time falls on another day. TZ is fixed, so the results are exact. */
#include <check.h>
#include <stdlib.h>
#include <time.h>

#include "run.h"
#include "timefmt.h"

static const char *
duration(int64_t ms)
{
	static char buf[PP_TIMEFMT_MAX];

	return pp_fmt_duration(ms, buf, sizeof(buf));
}

START_TEST(durations)
{
	/* Under a minute: as before ("pausing 2 s", "0.5 s (--timeout)"). */
	ck_assert_str_eq(duration(0), "0 s");
	ck_assert_str_eq(duration(500), "0.5 s");
	ck_assert_str_eq(duration(1200), "1.2 s");
	ck_assert_str_eq(duration(2000), "2 s");
	ck_assert_str_eq(duration(42000), "42 s");
	ck_assert_str_eq(duration(59900), "59.9 s");
	ck_assert_str_eq(duration(-5), "0 s");
	/* From a minute on: whole units, never an exponent. */
	ck_assert_str_eq(duration(59950), "1 min 0 s");
	ck_assert_str_eq(duration(60000), "1 min 0 s");
	ck_assert_str_eq(duration(90400), "1 min 30 s");
	ck_assert_str_eq(duration(3599000), "59 min 59 s");
	ck_assert_str_eq(duration(3600000), "1 h 0 min");
	ck_assert_str_eq(duration(3629000), "1 h 0 min");
	ck_assert_str_eq(duration(3631000), "1 h 1 min");
	ck_assert_str_eq(duration(86400000), "24 h 0 min");
	ck_assert_str_eq(duration(INT64_C(86400000) * 400), "9600 h 0 min");
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
	/* Past midnight: the hour alone would read as today. */
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING + 3600000, buf, sizeof(buf)),
	                 "2026-11-30 23:30:00" + 11);
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING + 2 * 3600000, buf, sizeof(buf)),
	                 "2026-12-01 00:30:00");
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING + 86400000, buf, sizeof(buf)),
	                 "2026-12-01 22:30:00");
	/* Local time decides what "another day" is. */
	setenv("TZ", "JST-9", 1); /* UTC+9 (a POSIX TZ: no tzdata needed) */
	tzset();
	ck_assert_str_eq(pp_fmt_clock(EVENING, EVENING + 3600000, buf, sizeof(buf)), "08:30:00");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("cli-timefmt");
	TCase *tc = tcase_create("timefmt");

	tcase_add_test(tc, durations);
	tcase_add_test(tc, clock_times);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return pp_test_run(suite());
}
