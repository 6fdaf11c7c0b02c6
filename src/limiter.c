/* limiter.c - exact sliding windows: a request at t is admitted iff fewer than
 * limit admissions lie in (t - window, t], for the key and for everyone. */
#include "limiter.h"

#include <string.h>

static int64_t
clamp(int64_t t, int64_t now)
{
	return t > now ? now : t;
}

static bool
live(int64_t t, const struct pp_limit *l, int64_t now)
{
	return clamp(t, now) > now - l->window_ms;
}

/* Buckets are sorted by time and "live" only grows with time, so the first
 * live bucket is found by bisection: windows of a high limit hold ~1000. */
static uint32_t
first_live(const struct pp_window *w, const struct pp_limit *l, int64_t now)
{
	uint32_t lo = 0, hi = w->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (live(w->b[mid].t_ms, l, now))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

uint32_t
pp_limiter_cap(const struct pp_limit *l)
{
	int64_t c = l->window_ms < (int64_t)l->limit ? l->window_ms : (int64_t)l->limit;
	return (uint32_t)c + 1;
}

void
pp_limiter_inspect(const struct pp_window *w, const struct pp_limit *l,
                   int64_t now, struct pp_window_state *out)
{
	uint64_t used = 0;
	uint32_t first = first_live(w, l, now), i;

	memset(out, 0, sizeof(*out));
	if (l->limit == PP_LIMIT_OFF)
		return;
	for (i = first; i < w->n; i++)
		used += w->b[i].n;
	out->used = used > UINT32_MAX ? UINT32_MAX : (uint32_t)used;
	out->full = used >= l->limit;
	out->remaining = out->full ? 0 : l->limit - out->used;
	if (first == w->n)
		return;
	out->reset_ms = clamp(w->b[first].t_ms, now) + l->window_ms - now;
	if (!out->full)
		return;

	/* Room returns once enough of the oldest live admissions expire that
	 * fewer than limit remain; the window filled at the limit-th one. */
	uint64_t acc = 0;
	bool have_retry = false, have_age = false;
	for (i = first; i < w->n; i++) {
		int64_t t = clamp(w->b[i].t_ms, now);
		acc += w->b[i].n;
		if (!have_retry && used - acc < l->limit) {
			out->retry_ms = t + l->window_ms - now;
			have_retry = true;
		}
		if (!have_age && acc >= l->limit) {
			out->age_ms = now - t;
			have_age = true;
		}
		if (have_retry && have_age)
			break;
	}
}

void
pp_limiter_decide(const struct pp_window *key, const struct pp_window *global,
                  const struct pp_policy *p, int64_t now, struct pp_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->now_ms = now;
	pp_limiter_inspect(key, &p->per_key, now, &out->key);
	pp_limiter_inspect(global, &p->global, now, &out->global);
	out->rewrite = (key->n && key->b[key->n - 1].t_ms > now) ||
	               (p->global.limit != PP_LIMIT_OFF && global->n &&
	                global->b[global->n - 1].t_ms > now);
	out->admit = !out->key.full && !out->global.full;
	out->refused_by = PP_LIMIT_NONE;
	if (out->admit)
		return;
	if (out->key.full && (!out->global.full || out->key.retry_ms >= out->global.retry_ms)) {
		out->refused_by = PP_LIMIT_KEY;
		out->throttle_age_ms = out->key.age_ms;
	} else {
		out->refused_by = PP_LIMIT_GLOBAL;
		out->throttle_age_ms = out->global.age_ms;
	}
	out->retry_ms = out->key.retry_ms > out->global.retry_ms ?
	                out->key.retry_ms : out->global.retry_ms;
}

uint32_t
pp_limiter_prune(struct pp_window *w, const struct pp_limit *l, int64_t now)
{
	uint32_t i = first_live(w, l, now), j = 0;

	if (w->n == 0 || w->b[w->n - 1].t_ms <= now) {
		/* Nothing from the future: drop the expired prefix in one move. */
		if (i > 0)
			memmove(w->b, w->b + i, (size_t)(w->n - i) * sizeof(*w->b));
		w->n -= i;
		return w->n;
	}
	/* Clamp while compacting: buckets from the future collapse into now. */
	for (; i < w->n; i++) {
		struct pp_bucket b = w->b[i];
		b.t_ms = clamp(b.t_ms, now);
		b.pad = 0;
		if (j > 0 && w->b[j - 1].t_ms == b.t_ms)
			w->b[j - 1].n += b.n;
		else
			w->b[j++] = b;
	}
	w->n = j;
	return j;
}

int64_t
pp_limiter_clear_ms(const struct pp_window *w, const struct pp_limit *l, int64_t now)
{
	if (w->n == 0 || first_live(w, l, now) == w->n)
		return 0;
	return clamp(w->b[w->n - 1].t_ms, now) + l->window_ms - now;
}

/* Whether recording at now fits in w->cap, without changing w. */
static bool
fits(const struct pp_window *w, const struct pp_limit *l, int64_t now)
{
	uint32_t live_n = w->n - first_live(w, l, now);
	bool merges = live_n > 0 && clamp(w->b[w->n - 1].t_ms, now) == now;
	return merges || live_n + 1 <= w->cap;
}

int
pp_limiter_record(struct pp_window *w, const struct pp_limit *l, int64_t now)
{
	if (!fits(w, l, now))
		return -1;
	pp_limiter_prune(w, l, now);
	if (w->n > 0 && w->b[w->n - 1].t_ms == now) {
		w->b[w->n - 1].n++;
	} else {
		w->b[w->n].t_ms = now;
		w->b[w->n].n = 1;
		w->b[w->n].pad = 0;
		w->n++;
	}
	return 0;
}

/* The state after one admission at now, from the state before it: one more
 * used; the oldest live admission is unchanged unless there was none. A
 * window that just filled is inspected for its retry and age. */
static void
counted(struct pp_window_state *st, const struct pp_window *w, const struct pp_limit *l, int64_t now)
{
	if (st->used == 0)
		st->reset_ms = l->window_ms;
	st->used++;
	st->remaining--;
	if (st->remaining == 0)
		pp_limiter_inspect(w, l, now, st);
}

int
pp_limiter_admit(struct pp_window *key, struct pp_window *global,
                 const struct pp_policy *p, int64_t now, struct pp_decision *out)
{
	bool global_on = p->global.limit != PP_LIMIT_OFF;

	pp_limiter_decide(key, global, p, now, out);
	if (!out->admit) {
		if (out->rewrite) {
			pp_limiter_prune(key, &p->per_key, now);
			if (global_on)
				pp_limiter_prune(global, &p->global, now);
		}
		return 0;
	}
	/* Both or neither: check room in each before recording either. */
	if (!fits(key, &p->per_key, now) || (global_on && !fits(global, &p->global, now)))
		return -1;
	pp_limiter_record(key, &p->per_key, now);
	counted(&out->key, key, &p->per_key, now);
	if (global_on) {
		pp_limiter_record(global, &p->global, now);
		counted(&out->global, global, &p->global, now);
	}
	return 0;
}
