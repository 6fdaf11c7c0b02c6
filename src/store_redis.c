/* store_redis.c - the Redis backend: one EVALSHA of src/decide.lua per
 * decision, shared by every host, with this host's refusal cache in front. */
#include "store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics_store.h"
#include "redis_conn.h"
#include "redis_script.h"
#include "refusal_cache.h"

/* Slots of the refusal cache: 4096 x 104 bytes. A flood of more distinct
 * refused keys than that only costs Redis calls, never exactness. */
#define RCACHE_SLOTS 4096

_Static_assert(PP_REDIS_SEEDS_MAX <= PP_REDIS_NODES_MAX, "every redis_url seed fits the target");

struct redis_be {
	struct pp_redis_conn conn;
	char prefix[64];
	char gkey[160];
	char sha[48]; /* the loaded script's SHA1, "" until loaded */
	struct pp_rcache cache;
};

/* Fills t's sentinel list from "host:port,host:port". Returns 0 or -1. */
static int
sentinels(struct pp_redis_target *t, const char *list)
{
	const char *p = list;

	t->nsentinels = 0;
	while (*p) {
		char one[300];
		size_t len = strcspn(p, ",");
		int max = (int)(sizeof(t->sentinel) / sizeof(t->sentinel[0]));
		if (len == 0 || len >= sizeof(one) || t->nsentinels == max)
			return -1;
		memcpy(one, p, len);
		one[len] = '\0';
		if (pp_redis_parse_node(one, t->sentinel[t->nsentinels].host,
		                        sizeof(t->sentinel[0].host), &t->sentinel[t->nsentinels].port))
			return -1;
		t->nsentinels++;
		p += len;
		if (*p == ',')
			p++;
	}
	return t->nsentinels > 0 ? 0 : -1;
}

static int
redis_check(const struct pp_config *cfg, char *err, size_t errlen)
{
	if (cfg->redis.nseeds == 0 && !cfg->redis.unix_path[0]) {
		snprintf(err, errlen, "redis_url: no Redis address (redis://HOST:PORT/DB or unix:PATH)");
		return -1;
	}
	if (cfg->redis_sentinels[0]) {
		struct pp_redis_target t;
		if (sentinels(&t, cfg->redis_sentinels) != 0) {
			snprintf(err, errlen, "redis_sentinels: '%s': want host:port[,host:port...], "
			                      "at most %zu",
			         cfg->redis_sentinels, sizeof(t.sentinel) / sizeof(t.sentinel[0]));
			return -1;
		}
	}
	return 0;
}

/* "host:port" or "seeds host:port, host:port, ..." (IPv6 in brackets). */
static void
seeds_text(const struct pp_redis_addr *a, char *out, size_t cap)
{
	size_t len = (size_t)snprintf(out, cap, "%s", a->nseeds > 1 ? "seeds " : "");

	for (unsigned i = 0; i < a->nseeds && len < cap; i++) {
		bool v6 = strchr(a->seed[i].host, ':') != NULL;
		len += (size_t)snprintf(out + len, cap - len, "%s%s%s%s:%u", i ? ", " : "", v6 ? "[" : "",
		                        a->seed[i].host, v6 ? "]" : "", a->seed[i].port);
	}
}

static void
redis_describe(const struct pp_config *cfg, char *out, size_t cap)
{
	char where[700];
	if (cfg->redis_sentinels[0])
		snprintf(where, sizeof(where), "master %s via sentinels %.300s", cfg->redis_master,
		         cfg->redis_sentinels);
	else if (cfg->redis.unix_path[0])
		snprintf(where, sizeof(where), "unix:%s", cfg->redis.unix_path);
	else
		seeds_text(&cfg->redis, where, sizeof(where));
	snprintf(out, cap, "%s db %u%s%s, prefix %s, timeout %lld ms, retry %lld ms, refusal cache %s",
	         where, cfg->redis.db, cfg->redis.user[0] ? ", user " : "", cfg->redis.user,
	         cfg->redis_prefix, (long long)cfg->redis_timeout_ms, (long long)cfg->redis_retry_ms,
	         cfg->refusal_cache ? "on" : "off");
}

static int open_be(void **out, const struct pp_config *cfg, bool files);

static int
redis_open(void **out, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN])
{
	(void)secret; /* PP_STORE_SHARED: it comes from key_secret_file */
	return open_be(out, cfg, true);
}

/* pingpongctl: the same connection, but no file in db_path (no refusal
 * cache, no metrics): the tool may run as another user. */
