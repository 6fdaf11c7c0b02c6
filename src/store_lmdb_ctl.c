/* store_lmdb_ctl.c - the operator's calls on the LMDB store (pingpongctl):
 * inspect, reset and stats. Each is one short transaction of its own; the
 * tool keeps no read transaction (and so no snapshot) between them. */
#include <string.h>

#include "store_lmdb.h"

int
pp_lmdb_inspect(void *be, const struct pp_keyid *id, const struct pp_policy *p,
                pp_clock_fn clock, struct pp_store_view *out)
{
	struct lmdb_store *s = be;
	MDB_val kk = { PP_KEYID_LEN, (void *)id->b };
	MDB_txn *txn;
	uint32_t ng = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (pp_lmdb_grow(&s->kbuf, &s->kcap, pp_limiter_cap(&p->per_key)) || pp_lmdb_slots_room(s, 4))
		return PP_STORE_ENOMEM;
	struct pp_window kw = { s->kbuf, 0, s->kcap };
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)))
		return pp_lmdb_map_rc(rc);
	int64_t now = clock();
	rc = pp_lmdb_view(txn, s->windows, &kk, &kw);
	out->key_found = kw.n > 0; /* an empty window is deleted, never kept */
	/* Every slot record of the global window: a tool, not a hot path. */
	if (rc == 0 && p->global.limit != PP_LIMIT_OFF)
		rc = pp_lmdb_gather(s, txn, &p->global, now, 1, &ng);
	if (rc == 0 && pp_limiter_decide_slots(&kw, s->segs, ng, p, now, &out->d))
		rc = MDB_CORRUPTED;
	if (rc == 0) {
		out->key_clear_ms = pp_limiter_clear_ms(&kw, &p->per_key, now);
		if (p->global.limit != PP_LIMIT_OFF)
			out->global_clear_ms = pp_limiter_clear_slots(s->segs, ng, &p->global, now);
	}
	mdb_txn_abort(txn);
	return pp_lmdb_map_rc(rc);
}

/* Deletes every record of dbi; *found: there was one. */
static int
drop_all(MDB_txn *txn, MDB_dbi dbi, bool *found)
{
	MDB_stat st;
	int rc = mdb_stat(txn, dbi, &st);
	if (rc || st.ms_entries == 0)
		return rc;
	*found = true;
	return mdb_drop(txn, dbi, 0);
}

int
pp_lmdb_reset(void *be, const struct pp_keyid *id, const struct pp_policy *p, bool *found)
{
	struct lmdb_store *s = be;
	MDB_val k = { PP_KEYID_LEN, NULL };
	MDB_txn *txn;
	int rc;

	(void)p;
	*found = false;
	if ((rc = pp_lmdb_begin_write(s, &txn)))
		return pp_lmdb_map_rc(rc);
	if (!id) { /* the global window: every slot record */
		rc = drop_all(txn, s->global, found);
	} else {
		k.mv_data = (void *)id->b;
		rc = mdb_del(txn, s->windows, &k, NULL);
		*found = rc == 0;
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (rc == 0 && *found)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc)
		*found = false;
	return pp_lmdb_map_rc(rc);
}

/* Windows stored, and of those the ones holding a live admission at now:
 * one walk over every window (a tool's call; 1M windows take well under a
 * second). */
static int
count_windows(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now,
              struct pp_store_stats *out)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, s->windows, &c);
	if (rc)
		return rc;
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
		struct pp_bucket last;
		out->windows++;
		if (v.mv_size < sizeof(last) || v.mv_size % sizeof(last) != 0)
			continue;
		memcpy(&last, (const char *)v.mv_data + v.mv_size - sizeof(last), sizeof(last));
		if (last.t_ms + l->window_ms > now)
			out->live_windows++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
pp_lmdb_stats(void *be, const struct pp_policy *p, pp_clock_fn clock, struct pp_store_stats *out)
{
	struct lmdb_store *s = be;
	MDB_stat envs;
	MDB_envinfo info;
	MDB_txn *txn;
	uint64_t freep = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)))
		return pp_lmdb_map_rc(rc);
	int64_t now = clock();
	if ((rc = mdb_env_stat(s->env, &envs)) || (rc = mdb_env_info(s->env, &info)) ||
	    (rc = pp_lmdb_free_pages(txn, &freep)) ||
	    (rc = count_windows(s, txn, &p->per_key, now, out)))
		goto out;
	uint64_t pages = (uint64_t)info.me_last_pgno + 1;
	out->file_bytes = pages * envs.ms_psize;
	out->bytes_used = (pages > freep ? pages - freep : 0) * envs.ms_psize;
	out->bytes_max = info.me_mapsize;
out:
	mdb_txn_abort(txn);
	return pp_lmdb_map_rc(rc);
}
