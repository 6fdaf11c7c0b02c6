/* store_lmdb_sweep.c - keeps storage bounded (SPEC): expired key windows are
 * found by walking the windows in key order, a few at a time, from where
 * the last walk of any process stopped, and deleted in batches.
 *
 * Why not an index by expiry time (format 2 kept one): it cost every
 * admission two more B-tree writes (its entry, and deleting the entry of
 * the window it reclaimed) plus a delete on a random page of the windows:
 * ~13 500 of ~40 000 instructions (bench/README.md). A walk deletes the
 * expired windows it meets on the page it is on, so the pages touched are
 * shared by the batch, and it runs once in SWEEP_EVERY admissions.
 *
 * The bound: each admission adds at most one window, and the walks of all
 * processes together visit SWEEP_WALK / SWEEP_EVERY = 4 windows per
 * admission, through one position kept in the store ("sweep" in meta), so
 * every window is visited once per N / 4 admissions (N windows stored). A
 * window dead for longer than that is gone: at most about N / 4 dead
 * windows stay stored, within pp_lmdb_map_needed's allowance of twice the
 * live ones. */
#include <errno.h>
#include <string.h>

#include "store_lmdb.h"

/* Admissions of one process between its walks, and windows per walk. */
#define SWEEP_EVERY 32
#define SWEEP_WALK  128
/* Windows per transaction of the emergency sweep (a full map): few pages
 * each, since a page it frees is reusable only two commits later. */
#define SWEEP_TXN_WALK 256

static MDB_val sweep_key = { 5, "sweep" };

/* A window whose newest admission has expired holds nothing live; a record
 * that is not whole buckets is read as empty (copy_record) and goes too. */
static int
expired(const MDB_val *v, const struct pp_limit *l, int64_t now)
{
	struct pp_bucket last;
	if (v->mv_size < sizeof(last) || v->mv_size % sizeof(last) != 0)
		return 1;
	memcpy(&last, (const char *)v->mv_data + v->mv_size - sizeof(last), sizeof(last));
	return last.t_ms + l->window_ms <= now;
}

static int
position(struct lmdb_store *s, MDB_txn *txn, unsigned char pos[PP_KEYID_LEN])
{
	MDB_val v;
	int rc = mdb_get(txn, s->meta, &sweep_key, &v);
	memset(pos, 0, PP_KEYID_LEN);
	if (rc == 0 && v.mv_size == PP_KEYID_LEN)
		memcpy(pos, v.mv_data, PP_KEYID_LEN);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Walks up to max windows from the shared position (wrapping once at the
 * end), deleting the expired ones; keeps where it stopped. A deletion
 * leaves the cursor on the next window, which MDB_NEXT then returns. */
static int
walk(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now, size_t max,
     size_t *walked, size_t *freed)
{
	MDB_cursor *c;
	MDB_val k = { PP_KEYID_LEN, NULL }, v;
	unsigned char pos[PP_KEYID_LEN];
	int rc, wrapped = 0;

	*walked = *freed = 0;
	if ((rc = position(s, txn, pos)) || (rc = mdb_cursor_open(txn, s->windows, &c)))
		return rc;
	k.mv_data = pos;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (*walked < max) {
		if ((rc == MDB_NOTFOUND || rc == EINVAL) && !wrapped++) {
			rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
			continue;
		}
		if (rc)
			break;
		(*walked)++;
		if (expired(&v, l, now)) {
			if ((rc = mdb_cursor_del(c, 0)))
				break;
			(*freed)++;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	memset(pos, 0, sizeof(pos)); /* at the end: start again from the first */
	if (rc == 0 && k.mv_size == PP_KEYID_LEN)
		memcpy(pos, k.mv_data, PP_KEYID_LEN);
	mdb_cursor_close(c);
	if (rc && rc != MDB_NOTFOUND && rc != EINVAL)
		return rc;
	MDB_val pv = { PP_KEYID_LEN, pos };
	return mdb_put(txn, s->meta, &sweep_key, &pv, 0);
}

int
pp_lmdb_sweep_some(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now)
{
	size_t walked, freed;
	if (++s->since_sweep < SWEEP_EVERY)
		return 0;
	s->since_sweep = 0;
	return walk(s, txn, l, now, SWEEP_WALK, &walked, &freed);
}

/* Sweeps every window when the map is full, in short transactions. A full
 * map has few pages left, and a deletion needs a new page for each page it
 * touches (copy-on-write) while the page it frees is reusable only two
 * commits later: one long transaction runs out of pages part-way and loses
 * everything; short ones each need a few, and from the third on reuse what
 * the earlier ones freed. Progress is kept as it is made. */
size_t
pp_lmdb_sweep_all(struct lmdb_store *s, const struct pp_limit *l, int64_t now)
{
	size_t total = 0, seen = 0, walked, freed, n = 0;
	int rc = 0, first = 1;

	while (rc == 0 && (first || seen < n)) {
		MDB_txn *txn;
		MDB_stat st;
		if ((rc = pp_lmdb_begin_write(s, &txn)))
			break;
		if (first && (rc = mdb_stat(txn, s->windows, &st)) == 0)
			n = st.ms_entries;
		first = 0;
		if (rc || (rc = walk(s, txn, l, now, SWEEP_TXN_WALK, &walked, &freed)) || walked == 0) {
			mdb_txn_abort(txn);
			break;
		}
		if ((rc = mdb_txn_commit(txn)) == 0) {
			total += freed;
			seen += walked;
		}
	}
	if (total)
		pp_log_warn("store: map full, reclaimed %zu expired windows", total);
	return total;
}
