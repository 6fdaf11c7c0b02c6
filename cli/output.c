/* output.c - renders the client's events as readable lines or as JSON
 * objects (jansson), one per line, flushed at once so pipes see them live. */
#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "now.h"
#include "timefmt.h"

void
pp_out_init(struct pp_out *o, FILE *f, bool json, bool quiet, bool tty, int64_t t0_mono)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	o->quiet = quiet;
	o->countdown = tty && !json && !quiet;
	o->t0_mono = t0_mono;
}

/* "2024-05-01T12:00:03.123Z" */
static void
iso_str(int64_t wall_ms, char *buf, size_t cap)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	char base[32];

	if (!gmtime_r(&t, &tm) || strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		base[0] = '\0';
	snprintf(buf, cap, "%s.%03dZ", base, (int)(wall_ms % 1000));
}

static double
secs(int64_t ms)
{
	return (double)ms / 1000.0;
}

/* Pushes the output out now (pipes see events live) and notes the first
 * failure: from then on nothing more is printed. */
static void
flush_out(struct pp_out *o)
{
	if ((fflush(o->f) != 0 || ferror(o->f)) && !o->write_errno)
		o->write_errno = errno ? errno : EIO;
}

int
pp_out_failed(const struct pp_out *o)
{
	return o->write_errno;
}

/* For --json: where a pause's length came from. */
static const char *
why_name(enum pp_why why)
{
	return why == PP_WHY_BACKOFF ? "backoff" : "retry-after";
}

static void
clear_countdown(struct pp_out *o)
{
	if (o->drawn) {
		fputs("\r\033[K", o->f);
		o->drawn = false;
	}
}

/* A new JSON event holding the fields every event has. */
static json_t *
json_event_new(struct pp_out *o, const char *event)
{
	char iso[40];

	iso_str(pp_now_wall_ms(), iso, sizeof(iso));
	return json_pack("{s:s, s:s, s:f}", "event", event, "time", iso,
	                 "elapsed", secs(pp_now_mono_ms() - o->t0_mono));
}

/* Prints the event as one line and frees it. */
static void
json_event_emit(struct pp_out *o, json_t *ev)
{
	if (!ev)
		return; /* out of memory: an event lost, never a crash */
	if (!o->write_errno) {
		json_dumpf(ev, o->f, JSON_COMPACT | JSON_REAL_PRECISION(10));
		fputc('\n', o->f);
		flush_out(o);
	}
	json_decref(ev);
}

/* The start of a line for people: "14:02:03  ". */
static void
text_begin(struct pp_out *o)
{
	int64_t now = pp_now_wall_ms();
	char c[PP_TIMEFMT_MAX];

	clear_countdown(o);
	fprintf(o->f, "%s  ", pp_fmt_clock(now, now, c, sizeof(c)));
}

static void
text_end(struct pp_out *o)
{
	fputc('\n', o->f);
	flush_out(o);
}

/* A line for people that ends in a pause: what happened (fmt), then
 * "pausing 42 s, until 14:02:45", "retrying in 2 s, at 14:02:05" or
 * "pausing 24 h 0 min, until 2026-12-01 14:02:45". */
static void __attribute__((format(printf, 5, 6)))
text_pause_line(struct pp_out *o, const char *verb, int64_t ms, const char *when, const char *fmt, ...)
{
	int64_t now = pp_now_wall_ms();
	char d[PP_TIMEFMT_MAX], c[PP_TIMEFMT_MAX];
	va_list ap;

	text_begin(o);
	va_start(ap, fmt);
	vfprintf(o->f, fmt, ap);
	va_end(ap);
	fprintf(o->f, "%s %s, %s %s", verb, pp_fmt_duration(ms, d, sizeof(d)), when,
	        pp_fmt_clock(now, now + ms, c, sizeof(c)));
	text_end(o);
}

