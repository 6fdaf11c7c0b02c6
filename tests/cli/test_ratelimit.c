/* test_ratelimit.c - unit tests of cli/ratelimit.c: RateLimit and
 * RateLimit-Policy (valid, odd, malformed), Retry-After, the cap on both. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "run.h"

static struct pp_ratelimit rl;

static void
setup(void)
{
	pp_rl_init(&rl);
}

static int
parse_ratelimit(const char *v)
{
	return pp_rl_parse_ratelimit(&rl, v, strlen(v));
}

static int
parse_policy(const char *v)
{
	return pp_rl_parse_policy(&rl, v, strlen(v));
}

static const struct pp_rl_policy *
policy_named(const char *name)
{
	for (unsigned k = 0; k < rl.n; k++)
		if (strcmp(rl.p[k].name, name) == 0)
			return &rl.p[k];
	ck_abort_msg("no policy %s", name);
	return NULL;
}

START_TEST(spec_example)
{
	ck_assert_int_eq(parse_policy("\"per-key\";q=10;w=60, \"global\";q=2;w=1"), 0);
	ck_assert_int_eq(parse_ratelimit("\"per-key\";r=7;t=42, \"global\";r=1;t=1"), 0);
	ck_assert_uint_eq(rl.n, 2);
	const struct pp_rl_policy *k = policy_named("per-key"), *g = policy_named("global");
	ck_assert_int_eq(k->q, 10);
	ck_assert_int_eq(k->w, 60);
	ck_assert_int_eq(k->r, 7);
	ck_assert_int_eq(k->t, 42);
	ck_assert_int_eq(g->q, 2);
	ck_assert_int_eq(g->w, 1);
	ck_assert_int_eq(g->r, 1);
	ck_assert_int_eq(g->t, 1);
	ck_assert_ptr_null(pp_rl_exhausted(&rl));
}
END_TEST

START_TEST(params_any_order_and_extra)
{
	ck_assert_int_eq(parse_ratelimit("\"a\";t=5;r=0;pk=:cHBw:, \"b\";foo;r=3;t=9;qu=\"requests\""), 0);
	ck_assert_int_eq(policy_named("a")->r, 0);
	ck_assert_int_eq(policy_named("a")->t, 5);
	ck_assert_int_eq(policy_named("b")->r, 3);
	ck_assert_int_eq(policy_named("b")->t, 9);
	ck_assert_str_eq(pp_rl_exhausted(&rl)->name, "a");
}
END_TEST

START_TEST(exhausted_picks_longest)
{
	ck_assert_int_eq(parse_ratelimit("\"per-key\";r=0;t=42, \"global\";r=0;t=1"), 0);
	ck_assert_str_eq(pp_rl_exhausted(&rl)->name, "per-key");
	pp_rl_init(&rl);
	ck_assert_int_eq(parse_ratelimit("\"per-key\";r=3;t=42, \"global\";r=0;t=1"), 0);
	ck_assert_str_eq(pp_rl_exhausted(&rl)->name, "global");
}
END_TEST

START_TEST(odd_but_valid)
{
	/* Tokens as names, tabs and spaces around commas, inner lists skipped,
	 * a repeated key overwriting, an escaped quote in a name. */
	ck_assert_int_eq(parse_ratelimit("default;r=1;t=2 ,\t(\"x\" \"y\");r=0;t=9,  \"q\\\"t\";r=4;r=0;t=3"), 0);
	ck_assert_uint_eq(rl.n, 2);
	ck_assert_int_eq(policy_named("default")->r, 1);
	ck_assert_int_eq(policy_named("q\"t")->r, 0);
	ck_assert_int_eq(policy_named("q\"t")->t, 3);
	/* Space after ';' is allowed by RFC 8941; an empty field is an empty list. */
	pp_rl_init(&rl);
	ck_assert_int_eq(parse_ratelimit("\"a\"; r=2; t=4"), 0);
	ck_assert_int_eq(policy_named("a")->r, 2);
	ck_assert_int_eq(parse_ratelimit(""), 0);
	ck_assert_int_eq(parse_ratelimit("   "), 0);
	ck_assert_uint_eq(rl.n, 1);
}
END_TEST

