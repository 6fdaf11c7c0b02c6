/* test_ops.c - the operating features with a fake clock: global_limit = off
 * (limiter, quota headers, store), db_map_size = auto, dry_run through the
 * handler, the store's operator calls (attach, inspect, reset, stats) and
 * pingpongctl's key reader. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "handler.h"
#include "key.h"
#include "limiter.h"
#include "metrics.h"
#include "request.h"
#include "response.h"
#include "run.h"
#include "store.h"
#include "tmpdir.h"

static char tmpdir[256], dbdir[512];

static void
setup(void)
{
	pp_test_mkdtemp("ops", tmpdir, sizeof(tmpdir));
	snprintf(dbdir, sizeof(dbdir), "%s/db", tmpdir);
}

static void
teardown(void)
{
	pp_test_rmtree(tmpdir);
}

static int64_t fake_ms = 1700000000000;
static int64_t
fake_clock(void)
{
	return fake_ms;
}

static void
make_config(struct pp_config *cfg, uint32_t key_limit, uint32_t global_limit)
{
	pp_config_defaults(cfg);
	snprintf(cfg->db_path, sizeof(cfg->db_path), "%s", dbdir);
	cfg->policy.per_key.limit = key_limit;
	cfg->policy.per_key.window_ms = 60000;
	cfg->policy.global.limit = global_limit;
	cfg->policy.global.window_ms = 1000;
}

static void
open_store(struct pp_store *st, const struct pp_config *cfg)
{
	ck_assert_int_eq(pp_store_open(st, cfg), PP_STORE_OK);
	st->clock = fake_clock;
}

/* The tool's side in the same process as a worker's: fine for these
 * tests, though LMDB warns that closing one handle drops the fcntl locks of
 * the other (pingpongctl is its own process). */
static void
attach_store(struct pp_store *st, const struct pp_config *cfg)
{
	ck_assert_int_eq(pp_store_attach(st, cfg), PP_STORE_OK);
	st->clock = fake_clock;
}

static int
hit(struct pp_store *st, const char *key, const struct pp_policy *p, struct pp_decision *d)
{
	return pp_store_hit(st, key, strlen(key), p, d);
}

/* ---- global_limit = off ------------------------------------------------- */

START_TEST(test_limiter_global_off)
{
	struct pp_bucket kb[8], gb[8];
	struct pp_window k = { kb, 0, 8 }, g = { gb, 0, 8 };
	struct pp_policy p = { { 3, 60000 }, { PP_LIMIT_OFF, 1000 } };
	struct pp_decision d;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(pp_limiter_admit(&k, &g, &p, 1000 + i, &d), 0);
		ck_assert(d.admit);
		ck_assert_uint_eq(d.key.remaining, 2 - (uint32_t)i);
		ck_assert_uint_eq(d.global.used, 0);
		ck_assert(!d.global.full);
	}
	ck_assert_uint_eq(g.n, 0); /* the global window is never recorded */
	ck_assert_int_eq(pp_limiter_admit(&k, &g, &p, 1003, &d), 0);
	ck_assert(!d.admit);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_KEY);
	ck_assert_int_eq(d.retry_ms, 60000 - 3);
	/* Old global buckets from before the switch count for nothing. */
	gb[0] = (struct pp_bucket){ 1003, 1000, 0 };
	g.n = 1;
	pp_limiter_decide(&(struct pp_window){ kb, 0, 8 }, &g, &p, 1003, &d);
	ck_assert(d.admit);
	ck_assert(!d.rewrite);
}
END_TEST

