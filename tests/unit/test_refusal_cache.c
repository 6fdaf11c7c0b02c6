/* test_refusal_cache.c - the refusal cache with a fake monotonic clock: a
 * cached refusal ends early, never late; the 429's figures; the limits an
 * entry was made under; the life cap; sharing between two mappings. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"
#include "refusal_cache.h"
#include "run.h"
#include "tmpdir.h"

#define NSLOTS 64
#define CAP    64
#define T0     1000000000LL /* a fake CLOCK_MONOTONIC, µs */

struct fix {
	struct pp_bucket kb[CAP], gb[CAP];
	struct pp_window k, g;
	struct pp_policy p;
	struct pp_rcache c;
	unsigned char id[16], other[16];
};

static void
setup(struct fix *f, uint32_t kl, int64_t kw, uint32_t gl, int64_t gw, int64_t max_ms)
{
	memset(f, 0, sizeof(*f));
	f->k = (struct pp_window){ f->kb, 0, CAP };
	f->g = (struct pp_window){ f->gb, 0, CAP };
	f->p.per_key = (struct pp_limit){ kl, kw };
	f->p.global = (struct pp_limit){ gl, gw };
	f->c.slots = calloc(NSLOTS, sizeof(struct pp_rcache_slot));
	ck_assert_ptr_nonnull(f->c.slots);
	f->c.n = NSLOTS;
	f->c.max_us = max_ms * 1000;
	memset(f->id, 0xab, sizeof(f->id));
	memset(f->other, 0x17, sizeof(f->other));
}

static void
teardown(struct fix *f)
{
	free(f->c.slots);
}

/* What Redis would answer at now_ms (limiter.c is the script's reference). */
static void
decide(struct fix *f, int64_t now_ms, struct pp_decision *d)
{
	ck_assert_int_eq(pp_limiter_admit(&f->k, &f->g, &f->p, now_ms, d), 0);
}

/* Requests at each time of at (0-terminated); d is the last answer. */
static void
decide_all(struct fix *f, const int64_t *at, struct pp_decision *d)
{
	for (; *at; at++)
		decide(f, *at, d);
}

/* With a per-key limit of 1: two requests 1 ms apart, the second refused
 * by the key's window. */
static void
refuse_second(struct fix *f, struct pp_decision *d)
{
	decide_all(f, (const int64_t[]){ 10000, 10001, 0 }, d);
	ck_assert(!d->admit);
	ck_assert_int_eq(d->refused_by, PP_LIMIT_KEY);
}

/* The usual start: a per-key limit of 1 per key_window_ms (global 100 per
 * second), the key's second request refused and cached at made_us. */
static void
cache_key_refusal(struct fix *f, int64_t key_window_ms, int64_t max_ms, int64_t made_us,
                  struct pp_decision *d)
{
	setup(f, 1, key_window_ms, 100, 1000, max_ms);
	refuse_second(f, d);
	pp_rcache_put(&f->c, f->id, &f->p, d, made_us);
}

START_TEST(deadline_is_early_and_capped)
{
	/* retry 500 ms: 2 ms fixed margin and 1 µs per ms of wait. */
	ck_assert_int_eq(pp_rcache_deadline(T0, 500, 1000000), T0 + 500000 - 2000 - 500);
	ck_assert_int_eq(pp_rcache_deadline(T0, 5000, 1000000), T0 + 1000000);
	/* Too short to be worth it: nothing to cache. */
	ck_assert_int_le(pp_rcache_deadline(T0, 1, 1000000), T0);
}
END_TEST

