/* store_lmdb_slots.c - the global window in LMDB: one small record per
 * PP_SLOT_MS slot with a running total (limiter.h), so a decision reads
 * three records and an admission rewrites one, whatever the limit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_lmdb.h"

/* A slot record: this header, then its buckets. */
struct slot_head {
	uint64_t before; /* struct pp_slot's */
	uint64_t count;
};

int
pp_lmdb_slots_room(struct lmdb_store *s, uint32_t n)
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

/* An empty record of slot id in s->segs[i], continuing the running total. */
static struct pp_slot *
slot_empty(struct lmdb_store *s, uint32_t i, int64_t id, uint64_t before)
{
	struct pp_slot *c = &s->segs[i];
	c->id = id;
	c->before = before;
	c->count = 0;
	c->w.b = s->sbuf + (size_t)i * SLOT_CAP;
	c->w.n = 0;
	c->w.cap = SLOT_CAP;
	return c;
}

/* Copies the record at k, v into s->segs[i] (its own SLOT_CAP buckets):
 * records are small and inline (2-byte aligned), and the write path
 * changes them. */
static int
slot_read(struct lmdb_store *s, uint32_t i, const MDB_val *k, const MDB_val *v)
{
	struct slot_head h;
	size_t n;

	if (k->mv_size != 8 || v->mv_size < sizeof(h) ||
	    (v->mv_size - sizeof(h)) % sizeof(struct pp_bucket) != 0 ||
	    (n = (v->mv_size - sizeof(h)) / sizeof(struct pp_bucket)) > SLOT_CAP)
		return MDB_CORRUPTED;
	memcpy(&h, v->mv_data, sizeof(h));
	struct pp_slot *seg = slot_empty(s, i, (int64_t)pp_lmdb_be_get(k->mv_data, 8), h.before);
	seg->count = h.count;
	seg->w.n = (uint32_t)n;
	memcpy(seg->w.b, (const char *)v->mv_data + sizeof(h), n * sizeof(struct pp_bucket));
	return 0;
}

/* Every record from the cursor's key on. */
static int
gather_all(struct lmdb_store *s, MDB_cursor *c, const unsigned char kb[8], uint32_t *n)
{
	MDB_val k = { 8, (void *)kb }, v;
	uint32_t count = 0;
	int rc;

	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		count++;
	if (rc != MDB_NOTFOUND || (rc = pp_lmdb_slots_room(s, count + 1)))
		return rc;
	k.mv_size = 8;
	k.mv_data = (void *)kb;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && *n < count;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if ((rc = slot_read(s, (*n)++, &k, &v)))
			return rc;
	return rc;
}

/* pp_lmdb_gather with a cursor on the global database. */
static int
gather_in(struct lmdb_store *s, MDB_cursor *c, const struct pp_limit *l, int64_t now, int all,
          uint32_t *ng)
{
	MDB_val k, v;
	unsigned char kb[8];
	uint32_t n = 0;
	int rc;

	pp_lmdb_be_put(kb, (uint64_t)pp_slot_first_live(l, now), 8);
	k.mv_size = 8;
	k.mv_data = kb;
	if (all) {
		rc = gather_all(s, c, kb, &n);
	} else {
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && (rc = slot_read(s, n++, &k, &v)) == 0 &&
		    (rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0 &&
		    (rc = slot_read(s, n++, &k, &v)) == 0 &&
		    (rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0 &&
		    (rc = mdb_cursor_get(c, &k, &v, MDB_LAST)) == 0)
			rc = slot_read(s, n++, &k, &v);
	}
	*ng = n;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
pp_lmdb_gather(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now,
               int all, uint32_t *ng)
{
	MDB_cursor *c;
	int rc;

	*ng = 0;
	if ((rc = mdb_cursor_open(txn, s->global, &c)))
		return rc;
	rc = gather_in(s, c, l, now, all, ng);
	mdb_cursor_close(c);
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
	slot_empty(s, *ng, id, last ? last->before + last->count : 0);
	(*ng)++;
}

/* Deletes up to 4 slot records that hold no live admission: a new record
 * is made at most once a slot, so a few each time keep up. */
static int
slot_reclaim(struct lmdb_store *s, MDB_txn *txn, const struct pp_limit *l, int64_t now)
{
	MDB_cursor *c;
	MDB_val k, v;
	int64_t first = pp_slot_first_live(l, now);
	int rc = mdb_cursor_open(txn, s->global, &c);
	if (rc)
		return rc;
	for (int i = 0; i < 4; i++) {
		if ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)))
			break;
		if (k.mv_size == 8 && (int64_t)pp_lmdb_be_get(k.mv_data, 8) >= first)
			break;
		if ((rc = mdb_cursor_del(c, 0)))
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Writes s->segs[i] at the cursor's database: through c in place when c
 * is on its record (an admission's cursor, left on the newest record),
 * appended when it is new (it is the newest slot), else by key. */
static int
slot_write(struct lmdb_store *s, MDB_cursor *c, uint32_t i, int made_new)
{
	const struct pp_slot *seg = &s->segs[i];
	unsigned char kb[8], buf[sizeof(struct slot_head) + SLOT_CAP * sizeof(struct pp_bucket)];
	struct slot_head h = { seg->before, seg->count };
	size_t bytes = seg->w.n * sizeof(struct pp_bucket);
	MDB_val k = { 8, kb }, v = { sizeof(h) + bytes, NULL }, ck, cv;
	int rc;

	pp_lmdb_be_put(kb, (uint64_t)seg->id, 8);
	if (!made_new && mdb_cursor_get(c, &ck, &cv, MDB_GET_CURRENT) == 0 && ck.mv_size == 8 &&
	    memcmp(ck.mv_data, kb, 8) == 0) {
		/* Exactly MDB_CURRENT (no other flag) skips LMDB's search. */
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), seg->w.b, bytes);
		v.mv_data = buf;
		return mdb_cursor_put(c, &k, &v, MDB_CURRENT);
	}
	rc = mdb_cursor_put(c, &k, &v, MDB_RESERVE | (made_new ? MDB_APPEND : 0));
	if (rc == MDB_KEYEXIST) /* not after every record after all */
		rc = mdb_cursor_put(c, &k, &v, MDB_RESERVE);
	if (rc)
		return rc;
	memcpy(v.mv_data, &h, sizeof(h));
	memcpy((char *)v.mv_data + sizeof(h), seg->w.b, bytes);
	return 0;
}

