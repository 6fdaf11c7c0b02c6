/* store.h - where the windows live. The limiter and the FastCGI layer see only
 * struct pp_store; each backend (store_lmdb.c for one host, Redis for a fleet)
 * is one row of a table of struct pp_store_ops, chosen by the `store` key. */
#ifndef PP_STORE_H
#define PP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "limiter.h"

/* One error vocabulary for every backend and the generic layer. */
enum {
	PP_STORE_OK = 0,
	PP_STORE_EFULL = -1, /* no room even after reclaiming dead windows */
	PP_STORE_EIO = -2,   /* the backend failed; it logged the cause */
	PP_STORE_ENOMEM = -3,
	PP_STORE_EBUSY = -4,    /* no reader slot even after clearing stale ones */
	PP_STORE_EUNAVAIL = -5, /* the backend is away (a server down, timed out,
	                         * or in its retry hold-off); nothing was decided */
	PP_STORE_ESECRET = -6,  /* key_secret_file unreadable or unfit */
	PP_STORE_ENOSTORE = -7, /* attach: no store there yet (nothing created) */
	PP_STORE_ENOTSUP = -8,  /* the backend has no such operation */
};
/* A static string for any rc (unknown codes included). */
const char *pp_store_strerror(int rc);

#define PP_KEYID_LEN 16
/* A keyed hash of the secret key: the only form a key is ever stored in. */
struct pp_keyid {
	unsigned char b[PP_KEYID_LEN];
};

#define PP_SECRET_LEN 32

/* Milliseconds since the epoch. The store reads it inside its transaction,
 * after taking the write lock, so recorded times follow commit order. */
typedef int64_t (*pp_clock_fn)(void);

/* pingpongctl inspect: one key's window and the global one at now, as a
 * request now would be decided; nothing is recorded. */
struct pp_store_view {
	struct pp_decision d;    /* d.key, d.global: used, remaining, reset_ms,
	                          * retry_ms; d.admit: would a request pass now */
	bool key_found;          /* the store holds a record for the key */
	int64_t key_clear_ms;    /* until every live admission has expired: */
	int64_t global_clear_ms; /* the window has all its quota back; 0 if so */
};

/* pingpongctl stats. Counts are exact at one snapshot. */
struct pp_store_stats {
	uint64_t windows;      /* per-key windows stored */
	uint64_t live_windows; /* of those, holding a live admission now */
	uint64_t bytes_used;   /* LMDB: pages in use (not free) x page size;
	                        * Redis: used_memory */
	uint64_t bytes_max;    /* LMDB: the map size; Redis: maxmemory (0: none) */
	uint64_t file_bytes;   /* LMDB: the highest page ever used; 0 elsewhere */
};

/* Capability flags of a backend (pp_store_ops.supports). */
#define PP_STORE_OWN_CLOCK  0x1u /* decisions use the store's own clock (Redis
                                 * TIME): pp_store.clock is not read, so a fake
                                 * clock cannot drive it */
#define PP_STORE_SHARED     0x2u /* shared by several hosts: the hashing secret
                                 * must come from key_secret_file, the same on
                                 * every host */
#define PP_STORE_SERVER     0x4u /* needs a running server (tests skip it
                                 * unless one is named) */
#define PP_STORE_GLOBAL_OFF 0x8u /* decides with policy.global.limit =
                                  * PP_LIMIT_OFF (global_limit = off); a
                                  * backend without it refuses that config */

/* A backend: one row of the table. Every int function returns PP_STORE_OK
 * or a PP_STORE_E* code; `be` is the backend's own state from open. */
struct pp_store_ops {
	const char *name;  /* the value of the `store` key */
	unsigned supports; /* PP_STORE_* capability flags */
	/* Checks the backend's own keys together, at start-up, before any
	 * open. Returns 0, or -1 with a one-line reason naming the key in err.
	 * NULL: nothing to check. */
	int (*check)(const struct pp_config *cfg, char *err, size_t errlen);
	/* Writes the backend's part of the start-up line ("db_path ..., map
	 * 64 MiB"); never a secret. Always NUL-terminates out. */
	void (*describe)(const struct pp_config *cfg, char *out, size_t cap);
	/* Opens the backend for this process (call after fork). If
	 * cfg->key_secret_file is set, secret already holds the installation's
	 * hashing secret and the backend must neither read nor store one;
	 * otherwise the backend fills secret (LMDB: made on first use, kept
	 * in the environment), or fails with PP_STORE_ESECRET if it cannot
	 * keep one. On failure *be is NULL, nothing stays open, and the
	 * backend has logged the cause. */
	int (*open)(void **be, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN]);
	/* Decides and, if admitted, records, as one atomic step across
	 * processes (and hosts, for a shared backend). The decision time is
	 * clock() read once the step holds its lock or snapshot (or the
	 * store's own clock, PP_STORE_OWN_CLOCK), reported in out->now_ms. On
	 * an error nothing was recorded and *out is undefined. A backend that
	 * talks to a server bounds the call by redis_timeout and returns
	 * PP_STORE_EUNAVAIL when it is away. */
	int (*hit)(void *be, const struct pp_keyid *id, const struct pp_policy *p,
	           pp_clock_fn clock, struct pp_decision *out);
	/* A write and a read, for /readyz: OK means a hit could commit now. */
	int (*probe)(void *be);
	/* Frees everything open made; be may be NULL. */
	void (*close)(void *be);

	/* The operator's calls (pingpongctl); NULL: not supported by this
	 * backend. Each is safe beside live workers: short transactions or
	 * single round trips, and nothing held open between calls. */
	/* Like open, but only an existing store, for a tool that may run as
	 * another user: creates no file, no database and no secret (an
	 * absent store is PP_STORE_ENOSTORE); close frees it. */
	int (*attach)(void **be, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN]);
	/* Fills out for id at clock(); changes nothing. */
	int (*inspect)(void *be, const struct pp_keyid *id, const struct pp_policy *p,
	               pp_clock_fn clock, struct pp_store_view *out);
	/* Deletes id's window (id NULL: the global window) in one step;
	 * *found says whether there was one. Workers see it at their next
	 * decision (a shared backend: within refusal_cache_max). */
	int (*reset)(void *be, const struct pp_keyid *id, const struct pp_policy *p, bool *found);
	/* Fills out (windows live at clock()). */
	int (*stats)(void *be, const struct pp_policy *p, pp_clock_fn clock,
	             struct pp_store_stats *out);
};