START_TEST(wrong_types_are_absent)
{
	/* Syntactically valid, semantically wrong: that parameter is ignored. */
	ck_assert_int_eq(parse_ratelimit("\"a\";r=-1;t=2.5, \"b\";r=\"0\";t=?1, \"c\";r=tok;t=:AA==:"), 0);
	ck_assert_uint_eq(rl.n, 3);
	for (unsigned k = 0; k < rl.n; k++) {
		ck_assert_int_eq(rl.p[k].r, -1);
		ck_assert_int_eq(rl.p[k].t, -1);
	}
	ck_assert_ptr_null(pp_rl_exhausted(&rl));
	/* r=0 without t: no timing hint. */
	pp_rl_init(&rl);
	ck_assert_int_eq(parse_ratelimit("\"a\";r=0"), 0);
	ck_assert_ptr_null(pp_rl_exhausted(&rl));
	/* A member that is a number has no name: skipped. */
	pp_rl_init(&rl);
	ck_assert_int_eq(parse_ratelimit("5;r=0;t=3, \"n\";r=1"), 0);
	ck_assert_uint_eq(rl.n, 1);
}
END_TEST

static const char *malformed[] = {
	"\"a\";r=1,",               /* trailing comma */
	",\"a\";r=1",               /* leading comma */
	"\"a\";r=1,,\"b\"",         /* empty member */
	"\"a\";r=1 \"b\"",          /* missing comma */
	"\"a",                      /* unterminated string */
	"\"a\\x\";r=1",             /* bad escape */
	"\"a\";R=1",                /* upper-case key */
	"\"a\";=1",                 /* empty key */
	"\"a\";r=",                 /* missing value */
	"\"a\";r=1234567890123456", /* 16 digits */
	"\"a\";r=1.",               /* decimal without fraction */
	"\"a\";t=1.2345",           /* 4 fraction digits */
	"\"a\";r=?2",               /* bad boolean */
	"(\"a\" \"b\"",             /* unterminated inner list */
	"\"a\";r=:!!:",             /* bad byte sequence */
	"@x;r=1",                   /* not an item */
	"\"a\";r=1;",               /* dangling ';' */
	"\"a\"\x01;r=1",            /* control byte */
	"\"\xc3\xa9\";r=0;t=5",     /* non-ASCII in a string */
	"\"a\";r=--1",
};

START_TEST(malformed_leaves_state)
{
	ck_assert_int_eq(parse_ratelimit("\"keep\";r=5;t=6"), 0);
	struct pp_ratelimit before = rl;
	ck_assert_int_eq(parse_ratelimit(malformed[_i]), -1);
	ck_assert_mem_eq(&rl, &before, sizeof(rl));
	ck_assert_int_eq(parse_policy(malformed[_i]), -1);
	ck_assert_mem_eq(&rl, &before, sizeof(rl));
}
END_TEST

START_TEST(not_nul_terminated)
{
	const char buf[] = "\"a\";r=0;t=7GARBAGE";
	ck_assert_int_eq(pp_rl_parse_ratelimit(&rl, buf, 11), 0);
	ck_assert_int_eq(policy_named("a")->t, 7);
}
END_TEST

