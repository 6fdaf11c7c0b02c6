/* store_lmdb.c - the only code that knows LMDB. A refusal is decided from a
 * reused read-only snapshot; an admission is one short write transaction:
 * get -> limiter -> put -> commit, atomic across every worker on the host. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Expired windows reclaimed per admission: more than the one new key an
 * admission can add, so dead windows never pile up. */
#define RECLAIM_BATCH 4
/* Bound on one emergency sweep when the map is full. */
#define RECLAIM_SWEEP 100000

/* Reader slots in lock.mdb: one per process that has the store open (each
 * worker holds one for its reused snapshot; mdb_stat and friends take one
 * while they run). LMDB's default, 126, stops the 127th worker of a
 * many-core host with MDB_READERS_FULL; 4096 slots cost 256 KiB of lock
 * file (64 bytes a slot), reserved on disk at open. */
#define PP_LMDB_MAXREADERS 4096
#define LOCK_RESERVE       ((off_t)(PP_LMDB_MAXREADERS + 2) * 64 + 4096)

/* The layout of the records below; an environment written with another
 * layout is refused with "created by another version", not misread. Files
 * made before the version record existed hold format 1 without saying so.
 * Format 2 keeps the global window as per-slot records in "global" (format
 * 1: one record of every bucket, GLOBAL_KEY in "windows"). */
#define PP_LMDB_FORMAT 2u

/* Refusals at open that have logged their own message (beyond LMDB's codes). */
enum {
	ERR_OTHER_FORMAT = MDB_LAST_ERRCODE + 1,
	ERR_OTHER_POLICY
};

/* Format 1's global window, in "windows": only looked for, to refuse it. */
static const char GLOBAL_KEY[] = { '\0', 'G' };

/* Buckets a slot record can hold: one per millisecond of its slot. */
#define SLOT_CAP (PP_SLOT_MS + 1)
/* A slot record: this header, then its buckets. */
struct slot_head {
	uint64_t before; /* struct pp_slot's */
	uint64_t count;
};

struct lmdb_store {
	MDB_env *env;
	MDB_dbi windows; /* id (16 bytes) -> struct pp_bucket[] */
	MDB_dbi global;  /* be64 slot id -> struct slot_head, struct pp_bucket[] */
	MDB_dbi expiry;  /* be64 expiry ms + id -> "", oldest first */
	MDB_dbi meta;    /* "format", "secret", "probe" */
	MDB_txn *rtxn;   /* reset between requests, renewed for each */
	struct pp_bucket *kbuf;
	uint32_t kcap;
	struct pp_slot *segs;   /* global slot records read, SLOT_CAP buckets each */
	struct pp_bucket *sbuf; /* their buckets: segcap * SLOT_CAP */
	uint32_t segcap;
	unsigned psize;                 /* LMDB's page size */
	size_t map_size;                /* this process's map; only ever grows */
	int writemap;                   /* the map is reserved on disk and written through */
	char path[1024];                /* db_path, for log lines */
	size_t probe_size;              /* bytes /readyz writes: probe_bytes() */
	int policy_fd;                  /* policy-<fingerprint>.lock, flock(LOCK_SH) while open */
	struct pp_log_limit full_log;   /* one "map full" line per 10 s */
	struct pp_log_limit disk_log;   /* one "disk full" line per 10 s */
	struct pp_log_limit resize_log; /* one "map grown elsewhere" line per 10 s */
	struct pp_log_limit probe_log;  /* one "probe failed" line per 10 s */
	struct pp_log_limit err_log;    /* one line per 10 s for other errors */
};

static int
map_rc(int rc)
{
	switch (rc) {
	case 0: return PP_STORE_OK;
	case MDB_MAP_FULL: return PP_STORE_EFULL;
	case MDB_READERS_FULL: return PP_STORE_EBUSY;
	case ENOMEM: return PP_STORE_ENOMEM;
	case ENOSPC: return PP_STORE_EFULL;
	default: return PP_STORE_EIO;
	}
}

static int
grow(struct pp_bucket **buf, uint32_t *cap, uint32_t want)
{
	if (*cap >= want)
		return 0;
	struct pp_bucket *nb = realloc(*buf, (size_t)want * sizeof(**buf));
	if (!nb)
		return -1;
	*buf = nb;
	*cap = want;
	return 0;
}

/* Copies a fetched record into w's buffer. A record larger than the buffer
 * (the limit was lowered since it was written) keeps its newest buckets. */
static void
copy_record(const MDB_val *v, struct pp_window *w)
{
	w->n = 0;
	if (v->mv_size % sizeof(struct pp_bucket) != 0) {
		pp_log_warn("store: ignoring a window record of %zu bytes (not whole buckets)", v->mv_size);
		return;
	}
	size_t n = v->mv_size / sizeof(struct pp_bucket), skip = 0;
	if (n > w->cap) {
		skip = n - w->cap;
		n = w->cap;
	}
	memcpy(w->b, (const char *)v->mv_data + skip * sizeof(struct pp_bucket), n * sizeof(struct pp_bucket));
	w->n = (uint32_t)n;
}

/* Reads a window into w's buffer, for changing it. */
static int
load(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, struct pp_window *w)
{
	MDB_val v;
	int rc = mdb_get(txn, dbi, k, &v);
	w->n = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc == 0)
		copy_record(&v, w);
	return rc;
}

/* Like load, for deciding only: a record in an overflow page is aligned and
 * is read where it lies, without a copy (a high limit's window is ~16 KiB);
 * a small inline record (2-byte aligned) is copied. Valid until the
 * transaction ends; the limiter only reads it. */
static int
view(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, struct pp_window *w)
{
	MDB_val v;
	int rc = mdb_get(txn, dbi, k, &v);
	w->n = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (v.mv_size % sizeof(struct pp_bucket) == 0 &&
	    (uintptr_t)v.mv_data % _Alignof(struct pp_bucket) == 0) {
		w->b = v.mv_data;
		w->n = (uint32_t)(v.mv_size / sizeof(struct pp_bucket));
		w->cap = w->n;
	} else {
		copy_record(&v, w);
	}
	return 0;
}

static int
save(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, const struct pp_window *w)
{
	MDB_val v = { w->n * sizeof(struct pp_bucket), w->b };
	return mdb_put(txn, dbi, k, &v, 0);
}

static void
expiry_key(unsigned char out[8 + PP_KEYID_LEN], int64_t exp, const unsigned char *id)
{
	uint64_t u = (uint64_t)exp;
	for (int i = 7; i >= 0; i--) {
		out[i] = (unsigned char)(u & 0xff);
		u >>= 8;
	}
	memcpy(out + 8, id, PP_KEYID_LEN);
}

static int64_t
expiry_of(const unsigned char k[8])
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = (u << 8) | k[i];
	return (int64_t)u;
}

/* Deletes up to max windows that expired by now, re-indexing any that the
 * index had wrong (the window was changed by a config edit). */
