/* main.c - pingpong(1): options, the send loop on a fixed monotonic schedule,
 * pauses as long as the server asks, signals, exit codes. */
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
#include "transfer.h"

enum { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_REJECTED = 3 };

/* A pause that delays the next ping by less than this is not worth a line:
 * it only nudges the schedule (e.g. a 1/s global limit at 1 ping/s). */
#define QUIET_SHIFT_MS 500

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a sleep must end at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Sleeps until the monotonic deadline, redrawing the countdown once a
 * second when asked to. Returns 0, or -1 as soon as a signal asks to stop.
 * SIGINT/SIGTERM are blocked between the check of stop_sig and the wait,
 * and ppoll unblocks them atomically, so a signal is never slept through. */
static int sleep_until(struct pp_out *out, int64_t deadline, const char *what)
{
	sigset_t block, orig;
	int rc = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	for (;;) {
		int64_t now = pp_mono_ms();
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

static int random_key(char *buf, size_t cap)
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

/* One line on what went wrong, and a short kind for --json. */
static const char *describe(const struct pp_response *r, const struct pp_outcome *oc,
                            double timeout_s, char *msg, size_t cap)
{
	switch (oc->transport) {
	case PP_TR_CONNECT:
		snprintf(msg, cap, "cannot reach the server: %s", r->errmsg);
		return "connect";
	case PP_TR_DNS:
		snprintf(msg, cap, "cannot resolve the server's name: %s", r->errmsg);
		return "dns";
	case PP_TR_TIMEOUT:
		snprintf(msg, cap, "no answer within %.3g s (--timeout): %s", timeout_s, r->errmsg);
		return "timeout";
	case PP_TR_TLS:
		snprintf(msg, cap, "TLS failure: %s", r->errmsg);
		return "tls";
	case PP_TR_OTHER:
	case PP_TR_INTERRUPTED:
		snprintf(msg, cap, "transfer failed: %s", r->errmsg);
		return "transfer";
	case PP_TR_OK:
		break;
	}
	const struct pp_body *b = &oc->body;
	if (b->kind == PP_BODY_NOT_JSON) {
		snprintf(msg, cap, "HTTP %ld with a body that is not JSON (%s, %zu bytes): "
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

static void to_outcome(const struct pp_response *r, struct pp_outcome *oc)
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
	                         pp_wall_ms() / 1000, &oc->retry_after_s) != 0)
		oc->retry_after_s = -1;
}

int main(int argc, char **argv)
{
	struct pp_opts opts;
	char err[256], keybuf[64];
	const char *shown_key = NULL, *key_source = "--key";

	if (pp_opts_parse(argc, argv, getenv("PINGPONG_KEY"), &opts, err, sizeof(err))) {
		fprintf(stderr, "pingpong: %s\nTry 'pingpong --help'.\n", err);
		return EXIT_USAGE;
	}
	if (opts.action == PP_ACT_HELP) {
		fputs(pp_opts_usage, stdout);
		return EXIT_DONE;
	}
	if (opts.action == PP_ACT_VERSION) {
		printf("pingpong %s (%s)\n", PP_VERSION, pp_xfer_version());
		return EXIT_DONE;
	}
	if (!opts.key) {
		if (random_key(keybuf, sizeof(keybuf))) {
			fprintf(stderr, "pingpong: cannot make a random key: %s\n", strerror(errno));
			return EXIT_FAIL;
		}
		opts.key = shown_key = keybuf; /* made up here: safe to show */
		key_source = "random";
	} else if (opts.key_from_env) {
		key_source = "PINGPONG_KEY";
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "pingpong: libcurl failed to initialise\n");
		return EXIT_FAIL;
	}
	struct pp_xfer *x = pp_xfer_new(opts.url, opts.key, (long)opts.timeout_ms, err, sizeof(err));
	if (!x) {
		fprintf(stderr, "pingpong: %s\n", err);
		curl_global_cleanup();
		return EXIT_FAIL;
	}
	install_signals();

	int64_t t0 = pp_mono_ms();
	struct pp_out out;
	struct pp_stats st = { 0 };
	struct pp_sched sched;
	struct pp_backoff backoff;
	struct pp_response resp;
	struct pp_outcome oc;
	struct pp_plan plan;
	struct pp_hist hist;
	const char *stopped_by = "signal";
	int rc = EXIT_DONE;
	int64_t due = t0, paused_at = -1; /* paused_at >= 0: announce "resumed" */
	char what[PP_RL_NAME_MAX + 32] = "";   /* countdown text, "" for none */

	pp_out_init(&out, stdout, opts.json, opts.quiet, isatty(STDOUT_FILENO), t0);
	pp_sched_start(&sched, t0, opts.interval_ms);
	pp_backoff_init(&backoff, 1000, 60000);
	pp_hist_init(&hist);
	pp_out_start(&out, opts.url, opts.interval_ms, opts.count, shown_key, key_source);

	for (;;) {
		if (sleep_until(&out, due, what[0] ? what : NULL))
			break;
		what[0] = '\0';
		if (paused_at >= 0) {
			pp_out_resume(&out, pp_mono_ms() - paused_at);
			paused_at = -1;
		}

		int64_t t_send = pp_mono_ms();
		st.sent++;
		pp_xfer_ping(x, &resp, &stop_sig);
		int64_t t_recv = pp_mono_ms();
		to_outcome(&resp, &oc);
		pp_plan_decide(&oc, &backoff, &plan);
		if (plan.event == PP_EV_PONG) {
			pp_hist_add(&hist, t_send, t_recv);
			pp_plan_refine(&plan, &oc.rl, &hist, t_recv);
		}
		if (plan.event == PP_EV_STOP)
			break;

		/* The next tick, unless the pause asked for lasts longer: then the
		 * schedule restarts where the pause ends. */
		int64_t delayed;
		due = pp_sched_after(&sched, t_recv, plan.pause_ms, &delayed);
		int64_t wait = due - t_recv;

		switch (plan.event) {
		case PP_EV_PONG:
			st.pongs++;
			pp_out_pong(&out, st.pongs, t_recv - t_send, &oc.rl);
			if (opts.count > 0 && st.pongs >= opts.count) {
				stopped_by = "count";
				goto done;
			}
			if (delayed >= QUIET_SHIFT_MS) {
				pp_out_pause(&out, plan.limit, wait);
				snprintf(what, sizeof(what), "%s quota used up", plan.limit);
				paused_at = t_recv;
			}
			break;
		case PP_EV_THROTTLED:
			st.throttled++;
			pp_out_throttled(&out, plan.limit,
			                 plan.why == PP_WHY_BACKOFF ? "backoff" : "retry-after",
			                 wait, oc.body.message);
			snprintf(what, sizeof(what), "throttled%s%s", plan.limit[0] ? " by " : "",
			         plan.limit);
			paused_at = t_recv;
			break;
		case PP_EV_ERROR: {
			char msg[512];
			const char *kind = describe(&resp, &oc, (double)opts.timeout_ms / 1000.0,
			                            msg, sizeof(msg));
			st.errors++;
			pp_out_error(&out, kind, oc.status, msg,
			             plan.why == PP_WHY_BACKOFF ? "backoff" : "retry-after", wait);
			snprintf(what, sizeof(what), "%s", "after an error");
			break;
		}
		case PP_EV_FATAL: {
			char msg[512];
			describe(&resp, &oc, (double)opts.timeout_ms / 1000.0, msg, sizeof(msg));
			st.errors++;
			pp_out_fatal(&out, oc.status, oc.body.error[0] ? oc.body.error : "http", msg);
			stopped_by = "rejected";
			rc = EXIT_REJECTED;
			goto done;
		}
		case PP_EV_STOP:
			break;
		}
	}
done:
	if (stop_sig) {
		stopped_by = "signal";
		rc = 128 + stop_sig;
	}
	pp_out_summary(&out, &st, stopped_by);
	pp_xfer_free(x);
	curl_global_cleanup();
	return rc;
}
