/* output.c - renders the client's events as readable lines or as JSON
 * objects (jansson), one per line, flushed at once so pipes see them live. */
#include "output.h"

#include <string.h>
#include <time.h>

#include <jansson.h>

#include "now.h"

void pp_out_init(struct pp_out *o, FILE *f, bool json, bool quiet, bool tty, int64_t t0_mono)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	o->quiet = quiet;
	o->countdown = tty && !json && !quiet;
	o->t0_mono = t0_mono;
}

/* "14:02:03" in local time, at wall-clock ms. */
static void clock_str(int64_t wall_ms, char *buf, size_t cap)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || strftime(buf, cap, "%H:%M:%S", &tm) == 0)
		snprintf(buf, cap, "?");
}

/* "2024-05-01T12:00:03.123Z" */
static void iso_str(int64_t wall_ms, char *buf, size_t cap)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	char base[32];

	if (!gmtime_r(&t, &tm) || strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		base[0] = '\0';
	snprintf(buf, cap, "%s.%03dZ", base, (int)(wall_ms % 1000));
}

static double secs(int64_t ms) { return (double)ms / 1000.0; }

static void clear_countdown(struct pp_out *o)
{
	if (o->drawn) {
		fputs("\r\033[K", o->f);
		o->drawn = false;
	}
}

/* Starts a JSON event with the fields every event has. */
static json_t *jev(struct pp_out *o, const char *event)
{
	char iso[40];

	iso_str(pp_wall_ms(), iso, sizeof(iso));
	return json_pack("{s:s, s:s, s:f}", "event", event, "time", iso,
	                 "elapsed", secs(pp_mono_ms() - o->t0_mono));
}

static void jemit(struct pp_out *o, json_t *ev)
{
	if (!ev)
		return; /* out of memory: an event lost, never a crash */
	json_dumpf(ev, o->f, JSON_COMPACT | JSON_REAL_PRECISION(10));
	fputc('\n', o->f);
	fflush(o->f);
	json_decref(ev);
}

/* The start of a human line: "14:02:03  ". */
static void hbegin(struct pp_out *o)
{
	char c[16];

	clear_countdown(o);
	clock_str(pp_wall_ms(), c, sizeof(c));
	fprintf(o->f, "%s  ", c);
}

static void hend(struct pp_out *o)
{
	fputc('\n', o->f);
	fflush(o->f);
}

/* "pausing 42 s, until 14:02:45" or "retrying in 2 s, at 14:02:05" */
static void hpause(struct pp_out *o, const char *verb, int64_t ms, const char *when)
{
	char c[16];

	clock_str(pp_wall_ms() + ms, c, sizeof(c));
	fprintf(o->f, "%s %.3g s, %s %s", verb, secs(ms), when, c);
}

void pp_out_start(struct pp_out *o, const char *url, int64_t interval_ms, long count,
                  const char *shown_key, const char *key_source)
{
	if (o->quiet)
		return;
	if (o->json) {
		json_t *ev = jev(o, "start");
		json_object_set_new(ev, "url", json_string(url));
		json_object_set_new(ev, "interval", json_real(secs(interval_ms)));
		json_object_set_new(ev, "count", count > 0 ? json_integer(count) : json_null());
		json_object_set_new(ev, "key_source", json_string(key_source));
		if (shown_key)
			json_object_set_new(ev, "key", json_string(shown_key));
		jemit(o, ev);
		return;
	}
	fprintf(o->f, "pingpong: POST %s every %.3g s", url, secs(interval_ms));
	if (count > 0)
		fprintf(o->f, " until %ld pong%s", count, count == 1 ? "" : "s");
	if (shown_key)
		fprintf(o->f, ", key %s (%s)", shown_key, key_source);
	else
		fprintf(o->f, ", key from %s", key_source);
	hend(o);
}

void pp_out_pong(struct pp_out *o, long seq, int64_t latency_ms, const struct pp_ratelimit *rl)
{
	if (o->quiet)
		return;
	if (o->json) {
		json_t *ev = jev(o, "pong");
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
		jemit(o, ev);
		return;
	}
	hbegin(o);
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
	hend(o);
}