START_TEST(test_headers_global_off)
{
	struct pp_response r;
	struct pp_policy p = { { 3, 60000 }, { PP_LIMIT_OFF, 1000 } };
	struct pp_decision d;
	memset(&d, 0, sizeof(d));
	d.key.remaining = 0;
	d.key.reset_ms = 59500;
	d.retry_ms = 59500;
	d.refused_by = PP_LIMIT_KEY;
	pp_response_reset(&r);
	pp_response_throttled(&r, &p, &d);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(r.headers, "Retry-After: 60\r\n"
	                            "RateLimit-Policy: \"per-key\";q=3;w=60\r\n"
	                            "RateLimit: \"per-key\";r=0;t=60\r\n");
	ck_assert_ptr_nonnull(strstr(r.body, "\"limit\":\"per-key\""));
	/* With a global limit both items are there, as before. */
	p.global.limit = 2;
	pp_response_reset(&r);
	pp_response_quota_headers(&r, &p, &d);
	ck_assert_ptr_nonnull(strstr(r.headers, "\"global\";q=2;w=1"));
}
END_TEST

START_TEST(test_config_words)
{
	struct pp_config c;
	char err[512], *buf = NULL;
	size_t len = 0;

	pp_config_defaults(&c);
	ck_assert_uint_eq(c.db_map_size, PP_MAP_AUTO);
	ck_assert_int_eq(pp_config_set(&c, "global_limit", "off", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.policy.global.limit, PP_LIMIT_OFF);
	ck_assert_int_eq(pp_config_set(&c, "global_limit", "7", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.policy.global.limit, 7);
	ck_assert_int_eq(pp_config_set(&c, "global_limit", "OFF", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.policy.global.limit, PP_LIMIT_OFF);
	/* 0 is not a spelling of off: a typo must not turn the limit off. */
	ck_assert_int_eq(pp_config_set(&c, "global_limit", "0", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "or off"));
	ck_assert_int_eq(pp_config_set(&c, "per_key_limit", "off", err, sizeof(err)), -1);
	ck_assert_int_eq(pp_config_set(&c, "db_map_size", "128M", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.db_map_size, 128ULL << 20);
	ck_assert_int_eq(pp_config_set(&c, "db_map_size", "auto", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.db_map_size, PP_MAP_AUTO);
	ck_assert_int_eq(pp_config_set(&c, "db_map_size", "0", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "or auto"));
	ck_assert_int_eq(pp_config_set(&c, "dry_run", "yes", err, sizeof(err)), 0);
	ck_assert(c.dry_run);

	FILE *f = open_memstream(&buf, &len);
	pp_config_print(&c, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\ndb_map_size = auto\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nglobal_limit = off\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\ndry_run = yes\n"));
	free(buf);

	char *envp[] = { "PINGPONG_GLOBAL_LIMIT=off", "PINGPONG_DB_MAP_SIZE=auto", NULL };
	pp_config_defaults(&c);
	c.db_map_size = 1ULL << 30;
	ck_assert_int_eq(pp_config_load_env(&c, envp, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.policy.global.limit, PP_LIMIT_OFF);
	ck_assert_uint_eq(c.db_map_size, PP_MAP_AUTO);
}
END_TEST

START_TEST(test_store_global_off)
{
	struct pp_config cfg;
	struct pp_store st;
	struct pp_decision d;
	bool found;
	char key[32];

	make_config(&cfg, 2, PP_LIMIT_OFF);
	ck_assert_int_eq(pp_store_check(&cfg, (char[256]){ 0 }, 256), 0);
	open_store(&st, &cfg);
	/* Far more distinct keys in one millisecond than any global limit. */
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(hit(&st, key, &cfg.policy, &d), PP_STORE_OK);
		ck_assert(d.admit);
	}
	ck_assert_int_eq(hit(&st, "k1", &cfg.policy, &d), PP_STORE_OK);
	ck_assert(d.admit);
	ck_assert_int_eq(hit(&st, "k1", &cfg.policy, &d), PP_STORE_OK);
	ck_assert(!d.admit);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_KEY);
	/* No global record was ever written. */
	ck_assert_int_eq(pp_store_reset(&st, NULL, 0, &cfg.policy, &found), PP_STORE_OK);
	ck_assert(!found);
	pp_store_close(&st);
}
END_TEST

/* A backend row without PP_STORE_GLOBAL_OFF refuses global_limit = off at
 * start-up, naming the key, instead of refusing every request. */
START_TEST(test_global_off_needs_support)
{
	struct pp_store_ops row = pp_store_lmdb;
	struct pp_config c;
	char err[512];

	pp_config_defaults(&c);
	c.policy.global.limit = PP_LIMIT_OFF;
	ck_assert_int_eq(pp_store_check_backend(&row, &c, err, sizeof(err)), 0);
	row.supports &= ~PP_STORE_GLOBAL_OFF;
	ck_assert_int_eq(pp_store_check_backend(&row, &c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "global_limit = off"));
	c.policy.global.limit = 2;
	ck_assert_int_eq(pp_store_check_backend(&row, &c, err, sizeof(err)), 0);
}
END_TEST

/* ---- db_map_size = auto --------------------------------------------------- */

START_TEST(test_map_auto)
{
	struct pp_config c;
	char err[512];

	pp_config_defaults(&c);
	ck_assert_uint_eq(pp_lmdb_map_size(&c), 64ULL << 20); /* small limits: the floor */
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), 0);
	/* global_limit = 100000 starts without arithmetic ... */
	c.policy.global.limit = 100000;
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), 0);
	uint64_t m = pp_lmdb_map_size(&c);
	ck_assert_uint_ge(m, pp_lmdb_map_needed(&c));
	ck_assert_uint_lt(m, pp_lmdb_map_needed(&c) + (1ULL << 20));
	ck_assert_uint_eq(m % (1ULL << 20), 0);
	/* ... while the same limits with an explicit 64M still fail, naming it. */
	c.db_map_size = 64ULL << 20;
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "db_map_size 64 MiB is too small"));
	c.db_map_size = m;
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), 0);
	ck_assert_uint_eq(pp_lmdb_map_size(&c), m);
	/* Limits no map can hold: auto says so instead of opening a huge map. */
	c.db_map_size = PP_MAP_AUTO;
	c.policy.global.limit = 1000000;
	c.policy.global.window_ms = 1;
	c.policy.per_key.window_ms = 7LL * 24 * 3600 * 1000;
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "db_map_size = auto"));
	/* No global limit: nothing to size from; a fixed 1 GiB, any explicit size. */
	c.policy.global.limit = PP_LIMIT_OFF;
	ck_assert_uint_eq(pp_lmdb_map_size(&c), 1ULL << 30);
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), 0);
	c.db_map_size = 2ULL << 20;
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_map_auto_opens)
{
	struct pp_config cfg;
	struct pp_store st;
	struct pp_store_stats s;

	make_config(&cfg, 10, 100000);
	cfg.db_map_size = PP_MAP_AUTO;
	ck_assert_int_eq(pp_store_check(&cfg, (char[512]){ 0 }, 512), 0);
	open_store(&st, &cfg);
	ck_assert_int_eq(pp_store_stats(&st, &cfg.policy, &s), PP_STORE_OK);
	ck_assert_uint_eq(s.bytes_max, pp_lmdb_map_size(&cfg));
	ck_assert_uint_gt(s.bytes_max, 1ULL << 30); /* 100000/s for 60 s windows */
	pp_store_close(&st);
}
END_TEST

