/* test_options.c - unit tests of cli/options.c: defaults, every option,
 * the key from the environment, and the usage errors (exit 2). */
#include <check.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "options.h"
#include "run.h"

static int
parse(const char *env, struct pp_opts *o, char *err, ...)
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
	ck_assert_str_eq(o.urls[0], "http://127.0.0.1:8080/ping");
	ck_assert_int_eq(o.interval_ms, 1000);
	ck_assert_int_eq(o.count, 0);
	ck_assert_ptr_null(o.key);

	ck_assert_int_eq(parse("envkey", &o, err, "--endpoint", "example.test", "--port", "81",
	                       "--interval", "0.25", "--count", "6", "--json", "-q", NULL),
	                 0);
	ck_assert_str_eq(o.urls[0], "http://example.test:81/ping");
	ck_assert_int_eq(o.interval_ms, 250);
	ck_assert_int_eq(o.count, 6);
	ck_assert(o.json && o.quiet && o.key_from_env);
	ck_assert_str_eq(o.key, "envkey");

	ck_assert_int_eq(parse("envkey", &o, err, "--key", "k1", "--url", "https://h:8443", NULL), 0);
	ck_assert_str_eq(o.key, "k1");
	ck_assert(!o.key_from_env);
	ck_assert_str_eq(o.urls[0], "https://h:8443/ping");
	ck_assert_int_eq(parse(NULL, &o, err, "--url", "http://h/x/ping", NULL), 0);
	ck_assert_str_eq(o.urls[0], "http://h/x/ping");
	ck_assert_int_eq(parse(NULL, &o, err, "-e", "::1", "-p", "9", NULL), 0);
	ck_assert_str_eq(o.urls[0], "http://[::1]:9/ping");

	ck_assert_int_eq(parse(NULL, &o, err, "--help", NULL), 0);
	ck_assert_int_eq(o.action, PP_ACT_HELP);
	ck_assert_int_eq(parse(NULL, &o, err, "--version", NULL), 0);
	ck_assert_int_eq(o.action, PP_ACT_VERSION);

	const char *bad[][3] = {
		{ "--port", "0" },
		{ "--port", "65536" },
		{ "--port", "8o" },
		{ "--interval", "0" },
		{ "--interval", "-1" },
		{ "--interval", "nan" },
		{ "--interval", "1s" },
		{ "--count", "0" },
		{ "--count", "x" },
		{ "--timeout", "" },
		{ "--key", "" },
		{ "--key", "a\nb" },
		{ "--url", "nohost" },
		{ "--bogus" },
		{ "--count" },
		{ "extra" },
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ck_assert_msg(parse(NULL, &o, err, bad[k][0], bad[k][1], NULL) == -1,
		              "accepted %s %s", bad[k][0], bad[k][1] ? bad[k][1] : "");
		ck_assert(err[0] != '\0');
	}
	ck_assert_int_eq(parse(NULL, &o, err, "--url", "http://h", "--port", "1", NULL), -1);
}
END_TEST

/* What no request can fix is a usage error at once (exit 2), not a retry
 * loop: another scheme, a host that is no host. */
START_TEST(unusable_urls)
{
	const char *bad[][2] = {
		{ "--url", "ftp://127.0.0.1/ping" },
		{ "--url", "file:///etc/passwd" },
		{ "--url", "gopher://h" },
		{ "--endpoint", "a b" },
		{ "--endpoint", "h/x" },
		{ "--endpoint", "user@h" },
		{ "--endpoint", "h?x" },
		{ "--endpoint", "h\tx" },
	};
	struct pp_opts o;
	char err[256];

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ck_assert_msg(parse(NULL, &o, err, bad[k][0], bad[k][1], NULL) == -1, "accepted %s '%s'",
		              bad[k][0], bad[k][1]);
		ck_assert(err[0] != '\0');
	}
	/* The scheme in any case; names, IPv4, IPv6 with or without brackets. */
	ck_assert_int_eq(parse(NULL, &o, err, "--url", "HTTPS://h", NULL), 0);
	ck_assert_str_eq(o.urls[0], "HTTPS://h/ping");
	ck_assert_int_eq(parse(NULL, &o, err, "-e", "api-1.example_test", NULL), 0);
	ck_assert_int_eq(parse(NULL, &o, err, "-e", "[fe80::1%25lo]", "-p", "8", NULL), 0);
	ck_assert_str_eq(o.urls[0], "http://[fe80::1%25lo]:8/ping");
}
END_TEST

/* Several --urls: kept in order for the round-robin; capped; never mixed
 * with --endpoint/--port; a bad one is a usage error naming it. */
START_TEST(several_urls)
{
	struct pp_opts o;
	char err[256];

	ck_assert_int_eq(parse(NULL, &o, err, "--url", "http://127.0.0.1:8080", "-u",
	                       "http://127.0.0.1:8082/x/ping", NULL),
	                 0);
	ck_assert_int_eq(o.nurls, 2);
	ck_assert_str_eq(o.urls[0], "http://127.0.0.1:8080/ping");
	ck_assert_str_eq(o.urls[1], "http://127.0.0.1:8082/x/ping");
	ck_assert_int_eq(parse(NULL, &o, err, "--url", "http://a", NULL), 0);
	ck_assert_int_eq(o.nurls, 1);
	ck_assert_int_eq(parse(NULL, &o, err, NULL), 0);
	ck_assert_int_eq(o.nurls, 1);

	ck_assert_int_eq(parse(NULL, &o, err, "--url", "http://a", "--url", "ftp://b", NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "ftp://b"));
	ck_assert_int_eq(parse(NULL, &o, err, "--url", "http://a", "--port", "81", "--url", "http://b",
	                       NULL),
	                 -1);
	ck_assert_int_eq(parse(NULL, &o, err, "-u", "http://1", "-u", "http://2", "-u", "http://3", "-u",
	                       "http://4", "-u", "http://5", "-u", "http://6", "-u", "http://7", NULL),
	                 0);
	ck_assert_int_eq(o.nurls, 7);
	ck_assert_str_eq(o.urls[6], "http://7/ping");
}
END_TEST

START_TEST(too_many_urls)
{
	struct pp_opts o;
	char *argv[2 + 2 * (PP_URLS_MAX + 1)] = { "pingpong" };
	char err[256];
	int argc = 1;

	for (int i = 0; i <= PP_URLS_MAX; i++) {
		argv[argc++] = "--url";
		argv[argc++] = "http://h";
	}
	ck_assert_int_eq(pp_opts_parse(argc, argv, NULL, &o, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "at most"));
	ck_assert_int_eq(pp_opts_parse(argc - 2, argv, NULL, &o, err, sizeof(err)), 0);
	ck_assert_int_eq(o.nurls, PP_URLS_MAX);
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { options, unusable_urls, several_urls, too_many_urls, NULL };
	return pp_test_main("cli-options", "options", tests);
}
