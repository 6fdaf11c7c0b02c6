/* body.h - what the server's JSON answer says: a pong, a refusal (which
 * limit, how long), an API error, or something that is not our API at all. */
#ifndef PP_CLI_BODY_H
#define PP_CLI_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pp_body_kind {
	PP_BODY_PONG,     /* {"response":"pong"} */
	PP_BODY_THROTTLE, /* has "message" (the original 429 body), maybe limit/retry_after */
	PP_BODY_ERROR,    /* {"error":"...","message":"..."} */
	PP_BODY_OTHER,    /* valid JSON, none of the above */
	PP_BODY_NOT_JSON, /* empty, HTML, truncated ... */
};

struct pp_body {
	enum pp_body_kind kind;
	char limit[32];    /* "per-key", "global", or "" when absent */
	int64_t retry_ms;  /* retry_after in ms (rounded up), -1 when absent or invalid */
	char error[48];    /* the "error" code, "" when absent */
	char message[160]; /* the "message", truncated, "" when absent */
};

/* Classifies len bytes of body. Never fails: unparsable input is
 * PP_BODY_NOT_JSON. Strings are copied, so the result owns nothing: valid
 * UTF-8, truncated to fit on a character boundary, with C0 and C1 control
 * characters and DEL replaced by '?'. */
void pp_body_parse(const char *buf, size_t len, struct pp_body *out);

#endif
