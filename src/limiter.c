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

static void settle(struct pp_decision *out);

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
	settle(out);
}

/* The verdict from both window states. */
static void
settle(struct pp_decision *out)
{
	out->admit = !out->key.full && !out->global.full;
	out->refused_by = PP_LIMIT_NONE;
	if (!out->admit)
		pp_limiter_blame(out);
}

void
pp_limiter_blame(struct pp_decision *out)
{
	if (out->key.full && (!out->global.full || out->key.retry_ms >= out->global.retry_ms)) {
		out->refused_by = PP_LIMIT_KEY;
		out->throttle_age_ms = out->key.age_ms;
	} else {
		out->refused_by = PP_LIMIT_GLOBAL;
		out->throttle_age_ms = out->global.age_ms;
	}
	out->retry_ms = out->key.retry_ms > out->global.retry_ms ?
	                        out->key.retry_ms :
	                        out->global.retry_ms;
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

/* ---- slots ---------------------------------------------------------------- */

int64_t
pp_slot_of(int64_t t)
{
	return t >= 0 ? t / PP_SLOT_MS : -((-t + PP_SLOT_MS - 1) / PP_SLOT_MS);
}

int64_t
pp_slot_first_live(const struct pp_limit *l, int64_t now)
{
	return pp_slot_of(now - l->window_ms + 1);
}

/* The time of the admission with running number x (0 = the first ever
 * recorded), clamped to now; -1 if x is in a slot left out of s. */
static int
locate(const struct pp_slot *s, uint32_t n, uint64_t x, int64_t now, int64_t *t)
{
	for (uint32_t i = 0; i < n; i++) {
		if (x < s[i].before || x >= s[i].before + s[i].count)
			continue;
		uint64_t acc = s[i].before;
		for (uint32_t j = 0; j < s[i].w.n; j++) {
			acc += s[i].w.b[j].n;
			if (x < acc) {
				*t = clamp(s[i].w.b[j].t_ms, now);
				return 0;
			}
		}
		return -1; /* count and buckets disagree: treat as missing */
	}
	return -1;
}

int
pp_limiter_inspect_slots(const struct pp_slot *s, uint32_t n, const struct pp_limit *l,
                         int64_t now, struct pp_window_state *out)
{
	memset(out, 0, sizeof(*out));
	if (l->limit == PP_LIMIT_OFF || n == 0)
		return 0;
	/* Admissions of the oldest slot that have expired: a sorted prefix. */
	uint64_t start = s[0].before;
	uint32_t first = first_live(&s[0].w, l, now);
	for (uint32_t i = 0; i < first; i++)
		start += s[0].w.b[i].n;
	uint64_t end = s[n - 1].before + s[n - 1].count;
	uint64_t used = end > start ? end - start : 0;
	int64_t t;

	out->used = used > UINT32_MAX ? UINT32_MAX : (uint32_t)used;
	out->full = used >= l->limit;
	out->remaining = out->full ? 0 : l->limit - out->used;
	if (used == 0)
		return 0;
	if (locate(s, n, start, now, &t))
		return 1;
	out->reset_ms = t + l->window_ms - now;
	if (!out->full)
		return 0;
	/* The window has room again once the (used - limit + 1)-th oldest live
	 * admission expires; it filled at the limit-th. */
	if (locate(s, n, start + (used - l->limit), now, &t))
		return 1;
	out->retry_ms = t + l->window_ms - now;
	if (locate(s, n, start + l->limit - 1, now, &t))
		return 1;
	out->age_ms = now - t;
	return 0;
}

int
pp_limiter_decide_slots(const struct pp_window *key, const struct pp_slot *g, uint32_t ng,
                        const struct pp_policy *p, int64_t now, struct pp_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->now_ms = now;
	pp_limiter_inspect(key, &p->per_key, now, &out->key);
	if (pp_limiter_inspect_slots(g, ng, &p->global, now, &out->global))
		return 1;
	const struct pp_window *nw = ng ? &g[ng - 1].w : NULL;
	out->rewrite = (key->n && key->b[key->n - 1].t_ms > now) ||
	               (p->global.limit != PP_LIMIT_OFF && nw && nw->n &&
	                nw->b[nw->n - 1].t_ms > now);
	settle(out);
	return 0;
}

int
pp_limiter_admit_slots(struct pp_window *key, struct pp_slot *g, uint32_t ng,
                       const struct pp_policy *p, int64_t now, struct pp_decision *out)
{
	bool global_on = p->global.limit != PP_LIMIT_OFF;

	if (pp_limiter_decide_slots(key, g, ng, p, now, out))
		return 1;
	if (!out->admit) {
		if (out->rewrite)
			pp_limiter_prune(key, &p->per_key, now);
		return 0;
	}
	struct pp_slot *cur = global_on && ng ? &g[ng - 1] : NULL;
	if (global_on && (!cur || cur->id != pp_slot_of(now)))
		return -1; /* the caller did not give the record to write */
	/* The admission that fills the window is inspected again afterwards
	 * for its retry and age: that needs every slot (checked before anything
	 * is recorded, so a second call with all of them records once). */
	if (cur && out->global.remaining == 1) {
		for (uint32_t i = 0; i + 1 < ng; i++)
			if (g[i + 1].before != g[i].before + g[i].count)
				return 1;
	}
	bool merges = cur && cur->w.n && cur->w.b[cur->w.n - 1].t_ms == now;
	if (!fits(key, &p->per_key, now) || (cur && !merges && cur->w.n + 1 > cur->w.cap))
		return -1;
	pp_limiter_record(key, &p->per_key, now);
	counted(&out->key, key, &p->per_key, now);
	if (!cur)
		return 0;
	if (merges) {
		cur->w.b[cur->w.n - 1].n++;
	} else {
		cur->w.b[cur->w.n].t_ms = now;
		cur->w.b[cur->w.n].n = 1;
		cur->w.b[cur->w.n].pad = 0;
		cur->w.n++;
	}
	cur->count++;
	struct pp_window_state *st = &out->global;
	if (st->used == 0)
		st->reset_ms = p->global.window_ms;
	st->used++;
	st->remaining--;
	if (st->remaining == 0) /* contiguous (checked above): always answers */
		(void)pp_limiter_inspect_slots(g, ng, &p->global, now, st);
	return 0;
}

int64_t
pp_limiter_clear_slots(const struct pp_slot *s, uint32_t n, const struct pp_limit *l, int64_t now)
{
	struct pp_window_state st;
	if (n == 0 || pp_limiter_inspect_slots(s, n, l, now, &st) != 0 || st.used == 0)
		return 0;
	/* The newest admission is the newest record's last bucket. */
	const struct pp_window *w = &s[n - 1].w;
	for (uint32_t i = n; i-- > 0;) {
		w = &s[i].w;
		if (w->n)
			break;
	}
	return clamp(w->b[w->n - 1].t_ms, now) + l->window_ms - now;
}