START_TEST(key_refusal_served_until_just_before_room)
{
	struct fix f;
	struct pp_decision d, c;
	setup(&f, 3, 2000, 100, 1000, 5000);
	decide_all(&f, (const int64_t[]){ 10000, 10400, 10900, 11000, 0 }, &d); /* refused: room at 12000 */
	ck_assert(!d.admit);
	ck_assert_int_eq(d.key.retry_ms, 1000);
	pp_rcache_put(&f.c, f.id, &f.p, &d, T0);

	ck_assert(pp_rcache_get(&f.c, f.id, &f.p, T0 + 1000, &c));
	ck_assert(!c.admit);
	ck_assert_int_eq(c.refused_by, PP_LIMIT_KEY);
	ck_assert_int_eq(c.retry_ms, 999);
	ck_assert_int_eq(c.key.retry_ms, 999);
	ck_assert_uint_eq(c.key.remaining, 0);
	ck_assert_uint_eq(c.key.used, 3);
	ck_assert_int_eq(c.key.reset_ms, 999);
	ck_assert_int_eq(c.throttle_age_ms, 101); /* filled at 10900, now 11001 */
	/* The other limit: Redis's figures then, its reset counted down. */
	ck_assert_uint_eq(c.global.remaining, 98); /* 10000 left the 1 s window */
	ck_assert_int_eq(c.global.reset_ms, 399);  /* 10400 expires at 11400 */
	/* Just before the deadline: still refused; at it: ask Redis again. */
	int64_t dl = pp_rcache_deadline(T0, 1000, 5000000);
	ck_assert(pp_rcache_get(&f.c, f.id, &f.p, dl - 1, &c));
	ck_assert(!pp_rcache_get(&f.c, f.id, &f.p, dl, &c));
	/* Another key is not refused by this key's window. */
	ck_assert(!pp_rcache_get(&f.c, f.other, &f.p, T0 + 1000, &c));
	teardown(&f);
}
END_TEST

START_TEST(other_limits_ignore_the_entry)
{
	struct fix f;
	struct pp_decision d, c;
	cache_key_refusal(&f, 2000, 5000, T0, &d);
	ck_assert(pp_rcache_get(&f.c, f.id, &f.p, T0 + 10, &c));
	/* A restart with other limits: the entry stops counting at once. */
	struct pp_policy other[3] = { f.p, f.p, f.p };
	other[0].per_key.limit = 2;
	other[1].per_key.window_ms = 1999;
	other[2].global.limit = 101;
	for (int i = 0; i < 3; i++)
		ck_assert_msg(!pp_rcache_get(&f.c, f.id, &other[i], T0 + 10, &c), "other policy %d", i);
	teardown(&f);
}
END_TEST

START_TEST(life_is_capped_by_refusal_cache_max)
{
	struct fix f;
	struct pp_decision d, c;
	cache_key_refusal(&f, 60000, 200, T0, &d); /* max 200 ms: a reset is seen by then */
	ck_assert(pp_rcache_get(&f.c, f.id, &f.p, T0 + 199999, &c));
	ck_assert_int_eq(c.retry_ms, 59999 - 199); /* the figure stays Redis's */
	ck_assert(!pp_rcache_get(&f.c, f.id, &f.p, T0 + 200000, &c));
	teardown(&f);
}
END_TEST

START_TEST(entry_from_before_a_reboot_is_ignored)
{
	struct fix f;
	struct pp_decision d, c;
	/* Made at a monotonic time far ahead of this boot's clock. */
	cache_key_refusal(&f, 60000, 1000, T0 + 3600000000LL, &d);
	ck_assert(!pp_rcache_get(&f.c, f.id, &f.p, T0, &c));
	teardown(&f);
}
END_TEST

START_TEST(global_refusal_serves_every_key)
{
	struct fix f;
	struct pp_decision d, c;
	setup(&f, 100, 60000, 2, 1000, 5000);
	decide_all(&f, (const int64_t[]){ 10000, 10100, 10200, 0 }, &d);
	ck_assert(!d.admit);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_GLOBAL);
	pp_rcache_put(&f.c, f.id, &f.p, &d, T0);
	ck_assert(pp_rcache_get(&f.c, f.other, &f.p, T0 + 500, &c));
	ck_assert_int_eq(c.refused_by, PP_LIMIT_GLOBAL);
	ck_assert_int_eq(c.retry_ms, 800 - 0 - 0);
	ck_assert_uint_eq(c.global.remaining, 0);
	/* Redis was not asked about this key: its item shows the full quota. */
	ck_assert_uint_eq(c.key.remaining, 100);
	ck_assert_int_eq(c.key.reset_ms, 0);
	/* The key Redis refused keeps its own figures. */
	ck_assert(pp_rcache_get(&f.c, f.id, &f.p, T0 + 500, &c));
	ck_assert_uint_eq(c.key.remaining, 98);
	teardown(&f);
}
END_TEST

