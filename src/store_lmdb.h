/* store_lmdb.h - private to the LMDB store (store_lmdb*.c): its state and the
 * calls its files make of each other. Nothing outside the store includes it. */
#ifndef PP_STORE_LMDB_H
#define PP_STORE_LMDB_H

#include <lmdb.h>

#include "log.h"
#include "store.h"

/* Reader slots in lock.mdb: one per process that has the store open (each
 * worker holds one for its reused snapshot; mdb_stat and friends take one
 * while they run). LMDB's default, 126, stops the 127th worker of a
 * many-core host with MDB_READERS_FULL; 4096 slots cost 256 KiB of lock
 * file (64 bytes a slot), reserved on disk at open. */
#define PP_LMDB_MAXREADERS 4096

/* The layout of the records; an environment written with another layout is
 * refused with "created by another version", not misread. Files made before
 * the version record existed hold format 1 without saying so. Format 2 keeps
 * the global window as per-slot records in "global" (format 1: one record of
 * every bucket, in "windows"); format 3 has no expiry index (format 2's
 * "expiry"): expired windows are found by the amortised sweep instead. */
#define PP_LMDB_FORMAT 3u

/* Refusals at open that have logged their own message (beyond LMDB's codes). */
enum {
	ERR_OTHER_FORMAT = MDB_LAST_ERRCODE + 1,
	ERR_OTHER_POLICY
};

/* Pages an admission leaves unused for the emergency sweep. A deletion
 * needs new pages too (copy-on-write), so a map filled to the last page by
 * small records could not be swept at all: admissions stop this short of
 * full (MDB_MAP_FULL), and the sweep, which does not check, has room. */
#define SWEEP_RESERVE 32

/* Buckets a slot record can hold: one per millisecond of its slot. */
#define SLOT_CAP (PP_SLOT_MS + 1)

struct lmdb_store {
	MDB_env *env;
	MDB_dbi windows; /* id (16 bytes) -> struct pp_bucket[] */
	MDB_dbi global;  /* be64 slot id -> struct slot_head, struct pp_bucket[] */
	MDB_dbi meta;    /* "format", "secret", "probe", "sweep" */
	MDB_txn *rtxn;   /* reset between requests, renewed for each */
	struct pp_bucket *kbuf;
	uint32_t kcap;
	struct pp_slot *segs;   /* global slot records read, SLOT_CAP buckets each */
	struct pp_bucket *sbuf; /* their buckets: segcap * SLOT_CAP */
	uint32_t segcap;
	unsigned psize;                 /* LMDB's page size */
	size_t map_size;                /* this process's map; only ever grows */
	int writemap;                   /* the map is reserved on disk and written through */
	int admitting;                  /* the last decision was an admission */
	unsigned since_sweep;           /* admissions of this process since its last sweep */
	char path[1024];                /* db_path, for log lines */
	size_t probe_size;              /* bytes /readyz writes: pp_lmdb_probe_bytes() */
	int policy_fd;                  /* policy-<fingerprint>.lock, flock(LOCK_SH) while open */
	struct pp_log_limit full_log;   /* one "map full" line per 10 s */
	struct pp_log_limit disk_log;   /* one "disk full" line per 10 s */
	struct pp_log_limit resize_log; /* one "map grown elsewhere" line per 10 s */
	struct pp_log_limit probe_log;  /* one "probe failed" line per 10 s */
	struct pp_log_limit err_log;    /* one line per 10 s for other errors */
};

/* ---- store_lmdb_env.c: the environment under the decisions ---- */
/* An LMDB (or errno) code as a PP_STORE_* code. */
int pp_lmdb_map_rc(int rc);
/* Grows *buf to want buckets; 0 or -1 (no memory; *buf unchanged). */
int pp_lmdb_grow(struct pp_bucket **buf, uint32_t *cap, uint32_t want);
/* Whether rc says the disk under db_path is full. */
int pp_lmdb_disk_full(const struct lmdb_store *s, int rc);
void pp_lmdb_log_error(struct lmdb_store *s, int rc, const char *what);
void pp_lmdb_log_full(struct lmdb_store *s, const char *what);
/* A write transaction, adopting a map another process grew. */
int pp_lmdb_begin_write(struct lmdb_store *s, MDB_txn **txn);
/* Renews the reused snapshot (clearing stale readers, adopting a grown map). */
int pp_lmdb_renew_read(struct lmdb_store *s);
void pp_lmdb_clear_stale_readers(struct lmdb_store *s, const char *why);
/* Pages on LMDB's free list, read in txn. */
int pp_lmdb_free_pages(MDB_txn *txn, uint64_t *out);
/* Big-endian n-byte integers: LMDB sorts keys bytewise, so slot records
 * sort by id. */
