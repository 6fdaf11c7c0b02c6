/* store_redis.c - the Redis backend: one EVALSHA of src/decide.lua per
 * decision, shared by every host, with this host's refusal cache in front. */
#include "store.h"

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
	if (!cfg->redis.host[0] && !cfg->redis.unix_path[0]) {
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
		snprintf(where, sizeof(where), "%s:%u", cfg->redis.host, cfg->redis.port);
	snprintf(out, cap, "%s db %u%s%s, prefix %s, timeout %lld ms, retry %lld ms, refusal cache %s",
	         where, cfg->redis.db, cfg->redis.user[0] ? ", user " : "", cfg->redis.user,
	         cfg->redis_prefix, (long long)cfg->redis_timeout_ms, (long long)cfg->redis_retry_ms,
	         cfg->refusal_cache ? "on" : "off");
}

static int
redis_open(void **out, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN])
{
	struct pp_redis_target t;
	struct redis_be *be;
	char path[PP_CONF_PATH_MAX + 32];

	(void)secret; /* PP_STORE_SHARED: it comes from key_secret_file */
	*out = NULL;
	be = calloc(1, sizeof(*be));
	if (be == NULL)
		return PP_STORE_ENOMEM;
	memset(&t, 0, sizeof(t));
	snprintf(t.host, sizeof(t.host), "%s", cfg->redis.host);
	t.port = (int)cfg->redis.port;
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
	.supports = PP_STORE_OWN_CLOCK | PP_STORE_SHARED | PP_STORE_SERVER,
	.check = redis_check,
	.describe = redis_describe,
	.open = redis_open,
	.hit = redis_hit,
	.probe = redis_probe,
	.close = redis_close,
};
