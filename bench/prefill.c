/* prefill.c - bench only: writes N live keys ("k0".."k<N-1>") into a store
 * through pp_store_hit, so `make bench` can measure a store holding 1M keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "store.h"

static int
parse_count(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 100000000UL)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *conf = NULL;
	unsigned long n = 0;
	int c;

	while ((c = getopt(argc, argv, "c:n:")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'n':
			if (parse_count(optarg, &n)) {
				fprintf(stderr, "prefill: bad count %s\n", optarg);
				return 2;
			}
			break;
		default: goto usage;
		}
	}
	if (!conf || !n)
		goto usage;

	struct pp_config cfg;
	char err[256];
	pp_config_defaults(&cfg);
	if (pp_config_load_file(&cfg, conf, false, err, sizeof(err))) {
		fprintf(stderr, "prefill: %s\n", err);
		return 1;
	}
	struct pp_store ls;
	int rc = pp_store_open(&ls, &cfg);
	if (rc) {
		fprintf(stderr, "prefill: cannot open store: %s\n", pp_store_strerror(rc));
		return 1;
	}
	/* The keys get the configured per-key policy; the global window gets a
	 * 1 ms one, so a million admissions in a few seconds do not grow it to
	 * a bucket per millisecond (the server's own window drops these soon). */
	struct pp_policy p = cfg.policy;
	p.global.window_ms = 1;
	p.global.limit = UINT32_MAX;

	pp_clock_init();
	for (unsigned long i = 0; i < n; i++) {
		char key[32];
		struct pp_decision d;
		int len = snprintf(key, sizeof(key), "k%lu", i);
		rc = pp_store_hit(&ls, key, (size_t)len, &p, &d);
		if (rc || !d.admit) {
			fprintf(stderr, "prefill: key %lu: %s\n", i,
			        rc ? pp_store_strerror(rc) : "refused (limits too low?)");
			pp_store_close(&ls);
			return 1;
		}
	}
	pp_store_close(&ls);
	printf("prefill: %lu keys written\n", n);
	return 0;

usage:
	fprintf(stderr, "usage: prefill -c CONFIG -n KEYS\n");
	return 2;
}