/* ---- dry_run through the handler ----------------------------------------- */

static void
ping(struct pp_server *srv, struct pp_request *rq, const char *key)
{
	static const char body[] = "{\"request\":\"ping\"}";
	pp_request_reset(rq);
	rq->http.method = "POST";
	rq->http.path = "/ping";
	rq->http.content_type = "application/json";
	rq->http.key = key;
	rq->http.key_len = strlen(key);
	rq->http.body = body;
	rq->http.body_len = sizeof(body) - 1;
	pp_handle(srv, rq);
}

static long
metric(const char *name)
{
	static char buf[PP_RESPONSE_BODY_MAX];
	size_t n = pp_metrics_render(buf, sizeof(buf)), len = strlen(name);
	ck_assert_uint_gt(n, 0);
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, name, len) == 0 && l[len] == ' ')
			return strtol(l + len + 1, NULL, 10);
	return -1;
}

START_TEST(test_dry_run)
{
	struct pp_config cfg;
	struct pp_store st;
	struct pp_request *rq = calloc(1, sizeof(*rq));
	struct pp_decision d;

	ck_assert_ptr_nonnull(rq);
	make_config(&cfg, 3, 100);
	cfg.dry_run = true;
	open_store(&st, &cfg);
	ck_assert_int_eq(pp_metrics_open(tmpdir), 0);
	struct pp_server srv = { .cfg = &cfg, .store = &st };
	for (int i = 0; i < 8; i++) {
		ping(&srv, rq, "dry-key");
		ck_assert_int_eq(rq->res.status, 200);
		ck_assert_str_eq(rq->res.body, "{\"response\":\"pong\"}");
		ck_assert_ptr_null(strstr(rq->res.headers, "Retry-After"));
		ck_assert_ptr_nonnull(strstr(rq->res.headers, i < 3 ? "\"per-key\";r=" : "\"per-key\";r=0;t=60"));
	}
	ck_assert_int_eq(metric("pingpong_throttled_total{limit=\"per-key\",dry_run=\"true\"}"), 5);
	ck_assert_int_eq(metric("pingpong_throttled_total{limit=\"per-key\"}"), 0);
	/* Recorded as enforcing records: three admissions, so enforcing refuses. */
	cfg.dry_run = false;
	ping(&srv, rq, "dry-key");
	ck_assert_int_eq(rq->res.status, 429);
	ck_assert_int_eq(metric("pingpong_throttled_total{limit=\"per-key\"}"), 1);
	ck_assert_int_eq(hit(&st, "other", &cfg.policy, &d), PP_STORE_OK);
	ck_assert_uint_eq(d.global.used, 4); /* 3 + this one: refusals recorded nothing */
	pp_metrics_close();
	pp_store_close(&st);
	free(rq);
}
END_TEST

