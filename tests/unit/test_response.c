/* test_response.c - the bytes of every answer the API gives, from a decision:
 * quota headers, Retry-After and RateLimit t rounded up at 1, 999, 1000 and
 * 1001 ms, the 429 body's retry_after and throttle_age, the error bodies. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "response.h"
#include "run.h"

static const struct pp_policy policy = {
	.per_key = { .limit = 10, .window_ms = 60000 },
	.global = { .limit = 2, .window_ms = 1000 },
};

/* The value of header name in r (exact case), or NULL; copied to buf. */
static const char *
header(const struct pp_response *r, const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name);
	const char *p = r->headers;
	while (*p) {
		const char *end = strstr(p, "\r\n");
		ck_assert_msg(end != NULL, "header line without CRLF: '%s'", p);
		if (strncmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
			size_t len = (size_t)(end - p) - n - 2;
			ck_assert_uint_lt(len, cap);
			memcpy(buf, p + n + 2, len);
			buf[len] = '\0';
			return buf;
		}
		p = end + 2;
	}
	return NULL;
}

static void
expect_header(const struct pp_response *r, const char *name, const char *want)
{
	char buf[512];
	const char *got = header(r, name, buf, sizeof(buf));
	ck_assert_msg(got != NULL, "no %s header in '%s'", name, r->headers);
	ck_assert_str_eq(got, want);
}

static void
expect_body(const struct pp_response *r, const char *want)
{
	ck_assert_uint_eq(r->body_len, strlen(want));
	ck_assert_msg(memcmp(r->body, want, r->body_len) == 0, "body '%.*s', want '%s'",
	              (int)r->body_len, r->body, want);
	json_error_t err;
	json_t *j = json_loadb(r->body, r->body_len, 0, &err);
	ck_assert_msg(j != NULL, "body is not JSON: %s", err.text);
	json_decref(j);
}

/* A refusal by the per-key limit: retry_ms until it frees, the fill age_ms ago. */
static struct pp_decision
refused(enum pp_limit_id by, int64_t retry_ms, int64_t age_ms)
{
	struct pp_decision d;
	memset(&d, 0, sizeof(d));
	d.admit = false;
	d.refused_by = by;
	d.retry_ms = retry_ms;
	d.throttle_age_ms = age_ms;
	d.key = (struct pp_window_state){ .used = 10, .remaining = 0, .full = by == PP_LIMIT_KEY, .reset_ms = by == PP_LIMIT_KEY ? retry_ms : 59000 };
	d.global = (struct pp_window_state){ .used = 1, .remaining = 1, .reset_ms = 500 };
	if (by == PP_LIMIT_GLOBAL) {
		d.key.used = 3;
		d.key.remaining = 7;
		d.global = (struct pp_window_state){ .used = 2, .remaining = 0, .full = true, .reset_ms = retry_ms };
	}
	return d;
}

START_TEST(test_ceil_seconds)
{
	ck_assert_int_eq(pp_ceil_seconds(-5), 0);
	ck_assert_int_eq(pp_ceil_seconds(0), 0);
	ck_assert_int_eq(pp_ceil_seconds(1), 1);
	ck_assert_int_eq(pp_ceil_seconds(999), 1);
	ck_assert_int_eq(pp_ceil_seconds(1000), 1);
	ck_assert_int_eq(pp_ceil_seconds(1001), 2);
	ck_assert_int_eq(pp_ceil_seconds(60000), 60);
	ck_assert_int_eq(pp_ceil_seconds(60001), 61);
}
END_TEST

/* SPEC: Retry-After and t are whole seconds rounded up (never earlier than
 * the moment a request could be admitted); retry_after is the exact float. */
