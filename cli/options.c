/* options.c - getopt_long for pingpong(1): the original tool's --endpoint
 * and --port, or --url; every number checked with strtol/strtod. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char pp_opts_usage[] =
	"Usage: pingpong [OPTION]...\n"
	"Send a ping once per interval to a pingpong server and pause, exactly as\n"
	"long as the server asks, whenever a rate limit is reached.\n"
	"\n"
	"  -e, --endpoint HOST     server host name or address (default 127.0.0.1)\n"
	"  -p, --port PORT         server port (default 8080)\n"
	"  -u, --url URL           full URL instead of --endpoint/--port; give it\n"
	"                          again (up to 8) to alternate between hosts\n"
	"                          (http:// or https://; \"/ping\" is added when\n"
	"                          the URL has no path)\n"
	"  -k, --key KEY           the x-secret-key to send (default: $PINGPONG_KEY,\n"
	"                          else a random key)\n"
	"  -i, --interval SECONDS  time between pings, fractions allowed (default 1)\n"
	"  -n, --count N           stop after N pongs (default: run until stopped)\n"
	"  -t, --timeout SECONDS   give up on one request after this long (default 5)\n"
	"  -q, --quiet             print only errors and the final summary\n"
	"  -j, --json              print one JSON object per event, for scripts\n"
	"  -V, --version           print the version and exit\n"
	"  -h, --help              print this help and exit\n"
	"\n"
	"Exit status: 0 after --count pongs, 2 usage error, 3 the server rejects\n"
	"the request itself (4xx other than 429), 4 standard output cannot be\n"
	"written (closed pipe, full disk), 1 other failure, 130/143 when stopped\n"
	"by SIGINT/SIGTERM. See pingpong(1).\n";

static int fail(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -1;
}

/* Seconds (fractions allowed) to milliseconds, 1 ms .. 1 day. */
static int
parse_seconds(const char *s, int64_t *out_ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !isfinite(v) || v < 0.001 || v > 86400)
		return -1;
	*out_ms = (int64_t)llround(v * 1000.0);
	return 0;
}

static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A host for --endpoint: a name, an IPv4 address, or an IPv6 address
 * (bracketed or not, with a %zone). Anything else (a space, a '/', '@'...)
 * would make another URL than the one asked for, or none. */
static bool
host_ok(const char *h)
{
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && !strchr("-._:[]%", *h))
			return false;
	return true;
}

/* http:// or https://, in any case. */
static bool
scheme_ok(const char *url, size_t len)
{
	return (len == 4 && strncasecmp(url, "http", 4) == 0) ||
	       (len == 5 && strncasecmp(url, "https", 5) == 0);
}

static int
build_url(char *out, size_t outcap, const char *url, const char *host, long port,
          char *err, size_t errcap)
{
	int n;

	if (url) {
		const char *scheme = strstr(url, "://");
		if (!scheme || scheme == url)
			return fail(err, errcap, "--url needs a scheme, e.g. http://%s", url);
		if (!scheme_ok(url, (size_t)(scheme - url)))
			return fail(err, errcap, "--url '%s': the scheme must be http or https", url);
		/* No path after the authority: the API lives at /ping. */
		const char *path = strchr(scheme + 3, '/');
		n = snprintf(out, outcap, "%s%s", url, path ? "" : "/ping");
	} else if (!host_ok(host)) {
		return fail(err, errcap, "bad --endpoint '%s' (a host name or address)", host);
	} else if (strchr(host, ':') && host[0] != '[') {
		n = snprintf(out, outcap, "http://[%s]:%ld/ping", host, port);
	} else {
		n = snprintf(out, outcap, "http://%s:%ld/ping", host, port);
	}
	if (n < 0 || (size_t)n >= outcap)
		return fail(err, errcap, "%s", "URL too long");
	return 0;
}

/* What the options name before the URL is built from them. */
struct where {
	const char *url[PP_URLS_MAX], *host;
	int nurl;
	long port;
	bool port_set;
};

