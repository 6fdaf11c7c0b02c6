/* redis_script.c - the embedded decision script and its reply, read into the
 * same struct pp_decision src/limiter.c fills, so answers are identical. */
#include "redis_script.h"

#include <stdio.h>
#include <string.h>

#include "decide_lua.h" /* generated from src/decide.lua: PP_DECIDE_LUA */

/* Production time is always Redis TIME (seconds, microseconds) in ms. */
#define PRELUDE_TIME                                                              \
	"local t = redis.call('TIME')\n"                                          \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
	"local ttl_extra = 0\n"

const char pp_redis_script[] = PRELUDE_TIME PP_DECIDE_LUA;
const char pp_redis_script_body[] = PP_DECIDE_LUA;

static void
window(struct pp_window_state *w, const struct pp_limit *l, const long long *v)
{
	memset(w, 0, sizeof(*w));
	if (l->limit == PP_LIMIT_OFF)
		return; /* global_limit = off: all 0, as limiter.c reads it */
	w->used = (uint32_t)v[0];
	w->full = w->used >= l->limit;
	w->remaining = w->full ? 0 : l->limit - w->used;
	w->reset_ms = v[1];
	w->retry_ms = w->full ? v[2] : 0;
	w->age_ms = w->full ? v[3] : 0;
}

int
pp_redis_script_result(const redisReply *r, const struct pp_policy *p,
                       struct pp_decision *out)
{
	long long v[PP_REDIS_SCRIPT_FIELDS];
	size_t i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != PP_REDIS_SCRIPT_FIELDS)
		return -1;
	for (i = 0; i < PP_REDIS_SCRIPT_FIELDS; i++) {
		if (r->element[i]->type != REDIS_REPLY_INTEGER)
			return -1;
		v[i] = r->element[i]->integer;
	}
	/* Counts fit a window, durations fit one; anything else is not ours. */
	if (v[1] < 0 || v[1] > 1 || v[2] < 0 || v[2] > 1 ||
	    v[3] < 0 || v[3] > UINT32_MAX || v[7] < 0 || v[7] > UINT32_MAX)
		return -1;
	for (i = 4; i < PP_REDIS_SCRIPT_FIELDS; i++) {
		const struct pp_limit *l = i < 7 ? &p->per_key : &p->global;
		if (i != 7 && (v[i] < 0 || v[i] > l->window_ms))
			return -1;
	}

	memset(out, 0, sizeof(*out));
	out->now_ms = v[0];
	out->admit = v[1] == 1;
	out->rewrite = v[2] == 1;
	window(&out->key, &p->per_key, v + 3);
	window(&out->global, &p->global, v + 7);
	out->refused_by = PP_LIMIT_NONE;
	if (out->admit)
		return 0;
	if (!out->key.full && !out->global.full)
		return -1; /* a refusal with room: not our script's answer */
	/* pp_limiter_decide()'s rule: the limit that frees last (ties: per-key). */
	pp_limiter_blame(out);
	return 0;
}

static size_t
done(int n, size_t cap)
{
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t
pp_redis_key_name(char *buf, size_t cap, const char *prefix, const unsigned char *id, size_t idlen)
{
	char hex[2 * 64 + 1];
	size_t i;

	if (idlen > 64)
		return 0;
	for (i = 0; i < idlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	hex[2 * idlen] = '\0';
	return done(snprintf(buf, cap, "%s:{%s}:k:%s", prefix, prefix, hex), cap);
}

size_t
pp_redis_global_name(char *buf, size_t cap, const char *prefix)
{
	return done(snprintf(buf, cap, "%s:{%s}:g", prefix, prefix), cap);
}
