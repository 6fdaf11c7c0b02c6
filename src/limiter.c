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
	uint32_t first = w->n, i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < w->n; i++) {
		if (!live(w->b[i].t_ms, l, now))
			continue;
		if (first == w->n)
			first = i;
		used += w->b[i].n;
	}
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
	               (global->n && global->b[global->n - 1].t_ms > now);
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
	uint32_t i = 0, j = 0;

	while (i < w->n && !live(w->b[i].t_ms, l, now))
		i++;
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

/* Whether recording at now fits in w->cap, without changing w. */
static bool
fits(const struct pp_window *w, const struct pp_limit *l, int64_t now)
{
	uint32_t i = 0;
	while (i < w->n && !live(w->b[i].t_ms, l, now))
		i++;
	uint32_t live_n = w->n - i;
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

int
pp_limiter_admit(struct pp_window *key, struct pp_window *global,
                 const struct pp_policy *p, int64_t now, struct pp_decision *out)
{
	pp_limiter_decide(key, global, p, now, out);
	if (!out->admit) {
		if (out->rewrite) {
			pp_limiter_prune(key, &p->per_key, now);
			pp_limiter_prune(global, &p->global, now);
		}
		return 0;
	}
	/* Both or neither: check room in each before recording either. */
	if (!fits(key, &p->per_key, now) || !fits(global, &p->global, now))
		return -1;
	pp_limiter_record(key, &p->per_key, now);
	pp_limiter_record(global, &p->global, now);
	pp_limiter_inspect(key, &p->per_key, now, &out->key);
	pp_limiter_inspect(global, &p->global, now, &out->global);
	return 0;
}