void pp_out_pause(struct pp_out *o, const char *limit, int64_t pause_ms)
{
	if (o->quiet)
		return;
	if (o->json) {
		json_t *ev = jev(o, "pause");
		json_object_set_new(ev, "limit", json_string(limit));
		json_object_set_new(ev, "reason", json_string("quota"));
		json_object_set_new(ev, "resume_in", json_real(secs(pause_ms)));
		jemit(o, ev);
		return;
	}
	hbegin(o);
	fprintf(o->f, "%s quota used up: ", limit);
	hpause(o, "pausing", pause_ms, "until");
	hend(o);
}

void pp_out_throttled(struct pp_out *o, const char *limit, const char *reason,
                      int64_t pause_ms, const char *message)
{
	if (o->quiet)
		return;
	if (o->json) {
		json_t *ev = jev(o, "throttled");
		json_object_set_new(ev, "status", json_integer(429));
		json_object_set_new(ev, "limit", limit[0] ? json_string(limit) : json_null());
		json_object_set_new(ev, "reason", json_string(reason));
		json_object_set_new(ev, "resume_in", json_real(secs(pause_ms)));
		if (message[0])
			json_object_set_new(ev, "message", json_string(message));
		jemit(o, ev);
		return;
	}
	hbegin(o);
	if (limit[0])
		fprintf(o->f, "throttled by the %s limit (HTTP 429): ", limit);
	else
		fprintf(o->f, "throttled (HTTP 429, limit not named): ");
	if (strcmp(reason, "backoff") == 0)
		hpause(o, "no hint from the server, backing off", pause_ms, "until");
	else
		hpause(o, "pausing", pause_ms, "until");
	hend(o);
}

void pp_out_resume(struct pp_out *o, int64_t paused_ms)
{
	if (o->quiet)
		return;
	if (o->json) {
		json_t *ev = jev(o, "resume");
		json_object_set_new(ev, "paused", json_real(secs(paused_ms)));
		jemit(o, ev);
		return;
	}
	hbegin(o);
	fprintf(o->f, "resumed after %.1f s", secs(paused_ms));
	hend(o);
}

void pp_out_error(struct pp_out *o, const char *kind, long status, const char *message,
                  const char *reason, int64_t retry_ms)
{
	if (o->json) {
		json_t *ev = jev(o, "error");
		json_object_set_new(ev, "error", json_string(kind));
		json_object_set_new(ev, "status", status ? json_integer(status) : json_null());
		json_object_set_new(ev, "message", json_string(message));
		json_object_set_new(ev, "reason", json_string(reason));
		json_object_set_new(ev, "resume_in", json_real(secs(retry_ms)));
		jemit(o, ev);
		return;
	}
	hbegin(o);
	fprintf(o->f, "error: %s; ", message);
	hpause(o, "retrying in", retry_ms, "at");
	hend(o);
}

void pp_out_fatal(struct pp_out *o, long status, const char *error, const char *message)
{
	if (o->json) {
		json_t *ev = jev(o, "fatal");
		json_object_set_new(ev, "status", json_integer(status));
		json_object_set_new(ev, "error", json_string(error));
		json_object_set_new(ev, "message", json_string(message));
		jemit(o, ev);
		return;
	}
	hbegin(o);
	fprintf(o->f, "error: %s; the server rejects this request, giving up", message);
	hend(o);
}

void pp_out_countdown(struct pp_out *o, const char *what, int64_t left_ms)
{
	if (!o->countdown)
		return;
	fprintf(o->f, "\r  %s, resuming in %lld s\033[K", what, (long long)((left_ms + 999) / 1000));
	fflush(o->f);
	o->drawn = true;
}

void pp_out_summary(struct pp_out *o, const struct pp_stats *s, const char *stopped_by)
{
	double el = secs(pp_mono_ms() - o->t0_mono);

	if (o->json) {
		json_t *ev = jev(o, "summary");
		json_object_set_new(ev, "sent", json_integer(s->sent));
		json_object_set_new(ev, "pongs", json_integer(s->pongs));
		json_object_set_new(ev, "throttled", json_integer(s->throttled));
		json_object_set_new(ev, "errors", json_integer(s->errors));
		json_object_set_new(ev, "stopped_by", json_string(stopped_by));
		jemit(o, ev);
		return;
	}
	clear_countdown(o);
	fprintf(o->f, "pingpong: %ld sent, %ld pong%s, %ld throttled, %ld error%s in %.1f s (%s)\n",
	        s->sent, s->pongs, s->pongs == 1 ? "" : "s", s->throttled, s->errors,
	        s->errors == 1 ? "" : "s", el, stopped_by);
	fflush(o->f);
}
