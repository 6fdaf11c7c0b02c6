/* response.c - formats every answer of the API. Pure: the same decision gives
 * the same bytes, so the unit tests check the headers directly. */
#include "response.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
pp_response_reset(struct pp_response *r)
{
	r->status = 500;
	r->content_type = "application/json";
	r->headers_len = 0;
	r->headers[0] = '\0';
	r->body_len = 0;
}

const char *
pp_response_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void
pp_response_header(struct pp_response *r, const char *name, const char *fmt, ...)
{
	size_t room = sizeof(r->headers) - r->headers_len;
	int n = snprintf(r->headers + r->headers_len, room, "%s: ", name);
	if (n < 0 || (size_t)n >= room)
		goto undo;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(r->headers + r->headers_len + n, room - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m + 2) >= room)
		goto undo;
	memcpy(r->headers + r->headers_len + n + m, "\r\n", 3);
	r->headers_len += (size_t)(n + m + 2);
	return;
undo:
	r->headers[r->headers_len] = '\0';
}

/* Appends s as a JSON string; s is one of our own static sentences. */
static size_t
json_str(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	if (cap < 3)
		return 0;
	out[n++] = '"';
	for (; *s && n + 3 < cap; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

static void
body(struct pp_response *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
body(struct pp_response *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->body, sizeof(r->body), fmt, ap);
	va_end(ap);
	r->body_len = (n < 0 || (size_t)n >= sizeof(r->body)) ? 0 : (size_t)n;
}

void
pp_response_error(struct pp_response *r, int status, const char *code, const char *message)
{
	char msg[512];
	json_str(msg, sizeof(msg), message);
	r->status = status;
	body(r, "{\"error\":\"%s\",\"message\":%s}", code, msg);
}

long long
pp_ceil_seconds(int64_t ms)
{
	if (ms <= 0)
		return 0;
	return (long long)((ms + 999) / 1000);
}

void
pp_response_quota_headers(struct pp_response *r, const struct pp_policy *p, const struct pp_decision *d)
{
	if (p->global.limit == PP_LIMIT_OFF) { /* global_limit = off: no global item */
		pp_response_header(r, "RateLimit-Policy", "\"per-key\";q=%u;w=%lld",
		                   p->per_key.limit, pp_ceil_seconds(p->per_key.window_ms));
		pp_response_header(r, "RateLimit", "\"per-key\";r=%u;t=%lld",
		                   d->key.remaining, pp_ceil_seconds(d->key.reset_ms));
		return;
	}
	pp_response_header(r, "RateLimit-Policy", "\"per-key\";q=%u;w=%lld, \"global\";q=%u;w=%lld",
	                   p->per_key.limit, pp_ceil_seconds(p->per_key.window_ms),
	                   p->global.limit, pp_ceil_seconds(p->global.window_ms));
	pp_response_header(r, "RateLimit", "\"per-key\";r=%u;t=%lld, \"global\";r=%u;t=%lld",
	                   d->key.remaining, pp_ceil_seconds(d->key.reset_ms),
	                   d->global.remaining, pp_ceil_seconds(d->global.reset_ms));
}

void
pp_response_json(struct pp_response *r, int status, const char *json)
{
	r->status = status;
	body(r, "%s", json);
}

void
pp_response_pong(struct pp_response *r, const struct pp_policy *p, const struct pp_decision *d)
{
	if (d)
		pp_response_quota_headers(r, p, d);
	pp_response_json(r, 200, "{\"response\":\"pong\"}");
}

void
pp_response_throttled(struct pp_response *r, const struct pp_policy *p, const struct pp_decision *d)
{
	r->status = 429;
	pp_response_header(r, "Retry-After", "%lld", pp_ceil_seconds(d->retry_ms));
	pp_response_quota_headers(r, p, d);
	body(r, "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"%s\","
	        "\"retry_after\":%lld.%03lld,\"throttle_age\":%lld}",
	     d->refused_by == PP_LIMIT_GLOBAL ? "global" : "per-key",
	     (long long)(d->retry_ms / 1000), (long long)(d->retry_ms % 1000),
	     (long long)(d->throttle_age_ms / 1000));
}

#define ACCEL_MARGIN_MS 10

void
pp_response_accel_expires(struct pp_response *r, const struct pp_decision *d,
                          int64_t start_ms, int64_t now_ms)
{
	/* A margin off the free time: the store rounds retries to the ms, and
	 * nginx judges expiry by the time it cached at its last event-loop
	 * wake-up, which may lag by a few ms under load. */
	int64_t last_s = (start_ms + d->key.retry_ms - ACCEL_MARGIN_MS) / 1000 - 1;

	if (d->admit || !d->key.full || d->key.retry_ms <= 0 || start_ms <= 0 ||
	    last_s < now_ms / 1000)
		pp_response_header(r, "X-Accel-Expires", "0");
	else
		pp_response_header(r, "X-Accel-Expires", "@%lld", (long long)last_s);
}

size_t
pp_response_serialize(const struct pp_response *r, int with_body, char *out, size_t cap)
{
	int n = snprintf(out, cap, "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
	                 r->status, pp_response_reason(r->status), r->content_type,
	                 r->body_len, r->headers);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	size_t len = (size_t)n;
	if (with_body) {
		if (r->body_len > cap - len)
			return 0;
		memcpy(out + len, r->body, r->body_len);
		len += r->body_len;
	}
	return len;
}
