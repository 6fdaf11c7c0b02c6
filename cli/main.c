/* main.c - pingpong(1): options, the send loop on a fixed monotonic schedule,
 * pauses as long as the server asks, one handler per event, signals, exit
 * codes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "body.h"
#include "history.h"
#include "now.h"
#include "options.h"
#include "output.h"
#include "plan.h"
#include "ratelimit.h"
#include "schedule.h"
#include "timefmt.h"
#include "transfer.h"

/* The exit codes, as pingpong(1) lists them. */
enum {
	EXIT_DONE = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_REJECTED = 3,
	EXIT_OUTPUT = 4
};

/* A pause that delays the next ping by less than this is not worth a line:
 * it only nudges the schedule (e.g. a 1/s global limit at 1 ping/s). */
#define QUIET_SHIFT_MS 500

static volatile sig_atomic_t stop_sig;

static void
on_signal(int sig)
{
	stop_sig = sig;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a sleep must end at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed stdout is then EPIPE from the write, which the output code
	 * notes and the loop ends on (exit 4), instead of a silent death. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Sleeps until the monotonic deadline, redrawing the countdown once a
 * second when asked to. Returns 0, or -1 as soon as a signal asks to stop.
 * SIGINT/SIGTERM are blocked between the check of stop_sig and the wait,
 * and ppoll unblocks them atomically, so a signal is never slept through. */
static int
sleep_until(struct pp_out *out, int64_t deadline, const char *what)
{
	sigset_t block, orig;
	int rc = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	for (;;) {
		int64_t now = pp_now_mono_ms();
		int64_t left = pp_sleep_ms(deadline, now);
		int64_t step = left;
		struct timespec ts;

		if (stop_sig) {
			rc = -1;
			break;
		}
		if (left == 0)
			break;
		if (what) {
			pp_out_countdown(out, what, left);
			/* Wake when the displayed whole second changes. */
			step = left % 1000 ? left % 1000 : 1000;
		}
		/* Relative, but recomputed from the absolute deadline each time
		 * round, so early wake-ups never add up to drift. */
		ts.tv_sec = (time_t)(step / 1000);
		ts.tv_nsec = (long)(step % 1000) * 1000000L;
		if (ppoll(NULL, 0, &ts, &orig) < 0 && errno != EINTR)
			break; /* cannot wait: carry on rather than spin */
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return rc;
}

static int
random_key(char *buf, size_t cap)
{
	unsigned char raw[12];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	size_t off = (size_t)snprintf(buf, cap, "pp-");
	for (size_t k = 0; k < sizeof(raw) && off + 2 < cap; k++, off += 2)
		snprintf(buf + off, cap - off, "%02x", raw[k]);
	return 0;
}

/* Everything the send loop carries from one ping to the next. */
struct run {
	struct pp_opts opts;
	struct pp_xfer *xfer;
	int turn; /* the URL the next ping goes to (round-robin) */
	char shown_urls[PP_URLS_MAX * (PP_URL_MAX + 2)];
	struct pp_out out;
	struct pp_stats stats;
	struct pp_sched sched;
	struct pp_backoff backoff;
	struct pp_hist hist;
	struct pp_reply reply;          /* the last attempt as it came */
	struct pp_outcome oc;           /* the same, parsed */
	struct pp_plan plan;            /* what it means, how long to wait */
	int64_t t_send, t_recv;         /* of the last attempt */
	int64_t due;                    /* when the next ping goes out */
	int64_t delayed;                /* how far the plan's pause pushed it past its tick */
	int64_t paused_at;              /* >= 0: a pause began then, announce "resumed" */
	char what[PP_RL_NAME_MAX + 32]; /* countdown text, "" for none */
	const char *shown_key;          /* the key when made up here, else NULL */
	const char *key_source;
	const char *stopped_by;
	int rc;
	char keybuf[64];
};

/* Why the transfer failed, in one line, and a short kind for --json. */
static const char *
describe_transport(const struct pp_reply *r, enum pp_transport tr,
                   double timeout_s, char *msg, size_t cap)
{
	char d[PP_TIMEFMT_MAX];

	switch (tr) {
	case PP_TR_CONNECT:
		snprintf(msg, cap, "cannot reach the server: %s", r->errmsg);
		return "connect";
	case PP_TR_DNS:
		snprintf(msg, cap, "cannot resolve the server's name: %s", r->errmsg);
		return "dns";
	case PP_TR_TIMEOUT:
		snprintf(msg, cap, "no answer within %s (--timeout): %s",
		         pp_fmt_duration((int64_t)(timeout_s * 1000.0), d, sizeof(d)), r->errmsg);
		return "timeout";
	case PP_TR_TLS:
		snprintf(msg, cap, "TLS failure: %s", r->errmsg);
		return "tls";
	case PP_TR_OTHER:
	case PP_TR_INTERRUPTED:
	case PP_TR_OK:
		break;
	}
	snprintf(msg, cap, "transfer failed: %s", r->errmsg);
	return "transfer";
}

/* What went wrong, in one line, and a short kind for --json. */
static const char *
describe(const struct pp_reply *r, const struct pp_outcome *oc,
         double timeout_s, char *msg, size_t cap)
{
	const struct pp_body *b = &oc->body;

	if (oc->transport != PP_TR_OK)
		return describe_transport(r, oc->transport, timeout_s, msg, cap);
	if (b->kind == PP_BODY_NOT_JSON) {
		snprintf(msg, cap,
		         "HTTP %ld with a body that is not JSON (%s, %zu bytes): "
		         "not a pingpong server, or a proxy error page",
		         oc->status, r->content_type[0] ? r->content_type : "no Content-Type",
		         r->body_len);
		return "not_json";
	}
	if (b->error[0] || b->message[0]) {
		snprintf(msg, cap, "HTTP %ld %s%s%s", oc->status, b->error,
		         b->error[0] && b->message[0] ? ": " : "", b->message);
		return "http";
	}
	if (oc->status == 200) {
		snprintf(msg, cap, "HTTP 200 but the body is not a pong");
		return "unexpected";
	}
	snprintf(msg, cap, "HTTP %ld", oc->status);
	return "http";
}

static void
to_outcome(const struct pp_reply *r, struct pp_outcome *oc)
{
	memset(oc, 0, sizeof(*oc));
	oc->transport = r->transport;
	oc->status = r->status;
	oc->retry_after_s = -1;
	pp_rl_init(&oc->rl);
	pp_body_parse(NULL, 0, &oc->body);
	if (r->transport != PP_TR_OK)
		return;
	pp_body_parse(r->body, r->body_len, &oc->body);
	/* Malformed fields are ignored (the parser leaves rl untouched). */
	if (r->policy.present)
		pp_rl_parse_policy(&oc->rl, r->policy.v, r->policy.len);
	if (r->ratelimit.present)
		pp_rl_parse_ratelimit(&oc->rl, r->ratelimit.v, r->ratelimit.len);
	if (r->retry_after.present &&
	    pp_retry_after_parse(r->retry_after.v, r->retry_after.len,
	                         pp_now_wall_ms() / 1000, &oc->retry_after_s) != 0)
		oc->retry_after_s = -1;
}

/* The handlers, one per PP_EV_*: print the event, count it, set up the
 * pause's countdown. Each returns 0 to go on, 1 to end the run. */

static int
on_pong(struct run *r)
{
	r->stats.pongs++;
	pp_out_pong(&r->out, r->stats.pongs, r->t_recv - r->t_send, &r->oc.rl);
	if (r->opts.count > 0 && r->stats.pongs >= r->opts.count) {
		r->stopped_by = "count";
		return 1;
	}
	if (r->delayed >= QUIET_SHIFT_MS) {
		pp_out_pause(&r->out, r->plan.limit, r->due - r->t_recv);
		snprintf(r->what, sizeof(r->what), "%s quota used up", r->plan.limit);
		r->paused_at = r->t_recv;
	}
	return 0;
}

static int
on_throttled(struct run *r)
{
	const char *limit = r->plan.limit;

	r->stats.throttled++;
	pp_out_throttled(&r->out, limit, r->plan.why, r->due - r->t_recv, r->oc.body.message);
	snprintf(r->what, sizeof(r->what), "throttled%s%s", limit[0] ? " by " : "", limit);
	r->paused_at = r->t_recv;
	return 0;
}

static int
on_error(struct run *r)
{
	char msg[512];
	const char *kind = describe(&r->reply, &r->oc, (double)r->opts.timeout_ms / 1000.0, msg,
	                            sizeof(msg));

	r->stats.errors++;
	pp_out_error(&r->out, kind, r->oc.status, msg, r->plan.why, r->due - r->t_recv);
	snprintf(r->what, sizeof(r->what), "%s", "after an error");
	return 0;
}

static int
on_fatal(struct run *r)
{
	const char *error = r->oc.body.error[0] ? r->oc.body.error : "http";
	char msg[512];

	describe(&r->reply, &r->oc, (double)r->opts.timeout_ms / 1000.0, msg, sizeof(msg));
	r->stats.errors++;
	pp_out_fatal(&r->out, r->oc.status, error, msg);
	r->stopped_by = "rejected";
	r->rc = EXIT_REJECTED;
	return 1;
}

/* A signal during the transfer: main() turns stop_sig into the exit code. */
static int
on_stop(struct run *r)
{
	(void)r;
	return 1;
}

static int (*const on_event[])(struct run *) = {
	[PP_EV_PONG] = on_pong,
	[PP_EV_THROTTLED] = on_throttled,
	[PP_EV_ERROR] = on_error,
	[PP_EV_FATAL] = on_fatal,
	[PP_EV_STOP] = on_stop,
};

/* Sends one ping and decides what its answer means and when the next one
 * goes out. */
static void
ping(struct run *r)
{
	/* Several --urls are hosts of one fleet sharing one limit: each ping
	 * goes to the next, and every answer's timing hints hold for all. */
	if (r->opts.nurls > 1) {
		(void)pp_xfer_set_url(r->xfer, r->opts.urls[r->turn]);
		r->turn = (r->turn + 1) % r->opts.nurls;
	}
	r->t_send = pp_now_mono_ms();
	r->stats.sent++;
	pp_xfer_ping(r->xfer, &r->reply, &stop_sig);
	r->t_recv = pp_now_mono_ms();
	to_outcome(&r->reply, &r->oc);
	pp_plan_decide(&r->oc, &r->backoff, &r->plan);
	if (r->plan.event == PP_EV_PONG) {
		pp_hist_add(&r->hist, r->t_send, r->t_recv);
		pp_plan_refine(&r->plan, &r->oc.rl, &r->hist, r->t_recv);
	}
	/* The next tick, unless the pause asked for lasts longer: then the
	 * schedule restarts where the pause ends. */
	r->due = pp_sched_after(&r->sched, r->t_recv, r->plan.pause_ms, &r->delayed);
}

/* Until --count, a signal, a rejection, or an output nobody reads. */
static void
run_loop(struct run *r)
{
	for (;;) {
		if (sleep_until(&r->out, r->due, r->what[0] ? r->what : NULL) ||
		    pp_out_failed(&r->out))
			return;
		r->what[0] = '\0';
		if (r->paused_at >= 0) {
			pp_out_resume(&r->out, pp_now_mono_ms() - r->paused_at);
			r->paused_at = -1;
			if (pp_out_failed(&r->out))
				return;
		}
		ping(r);
		if (on_event[r->plan.event](r) || pp_out_failed(&r->out))
			return;
	}
}

static void
say_output_failed(int err)
{
	fprintf(stderr, "pingpong: cannot write to standard output (%s): stopped\n", strerror(err));
}

/* After --help or --version: EXIT_DONE, or EXIT_OUTPUT when nobody got it. */
static int
stdout_flushed(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return EXIT_DONE;
	say_output_failed(errno ? errno : EIO);
	return EXIT_OUTPUT;
}

static int
usage_error(const char *err)
{
	fprintf(stderr, "pingpong: %s\nTry 'pingpong --help'.\n", err);
	return EXIT_USAGE;
}

/* Options, key, URL check: returns -1 to go on, else the exit code. */
static int
configure(struct run *r, int argc, char **argv)
{
	char err[256];

	if (pp_opts_parse(argc, argv, getenv("PINGPONG_KEY"), &r->opts, err, sizeof(err)))
		return usage_error(err);
	for (int i = 0; r->opts.action == PP_ACT_RUN && i < r->opts.nurls; i++) {
		if (pp_xfer_check_url(r->opts.urls[i], err, sizeof(err)))
			return usage_error(err);
		/* The start line names every host, in the order they take turns. */
		size_t used = strlen(r->shown_urls);
		snprintf(r->shown_urls + used, sizeof(r->shown_urls) - used, "%s%s", i ? ", " : "",
		         r->opts.urls[i]);
	}
	if (r->opts.action == PP_ACT_HELP) {
		fputs(pp_opts_usage, stdout);
		return stdout_flushed();
	}
	if (r->opts.action == PP_ACT_VERSION) {
		printf("pingpong %s (%s)\n", PP_VERSION, pp_xfer_version());
		return stdout_flushed();
	}
	r->key_source = "--key";
	if (!r->opts.key) {
		if (random_key(r->keybuf, sizeof(r->keybuf))) {
			fprintf(stderr, "pingpong: cannot make a random key: %s\n", strerror(errno));
			return EXIT_FAIL;
		}
		r->opts.key = r->shown_key = r->keybuf; /* made up here: safe to show */
		r->key_source = "random";
	} else if (r->opts.key_from_env) {
		r->key_source = "PINGPONG_KEY";
	}
	return -1;
}

/* The summary and the exit code. */
static int
finish(struct run *r)
{
	int werr;

	if (stop_sig) {
		r->stopped_by = "signal";
		r->rc = 128 + stop_sig;
	}
	pp_out_summary(&r->out, &r->stats, r->stopped_by);
	werr = pp_out_failed(&r->out);
	if (werr) {
		say_output_failed(werr);
		r->rc = EXIT_OUTPUT;
	}
	return r->rc;
}

int
main(int argc, char **argv)
{
	static struct run run; /* large (the reply's buffers): not on the stack */
	struct run *r = &run;
	char err[256];
	int rc = configure(r, argc, argv);

	if (rc >= 0)
		return rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "pingpong: libcurl failed to initialise\n");
		return EXIT_FAIL;
	}
	r->xfer = pp_xfer_new(r->opts.urls[0], r->opts.key, (long)r->opts.timeout_ms, err, sizeof(err));
	if (!r->xfer) {
		fprintf(stderr, "pingpong: %s\n", err);
		curl_global_cleanup();
		return EXIT_FAIL;
	}
	install_signals();

	r->due = pp_now_mono_ms();
	r->paused_at = -1;
	r->stopped_by = "signal";
	r->rc = EXIT_DONE;
	pp_out_init(&r->out, stdout, r->opts.json, r->opts.quiet, isatty(STDOUT_FILENO), r->due);
	pp_sched_start(&r->sched, r->due, r->opts.interval_ms);
	pp_backoff_init(&r->backoff, PP_BACKOFF_BASE_MS, PP_BACKOFF_MAX_MS);
	pp_hist_init(&r->hist);
	pp_out_start(&r->out, r->shown_urls, r->opts.interval_ms, r->opts.count, r->shown_key,
	             r->key_source);
	run_loop(r);
	rc = finish(r);
	pp_xfer_free(r->xfer);
	curl_global_cleanup();
	return rc;
}
