/* ratelimit.h - the server's timing hints, parsed: RateLimit and
 * RateLimit-Policy (IETF httpapi draft -10, Structured Fields) and Retry-After. */
#ifndef PP_CLI_RATELIMIT_H
#define PP_CLI_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define PP_RL_MAX_POLICIES 8
#define PP_RL_NAME_MAX     64

/* The longest wait any hint may ask for, in seconds: a day. A larger
 * RateLimit t or Retry-After is taken as a day, so a server (or a proxy)
 * cannot park the client for months with one header. */
#define PP_HINT_MAX_S 86400

/* One named policy. A number the server did not send (or sent with the
 * wrong type or a negative value) is -1. */
struct pp_rl_policy {
	char name[PP_RL_NAME_MAX]; /* NUL-terminated, from an sf-string or token */
	int64_t q;                 /* RateLimit-Policy: quota units per window */
	int64_t w;                 /* RateLimit-Policy: window, seconds */
	int64_t r;                 /* RateLimit: units still admitted now */
	int64_t t;                 /* RateLimit: seconds until a unit frees, <= PP_HINT_MAX_S */
};

/* Both fields merged by policy name. Zero it (or call pp_rl_init) first. */
struct pp_ratelimit {
	struct pp_rl_policy p[PP_RL_MAX_POLICIES];
	unsigned n;
};

void pp_rl_init(struct pp_ratelimit *rl);

/* Parse one field value (len bytes, need not be NUL-terminated; several
 * field lines already joined with ", ") and merge its members into rl by
 * name. Returns 0, or -1 when the value is not a valid Structured Fields
 * List: then rl is left exactly as it was (RFC 8941: the field is ignored).
 * Members past PP_RL_MAX_POLICIES, inner lists and names longer than
 * PP_RL_NAME_MAX-1 bytes are skipped; a parameter of the wrong type is
 * treated as absent. */
int pp_rl_parse_ratelimit(struct pp_ratelimit *rl, const char *v, size_t len);
int pp_rl_parse_policy(struct pp_ratelimit *rl, const char *v, size_t len);

/* The policy with r == 0 and a known t that frees last, or NULL when every
 * policy still has quota (or says nothing). */
const struct pp_rl_policy *pp_rl_exhausted(const struct pp_ratelimit *rl);

/* Retry-After: delay-seconds or an HTTP-date (IMF-fixdate), the latter
 * measured against now_epoch (seconds since 1970, supplied by the caller:
 * this file reads no clock). Dates in the past give 0. Returns 0 with
 * *out_s set (capped at PP_HINT_MAX_S), or -1 if the value is malformed. */
int pp_retry_after_parse(const char *v, size_t len, int64_t now_epoch,
                         int64_t *out_s);

#endif
