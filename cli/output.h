/* output.h - what the client prints: one line per event for people, or one
 * JSON object per event (--json) for scripts, plus the live countdown. */
#ifndef PP_CLI_OUTPUT_H
#define PP_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "plan.h"
#include "ratelimit.h"

struct pp_out {
	FILE *f;
	bool json;
	bool quiet;      /* only errors and the summary */
	bool countdown;  /* a terminal: redraw a countdown while paused */
	bool drawn;      /* a countdown line is on screen */
	int write_errno; /* the first failed write (EPIPE, ENOSPC ...), 0 if none */
	int64_t t0_mono; /* start, for "elapsed" */
};

struct pp_stats {
	long sent, pongs, throttled, errors;
};

/* All times passed in are pp_now_mono_ms() values. */
void pp_out_init(struct pp_out *o, FILE *f, bool json, bool quiet, bool tty, int64_t t0_mono);

/* Every function below flushes what it printed. Once a write has failed
 * (a closed pipe, a full disk) they print nothing more, and this returns
 * the errno of that first failure: the caller stops, since nobody reads. */
int pp_out_failed(const struct pp_out *o);

void pp_out_start(struct pp_out *o, const char *url, int64_t interval_ms, long count,
                  const char *shown_key, const char *key_source);
void pp_out_pong(struct pp_out *o, long seq, int64_t latency_ms, const struct pp_ratelimit *rl);
/* No quota left after a pong: pausing without sending. */
void pp_out_pause(struct pp_out *o, const char *limit, int64_t pause_ms);
/* A 429. why: PP_WHY_RETRY_AFTER or PP_WHY_BACKOFF. */
void pp_out_throttled(struct pp_out *o, const char *limit, enum pp_why why, int64_t pause_ms,
                      const char *message);
void pp_out_resume(struct pp_out *o, int64_t paused_ms);
/* A failure worth retrying. kind: "connect", "dns", "timeout", "tls",
 * "transfer", "http", "not_json", "unexpected". status 0 when none. */
void pp_out_error(struct pp_out *o, const char *kind, long status, const char *message,
                  enum pp_why why, int64_t retry_ms);
/* The server rejects the request itself; the client gives up. */
void pp_out_fatal(struct pp_out *o, long status, const char *error, const char *message);
/* Redraws "resuming in N s" (terminal only, not --json, not --quiet). */
void pp_out_countdown(struct pp_out *o, const char *what, int64_t left_ms);
void pp_out_summary(struct pp_out *o, const struct pp_stats *s, const char *stopped_by);

#endif