static int
reclaim(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now,
        size_t max, size_t *freed)
{
	MDB_cursor *c;
	MDB_val k, v;
	unsigned char reindex[RECLAIM_BATCH][8 + PP_KEYID_LEN];
	size_t nre = 0, seen = 0;
	int rc = mdb_cursor_open(txn, s->expiry, &c);
	if (rc)
		return rc;
	*freed = 0;
	/* Every pass deletes the entry it looked at (or stops), so the next
	 * candidate is always the first again. MDB_GET_CURRENT after deleting
	 * the last entry is EINVAL, not MDB_NOTFOUND, which aborted the whole
	 * emergency sweep just when it had reclaimed everything. */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && seen < max;
	     rc = mdb_cursor_get(c, &k, &v, MDB_FIRST), seen++) {
		if (k.mv_size != 8 + PP_KEYID_LEN) {
			if ((rc = mdb_cursor_del(c, 0)))
				break;
			continue;
		}
		if (expiry_of(k.mv_data) > now)
			break;
		unsigned char idb[PP_KEYID_LEN];
		memcpy(idb, (unsigned char *)k.mv_data + 8, PP_KEYID_LEN);
		if ((rc = mdb_cursor_del(c, 0)))
			break;
		MDB_val wk = { PP_KEYID_LEN, idb };
		struct pp_window w = { s->kbuf, 0, s->kcap };
		if ((rc = load(txn, s->windows, &wk, &w)))
			break;
		if (w.n > 0 && pp_limiter_prune(&w, l, now) > 0) {
			if (nre < RECLAIM_BATCH)
				expiry_key(reindex[nre++], w.b[w.n - 1].t_ms + l->window_ms, idb);
			continue;
		}
		rc = mdb_del(txn, s->windows, &wk, NULL);
		if (rc && rc != MDB_NOTFOUND)
			break;
		rc = 0;
		(*freed)++;
		if (nre == RECLAIM_BATCH)
			break;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	for (size_t i = 0; rc == 0 && i < nre; i++) {
		MDB_val ek = { sizeof(reindex[i]), reindex[i] }, ev = { 0, NULL };
		rc = mdb_put(txn, s->expiry, &ek, &ev, 0);
	}
	return rc;
}

static void
log_full(struct lmdb_store *s, const char *what)
{
	unsigned long n;
	if (pp_log_due(&s->full_log, 10, &n))
		pp_log_error("store: LMDB map full (%s), %lu times; raise db_map_size", what, n);
}

/* A write that failed because the file system holding db_path is full (in
 * pwrite mode data.mdb grows with the data): say so, naming the directory,
 * at most once per 10 s. A short pwrite is reported by LMDB as EIO, so an
 * I/O error on a file system with no room left counts as this too. */
static int
disk_full(const struct lmdb_store *s, int rc)
{
	struct statvfs v;
	if (rc == ENOSPC)
		return 1;
	return rc == EIO && statvfs(s->path, &v) == 0 &&
	       (unsigned long long)v.f_bavail * v.f_frsize < 64 * 1024;
}

static void
log_error(struct lmdb_store *s, int rc, const char *what)
{
	unsigned long n;
	if (disk_full(s, rc)) {
		if (pp_log_due(&s->disk_log, 10, &n))
			pp_log_error("store: no space left on the disk holding %s (%s), %lu times: "
			             "store errors until space is freed",
			             s->path, what, n);
	} else if (pp_log_due(&s->err_log, 10, &n)) {
		pp_log_error("store: %s: %s, %lu times", what, mdb_strerror(rc), n);
	}
}

/* Another process grew the environment past this process's map (LMDB says
 * MDB_MAP_RESIZED on any transaction, read or write): adopt the larger size,
 * never a smaller one. With WRITEMAP, mdb_env_set_mapsize() truncates
 * data.mdb to the size it is given, so that size is at least the file's,
 * which is at least every other process's map: a shrink would cut pages
 * from under their maps (SIGBUS in the other workers). Call with no
 * transaction of this process active. */
static int
adopt_map(struct lmdb_store *s)
{
	size_t want = s->map_size;
	struct stat st;
	int fd, rc;

	if (mdb_env_get_fd(s->env, &fd) == 0 && fstat(fd, &st) == 0 && (size_t)st.st_size > want)
		want = (size_t)st.st_size;
	if (!s->writemap) {
		/* No truncation without WRITEMAP: ask LMDB for the last committed size. */
		MDB_envinfo ei;
		if (mdb_env_set_mapsize(s->env, 0) == 0 && mdb_env_info(s->env, &ei) == 0 &&
		    ei.me_mapsize > want)
			want = ei.me_mapsize;
	}
	if ((rc = mdb_env_set_mapsize(s->env, want)))
		return rc;
	unsigned long n;
	if (pp_log_due(&s->resize_log, 10, &n))
		pp_log_warn("store: another worker grew the map of %s from %zu to %zu MiB; adopted "
		            "(%lu times); give every worker the same db_map_size",
		            s->path, s->map_size >> 20, want >> 20, n);
	s->map_size = want;
	return 0;
}

static int
begin_write(struct lmdb_store *s, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, 0, txn);
	if (rc == MDB_MAP_RESIZED && (rc = adopt_map(s)) == 0)
		rc = mdb_txn_begin(s->env, NULL, 0, txn);
	return rc;
}

/* Sweeps every expired window when the map is full, a few per transaction.
 * A full map has few pages left, and a deletion needs a new page for each
 * page it touches (copy-on-write) while the page it frees is reusable only
 * two commits later: one long transaction runs out of pages part-way and
 * loses everything; short ones each need a few, and from the third on
 * reuse what the earlier ones freed. Progress is kept as it is made.
 * Returns freed count. */
static size_t
sweep(struct lmdb_store *s, const struct pp_limit *l, int64_t now)
{
	size_t total = 0, freed;
	int rc = 0;

	while (rc == 0 && total < RECLAIM_SWEEP) {
		MDB_txn *txn;
		if ((rc = begin_write(s, &txn)))
			break;
		if ((rc = reclaim(s, txn, l, now, RECLAIM_BATCH, &freed)) || freed == 0) {
			mdb_txn_abort(txn);
			break;
		}
		if ((rc = mdb_txn_commit(txn)) == 0)
			total += freed;
	}
	if (total)
		pp_log_warn("store: map full, reclaimed %zu expired windows", total);
	return total;
}

static void
clear_stale_readers(struct lmdb_store *s, const char *why)
{
	int dead = 0;
	if (mdb_reader_check(s->env, &dead) == 0 && dead)
		pp_log_warn("store: %s: cleared %d stale reader slots left by dead processes", why, dead);
}

static int
renew_read(struct lmdb_store *s)
{
	int rc = mdb_txn_renew(s->rtxn);
	if (rc == MDB_READERS_FULL) {
		clear_stale_readers(s, "reader table full");
		rc = mdb_txn_renew(s->rtxn);
	}
	/* The snapshot is reset again after a failed renew: free to remap. */
	if (rc == MDB_MAP_RESIZED && (rc = adopt_map(s)) == 0)
		rc = mdb_txn_renew(s->rtxn);
	return rc;
}

/* ---- the global window's slot records ---------------------------------- */

static void
be64(unsigned char out[8], uint64_t u)
{
	for (int i = 7; i >= 0; i--, u >>= 8)
		out[i] = (unsigned char)(u & 0xff);
}

static int
slots_room(struct lmdb_store *s, uint32_t n)
{
	if (n <= s->segcap)
		return 0;
	struct pp_slot *ns = realloc(s->segs, (size_t)n * sizeof(*ns));
	if (!ns)
		return ENOMEM;
	s->segs = ns;
	struct pp_bucket *nb = realloc(s->sbuf, (size_t)n * SLOT_CAP * sizeof(*nb));
	if (!nb)
		return ENOMEM;
	s->sbuf = nb;
	s->segcap = n;
	return 0;
}

/* Copies the record at k, v into s->segs[i] (its own SLOT_CAP buckets):
 * records are small and inline (2-byte aligned), and the write path
 * changes them. */
static int
slot_read(struct lmdb_store *s, uint32_t i, const MDB_val *k, const MDB_val *v)
{
	struct slot_head h;
	struct pp_slot *seg = &s->segs[i];
	size_t n;

	if (k->mv_size != 8 || v->mv_size < sizeof(h) ||
	    (v->mv_size - sizeof(h)) % sizeof(struct pp_bucket) != 0 ||
	    (n = (v->mv_size - sizeof(h)) / sizeof(struct pp_bucket)) > SLOT_CAP)
		return MDB_CORRUPTED;
	memcpy(&h, v->mv_data, sizeof(h));
	seg->id = expiry_of(k->mv_data);
	seg->before = h.before;
	seg->count = h.count;
	seg->w.b = s->sbuf + (size_t)i * SLOT_CAP;
	seg->w.n = (uint32_t)n;
	seg->w.cap = SLOT_CAP;
	memcpy(seg->w.b, (const char *)v->mv_data + sizeof(h), n * sizeof(struct pp_bucket));
	return 0;
}

