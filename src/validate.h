/* validate.h - pure request checks: method, path, headers, body -> a route or
 * an error answer. Knows nothing of FastCGI, the store or the clock. */
#ifndef PP_VALIDATE_H
#define PP_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#define PP_BODY_MAX 4096 /* bytes of body read at most; one more means 413 */
#define PP_KEY_MAX  256  /* bytes of x-secret-key at most */

/* What the web server told us. Every pointer is borrowed and may be NULL
 * (absent). body holds body_len bytes; body_over means more than
 * PP_BODY_MAX bytes were sent (or announced), the rest unread. */
struct pp_http_req {
	const char *method;
	const char *path; /* URI path without the query string */
	const char *content_type;
	const char *key; /* x-secret-key, NUL-terminated by the server */
	size_t key_len;
	const char *body;
	size_t body_len;
	bool body_over;
};

enum pp_route {
	PP_ROUTE_ERROR = 0, /* answer with the pp_verdict's error */
	PP_ROUTE_PING,      /* a valid ping: go to the limiter */
	PP_ROUTE_HEALTHZ,
	PP_ROUTE_READYZ,
	PP_ROUTE_METRICS,
};

struct pp_verdict {
	enum pp_route route;
	int status;          /* HTTP status when route == PP_ROUTE_ERROR */
	const char *error;   /* machine code, e.g. "missing_secret_key"; static */
	const char *message; /* human sentence; static */
	const char *allow;   /* Allow header for 405, else NULL; static */
};

/* Classifies req in SPEC's order: 404, 405, 415, 413, 400 (key, JSON,
 * payload). Never allocates past what jansson needs to parse the body, and
 * frees that before returning. Always fills out. */
void pp_validate(const struct pp_http_req *req, struct pp_verdict *out);

/* Only the media type part: true if ct names application/json, any case,
 * with or without parameters. */
bool pp_validate_content_type(const char *ct);

#endif