static int
redis_attach(void **out, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN])
{
	(void)secret;
	return open_be(out, cfg, false);
}

static int
open_be(void **out, const struct pp_config *cfg, bool files)
{
	struct pp_redis_target t;
	struct redis_be *be;
	char path[PP_CONF_PATH_MAX + 32];

	*out = NULL;
	be = calloc(1, sizeof(*be));
	if (be == NULL)
		return PP_STORE_ENOMEM;
	memset(&t, 0, sizeof(t));
	for (unsigned i = 0; i < cfg->redis.nseeds; i++) {
		snprintf(t.seed[i].host, sizeof(t.seed[i].host), "%s", cfg->redis.seed[i].host);
		t.seed[i].port = (int)cfg->redis.seed[i].port;
	}
	t.nseeds = (int)cfg->redis.nseeds;
	snprintf(t.unix_path, sizeof(t.unix_path), "%s", cfg->redis.unix_path);
	snprintf(t.user, sizeof(t.user), "%s", cfg->redis.user);
	snprintf(t.password, sizeof(t.password), "%s", cfg->redis_password);
	t.db = (int)cfg->redis.db;
	t.timeout_ms = cfg->redis_timeout_ms;
	t.retry_ms = cfg->redis_retry_ms;
	if (cfg->redis_sentinels[0]) {
		/* Checked at start-up: it parses. */
		sentinels(&t, cfg->redis_sentinels);
		snprintf(t.master, sizeof(t.master), "%s", cfg->redis_master);
	}
	/* Each worker connects on its first request, after the fork. */
	pp_redis_conn_init(&be->conn, &t);
	memset(t.password, 0, sizeof(t.password));
	snprintf(be->prefix, sizeof(be->prefix), "%s", cfg->redis_prefix);
	if (pp_redis_global_name(be->gkey, sizeof(be->gkey), be->prefix) == 0) {
		free(be);
		return PP_STORE_EIO;
	}
	if (!files) {
		*out = be;
		return PP_STORE_OK;
	}
	if (pp_metrics_store_open(cfg->db_path))
		pp_log_warn("store metrics unavailable: cannot map a file in %s: %m", cfg->db_path);
	if (cfg->refusal_cache) {
		snprintf(path, sizeof(path), "%s/refusal-cache", cfg->db_path);
		if (pp_rcache_open(&be->cache, path, RCACHE_SLOTS, cfg->refusal_cache_max_ms * 1000))
			pp_log_warn("refusal cache off: cannot map %s: %m", path);
	}
	*out = be;
	return PP_STORE_OK;
}

static int
load_script(struct redis_be *be)
{
	const char *av[3] = { "SCRIPT", "LOAD", pp_redis_script };
	redisReply *r;
	int rc = pp_redis_command(&be->conn, 3, av, NULL, NULL, &r);

	if (rc)
		return rc;
	if (r->type != REDIS_REPLY_STRING || r->len != 40) {
		freeReplyObject(r);
		pp_redis_fail(&be->conn, "SCRIPT LOAD: a reply that is not a SHA1");
		return PP_REDIS_EREPLY;
	}
	memcpy(be->sha, r->str, 40);
	be->sha[40] = '\0';
	freeReplyObject(r);
	return PP_REDIS_OK;
}

static int
store_rc(int rc)
{
	/* Away, held off or timed out: nothing was decided. An error reply
	 * (NOPERM, OOM, a script error) is the backend failing. */
	return rc == PP_REDIS_EREPLY ? PP_STORE_EIO : PP_STORE_EUNAVAIL;
}