/* Reads the global window's records into s->segs: the first that can hold a
 * live admission, the one after it and the newest (all = 0), or every one
 * from the first live on (all = 1). Leaves one more seg of room. */
static int
gather(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now, int all,
       uint32_t *ng)
{
	MDB_cursor *c;
	MDB_val k, v;
	unsigned char kb[8];
	uint32_t n = 0;
	int rc;

	*ng = 0;
	if ((rc = mdb_cursor_open(txn, s->global, &c)))
		return rc;
	be64(kb, (uint64_t)pp_slot_first_live(l, now));
	k.mv_size = 8;
	k.mv_data = kb;
	if (all) {
		uint32_t count = 0;
		for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
			count++;
		if ((rc != MDB_NOTFOUND) || (rc = slots_room(s, count + 1)))
			goto out;
		k.mv_size = 8;
		k.mv_data = kb;
		for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && n < count;
		     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
			if ((rc = slot_read(s, n++, &k, &v)))
				goto out;
	} else {
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && (rc = slot_read(s, n++, &k, &v)) == 0 &&
		    (rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0 &&
		    (rc = slot_read(s, n++, &k, &v)) == 0 &&
		    (rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0 &&
		    (rc = mdb_cursor_get(c, &k, &v, MDB_LAST)) == 0)
			rc = slot_read(s, n++, &k, &v);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	mdb_cursor_close(c);
	*ng = n;
	return rc;
}

/* Makes segs[ng - 1] the writable record of now's slot: the newest record
 * if it is that slot, else a new empty one continuing the running total. */
static void
slot_current(struct lmdb_store *s, uint32_t *ng, int64_t now)
{
	int64_t id = pp_slot_of(now);
	struct pp_slot *last = *ng ? &s->segs[*ng - 1] : NULL;
	if (last && last->id == id)
		return;
	struct pp_slot *c = &s->segs[*ng];
	c->id = id;
	c->before = last ? last->before + last->count : 0;
	c->count = 0;
	c->w.b = s->sbuf + (size_t)*ng * SLOT_CAP;
	c->w.n = 0;
	c->w.cap = SLOT_CAP;
	(*ng)++;
}

static int
slot_put(struct lmdb_store *s, MDB_txn *txn, const struct pp_slot *seg)
{
	unsigned char kb[8];
	struct slot_head h = { seg->before, seg->count };
	size_t bytes = seg->w.n * sizeof(struct pp_bucket);
	MDB_val k = { 8, kb }, v = { sizeof(h) + bytes, NULL };
	int rc;

	be64(kb, (uint64_t)seg->id);
	if ((rc = mdb_put(txn, s->global, &k, &v, MDB_RESERVE)))
		return rc;
	memcpy(v.mv_data, &h, sizeof(h));
	memcpy((char *)v.mv_data + sizeof(h), seg->w.b, bytes);
	return 0;
}

/* Deletes up to RECLAIM_BATCH slot records that hold no live admission. */
static int
slot_reclaim(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now)
{
	MDB_cursor *c;
	MDB_val k, v;
	int64_t first = pp_slot_first_live(l, now);
	int rc = mdb_cursor_open(txn, s->global, &c);
	if (rc)
		return rc;
	for (int i = 0; i < RECLAIM_BATCH; i++) {
		if ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)))
			break;
		if (k.mv_size == 8 && expiry_of(k.mv_data) >= first)
			break;
		if ((rc = mdb_cursor_del(c, 0)))
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* A clock stepped back left admissions after now: fold them into one
 * bucket at now in now's slot, as pp_limiter_prune folds a flat window, so
 * they count as now and expire one window from now. *folded: any found. */
static int
slot_fold_future(struct lmdb_store *s, MDB_txn *txn, int64_t now, int *folded)
{
	MDB_cursor *c;
	MDB_val k, v;
	unsigned char kb[8];
	int64_t id = pp_slot_of(now);
	uint64_t later = 0;
	int rc, have_first = 0;
	struct pp_slot *cur;

	*folded = 0;
	if ((rc = slots_room(s, 2)) || (rc = mdb_cursor_open(txn, s->global, &c)))
		return rc;
	cur = &s->segs[0];
	be64(kb, (uint64_t)id);
	k.mv_size = 8;
	k.mv_data = kb;
	/* Deleting moves the cursor to the next record (MDB_GET_CURRENT after
	 * the last one is EINVAL, as in reclaim()). */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT)) {
		if ((rc = slot_read(s, 1, &k, &v)))
			break;
		const struct pp_slot *r = &s->segs[1];
		if (!have_first) {
			/* The first record from now's slot on: now's own, or the
			 * one whose running total the folded bucket continues. */
			have_first = 1;
			cur->id = id;
			cur->before = r->before;
			cur->count = 0;
			cur->w.b = s->sbuf;
			cur->w.n = 0;
			cur->w.cap = SLOT_CAP;
			if (r->id == id) {
				for (uint32_t j = 0; j < r->w.n; j++) {
					if (r->w.b[j].t_ms <= now) {
						cur->w.b[cur->w.n++] = r->w.b[j];
						cur->count += r->w.b[j].n;
					} else {
						later += r->w.b[j].n;
					}
				}
				if ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)))
					break;
				continue;
			}
		}
		later += r->count;
		if ((rc = mdb_cursor_del(c, 0)))
			break;
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND && rc != EINVAL && rc != 0)
		return rc;
	if (later == 0)
		return 0;
	if (cur->w.n && cur->w.b[cur->w.n - 1].t_ms == now) {
		cur->w.b[cur->w.n - 1].n += (uint32_t)later;
	} else {
		cur->w.b[cur->w.n].t_ms = now;
		cur->w.b[cur->w.n].n = (uint32_t)later;
		cur->w.b[cur->w.n].pad = 0;
		cur->w.n++;
	}
	cur->count += later;
	*folded = 1;
	return slot_put(s, txn, cur);
}

/* The decision in a transaction: the global window's three records, or
 * every one when the answer lies between them. */
static int
decide_in(struct lmdb_store *s, MDB_txn *txn, struct pp_window *kw, const struct pp_policy *p,
          int64_t now, struct pp_decision *out, int all)
{
	uint32_t ng = 0;
	int rc;
	if (p->global.limit != PP_LIMIT_OFF && (rc = gather(s, txn, &p->global, now, all, &ng)))
		return rc;
	if (pp_limiter_decide_slots(kw, s->segs, ng, p, now, out) == 0)
		return 0;
	return all ? MDB_CORRUPTED : decide_in(s, txn, kw, p, now, out, 1);
}

static int
snapshot_decide(struct lmdb_store *s, MDB_val *kk, const struct pp_policy *p,
                pp_clock_fn clock, struct pp_decision *out)
{
	struct pp_window kw = { s->kbuf, 0, s->kcap };
	int rc = renew_read(s);
	if (rc)
		return rc;
	/* Read after the snapshot starts: every time in it is <= now. */
	int64_t now = clock();
	rc = view(s->rtxn, s->windows, kk, &kw);
	/* Decide before the reset: the key's view points into the snapshot. */
	if (!rc)
		rc = decide_in(s, s->rtxn, &kw, p, now, out, 0);
	mdb_txn_reset(s->rtxn);
	return rc;
}

static int free_pages(MDB_txn *txn, uint64_t *out);

/* Pages an admission leaves unused for the emergency sweep. A deletion
 * needs new pages too (copy-on-write), so a map filled to the last page by
 * small records could not be swept at all: admissions stop this short of
 * full (MDB_MAP_FULL), and sweep(), which does not check, has room. */
