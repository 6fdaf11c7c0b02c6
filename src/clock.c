/* clock.c - wall-clock milliseconds shared by all workers. The limiter copes
 * with a clock stepped backwards, so the wall clock is safe to use and keeps
 * the stored windows meaningful across restarts. */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef PP_TEST_CLOCK
/* Test builds only (tests/pingpong-fcgi-testclock; never installed): an
 * environment variable must not be able to move a production server's
 * clock, so the release objects do not contain this code at all. */
static const char *offset_file;

void
pp_clock_init(void)
{
	const char *f = getenv("PINGPONG_TEST_CLOCK_OFFSET_FILE");
	offset_file = (f && *f) ? f : NULL;
}

/* Re-read on every call so a test can step the clock of running workers. */
static int64_t
test_offset(void)
{
	FILE *f;
	long long off = 0;
	if (!offset_file || !(f = fopen(offset_file, "r")))
		return 0;
	if (fscanf(f, "%lld", &off) != 1)
		off = 0;
	fclose(f);
	return (int64_t)off;
}
#else
void
pp_clock_init(void)
{
}

static int64_t
test_offset(void)
{
	return 0;
}
#endif

int64_t
pp_clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + test_offset();
}

double
pp_clock_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
