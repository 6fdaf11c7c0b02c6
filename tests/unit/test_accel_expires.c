/* test_accel_expires.c - the X-Accel-Expires of nginx_refusal_cache = yes:
 * the last whole second nginx may repeat a 429 in ends no later than the
 * moment the key's window frees, for every phase of the second. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "response.h"
#include "run.h"

static struct pp_decision
refusal(bool key_full, int64_t key_retry_ms)
{
	struct pp_decision d;
	memset(&d, 0, sizeof(d));
	d.admit = false;
	d.refused_by = key_full ? PP_LIMIT_KEY : PP_LIMIT_GLOBAL;
	d.key.full = key_full;
	d.key.retry_ms = key_full ? key_retry_ms : 0;
	d.global.full = !key_full;
	d.retry_ms = key_full ? key_retry_ms : 300;
	return d;
}

/* The X-Accel-Expires value of a refusal (see refusal()) decided at
 * start_ms and answered at now_ms, into buf; "" if none was sent. */
static const char *
expires(bool key_full, int64_t key_retry_ms, int64_t start_ms, int64_t now_ms, char buf[64])
{
	struct pp_response r;
	struct pp_decision d = refusal(key_full, key_retry_ms);

	pp_response_reset(&r);
	pp_response_accel_expires(&r, &d, start_ms, now_ms);
	const char *p = strstr(r.headers, "X-Accel-Expires: ");
	buf[0] = '\0';
	if (p && sscanf(p + 17, "%63[^\r]", buf) != 1)
		buf[0] = '\0';
	return buf;
}

START_TEST(phase_of_the_second)
{
	char v[64];

	/* Refused at 1000000.100 s, the window frees at 1000002.050: the entry
	 * lives through second 1000001 (nginx drops it at 1000002.000); through
	 * 1000002 it would answer until 1000003.000, almost a second late. */
	ck_assert_str_eq(expires(true, 1950, 1000000100, 1000000101, v), "@1000001");
	/* Every start in a second, every retry: the expiry (start of second
	 * S + 1) is never later than start + retry. */
	for (int64_t start = 1000000000; start < 1000001000; start += 7)
		for (int64_t retry = 1; retry < 4000; retry += 13) {
			long long s;
			if (strcmp(expires(true, retry, start, start, v), "0") == 0) {
				/* Only when the window frees within a second. */
				ck_assert_int_lt((start + retry) / 1000, start / 1000 + 2);
				continue;
			}
			ck_assert_int_eq(sscanf(v, "@%lld", &s), 1);
			ck_assert_int_le((s + 1) * 1000, start + retry - 10);
			ck_assert_int_ge(s, start / 1000);
		}
}
END_TEST

START_TEST(not_cached)
{
	char v[64];

	/* A global-only refusal. */
	ck_assert_str_eq(expires(false, 0, 1000000100, 1000000100, v), "0");
	/* Already past by the time of the answer. */
	ck_assert_str_eq(expires(true, 1950, 1000000100, 1000002000, v), "0");
	/* Frees within the second it was refused in: nothing to keep. */
	ck_assert_str_eq(expires(true, 50, 1000000900, 1000000900, v), "0");
	/* Frees early in the next second: kept to the end of this one. */
	ck_assert_str_eq(expires(true, 500, 1000000900, 1000000900, v), "@1000000");
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { phase_of_the_second, not_cached, NULL };
	return pp_test_main("accel_expires", "core", tests);
}
