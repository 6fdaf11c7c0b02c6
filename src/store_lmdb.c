/* store_lmdb.c - the LMDB store's decisions, and its row of the backend table.
 * A refusal is decided from a reused read-only snapshot; an admission is one
 * short write transaction: get -> limiter -> put -> commit, atomic across
 * every worker on the host. The rest of the store: store_lmdb_env.c (the
 * environment), _open.c, _files.c (the files beside it), _size.c (the map's
 * size), _slots.c (the global window), _sweep.c (reclaiming expired
 * windows), _ctl.c (pingpongctl's calls); store_lmdb.h joins them. */
#include <errno.h>
#include <string.h>

#include "store_lmdb.h"

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
int
pp_lmdb_view(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, struct pp_window *w)
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

/* The decision in a transaction: the global window's three records, or
 * every one when the answer lies between them. */
static int
decide_in(struct lmdb_store *s, MDB_txn *txn, struct pp_window *kw, const struct pp_policy *p,
          int64_t now, struct pp_decision *out, int all)
{
	uint32_t ng = 0;
	int rc;
	if (p->global.limit != PP_LIMIT_OFF && (rc = pp_lmdb_gather(s, txn, &p->global, now, all, &ng)))
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
	int rc = pp_lmdb_renew_read(s);
	if (rc)
		return rc;
	/* Read after the snapshot starts: every time in it is <= now. */
	int64_t now = clock();
	rc = pp_lmdb_view(s->rtxn, s->windows, kk, &kw);
	/* Decide before the reset: the key's view points into the snapshot. */
	if (!rc)
		rc = decide_in(s, s->rtxn, &kw, p, now, out, 0);
	mdb_txn_reset(s->rtxn);
	return rc;
}

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
	if (pp_lmdb_renew_read(s))
		return 0; /* the write itself will say what is wrong */
	int rc = pp_lmdb_free_pages(s->rtxn, &freep);
	mdb_txn_reset(s->rtxn);
	if (rc == 0 && left + freep >= SWEEP_RESERVE)
		return 0;
	return MDB_MAP_FULL;
}

/* The decision in the write transaction: the limiter records in kw and in
 * now's slot record; every slot record is read when the answer lies
 * between the three read first. *made_new: now's slot record is new. */
static int
admit_decide(struct lmdb_store *s, MDB_txn *txn, MDB_cursor *gc, struct pp_window *kw,
             const struct pp_policy *p, int64_t now, uint32_t *ng, int *folded,
             int *made_new, struct pp_decision *out)
{
	int rc, lrc, all = 0;
	for (;;) {
		*ng = 0;
		if (gc && (rc = pp_lmdb_gather_for_admit(s, txn, gc, &p->global, now, all, ng, folded)))
			return rc;
		*made_new = *ng && s->segs[*ng - 1].count == 0;
		lrc = pp_limiter_admit_slots(kw, s->segs, *ng, p, now, out);
		if (lrc != 1 || all)
			break;
		all = 1;
	}
	if (lrc)
		return lrc < 0 ? ENOMEM : MDB_CORRUPTED;
	return 0;
}

/* Records an admission beyond the key's window: now's slot record, and now
 * and then a sweep. */
static int
admit_record(struct lmdb_store *s, MDB_txn *txn, MDB_cursor *gc, const struct pp_policy *p,
             int64_t now, uint32_t ng, int made_new)
{
	int rc;
	if (gc && (rc = pp_lmdb_slot_put(s, txn, gc, ng - 1, &p->global, now, made_new)))
		return rc;
	return pp_lmdb_sweep_some(s, txn, &p->per_key, now);
}

/* Writes what the limiter decided: the key's window (deleted when empty)
 * and, on an admission, the rest. */