static const struct {
	int64_t retry_ms, age_ms;
	const char *retry_after; /* header and t */
	const char *body;
} rounding[] = {
	{ 1, 0, "1", "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"per-key\","
	             "\"retry_after\":0.001,\"throttle_age\":0}" },
	{ 999, 999, "1", "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"per-key\","
	                 "\"retry_after\":0.999,\"throttle_age\":0}" },
	{ 1000, 1000, "1", "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"per-key\","
	                   "\"retry_after\":1.000,\"throttle_age\":1}" },
	{ 1001, 1999, "2", "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"per-key\","
	                   "\"retry_after\":1.001,\"throttle_age\":1}" },
	{ 59999, 2001, "60", "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"per-key\","
	                     "\"retry_after\":59.999,\"throttle_age\":2}" },
};

START_TEST(test_throttled_rounding)
{
	struct pp_response r;
	struct pp_decision d = refused(PP_LIMIT_KEY, rounding[_i].retry_ms, rounding[_i].age_ms);
	char want[256];

	pp_response_reset(&r);
	pp_response_throttled(&r, &policy, &d);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(r.content_type, "application/json");
	expect_header(&r, "Retry-After", rounding[_i].retry_after);
	expect_header(&r, "RateLimit-Policy", "\"per-key\";q=10;w=60, \"global\";q=2;w=1");
	snprintf(want, sizeof(want), "\"per-key\";r=0;t=%s, \"global\";r=1;t=1", rounding[_i].retry_after);
	expect_header(&r, "RateLimit", want);
	expect_body(&r, rounding[_i].body);
}
END_TEST

START_TEST(test_throttled_global)
{
	struct pp_response r;
	struct pp_decision d = refused(PP_LIMIT_GLOBAL, 1001, 250);

	pp_response_reset(&r);
	pp_response_throttled(&r, &policy, &d);
	ck_assert_int_eq(r.status, 429);
	expect_header(&r, "Retry-After", "2");
	expect_header(&r, "RateLimit", "\"per-key\";r=7;t=59, \"global\";r=0;t=2");
	expect_body(&r, "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"global\","
	                "\"retry_after\":1.001,\"throttle_age\":0}");
}
END_TEST

START_TEST(test_pong_quota_headers)
{
	struct pp_response r;
	struct pp_decision d;

	memset(&d, 0, sizeof(d));
	d.admit = true;
	d.refused_by = PP_LIMIT_NONE;
	d.key = (struct pp_window_state){ .used = 3, .remaining = 7, .reset_ms = 59001 };
	d.global = (struct pp_window_state){ .used = 1, .remaining = 1, .reset_ms = 1 };
	pp_response_reset(&r);
	pp_response_pong(&r, &policy, &d);
	ck_assert_int_eq(r.status, 200);
	expect_body(&r, "{\"response\":\"pong\"}");
	expect_header(&r, "RateLimit-Policy", "\"per-key\";q=10;w=60, \"global\";q=2;w=1");
	expect_header(&r, "RateLimit", "\"per-key\";r=7;t=60, \"global\";r=1;t=1");
	char buf[64];
	ck_assert_ptr_null(header(&r, "Retry-After", buf, sizeof(buf)));

	/* An empty window frees nothing: t=0. A window of 1500 ms is w=2. */
	struct pp_policy odd = { .per_key = { 5, 1500 }, .global = { 100, 999 } };
	d.key = (struct pp_window_state){ .used = 0, .remaining = 5, .reset_ms = 0 };
	d.global = (struct pp_window_state){ .used = 0, .remaining = 100, .reset_ms = 0 };
	pp_response_reset(&r);
	pp_response_pong(&r, &odd, &d);
	expect_header(&r, "RateLimit-Policy", "\"per-key\";q=5;w=2, \"global\";q=100;w=1");
	expect_header(&r, "RateLimit", "\"per-key\";r=5;t=0, \"global\";r=100;t=0");

	/* fail_open on a store error: a pong, no quota is known, no headers. */
	pp_response_reset(&r);
	pp_response_pong(&r, &policy, NULL);
	ck_assert_int_eq(r.status, 200);
	expect_body(&r, "{\"response\":\"pong\"}");
	ck_assert_uint_eq(r.headers_len, 0);
}
END_TEST

