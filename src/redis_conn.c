/* redis_conn.c - a bounded hiredis connection: connect, AUTH, SELECT, one
 * command, MOVED/ASK, and the hold-off that keeps a dead Redis cheap. */
#include "redis_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <sodium.h>

#include "clock.h"

static struct timeval
tv_of(int64_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return tv;
}

void
pp_redis_conn_init(struct pp_redis_conn *rc, const struct pp_redis_target *t)
{
	memset(rc, 0, sizeof(*rc));
	rc->t = *t;
	if (t->nseeds > 0) {
		memcpy(rc->t.host, t->seed[0].host, sizeof(rc->t.host));
		rc->t.port = t->seed[0].port;
	}
	snprintf(rc->seed_unix, sizeof(rc->seed_unix), "%s", t->unix_path);
}

static void
drop(struct pp_redis_conn *rc)
{
	/* Never redisReconnect: in hiredis 0.14 it drops the command timeout. */
	if (rc->c)
		redisFree(rc->c);
	rc->c = NULL;
}

void
pp_redis_conn_close(struct pp_redis_conn *rc)
{
	drop(rc);
	sodium_memzero(rc->t.password, sizeof(rc->t.password));
}

void
pp_redis_fail(struct pp_redis_conn *rc, const char *why)
{
	unsigned long n;

	/* A failed connection's seed goes last: it may be dead, or stopped
	 * (accepting TCP, answering nothing), while the others are up. */
	if (rc->c != NULL && rc->t.nseeds > 0)
		rc->seed_next = (rc->seed_cur + 1) % rc->t.nseeds;
	drop(rc);
	/* A stopped Redis still accepts TCP connections: without the hold-off
	 * every request would wait the full timeout. */
	rc->hold_until = pp_clock_mono() + (double)rc->t.retry_ms / 1000.0;
	snprintf(rc->why, sizeof(rc->why), "%s", why);
	if (!rc->lost) {
		rc->lost = true;
		rc->loglim.last = time(NULL);
		rc->loglim.count = 0;
		pp_log_error("redis store lost: %s (next try in %lld ms)", why,
		             (long long)rc->t.retry_ms);
	} else if (pp_log_due(&rc->loglim, 60, &n)) {
		pp_log_error("redis store still down: %s (%lu failed tries)", why, n);
	}
}

static void
succeeded(struct pp_redis_conn *rc)
{
	if (rc->lost) {
		rc->lost = false;
		pp_log_error("redis store back");
	}
}

/* One command on a connected context; a NULL reply means the context is dead. */
static redisReply *
call(redisContext *c, int argc, const char **argv, const size_t *argvlen)
{
	return redisCommandArgv(c, argc, argv, argvlen);
}

/* How much of the session set-up a connection gets. */
enum dial_mode {
	DIAL_PRIMARY,
	DIAL_NODE,
	DIAL_SENTINEL
};

static redisContext *
dial_mode(const struct pp_redis_target *t, const char *host, int port, enum dial_mode mode,
          char *why, size_t whylen);

static redisContext *
dial(const struct pp_redis_target *t, const char *host, int port, char *why, size_t whylen)
{
	return dial_mode(t, host, port, host ? DIAL_NODE : DIAL_PRIMARY, why, whylen);
}

/* A command whose reply only says yes or no (AUTH, SELECT, ASKING).
 * Returns 0, or -1 with "<label>: <Redis's error>" in why: the label, never
 * the arguments, so a password cannot reach a log. */
static int
call_ok(redisContext *c, int argc, const char **av, const size_t *al, const char *label, char *why,
        size_t whylen)
{
	redisReply *r = call(c, argc, av, al);

	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		snprintf(why, whylen, "%s: %.100s", label, r ? r->str : c->errstr);
		if (r)
			freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

/* A TCP or unix connection with the command timeout set, or NULL. */
static redisContext *
connect_node(const struct pp_redis_target *t, const char *host, int port, char *why, size_t whylen)
{
	struct timeval tv = tv_of(t->timeout_ms);
	redisContext *c;

	if (host == NULL && t->unix_path[0])
		c = redisConnectUnixWithTimeout(t->unix_path, tv);
	else
		c = redisConnectWithTimeout(host ? host : t->host, host ? port : t->port, tv);
	if (c == NULL) {
		snprintf(why, whylen, "connect: out of memory");
		return NULL;
	}
	if (c->err) {
		snprintf(why, whylen, "connect: %s", c->errstr);
		redisFree(c);
		return NULL;
	}
	/* Connect has its own timeout; commands need theirs set too. */
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		snprintf(why, whylen, "cannot set the command timeout");
		redisFree(c);
		return NULL;
	}
	return c;
}