static int
admit_write(struct lmdb_store *s, MDB_txn *txn, MDB_cursor *gc, MDB_val *kk,
            const struct pp_window *kw, const struct pp_policy *p, int64_t now, uint32_t ng,
            int made_new, const struct pp_decision *out)
{
	int rc;
	if (kw->n == 0) { /* refused on the global limit alone: the key keeps no record */
		rc = mdb_del(txn, s->windows, kk, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
	} else if ((rc = save(txn, s->windows, kk, kw))) {
		return rc;
	}
	return out->admit ? admit_record(s, txn, gc, p, now, ng, made_new) : 0;
}

/* admit_new_key: the key had a window after all; nothing was written. */
#define KEY_NOT_NEW (-1)

/* The admit path's usual request, a key with no window yet, without
 * reading the key first: decided with an empty window, and on admission
 * the new window is written with MDB_NOOVERWRITE, which writes nothing
 * and says MDB_KEYEXIST if the key had a window after all. Returns 0
 * (admitted and recorded), KEY_NOT_NEW (refused, or the key not new:
 * nothing of the key's or the global window written but a fold; decide
 * the usual way), or an LMDB code. */
static int
admit_new_key(struct lmdb_store *s, MDB_txn *txn, MDB_cursor *gc, MDB_val *kk,
              const struct pp_policy *p, int64_t now, int *folded, struct pp_decision *out)
{
	struct pp_window kw = { s->kbuf, 0, s->kcap };
	uint32_t ng = 0;
	int made_new = 0;
	int rc = admit_decide(s, txn, gc, &kw, p, now, &ng, folded, &made_new, out);
	if (rc)
		return rc;
	if (!out->admit)
		return KEY_NOT_NEW;
	MDB_val v = { kw.n * sizeof(struct pp_bucket), kw.b };
	if ((rc = mdb_put(txn, s->windows, kk, &v, MDB_NOOVERWRITE)))
		return rc == MDB_KEYEXIST ? KEY_NOT_NEW : rc;
	return admit_record(s, txn, gc, p, now, ng, made_new);
}

static int
write_admit(struct lmdb_store *s, MDB_val *kk, const struct pp_policy *p,
            pp_clock_fn clock, struct pp_decision *out)
{
	struct pp_window kw = { s->kbuf, 0, s->kcap };
	MDB_txn *txn;
	MDB_cursor *gc = NULL; /* the global window's: read, then written in place */
	uint32_t ng = 0;
	int folded = 0, made_new = 0;
	int rc = headroom(s);
	if (rc == 0)
		rc = pp_lmdb_begin_write(s, &txn);
	if (rc)
		return rc;
	/* A write transaction's cursor closes when it ends (lmdb.h). */
	if (p->global.limit != PP_LIMIT_OFF && (rc = mdb_cursor_open(txn, s->global, &gc)))
		goto fail;
	/* Read under the write lock, so recorded times follow commit order: a
	 * time read before waiting for the lock would be older than what other
	 * workers committed meanwhile, and clamping to it would let them expire
	 * early. */
	int64_t now = clock();
	/* After an admission the next key is likely new too (lmdb_hit). */
	if (s->admitting && (rc = admit_new_key(s, txn, gc, kk, p, now, &folded, out)) != KEY_NOT_NEW) {
		if (rc)
			goto fail;
		return mdb_txn_commit(txn);
	}
	if ((rc = load(txn, s->windows, kk, &kw)) ||
	    (rc = admit_decide(s, txn, gc, &kw, p, now, &ng, &folded, &made_new, out)))
		goto fail;
	/* Refused after all (another worker took the last unit since the
	 * snapshot): nothing to record unless stepped-back times need clamping. */
	if (!out->admit && !out->rewrite && !folded)
		goto fail;
	if ((rc = admit_write(s, txn, gc, kk, &kw, p, now, ng, made_new, out)))
		goto fail;
	return mdb_txn_commit(txn);
fail:
	mdb_txn_abort(txn);
	return rc;
}

/* After an admission the next request is likely admitted too (a high
 * limit, many keys): it is decided in the write transaction straight away,
 * not first in the snapshot, which would read the same records twice.
 * After a refusal refusals are likely (a flood): they are decided in the
 * snapshot, taking no lock. Whatever the snapshot says, an admission is
 * decided in the write transaction, so this changes the cost of a
 * decision, never the decision. */
static int
lmdb_hit(void *be, const struct pp_keyid *id, const struct pp_policy *p,
         pp_clock_fn clock, struct pp_decision *out)
{
	struct lmdb_store *s = be;
	MDB_val kk = { PP_KEYID_LEN, (void *)id->b };
	int rc;

	if (pp_lmdb_grow(&s->kbuf, &s->kcap, pp_limiter_cap(&p->per_key)))
		return PP_STORE_ENOMEM;
	if (!s->admitting) {
		if ((rc = snapshot_decide(s, &kk, p, clock, out)))
			goto out;
		if (!out->admit && !out->rewrite)
			return PP_STORE_OK;
	}
	rc = write_admit(s, &kk, p, clock, out);
	if (rc == MDB_MAP_FULL || pp_lmdb_disk_full(s, rc)) {
		/* A dead reader's slot pins every page freed since its snapshot:
		 * clear those first, then reclaim expired windows (their pages are
		 * reused, so neither the map nor the file grows), then retry. */
		pp_lmdb_clear_stale_readers(s, rc == MDB_MAP_FULL ? "map full" : "disk full");
		pp_lmdb_sweep_all(s, &p->per_key, clock());
		rc = write_admit(s, &kk, p, clock, out);
		if (rc == MDB_MAP_FULL)
			pp_lmdb_log_full(s, "live windows, or a reader stuck on an old snapshot, fill it");
	}
out:
	s->admitting = rc == 0 && out->admit;
	if (rc && rc != MDB_MAP_FULL)
		pp_lmdb_log_error(s, rc, "admission");
	if (pp_lmdb_disk_full(s, rc))
		return PP_STORE_EFULL;
	return pp_lmdb_map_rc(rc);
}

const struct pp_store_ops pp_store_lmdb = {
	.name = "lmdb",
	.supports = PP_STORE_GLOBAL_OFF,
	.check = pp_lmdb_check,
	.describe = pp_lmdb_describe,
	.open = pp_lmdb_open,
	.hit = lmdb_hit,
	.probe = pp_lmdb_probe,
	.close = pp_lmdb_close,
	.attach = pp_lmdb_attach,
	.inspect = pp_lmdb_inspect,
	.reset = pp_lmdb_reset,
	.stats = pp_lmdb_stats,
};