static int
redis_hit(void *vbe, const struct pp_keyid *id, const struct pp_policy *p,
          pp_clock_fn clock, struct pp_decision *out)
{
	struct redis_be *be = vbe;
	char key[256], a[4][24];
	const char *av[9];
	size_t al[9];
	redisReply *r = NULL;
	int rc;
	double t0;
	int64_t start_us;

	(void)clock; /* PP_STORE_OWN_CLOCK: Redis TIME decides */
	if (pp_rcache_get(&be->cache, id->b, p, pp_rcache_now_us(), out)) {
		pp_metrics_rcache_hit();
		return PP_STORE_OK;
	}
	if (pp_redis_key_name(key, sizeof(key), be->prefix, id->b, sizeof(id->b)) == 0)
		return PP_STORE_EIO;
	snprintf(a[0], sizeof(a[0]), "%u", p->per_key.limit);
	snprintf(a[1], sizeof(a[1]), "%lld", (long long)p->per_key.window_ms);
	snprintf(a[2], sizeof(a[2]), "%u", p->global.limit);
	snprintf(a[3], sizeof(a[3]), "%lld", (long long)p->global.window_ms);

	t0 = pp_clock_mono();
	/* The SHA of the one script, learnt once per worker. */
	if (!be->sha[0] && (rc = load_script(be)) != PP_REDIS_OK)
		goto fail;
	av[0] = "EVALSHA";
	av[1] = be->sha;
	av[2] = "2";
	av[3] = key;
	av[4] = be->gkey;
	av[5] = a[0];
	av[6] = a[1];
	av[7] = a[2];
	av[8] = a[3];
	for (int i = 0; i < 9; i++)
		al[i] = strlen(av[i]);
	start_us = pp_rcache_now_us();
	/* NOSCRIPT (a restarted or failed-over Redis): loaded and retried once
	 * on the node that said it. */
	rc = pp_redis_command(&be->conn, 9, av, al, pp_redis_script, &r);
	if (rc)
		goto fail;
	if (pp_redis_script_result(r, p, out) != 0) {
		freeReplyObject(r);
		pp_redis_fail(&be->conn, "EVALSHA: a reply of the wrong shape (not pingpong's script?)");
		rc = PP_REDIS_EREPLY;
		goto fail;
	}
	freeReplyObject(r);
	pp_metrics_store_call(PP_METRICS_STORE_OK, pp_clock_mono() - t0);
	if (!out->admit)
		pp_rcache_put(&be->cache, id->b, p, out, start_us);
	return PP_STORE_OK;
fail:
	pp_metrics_store_call(rc == PP_REDIS_EHOLD  ? PP_METRICS_STORE_HELD :
	                      rc == PP_REDIS_EREPLY ? PP_METRICS_STORE_ERROR :
	                                              PP_METRICS_STORE_UNAVAILABLE,
	                      pp_clock_mono() - t0);
	return store_rc(rc);
}

/* /readyz judges this worker and its local resources: a Redis away must not
 * take every pod out of service at once, so the handler answers 200 to
 * PP_STORE_EUNAVAIL and says "store":"unavailable". A PING (not during the
 * hold-off) keeps that and pingpong_store_up current. */
static int
redis_probe(void *vbe)
{
	struct redis_be *be = vbe;
	const char *av[1] = { "PING" };
	redisReply *r;
	int rc = pp_redis_command(&be->conn, 1, av, NULL, NULL, &r);

	if (rc == PP_REDIS_OK)
		freeReplyObject(r);
	pp_metrics_store_up(rc == PP_REDIS_OK);
	return rc == PP_REDIS_OK ? PP_STORE_OK : PP_STORE_EUNAVAIL;
}

/* One command for pingpongctl; the reply (not an error) in *r. */
static int
ctl_call(struct redis_be *be, int argc, const char **av, redisReply **r)
{
	int rc = pp_redis_command(&be->conn, argc, av, NULL, NULL, r);
	return rc == PP_REDIS_OK ? PP_STORE_OK : store_rc(rc);
}

/* A list of admission times as a window of one-admission buckets. */
static int
list_window(const redisReply *r, struct pp_window *w)
{
	w->n = 0;
	w->cap = (uint32_t)r->elements + 1;
	w->b = calloc(w->cap, sizeof(*w->b));
	if (w->b == NULL)
		return PP_STORE_ENOMEM;
	for (size_t i = 0; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return PP_STORE_EIO;
		w->b[w->n].t_ms = strtoll(r->element[i]->str, NULL, 10);
		w->b[w->n].n = 1;
		w->n++;
	}
	return PP_STORE_OK;
}

/* The key's and the global window at Redis TIME, read (not in one step:
 * an operator's view) and judged by limiter.c. Changes nothing. */
static int
redis_inspect(void *vbe, const struct pp_keyid *id, const struct pp_policy *p, pp_clock_fn clock,
              struct pp_store_view *out)
{
	struct redis_be *be = vbe;
	char key[256];
	const char *tv[1] = { "TIME" }, *kv[4] = { "LRANGE", key, "0", "-1" },
		   *gv[4] = { "LRANGE", be->gkey, "0", "-1" };
	redisReply *t = NULL, *k = NULL, *g = NULL;
	struct pp_window kw = { 0 }, gw = { 0 };
	int rc;