/* One option c with its value optarg. Returns 0, 1 when parsing ends here
 * (--help, --version), or -1 with the reason in err. */
static int
take_option(struct pp_opts *o, struct where *w, int c, char *arg, const char *name,
            char *err, size_t errcap)
{
	switch (c) {
	case 'e':
		if (!arg[0])
			return fail(err, errcap, "%s", "--endpoint needs a host");
		w->host = arg;
		return 0;
	case 'p':
		if (parse_long(arg, 1, 65535, &w->port))
			return fail(err, errcap, "bad --port '%s' (1-65535)", arg);
		w->port_set = true;
		return 0;
	case 'u':
		if (w->nurl == PP_URLS_MAX)
			return fail(err, errcap, "at most %d --url options", PP_URLS_MAX);
		w->url[w->nurl++] = arg;
		return 0;
	case 'k': o->key = arg; return 0;
	case 'i':
		if (parse_seconds(arg, &o->interval_ms))
			return fail(err, errcap, "bad --interval '%s' (seconds, 0.001-86400)", arg);
		return 0;
	case 'n':
		if (parse_long(arg, 1, 1000000000L, &o->count))
			return fail(err, errcap, "bad --count '%s' (a whole number >= 1)", arg);
		return 0;
	case 't':
		if (parse_seconds(arg, &o->timeout_ms))
			return fail(err, errcap, "bad --timeout '%s' (seconds, 0.001-86400)", arg);
		return 0;
	case 'q': o->quiet = true; return 0;
	case 'j': o->json = true; return 0;
	case 'V': o->action = PP_ACT_VERSION; return 1;
	case 'h': o->action = PP_ACT_HELP; return 1;
	case ':': return fail(err, errcap, "option '%s' needs a value", name);
	default: return fail(err, errcap, "unknown option '%s'", name);
	}
}

/* The key: --key, else PINGPONG_KEY; never empty, no control bytes. */
static int
take_key(struct pp_opts *o, const char *env_key, char *err, size_t errcap)
{
	if (!o->key && env_key && env_key[0]) {
		o->key = env_key;
		o->key_from_env = true;
	}
	if (o->key && !o->key[0])
		return fail(err, errcap, "%s", "the key must not be empty");
	for (const char *k = o->key; k && *k; k++)
		if ((unsigned char)*k < 0x20 || *k == 0x7f)
			return fail(err, errcap, "%s", "the key must not contain control characters");
	return 0;
}

int
pp_opts_parse(int argc, char **argv, const char *env_key, struct pp_opts *o,
              char *err, size_t errcap)
{
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "port", required_argument, NULL, 'p' },
		{ "url", required_argument, NULL, 'u' },
		{ "key", required_argument, NULL, 'k' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct where w = { .port = 8080 };
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->interval_ms = 1000;
	o->timeout_ms = 5000;
	err[0] = '\0';
	optind = 0; /* glibc: full re-initialisation, so tests can parse twice */
	opterr = 0;

	while ((c = getopt_long(argc, argv, ":e:p:u:k:i:n:t:qjVh", longopts, NULL)) != -1) {
		rc = take_option(o, &w, c, optarg, argv[optind - 1], err, errcap);
		if (rc)
			return rc < 0 ? -1 : 0;
	}
	if (optind < argc)
		return fail(err, errcap, "unexpected argument '%s'", argv[optind]);
	if (w.nurl && (w.host || w.port_set))
		return fail(err, errcap, "%s", "--url cannot be combined with --endpoint/--port");
	if (take_key(o, env_key, err, errcap))
		return -1;
	if (w.nurl == 0) {
		o->nurls = 1;
		return build_url(o->urls[0], sizeof(o->urls[0]), NULL, w.host ? w.host : "127.0.0.1",
		                 w.port, err, errcap);
	}
	for (o->nurls = 0; o->nurls < w.nurl; o->nurls++)
		if (build_url(o->urls[o->nurls], sizeof(o->urls[0]), w.url[o->nurls], NULL, 0, err,
		              errcap))
			return -1;
	return 0;
}