/* AUTH [user] password; the one-argument form when no user is set. */
static int
authenticate(redisContext *c, const struct pp_redis_target *t, char *why, size_t whylen)
{
	const char *av[3] = { "AUTH", t->user, t->password };
	size_t al[3] = { 4, strlen(t->user), strlen(t->password) };

	if (t->user[0])
		return call_ok(c, 3, av, al, "AUTH", why, whylen);
	av[1] = t->password;
	al[1] = al[2];
	return call_ok(c, 2, av, al, "AUTH", why, whylen);
}

static int
select_db(redisContext *c, int db, char *why, size_t whylen)
{
	char arg[16], label[32];
	int n = snprintf(arg, sizeof(arg), "%d", db);
	const char *av[2] = { "SELECT", arg };
	size_t al[2] = { 6, (size_t)n };

	snprintf(label, sizeof(label), "SELECT %d", db);
	return call_ok(c, 2, av, al, label, why, whylen);
}

static redisContext *
dial_mode(const struct pp_redis_target *t, const char *host, int port, enum dial_mode mode,
          char *why, size_t whylen)
{
	redisContext *c = connect_node(t, host, port, why, whylen);

	if (c == NULL || mode == DIAL_SENTINEL)
		return c;
	if ((t->password[0] && authenticate(c, t, why, whylen)) ||
	    (t->db != 0 && mode == DIAL_PRIMARY && select_db(c, t->db, why, whylen))) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* Asks the sentinels, in order, where the master is, into rc->t.host/port.
 * Returns 0, or -1 with the reason in why. */
static int
discover(struct pp_redis_conn *rc, char *why, size_t whylen)
{
	const char *av[3] = { "SENTINEL", "get-master-addr-by-name", rc->t.master };
	char last[160] = "no sentinel configured";

	for (int i = 0; i < rc->t.nsentinels; i++) {
		redisContext *c = dial_mode(&rc->t, rc->t.sentinel[i].host, rc->t.sentinel[i].port,
		                            DIAL_SENTINEL, last, sizeof(last));
		redisReply *r;
		char *end;
		long port;

		if (c == NULL)
			continue;
		r = call(c, 3, av, NULL);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
		    r->element[0]->len < sizeof(rc->t.host) &&
		    (port = strtol(r->element[1]->str, &end, 10)) > 0 && port < 65536 && *end == '\0') {
			snprintf(rc->t.host, sizeof(rc->t.host), "%s", r->element[0]->str);
			rc->t.port = (int)port;
			rc->t.unix_path[0] = '\0';
			freeReplyObject(r);
			redisFree(c);
			return 0;
		}
		snprintf(last, sizeof(last), "sentinel %s:%d: %s", rc->t.sentinel[i].host,
		         rc->t.sentinel[i].port, r == NULL ? c->errstr : r->type == REDIS_REPLY_ERROR ? r->str :
		                                                                                        "does not know the master");
		if (r)
			freeReplyObject(r);
		redisFree(c);
	}
	snprintf(why, whylen, "no sentinel named master '%s' (%s)", rc->t.master, last);
	return -1;
}

/* Sentinel may still name a node that has just been demoted (or one whose
 * replica-read-only is off, where writes would land and be lost): a worker
 * only takes a node that says it is the primary. ROLE first; INFO
 * replication for a Redis without it. Returns 0, or -1 with the reason. */
static int
check_primary(redisContext *c, const struct pp_redis_target *t, char *why, size_t whylen)
{
	const char *av[2] = { "ROLE", NULL };
	redisReply *r = call(c, 1, av, NULL);
	bool master = false, known = false;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING) {
		known = true;
		master = strcmp(r->element[0]->str, "master") == 0;
	} else if (r && r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		av[0] = "INFO";
		av[1] = "replication";
		r = call(c, 2, av, NULL);
		if (r && r->type == REDIS_REPLY_STRING) {
			known = strstr(r->str, "role:") != NULL;
			master = strstr(r->str, "role:master") != NULL;
		}
	}
	if (r == NULL)
		snprintf(why, whylen, "ROLE: %s", c->errstr);
	else if (!known)
		snprintf(why, whylen, "%s:%d does not say its role", t->host, t->port);
	else if (!master)
		snprintf(why, whylen, "%s:%d named by Sentinel reports itself a replica, not the primary",
		         t->host, t->port);
	if (r)
		freeReplyObject(r);
	return known && master ? 0 : -1;
}

