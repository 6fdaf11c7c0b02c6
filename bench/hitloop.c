/* hitloop.c - bench only: calls pp_store_hit in a loop on a synthetic clock,
 * for a callgrind instruction count per decision (stable on noisy machines). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "store.h"

static int
parse_ul(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The synthetic clock the store reads: the loop advances it. */
static int64_t synthetic_ms;
static int64_t
synthetic_clock(void)
{
	return synthetic_ms;
}

/* The measured loop: callgrind collects only inside pp_store_hit, so set-up
 * and key formatting stay out of the count. */
static int
loop(struct pp_limiter_store *ls, const struct pp_policy *p, unsigned long n,
     unsigned long per_ms, int distinct, unsigned long *admitted)
{
	int64_t t0 = 1700000000000LL; /* a fixed "now": the run is reproducible */
	for (unsigned long i = 0; i < n; i++) {
		char key[32];
		struct pp_decision d;
		int len = distinct ? snprintf(key, sizeof(key), "d%lu", i)
		                   : snprintf(key, sizeof(key), "one");
		synthetic_ms = t0 + (int64_t)(i / per_ms);
		int rc = pp_store_hit(ls, key, (size_t)len, p, &d);
		if (rc) {
			fprintf(stderr, "hitloop: hit %lu: %s\n", i, pp_store_strerror(rc));
			return -1;
		}
		*admitted += d.admit;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *conf = NULL;
	unsigned long n = 10000, per_ms = 10;
	int distinct = 0, c;

	while ((c = getopt(argc, argv, "c:n:r:d")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'n': if (parse_ul(optarg, 100000000UL, &n)) goto usage; break;
		case 'r': if (parse_ul(optarg, 1000000UL, &per_ms)) goto usage; break;
		case 'd': distinct = 1; break;
		default: goto usage;
		}
	}
	if (!conf)
		goto usage;

	struct pp_config cfg;
	char err[256];
	pp_config_defaults(&cfg);
	if (pp_config_load_file(&cfg, conf, false, err, sizeof(err))) {
		fprintf(stderr, "hitloop: %s\n", err);
		return 1;
	}
	struct pp_limiter_store ls;
	int rc = pp_store_open(&ls, &cfg);
	if (rc) {
		fprintf(stderr, "hitloop: cannot open store: %s\n", pp_store_strerror(rc));
		return 1;
	}
	ls.clock = synthetic_clock;
	unsigned long admitted = 0;
	rc = loop(&ls, &cfg.policy, n, per_ms, distinct, &admitted);
	pp_store_close(&ls);
	if (rc)
		return 1;
	printf("hitloop: %lu hits, %lu admitted\n", n, admitted);
	return 0;

usage:
	fprintf(stderr, "usage: hitloop -c CONFIG [-n HITS] [-r HITS_PER_MS] [-d]\n"
	                "  -d  a distinct key per hit (else one key)\n");
	return 2;
}
