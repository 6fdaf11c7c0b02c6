/* main.c - pingpongctl: the operator's tool. Reads the same configuration
 * as pingpong-fcgi (file, then PINGPONG_* variables), attaches to the same
 * store and inspects or resets one key (read from stdin) or shows stats. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "key.h"
#include "log.h"
#include "print.h"
#include "store.h"

/* The exit codes pingpongctl(8) documents. */
enum {
	EX_DONE = 0,
	EX_STORE = 1,   /* the store failed (I/O, full, no reader slot) */
	EX_USAGE = 2,   /* bad command line, or no usable key on stdin */
	EX_CONFIG = 3,  /* bad configuration, or another hashing secret than the workers' */
	EX_NOSTORE = 4, /* no store at db_path yet: the workers never opened it */
	EX_NOTSUP = 5,  /* the backend cannot do this (yet) */
};

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: pingpongctl [-c FILE] [--json] inspect        < key\n"
	        "       pingpongctl [-c FILE] [--json] reset          < key\n"
	        "       pingpongctl [-c FILE] [--json] reset --global\n"
	        "       pingpongctl [-c FILE] [--json] stats\n"
	        "       pingpongctl -V | -h\n"
	        "  -c FILE   configuration (default %s)\n"
	        "  --json    one JSON object on stdout\n"
	        "The key is read from stdin, never the command line, and never printed.\n"
	        "Exit: 0 done, 1 store error, 2 usage or bad key, 3 bad configuration,\n"
	        "      4 no store yet, 5 not supported by this backend.\n",
	        pp_config_default_path());
}

static int
exit_code(int rc)
{
	switch (rc) {
	case PP_STORE_OK: return EX_DONE;
	case PP_STORE_ENOSTORE: return EX_NOSTORE;
	case PP_STORE_ENOTSUP: return EX_NOTSUP;
	case PP_STORE_ESECRET: return EX_CONFIG; /* key_secret_file unfit, or not the workers' */
	default: return EX_STORE;
	}
}

static int
fail(const struct pp_config *cfg, const char *what, int rc)
{
	if (rc == PP_STORE_ENOSTORE)
		fprintf(stderr, "pingpongctl: %s: no %s store at %s yet (start the workers first; "
		                "nothing was created)\n",
		        what, cfg->store, cfg->db_path);
	else if (rc == PP_STORE_ENOTSUP)
		fprintf(stderr, "pingpongctl: %s: not supported by this backend (%s)\n", what, cfg->store);
	else
		fprintf(stderr, "pingpongctl: %s: %s\n", what, pp_store_strerror(rc));
	return exit_code(rc);
}

/* What the command line asks for. */
struct ctl_args {
	const char *conf; /* NULL: the default file */
	const char *cmd;  /* inspect, reset or stats */
	bool json, global;
};

/* Options and the one command. Returns -1 to go on, else the exit code
 * (-h and -V print and stop). */
static int
parse_args(int argc, char **argv, struct ctl_args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "global", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	while ((opt = getopt_long(argc, argv, "c:jghV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->conf = optarg; break;
		case 'j': a->json = true; break;
		case 'g': a->global = true; break;
		case 'h': usage(stdout); return EX_DONE;
		case 'V': printf("pingpongctl %s\n", PACKAGE_VERSION); return EX_DONE;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind + 1 != argc) {
		/* A stray word may be a key someone typed: say so, never echo it. */
		if (optind + 1 < argc)
			fprintf(stderr, "pingpongctl: one command only; a key goes on stdin, never the "
			                "command line\n");
		usage(stderr);
		return EX_USAGE;
	}
	a->cmd = argv[optind];
	if (strcmp(a->cmd, "inspect") && strcmp(a->cmd, "reset") && strcmp(a->cmd, "stats")) {
		fprintf(stderr, "pingpongctl: unknown command (inspect, reset or stats)\n");
		return EX_USAGE;
	}
	if (a->global && strcmp(a->cmd, "reset")) {
		fprintf(stderr, "pingpongctl: --global goes with reset only\n");
		return EX_USAGE;
	}
	return -1;
}

/* The workers' configuration, and whether the command fits it. Returns -1
 * to go on, else the exit code. */
static int
load_config(const struct ctl_args *a, struct pp_config *cfg)
{
	char err[1200];

	if (pp_config_load(cfg, a->conf, err, sizeof(err)) || pp_store_check(cfg, err, sizeof(err))) {
		fprintf(stderr, "pingpongctl: configuration: %s\n", err);
		return EX_CONFIG;
	}
	if (a->global && cfg->policy.global.limit == PP_LIMIT_OFF) {
		fprintf(stderr, "pingpongctl: reset --global: global_limit = off, there is no global window\n");
		return EX_USAGE;
	}
	return -1;
}

/* The command on an attached store; prints the answer. Returns a
 * PP_STORE_* code. */
static int
run_command(const struct ctl_args *a, struct pp_config *cfg, struct pp_store *st, const char *key,
            size_t klen)
{
	int rc;

	if (strcmp(a->cmd, "inspect") == 0) {
		struct pp_store_view v;
		if (!(rc = pp_store_inspect(st, key, klen, &cfg->policy, &v)))
			pp_ctl_print_inspect(stdout, a->json, cfg->store, &cfg->policy, &v);
	} else if (strcmp(a->cmd, "reset") == 0) {
		bool found;
		if (!(rc = pp_store_reset(st, a->global ? NULL : key, klen, &cfg->policy, &found)))
			pp_ctl_print_reset(stdout, a->json, cfg->store, a->global, found);
	} else {
		struct pp_store_stats s;
		if (!(rc = pp_store_stats(st, &cfg->policy, &s)))
			pp_ctl_print_stats(stdout, a->json, cfg->store, &s);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct ctl_args a;
	char err[1200], key[PP_CTL_KEY_CAP];
	struct pp_config cfg;
	struct pp_store st;
	int rc;

	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	pp_log_init("pingpongctl", PP_LOG_WARN);
	if ((rc = load_config(&a, &cfg)) >= 0)
		return rc;

	long klen = 0;
	if (strcmp(a.cmd, "stats") && !a.global) {
		klen = pp_ctl_read_key(STDIN_FILENO, key, sizeof(key), err, sizeof(err));
		if (klen < 0) {
			fprintf(stderr, "pingpongctl: %s: %s\n", a.cmd, err);
			return EX_USAGE;
		}
	}
	if ((rc = pp_store_attach(&st, &cfg))) {
		memset(key, 0, sizeof(key));
		return fail(&cfg, "cannot open the store", rc);
	}
	rc = run_command(&a, &cfg, &st, key, (size_t)klen);
	memset(key, 0, sizeof(key));
	pp_store_close(&st);
	if (rc)
		return fail(&cfg, a.cmd, rc);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "pingpongctl: cannot write the answer\n");
		return EX_STORE;
	}
	return EX_DONE;
}
