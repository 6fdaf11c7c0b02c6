/* check_schedule.c - unit tests of the client's timing with a fake clock:
 * the fixed schedule, pauses, backoff, what each answer means, the options,
 * and whole runs against a simulated sliding-window server. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "plan.h"
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

/* ---- what an answer means ------------------------------------------- */

static struct pp_outcome oc;
static struct pp_backoff bo;
static struct pp_plan pl;

static const char *policy_field; /* RateLimit-Policy for answer(), or NULL */

static void answer(long status, const char *body, const char *ratelimit, int64_t retry_after)
{
	memset(&oc, 0, sizeof(oc));
	oc.transport = PP_TR_OK;
	oc.status = status;
	pp_body_parse(body, strlen(body), &oc.body);
	pp_rl_init(&oc.rl);
	if (ratelimit)
		ck_assert_int_eq(pp_rl_parse_ratelimit(&oc.rl, ratelimit, strlen(ratelimit)), 0);
	if (policy_field)
		ck_assert_int_eq(pp_rl_parse_policy(&oc.rl, policy_field, strlen(policy_field)), 0);
	oc.retry_after_s = retry_after;
	pp_plan_decide(&oc, &bo, &pl);
}

static void plan_setup(void)
{
	pp_backoff_init(&bo, 1000, 60000);
	policy_field = NULL;
}

START_TEST(pong_with_quota_left)
{
	answer(200, "{\"response\":\"pong\"}", "\"per-key\";r=7;t=42, \"global\";r=1;t=1", -1);
	ck_assert_int_eq(pl.event, PP_EV_PONG);
	ck_assert_int_eq(pl.why, PP_WHY_NONE);
	ck_assert_int_eq(pl.pause_ms, 0);
}
END_TEST

START_TEST(pong_with_no_quota_pauses)
{
	answer(200, "{\"response\":\"pong\"}", "\"per-key\";r=0;t=42, \"global\";r=1;t=1", -1);
	ck_assert_int_eq(pl.event, PP_EV_PONG);
	ck_assert_int_eq(pl.why, PP_WHY_QUOTA);
	ck_assert_int_eq(pl.pause_ms, 42000);
	ck_assert_str_eq(pl.limit, "per-key");
	/* Even the 1 s global one, and only for as long as it lasts. */
	answer(200, "{\"response\":\"pong\"}", "\"per-key\";r=5;t=42, \"global\";r=0;t=1", -1);
	ck_assert_int_eq(pl.pause_ms, 1000);
	ck_assert_str_eq(pl.limit, "global");
}
END_TEST

START_TEST(refusal_honours_hints)
{
	const char *b = "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"global\","
	                "\"retry_after\":0.4,\"throttle_age\":0}";
	answer(429, b, "\"per-key\";r=3;t=20, \"global\";r=0;t=1", 1);
	ck_assert_int_eq(pl.event, PP_EV_THROTTLED);
	ck_assert_int_eq(pl.why, PP_WHY_RETRY_AFTER);
	ck_assert_int_eq(pl.pause_ms, 1000);
	ck_assert_str_eq(pl.limit, "global");
	/* The body's float alone. */
	answer(429, b, NULL, -1);
	ck_assert_int_eq(pl.pause_ms, 400);
	/* Retry-After alone, limit named by RateLimit. */
	answer(429, "{\"message\":\"x\"}", "\"per-key\";r=0;t=30", 31);
	ck_assert_int_eq(pl.pause_ms, 31000);
	ck_assert_str_eq(pl.limit, "per-key");
	/* Hints never moved the backoff. */
	ck_assert_int_eq(pp_backoff_next(&bo), 1000);
}
END_TEST