int
pp_redis_parse_node(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;

	if (colon == NULL || colon == s || (size_t)(colon - s) >= hostlen)
		return -1;
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 1 || p > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	/* A bracketed IPv6 literal. */
	if (host[0] == '[' && colon - s >= 2 && host[colon - s - 1] == ']') {
		memmove(host, host + 1, (size_t)(colon - s - 2));
		host[colon - s - 2] = '\0';
	}
	*port = (int)p;
	return 0;
}

/* A redirection "MOVED <slot> <host:port>" or "ASK <slot> <host:port>":
 * returns 1 (MOVED), 2 (ASK) or 0, with the node in host/port. */
static int
redirection(const redisReply *r, char *host, size_t hostlen, int *port)
{
	int kind;
	const char *p;

	if (r->type != REDIS_REPLY_ERROR || r->str == NULL)
		return 0;
	if (strncmp(r->str, "MOVED ", 6) == 0)
		kind = 1;
	else if (strncmp(r->str, "ASK ", 4) == 0)
		kind = 2;
	else
		return 0;
	/* Past the word and the slot number. */
	p = strchr(r->str, ' ');
	p = p ? strchr(p + 1, ' ') : NULL;
	if (p == NULL || pp_redis_parse_node(p + 1, host, hostlen, port) != 0)
		return 0;
	return kind;
}

/* One command; when script is set and the node answers NOSCRIPT (a restart,
 * a failover, a node reached by MOVED/ASK that never saw it), the script is
 * loaded on that same node and the command sent once more. NULL: I/O. */
static redisReply *
run(redisContext *c, int argc, const char **argv, const size_t *argvlen, const char *script)
{
	redisReply *r = call(c, argc, argv, argvlen);
	const char *av[3] = { "SCRIPT", "LOAD", script };

	if (r == NULL || script == NULL || r->type != REDIS_REPLY_ERROR ||
	    strncmp(r->str, "NOSCRIPT", 8) != 0)
		return r;
	freeReplyObject(r);
	r = call(c, 3, av, NULL);
	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		return r; /* e.g. NOPERM for SCRIPT LOAD: the caller reports it */
	freeReplyObject(r);
	return call(c, argc, argv, argvlen);
}

/* ASK: this one command goes to the named node, preceded by ASKING. */
static redisReply *
ask(struct pp_redis_conn *rc, const char *host, int port, int argc, const char **argv,
    const size_t *argvlen, const char *script, char *why, size_t whylen)
{
	redisContext *c = dial(&rc->t, host, port, why, whylen);
	redisReply *r;
	const char *av[1] = { "ASKING" };
	size_t al[1] = { 6 };

	if (c == NULL)
		return NULL;
	if (call_ok(c, 1, av, al, "ASKING", why, whylen)) {
		redisFree(c);
		return NULL;
	}
	/* ASKING covers one command: a NOSCRIPT reload needs it again. */
	r = call(c, argc, argv, argvlen);
	if (r && script && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
		const char *lv[3] = { "SCRIPT", "LOAD", script };
		freeReplyObject(r);
		r = call(c, 3, lv, NULL);
		if (r && r->type != REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			r = call(c, 1, av, al);
			if (r && r->type != REDIS_REPLY_ERROR) {
				freeReplyObject(r);
				r = call(c, argc, argv, argvlen);
			}
		}
	}
	if (r == NULL)
		snprintf(why, whylen, "after ASK: %s", c->errstr);
	redisFree(c);
	return r;
}

/* No Sentinel: the seeds in turn from seed_next, each bounded by the
 * timeout, until one answers (with AUTH and SELECT done); a node that is
 * not the slot's owner answers MOVED (one hop per reconnect). Returns 0, or
 * -1 with the reason in why (the last seed's, with the count). */
static int
dial_seeds(struct pp_redis_conn *rc, char *why, size_t whylen)
{
	int n = rc->t.nseeds, first = rc->seed_next;

	snprintf(rc->t.unix_path, sizeof(rc->t.unix_path), "%s", rc->seed_unix);
	if (n == 0) {
		rc->c = dial(&rc->t, NULL, 0, why, whylen);
		return rc->c ? 0 : -1;
	}
	for (int i = 0; i < n; i++) {
		int k = (first + i) % n;
		char one[200];

		memcpy(rc->t.host, rc->t.seed[k].host, sizeof(rc->t.host));
		rc->t.port = rc->t.seed[k].port;
		rc->c = dial(&rc->t, NULL, 0, one, sizeof(one));
		if (rc->c != NULL) {
			rc->seed_cur = k;
			return 0;
		}
		rc->seed_next = (k + 1) % n;
		if (n == 1)
			snprintf(why, whylen, "%s", one);
		else
			snprintf(why, whylen, "none of %d seeds answered (last %.100s:%d: %.150s)", n,
			         rc->t.host, rc->t.port, one);
	}
	return -1;
}