/* ---- the operator's calls ---------------------------------------------- */

START_TEST(test_attach_creates_nothing)
{
	struct pp_config cfg;
	struct pp_store st;
	struct stat sb;

	make_config(&cfg, 3, 100);
	ck_assert_int_eq(pp_store_attach(&st, &cfg), PP_STORE_ENOSTORE);
	ck_assert_int_eq(stat(dbdir, &sb), -1);
	pp_store_close(&st); /* a no-op after a failed attach */
	mkdir(dbdir, 0700);
	ck_assert_int_eq(pp_store_attach(&st, &cfg), PP_STORE_ENOSTORE);
	char path[600];
	snprintf(path, sizeof(path), "%s/data.mdb", dbdir);
	ck_assert_int_eq(stat(path, &sb), -1);
}
END_TEST

START_TEST(test_inspect_reset)
{
	struct pp_config cfg;
	struct pp_store w, ctl;
	struct pp_decision d;
	struct pp_store_view v;
	bool found;

	make_config(&cfg, 3, 100);
	open_store(&w, &cfg);
	attach_store(&ctl, &cfg);
	/* Same secret: the tool finds the key the worker hashed. */
	ck_assert(memcmp(w.secret, ctl.secret, PP_SECRET_LEN) == 0);
	for (int i = 0; i < 3; i++) {
		fake_ms += 100;
		ck_assert_int_eq(hit(&w, "customer-x", &cfg.policy, &d), PP_STORE_OK);
		ck_assert(d.admit);
	}
	fake_ms += 1000;
	ck_assert_int_eq(pp_store_inspect(&ctl, "customer-x", 10, &cfg.policy, &v), PP_STORE_OK);
	ck_assert(v.key_found);
	ck_assert_uint_eq(v.d.key.used, 3);
	ck_assert_uint_eq(v.d.key.remaining, 0);
	ck_assert(v.d.key.full);
	ck_assert(!v.d.admit);
	ck_assert_int_eq(v.d.refused_by, PP_LIMIT_KEY);
	ck_assert_int_eq(v.d.key.retry_ms, 60000 - 1200); /* the oldest, 1.2 s ago */
	ck_assert_int_eq(v.key_clear_ms, 60000 - 1000);   /* the newest, 1.0 s ago */
	ck_assert_uint_eq(v.d.global.used, 0);            /* 1 s global window: expired */
	/* Inspect records nothing. */
	ck_assert_int_eq(pp_store_inspect(&ctl, "customer-x", 10, &cfg.policy, &v), PP_STORE_OK);
	ck_assert_uint_eq(v.d.key.used, 3);
	ck_assert_int_eq(pp_store_inspect(&ctl, "nobody", 6, &cfg.policy, &v), PP_STORE_OK);
	ck_assert(!v.key_found);
	ck_assert_uint_eq(v.d.key.used, 0);
	ck_assert_int_eq(v.key_clear_ms, 0);
	ck_assert(v.d.admit);

	ck_assert_int_eq(hit(&w, "customer-x", &cfg.policy, &d), PP_STORE_OK);
	ck_assert(!d.admit);
	ck_assert_int_eq(pp_store_reset(&ctl, "customer-x", 10, &cfg.policy, &found), PP_STORE_OK);
	ck_assert(found);
	/* The worker's very next decision sees it: straight back in. */
	ck_assert_int_eq(hit(&w, "customer-x", &cfg.policy, &d), PP_STORE_OK);
	ck_assert(d.admit);
	ck_assert_uint_eq(d.key.remaining, 2);
	ck_assert_int_eq(pp_store_reset(&ctl, "nobody", 6, &cfg.policy, &found), PP_STORE_OK);
	ck_assert(!found);

	/* The global window. */
	for (int i = 0; i < 99; i++) {
		char key[16];
		snprintf(key, sizeof(key), "g%d", i);
		ck_assert_int_eq(hit(&w, key, &cfg.policy, &d), PP_STORE_OK);
		ck_assert(d.admit);
	}
	ck_assert_int_eq(hit(&w, "g-last", &cfg.policy, &d), PP_STORE_OK);
	ck_assert(!d.admit);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_GLOBAL);
	ck_assert_int_eq(pp_store_inspect(&ctl, "g-last", 6, &cfg.policy, &v), PP_STORE_OK);
	ck_assert_uint_eq(v.d.global.used, 100);
	ck_assert_int_eq(v.global_clear_ms, 1000);
	ck_assert_int_eq(pp_store_reset(&ctl, NULL, 0, &cfg.policy, &found), PP_STORE_OK);
	ck_assert(found);
	ck_assert_int_eq(hit(&w, "g-last", &cfg.policy, &d), PP_STORE_OK);
	ck_assert(d.admit);

	/* A reset key's index entry went with it: reclaim has nothing stale. */
	struct pp_store_stats s;
	ck_assert_int_eq(pp_store_stats(&ctl, &cfg.policy, &s), PP_STORE_OK);
	ck_assert_uint_eq(s.windows, 101); /* customer-x, g0..g98, g-last */
	ck_assert_uint_eq(s.live_windows, 101);
	pp_store_close(&ctl);
	pp_store_close(&w);
}
END_TEST

