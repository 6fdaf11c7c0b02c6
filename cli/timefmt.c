/* timefmt.c - renders durations and wall-clock times for the client's
 * lines. Reads no clock: the caller passes the times (tests fix TZ). */
#include "timefmt.h"

#include <stdio.h>
#include <time.h>

const char *
pp_fmt_duration(int64_t ms, char *buf, size_t cap)
{
	int64_t s, m;

	if (ms < 0)
		ms = 0;
	if (ms < 59950) /* what "%.3g" prints as "60 s" is already a minute */
		snprintf(buf, cap, "%.3g s", (double)ms / 1000.0);
	else if ((s = (ms + 500) / 1000) < 3600)
		snprintf(buf, cap, "%lld min %lld s", (long long)(s / 60), (long long)(s % 60));
	else {
		m = (s + 30) / 60;
		snprintf(buf, cap, "%lld h %lld min", (long long)(m / 60), (long long)(m % 60));
	}
	return buf;
}

static int
local_tm(int64_t ms, struct tm *tm)
{
	time_t t = (time_t)(ms / 1000);

	return localtime_r(&t, tm) ? 0 : -1;
}

const char *
pp_fmt_clock(int64_t now_ms, int64_t at_ms, char *buf, size_t cap)
{
	struct tm now, at;
	size_t n;

	if (local_tm(now_ms, &now) || local_tm(at_ms, &at)) {
		snprintf(buf, cap, "?");
		return buf;
	}
	/* Past midnight the hour alone would mislead: give the date too. */
	if (now.tm_year != at.tm_year || now.tm_yday != at.tm_yday)
		n = strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &at);
	else
		n = strftime(buf, cap, "%H:%M:%S", &at);
	if (n == 0)
		snprintf(buf, cap, "?");
	return buf;
}
