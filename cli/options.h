/* options.h - the command line of pingpong(1), parsed and checked. No I/O:
 * the caller prints the error or the help text. */
#ifndef PP_CLI_OPTIONS_H
#define PP_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_URL_MAX  2048
#define PP_URLS_MAX 8 /* --url given several times: round-robin */

enum pp_action {
	PP_ACT_RUN,
	PP_ACT_HELP,
	PP_ACT_VERSION
};

struct pp_opts {
	enum pp_action action;
	/* Full URLs of the ping resource: one, or up to PP_URLS_MAX hosts of one
	 * fleet (one shared limit) that the pings visit in turn. */
	char urls[PP_URLS_MAX][PP_URL_MAX];
	int nurls;       /* >= 1 after a successful parse */
	const char *key; /* borrowed from argv or the environment; NULL: pick a random one */
	bool key_from_env;
	int64_t interval_ms; /* > 0 */
	long count;          /* stop after this many pongs; 0 = never */
	bool quiet;
	bool json;
	int64_t timeout_ms; /* whole transfer, > 0 */
};

/* Parses argv (getopt_long; resets optind itself). env_key is the value of
 * PINGPONG_KEY or NULL; --key wins over it. Returns 0, or -1 with a one-line
 * reason in err (usage error: exit 2). */
int pp_opts_parse(int argc, char **argv, const char *env_key, struct pp_opts *o,
                  char *err, size_t errcap);

/* The --help text. */
extern const char pp_opts_usage[];

#endif