START_TEST(hintless_refusals_back_off)
{
	const int64_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 };

	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		answer(429, "{\"message\":\"You have exceeded your request-limits.\"}", NULL, -1);
		ck_assert_int_eq(pl.event, PP_EV_THROTTLED);
		ck_assert_int_eq(pl.why, PP_WHY_BACKOFF);
		ck_assert_int_eq(pl.pause_ms, want[k]);
		ck_assert_str_eq(pl.limit, "");
	}
	answer(200, "{\"response\":\"pong\"}", NULL, -1);
	answer(429, "{\"message\":\"x\"}", NULL, -1);
	ck_assert_int_eq(pl.pause_ms, 1000); /* a pong reset it */
}
END_TEST

START_TEST(errors_retry_and_fatal_stops)
{
	memset(&oc, 0, sizeof(oc));
	oc.transport = PP_TR_CONNECT;
	oc.retry_after_s = -1;
	pp_plan_decide(&oc, &bo, &pl);
	ck_assert_int_eq(pl.event, PP_EV_ERROR);
	ck_assert_int_eq(pl.pause_ms, 1000);
	pp_plan_decide(&oc, &bo, &pl);
	ck_assert_int_eq(pl.pause_ms, 2000);

	answer(502, "<html>bad gateway</html>", NULL, -1);
	ck_assert_int_eq(pl.event, PP_EV_ERROR);
	ck_assert_int_eq(pl.why, PP_WHY_BACKOFF);
	ck_assert_int_eq(pl.pause_ms, 4000);

	answer(503, "{\"error\":\"store_unavailable\",\"message\":\"m\"}", NULL, 1);
	ck_assert_int_eq(pl.event, PP_EV_ERROR);
	ck_assert_int_eq(pl.why, PP_WHY_RETRY_AFTER);
	ck_assert_int_eq(pl.pause_ms, 1000);

	answer(200, "{\"response\":\"nope\"}", NULL, -1);
	ck_assert_int_eq(pl.event, PP_EV_ERROR);

	answer(400, "{\"error\":\"invalid_secret_key\",\"message\":\"m\"}", NULL, -1);
	ck_assert_int_eq(pl.event, PP_EV_FATAL);
	answer(404, "<html>not found</html>", NULL, -1);
	ck_assert_int_eq(pl.event, PP_EV_FATAL);

	oc.transport = PP_TR_INTERRUPTED;
	pp_plan_decide(&oc, &bo, &pl);
	ck_assert_int_eq(pl.event, PP_EV_STOP);
}
END_TEST

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

START_TEST(refine_within_rounding)
{
	struct pp_hist h;

	pp_hist_init(&h);
	pp_hist_add(&h, 0, 10);
	pp_hist_add(&h, 1000, 1010);
	policy_field = "\"per-key\";q=2;w=3, \"global\";q=2;w=1";
	answer(200, "{\"response\":\"pong\"}", "\"per-key\";r=0;t=3, \"global\";r=1;t=1", -1);
	ck_assert_int_eq(pl.pause_ms, 3000);
	pp_plan_refine(&pl, &oc.rl, &h, 1010);
	ck_assert_int_eq(pl.why, PP_WHY_QUOTA);
	ck_assert_int_eq(pl.pause_ms, 2000 + PP_REFINE_MARGIN_MS);
	ck_assert_str_eq(pl.limit, "per-key");
	/* Never longer than the server's t. */
	answer(200, "{\"response\":\"pong\"}", "\"per-key\";r=0;t=1", -1);
	pp_plan_refine(&pl, &oc.rl, &h, 1010);
	ck_assert_int_eq(pl.pause_ms, 1000);
	/* Without q/w, or without history, t stands. */
	policy_field = NULL;
	answer(200, "{\"response\":\"pong\"}", "\"per-key\";r=0;t=3", -1);
	pp_plan_refine(&pl, &oc.rl, &h, 1010);
	ck_assert_int_eq(pl.pause_ms, 3000);
	/* Two exhausted policies: the one that frees last after narrowing. */
	policy_field = "\"per-key\";q=2;w=3, \"global\";q=1;w=2";
	answer(200, "{\"response\":\"pong\"}", "\"per-key\";r=0;t=3, \"global\";r=0;t=2", -1);
	pp_plan_refine(&pl, &oc.rl, &h, 1010);
	ck_assert_int_eq(pl.pause_ms, 2000 + PP_REFINE_MARGIN_MS);
	/* Not a quota pause: untouched. */
	answer(429, "{\"message\":\"m\"}", "\"per-key\";r=0;t=3", -1);
	int64_t before = pl.pause_ms;
	pp_plan_refine(&pl, &oc.rl, &h, 1010);
	ck_assert_int_eq(pl.pause_ms, before);
}
END_TEST

