/* plan.h - what one answer (or failed transfer) means and how long the
 * client must wait before the next request. Pure: no clock, no I/O. */
#ifndef PP_CLI_PLAN_H
#define PP_CLI_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "body.h"
#include "history.h"
#include "ratelimit.h"
#include "schedule.h"

/* How the transfer itself went, before any HTTP meaning. */
enum pp_transport {
	PP_TR_OK,          /* an HTTP answer arrived */
	PP_TR_CONNECT,     /* connection refused, unreachable, reset */
	PP_TR_DNS,         /* host name did not resolve */
	PP_TR_TIMEOUT,     /* --timeout passed */
	PP_TR_TLS,         /* TLS handshake or certificate */
	PP_TR_OTHER,       /* anything else libcurl reports */
	PP_TR_INTERRUPTED, /* SIGINT/SIGTERM during the transfer */
};

/* Everything known about one attempt, already parsed. */
struct pp_outcome {
	enum pp_transport transport;
	long status; /* HTTP status, 0 without an answer */
	struct pp_body body;
	struct pp_ratelimit rl; /* RateLimit + RateLimit-Policy */
	int64_t retry_after_s;  /* Retry-After header, -1 when absent or malformed */
};

enum pp_event {
	PP_EV_PONG,      /* 200 {"response":"pong"} */
	PP_EV_THROTTLED, /* 429 */
	PP_EV_ERROR,     /* worth retrying: transport, 5xx, garbage */
	PP_EV_FATAL,     /* the server rejects our request itself (4xx): retrying cannot help */
	PP_EV_STOP,      /* interrupted by a signal */
};

/* Where the length of a pause came from. */
enum pp_why {
	PP_WHY_NONE,        /* no pause: the next tick of the schedule */
	PP_WHY_QUOTA,       /* RateLimit said r=0: wait t, send nothing that would be refused */
	PP_WHY_RETRY_AFTER, /* Retry-After / retry_after / RateLimit on a refusal */
	PP_WHY_BACKOFF,     /* no hint: PP_BACKOFF_BASE_MS, doubled ... PP_BACKOFF_MAX_MS */
};

struct pp_plan {
	enum pp_event event;
	enum pp_why why;
	int64_t pause_ms;           /* from when the answer arrived; 0 with PP_WHY_NONE */
	char limit[PP_RL_NAME_MAX]; /* the limit that is exhausted, "" when unknown */
};

/* Backoff when the server gives no hint (a bare 429, a 5xx, no answer at
 * all): the base, doubled after each failure up to the cap, base again
 * after a pong. */
#define PP_BACKOFF_BASE_MS 1000
#define PP_BACKOFF_MAX_MS  60000

/* Decides. b is advanced on a hintless refusal or an error and reset on a
 * pong. */
void pp_plan_decide(const struct pp_outcome *o, struct pp_backoff *b, struct pp_plan *out);

/* A margin added to a wait the client narrowed itself, for clocks that
 * differ a little in rate between client and server. */
#define PP_REFINE_MARGIN_MS 20

/* For a PP_WHY_QUOTA pause: narrows each exhausted policy's whole-second t
 * with what the client knows of its own admissions (h already holds this
 * pong, answered at recv_ms), never beyond t. Other plans are unchanged. */
void pp_plan_refine(struct pp_plan *p, const struct pp_ratelimit *rl,
                    const struct pp_hist *h, int64_t recv_ms);

#endif