/* A fresh connection: to the master Sentinel names now, or else through
 * the seeds. Returns 0, or -1 with the reason in why. */
static int
reconnect(struct pp_redis_conn *rc, char *why, size_t whylen)
{
	if (rc->t.nsentinels == 0)
		return dial_seeds(rc, why, whylen);
	/* Every fresh connection asks where the master is now: after any
	 * error (a failover's READONLY included) the next try follows it. */
	if (discover(rc, why, whylen) != 0)
		return -1;
	rc->c = dial(&rc->t, NULL, 0, why, whylen);
	if (rc->c == NULL)
		return -1;
	return check_primary(rc->c, &rc->t, why, whylen);
}

/* MOVED: the slot lives elsewhere now, so that node is ours from here. */
static int
move_to(struct pp_redis_conn *rc, const char *host, int port, char *why, size_t whylen)
{
	redisContext *c = dial(&rc->t, host, port, why, whylen);

	if (c == NULL)
		return -1;
	drop(rc);
	rc->c = c;
	snprintf(rc->t.host, sizeof(rc->t.host), "%s", host);
	rc->t.port = port;
	rc->t.unix_path[0] = '\0';
	return 0;
}

/* The command on rc->c, following MOVED and ASK at most twice (a third
 * redirection is returned as the reply). NULL: the connection is lost,
 * the reason in why. */
static redisReply *
follow(struct pp_redis_conn *rc, int argc, const char **argv, const size_t *argvlen,
       const char *script, char *why, size_t whylen)
{
	char host[256];
	int port;

	for (int hops = 0;; hops++) {
		redisReply *r = run(rc->c, argc, argv, argvlen, script);
		if (r == NULL) {
			snprintf(why, whylen, "%s", rc->c->errstr[0] ? rc->c->errstr : "connection lost");
			return NULL;
		}
		int kind = redirection(r, host, sizeof(host), &port);
		if (kind == 0 || hops == 2)
			return r;
		freeReplyObject(r);
		if (kind == 2)
			return ask(rc, host, port, argc, argv, argvlen, script, why, whylen);
		if (move_to(rc, host, port, why, whylen) != 0)
			return NULL;
	}
}

/* The final reply: handed to the caller, or judged an error. */
static int
take_reply(struct pp_redis_conn *rc, redisReply *r, const char *cmd, redisReply **out)
{
	char why[160];

	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "TRYAGAIN", 8) == 0) {
		/* A slot being resharded with this decision's keys split between
		 * two nodes: a passing state, not a lost Redis. No hold-off. */
		unsigned long n;
		if (pp_log_due(&rc->trylim, 10, &n))
			pp_log_warn("redis: TRYAGAIN during a slot migration (%lu requests)", n);
		freeReplyObject(r);
		return PP_REDIS_EREPLY;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		/* ACL NOPERM, OOM, a script error, NOSCRIPT right after a load,
		 * or redirections going round. */
		snprintf(why, sizeof(why), "%.40s: %.100s", cmd, r->str);
		freeReplyObject(r);
		pp_redis_fail(rc, why);
		return PP_REDIS_EREPLY;
	}
	succeeded(rc);
	*out = r;
	return PP_REDIS_OK;
}

int
pp_redis_command(struct pp_redis_conn *rc, int argc, const char **argv,
                 const size_t *argvlen, const char *script, redisReply **out)
{
	char why[320]; /* room for a 255-byte host in the message */
	redisReply *r;

	*out = NULL;
	if (rc->c == NULL) {
		if (rc->lost && pp_clock_mono() < rc->hold_until)
			return PP_REDIS_EHOLD;
		if (reconnect(rc, why, sizeof(why)) != 0) {
			pp_redis_fail(rc, why);
			return PP_REDIS_EIO;
		}
	}
	r = follow(rc, argc, argv, argvlen, script, why, sizeof(why));
	if (r == NULL) {
		pp_redis_fail(rc, why);
		return PP_REDIS_EIO;
	}
	return take_reply(rc, r, argv[0], out);
}