/* ---- whole runs against a simulated server -------------------------- */

/* A sliding-window limit as the SPEC describes it: admit at t iff fewer
 * than q admissions in (t - w, t]. */
struct sim_limit {
	int q;
	int64_t w;
	int64_t at[64];
	int n;
};

static int sim_used(struct sim_limit *l, int64_t t)
{
	int used = 0;
	for (int k = 0; k < l->n; k++)
		if (l->at[k] > t - l->w)
			used++;
	return used;
}

/* Seconds, rounded up, until the oldest live admission expires. */
static int64_t sim_t(struct sim_limit *l, int64_t t)
{
	int64_t oldest = -1;
	for (int k = 0; k < l->n; k++)
		if (l->at[k] > t - l->w && (oldest < 0 || l->at[k] < oldest))
			oldest = l->at[k];
	return oldest < 0 ? 0 : (oldest + l->w - t + 999) / 1000;
}

struct sim {
	struct sim_limit key, global;
	int refused, admitted;
	bool hints; /* false: the original service, a bare 429 */
	char policy[128];
};

/* The server's answer to a request arriving at t. */
static void sim_serve(struct sim *s, int64_t t)
{
	char rl[128];
	bool ok = sim_used(&s->key, t) < s->key.q && sim_used(&s->global, t) < s->global.q;

	if (ok) {
		s->key.at[s->key.n++] = t;
		s->global.at[s->global.n++] = t;
		s->admitted++;
	} else {
		s->refused++;
	}
	snprintf(rl, sizeof(rl), "\"per-key\";r=%d;t=%lld, \"global\";r=%d;t=%lld",
	         s->key.q - sim_used(&s->key, t), (long long)sim_t(&s->key, t),
	         s->global.q - sim_used(&s->global, t), (long long)sim_t(&s->global, t));
	snprintf(s->policy, sizeof(s->policy), "\"per-key\";q=%d;w=%lld, \"global\";q=%d;w=%lld",
	         s->key.q, (long long)(s->key.w + 999) / 1000,
	         s->global.q, (long long)(s->global.w + 999) / 1000);
	policy_field = s->hints ? s->policy : NULL;
	if (ok)
		answer(200, "{\"response\":\"pong\"}", s->hints ? rl : NULL, -1);
	else
		answer(429, "{\"message\":\"You have exceeded your request-limits.\"}",
		       s->hints ? rl : NULL, -1);
}

/* Runs the client's loop on a fake clock until `pongs` pongs; each answer
 * takes latency ms. Returns the time of the last answer; sends[] gets the
 * send times. */
static int64_t sim_run(struct sim *s, int64_t interval, int pongs, int64_t latency,
                       int64_t *sends, int maxsends, int *nsends)
{
	struct pp_sched sc;
	struct pp_hist h;
	int64_t now = 1000000, due = now;
	int got = 0;

	pp_sched_start(&sc, now, interval);
	pp_hist_init(&h);
	*nsends = 0;
	while (got < pongs && *nsends < maxsends) {
		ck_assert_int_ge(due, now); /* never a deadline in the past */
		now = due;
		sends[(*nsends)++] = now;
		/* The server decides halfway through the round trip. */
		sim_serve(s, now + latency / 2);
		now += latency;
		if (pl.event == PP_EV_PONG) {
			got++;
			pp_hist_add(&h, sends[*nsends - 1], now);
			pp_plan_refine(&pl, &oc.rl, &h, now);
		}
		due = pp_sched_after(&sc, now, pl.pause_ms, NULL);
	}
	return now;
}

