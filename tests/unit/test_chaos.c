/* test_chaos.c - fails every allocation of one request in turn (as jansson's
 * test_chaos.c does) and checks each answer is clean and nothing leaks.
 * Replaces malloc for the whole process, so it is not run under ASan. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "handler.h"
#include "metrics.h"
#include "run.h"
#include "store.h"
#include "tmpdir.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static long calls, fail_at; /* fail_at 0: never fail */
static long live;
static int injected;

static int
should_fail(void)
{
	++calls; /* counted always: a scenario must show what it allocates */
	if (fail_at == 0)
		return 0;
	if (calls == fail_at) {
		injected = 1;
		return 1;
	}
	return 0;
}

void *
malloc(size_t n)
{
	if (should_fail())
		return NULL;
	void *p = __libc_malloc(n);
	if (p)
		live++;
	return p;
}

void *
calloc(size_t a, size_t b)
{
	if (should_fail())
		return NULL;
	void *p = __libc_calloc(a, b);
	if (p)
		live++;
	return p;
}

void *
realloc(void *old, size_t n)
{
	if (should_fail())
		return NULL;
	void *p = __libc_realloc(old, n);
	if (!old && p)
		live++;
	return p;
}

void
free(void *p)
{
	if (p)
		live--;
	__libc_free(p);
}

struct scenario {
	const char *name, *method, *path, *ctype, *key, *body;
	int ok_status; /* the answer without injected failures */
	int allocates; /* 1: each of its allocations is failed in turn; 0: it
	                * must make none */
};

static const struct scenario scenarios[] = {
	{ "admit", "POST", "/ping", "application/json", "chaos-key", "{\"request\":\"ping\",\"x\":[1,2,{\"y\":\"z\"}]}", 200, 1 },
	{ "refuse", "POST", "/ping", "application/json", "chaos-full", "{\"request\":\"ping\"}", 429, 1 },
	{ "bad json", "POST", "/ping", "application/json", "k", "{\"request\":[", 400, 1 },
	/* The counters render without allocating; the LMDB map gauges need a
	 * read transaction, and a scrape without them is still a 200. */
	{ "metrics", "GET", "/metrics", NULL, NULL, "", 200, 1 },
	{ "readyz", "GET", "/readyz", NULL, NULL, "", 200, 1 },
};

static struct pp_config cfg;
static struct pp_store store;
static struct pp_server srv;
static char dir[64];

static void
setup(void)
{
	pp_test_mkdtemp("chaos", dir, sizeof(dir));
	pp_config_defaults(&cfg);
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s", dir);
	cfg.policy.per_key.limit = 1000000;
	cfg.policy.global.limit = 1000000;
	ck_assert_int_eq(pp_store_open(&store, &cfg), 0);
	pp_metrics_open(dir);
	srv = (struct pp_server){ .cfg = &cfg, .store = &store };
}

static void
run(struct pp_request *rq, const struct scenario *sc)
{
	pp_request_reset(rq);
	rq->http.method = sc->method;
	pp_request_set_path(rq, sc->path);
	rq->http.content_type = sc->ctype;
	rq->http.key = sc->key;
	rq->http.key_len = sc->key ? strlen(sc->key) : 0;
	rq->http.body = sc->body;
	rq->http.body_len = strlen(sc->body);
	pp_handle(&srv, rq);
}

START_TEST(every_allocation_fails_once)
{
	const struct scenario *sc = &scenarios[_i];
	struct pp_request *rq = __libc_malloc(sizeof(*rq));
	ck_assert_ptr_nonnull(rq);
	setup();
	if (sc->ok_status == 429) { /* fill the key first, with its own limit */
		cfg.policy.per_key.limit = 1;
		run(rq, &scenarios[0]);
		run(rq, sc);
		ck_assert_int_eq(rq->res.status, 200);
	}
	run(rq, sc); /* warm up: first-use allocations are not per request */
	ck_assert_int_eq(rq->res.status, sc->ok_status);
	calls = 0;
	run(rq, sc);
	fprintf(stderr, "# %s: %ld allocations a request\n", sc->name, calls);
	if (sc->allocates)
		ck_assert_msg(calls > 0, "%s makes no allocation: failing them tests nothing", sc->name);
	else
		ck_assert_msg(calls == 0, "%s made %ld allocations, want none", sc->name, calls);

	for (long n = 1; n < 10000; n++) {
		calls = 0;
		injected = 0;
		long before = live;
		fail_at = n;
		run(rq, sc);
		fail_at = 0;
		int st = rq->res.status;
		ck_assert_msg(st == sc->ok_status || st == 500 || st == 503,
		              "%s: allocation %ld failed -> status %d", sc->name, n, st);
		ck_assert_msg(rq->res.body_len > 0, "%s: allocation %ld failed -> empty body", sc->name, n);
		if (strcmp(sc->name, "metrics") == 0) /* a scrape answers even out of memory */
			ck_assert_msg(st == 200, "metrics: allocation %ld failed -> status %d", n, st);
		if (!injected)
			break; /* the request made fewer than n allocations: all tried */
		/* LMDB keeps freed dirty pages for reuse, so only a failed run is
		 * held to an exact balance. */
		ck_assert_msg(live == before, "%s: allocation %ld failed -> %ld leaked",
		              sc->name, n, live - before);
	}
	/* The worker still answers normally afterwards. */
	run(rq, sc);
	ck_assert_int_eq(rq->res.status, sc->ok_status);
	pp_store_close(&store);
	pp_metrics_close();
	pp_test_rmtree(dir);
	__libc_free(rq);
}
END_TEST

int
main(void)
{
	const TTest *none[] = { NULL };
	Suite *s = suite_create("chaos");
	TCase *tc = pp_test_case(s, "alloc", NULL, NULL, none);

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, every_allocation_fails_once, 0,
	                    (int)(sizeof(scenarios) / sizeof(scenarios[0])));
	return pp_test_run(s);
}
