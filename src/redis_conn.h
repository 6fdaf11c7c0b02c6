/* redis_conn.h - one worker's connection to Redis, bounded in time: connect
 * and every command end within the timeout, a failure holds off new tries. */
#ifndef PP_REDIS_CONN_H
#define PP_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "log.h"

/* One node's address. */
struct pp_redis_hostport {
	char host[256];
	int port;
};

#define PP_REDIS_NODES_MAX 8

/* Where Redis is and how to talk to it; filled from the config. */
struct pp_redis_target {
	char host[256]; /* the TCP node in use (seed[0] at first), or "" with unix_path */
	int port;
	char unix_path[108]; /* a unix socket, or "" */
	char user[128];      /* ACL user for AUTH, or "" (password only) */
	char password[512];  /* "" for no AUTH */
	int db;              /* SELECTed when not 0 */
	int64_t timeout_ms;  /* bounds connect and every command */
	int64_t retry_ms;    /* after a failure, no new try for this long */
	/* redis_url's TCP seeds: a fresh connection (no Sentinel) tries them
	 * in turn, each bounded by timeout_ms. 0 with unix_path. */
	int nseeds;
	struct pp_redis_hostport seed[PP_REDIS_NODES_MAX];
	/* Sentinel: when nsentinels > 0, every connect first asks them (in
	 * order, each bounded by timeout_ms, no AUTH) where master is. */
	int nsentinels;
	struct pp_redis_hostport sentinel[PP_REDIS_NODES_MAX];
	char master[128];
};

struct pp_redis_conn {
	struct pp_redis_target t;
	redisContext *c;   /* NULL until connected; freed after any error */
	double hold_until; /* pp_clock_mono(): no new connect before */
	bool lost;         /* a failure was logged and no success since */
	struct pp_log_limit loglim;
	struct pp_log_limit trylim; /* TRYAGAIN lines */
	char why[160];              /* the last failure, for the log */
	/* t.host/port follow MOVED, but a fresh connection starts at a seed
	 * again (the node a MOVED named may be the one that died: a Cluster
	 * failover): at seed_next, the one after the seed whose connection
	 * last failed, so a dead or stopped seed is not the first tried. */
	int seed_next;
	int seed_cur; /* the seed rc->c was reached through */
	char seed_unix[108];
};

enum {
	PP_REDIS_OK = 0,
	PP_REDIS_EHOLD = -1,  /* held off after a recent failure: not tried */
	PP_REDIS_EIO = -2,    /* connect, I/O or timeout failure */
	PP_REDIS_EREPLY = -3, /* Redis answered with an error (or redirected too often) */
};

/* Takes a copy of t; connects lazily, on the first command. */
void pp_redis_conn_init(struct pp_redis_conn *rc, const struct pp_redis_target *t);
/* Frees the context and wipes the password. */
void pp_redis_conn_close(struct pp_redis_conn *rc);

/* Runs one command (argv as hiredis takes it), connecting first if needed
 * and following MOVED/ASK redirections to the node they name (at most two).
 * With script set (the command is its EVALSHA), a NOSCRIPT from the node
 * that answered loads script there and resends once. On PP_REDIS_OK *out is
 * a non-error reply the caller frees with freeReplyObject; an error reply
 * is PP_REDIS_EREPLY. On any failure *out is NULL, the context is freed
 * (never reused after an error), the cause is logged (once while Redis stays
 * lost) and no new try is made for retry_ms. */
int pp_redis_command(struct pp_redis_conn *rc, int argc, const char **argv,
                     const size_t *argvlen, const char *script, redisReply **out);

/* Records a failure the caller found in a reply (e.g. the wrong shape):
 * logs it, frees the context, holds off. */
void pp_redis_fail(struct pp_redis_conn *rc, const char *why);

/* Parses "host:port" (as MOVED/ASK name it) into host and port. Returns 0 or -1. */
int pp_redis_parse_node(const char *s, char *host, size_t hostlen, int *port);

#endif
