/* main.c - pingpong-fcgi: options, config, the store opened in this process
 * (each worker after fork), then the FastCGI loop until SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "clock.h"
#include "fcgi.h"
#include "handler.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The GNU and Debian habit: --help and --version beside -h and -V. */
static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Every line ends in a newline, the last one too: after an error the text
 * goes to stderr, and the shell prompt or the next log line follows it. */
static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: pingpong-fcgi [-c FILE] [-t] [-V] [-h]\n"
	        "  -c FILE        configuration (default %s)\n"
	        "  -t             check the configuration, print it and exit\n"
	        "  -V, --version  print the version and exit\n"
	        "  -h, --help     print this help and exit\n"
	        "Speaks FastCGI on the socket passed as fd 0, e.g.\n"
	        "  spawn-fcgi -s /run/pingpong.sock -n -- multiwatch -f 4 -r 3 -t 1000 -- pingpong-fcgi\n"
	        "See pingpong-fcgi(8) and pingpong.conf(5).\n",
	        pp_config_default_path());
}

/* The start-up line: the limits, then the backend's own description. */
static void
describe(const struct pp_config *c, char *out, size_t cap)
{
	static const char *on_error[] = { "reject", "admit", "local" };
	char store[1400], global[64] = "off";
	pp_store_describe(c, store, sizeof(store));
	if (c->policy.global.limit != PP_LIMIT_OFF)
		snprintf(global, sizeof(global), "%u per %lld ms", c->policy.global.limit,
		         (long long)c->policy.global.window_ms);
	snprintf(out, cap, "per-key %u per %lld ms, global %s, store %s, on_store_error %s%s",
	         c->policy.per_key.limit, (long long)c->policy.per_key.window_ms, global, store,
	         on_error[c->on_store_error],
	         c->dry_run ? ", DRY RUN (refusals are answered 200 and counted)" : "");
}

/* -c, -t, -V, -h. Returns -1 to go on, else the exit code (-V and -h
 * print and stop; a usage error is 2). */
static int
parse_options(int argc, char **argv, const char **conf, int *check_only)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "c:tVh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c': *conf = optarg; break;
		case 't': *check_only = 1; break;
		case 'V': printf("pingpong-fcgi %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The configuration (defaults, file, PINGPONG_*), then the store's own
 * rules: any failure names the key. */
static int
load_config(struct pp_config *cfg, const char *conf)
{
	char err[1200];

	if (pp_config_load(cfg, conf, err, sizeof(err)) || pp_store_check(cfg, err, sizeof(err))) {
		pp_log_error("configuration: %s", err);
		return -1;
	}
	return 0;
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: accept() must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL); /* multiwatch's default graceful stop */
	signal(SIGPIPE, SIG_IGN);
}

/* The worker proper: the store of this process, then requests until a
 * stop signal. Returns the exit code. */
static int
serve(struct pp_config *cfg, const char *desc)
{
	struct pp_store store;

	if (!pp_fcgi_stdin_is_socket()) {
		pp_log_error("fd 0 is not a socket: start pingpong-fcgi under spawn-fcgi, multiwatch "
		             "or the web server (see pingpong-fcgi(8))");
		return 1;
	}
	install_signals();
	pp_clock_init();
	int rc = pp_store_open(&store, cfg);
	if (rc) {
		pp_log_error("cannot open the store (%s): %s", cfg->store, pp_store_strerror(rc));
		return 1;
	}
	if (pp_metrics_open(cfg->db_path))
		pp_log_warn("metrics unavailable: cannot map the counter file in %s", cfg->db_path);
	pp_log_info("started: %s", desc);

	struct pp_server srv = { .cfg = cfg, .store = &store };
	rc = pp_fcgi_serve(&srv, &stopping);
	pp_metrics_close();
	pp_store_close(&store);
	if (stopping)
		pp_log_info("stopped");
	return rc ? 1 : 0;
}

int
main(int argc, char **argv)
{
	const char *conf = NULL;
	int check_only = 0;
	char desc[1600];
	struct pp_config cfg;

	int rc = parse_options(argc, argv, &conf, &check_only);
	if (rc >= 0)
		return rc;
	pp_log_init("pingpong-fcgi", PP_LOG_INFO);
	if (load_config(&cfg, conf))
		return 1;
	pp_log_set_level(cfg.log_level);
	describe(&cfg, desc, sizeof(desc));
	if (check_only) {
		/* Then every key's effective value (never a password: no key
		 * holds one), which the docs check reads the key names from. */
		printf("configuration ok: %s\n", desc);
		pp_config_print(&cfg, stdout);
		return 0;
	}
	return serve(&cfg, desc);
}