START_TEST(run_never_refused_with_hints)
{
	/* The integration test's setting: 2 per 3 s per key, 2 per 1 s global. */
	struct sim s = { .key = { .q = 2, .w = 3000 }, .global = { .q = 2, .w = 1000 }, .hints = true };
	int64_t sends[64];
	int n;
	int64_t end = sim_run(&s, 1000, 6, 5, sends, 64, &n);
	/* And with slow answers, where the server's moment is less certain. */
	struct sim s2 = { .key = { .q = 2, .w = 3000 }, .global = { .q = 2, .w = 1000 }, .hints = true };
	int64_t sends2[64];
	int n2;
	sim_run(&s2, 1000, 6, 400, sends2, 64, &n2);
	ck_assert_int_eq(s2.refused, 0);

	ck_assert_int_eq(s.refused, 0);
	ck_assert_int_eq(s.admitted, 6);
	ck_assert_int_eq(n, 6);
	/* Pongs at 0, 1, 3, 4, 6, 7 s: as fast as the limit allows, although
	 * the server's t says 3 s (2.x rounded up) after the second. */
	const int64_t want[] = { 0, 1000, 3000, 4000, 6000, 7000 };
	for (int k = 0; k < 6; k++) {
		ck_assert_int_ge(sends[k] - sends[0], want[k]);
		ck_assert_int_le(sends[k] - sends[0], want[k] + 2 * (PP_REFINE_MARGIN_MS + 5));
	}
	ck_assert_int_le(end - sends[0], 7100);
}
END_TEST

START_TEST(run_default_limits)
{
	/* 10 per 60 s: ten pongs a second apart, one 50 s pause, never refused. */
	struct sim s = { .key = { .q = 10, .w = 60000 }, .global = { .q = 2, .w = 1000 }, .hints = true };
	int64_t sends[64];
	int n;

	sim_run(&s, 1000, 12, 30, sends, 64, &n);
	ck_assert_int_eq(s.refused, 0);
	ck_assert_int_eq(n, 12);
	ck_assert_int_ge(sends[10] - sends[0], 60000);
	ck_assert_int_le(sends[10] - sends[0], 61000);
}
END_TEST

START_TEST(run_hintless_backs_off)
{
	/* The original service: refusals carry no hint. */
	struct sim s = { .key = { .q = 2, .w = 3000 }, .global = { .q = 2, .w = 1000 }, .hints = false };
	int64_t sends[64];
	int n;

	sim_run(&s, 1000, 4, 0, sends, 64, &n);
	ck_assert_int_eq(s.admitted, 4);
	/* 0, 1 admitted; 2 refused -> +1 s; 3 admitted; 4 refused -> ... */
	ck_assert_int_le(s.refused, 3);
	for (int k = 1; k < n; k++)
		ck_assert_int_ge(sends[k] - sends[k - 1], 1000);
}
END_TEST

START_TEST(run_slow_server_no_burst)
{
	/* Every answer takes 1.3 s with a 1 s interval: one ping per 2 s, never
	 * two back to back to catch up. */
	struct sim s = { .key = { .q = 60, .w = 60000 }, .global = { .q = 60, .w = 1000 }, .hints = true };
	int64_t sends[64];
	int n;

	sim_run(&s, 1000, 5, 1300, sends, 64, &n);
	for (int k = 1; k < n; k++)
		ck_assert_int_eq(sends[k] - sends[k - 1], 2000);
}
END_TEST

/* ---- options -------------------------------------------------------- */