	(void)clock;
	memset(out, 0, sizeof(*out));
	if (pp_redis_key_name(key, sizeof(key), be->prefix, id->b, sizeof(id->b)) == 0)
		return PP_STORE_EIO;
	if ((rc = ctl_call(be, 1, tv, &t)) || (rc = ctl_call(be, 4, kv, &k)) ||
	    (rc = ctl_call(be, 4, gv, &g)))
		goto done;
	rc = PP_STORE_EIO;
	if (t->type != REDIS_REPLY_ARRAY || t->elements != 2 || k->type != REDIS_REPLY_ARRAY ||
	    g->type != REDIS_REPLY_ARRAY || t->element[0]->type != REDIS_REPLY_STRING ||
	    t->element[1]->type != REDIS_REPLY_STRING)
		goto done;
	int64_t now = strtoll(t->element[0]->str, NULL, 10) * 1000 +
	              strtoll(t->element[1]->str, NULL, 10) / 1000;
	if ((rc = list_window(k, &kw)) || (rc = list_window(g, &gw)))
		goto done;
	out->key_found = kw.n > 0;
	pp_limiter_decide(&kw, &gw, p, now, &out->d);
	out->key_clear_ms = pp_limiter_clear_ms(&kw, &p->per_key, now);
	if (p->global.limit != PP_LIMIT_OFF)
		out->global_clear_ms = pp_limiter_clear_ms(&gw, &p->global, now);
	rc = PP_STORE_OK;
done:
	free(kw.b);
	free(gw.b);
	if (t)
		freeReplyObject(t);
	if (k)
		freeReplyObject(k);
	if (g)
		freeReplyObject(g);
	return rc;
}

/* Deletes the window: workers see it at their next Redis call, so within
 * refusal_cache_max for a key their cache holds as full. */
static int
redis_reset(void *vbe, const struct pp_keyid *id, const struct pp_policy *p, bool *found)
{
	struct redis_be *be = vbe;
	char key[256];
	const char *av[2] = { "DEL", key };
	redisReply *r;
	int rc;

	(void)p;
	*found = false;
	if (id == NULL)
		snprintf(key, sizeof(key), "%s", be->gkey);
	else if (pp_redis_key_name(key, sizeof(key), be->prefix, id->b, sizeof(id->b)) == 0)
		return PP_STORE_EIO;
	if ((rc = ctl_call(be, 2, av, &r)))
		return rc;
	*found = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	rc = r->type == REDIS_REPLY_INTEGER ? PP_STORE_OK : PP_STORE_EIO;
	freeReplyObject(r);
	return rc;
}

/* Per-key windows by SCAN (each expires with its window after its last
 * admission, so every stored one holds a live admission), memory by INFO. */
static int
redis_stats(void *vbe, const struct pp_policy *p, pp_clock_fn clock, struct pp_store_stats *out)
{
	struct redis_be *be = vbe;
	char cursor[32] = "0", match[160];
	const char *iv[2] = { "INFO", "memory" };
	redisReply *r;
	int rc;

	(void)p;
	(void)clock;
	memset(out, 0, sizeof(*out));
	snprintf(match, sizeof(match), "%s:{%s}:k:*", be->prefix, be->prefix);
	do {
		const char *av[6] = { "SCAN", cursor, "MATCH", match, "COUNT", "1000" };
		if ((rc = ctl_call(be, 6, av, &r)))
			return rc;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			return PP_STORE_EIO;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		out->windows += r->element[1]->elements;
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	out->live_windows = out->windows;
	if ((rc = ctl_call(be, 2, iv, &r)))
		return rc;
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
		const char *u = strstr(r->str, "\nused_memory:"), *m = strstr(r->str, "\nmaxmemory:");
		if (u)
			out->bytes_used = strtoull(u + 13, NULL, 10);
		if (m)
			out->bytes_max = strtoull(m + 11, NULL, 10);
	}
	freeReplyObject(r);
	return PP_STORE_OK;
}

static void
redis_close(void *vbe)
{
	struct redis_be *be = vbe;
	if (be == NULL)
		return;
	pp_redis_conn_close(&be->conn);
	pp_rcache_close(&be->cache);
	free(be);
}

const struct pp_store_ops pp_store_redis = {
	.name = "redis",
	.supports = PP_STORE_OWN_CLOCK | PP_STORE_SHARED | PP_STORE_SERVER | PP_STORE_GLOBAL_OFF,
	.check = redis_check,
	.describe = redis_describe,
	.open = redis_open,
	.hit = redis_hit,
	.probe = redis_probe,
	.close = redis_close,
	.attach = redis_attach,
	.inspect = redis_inspect,
	.reset = redis_reset,
	.stats = redis_stats,
};