#define SWEEP_RESERVE 32

static int renew_read(struct lmdb_store *s);

/* Called with no transaction of this process open: the free list is read
 * through the reused snapshot (LMDB opens no cursor on it in a write
 * transaction), and only when the map's untouched tail is short. */
static int
headroom(struct lmdb_store *s)
{
	MDB_envinfo ei;
	uint64_t left, freep;
	if (mdb_env_info(s->env, &ei) || s->psize == 0)
		return 0;
	uint64_t pages = ei.me_mapsize / s->psize;
	left = pages > ei.me_last_pgno + 1 ? pages - ei.me_last_pgno - 1 : 0;
	if (left >= SWEEP_RESERVE)
		return 0; /* the common case: one read of the meta page */
	if (renew_read(s))
		return 0; /* the write itself will say what is wrong */
	int rc = free_pages(s->rtxn, &freep);
	mdb_txn_reset(s->rtxn);
	if (rc == 0 && left + freep >= SWEEP_RESERVE)
		return 0;
	return MDB_MAP_FULL;
}

static int
write_admit(struct lmdb_store *s, MDB_val *kk, const struct pp_policy *p,
            pp_clock_fn clock, struct pp_decision *out)
{
	struct pp_window kw = { s->kbuf, 0, s->kcap };
	MDB_txn *txn;
	size_t freed;
	uint32_t ng = 0;
	int folded = 0, lrc, global_on = p->global.limit != PP_LIMIT_OFF;
	int rc = headroom(s);
	if (rc == 0)
		rc = begin_write(s, &txn);
	if (rc)
		return rc;
	/* Read under the write lock, so recorded times follow commit order: a
	 * time read before waiting for the lock would be older than what other
	 * workers committed meanwhile, and clamping to it would let them expire
	 * early. */
	int64_t now = clock();
	if ((rc = load(txn, s->windows, kk, &kw)))
		goto fail;
	if (global_on) {
		if ((rc = gather(s, txn, &p->global, now, 0, &ng)))
			goto fail;
		const struct pp_slot *nw = ng ? &s->segs[ng - 1] : NULL;
		if (nw && (nw->id > pp_slot_of(now) || (nw->w.n && nw->w.b[nw->w.n - 1].t_ms > now))) {
			if ((rc = slot_fold_future(s, txn, now, &folded)) ||
			    (rc = gather(s, txn, &p->global, now, 0, &ng)))
				goto fail;
		}
		slot_current(s, &ng, now);
	}
	int64_t old_exp = kw.n ? kw.b[kw.n - 1].t_ms + p->per_key.window_ms : 0;
	int64_t cur_before = ng ? (int64_t)s->segs[ng - 1].count : 0;
	lrc = pp_limiter_admit_slots(&kw, s->segs, ng, p, now, out);
	if (lrc == 1) { /* the answer lies in records between the three read */
		if ((rc = gather(s, txn, &p->global, now, 1, &ng)))
			goto fail;
		slot_current(s, &ng, now);
		cur_before = (int64_t)s->segs[ng - 1].count;
		lrc = pp_limiter_admit_slots(&kw, s->segs, ng, p, now, out);
	}
	if (lrc) {
		rc = lrc < 0 ? ENOMEM : MDB_CORRUPTED;
		goto fail;
	}
	/* Refused after all (another worker took the last unit since the
	 * snapshot): nothing to record unless stepped-back times need clamping. */
	if (!out->admit && !out->rewrite && !folded)
		goto fail;
	unsigned char ek[8 + PP_KEYID_LEN];
	MDB_val ekv = { sizeof(ek), ek }, empty = { 0, NULL };
	if (old_exp) {
		expiry_key(ek, old_exp, kk->mv_data);
		rc = mdb_del(txn, s->expiry, &ekv, NULL);
		if (rc && rc != MDB_NOTFOUND)
			goto fail;
	}
	if (kw.n == 0) { /* refused on the global limit alone: the key keeps no record */
		rc = mdb_del(txn, s->windows, kk, NULL);
		if (rc && rc != MDB_NOTFOUND)
			goto fail;
		rc = 0;
	} else if ((rc = save(txn, s->windows, kk, &kw))) {
		goto fail;
	}
	if (global_on && out->admit) {
		if ((rc = slot_put(s, txn, &s->segs[ng - 1])))
			goto fail;
		/* A new slot record: drop the ones that expired (one per slot at
		 * most, so a few each time keep up). */
		if (cur_before == 0 && (rc = slot_reclaim(s, txn, &p->global, now)))
			goto fail;
	}
	if (kw.n) {
		expiry_key(ek, kw.b[kw.n - 1].t_ms + p->per_key.window_ms, kk->mv_data);
		if ((rc = mdb_put(txn, s->expiry, &ekv, &empty, 0)))
			goto fail;
	}
	/* reclaim() reuses kbuf: the decision is already in out. */
	if ((rc = reclaim(s, txn, &p->per_key, now, RECLAIM_BATCH, &freed)))
		goto fail;
	return mdb_txn_commit(txn);
fail:
	mdb_txn_abort(txn);
	return rc;
}

static int
lmdb_hit(void *be, const struct pp_keyid *id, const struct pp_policy *p,
         pp_clock_fn clock, struct pp_decision *out)
{
	struct lmdb_store *s = be;
	MDB_val kk = { PP_KEYID_LEN, (void *)id->b };
	int rc;

	if (grow(&s->kbuf, &s->kcap, pp_limiter_cap(&p->per_key)))
		return PP_STORE_ENOMEM;
	if ((rc = snapshot_decide(s, &kk, p, clock, out)))
		goto out;
	if (!out->admit && !out->rewrite)
		return PP_STORE_OK;
	rc = write_admit(s, &kk, p, clock, out);
	if (rc == MDB_MAP_FULL || disk_full(s, rc)) {
		/* A dead reader's slot pins every page freed since its snapshot:
		 * clear those first, then reclaim expired windows (their pages are
		 * reused, so neither the map nor the file grows), then retry. */
		clear_stale_readers(s, rc == MDB_MAP_FULL ? "map full" : "disk full");
		sweep(s, &p->per_key, clock());
		rc = write_admit(s, &kk, p, clock, out);
		if (rc == MDB_MAP_FULL)
			log_full(s, "live windows, or a reader stuck on an old snapshot, fill it");
	}
out:
	if (rc && rc != MDB_MAP_FULL)
		log_error(s, rc, "admission");
	if (disk_full(s, rc))
		return PP_STORE_EFULL;
	return map_rc(rc);
}

/* Ready means an admission could commit now, with room to spare: write a
 * record larger than the pages an admission dirties (both windows, the
 * index, the tree above them), so a map too full for admissions fails the
 * probe first; then read it back through the snapshot. The size comes from
 * probe_bytes(), which the start-up map check counts too. */
static int
probe_write(struct lmdb_store *s)
{
	MDB_txn *txn;
	MDB_val k = { 5, "probe" }, v;
	size_t n = s->probe_size;
	unsigned char *buf = calloc(1, n);
	if (!buf)
		return ENOMEM;
	int rc = begin_write(s, &txn);
	if (rc == 0) {
		v.mv_size = n;
		v.mv_data = buf;
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)))
			mdb_txn_abort(txn);
		else
			rc = mdb_txn_commit(txn);
	}
	free(buf);
	return rc;
}

