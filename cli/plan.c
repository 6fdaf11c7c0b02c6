/* plan.c - turns one attempt's outcome into the next pause: the server's
 * hints when it gives them, exponential backoff when it does not. */
#include "plan.h"

#include <string.h>

static void
set_limit(struct pp_plan *p, const char *name)
{
	size_t n = strlen(name);

	if (n >= sizeof(p->limit))
		n = sizeof(p->limit) - 1;
	memcpy(p->limit, name, n);
	p->limit[n] = '\0';
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* The longest wait any hint on a refusal asks for, 0 when there is none. */
static int64_t
refusal_hint_ms(const struct pp_outcome *o, const struct pp_rl_policy *ex)
{
	int64_t ms = 0;

	if (o->retry_after_s >= 0)
		ms = max64(ms, o->retry_after_s * 1000);
	if (o->body.retry_ms >= 0)
		ms = max64(ms, o->body.retry_ms);
	if (ex)
		ms = max64(ms, ex->t * 1000);
	return ms;
}

/* The limit the refusal names: the body's, else the exhausted policy's. */
static void
refusal_limit(struct pp_plan *p, const struct pp_outcome *o,
              const struct pp_rl_policy *ex)
{
	if (o->body.limit[0])
		set_limit(p, o->body.limit);
	else if (ex)
		set_limit(p, ex->name);
}

static void
backoff(struct pp_plan *p, struct pp_backoff *b)
{
	p->why = PP_WHY_BACKOFF;
	p->pause_ms = pp_backoff_next(b);
}

static void
decide_pong(struct pp_plan *p, const struct pp_rl_policy *ex, struct pp_backoff *b)
{
	p->event = PP_EV_PONG;
	pp_backoff_reset(b);
	if (ex && ex->t > 0) {
		/* No quota left: the next request would be refused, so wait. */
		p->why = PP_WHY_QUOTA;
		p->pause_ms = ex->t * 1000;
		set_limit(p, ex->name);
	}
}

static void
decide_refusal(struct pp_plan *p, const struct pp_outcome *o,
               const struct pp_rl_policy *ex, struct pp_backoff *b)
{
	p->event = PP_EV_THROTTLED;
	refusal_limit(p, o, ex);
	p->pause_ms = refusal_hint_ms(o, ex);
	if (p->pause_ms > 0)
		p->why = PP_WHY_RETRY_AFTER;
	else
		backoff(p, b); /* the original service: a JSON message and nothing else */
}

void
pp_plan_decide(const struct pp_outcome *o, struct pp_backoff *b, struct pp_plan *out)
{
	const struct pp_rl_policy *ex = pp_rl_exhausted(&o->rl);

	memset(out, 0, sizeof(*out));
	out->why = PP_WHY_NONE;

	if (o->transport == PP_TR_INTERRUPTED) {
		out->event = PP_EV_STOP;
	} else if (o->transport != PP_TR_OK) {
		out->event = PP_EV_ERROR;
		backoff(out, b);
	} else if (o->status == 200 && o->body.kind == PP_BODY_PONG) {
		decide_pong(out, ex, b);
	} else if (o->status == 429) {
		decide_refusal(out, o, ex, b);
	} else if (o->status >= 400 && o->status < 500 && o->status != 408) {
		out->event = PP_EV_FATAL;
	} else {
		/* 5xx, a 200 that is not a pong, anything else: retry later. */
		out->event = PP_EV_ERROR;
		if (o->retry_after_s > 0) {
			out->why = PP_WHY_RETRY_AFTER;
			out->pause_ms = o->retry_after_s * 1000;
		} else {
			backoff(out, b);
		}
	}
}

void
pp_plan_refine(struct pp_plan *p, const struct pp_ratelimit *rl,
               const struct pp_hist *h, int64_t recv_ms)
{
	const struct pp_rl_policy *worst = NULL;
	int64_t pause = 0;

	if (p->why != PP_WHY_QUOTA)
		return;
	/* The wait is set by the exhausted policy that frees last. */
	for (unsigned k = 0; k < rl->n; k++) {
		const struct pp_rl_policy *pol = &rl->p[k];
		if (pol->r != 0 || pol->t < 0)
			continue;
		int64_t ms = pol->t * 1000;
		if (pol->q > 0 && pol->w > 0) {
			int64_t own = pp_hist_free_in(h, pol->q, pol->w * 1000, recv_ms);
			if (own >= 0 && own + PP_REFINE_MARGIN_MS < ms)
				ms = own + PP_REFINE_MARGIN_MS;
		}
		if (!worst || ms > pause) {
			worst = pol;
			pause = ms;
		}
	}
	if (!worst)
		return;
	p->pause_ms = pause;
	set_limit(p, worst->name);
	if (pause == 0)
		p->why = PP_WHY_NONE;
}