START_TEST(too_many_and_too_long)
{
	char big[2048] = "";
	for (int k = 0; k < 12; k++) {
		char m[32];
		snprintf(m, sizeof(m), "%s\"p%d\";r=%d;t=1", k ? ", " : "", k, k);
		strncat(big, m, sizeof(big) - strlen(big) - 1);
	}
	ck_assert_int_eq(parse_ratelimit(big), 0);
	ck_assert_uint_eq(rl.n, PP_RL_MAX_POLICIES);
	ck_assert_str_eq(pp_rl_exhausted(&rl)->name, "p0");

	pp_rl_init(&rl);
	char longname[200];
	memset(longname, 'x', sizeof(longname));
	longname[0] = '"';
	snprintf(longname + 150, sizeof(longname) - 150, "\";r=0;t=3");
	ck_assert_int_eq(parse_ratelimit(longname), 0);
	ck_assert_uint_eq(rl.n, 0);
}
END_TEST

START_TEST(merge_policy_and_limit)
{
	ck_assert_int_eq(parse_ratelimit("\"global\";r=0;t=1"), 0);
	ck_assert_int_eq(parse_policy("\"per-key\";q=10;w=60, \"global\";q=2;w=1"), 0);
	ck_assert_uint_eq(rl.n, 2);
	ck_assert_int_eq(policy_named("global")->q, 2);
	ck_assert_int_eq(policy_named("global")->r, 0);
	ck_assert_int_eq(policy_named("per-key")->r, -1);
}
END_TEST

static int64_t
retry_after_s(const char *v, int64_t now)
{
	int64_t s = -42;
	if (pp_retry_after_parse(v, strlen(v), now, &s))
		return -1;
	return s;
}

START_TEST(retry_after)
{
	ck_assert_int_eq(retry_after_s("42", 0), 42);
	ck_assert_int_eq(retry_after_s(" 0 ", 0), 0);
	ck_assert_int_eq(retry_after_s("999999999999999999999", 0), 86400);
	ck_assert_int_eq(retry_after_s("", 0), -1);
	ck_assert_int_eq(retry_after_s("-1", 0), -1);
	ck_assert_int_eq(retry_after_s("1.5", 0), -1);
	ck_assert_int_eq(retry_after_s("12abc", 0), -1);
	/* 784111777 = Sun, 06 Nov 1994 08:49:37 GMT (the RFC 9110 example). */
	ck_assert_int_eq(retry_after_s("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30), 30);
	ck_assert_int_eq(retry_after_s("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 30), 0);
	ck_assert_int_eq(retry_after_s("Sun, 06 Nov 1994 08:49:37", 0), -1);
	ck_assert_int_eq(retry_after_s("yesterday", 0), -1);
}
END_TEST

/* A hint asks for at most a day, whichever field carries it: RateLimit t
 * is capped like Retry-After (main had t uncapped: a pause of months). */
START_TEST(hints_capped_at_a_day)
{
	ck_assert_int_eq(parse_ratelimit("\"a\";r=0;t=999999999, \"b\";r=0;t=86400, \"c\";r=0;t=86399"), 0);
	ck_assert_int_eq(policy_named("a")->t, PP_HINT_MAX_S);
	ck_assert_int_eq(policy_named("b")->t, 86400);
	ck_assert_int_eq(policy_named("c")->t, 86399);
	ck_assert_int_eq(PP_HINT_MAX_S, 86400);
	ck_assert_int_eq(retry_after_s("999999", 0), PP_HINT_MAX_S);
	/* A date a year ahead. */
	ck_assert_int_eq(retry_after_s("Mon, 06 Nov 1995 08:49:37 GMT", 784111777), PP_HINT_MAX_S);
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { spec_example, params_any_order_and_extra, exhausted_picks_longest,
		                 odd_but_valid, wrong_types_are_absent, not_nul_terminated,
		                 too_many_and_too_long, merge_policy_and_limit, retry_after,
		                 hints_capped_at_a_day, NULL };
	Suite *s = suite_create("cli-ratelimit");
	TCase *tc = pp_test_case(s, "parse", setup, NULL, tests);

	tcase_add_loop_test(tc, malformed_leaves_state, 0, (int)(sizeof(malformed) / sizeof(malformed[0])));
	return pp_test_run(s);
}