START_TEST(test_stats)
{
	struct pp_config cfg;
	struct pp_store w, ctl;
	struct pp_decision d;
	struct pp_store_stats s;
	char key[16];

	make_config(&cfg, 3, 1000);
	cfg.policy.per_key.window_ms = 2000;
	open_store(&w, &cfg);
	attach_store(&ctl, &cfg);
	ck_assert_int_eq(pp_store_stats(&ctl, &cfg.policy, &s), PP_STORE_OK);
	ck_assert_uint_eq(s.windows, 0);
	ck_assert_uint_eq(s.live_windows, 0);
	ck_assert_uint_gt(s.bytes_used, 0);
	ck_assert_uint_le(s.bytes_used, s.file_bytes);
	ck_assert_uint_eq(s.bytes_max, 64ULL << 20);
	uint64_t empty = s.bytes_used;

	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "s%d", i);
		ck_assert_int_eq(hit(&w, key, &cfg.policy, &d), PP_STORE_OK);
		ck_assert(d.admit);
		if (i == 99)
			fake_ms += 1500; /* the first 100 expire 1.5 s before the rest */
	}
	ck_assert_int_eq(pp_store_stats(&ctl, &cfg.policy, &s), PP_STORE_OK);
	ck_assert_uint_eq(s.windows, 300);
	ck_assert_uint_eq(s.live_windows, 300);
	ck_assert_uint_gt(s.bytes_used, empty);
	fake_ms += 1000;
	ck_assert_int_eq(pp_store_stats(&ctl, &cfg.policy, &s), PP_STORE_OK);
	ck_assert_uint_eq(s.live_windows, 200);
	ck_assert_uint_le(s.windows, 300);
	ck_assert_uint_ge(s.windows, 200);
	fake_ms += 2000;
	ck_assert_int_eq(pp_store_stats(&ctl, &cfg.policy, &s), PP_STORE_OK);
	ck_assert_uint_eq(s.live_windows, 0);
	pp_store_close(&ctl);
	pp_store_close(&w);
}
END_TEST

