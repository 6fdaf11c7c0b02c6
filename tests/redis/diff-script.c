/* diff-script.c - the differential test: src/decide.lua on a real Redis
 * against src/limiter.c, on random (key, time) sequences, every figure.
 *
 * Usage: diff-script UNIX_SOCKET [DECISIONS] [SEED]. The script body is the
 * production one (pp_redis_script_body); only the prelude differs: here
 * `now` is ARGV[5], a time this test drives, because TIME cannot be. The
 * production script (pp_redis_script) has no such argument. Requests are
 * pipelined in batches (hiredis), replies compared in order. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "limiter.h"
#include "redis_script.h"

#define NKEYS  6
#define BATCH  500
#define MAXCAP 64

struct ref {
	struct pp_bucket b[MAXCAP];
	struct pp_window w;
};

static unsigned long long rng_state, seed; /* seed also names the keys: reruns never meet */

static uint32_t
rnd(uint32_t n)
{
	/* xorshift64*: reproducible from the seed printed on failure. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 33) % n;
}

static long mismatches;

static void
cmp(const char *what, long long want, long long got, long i, const char *key, int64_t now)
{
	if (want == got)
		return;
	if (mismatches++ < 20)
		fprintf(stderr, "decision %ld key %s now %" PRId64 ": %s limiter.c %lld, script %lld\n",
		        i, key, now, what, want, got);
}

static void
compare(const struct pp_decision *a, const struct pp_decision *b, long i, const char *key)
{
	int64_t now = a->now_ms;
	cmp("now", a->now_ms, b->now_ms, i, key, now);
	cmp("admit", a->admit, b->admit, i, key, now);
	cmp("refused_by", a->refused_by, b->refused_by, i, key, now);
	cmp("retry_ms", a->retry_ms, b->retry_ms, i, key, now);
	cmp("throttle_age_ms", a->throttle_age_ms, b->throttle_age_ms, i, key, now);
	cmp("rewrite", a->rewrite, b->rewrite, i, key, now);
	const struct pp_window_state *x[2] = { &a->key, &a->global }, *y[2] = { &b->key, &b->global };
	for (int k = 0; k < 2; k++) {
		cmp(k ? "global.used" : "key.used", x[k]->used, y[k]->used, i, key, now);
		cmp(k ? "global.remaining" : "key.remaining", x[k]->remaining, y[k]->remaining, i, key, now);
		cmp(k ? "global.full" : "key.full", x[k]->full, y[k]->full, i, key, now);
		cmp(k ? "global.reset_ms" : "key.reset_ms", x[k]->reset_ms, y[k]->reset_ms, i, key, now);
		cmp(k ? "global.retry_ms" : "key.retry_ms", x[k]->retry_ms, y[k]->retry_ms, i, key, now);
		cmp(k ? "global.age_ms" : "key.age_ms", x[k]->age_ms, y[k]->age_ms, i, key, now);
	}
}

static redisReply *
must(redisContext *c, redisReply *r, const char *what)
{
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "%s: %s\n", what, r ? r->str : c->errstr);
		exit(1);
	}
	return r;
}

/* One round: a random policy, fresh keys, `n` decisions in batches. */
static long
round_run(redisContext *c, const char *sha, int round, long n)
{
	struct pp_policy p;
	struct ref keys[NKEYS], global;
	char kname[NKEYS][96], gname[96], args[4][24], nowbuf[BATCH][24];
	int64_t now = 1700000000000LL + rnd(1000000);
	struct pp_decision want[BATCH];
	int which[BATCH];
	long done = 0;

	/* Small limits and windows so edges are hit constantly; cap fits. */
	p.per_key.limit = 1 + rnd(5);
	p.per_key.window_ms = 1 + rnd(rnd(2) ? 40 : 6);
	p.global.limit = 1 + rnd(12);
	p.global.window_ms = 1 + rnd(rnd(2) ? 30 : 5);
	memset(keys, 0, sizeof(keys));
	memset(&global, 0, sizeof(global));
	for (int k = 0; k < NKEYS; k++) {
		keys[k].w.b = keys[k].b;
		keys[k].w.cap = pp_limiter_cap(&p.per_key);
		snprintf(kname[k], sizeof(kname[k]), "d%llx.%d:{d%llx.%d}:k:%d", seed, round, seed, round, k);
	}
	global.w.b = global.b;
	global.w.cap = pp_limiter_cap(&p.global);
	snprintf(gname, sizeof(gname), "d%llx.%d:{d%llx.%d}:g", seed, round, seed, round);
	if (getenv("DIFF_TRACE"))
		fprintf(stderr, "round %d: key %u/%lld global %u/%lld\n", round, p.per_key.limit,
		        (long long)p.per_key.window_ms, p.global.limit, (long long)p.global.window_ms);
	snprintf(args[0], sizeof(args[0]), "%u", p.per_key.limit);
	snprintf(args[1], sizeof(args[1]), "%" PRId64, p.per_key.window_ms);
	snprintf(args[2], sizeof(args[2]), "%u", p.global.limit);
	snprintf(args[3], sizeof(args[3]), "%" PRId64, p.global.window_ms);

	while (done < n) {
		int m = n - done < BATCH ? (int)(n - done) : BATCH;
		for (int j = 0; j < m; j++) {
			/* Mostly forward in steps around the window sizes; now and
			 * then the same ms, and sometimes a clock stepped back. */
			uint32_t r = rnd(100);
			if (r < 20)
				;
			else if (r < 97)
				now += rnd(r < 60 ? 4 : 1 + (uint32_t)p.per_key.window_ms + 2);
			else
				now -= rnd(2 * (uint32_t)p.global.window_ms + 2);
			int k = (int)rnd(NKEYS);
			which[j] = k;
			if (pp_limiter_admit(&keys[k].w, &global.w, &p, now, &want[j]) != 0) {
				fprintf(stderr, "limiter.c: cap too small (test bug)\n");
				exit(1);
			}
			snprintf(nowbuf[j], sizeof(nowbuf[j]), "%" PRId64, now);
			const char *av[] = { "EVALSHA", sha, "2", kname[k], gname,
				             args[0], args[1], args[2], args[3], nowbuf[j] };
			if (redisAppendCommandArgv(c, 10, av, NULL) != REDIS_OK) {
				fprintf(stderr, "append: %s\n", c->errstr);
				exit(1);
			}
		}
		for (int j = 0; j < m; j++) {
			redisReply *r = NULL;
			struct pp_decision got;
			if (redisGetReply(c, (void **)&r) != REDIS_OK)
				must(c, NULL, "reply");
			must(c, r, "EVALSHA");
			if (pp_redis_script_result(r, &p, &got) != 0) {
				if (mismatches++ < 20)
					fprintf(stderr, "decision %ld: reply rejected by pp_redis_script_result\n",
					        done + j);
			} else {
				if (getenv("DIFF_TRACE"))
					fprintf(stderr, "r%d %ld k%d now %lld: admit %d/%d g.used %u/%u k.used %u/%u\n",
					        round, done + j, which[j], (long long)want[j].now_ms, want[j].admit,
					        got.admit, want[j].global.used, got.global.used,
					        want[j].key.used, got.key.used);
				compare(&want[j], &got, done + j, kname[which[j]]);
			}
			freeReplyObject(r);
		}
		done += m;
	}
	return done;
}

int
main(int argc, char **argv)
{
	long total = argc > 2 ? strtol(argv[2], NULL, 10) : 120000;
	rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 0x9e3779b97f4a7c15ULL;
	struct timeval tv = { 10, 0 };
	redisContext *c;
	redisReply *r;
	char sha[64];
	long done = 0;
	int round = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: diff-script UNIX_SOCKET [DECISIONS] [SEED]\n");
		return 2;
	}
	seed = rng_state;
	fprintf(stderr, "seed %llu\n", seed);
	c = redisConnectUnixWithTimeout(argv[1], tv);
	if (c == NULL || c->err) {
		fprintf(stderr, "connect %s: %s\n", argv[1], c ? c->errstr : "oom");
		return 1;
	}
	redisSetTimeout(c, tv);
	size_t blen = strlen(pp_redis_script_body);
	const char *prelude = "local now = tonumber(ARGV[5])\nlocal ttl_extra = 3600000\n";
	char *script = malloc(strlen(prelude) + blen + 1);
	if (script == NULL)
		return 1;
	memcpy(script, prelude, strlen(prelude));
	memcpy(script + strlen(prelude), pp_redis_script_body, blen + 1);
	r = must(c, redisCommand(c, "SCRIPT LOAD %s", script), "SCRIPT LOAD");
	snprintf(sha, sizeof(sha), "%s", r->str);
	freeReplyObject(r);
	free(script);

	while (done < total) {
		done += round_run(c, sha, round++, 1000 + rnd(2000));
	}
	/* Every window is PEXPIRE'd: nothing outlives it (the fake times are
	 * in the past, so Redis has expired them all by now). */
	redisFree(c);
	printf("%ld decisions in %d rounds, %ld mismatches\n", done, round, mismatches);
	return mismatches ? 1 : 0;
}
