/* store_lmdb_files.c - the files beside the LMDB environment: disk space
 * reserved before LMDB maps it, and the lock file that keeps one policy per
 * db_path. Both run at open, under the exclusive lock on db_path. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "store_lmdb.h"

/* lock.mdb's size with PP_LMDB_MAXREADERS slots of 64 bytes. */
#define LOCK_RESERVE ((off_t)(PP_LMDB_MAXREADERS + 2) * 64 + 4096)

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
int
pp_lmdb_reserve_space(struct lmdb_store *s, size_t *map, int *writemap)
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
int
pp_lmdb_claim_policy(struct lmdb_store *s, const struct pp_config *cfg)
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