START_TEST(test_ctl_needs_no_reader_slot)
{
	/* The tool keeps no snapshot between calls: after its calls, a
	 * worker's flood of admissions reuses pages instead of growing the
	 * file (a held snapshot would pin every page freed since). */
	struct pp_config cfg;
	struct pp_store w, ctl;
	struct pp_decision d;
	struct pp_store_stats s1, s2;
	struct pp_store_view v;

	make_config(&cfg, 1000, 1000000);
	cfg.policy.per_key.window_ms = 1;
	cfg.policy.global.window_ms = 1;
	open_store(&w, &cfg);
	attach_store(&ctl, &cfg);
	ck_assert_int_eq(pp_store_inspect(&ctl, "k", 1, &cfg.policy, &v), PP_STORE_OK);
	ck_assert_int_eq(pp_store_stats(&ctl, &cfg.policy, &s1), PP_STORE_OK);
	for (int i = 0; i < 3000; i++) {
		fake_ms += 2;
		ck_assert_int_eq(hit(&w, "k", &cfg.policy, &d), PP_STORE_OK);
	}
	ck_assert_int_eq(pp_store_stats(&ctl, &cfg.policy, &s2), PP_STORE_OK);
	ck_assert_uint_le(s2.file_bytes, s1.file_bytes + (64 << 10));
	pp_store_close(&ctl);
	pp_store_close(&w);
}
END_TEST

/* With key_secret_file the tool hashes as the workers do; without it (a
 * configuration other than theirs) it says so instead of finding nothing. */
START_TEST(test_attach_secret_file)
{
	struct pp_config cfg;
	struct pp_store w, ctl;
	struct pp_decision d;
	struct pp_store_view v;
	char path[600];
	unsigned char bytes[40];

	snprintf(path, sizeof(path), "%s/secret", tmpdir);
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 37 + 11);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, bytes, sizeof(bytes)), (ssize_t)sizeof(bytes));
	close(fd);
	make_config(&cfg, 3, 100);
	snprintf(cfg.key_secret_file, sizeof(cfg.key_secret_file), "%s", path);
	open_store(&w, &cfg);
	ck_assert_int_eq(hit(&w, "filed", &cfg.policy, &d), PP_STORE_OK);
	attach_store(&ctl, &cfg);
	ck_assert_int_eq(pp_store_inspect(&ctl, "filed", 5, &cfg.policy, &v), PP_STORE_OK);
	ck_assert(v.key_found);
	ck_assert_uint_eq(v.d.key.used, 1);
	pp_store_close(&ctl);
	cfg.key_secret_file[0] = '\0';
	ck_assert_int_eq(pp_store_attach(&ctl, &cfg), PP_STORE_ESECRET);
	pp_store_close(&w);
}
END_TEST