START_TEST(test_error_bodies)
{
	struct pp_response r;
	char buf[64];

	pp_response_reset(&r);
	pp_response_error(&r, 400, "missing_secret_key", "The x-secret-key header is required.");
	ck_assert_int_eq(r.status, 400);
	expect_body(&r, "{\"error\":\"missing_secret_key\",\"message\":\"The x-secret-key header is required.\"}");
	ck_assert_ptr_null(header(&r, "RateLimit", buf, sizeof(buf)));
	ck_assert_ptr_null(header(&r, "Retry-After", buf, sizeof(buf)));

	/* Quotes and backslashes in a message stay valid JSON. */
	pp_response_reset(&r);
	pp_response_error(&r, 415, "unsupported_media_type", "Send \"Content-Type: application/json\" \\ please");
	ck_assert_int_eq(r.status, 415);
	expect_body(&r, "{\"error\":\"unsupported_media_type\","
	                "\"message\":\"Send \\\"Content-Type: application/json\\\" \\\\ please\"}");

	pp_response_reset(&r);
	pp_response_json(&r, 503, "{\"error\":\"store_unavailable\"}");
	ck_assert_int_eq(r.status, 503);
	expect_body(&r, "{\"error\":\"store_unavailable\"}");
	ck_assert_str_eq(pp_response_reason(429), "Too Many Requests");
	ck_assert_str_eq(pp_response_reason(413), "Content Too Large");
}
END_TEST

START_TEST(test_serialize)
{
	struct pp_response r;
	char out[512];
	const char *want = "Status: 405 Method Not Allowed\r\nContent-Type: application/json\r\n"
			   "Content-Length: 51\r\nAllow: POST\r\n\r\n"
			   "{\"error\":\"method_not_allowed\",\"message\":\"Use POST\"}";

	pp_response_reset(&r);
	pp_response_error(&r, 405, "method_not_allowed", "Use POST");
	pp_response_header(&r, "Allow", "%s", "POST");
	size_t n = pp_response_serialize(&r, 1, out, sizeof(out));
	ck_assert_uint_eq(n, strlen(want));
	ck_assert(memcmp(out, want, n) == 0);
	/* HEAD: the same headers, Content-Length of the body not sent. */
	n = pp_response_serialize(&r, 0, out, sizeof(out));
	ck_assert_uint_eq(n, strlen(want) - 51);
	ck_assert(memcmp(out, want, n) == 0);
	/* An exact fit is fine; one byte short is 0, never a truncated answer. */
	ck_assert_uint_eq(pp_response_serialize(&r, 1, out, strlen(want)), strlen(want));
	ck_assert_uint_eq(pp_response_serialize(&r, 1, out, strlen(want) - 1), 0);
	ck_assert_uint_eq(pp_response_serialize(&r, 1, out, 20), 0);
}
END_TEST

START_TEST(test_header_overflow_dropped)
{
	struct pp_response r;
	char big[PP_HEADERS_MAX];

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pp_response_reset(&r);
	pp_response_header(&r, "Allow", "%s", "POST");
	size_t before = r.headers_len;
	pp_response_header(&r, "X-Big", "%s", big);
	ck_assert_uint_eq(r.headers_len, before);
	ck_assert_str_eq(r.headers, "Allow: POST\r\n");
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { test_ceil_seconds, test_throttled_global, test_pong_quota_headers,
		                 test_error_bodies, test_serialize, test_header_overflow_dropped,
		                 NULL };
	Suite *s = suite_create("response");
	TCase *tc = pp_test_case(s, "format", NULL, NULL, tests);

	tcase_add_loop_test(tc, test_throttled_rounding, 0, (int)(sizeof(rounding) / sizeof(rounding[0])));
	return pp_test_run(s);
}