static int parse(const char *env, struct pp_opts *o, char *err, ...)
{
	char *argv[16] = { "pingpong" };
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	for (char *a; argc < 15 && (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	return pp_opts_parse(argc, argv, env, o, err, 256);
}

START_TEST(options)
{
	struct pp_opts o;
	char err[256];

	ck_assert_int_eq(parse(NULL, &o, err, NULL), 0);
	ck_assert_str_eq(o.url, "http://127.0.0.1:8080/ping");
	ck_assert_int_eq(o.interval_ms, 1000);
	ck_assert_int_eq(o.count, 0);
	ck_assert_ptr_null(o.key);

	ck_assert_int_eq(parse("envkey", &o, err, "--endpoint", "example.test", "--port", "81",
	                       "--interval", "0.25", "--count", "6", "--json", "-q", NULL), 0);
	ck_assert_str_eq(o.url, "http://example.test:81/ping");
	ck_assert_int_eq(o.interval_ms, 250);
	ck_assert_int_eq(o.count, 6);
	ck_assert(o.json && o.quiet && o.key_from_env);
	ck_assert_str_eq(o.key, "envkey");

	ck_assert_int_eq(parse("envkey", &o, err, "--key", "k1", "--url", "https://h:8443", NULL), 0);
	ck_assert_str_eq(o.key, "k1");
	ck_assert(!o.key_from_env);
	ck_assert_str_eq(o.url, "https://h:8443/ping");
	ck_assert_int_eq(parse(NULL, &o, err, "--url", "http://h/x/ping", NULL), 0);
	ck_assert_str_eq(o.url, "http://h/x/ping");
	ck_assert_int_eq(parse(NULL, &o, err, "-e", "::1", "-p", "9", NULL), 0);
	ck_assert_str_eq(o.url, "http://[::1]:9/ping");

	ck_assert_int_eq(parse(NULL, &o, err, "--help", NULL), 0);
	ck_assert_int_eq(o.action, PP_ACT_HELP);
	ck_assert_int_eq(parse(NULL, &o, err, "--version", NULL), 0);
	ck_assert_int_eq(o.action, PP_ACT_VERSION);

	const char *bad[][3] = {
		{ "--port", "0" }, { "--port", "65536" }, { "--port", "8o" },
		{ "--interval", "0" }, { "--interval", "-1" }, { "--interval", "nan" },
		{ "--interval", "1s" }, { "--count", "0" }, { "--count", "x" },
		{ "--timeout", "" }, { "--key", "" }, { "--key", "a\nb" },
		{ "--url", "nohost" }, { "--bogus" }, { "--count" }, { "extra" },
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ck_assert_msg(parse(NULL, &o, err, bad[k][0], bad[k][1], NULL) == -1,
		              "accepted %s %s", bad[k][0], bad[k][1] ? bad[k][1] : "");
		ck_assert(err[0] != '\0');
	}
	ck_assert_int_eq(parse(NULL, &o, err, "--url", "http://h", "--port", "1", NULL), -1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cli-schedule");
	TCase *tc = tcase_create("schedule");
	TCase *tp = tcase_create("plan");
	TCase *tr = tcase_create("runs");
	TCase *to = tcase_create("options");

	tcase_add_test(tc, grid_without_drift);
	tcase_add_test(tc, fractional_interval);
	tcase_add_test(tc, missed_ticks_are_skipped);
	tcase_add_test(tc, sleep_never_negative);
	tcase_add_test(tc, pause_moves_the_grid);
	tcase_add_test(tc, backoff_doubles_to_cap);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tp, plan_setup, NULL);
	tcase_add_test(tp, pong_with_quota_left);
	tcase_add_test(tp, pong_with_no_quota_pauses);
	tcase_add_test(tp, refusal_honours_hints);
	tcase_add_test(tp, hintless_refusals_back_off);
	tcase_add_test(tp, errors_retry_and_fatal_stops);
	tcase_add_test(tp, history_bound);
	tcase_add_test(tp, refine_within_rounding);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(tr, plan_setup, NULL);
	tcase_add_test(tr, run_never_refused_with_hints);
	tcase_add_test(tr, run_default_limits);
	tcase_add_test(tr, run_hintless_backs_off);
	tcase_add_test(tr, run_slow_server_no_burst);
	suite_add_tcase(s, tr);

	tcase_add_test(to, options);
	suite_add_tcase(s, to);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