START_TEST(half_written_slot_is_a_miss)
{
	struct fix f;
	struct pp_decision d, c;
	cache_key_refusal(&f, 60000, 5000, T0, &d);
	for (uint32_t i = 1; i < f.c.n; i++)
		atomic_fetch_add(&f.c.slots[i].seq, 1); /* a writer killed mid-write */
	ck_assert(!pp_rcache_get(&f.c, f.id, &f.p, T0 + 10, &c));
	/* And no new writer takes it over (its words may be torn). */
	pp_rcache_put(&f.c, f.id, &f.p, &d, T0);
	ck_assert(!pp_rcache_get(&f.c, f.id, &f.p, T0 + 10, &c));
	teardown(&f);
}
END_TEST

/* The property: on random windows, whenever the cache refuses at monotonic
 * start + x, Redis (limiter.c) would refuse at every ms up to then too,
 * though Redis's clock is taken as running at the round trip's start. */
START_TEST(never_refuses_what_redis_would_admit)
{
	unsigned seed = 12345;
	long hits = 0;
	for (int round = 0; round < 60; round++) {
		struct fix f;
		struct pp_decision d, c, r;
		setup(&f, 1 + rand_r(&seed) % 5, 5 + rand_r(&seed) % 400, 1 + rand_r(&seed) % 8,
		      5 + rand_r(&seed) % 300, 1 + rand_r(&seed) % 500);
		int64_t now = 100000;
		for (int i = 0; i < 20; i++) {
			now += rand_r(&seed) % 30;
			decide(&f, now, &d);
			if (d.admit)
				continue;
			memset(f.c.slots, 0, NSLOTS * sizeof(struct pp_rcache_slot));
			pp_rcache_put(&f.c, f.id, &f.p, &d, T0);
			for (int64_t x = 0; x < d.retry_ms * 1000 + 3000; x += 977) {
				if (!pp_rcache_get(&f.c, f.id, &f.p, T0 + x, &c))
					continue;
				hits++;
				/* Redis at the latest ms this mono time can be. */
				int64_t at = now + (x + 999) / 1000;
				pp_limiter_decide(&f.k, &f.g, &f.p, at, &r); /* changes nothing */
				ck_assert_msg(!r.admit, "cache refused at +%lld us, Redis admits at %lld",
				              (long long)x, (long long)at);
				ck_assert_int_ge(c.retry_ms, 1);
			}
		}
		teardown(&f);
	}
	ck_assert_int_gt(hits, 300);
}
END_TEST

START_TEST(two_mappings_share_entries)
{
	char dir[256], path[300];
	struct pp_rcache a, b;
	struct fix f;
	struct pp_decision d, c;

	pp_test_mkdtemp("rcache", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/refusal-cache", dir);
	ck_assert_int_eq(pp_rcache_open(&a, path, 128, 1000000), 0);
	ck_assert_int_eq(pp_rcache_open(&b, path, 128, 1000000), 0);
	setup(&f, 1, 60000, 100, 1000, 1000);
	refuse_second(&f, &d);
	int64_t now = pp_rcache_now_us();
	pp_rcache_put(&a, f.id, &f.p, &d, now);
	ck_assert(pp_rcache_get(&b, f.id, &f.p, now + 10, &c));
	ck_assert_int_eq(c.refused_by, PP_LIMIT_KEY);
	pp_rcache_close(&a);
	pp_rcache_close(&b);
	teardown(&f);
	pp_test_rmtree(dir);
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { deadline_is_early_and_capped, key_refusal_served_until_just_before_room,
		                 other_limits_ignore_the_entry, life_is_capped_by_refusal_cache_max,
		                 entry_from_before_a_reboot_is_ignored, global_refusal_serves_every_key,
		                 half_written_slot_is_a_miss, never_refuses_what_redis_would_admit,
		                 two_mappings_share_entries, NULL };
	Suite *s = suite_create("refusal_cache");

	tcase_set_timeout(pp_test_case(s, "core", NULL, NULL, tests), 60);
	return pp_test_run(s);
}