static int
lmdb_probe(void *be)
{
	struct lmdb_store *s = be;
	MDB_val k = { 5, "probe" }, v;
	int rc = probe_write(s);
	if (rc == MDB_MAP_FULL) {
		clear_stale_readers(s, "probe: map full");
		rc = probe_write(s);
	}
	if (rc == 0 && (rc = renew_read(s)) == 0) {
		rc = mdb_get(s->rtxn, s->meta, &k, &v);
		mdb_txn_reset(s->rtxn);
	}
	if (rc) {
		/* /readyz answers 503 without a reason: the log has it. */
		unsigned long n;
		if (disk_full(s, rc))
			log_error(s, rc, "readiness probe");
		else if (pp_log_due(&s->probe_log, 10, &n))
			pp_log_error("store: readiness probe failed: %s%s, %lu times", mdb_strerror(rc),
			             rc == MDB_MAP_FULL ? " (raise db_map_size, or a reader is stuck)" : "", n);
	}
	if (disk_full(s, rc))
		return PP_STORE_EFULL;
	return map_rc(rc);
}

static void
lmdb_close(void *be)
{
	struct lmdb_store *s = be;
	if (!s)
		return;
	if (s->rtxn)
		mdb_txn_abort(s->rtxn);
	if (s->env)
		mdb_env_close(s->env);
	if (s->policy_fd >= 0)
		close(s->policy_fd);
	free(s->kbuf);
	free(s->segs);
	free(s->sbuf);
	free(s);
}

static void
be32(unsigned char out[4], uint32_t u)
{
	for (int i = 3; i >= 0; i--, u >>= 8)
		out[i] = (unsigned char)(u & 0xff);
}

/* Refuses an environment another layout wrote, naming what it found; stamps
 * a new one (or one from before the stamp, which has our layout: a 32-byte
 * secret) with this build's format. */
static int
check_format(struct lmdb_store *s, MDB_txn *txn)
{
	MDB_val fk = { 6, "format" }, sk = { 6, "secret" }, v;
	unsigned char mine[4];
	char found[64];
	int rc;

	be32(mine, PP_LMDB_FORMAT);
	rc = mdb_get(txn, s->meta, &fk, &v);
	if (rc == 0 && v.mv_size == 4 && memcmp(v.mv_data, mine, 4) == 0)
		return 0;
	if (rc == 0) {
		const unsigned char *b = v.mv_data;
		if (v.mv_size == 4)
			snprintf(found, sizeof(found), "data format %u",
			         (unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3]);
		else
			snprintf(found, sizeof(found), "a format record of %zu bytes", v.mv_size);
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	} else if ((rc = mdb_get(txn, s->meta, &sk, &v)) == MDB_NOTFOUND || (rc == 0 && v.mv_size == 32)) {
		/* Unstamped: format 1, whose key windows read as ours; only its
		 * global window (GLOBAL_KEY in "windows") does not. */
		MDB_val gk = { sizeof(GLOBAL_KEY), (void *)GLOBAL_KEY };
		if ((rc = mdb_get(txn, s->windows, &gk, &v)) == 0) {
			snprintf(found, sizeof(found), "data format 1, unstamped");
			goto other;
		}
		if (rc != MDB_NOTFOUND)
			return rc;
		v.mv_size = 4;
		v.mv_data = mine;
		return mdb_put(txn, s->meta, &fk, &v, 0);
	} else if (rc) {
		return rc;
	} else {
		snprintf(found, sizeof(found), "no format record and a %zu-byte secret", v.mv_size);
	}
other:
	pp_log_error("store: %s was created by another version of pingpong (%s; this version reads "
	             "data format %u): stop the workers of the other version and move the directory "
	             "aside (windows restart empty), or point db_path elsewhere",
	             s->path, found, PP_LMDB_FORMAT);
	return ERR_OTHER_FORMAT;
}

/* Opens the databases and makes (once per installation) the hashing secret,
 * unless it comes from key_secret_file: then none is kept here, and one
 * left by an earlier start is deleted (its windows are dead anyway: every
 * id changed with the secret). */
static int
open_dbs(struct lmdb_store *s, const struct pp_config *cfg, unsigned char secret[32])
{
	MDB_txn *txn;
	MDB_val k = { 6, "secret" }, v;
	int rc = begin_write(s, &txn);
	if (rc)
		return rc;
	if ((rc = mdb_dbi_open(txn, "windows", MDB_CREATE, &s->windows)) ||
	    (rc = mdb_dbi_open(txn, "global", MDB_CREATE, &s->global)) ||
	    (rc = mdb_dbi_open(txn, "expiry", MDB_CREATE, &s->expiry)) ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) ||
	    (rc = check_format(s, txn)))
		goto fail;
	rc = mdb_get(txn, s->meta, &k, &v);
	if (cfg->key_secret_file[0]) {
		if (rc == 0) {
			/* Freed pages are not wiped: the old bytes may linger in
			 * the file until reused. */
			pp_log_warn("store: key_secret_file is set; deleting the secret an earlier start "
			            "kept in %s/data.mdb (remove that file to be sure no copy lingers)",
			            cfg->db_path);
			rc = mdb_del(txn, s->meta, &k, NULL);
		}
		if (rc && rc != MDB_NOTFOUND)
			goto fail;
	} else if (rc == 0 && v.mv_size == 32) {
		memcpy(secret, v.mv_data, 32);
	} else if (rc == MDB_NOTFOUND) {
		randombytes_buf(secret, 32);
		v.mv_size = 32;
		v.mv_data = secret;
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)))
			goto fail;
	} else {
		if (rc == 0)
			rc = MDB_CORRUPTED;
		goto fail;
	}
	return mdb_txn_commit(txn);
fail:
	mdb_txn_abort(txn);
	return rc;
}

/* Whether blocks fallocate() gives a file stay its blocks when written:
 * true of ext2/3/4, XFS and tmpfs; not of copy-on-write file systems
 * (btrfs, ZFS), which need new blocks for every overwrite. */
static int
reservation_holds(int fd)
{
	struct statfs f;
	if (fstatfs(fd, &f) != 0)
		return 0;
	switch ((unsigned long)f.f_type) {
	case EXT4_SUPER_MAGIC: /* also ext2 and ext3 */
	case XFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
		return 1;
	default:
		return 0;
	}
}

static int
open_in(const char *dir, const char *name, char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

/* Makes the disk space the environment will write through a memory map
 * real before LMDB maps it: a store to a page of a sparse file with no
 * block behind it, on a full disk, is SIGBUS, which would kill the worker.
 *
 * lock.mdb (always mapped; reader slots, mutexes): reserved up to the
 * reader table's size, or the open fails naming the disk.
 * data.mdb: reserved up to *map (never less than the file: see adopt_map),
 * FALLOC_FL_KEEP_SIZE so a new file still looks new to LMDB. If that
 * works, and the file system keeps reserved blocks, the store runs with
 * MDB_WRITEMAP (*writemap = 1): commits are stores into the map.
 * Otherwise it writes with pwrite(2), where a full disk is an ENOSPC for
 * the one request, answered 503 (or admitted under fail_open), and the
 * service comes back by itself when space is freed.
 *
 * Measured with bench/hitloop, admissions with a 1 s global window of
 * ~1 000 buckets, alternated in one run on this 2-core VM: ~7-16 us per
 * admission with WRITEMAP, ~50-90 us with pwrite (ext4 and tmpfs alike);
 * through nginx (admit path, 2 workers each, wrk -c32, 3 alternated rounds
 * on a loaded machine) a median 3.8k req/s against 2.9k. Reserving costs the map's size in disk (64 MiB by default) up front and
 * nothing per request, so WRITEMAP stays where the reservation holds.
 * Called under an exclusive lock on db_path, so two workers never size
 * the file at once. Closing these descriptors is safe here: LMDB holds no
 * lock of this process yet (closing any descriptor of lock.mdb later
 * would drop LMDB's fcntl locks). */
static int
reserve_space(struct lmdb_store *s, size_t *map, int *writemap)
{
	char path[1100];
	struct stat st;
	int fd, err;

	*writemap = 0;
	if ((fd = open_in(s->path, "lock.mdb", path, sizeof(path))) < 0)
		return errno;
	/* Grow the lock file only when no process has it open (every LMDB
	 * process holds a read lock on its first byte, which is how LMDB
	 * itself tells the first opener): a process running with a smaller
	 * reader table maps only that much, and would read past its map when
	 * others use the slots beyond. Otherwise reserve what is there. */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	off_t want = LOCK_RESERVE;
	if (fcntl(fd, F_SETLK, &fl) != 0 && fstat(fd, &st) == 0)
		want = st.st_size;
	err = want > 0 ? posix_fallocate(fd, 0, want) : 0;
	close(fd); /* drops the lock above; LMDB has none of this process yet */
	if (err) {
		pp_log_error("store: cannot reserve %lld KiB for %s%s: %s", (long long)want >> 10,
		             path, err == ENOSPC ? " (no space left on the disk)" : "", strerror(err));
		return err;
	}
	if ((fd = open_in(s->path, "data.mdb", path, sizeof(path))) < 0)
		return errno;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size > *map)
		*map = (size_t)st.st_size;
	if (!reservation_holds(fd)) {
		pp_log_info("store: %s is not on ext4, XFS or tmpfs, where reserved blocks stay "
		            "reserved: writing with pwrite, not through the map",
		            s->path);
	} else if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)*map) != 0) {
		err = errno;
		pp_log_warn("store: cannot reserve %zu MiB for %s (%s): writing with pwrite, not "
		            "through the map (slower); a full disk then answers 503 until space is freed",
		            *map >> 20, path, strerror(err));
	} else {
		*writemap = 1;
	}
	close(fd);
	return 0;
}

