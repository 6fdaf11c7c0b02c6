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

/* callgrind collects only inside this (--toggle-collect=measured_hit), so
 * set-up, key formatting and the warm-up stay out of the count. */
__attribute__((noinline)) int measured_hit(struct pp_store *ls, const char *key,
                                           size_t len, const struct pp_policy *p,
                                           struct pp_decision *d);
__attribute__((noinline)) int
measured_hit(struct pp_store *ls, const char *key, size_t len,
             const struct pp_policy *p, struct pp_decision *d)
{
	return pp_store_hit(ls, key, len, p, d);
}

/* Hits from..to-1 on the synthetic clock, per_ms of them per millisecond. */
static int
loop(struct pp_store *ls, const struct pp_policy *p, unsigned long from,
     unsigned long to, unsigned long per_ms, int distinct, unsigned long nkeys,
     int measured, unsigned long *admitted)
{
	int64_t t0 = 1700000000000LL; /* a fixed "now": the run is reproducible */
	for (unsigned long i = from; i < to; i++) {
		char key[32];
		struct pp_decision d;
		int len;
		if (nkeys) /* a random one of bench/prefill's keys "k0".."k<N-1>" */
			len = snprintf(key, sizeof(key), "k%lu", (unsigned long)random() % nkeys);
		else if (distinct)
			len = snprintf(key, sizeof(key), "d%lu", i);
		else
			len = snprintf(key, sizeof(key), "one");
		synthetic_ms = t0 + (int64_t)(i / per_ms);
		int rc = measured ? measured_hit(ls, key, (size_t)len, p, &d) : pp_store_hit(ls, key, (size_t)len, p, &d);
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
	unsigned long n = 10000, per_ms = 10, warm = 0, nkeys = 0;
	int distinct = 0, c;

	while ((c = getopt(argc, argv, "c:n:r:w:k:d")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'n':
			if (parse_ul(optarg, 100000000UL, &n))
				goto usage;
			break;
		case 'r':
			if (parse_ul(optarg, 1000000UL, &per_ms))
				goto usage;
			break;
		case 'w':
			if (parse_ul(optarg, 100000000UL, &warm))
				goto usage;
			break;
		case 'k':
			if (parse_ul(optarg, 100000000UL, &nkeys))
				goto usage;
			break;
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
	struct pp_store ls;
	int rc = pp_store_open(&ls, &cfg);
	if (rc) {
		fprintf(stderr, "hitloop: cannot open store: %s\n", pp_store_strerror(rc));
		return 1;
	}
	/* Prefilled keys were written at real time: keep the real clock for them. */
	if (!nkeys)
		ls.clock = synthetic_clock;
	srandom(1); /* the same key sequence every run */
	unsigned long admitted = 0;
	/* Warm up until the windows hold what they hold in steady state. */
	rc = loop(&ls, &cfg.policy, 0, warm, per_ms, distinct, nkeys, 0, &admitted);
	admitted = 0;
	if (!rc)
		rc = loop(&ls, &cfg.policy, warm, warm + n, per_ms, distinct, nkeys, 1, &admitted);
	pp_store_close(&ls);
	if (rc)
		return 1;
	printf("hitloop: %lu hits, %lu admitted\n", n, admitted);
	return 0;

usage:
	fprintf(stderr, "usage: hitloop -c CONFIG [-n HITS] [-r HITS_PER_MS] [-w WARMUP_HITS] [-d | -k KEYS]\n"
	                "  -d  a distinct key per hit; -k a random one of KEYS prefilled\n"
	                "      keys (bench/prefill); else always the same key\n");
	return 2;
}