void
pp_out_start(struct pp_out *o, const char *url, int64_t interval_ms, long count,
             const char *shown_key, const char *key_source)
{
	if (o->quiet || o->write_errno)
		return;
	if (o->json) {
		json_t *ev = json_event_new(o, "start");
		json_object_set_new(ev, "url", json_string(url));
		json_object_set_new(ev, "interval", json_real(secs(interval_ms)));
		json_object_set_new(ev, "count", count > 0 ? json_integer(count) : json_null());
		json_object_set_new(ev, "key_source", json_string(key_source));
		if (shown_key)
			json_object_set_new(ev, "key", json_string(shown_key));
		json_event_emit(o, ev);
		return;
	}
	char d[PP_TIMEFMT_MAX];

	fprintf(o->f, "pingpong: POST %s every %s", url, pp_fmt_duration(interval_ms, d, sizeof(d)));
	if (count > 0)
		fprintf(o->f, " until %ld pong%s", count, count == 1 ? "" : "s");
	if (shown_key)
		fprintf(o->f, ", key %s (%s)", shown_key, key_source);
	else
		fprintf(o->f, ", key from %s", key_source);
	text_end(o);
}

void
pp_out_pong(struct pp_out *o, long seq, int64_t latency_ms, const struct pp_ratelimit *rl)
{
	if (o->quiet || o->write_errno)
		return;
	if (o->json) {
		json_t *ev = json_event_new(o, "pong");
		json_t *quota = json_array();
		json_object_set_new(ev, "seq", json_integer(seq));
		json_object_set_new(ev, "status", json_integer(200));
		json_object_set_new(ev, "latency_ms", json_integer(latency_ms));
		for (unsigned k = 0; k < rl->n; k++) {
			const struct pp_rl_policy *p = &rl->p[k];
			json_t *q = json_pack("{s:s}", "policy", p->name);
			if (p->r >= 0)
				json_object_set_new(q, "remaining", json_integer(p->r));
			if (p->t >= 0)
				json_object_set_new(q, "reset", json_integer(p->t));
			if (p->q >= 0)
				json_object_set_new(q, "quota", json_integer(p->q));
			if (p->w >= 0)
				json_object_set_new(q, "window", json_integer(p->w));
			json_array_append_new(quota, q);
		}
		json_object_set_new(ev, "quota", quota);
		json_event_emit(o, ev);
		return;
	}
	text_begin(o);
	fprintf(o->f, "pong #%ld (%lld ms)", seq, (long long)latency_ms);
	const char *sep = "  left: ";
	for (unsigned k = 0; k < rl->n; k++) {
		const struct pp_rl_policy *p = &rl->p[k];
		if (p->r < 0)
			continue;
		fprintf(o->f, "%s%s %lld", sep, p->name, (long long)p->r);
		if (p->q >= 0)
			fprintf(o->f, "/%lld", (long long)p->q);
		sep = ", ";
	}
	text_end(o);
}

/* What every event that stops the sending carries: why, and for how long. */
static void
json_set_pause(json_t *ev, const char *reason, int64_t ms)
{
	json_object_set_new(ev, "reason", json_string(reason));
	json_object_set_new(ev, "resume_in", json_real(secs(ms)));
}

void
pp_out_pause(struct pp_out *o, const char *limit, int64_t pause_ms)
{
	if (o->quiet || o->write_errno)
		return;
	if (o->json) {
		json_t *ev = json_event_new(o, "pause");
		json_object_set_new(ev, "limit", json_string(limit));
		json_set_pause(ev, "quota", pause_ms);
		json_event_emit(o, ev);
		return;
	}
	text_pause_line(o, "pausing", pause_ms, "until", "%s quota used up: ", limit);
}