uint64_t pp_lmdb_be_get(const unsigned char *b, int n);
void pp_lmdb_be_put(unsigned char *out, uint64_t u, int n);
/* The backend's probe and close (struct pp_store_ops). */
int pp_lmdb_probe(void *be);
void pp_lmdb_close(void *be);

/* ---- store_lmdb_slots.c: the global window's slot records ---- */
/* Room for n slot records in s->segs; 0 or ENOMEM. */
int pp_lmdb_slots_room(struct lmdb_store *s, uint32_t n);
/* Reads the global window's records into s->segs: the first that can hold a
 * live admission, the one after it and the newest (all = 0), or every one
 * from the first live on (all = 1). Leaves one more seg of room. */
int pp_lmdb_gather(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now,
                   int all, uint32_t *ng);
/* For an admission at now, through c (a cursor on s->global in txn): the
 * records as pp_lmdb_gather reads them, times after now (a clock stepped
 * back) folded into now first (all = 0 only; *folded: any were), and
 * s->segs[*ng - 1] the writable record of now's slot. */
int pp_lmdb_gather_for_admit(struct lmdb_store *s, MDB_txn *txn, MDB_cursor *c,
                             const struct pp_limit *l, int64_t now, int all, uint32_t *ng,
                             int *folded);
/* Writes s->segs[i] back through c, the cursor pp_lmdb_gather_for_admit
 * read with; made_new: it is a new record (expired ones are then
 * dropped). */
int pp_lmdb_slot_put(struct lmdb_store *s, MDB_txn *txn, MDB_cursor *c, uint32_t i,
                     const struct pp_limit *l, int64_t now, int made_new);

/* ---- store_lmdb_sweep.c: reclaiming expired key windows ---- */
/* Called once per admission, in its transaction: every SWEEP_EVERY
 * admissions of this process, deletes the expired windows among the next
 * SWEEP_WALK after where the last sweep (of any process) stopped. */
int pp_lmdb_sweep_some(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now);
/* The map is full: sweeps every window in short transactions; returns how
 * many it freed. */
size_t pp_lmdb_sweep_all(struct lmdb_store *s, const struct pp_limit *l, int64_t now);

/* ---- store_lmdb_open.c ---- */
int pp_lmdb_open(void **out, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN]);
int pp_lmdb_attach(void **out, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN]);

/* ---- store_lmdb_size.c ---- */
int pp_lmdb_check(const struct pp_config *cfg, char *err, size_t errlen);
void pp_lmdb_describe(const struct pp_config *cfg, char *out, size_t cap);
/* Bytes of the /readyz probe's record. */
uint64_t pp_lmdb_probe_bytes(const struct pp_config *cfg);

/* ---- store_lmdb_files.c: the files beside the environment ---- */
/* Reserves disk space for lock.mdb and data.mdb (*map, raised to the
 * file's size); *writemap: the reservation holds, write through the map. */
int pp_lmdb_reserve_space(struct lmdb_store *s, size_t *map, int *writemap);
/* Takes this policy's lock file, or refuses (ERR_OTHER_POLICY) when live
 * workers hold another policy's. */
int pp_lmdb_claim_policy(struct lmdb_store *s, const struct pp_config *cfg);

/* ---- store_lmdb_ctl.c: the operator's calls (pingpongctl) ---- */
int pp_lmdb_inspect(void *be, const struct pp_keyid *id, const struct pp_policy *p,
                    pp_clock_fn clock, struct pp_store_view *out);
int pp_lmdb_reset(void *be, const struct pp_keyid *id, const struct pp_policy *p, bool *found);
int pp_lmdb_stats(void *be, const struct pp_policy *p, pp_clock_fn clock,
                  struct pp_store_stats *out);

/* ---- store_lmdb.c: the decisions ---- */
/* Reads the key window at k in txn for deciding only (valid until txn ends). */
int pp_lmdb_view(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, struct pp_window *w);

#endif
