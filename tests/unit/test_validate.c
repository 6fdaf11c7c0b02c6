/* test_validate.c - runs every folder of tests/cases through pp_validate()
 * directly (no server) and compares route, status, error code and Allow. */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "run.h"
#include "validate.h"

#ifndef PP_CASES_DIR
#define PP_CASES_DIR "tests/cases"
#endif

static char cases_dir[1024];
static struct dirent **names;
static int ncases;

/* A whole file into a malloc'd buffer (NUL-terminated for convenience, len
 * excludes it). Returns NULL if the file does not exist. */
static char *
slurp(const char *dir, const char *file, size_t *len)
{
	char path[2048];
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = (n + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
chomp(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Finds header name in the headers file text; returns a malloc'd value with
 * surrounding whitespace stripped, or NULL if absent. */
static char *
header(const char *text, const char *name)
{
	const char *line = text;
	size_t nlen = strlen(name);

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t llen = end ? (size_t)(end - line) : strlen(line);
		if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen + 1, *e = line + llen;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
				e--;
			char *out = malloc((size_t)(e - v) + 1);
			ck_assert_ptr_nonnull(out);
			memcpy(out, v, (size_t)(e - v));
			out[e - v] = '\0';
			return out;
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

static const char *
route_name(enum pp_route r)
{
	switch (r) {
	case PP_ROUTE_ERROR: return "error";
	case PP_ROUTE_PING: return "ping";
	case PP_ROUTE_HEALTHZ: return "healthz";
	case PP_ROUTE_READYZ: return "readyz";
	case PP_ROUTE_METRICS: return "metrics";
	}
	return "?";
}

START_TEST(test_case)
{
	const char *name = names[_i]->d_name;
	char dir[2048], *method, *path, *headers, *body, *expect, *q;
	char *ct = NULL, *key = NULL, *body_copy = NULL;
	size_t len, body_len = 0;
	long want_status = -1;
	char want_error[64] = "", want_route[64] = "", want_allow[64] = "";
	struct pp_http_req req;
	struct pp_verdict v;

	snprintf(dir, sizeof(dir), "%s/%s", cases_dir, name);
	method = slurp(dir, "method", &len);
	path = slurp(dir, "path", &len);
	expect = slurp(dir, "expect", &len);
	ck_assert_msg(method && path && expect, "%s: needs method, path and expect", name);
	chomp(method);
	chomp(path);
	q = strchr(path, '?');
	if (q)
		*q = '\0';
	headers = slurp(dir, "headers", &len);
	if (headers) {
		ct = header(headers, "Content-Type");
		key = header(headers, "x-secret-key");
	}
	/* CGI params cannot tell an empty header from an absent one (nginx
	 * sends CONTENT_TYPE "" for both); fcgi.c passes both as NULL. */
	if (ct && !*ct) {
		free(ct);
		ct = NULL;
	}
	if (key && !*key) {
		free(key);
		key = NULL;
	}
	body = slurp(dir, "body", &body_len);

	/* Expectations. */
	for (char *line = strtok(expect, "\n"); line; line = strtok(NULL, "\n")) {
		char word[32], arg[64];
		if (sscanf(line, "%31s %63s", word, arg) != 2)
			continue;
		if (strcmp(word, "status") == 0) {
			char *end;
			want_status = strtol(arg, &end, 10);
			ck_assert_msg(*end == '\0', "%s: bad status line", name);
		} else if (strcmp(word, "error") == 0) {
			snprintf(want_error, sizeof(want_error), "%s", arg);
		} else if (strcmp(word, "route") == 0) {
			snprintf(want_route, sizeof(want_route), "%s", arg);
		} else if (strcmp(word, "allow") == 0) {
			snprintf(want_allow, sizeof(want_allow), "%s", arg);
		}
	}
	ck_assert_msg(want_route[0] || want_error[0], "%s: expect names no route or error", name);

	/* The server reads at most PP_BODY_MAX bytes and flags the rest: give
	 * pp_validate exactly that, in a buffer of that size (ASan checks). */
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.content_type = ct;
	req.key = key;
	req.key_len = key ? strlen(key) : 0;
	if (body) {
		size_t n = body_len > PP_BODY_MAX ? PP_BODY_MAX : body_len;
		body_copy = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(body_copy);
		memcpy(body_copy, body, n);
		req.body = body_copy;
		req.body_len = n;
		req.body_over = body_len > PP_BODY_MAX;
	}

	memset(&v, 0xa5, sizeof(v));
	pp_validate(&req, &v);

	if (want_error[0]) {
		ck_assert_msg(v.route == PP_ROUTE_ERROR, "%s: route %s, want error %ld %s",
		              name, route_name(v.route), want_status, want_error);
		ck_assert_msg(v.status == want_status, "%s: status %d, want %ld (error %s, want %s)",
		              name, v.status, want_status, v.error ? v.error : "(null)", want_error);
		ck_assert_msg(v.error && strcmp(v.error, want_error) == 0, "%s: error %s, want %s",
		              name, v.error ? v.error : "(null)", want_error);
		ck_assert_msg(v.message && v.message[0], "%s: error without a message", name);
		if (v.status == 415)
			ck_assert_msg(strstr(v.message, "application/json"),
			              "%s: 415 message does not name application/json: %s", name, v.message);
		if (want_allow[0])
			ck_assert_msg(v.allow && strcmp(v.allow, want_allow) == 0, "%s: Allow %s, want %s",
			              name, v.allow ? v.allow : "(null)", want_allow);
		else
			ck_assert_msg(v.allow == NULL, "%s: Allow %s on a non-405", name, v.allow);
	} else {
		ck_assert_msg(strcmp(route_name(v.route), want_route) == 0,
		              "%s: route %s (status %d, error %s), want %s", name, route_name(v.route),
		              v.route == PP_ROUTE_ERROR ? v.status : 0,
		              v.route == PP_ROUTE_ERROR && v.error ? v.error : "-", want_route);
	}

	free(method);
	free(path);
	free(headers);
	free(ct);
	free(key);
	free(body);
	free(body_copy);
	free(expect);
}
END_TEST

/* Content types on their own, including what the folders cannot say (NULL). */
START_TEST(test_content_type)
{
	ck_assert(pp_validate_content_type("application/json"));
	ck_assert(pp_validate_content_type("APPLICATION/JSON"));
	ck_assert(pp_validate_content_type("application/json;charset=utf-8"));
	ck_assert(pp_validate_content_type("application/json; charset=\"utf-8\""));
	ck_assert(!pp_validate_content_type("application/jsonx"));
	ck_assert(!pp_validate_content_type("application/json-seq"));
	ck_assert(!pp_validate_content_type("application/problem+json"));
	ck_assert(!pp_validate_content_type("text/json"));
	ck_assert(!pp_validate_content_type("text/plain"));
	ck_assert(!pp_validate_content_type("application"));
}
END_TEST

/* req is answered with the error status and name, and nothing else. */
static void
expect_refused(const struct pp_http_req *req, int status, const char *error)
{
	struct pp_verdict v;

	pp_validate(req, &v);
	ck_assert_int_eq(v.route, PP_ROUTE_ERROR);
	ck_assert_int_eq(v.status, status);
	ck_assert_str_eq(v.error, error);
}

/* body_over with a short body still means 413: the server may have only
 * seen CONTENT_LENGTH. */
START_TEST(test_announced_over)
{
	struct pp_http_req req = {
		.method = "POST",
		.path = "/ping",
		.content_type = "application/json",
		.key = "k",
		.key_len = 1,
		.body = NULL,
		.body_len = 0,
		.body_over = true,
	};

	expect_refused(&req, 413, "payload_too_large");
}
END_TEST

/* key_len counts, not the NUL: a key with an embedded NUL is a control byte. */
START_TEST(test_key_embedded_nul)
{
	static const char key[] = "ab\0cd";
	struct pp_http_req req = {
		.method = "POST",
		.path = "/ping",
		.content_type = "application/json",
		.key = key,
		.key_len = 5,
		.body = "{\"request\":\"ping\"}",
		.body_len = 18,
	};

	expect_refused(&req, 400, "invalid_secret_key");
}
END_TEST

static int
is_case(const struct dirent *d)
{
	return d->d_name[0] != '.' && strcmp(d->d_name, "README") != 0;
}

int
main(void)
{
	const char *env = getenv("PP_SRCDIR");
	const TTest *tests[] = { test_content_type, test_announced_over, test_key_embedded_nul,
		                 NULL };
	Suite *s = suite_create("validate");

	if (env && *env)
		snprintf(cases_dir, sizeof(cases_dir), "%s/tests/cases", env);
	else
		snprintf(cases_dir, sizeof(cases_dir), "%s", PP_CASES_DIR);
	ncases = scandir(cases_dir, &names, is_case, alphasort);
	if (ncases < 50) {
		fprintf(stderr, "test_validate: %d cases in %s, expected at least 50\n", ncases, cases_dir);
		return 1;
	}
	printf("# %d cases from %s\n", ncases, cases_dir);

	TCase *tc = pp_test_case(s, "cases", NULL, NULL, tests);
	tcase_add_loop_test(tc, test_case, 0, ncases);
	int rc = pp_test_run(s);
	for (int i = 0; i < ncases; i++)
		free(names[i]);
	free(names);
	return rc;
}