static uint64_t probe_bytes(const struct pp_config *cfg);

/* One db_path, one policy. The limiter prunes and reclaims windows with the
 * limits it is given, so workers with other limits on the same environment
 * would erase each other's history (a 1 s pruner deleted the windows of a
 * 10-per-minute policy). Each worker holds a shared flock on
 * <db_path>/policy-<fingerprint>.lock (the file holds the limits as text)
 * for as long as it has the store open; a worker whose policy differs from
 * one that a live worker holds refuses to start, naming both. A lock file
 * nobody holds is stale (its workers are gone) and is removed, so changing
 * the limits means stopping the old workers, then starting the new ones.
 * Runs under the exclusive lock on db_path, so claims never race. */
static int
claim_policy(struct lmdb_store *s, const struct pp_config *cfg)
{
	const struct pp_policy *p = &cfg->policy;
	char text[200], mine[64], path[1400], other[200];
	unsigned char h[8];
	struct dirent *e;
	DIR *d;
	int n, fd, rc = 0;

	n = snprintf(text, sizeof(text), "per_key_limit=%u per_key_window=%lldms "
	                                 "global_limit=%u global_window=%lldms",
	             p->per_key.limit,
	             (long long)p->per_key.window_ms, p->global.limit, (long long)p->global.window_ms);
	crypto_generichash(h, sizeof(h), (const unsigned char *)text, (size_t)n, NULL, 0);
	snprintf(mine, sizeof(mine), "policy-%02x%02x%02x%02x%02x%02x%02x%02x.lock",
	         h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
	if (!(d = opendir(s->path)))
		return errno;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (strncmp(e->d_name, "policy-", 7) != 0 || len < 12 ||
		    strcmp(e->d_name + len - 5, ".lock") != 0 || strcmp(e->d_name, mine) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->path, e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			unlink(path); /* stale: no worker holds it */
		} else {
			ssize_t r = pread(fd, other, sizeof(other) - 1, 0);
			other[r > 0 ? r : 0] = '\0';
			pp_log_error("store: %s is in use by workers with other limits (%s) than this "
			             "configuration (%s): the windows of one db_path follow one policy; "
			             "stop those workers first, or give this configuration its own db_path",
			             s->path, other[0] ? other : e->d_name, text);
			rc = ERR_OTHER_POLICY;
		}
		close(fd);
	}
	closedir(d);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", s->path, mine);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return errno;
	if (flock(fd, LOCK_SH) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
		rc = errno;
		close(fd);
		return rc ? rc : EIO;
	}
	s->policy_fd = fd;
	return 0;
}

static int
lmdb_open(void **out, const struct pp_config *cfg, unsigned char secret[32])
{
	struct lmdb_store *s = calloc(1, sizeof(*s));
	int rc, dead = 0, dirfd = -1;
	const char *step = "create";

	*out = NULL;
	if (!s)
		return PP_STORE_ENOMEM;
	s->policy_fd = -1;
	if (snprintf(s->path, sizeof(s->path), "%s", cfg->db_path) >= (int)sizeof(s->path)) {
		free(s);
		return PP_STORE_EIO;
	}
	if (mkdir(cfg->db_path, 0700) && errno != EEXIST) {
		pp_log_error("store: cannot create %s: %s", cfg->db_path, strerror(errno));
		free(s);
		return PP_STORE_EIO;
	}
	s->probe_size = (size_t)probe_bytes(cfg);
	step = "lock";
	dirfd = open(cfg->db_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || flock(dirfd, LOCK_EX) != 0) {
		rc = errno;
		goto fail;
	}
	step = "claim the policy of";
	if ((rc = claim_policy(s, cfg)))
		goto fail;
	step = "reserve space in";
	s->map_size = (size_t)pp_lmdb_map_size(cfg);
	if ((rc = reserve_space(s, &s->map_size, &s->writemap)))
		goto fail;
	step = "create";
	if ((rc = mdb_env_create(&s->env)))
		goto fail;
	step = "configure";
	if ((rc = mdb_env_set_mapsize(s->env, s->map_size)) ||
	    (rc = mdb_env_set_maxdbs(s->env, 4)) ||
	    (rc = mdb_env_set_maxreaders(s->env, PP_LMDB_MAXREADERS)))
		goto fail;
	/* NOSYNC: the windows are short-lived; a process crash loses nothing
	 * (the OS holds the pages), a power loss may cost the last moments.
	 * WRITEMAP only over reserved space: see reserve_space(). */
	step = "open";
	if ((rc = mdb_env_open(s->env, cfg->db_path, MDB_NOSYNC | (s->writemap ? MDB_WRITEMAP : 0), 0600)))
		goto fail;
	flock(dirfd, LOCK_UN);
	close(dirfd);
	dirfd = -1;
	step = "check readers";
	if ((rc = mdb_reader_check(s->env, &dead)))
		goto fail;
	if (dead)
		pp_log_warn("store: cleared %d stale reader slots left by dead workers", dead);
	MDB_stat est;
	if (mdb_env_stat(s->env, &est) == 0)
		s->psize = est.ms_psize;
	step = "open databases";
	if ((rc = open_dbs(s, cfg, secret)))
		goto fail;
	step = "begin read";
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn)))
		goto fail;
	mdb_txn_reset(s->rtxn);
	if (grow(&s->kbuf, &s->kcap, pp_limiter_cap(&cfg->policy.per_key)) ||
	    slots_room(s, 4)) {
		lmdb_close(s);
		return PP_STORE_ENOMEM;
	}
	*out = s;
	return PP_STORE_OK;
fail:
	if (rc == MDB_READERS_FULL)
		pp_log_error("store: LMDB %s %s: all %d reader slots are taken by live processes: "
		             "more workers (or tools) have the store open than it allows",
		             step, cfg->db_path, PP_LMDB_MAXREADERS);
	else if (rc != ERR_OTHER_FORMAT && rc != ERR_OTHER_POLICY)
		pp_log_error("store: LMDB %s %s: %s", step, cfg->db_path, mdb_strerror(rc));
	if (dirfd >= 0)
		close(dirfd);
	lmdb_close(s);
	return map_rc(rc);
}

uint64_t
pp_lmdb_live_max(const struct pp_config *cfg)
{
	const struct pp_policy *p = &cfg->policy;
	uint64_t spans = (uint64_t)((p->per_key.window_ms + p->global.window_ms - 1) / p->global.window_ms) + 1;
	return (uint64_t)p->global.limit * spans;
}

