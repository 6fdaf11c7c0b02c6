/* print.c - formats what pingpongctl found. Times are milliseconds in JSON
 * and seconds with three decimals for people; a window is described as the
 * RateLimit fields would (used of limit, left, when the next request fits,
 * when the window is empty again). */
#include "print.h"

#include <jansson.h>
#include <inttypes.h>

static void
dump(FILE *f, json_t *o)
{
	if (o) {
		json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', f);
		json_decref(o);
	}
}

/* The next request fits now unless the window is full. */
static int64_t
next_free_ms(const struct pp_window_state *w)
{
	return w->full ? w->retry_ms : 0;
}

static json_t *
window_json(const struct pp_window_state *w, const struct pp_limit *l, int64_t clear_ms)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "used", (json_int_t)w->used,
	                 "limit", (json_int_t)l->limit, "remaining", (json_int_t)w->remaining,
	                 "window_ms", (json_int_t)l->window_ms,
	                 "next_free_ms", (json_int_t)next_free_ms(w), "reset_ms", (json_int_t)clear_ms);
}

static void
window_text(FILE *f, const char *name, const struct pp_window_state *w, const struct pp_limit *l,
            int64_t clear_ms)
{
	int64_t nf = next_free_ms(w);
	fprintf(f, "%-15s %" PRIu32 " of %" PRIu32 " used in %.3f s, %" PRIu32 " left, ", name, w->used,
	        l->limit, (double)l->window_ms / 1000, w->remaining);
	if (nf)
		fprintf(f, "next free in %.3f s, ", (double)nf / 1000);
	else
		fprintf(f, "next free now, ");
	if (clear_ms)
		fprintf(f, "reset (empty) in %.3f s\n", (double)clear_ms / 1000);
	else
		fprintf(f, "empty\n");
}

static const char *
limit_name(enum pp_limit_id id)
{
	return id == PP_LIMIT_GLOBAL ? "global" : "per-key";
}

void
pp_ctl_print_inspect(FILE *f, bool json, const char *backend, const struct pp_policy *p,
                     const struct pp_store_view *v)
{
	const struct pp_decision *d = &v->d;
	bool global_on = p->global.limit != PP_LIMIT_OFF;

	if (json) {
		json_t *o = json_pack("{s:s,s:o,s:o,s:b,s:I}", "backend", backend,
		                      "key", window_json(&d->key, &p->per_key, v->key_clear_ms),
		                      "global", global_on ? window_json(&d->global, &p->global, v->global_clear_ms) : json_null(),
		                      "admit", d->admit, "retry_ms", (json_int_t)d->retry_ms);
		if (o) {
			json_object_set_new(o, "refused_by", d->admit ? json_null() : json_string(limit_name(d->refused_by)));
			json_object_set_new(json_object_get(o, "key"), "stored", json_boolean(v->key_found));
		}
		dump(f, o);
		return;
	}
	window_text(f, "per-key window:", &d->key, &p->per_key, v->key_clear_ms);
	if (global_on)
		window_text(f, "global window:", &d->global, &p->global, v->global_clear_ms);
	else
		fprintf(f, "%-15s off (global_limit = off)\n", "global window:");
	if (d->admit)
		fprintf(f, "%-15s would be admitted\n", "a request now:");
	else
		fprintf(f, "%-15s would be refused by the %s limit, retry in %.3f s\n", "a request now:",
		        limit_name(d->refused_by), (double)d->retry_ms / 1000);
}

void
pp_ctl_print_reset(FILE *f, bool json, const char *backend, bool global, bool found)
{
	if (json) {
		dump(f, json_pack("{s:s,s:s,s:b}", "backend", backend, "reset", global ? "global" : "key",
		                  "found", found));
		return;
	}
	if (found)
		fprintf(f, "reset: the %s window is cleared\n", global ? "global" : "key's");
	else
		fprintf(f, "reset: the %s window was already empty; nothing to clear\n",
		        global ? "global" : "key's");
}

static void
bytes_text(FILE *f, uint64_t n)
{
	if (n >= (1ULL << 30))
		fprintf(f, "%.1f GiB", (double)n / (1ULL << 30));
	else if (n >= (1ULL << 20))
		fprintf(f, "%.1f MiB", (double)n / (1ULL << 20));
	else
		fprintf(f, "%.1f KiB", (double)n / 1024);
}

void
pp_ctl_print_stats(FILE *f, bool json, const char *backend, const struct pp_store_stats *s)
{
	double fill = s->bytes_max ? (double)s->bytes_used / (double)s->bytes_max : 0;
	if (json) {
		json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I}", "backend", backend,
		                      "windows", (json_int_t)s->windows, "live_windows", (json_int_t)s->live_windows,
		                      "bytes_used", (json_int_t)s->bytes_used, "bytes_max", (json_int_t)s->bytes_max);
		if (o) {
			json_object_set_new(o, "fill", s->bytes_max ? json_real(fill) : json_null());
			if (s->file_bytes)
				json_object_set_new(o, "file_bytes", json_integer((json_int_t)s->file_bytes));
		}
		dump(f, o);
		return;
	}
	fprintf(f, "%-17s %s\n", "backend:", backend);
	fprintf(f, "%-17s %" PRIu64 " stored, %" PRIu64 " live\n", "per-key windows:", s->windows,
	        s->live_windows);
	fprintf(f, "%-17s ", "bytes used:");
	bytes_text(f, s->bytes_used);
	if (s->bytes_max) {
		fprintf(f, " of ");
		bytes_text(f, s->bytes_max);
		fprintf(f, " (%.1f%% full)", fill * 100);
	}
	fputc('\n', f);
	if (s->file_bytes) {
		fprintf(f, "%-17s ", "high-water mark:");
		bytes_text(f, s->file_bytes);
		fputc('\n', f);
	}
}