/* A backend row that leaves the operator's calls NULL (as the Redis row
 * may): the generic layer answers "not supported" instead of crashing. */
START_TEST(test_ops_not_supported)
{
	struct pp_store_ops bare = pp_store_lmdb;
	struct pp_config cfg;
	struct pp_store st;
	struct pp_store_view v;
	struct pp_store_stats s;
	bool found = true;

	bare.attach = NULL;
	bare.inspect = NULL;
	bare.reset = NULL;
	bare.stats = NULL;
	make_config(&cfg, 3, 100);
	ck_assert_int_eq(pp_store_open_backend(&st, &bare, &cfg), PP_STORE_OK);
	ck_assert_int_eq(pp_store_inspect(&st, "k", 1, &cfg.policy, &v), PP_STORE_ENOTSUP);
	ck_assert_int_eq(pp_store_reset(&st, "k", 1, &cfg.policy, &found), PP_STORE_ENOTSUP);
	ck_assert_int_eq(pp_store_stats(&st, &cfg.policy, &s), PP_STORE_ENOTSUP);
	ck_assert_str_eq(pp_store_strerror(PP_STORE_ENOTSUP), "not supported by this backend");
	pp_store_close(&st);
}
END_TEST

/* ---- pingpongctl's key reader ------------------------------------------ */

static long
read_key_from(const char *data, size_t n, char *buf, char *err)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], data, n), (ssize_t)n);
	close(fds[1]);
	long r = pp_ctl_read_key(fds[0], buf, PP_CTL_KEY_CAP, err, 512);
	close(fds[0]);
	return r;
}

START_TEST(test_key_reader)
{
	char buf[PP_CTL_KEY_CAP], err[512], big[400];

	ck_assert_int_eq(read_key_from("abc", 3, buf, err), 3);
	ck_assert_str_eq(buf, "abc");
	ck_assert_int_eq(read_key_from("abc\n", 4, buf, err), 3);
	ck_assert_str_eq(buf, "abc");
	ck_assert_int_eq(read_key_from("abc\r\n", 5, buf, err), 3);
	ck_assert_int_eq(read_key_from("a b", 3, buf, err), 3); /* spaces are bytes of the key */
	ck_assert_int_eq(read_key_from("", 0, buf, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no key on stdin"));
	ck_assert_int_eq(read_key_from("\n", 1, buf, err), -1);
	ck_assert_int_eq(read_key_from("abc\n\n", 5, buf, err), -1); /* only one newline goes */
	ck_assert_int_eq(read_key_from("zqx\tzqy", 7, buf, err), -1);
	ck_assert_ptr_null(strstr(err, "zq")); /* never quoted */
	memset(big, 'q', sizeof(big));
	ck_assert_int_eq(read_key_from(big, 256, buf, err), 256);
	big[256] = '\n';
	ck_assert_int_eq(read_key_from(big, 257, buf, err), 256);
	big[256] = 'q';
	ck_assert_int_eq(read_key_from(big, 257, buf, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than 256"));
	ck_assert_ptr_null(strstr(err, "qq"));
	ck_assert_int_eq(read_key_from(big, sizeof(big), buf, err), -1);
}
END_TEST

int
main(void)
{
	const TTest *pure[] = { test_limiter_global_off, test_headers_global_off, test_config_words,
		                test_map_auto, test_global_off_needs_support, test_key_reader,
		                NULL };
	const TTest *store[] = { test_store_global_off, test_map_auto_opens, test_dry_run,
		                 test_attach_creates_nothing, test_inspect_reset, test_stats,
		                 test_ctl_needs_no_reader_slot, test_ops_not_supported,
		                 test_attach_secret_file, NULL };
	Suite *s = suite_create("ops");

	pp_test_case(s, "pure", NULL, NULL, pure);
	tcase_set_timeout(pp_test_case(s, "store", setup, teardown, store), 60);
	return pp_test_run(s);
}
