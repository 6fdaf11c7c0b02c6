/* response.h - one HTTP answer as data (status, headers, body) and the pure
 * formatting of every answer the API gives: JSON bodies, RateLimit fields. */
#ifndef PP_RESPONSE_H
#define PP_RESPONSE_H

#include <stddef.h>

#include "limiter.h"

#define PP_HEADERS_MAX       1024
#define PP_RESPONSE_BODY_MAX 32768 /* /metrics is the largest answer */

struct pp_response {
	int status;
	const char *content_type;     /* static */
	char headers[PP_HEADERS_MAX]; /* extra "Name: value\r\n" lines */
	size_t headers_len;
	char body[PP_RESPONSE_BODY_MAX];
	size_t body_len;
};

void pp_response_reset(struct pp_response *r);
const char *pp_response_reason(int status);

/* Appends one header line; silently drops it if it does not fit (the
 * headers we send are far smaller than the buffer). */
void pp_response_header(struct pp_response *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* {"error":code,"message":message} with status. */
void pp_response_error(struct pp_response *r, int status, const char *code, const char *message);
/* status with a fixed JSON body (a literal of ours, copied). */
void pp_response_json(struct pp_response *r, int status, const char *json);
/* {"response":"pong"} with the quota headers of d; d NULL (fail_open on a
 * store error: no quota is known) sends none. */
void pp_response_pong(struct pp_response *r, const struct pp_policy *p, const struct pp_decision *d);
/* 429 with Retry-After, the quota headers and the original service's body. */
void pp_response_throttled(struct pp_response *r, const struct pp_policy *p, const struct pp_decision *d);
/* Only the quota headers: RateLimit-Policy and RateLimit. */
void pp_response_quota_headers(struct pp_response *r, const struct pp_policy *p, const struct pp_decision *d);

/* nginx_refusal_cache = yes: on a 429 (d refused), X-Accel-Expires with the
 * last whole epoch second nginx may repeat it in: "@S" where S is one second
 * before the key's window frees, counted from start_ms (the host clock read
 * before the decision, so the window frees no earlier than start_ms plus the
 * key's retry). nginx keeps an entry while its second clock is <= S, so it
 * ends early, never late. "0" (do not cache) when the key's own window is
 * not full (a global-only refusal) or S is before now_ms's second. */
void pp_response_accel_expires(struct pp_response *r, const struct pp_decision *d,
                               int64_t start_ms, int64_t now_ms);

/* Whole seconds, rounded up, for header fields. */
long long pp_ceil_seconds(int64_t ms);

/* Serializes status line, headers and body as a CGI/FastCGI response into
 * out (cap bytes); with_body false for HEAD. Returns the length, or 0 if it
 * did not fit. */
size_t pp_response_serialize(const struct pp_response *r, int with_body, char *out, size_t cap);

#endif