/* The probe record: twice both windows at their largest. A key's window
 * holds at most its limit's cap of buckets, and never more than the live
 * admissions the global limit lets through in its window (live_max): with
 * per_key_limit = 1000000 and global_limit = 1000 a key window is at most
 * ~2 000 buckets, not a million (a 32 MB probe, which failed in a 64 MiB
 * map while admissions worked). */
#define PROBE_MIN (32 * 1024)

static uint64_t
probe_bytes(const struct pp_config *cfg)
{
	uint64_t k = pp_limiter_cap(&cfg->policy.per_key), live = pp_lmdb_live_max(cfg) + 1;
	if (cfg->policy.global.limit != PP_LIMIT_OFF && live < k)
		k = live;
	uint64_t n = 2 * (k + pp_limiter_cap(&cfg->policy.global)) * sizeof(struct pp_bucket);
	return n < PROBE_MIN ? PROBE_MIN : n;
}

uint64_t
pp_lmdb_map_needed(const struct pp_config *cfg)
{
	/* Twice the measured 130 bytes a live admission takes, for half-full
	 * pages and windows expired but not yet reclaimed; the global window
	 * twice over (copy-on-write); 1 MiB for LMDB's own pages and the
	 * copies a commit makes while readers hold older snapshots. */
	const struct pp_limit *g = &cfg->policy.global;
	uint64_t gbuckets = (uint64_t)g->window_ms < g->limit ? (uint64_t)g->window_ms : g->limit;
	/* The global window's slot records: one per PP_SLOT_MS with an
	 * admission, each a 16-byte header, an 8-byte key and LMDB's ~10
	 * bytes of node, twice over like the rest. */
	uint64_t gslots = (uint64_t)g->window_ms / PP_SLOT_MS + 2;
	if (gslots > gbuckets + 1)
		gslots = gbuckets + 1;
	/* And the /readyz probe three times over: the record, the copy of it
	 * the previous probe freed (reusable only two commits later), and the
	 * one being written. */
	return pp_lmdb_live_max(cfg) * 260 + gbuckets * 32 + gslots * 80 + (1ULL << 20) +
	       SWEEP_RESERVE * 4096ULL + 3 * probe_bytes(cfg);
}

#define MAP_AUTO_MIN (64ULL << 20)
#define MAP_AUTO_OFF (1ULL << 30)
#define MAP_AUTO_MAX (1ULL << 40) /* db_map_size's own upper bound */

uint64_t
pp_lmdb_map_size(const struct pp_config *cfg)
{
	if (cfg->db_map_size != PP_MAP_AUTO)
		return cfg->db_map_size;
	/* Without a global limit nothing bounds the live windows: 1 GiB holds
	 * about 4 million live admissions. Like any map it is reserved on disk
	 * where it fits, else written with pwrite and grows as used
	 * (reserve_space). */
	if (cfg->policy.global.limit == PP_LIMIT_OFF)
		return MAP_AUTO_OFF;
	uint64_t need = (pp_lmdb_map_needed(cfg) + (1ULL << 20) - 1) & ~((1ULL << 20) - 1);
	return need < MAP_AUTO_MIN ? MAP_AUTO_MIN : need;
}

/* A map too small for what the limits can keep live is an error: a flood
 * of distinct keys must not be able to fill it. With global_limit = off
 * nothing bounds them, so no size can be checked (pingpong.conf(5)). */
static int
lmdb_check(const struct pp_config *cfg, char *err, size_t errlen)
{
	uint64_t need = pp_lmdb_map_needed(cfg);
	if (cfg->policy.global.limit == PP_LIMIT_OFF)
		return 0;
	if (cfg->db_map_size == PP_MAP_AUTO) {
		if (pp_lmdb_map_size(cfg) <= MAP_AUTO_MAX)
			return 0;
		snprintf(err, errlen,
		         "db_map_size = auto: up to %llu admissions can be live at once (global_limit x "
		         "(per_key_window / global_window + 1)), which need about %llu GiB, more than "
		         "the largest map (1024 GiB); lower global_limit or the windows",
		         (unsigned long long)pp_lmdb_live_max(cfg),
		         (unsigned long long)((need + (1ULL << 30) - 1) >> 30));
		return -1;
	}
	if (cfg->db_map_size < need) {
		snprintf(err, errlen,
		         "db_map_size %llu MiB is too small for these limits: up to %llu admissions "
		         "can be live at once (global_limit x (per_key_window / global_window + 1)), "
		         "which with the /readyz probe need about %llu MiB; raise db_map_size or "
		         "lower global_limit",
		         (unsigned long long)(cfg->db_map_size >> 20),
		         (unsigned long long)pp_lmdb_live_max(cfg),
		         (unsigned long long)((need + (1 << 20) - 1) >> 20));
		return -1;
	}
	return 0;
}

static void
lmdb_describe(const struct pp_config *cfg, char *out, size_t cap)
{
	snprintf(out, cap, "db_path %s, map %llu MiB%s", cfg->db_path,
	         (unsigned long long)(pp_lmdb_map_size(cfg) >> 20),
	         cfg->db_map_size == PP_MAP_AUTO ? " (auto)" : "");
}

/* ---- the operator's calls (pingpongctl) ---------------------------------
 * Each is one short transaction of its own; the tool keeps no read
 * transaction (and so no snapshot) between them. */

/* Opens an existing environment only. Without MDB_WRITEMAP and without a
 * map size of its own: LMDB then adopts the size the workers recorded, and
 * never truncates or grows the file they have mapped (WRITEMAP's open
 * ftruncates the file to the opener's map size). */
/* The tool reads only this build's layout: one stamped by workers of
 * another version is named, not misread (workers always stamp it). */
static int
attach_format(struct lmdb_store *s, MDB_txn *txn)
{
	MDB_val fk = { 6, "format" }, v;
	unsigned char mine[4];
	int rc = mdb_get(txn, s->meta, &fk, &v);

	be32(mine, PP_LMDB_FORMAT);
	if (rc == 0 && v.mv_size == 4 && memcmp(v.mv_data, mine, 4) == 0)
		return 0;
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	pp_log_error("store: %s was created by another version of pingpong (%s; this version reads "
	             "data format %u): use that version's pingpongctl",
	             s->path, rc ? "no format record" : "another data format", PP_LMDB_FORMAT);
	return ERR_OTHER_FORMAT;
}

