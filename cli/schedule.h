/* schedule.h - when the client sends: a fixed grid of absolute deadlines,
 * pauses that move the grid, and the backoff used when the server gives no hint. */
#ifndef PP_CLI_SCHEDULE_H
#define PP_CLI_SCHEDULE_H

#include <stdint.h>

/* All times are milliseconds on the caller's monotonic clock: nothing here
 * reads a clock, so tests drive it with a fake one.
 * Tick k is due at anchor + k * interval. Deadlines are computed from the
 * anchor, never by adding to the previous one, so the grid does not drift. */
struct pp_sched {
	int64_t anchor_ms;
	int64_t interval_ms; /* > 0 */
	int64_t tick;        /* index of the tick last handed out */
};

/* The first tick is due at now_ms. */
void pp_sched_start(struct pp_sched *s, int64_t now_ms, int64_t interval_ms);

/* Deadline of the tick last handed out. */
int64_t pp_sched_due(const struct pp_sched *s);

/* Moves to the next tick and returns its deadline. When that deadline is
 * already past (a request took longer than the interval), the missed ticks
 * are skipped, not sent late in a burst: the result is then the first grid
 * point >= now_ms. */
int64_t pp_sched_next(struct pp_sched *s, int64_t now_ms);

/* After an answer that arrived at recv_ms and asks for a pause of pause_ms
 * from then (0: none): the deadline of the next request. That is the next
 * tick, or the end of the pause when it lasts longer; the grid then restarts
 * there. *delayed_ms (may be NULL) gets how far the pause pushed the next
 * request past its tick, 0 when it did not. */
int64_t pp_sched_after(struct pp_sched *s, int64_t recv_ms, int64_t pause_ms,
                       int64_t *delayed_ms);

/* How long to sleep until deadline_ms: never negative. */
int64_t pp_sleep_ms(int64_t deadline_ms, int64_t now_ms);

/* Exponential backoff: base, 2*base, 4*base ... capped at max. */
struct pp_backoff {
	int64_t base_ms;
	int64_t max_ms;
	int64_t next_ms; /* what the next call returns */
};

void pp_backoff_init(struct pp_backoff *b, int64_t base_ms, int64_t max_ms);
/* Returns the delay to wait now and doubles the next one (up to max). */
int64_t pp_backoff_next(struct pp_backoff *b);
/* After a success: the next delay is base again. */
void pp_backoff_reset(struct pp_backoff *b);

#endif