/* The backends this build has; pp_store_backends ends with NULL. */
extern const struct pp_store_ops pp_store_lmdb;
#ifdef HAVE_HIREDIS
extern const struct pp_store_ops pp_store_redis;
#endif
extern const struct pp_store_ops *const pp_store_backends[];

/* The row named name, or NULL if this build has none. */
const struct pp_store_ops *pp_store_find(const char *name);

/* The handle callers use: the chosen backend, the hashing secret, and (with
 * on_store_error = local) this host's LMDB beside a shared primary. */
struct pp_store {
	const struct pp_store_ops *ops;
	void *be;
	unsigned char secret[PP_SECRET_LEN];
	pp_clock_fn clock;                    /* pp_clock_now_ms after open; tests may replace it */
	const struct pp_store_ops *local_ops; /* NULL unless on_store_error = local */
	void *local;
	bool primary_lost;        /* the last primary hit failed */
	unsigned long local_hits; /* decided locally since it was lost */
};

/* Start-up check of cfg->store: the backend exists in this build, its own
 * check passes, and a shared backend has key_secret_file. Returns 0 or -1
 * with a reason naming the key in err. */
int pp_store_check(const struct pp_config *cfg, char *err, size_t errlen);
/* The same with a given row (tests pass their own). */
int pp_store_check_backend(const struct pp_store_ops *ops, const struct pp_config *cfg,
                           char *err, size_t errlen);
/* "lmdb (db_path /var/lib/pingpong, map 64 MiB)" for the start-up line. */
void pp_store_describe(const struct pp_config *cfg, char *out, size_t cap);

/* Opens the store cfg->store names (call after fork, after pp_store_check).
 * With key_secret_file set, the secret comes from that file (hashed to 32
 * bytes) and no backend keeps one. Returns PP_STORE_OK, or a code with st
 * fully closed and its secret wiped (pp_store_close is then a no-op). */
int pp_store_open(struct pp_store *st, const struct pp_config *cfg);
/* The same with a given primary row (tests pass a fake one). */
int pp_store_open_backend(struct pp_store *st, const struct pp_store_ops *ops,
                          const struct pp_config *cfg);
/* Hashes key (key_len bytes, never kept) and runs the backend's hit with
 * st->clock. Returns what the backend returned; with on_store_error = local,
 * an EUNAVAIL or EIO from a shared primary is answered from this host's
 * LMDB instead (one log line when the primary is lost, one when back). */
int pp_store_hit(struct pp_store *st, const char *key, size_t key_len,
                 const struct pp_policy *p, struct pp_decision *out);
/* The primary's probe (a store away reports its code, not a local one). */
int pp_store_probe(struct pp_store *st);
/* Closes every backend and wipes the secret; safe to call twice. */
void pp_store_close(struct pp_store *st);
void pp_store_keyid(const unsigned char secret[PP_SECRET_LEN], const char *key, size_t key_len,
                    struct pp_keyid *out);

/* The operator's side (pingpongctl). pp_store_attach opens cfg->store
 * like pp_store_open but through the backend's attach (nothing created);
 * PP_STORE_ENOTSUP if it has none. The others return the backend's code,
 * or PP_STORE_ENOTSUP when its row leaves the op NULL. key is hashed as
 * pp_store_hit does and never kept. */
int pp_store_attach(struct pp_store *st, const struct pp_config *cfg);
int pp_store_inspect(struct pp_store *st, const char *key, size_t key_len,
                     const struct pp_policy *p, struct pp_store_view *out);
/* key NULL: the global window. */
int pp_store_reset(struct pp_store *st, const char *key, size_t key_len,
                   const struct pp_policy *p, bool *found);
int pp_store_stats(struct pp_store *st, const struct pp_policy *p, struct pp_store_stats *out);

/* The LMDB backend's sizing rule, exported for its tests. The most
 * admissions that can be live in per-key windows at once: each needs a
 * global slot, so global_limit * (per_key_window / global_window + 1). */
uint64_t pp_lmdb_live_max(const struct pp_config *cfg);
/* The map size that holds that many live windows with room to spare
 * (measured: about 130 bytes of LMDB pages per live admission). */
uint64_t pp_lmdb_map_needed(const struct pp_config *cfg);
/* The map size the LMDB backend opens with: db_map_size, or with
 * db_map_size = auto, pp_lmdb_map_needed rounded up to whole MiB and at
 * least 64 MiB (1 GiB with global_limit = off, which bounds nothing). */
uint64_t pp_lmdb_map_size(const struct pp_config *cfg);

#endif
