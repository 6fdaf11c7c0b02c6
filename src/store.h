/* store.h - where the windows live. The limiter and the FastCGI layer see only
 * this interface; store_lmdb.c fills it for one host, and a second backend
 * (Redis is next) fills struct pp_store_ops without touching either. */
#ifndef PP_STORE_H
#define PP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "limiter.h"

/* One error vocabulary for every backend. */
enum {
	PP_STORE_OK = 0,
	PP_STORE_EFULL = -1,    /* no room even after reclaiming dead windows */
	PP_STORE_EIO = -2,      /* the backend failed; see the log */
	PP_STORE_ENOMEM = -3,
	PP_STORE_EBUSY = -4,    /* no reader slot even after clearing stale ones */
};
const char *pp_store_strerror(int rc);

#define PP_KEYID_LEN 16
/* A keyed hash of the secret key: the only form a key is ever stored in. */
struct pp_keyid {
	unsigned char b[PP_KEYID_LEN];
};

struct pp_store;

/* Milliseconds since the epoch. The store reads it inside its transaction,
 * after taking the write lock, so recorded times follow commit order. */
typedef int64_t (*pp_clock_fn)(void);

/* A backend. Every function returns PP_STORE_OK or a PP_STORE_E* code. */
struct pp_store_ops {
	const char *name;
	/* Opens the backend for this process (call after fork). On success
	 * *secret (32 bytes) is this installation's hashing secret, created on
	 * first use and kept by the backend. */
	int  (*open)(struct pp_store **out, const struct pp_config *cfg,
	             unsigned char secret[32]);
	/* Decide and, if admitted, record, as one atomic step across processes,
	 * at the time clock() gives once the step holds its lock (or snapshot),
	 * reported in out->now_ms. May first decide from a read-only snapshot:
	 * quota only frees with time, so a snapshot that is full stays full. */
	int  (*hit)(struct pp_store *s, const struct pp_keyid *id,
	            const struct pp_policy *p, pp_clock_fn clock, struct pp_decision *out);
	/* A write and a read, for /readyz. */
	int  (*probe)(struct pp_store *s);
	void (*close)(struct pp_store *s);
};

extern const struct pp_store_ops pp_store_lmdb;

/* The generic part: picks the backend, hashes keys with the secret. */
struct pp_limiter_store {
	const struct pp_store_ops *ops;
	struct pp_store *s;
	unsigned char secret[32];
	pp_clock_fn clock; /* pp_clock_now_ms after open; tests may replace it */
};

int  pp_store_open(struct pp_limiter_store *ls, const struct pp_config *cfg);
/* Hashes key (key_len bytes) and runs the backend's hit with ls->clock. */
int  pp_store_hit(struct pp_limiter_store *ls, const char *key, size_t key_len,
                  const struct pp_policy *p, struct pp_decision *out);
int  pp_store_probe(struct pp_limiter_store *ls);
void pp_store_close(struct pp_limiter_store *ls);
void pp_store_keyid(const unsigned char secret[32], const char *key, size_t key_len,
                    struct pp_keyid *out);

#endif