int
pp_lmdb_slot_put(struct lmdb_store *s, MDB_txn *txn, MDB_cursor *c, uint32_t i,
                 const struct pp_limit *l, int64_t now, int made_new)
{
	int rc = slot_write(s, c, i, made_new);
	return rc == 0 && made_new ? slot_reclaim(s, txn, l, now) : rc;
}

/* Moves the buckets of r at or before now into cur (now's slot); returns
 * the admissions of r after now. */
static uint64_t
split_at(struct pp_slot *cur, const struct pp_slot *r, int64_t now)
{
	uint64_t later = 0;
	for (uint32_t j = 0; j < r->w.n; j++) {
		if (r->w.b[j].t_ms <= now) {
			cur->w.b[cur->w.n++] = r->w.b[j];
			cur->count += r->w.b[j].n;
		} else {
			later += r->w.b[j].n;
		}
	}
	return later;
}

/* Adds later admissions to cur as one bucket at now. */
static void
fold_into(struct pp_slot *cur, uint64_t later, int64_t now)
{
	if (cur->w.n && cur->w.b[cur->w.n - 1].t_ms == now) {
		cur->w.b[cur->w.n - 1].n += (uint32_t)later;
	} else {
		cur->w.b[cur->w.n].t_ms = now;
		cur->w.b[cur->w.n].n = (uint32_t)later;
		cur->w.b[cur->w.n].pad = 0;
		cur->w.n++;
	}
	cur->count += later;
}

/* A clock stepped back left admissions after now: fold them into one
 * bucket at now in now's slot, as pp_limiter_prune folds a flat window, so
 * they count as now and expire one window from now. *folded: any found.
 * The first record from now's slot on is now's own (kept, split at now) or
 * the one whose running total the folded bucket continues; every record
 * after now's slot is deleted. */
static int
slot_fold_future(struct lmdb_store *s, MDB_txn *txn, int64_t now, int *folded)
{
	MDB_cursor *c;
	MDB_val k, v;
	unsigned char kb[8];
	int64_t id = pp_slot_of(now);
	uint64_t later = 0;
	int rc;
	struct pp_slot *cur = NULL;

	*folded = 0;
	if ((rc = pp_lmdb_slots_room(s, 2)) || (rc = mdb_cursor_open(txn, s->global, &c)))
		return rc;
	pp_lmdb_be_put(kb, (uint64_t)id, 8);
	k.mv_size = 8;
	k.mv_data = kb;
	/* Deleting moves the cursor to the next record (MDB_GET_CURRENT after
	 * the last one is EINVAL). */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_GET_CURRENT)) {
		if ((rc = slot_read(s, 1, &k, &v)))
			break;
		const struct pp_slot *r = &s->segs[1];
		if (!cur) {
			cur = slot_empty(s, 0, id, r->before);
			if (r->id == id) {
				later += split_at(cur, r, now);
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
	fold_into(cur, later, now);
	*folded = 1;
	if ((rc = mdb_cursor_open(txn, s->global, &c)))
		return rc;
	rc = slot_write(s, c, 0, 0);
	mdb_cursor_close(c);
	return rc;
}

int
pp_lmdb_gather_for_admit(struct lmdb_store *s, MDB_txn *txn, MDB_cursor *c,
                         const struct pp_limit *l, int64_t now, int all, uint32_t *ng,
                         int *folded)
{
	int rc = gather_in(s, c, l, now, all, ng);
	if (rc)
		return rc;
	const struct pp_slot *nw = *ng ? &s->segs[*ng - 1] : NULL;
	if (!all && nw && (nw->id > pp_slot_of(now) || (nw->w.n && nw->w.b[nw->w.n - 1].t_ms > now))) {
		if ((rc = slot_fold_future(s, txn, now, folded)) ||
		    (rc = gather_in(s, c, l, now, 0, ng)))
			return rc;
	}
	slot_current(s, ng, now);
	return 0;
}
