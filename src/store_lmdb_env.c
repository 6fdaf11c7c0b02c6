/* store_lmdb_env.c - the LMDB environment under the decisions: error codes
 * and their log lines, transactions that survive a map another worker grew,
 * stale readers, the /readyz probe, and closing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store_lmdb.h"

int
pp_lmdb_map_rc(int rc)
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

int
pp_lmdb_grow(struct pp_bucket **buf, uint32_t *cap, uint32_t want)
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

uint64_t
pp_lmdb_be_get(const unsigned char *b, int n)
{
	uint64_t u = 0;
	for (int i = 0; i < n; i++)
		u = (u << 8) | b[i];
	return u;
}

void
pp_lmdb_be_put(unsigned char *out, uint64_t u, int n)
{
	for (int i = n - 1; i >= 0; i--, u >>= 8)
		out[i] = (unsigned char)(u & 0xff);
}

void
pp_lmdb_log_full(struct lmdb_store *s, const char *what)
{
	unsigned long n;
	if (pp_log_due(&s->full_log, 10, &n))
		pp_log_error("store: LMDB map full (%s), %lu times; raise db_map_size", what, n);
}

/* A write that failed because the file system holding db_path is full (in
 * pwrite mode data.mdb grows with the data): say so, naming the directory,
 * at most once per 10 s. A short pwrite is reported by LMDB as EIO, so an
 * I/O error on a file system with no room left counts as this too. */
int
pp_lmdb_disk_full(const struct lmdb_store *s, int rc)
{
	struct statvfs v;
	if (rc == ENOSPC)
		return 1;
	return rc == EIO && statvfs(s->path, &v) == 0 &&
	       (unsigned long long)v.f_bavail * v.f_frsize < 64 * 1024;
}

void
pp_lmdb_log_error(struct lmdb_store *s, int rc, const char *what)
{
	unsigned long n;
	if (pp_lmdb_disk_full(s, rc)) {
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

int
pp_lmdb_begin_write(struct lmdb_store *s, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, 0, txn);
	if (rc == MDB_MAP_RESIZED && (rc = adopt_map(s)) == 0)
		rc = mdb_txn_begin(s->env, NULL, 0, txn);
	return rc;
}

void
pp_lmdb_clear_stale_readers(struct lmdb_store *s, const char *why)
{
	int dead = 0;
	if (mdb_reader_check(s->env, &dead) == 0 && dead)
		pp_log_warn("store: %s: cleared %d stale reader slots left by dead processes", why, dead);
}

int
pp_lmdb_renew_read(struct lmdb_store *s)
{
	int rc = mdb_txn_renew(s->rtxn);
	if (rc == MDB_READERS_FULL) {
		pp_lmdb_clear_stale_readers(s, "reader table full");
		rc = mdb_txn_renew(s->rtxn);
	}
	/* The snapshot is reset again after a failed renew: free to remap. */
	if (rc == MDB_MAP_RESIZED && (rc = adopt_map(s)) == 0)
		rc = mdb_txn_renew(s->rtxn);
	return rc;
}

/* Pages on LMDB's free list: its records (database 0) are page lists whose
 * first word is their length (as mdb_stat -f counts them). */
int
pp_lmdb_free_pages(MDB_txn *txn, uint64_t *out)
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

/* Ready means an admission could commit now, with room to spare: write a
 * record larger than the pages an admission dirties (both windows, the
 * tree above them), so a map too full for admissions fails the probe
 * first; then read it back through the snapshot. The size comes from
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
	int rc = pp_lmdb_begin_write(s, &txn);
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

int
pp_lmdb_probe(void *be)
{
	struct lmdb_store *s = be;
	MDB_val k = { 5, "probe" }, v;
	int rc = probe_write(s);
	if (rc == MDB_MAP_FULL) {
		pp_lmdb_clear_stale_readers(s, "probe: map full");
		rc = probe_write(s);
	}
	if (rc == 0 && (rc = pp_lmdb_renew_read(s)) == 0) {
		rc = mdb_get(s->rtxn, s->meta, &k, &v);
		mdb_txn_reset(s->rtxn);
	}
	if (rc) {
		/* /readyz answers 503 without a reason: the log has it. */
		unsigned long n;
		if (pp_lmdb_disk_full(s, rc))
			pp_lmdb_log_error(s, rc, "readiness probe");
		else if (pp_log_due(&s->probe_log, 10, &n))
			pp_log_error("store: readiness probe failed: %s%s, %lu times", mdb_strerror(rc),
			             rc == MDB_MAP_FULL ? " (raise db_map_size, or a reader is stuck)" : "", n);
	}
	if (pp_lmdb_disk_full(s, rc))
		return PP_STORE_EFULL;
	return pp_lmdb_map_rc(rc);
}

void
pp_lmdb_close(void *be)
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
