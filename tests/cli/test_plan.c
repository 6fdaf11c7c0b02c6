/* test_plan.c - unit tests of cli/plan.c with a fake clock: what each
 * answer means and how long to wait, and whole runs of the plan and the
 * schedule against a simulated sliding-window server. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "run.h"
#include "schedule.h"

/* ---- what an answer means ------------------------------------------- */

static struct pp_outcome oc;
static struct pp_backoff bo;
static struct pp_plan pl;

static const char *policy_field; /* RateLimit-Policy for answer(), or NULL */

static void
answer(long status, const char *body, const char *ratelimit, int64_t retry_after)
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

static void
plan_setup(void)
{
	pp_backoff_init(&bo, PP_BACKOFF_BASE_MS, PP_BACKOFF_MAX_MS);
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

/* However long a hint, a pause lasts a day at most (PP_HINT_MAX_S), from
 * RateLimit t as from Retry-After. */
START_TEST(pauses_capped_at_a_day)
{
	answer(200, "{\"response\":\"pong\"}", "\"per-key\";r=0;t=3600000", -1);
	ck_assert_int_eq(pl.why, PP_WHY_QUOTA);
	ck_assert_int_eq(pl.pause_ms, INT64_C(86400000));
	answer(429, "{\"message\":\"m\"}", "\"global\";r=0;t=99999999", -1);
	ck_assert_int_eq(pl.why, PP_WHY_RETRY_AFTER);
	ck_assert_int_eq(pl.pause_ms, INT64_C(86400000));
	answer(429, "{\"message\":\"m\"}", NULL, PP_HINT_MAX_S);
	ck_assert_int_eq(pl.pause_ms, INT64_C(86400000));
	/* Backoff has its own, named cap. */
	for (int k = 0; k < 20; k++)
		answer(503, "", NULL, -1);
	ck_assert_int_eq(pl.pause_ms, PP_BACKOFF_MAX_MS);
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

static int
sim_used(struct sim_limit *l, int64_t t)
{
	int used = 0;
	for (int k = 0; k < l->n; k++)
		if (l->at[k] > t - l->w)
			used++;
	return used;
}

/* Seconds, rounded up, until the oldest live admission expires. */
static int64_t
sim_t(struct sim_limit *l, int64_t t)
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
static void
sim_serve(struct sim *s, int64_t t)
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
static int64_t
sim_run(struct sim *s, int64_t interval, int pongs, int64_t latency,
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

int
main(void)
{
	const TTest *plan[] = { pong_with_quota_left, pong_with_no_quota_pauses,
		                refusal_honours_hints, hintless_refusals_back_off,
		                errors_retry_and_fatal_stops, pauses_capped_at_a_day,
		                refine_within_rounding, NULL };
	const TTest *runs[] = { run_never_refused_with_hints, run_default_limits,
		                run_hintless_backs_off, run_slow_server_no_burst, NULL };
	Suite *s = suite_create("cli-plan");

	pp_test_case(s, "plan", plan_setup, NULL, plan);
	pp_test_case(s, "runs", plan_setup, NULL, runs);
	return pp_test_run(s);
}
