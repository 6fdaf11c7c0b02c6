/* handler.c - one request from validated input to a formatted answer. The
 * only place that answers a store error (on_store_error reject or admit;
 * local is the store's own fallback and never reaches here unless it fails). */
#include "handler.h"

#include <stdio.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

/* The LMDB map's fill, for the "map filling" alert: read at scrape time in
 * one short read transaction (mdb_env_info and the free list: no walk over
 * the windows). A backend without a map (Redis) adds nothing. Returns the
 * new length, or 0 if the buffer is too small. */
static size_t
map_gauges(struct pp_server *srv, char *buf, size_t len, size_t cap)
{
	struct pp_store_stats ss;
	int n;

	if (pp_store_stats(srv->store, &srv->cfg->policy, &ss) != PP_STORE_OK || ss.file_bytes == 0)
		return len;
	n = snprintf(buf + len, cap - len,
	             "# HELP pingpong_store_map_used_bytes LMDB pages in use (not free), in bytes.\n"
	             "# TYPE pingpong_store_map_used_bytes gauge\n"
	             "pingpong_store_map_used_bytes %llu\n"
	             "# HELP pingpong_store_map_size_bytes The LMDB map size, in bytes.\n"
	             "# TYPE pingpong_store_map_size_bytes gauge\n"
	             "pingpong_store_map_size_bytes %llu\n",
	             (unsigned long long)ss.bytes_used, (unsigned long long)ss.bytes_max);
	if (n < 0 || (size_t)n >= cap - len)
		return 0;
	return len + (size_t)n;
}

static void
ping(struct pp_server *srv, struct pp_request *rq)
{
	struct pp_decision d;
	const struct pp_policy *p = &srv->cfg->policy;
	/* Before the decision: the window frees no earlier than this plus its
	 * retry, whichever clock the store decided by (Redis TIME included). */
	int64_t start_ms = srv->cfg->nginx_refusal_cache ? pp_clock_now_ms() : 0;
	int rc = pp_store_hit(srv->store, rq->http.key, rq->http.key_len, p, &d);

	if (rc) {
		pp_metrics_store_error();
		if (srv->cfg->on_store_error == PP_ON_ERROR_ADMIT) {
			unsigned long n;
			if (pp_log_due(&srv->admit_log, 10, &n))
				pp_log_error("store unavailable (%s): fail_open admitted %lu requests",
				             pp_store_strerror(rc), n);
			pp_response_pong(&rq->res, p, NULL);
			return;
		}
		pp_response_header(&rq->res, "Retry-After", "1");
		pp_response_error(&rq->res, 503, "store_unavailable",
		                  "The rate-limit store is unavailable; retry shortly.");
		return;
	}
	if (d.admit) {
		pp_response_pong(&rq->res, p, &d);
	} else if (srv->cfg->dry_run) {
		/* Decided and (not) recorded as enforcing would; only the answer
		 * differs: a pong with the real quota headers. */
		pp_metrics_throttled_dry(d.refused_by);
		pp_response_pong(&rq->res, p, &d);
		if (pp_log_enabled(PP_LOG_DEBUG))
			pp_log_debug("dry run: would throttle by %s limit, retry in %lld ms",
			             d.refused_by == PP_LIMIT_GLOBAL ? "global" : "per-key",
			             (long long)d.retry_ms);
	} else {
		pp_metrics_throttled(d.refused_by);
		pp_response_throttled(&rq->res, p, &d);
		if (srv->cfg->nginx_refusal_cache)
			pp_response_accel_expires(&rq->res, &d, start_ms, pp_clock_now_ms());
		if (pp_log_enabled(PP_LOG_DEBUG))
			pp_log_debug("throttled by %s limit, retry in %lld ms",
			             d.refused_by == PP_LIMIT_GLOBAL ? "global" : "per-key",
			             (long long)d.retry_ms);
	}
}

void
pp_handle(struct pp_server *srv, struct pp_request *rq)
{
	struct pp_verdict v;
	int rc;

	pp_validate(&rq->http, &v);
	switch (v.route) {
	case PP_ROUTE_ERROR:
		if (v.allow)
			pp_response_header(&rq->res, "Allow", "%s", v.allow);
		pp_response_error(&rq->res, v.status, v.error, v.message);
		break;
	case PP_ROUTE_PING:
		ping(srv, rq);
		break;
	case PP_ROUTE_HEALTHZ:
		pp_response_json(&rq->res, 200, "{\"status\":\"ok\"}");
		break;
	case PP_ROUTE_READYZ:
		rc = pp_store_probe(srv->store);
		if (rc == PP_STORE_OK) {
			pp_response_json(&rq->res, 200, "{\"status\":\"ready\"}");
		} else if (rc == PP_STORE_EUNAVAIL) {
			/* A shared store away is not this worker's fault: were
			 * every pod to go unready at once, nothing would answer,
			 * not even by on_store_error (SPEC). The body says it. */
			pp_response_json(&rq->res, 200, "{\"status\":\"ready\",\"store\":\"unavailable\"}");
		} else {
			pp_metrics_store_error();
			pp_response_header(&rq->res, "Retry-After", "1");
			pp_response_error(&rq->res, 503, "store_unavailable",
			                  "The rate-limit store cannot be read and written.");
		}
		break;
	case PP_ROUTE_METRICS:
		rq->res.status = 200;
		rq->res.content_type = "text/plain; version=0.0.4; charset=utf-8";
		rq->res.body_len = pp_metrics_render(rq->res.body, sizeof(rq->res.body));
		if (rq->res.body_len)
			rq->res.body_len = map_gauges(srv, rq->res.body, rq->res.body_len, sizeof(rq->res.body));
		if (rq->res.body_len == 0) {
			rq->res.content_type = "application/json";
			pp_response_error(&rq->res, 500, "internal_error", "Metrics did not fit the buffer.");
		}
		break;
	}
}