void
pp_out_throttled(struct pp_out *o, const char *limit, enum pp_why why, int64_t pause_ms,
                 const char *message)
{
	if (o->quiet || o->write_errno)
		return;
	if (o->json) {
		json_t *ev = json_event_new(o, "throttled");
		json_object_set_new(ev, "status", json_integer(429));
		json_object_set_new(ev, "limit", limit[0] ? json_string(limit) : json_null());
		json_set_pause(ev, why_name(why), pause_ms);
		if (message[0])
			json_object_set_new(ev, "message", json_string(message));
		json_event_emit(o, ev);
		return;
	}
	const char *verb = why == PP_WHY_BACKOFF ? "no hint from the server, backing off" : "pausing";
	if (limit[0])
		text_pause_line(o, verb, pause_ms, "until", "throttled by the %s limit (HTTP 429): ", limit);
	else
		text_pause_line(o, verb, pause_ms, "until", "throttled (HTTP 429, limit not named): ");
}

void
pp_out_resume(struct pp_out *o, int64_t paused_ms)
{
	if (o->quiet || o->write_errno)
		return;
	if (o->json) {
		json_t *ev = json_event_new(o, "resume");
		json_object_set_new(ev, "paused", json_real(secs(paused_ms)));
		json_event_emit(o, ev);
		return;
	}
	char d[PP_TIMEFMT_MAX];

	if (paused_ms < 60000)
		snprintf(d, sizeof(d), "%.1f s", secs(paused_ms));
	else
		pp_fmt_duration(paused_ms, d, sizeof(d));
	text_begin(o);
	fprintf(o->f, "resumed after %s", d);
	text_end(o);
}

void
pp_out_error(struct pp_out *o, const char *kind, long status, const char *message,
             enum pp_why why, int64_t retry_ms)
{
	if (o->write_errno)
		return;
	if (o->json) {
		json_t *ev = json_event_new(o, "error");
		json_object_set_new(ev, "error", json_string(kind));
		json_object_set_new(ev, "status", status ? json_integer(status) : json_null());
		json_object_set_new(ev, "message", json_string(message));
		json_set_pause(ev, why_name(why), retry_ms);
		json_event_emit(o, ev);
		return;
	}
	text_pause_line(o, "retrying in", retry_ms, "at", "error: %s; ", message);
}

void
pp_out_fatal(struct pp_out *o, long status, const char *error, const char *message)
{
	if (o->write_errno)
		return;
	if (o->json) {
		json_t *ev = json_event_new(o, "fatal");
		json_object_set_new(ev, "status", json_integer(status));
		json_object_set_new(ev, "error", json_string(error));
		json_object_set_new(ev, "message", json_string(message));
		json_event_emit(o, ev);
		return;
	}
	text_begin(o);
	fprintf(o->f, "error: %s; the server rejects this request, giving up", message);
	text_end(o);
}

void
pp_out_countdown(struct pp_out *o, const char *what, int64_t left_ms)
{
	char d[PP_TIMEFMT_MAX];

	if (!o->countdown || o->write_errno)
		return;
	/* Whole seconds, rounded up: the line is redrawn once a second. */
	pp_fmt_duration((left_ms + 999) / 1000 * 1000, d, sizeof(d));
	fprintf(o->f, "\r  %s, resuming in %s\033[K", what, d);
	flush_out(o);
	o->drawn = true;
}

void
pp_out_summary(struct pp_out *o, const struct pp_stats *s, const char *stopped_by)
{
	double el = secs(pp_now_mono_ms() - o->t0_mono);

	if (o->write_errno)
		return;
	if (o->json) {
		json_t *ev = json_event_new(o, "summary");
		json_object_set_new(ev, "sent", json_integer(s->sent));
		json_object_set_new(ev, "pongs", json_integer(s->pongs));
		json_object_set_new(ev, "throttled", json_integer(s->throttled));
		json_object_set_new(ev, "errors", json_integer(s->errors));
		json_object_set_new(ev, "stopped_by", json_string(stopped_by));
		json_event_emit(o, ev);
		return;
	}
	clear_countdown(o);
	fprintf(o->f, "pingpong: %ld sent, %ld pong%s, %ld throttled, %ld error%s in %.1f s (%s)\n",
	        s->sent, s->pongs, s->pongs == 1 ? "" : "s", s->throttled, s->errors,
	        s->errors == 1 ? "" : "s", el, stopped_by);
	flush_out(o);
}
