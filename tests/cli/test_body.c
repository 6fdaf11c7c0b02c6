/* test_body.c - unit tests of cli/body.c: the server's JSON answers
 * classified, and the strings copied safe to print and to re-encode. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "body.h"
#include "run.h"

static void
parse_body(const char *s, struct pp_body *b)
{
	pp_body_parse(s, strlen(s), b);
}

START_TEST(bodies)
{
	struct pp_body b;

	parse_body("{\"response\":\"pong\"}", &b);
	ck_assert_int_eq(b.kind, PP_BODY_PONG);

	parse_body("{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"global\","
	           "\"retry_after\":0.25,\"throttle_age\":3}",
	           &b);
	ck_assert_int_eq(b.kind, PP_BODY_THROTTLE);
	ck_assert_str_eq(b.limit, "global");
	ck_assert_int_eq(b.retry_ms, 250);

	/* The original service: a message and nothing else. */
	parse_body("{\"message\":\"You have exceeded your request-limits.\"}", &b);
	ck_assert_int_eq(b.kind, PP_BODY_THROTTLE);
	ck_assert_int_eq(b.retry_ms, -1);
	ck_assert_str_eq(b.limit, "");

	parse_body("{\"error\":\"missing_secret_key\",\"message\":\"x-secret-key\\n is required\"}", &b);
	ck_assert_int_eq(b.kind, PP_BODY_ERROR);
	ck_assert_str_eq(b.error, "missing_secret_key");
	ck_assert_str_eq(b.message, "x-secret-key? is required"); /* control byte replaced */

	parse_body("<html><body>502 Bad Gateway</body></html>", &b);
	ck_assert_int_eq(b.kind, PP_BODY_NOT_JSON);
	parse_body("", &b);
	ck_assert_int_eq(b.kind, PP_BODY_NOT_JSON);
	pp_body_parse(NULL, 0, &b);
	ck_assert_int_eq(b.kind, PP_BODY_NOT_JSON);
	parse_body("[1,2]", &b);
	ck_assert_int_eq(b.kind, PP_BODY_OTHER);
	parse_body("{\"response\":\"ping\"}", &b);
	ck_assert_int_eq(b.kind, PP_BODY_OTHER);
	parse_body("{\"retry_after\":-3,\"message\":\"m\"}", &b);
	ck_assert_int_eq(b.retry_ms, -1);
	parse_body("{\"retry_after\":1e300,\"message\":\"m\"}", &b);
	ck_assert_int_eq(b.retry_ms, -1);
	parse_body("{\"response\":\"pong\",\"response\":\"pong\"}", &b); /* duplicate keys */
	ck_assert_int_eq(b.kind, PP_BODY_NOT_JSON);
}
END_TEST

/* True when s is well-formed UTF-8 (what jansson's json_string() takes). */
static int
utf8_valid(const char *s)
{
	json_t *j = json_string(s);
	int ok = j != NULL;

	json_decref(j);
	return ok;
}

/* A field cut to fit stays UTF-8: --json used to lose "message" and
 * "limit" when the byte cut fell inside a character. */
START_TEST(cut_on_a_character_boundary)
{
	struct pp_body b;
	char json[1024], text[600];
	size_t cap = sizeof(b.message);

	/* "é" (2 bytes) and "€" (3 bytes) straddling every possible cut. */
	for (size_t pad = cap - 6; pad < cap + 2; pad++) {
		for (int wide = 2; wide <= 3; wide++) {
			memset(text, 'x', pad);
			snprintf(text + pad, sizeof(text) - pad, "%s", wide == 2 ? "\\u00e9\\u00e9\\u00e9" : "\\u20ac\\u20ac\\u20ac");
			snprintf(json, sizeof(json), "{\"message\":\"%s\",\"limit\":\"%.*s\\u00e9\\u00e9\"}", text,
			         (int)(sizeof(b.limit) - 2), "lllllllllllllllllllllllllllllllllllllll");
			parse_body(json, &b);
			ck_assert_int_eq(b.kind, PP_BODY_THROTTLE);
			ck_assert_msg(utf8_valid(b.message), "message cut inside a character (pad %zu)", pad);
			ck_assert_msg(utf8_valid(b.limit), "limit cut inside a character");
			ck_assert_uint_ge(strlen(b.message), cap - 4); /* cut as late as fits */
			ck_assert_uint_lt(strlen(b.message), cap);
		}
	}
	parse_body("{\"message\":\"caf\\u00e9 \\u20ac\"}", &b);
	ck_assert_str_eq(b.message, "caf\303\251 \342\202\254"); /* whole characters kept */
}
END_TEST

/* C1 controls (U+0080..U+009F; U+009B is a CSI a terminal acts on) are
 * replaced like C0 ones; the characters right after them are not. */
START_TEST(c1_controls_replaced)
{
	struct pp_body b;

	parse_body("{\"message\":\"a\\u009b31mb\\u0080c\\u009fd\\u00a0e\\u001bf\\u007fg\"}", &b);
	ck_assert_str_eq(b.message, "a?31mb?c?d\302\240e?f?g");
	parse_body("{\"error\":\"x\\u0085y\",\"limit\":\"\\u009bz\"}", &b);
	ck_assert_str_eq(b.error, "x?y");
	ck_assert_str_eq(b.limit, "?z");
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { bodies, cut_on_a_character_boundary, c1_controls_replaced, NULL };
	return pp_test_main("cli-body", "body", tests);
}
