/* schedule.c - deadline arithmetic for the client's send loop and its
 * backoff. Pure: the caller passes "now"; no clock, no I/O. */
#include "schedule.h"

void
pp_sched_start(struct pp_sched *s, int64_t now_ms, int64_t interval_ms)
{
	s->anchor_ms = now_ms;
	s->interval_ms = interval_ms > 0 ? interval_ms : 1;
	s->tick = 0;
}

int64_t
pp_sched_due(const struct pp_sched *s)
{
	return s->anchor_ms + s->tick * s->interval_ms;
}

int64_t
pp_sched_next(struct pp_sched *s, int64_t now_ms)
{
	s->tick++;
	if (pp_sched_due(s) < now_ms) {
		/* Skip to the first tick at or after now: ceil((now - anchor) / interval). */
		int64_t late = now_ms - s->anchor_ms;
		s->tick = (late + s->interval_ms - 1) / s->interval_ms;
	}
	return pp_sched_due(s);
}

/* After a pause: the grid restarts at at_ms (the next tick is due then). */
static void
restart(struct pp_sched *s, int64_t at_ms)
{
	s->anchor_ms = at_ms;
	s->tick = 0;
}

int64_t
pp_sched_after(struct pp_sched *s, int64_t recv_ms, int64_t pause_ms,
               int64_t *delayed_ms)
{
	int64_t tick = pp_sched_next(s, recv_ms);
	int64_t until = recv_ms + (pause_ms > 0 ? pause_ms : 0);

	if (until > tick) {
		restart(s, until);
		if (delayed_ms)
			*delayed_ms = until - tick;
		return until;
	}
	if (delayed_ms)
		*delayed_ms = 0;
	return tick;
}

int64_t
pp_sleep_ms(int64_t deadline_ms, int64_t now_ms)
{
	return deadline_ms > now_ms ? deadline_ms - now_ms : 0;
}

void
pp_backoff_init(struct pp_backoff *b, int64_t base_ms, int64_t max_ms)
{
	b->base_ms = base_ms > 0 ? base_ms : 1;
	b->max_ms = max_ms >= b->base_ms ? max_ms : b->base_ms;
	b->next_ms = b->base_ms;
}

int64_t
pp_backoff_next(struct pp_backoff *b)
{
	int64_t d = b->next_ms;

	b->next_ms = d > b->max_ms / 2 ? b->max_ms : d * 2;
	return d;
}

void
pp_backoff_reset(struct pp_backoff *b)
{
	b->next_ms = b->base_ms;
}
