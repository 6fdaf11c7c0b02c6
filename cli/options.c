/* options.c - getopt_long for pingpong(1): the original tool's --endpoint
 * and --port, or --url; every number checked with strtol/strtod. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char pp_opts_usage[] =
	"Usage: pingpong [OPTION]...\n"
	"Send a ping once per interval to a pingpong server and pause, exactly as\n"
	"long as the server asks, whenever a rate limit is reached.\n"
	"\n"
	"  -e, --endpoint HOST     server host name or address (default 127.0.0.1)\n"
	"  -p, --port PORT         server port (default 8080)\n"
	"  -u, --url URL           full URL instead of --endpoint/--port\n"
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
	"the request itself (4xx other than 429), 1 other failure, 130/143 when\n"
	"stopped by SIGINT/SIGTERM. See pingpong(1).\n";

static int fail(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -1;
}

/* Seconds (fractions allowed) to milliseconds, 1 ms .. 1 day. */
static int parse_seconds(const char *s, int64_t *out_ms)
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

static int parse_long(const char *s, long lo, long hi, long *out)
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

static int build_url(struct pp_opts *o, const char *url, const char *host, long port,
                     char *err, size_t errcap)
{
	int n;

	if (url) {
		const char *scheme = strstr(url, "://");
		if (!scheme || scheme == url)
			return fail(err, errcap, "--url needs a scheme, e.g. http://%s", url);
		/* No path after the authority: the API lives at /ping. */
		const char *path = strchr(scheme + 3, '/');
		n = snprintf(o->url, sizeof(o->url), "%s%s", url, path ? "" : "/ping");
	} else if (strchr(host, ':') && host[0] != '[') {
		n = snprintf(o->url, sizeof(o->url), "http://[%s]:%ld/ping", host, port);
	} else {
		n = snprintf(o->url, sizeof(o->url), "http://%s:%ld/ping", host, port);
	}
	if (n < 0 || (size_t)n >= sizeof(o->url))
		return fail(err, errcap, "%s", "URL too long");
	return 0;
}

int pp_opts_parse(int argc, char **argv, const char *env_key, struct pp_opts *o,
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
	const char *url = NULL, *host = NULL;
	long port = 8080;
	bool port_set = false;
	int c;

	memset(o, 0, sizeof(*o));
	o->interval_ms = 1000;
	o->timeout_ms = 5000;
	err[0] = '\0';
	optind = 0; /* glibc: full re-initialisation, so tests can parse twice */
	opterr = 0;

	while ((c = getopt_long(argc, argv, ":e:p:u:k:i:n:t:qjVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (!optarg[0])
				return fail(err, errcap, "%s", "--endpoint needs a host");
			host = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &port))
				return fail(err, errcap, "bad --port '%s' (1-65535)", optarg);
			port_set = true;
			break;
		case 'u':
			url = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'i':
			if (parse_seconds(optarg, &o->interval_ms))
				return fail(err, errcap, "bad --interval '%s' (seconds, 0.001-86400)", optarg);
			break;
		case 'n':
			if (parse_long(optarg, 1, 1000000000L, &o->count))
				return fail(err, errcap, "bad --count '%s' (a whole number >= 1)", optarg);
			break;
		case 't':
			if (parse_seconds(optarg, &o->timeout_ms))
				return fail(err, errcap, "bad --timeout '%s' (seconds, 0.001-86400)", optarg);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'V':
			o->action = PP_ACT_VERSION;
			return 0;
		case 'h':
			o->action = PP_ACT_HELP;
			return 0;
		case ':':
			return fail(err, errcap, "option '%s' needs a value", argv[optind - 1]);
		default:
			return fail(err, errcap, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, errcap, "unexpected argument '%s'", argv[optind]);
	if (url && (host || port_set))
		return fail(err, errcap, "%s", "--url cannot be combined with --endpoint/--port");
	if (!o->key && env_key && env_key[0]) {
		o->key = env_key;
		o->key_from_env = true;
	}
	if (o->key && !o->key[0])
		return fail(err, errcap, "%s", "the key must not be empty");
	for (const char *k = o->key; k && *k; k++)
		if ((unsigned char)*k < 0x20 || *k == 0x7f)
			return fail(err, errcap, "%s", "the key must not contain control characters");
	return build_url(o, url, host ? host : "127.0.0.1", port, err, errcap);
}