static int
lmdb_attach(void **out, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN])
{
	char path[PP_CONF_PATH_MAX + 16];
	struct stat sb;
	struct lmdb_store *s;
	MDB_txn *txn;
	MDB_val k = { 6, "secret" }, v;
	int rc, dead = 0;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/data.mdb", cfg->db_path);
	if (stat(path, &sb)) {
		if (errno == ENOENT)
			return PP_STORE_ENOSTORE;
		pp_log_error("store: %s: %s", path, strerror(errno));
		return PP_STORE_EIO;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return PP_STORE_ENOMEM;
	/* No policy lock, no reservation: the tool joins the workers' store
	 * as it is (writemap 0: a remap never truncates; see adopt_map). */
	s->policy_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", cfg->db_path);
	if ((rc = mdb_env_create(&s->env)) || (rc = mdb_env_set_maxdbs(s->env, 4)) ||
	    (rc = mdb_env_open(s->env, cfg->db_path, MDB_NOSYNC, 0600)))
		goto fail;
	mdb_reader_check(s->env, &dead);
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)))
		goto fail;
	if ((rc = mdb_dbi_open(txn, "meta", 0, &s->meta)) ||
	    (rc = attach_format(s, txn)) ||
	    (rc = mdb_dbi_open(txn, "windows", 0, &s->windows)) ||
	    (rc = mdb_dbi_open(txn, "global", 0, &s->global)) ||
	    (rc = mdb_dbi_open(txn, "expiry", 0, &s->expiry))) {
		mdb_txn_abort(txn);
		if (rc == ERR_OTHER_FORMAT) {
			lmdb_close(s);
			return PP_STORE_EIO;
		}
		goto fail;
	}
	/* The workers keep a secret here exactly when they have no
	 * key_secret_file: a mismatch means this tool runs with another
	 * configuration than theirs, and would hash keys to other ids. */
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0 && cfg->key_secret_file[0]) {
		pp_log_warn("store: %s holds its own hashing secret, so the workers do not use "
		            "key_secret_file: keys will not match theirs; use their configuration",
		            cfg->db_path);
		rc = 0;
	} else if (rc == MDB_NOTFOUND && !cfg->key_secret_file[0]) {
		pp_log_error("store: %s keeps no hashing secret: the workers take it from "
		             "key_secret_file; run with their configuration",
		             cfg->db_path);
		mdb_txn_abort(txn);
		lmdb_close(s);
		return PP_STORE_ESECRET;
	} else if (rc == 0 && v.mv_size == PP_SECRET_LEN) {
		memcpy(secret, v.mv_data, PP_SECRET_LEN);
	} else if (rc == 0) {
		rc = MDB_CORRUPTED;
	} else if (rc == MDB_NOTFOUND) {
		rc = 0;
	}
	if (rc) {
		mdb_txn_abort(txn);
		goto fail;
	}
	/* Committing keeps the database handles for later transactions. */
	if ((rc = mdb_txn_commit(txn)))
		goto fail;
	*out = s;
	return PP_STORE_OK;
fail:
	lmdb_close(s);
	if (rc == MDB_NOTFOUND)
		return PP_STORE_ENOSTORE; /* workers never opened it */
	pp_log_error("store: LMDB %s: %s", cfg->db_path, mdb_strerror(rc));
	return map_rc(rc);
}

static int
lmdb_inspect(void *be, const struct pp_keyid *id, const struct pp_policy *p,
             pp_clock_fn clock, struct pp_store_view *out)
{
	struct lmdb_store *s = be;
	MDB_val kk = { PP_KEYID_LEN, (void *)id->b };
	MDB_txn *txn;
	uint32_t ng = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (grow(&s->kbuf, &s->kcap, pp_limiter_cap(&p->per_key)) || slots_room(s, 4))
		return PP_STORE_ENOMEM;
	struct pp_window kw = { s->kbuf, 0, s->kcap };
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)))
		return map_rc(rc);
	int64_t now = clock();
	rc = view(txn, s->windows, &kk, &kw);
	out->key_found = kw.n > 0; /* an empty window is deleted, never kept */
	/* Every slot record of the global window: a tool, not a hot path. */
	if (rc == 0 && p->global.limit != PP_LIMIT_OFF)
		rc = gather(s, txn, &p->global, now, 1, &ng);
	if (rc == 0 && pp_limiter_decide_slots(&kw, s->segs, ng, p, now, &out->d))
		rc = MDB_CORRUPTED;
	if (rc == 0) {
		out->key_clear_ms = pp_limiter_clear_ms(&kw, &p->per_key, now);
		if (p->global.limit != PP_LIMIT_OFF)
			out->global_clear_ms = pp_limiter_clear_slots(s->segs, ng, &p->global, now);
	}
	mdb_txn_abort(txn);
	return map_rc(rc);
}

static int
lmdb_reset(void *be, const struct pp_keyid *id, const struct pp_policy *p, bool *found)
{
	struct lmdb_store *s = be;
	MDB_val k = { PP_KEYID_LEN, NULL }, v;
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	*found = false;
	if ((rc = begin_write(s, &txn)))
		return map_rc(rc);
	if (!id) { /* the global window: every slot record */
		if ((rc = mdb_stat(txn, s->global, &st)))
			goto fail;
		if (st.ms_entries == 0) {
			mdb_txn_abort(txn);
			return PP_STORE_OK;
		}
		*found = true;
		if ((rc = mdb_drop(txn, s->global, 0)))
			goto fail;
		return map_rc(mdb_txn_commit(txn));
	}
	k.mv_data = (void *)id->b;
	rc = mdb_get(txn, s->windows, &k, &v);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return PP_STORE_OK;
	}
	if (rc)
		goto fail;
	*found = true;
	if (v.mv_size >= sizeof(struct pp_bucket) && v.mv_size % sizeof(struct pp_bucket) == 0) {
		/* Its index entry, where write_admit put it (a window changed by a
		 * config edit since is found by reclaim, which skips the gone). */
		struct pp_bucket last;
		unsigned char ek[8 + PP_KEYID_LEN];
		memcpy(&last, (const char *)v.mv_data + v.mv_size - sizeof(last), sizeof(last));
		expiry_key(ek, last.t_ms + p->per_key.window_ms, id->b);
		MDB_val ekv = { sizeof(ek), ek };
		rc = mdb_del(txn, s->expiry, &ekv, NULL);
		if (rc && rc != MDB_NOTFOUND)
			goto fail;
	}
	if ((rc = mdb_del(txn, s->windows, &k, NULL)))
		goto fail;
	return map_rc(mdb_txn_commit(txn));
fail:
	mdb_txn_abort(txn);
	*found = false;
	return map_rc(rc);
}

/* Pages on LMDB's free list: its records (database 0) are page lists whose
 * first word is their length (as mdb_stat -f counts them). */
static int
free_pages(MDB_txn *txn, uint64_t *out)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, 0, &c);
	*out = 0;
	if (rc)
		return rc;
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
		size_t n;
		if (v.mv_size < sizeof(n))
			continue;
		memcpy(&n, v.mv_data, sizeof(n));
		*out += n;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Live per-key windows are the index entries not yet expired: only the
 * expired ones, at the front of the index, are walked (reclaim keeps them
 * few), so a store of a million live keys answers at once. */
static int
lmdb_stats(void *be, const struct pp_policy *p, pp_clock_fn clock, struct pp_store_stats *out)
{
	struct lmdb_store *s = be;
	MDB_val k, v;
	MDB_stat ws, es, envs;
	MDB_envinfo info;
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	uint64_t dead = 0, freep = 0;
	int rc;

	(void)p;
	memset(out, 0, sizeof(*out));
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)))
		return map_rc(rc);
	int64_t now = clock();
	if ((rc = mdb_stat(txn, s->windows, &ws)) || (rc = mdb_stat(txn, s->expiry, &es)) ||
	    (rc = mdb_env_stat(s->env, &envs)) || (rc = mdb_env_info(s->env, &info)) ||
	    (rc = free_pages(txn, &freep)) || (rc = mdb_cursor_open(txn, s->expiry, &c)))
		goto out;
	out->windows = ws.ms_entries; /* the global window has its own database */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 8 + PP_KEYID_LEN && expiry_of(k.mv_data) > now)
			break;
		dead++;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	out->live_windows = es.ms_entries > dead ? es.ms_entries - dead : 0;
	uint64_t pages = (uint64_t)info.me_last_pgno + 1;
	out->file_bytes = pages * envs.ms_psize;
	out->bytes_used = (pages > freep ? pages - freep : 0) * envs.ms_psize;
	out->bytes_max = info.me_mapsize;
out:
	if (c)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return map_rc(rc);
}

const struct pp_store_ops pp_store_lmdb = {
	.name = "lmdb",
	.supports = PP_STORE_GLOBAL_OFF,
	.check = lmdb_check,
	.describe = lmdb_describe,
	.open = lmdb_open,
	.hit = lmdb_hit,
	.probe = lmdb_probe,
	.close = lmdb_close,
	.attach = lmdb_attach,
	.inspect = lmdb_inspect,
	.reset = lmdb_reset,
	.stats = lmdb_stats,
};
