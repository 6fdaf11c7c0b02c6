/* store_lmdb_open.c - opening the LMDB store: a worker's open (creating the
 * environment, its databases and the hashing secret, under one policy) and
 * the operator's attach, which joins an existing store as it is. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_lmdb.h"

/* Format 1's global window, in "windows": only looked for, to refuse it. */
static const char GLOBAL_KEY[] = { '\0', 'G' };

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

	pp_lmdb_be_put(mine, PP_LMDB_FORMAT, 4);
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
	int rc = pp_lmdb_begin_write(s, &txn);
	if (rc)
		return rc;
	if ((rc = mdb_dbi_open(txn, "windows", MDB_CREATE, &s->windows)) ||
	    (rc = mdb_dbi_open(txn, "global", MDB_CREATE, &s->global)) ||
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

/* The steps of open that run under the exclusive lock on db_path, so two
 * workers never claim a policy or size the file at once. */
static int
open_locked(struct lmdb_store *s, const struct pp_config *cfg, const char **step)
{
	int rc;
	*step = "claim the policy of";
	if ((rc = pp_lmdb_claim_policy(s, cfg)))
		return rc;
	*step = "reserve space in";
	s->map_size = (size_t)pp_lmdb_map_size(cfg);
	if ((rc = pp_lmdb_reserve_space(s, &s->map_size, &s->writemap)))
		return rc;
	*step = "create";
	if ((rc = mdb_env_create(&s->env)))
		return rc;
	*step = "configure";
	if ((rc = mdb_env_set_mapsize(s->env, s->map_size)) ||
	    (rc = mdb_env_set_maxdbs(s->env, 4)) ||
	    (rc = mdb_env_set_maxreaders(s->env, PP_LMDB_MAXREADERS)))
		return rc;
	/* NOSYNC: the windows are short-lived; a process crash loses nothing
	 * (the OS holds the pages), a power loss may cost the last moments.
	 * WRITEMAP only over reserved space: see pp_lmdb_reserve_space(). */
	*step = "open";
	return mdb_env_open(s->env, cfg->db_path, MDB_NOSYNC | (s->writemap ? MDB_WRITEMAP : 0), 0600);
}

/* Everything open does once the directory exists; *step names the step
 * that failed. */
static int
open_env(struct lmdb_store *s, const struct pp_config *cfg, unsigned char secret[32],
         const char **step)
{
	int rc, dead = 0;
	*step = "lock";
	int dirfd = open(cfg->db_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || flock(dirfd, LOCK_EX) != 0) {
		rc = errno;
		if (dirfd >= 0)
			close(dirfd);
		return rc;
	}
	rc = open_locked(s, cfg, step);
	close(dirfd); /* and with it the lock */
	if (rc)
		return rc;
	*step = "check readers";
	if ((rc = mdb_reader_check(s->env, &dead)))
		return rc;
	if (dead)
		pp_log_warn("store: cleared %d stale reader slots left by dead workers", dead);
	MDB_stat est;
	if (mdb_env_stat(s->env, &est) == 0)
		s->psize = est.ms_psize;
	*step = "open databases";
	if ((rc = open_dbs(s, cfg, secret)))
		return rc;
	*step = "begin read";
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn)))
		return rc;
	mdb_txn_reset(s->rtxn);
	return 0;
}

int
pp_lmdb_open(void **out, const struct pp_config *cfg, unsigned char secret[32])
{
	struct lmdb_store *s = calloc(1, sizeof(*s));
	const char *step = "create";
	int rc;

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
	s->probe_size = (size_t)pp_lmdb_probe_bytes(cfg);
	if ((rc = open_env(s, cfg, secret, &step)))
		goto fail;
	if (pp_lmdb_grow(&s->kbuf, &s->kcap, pp_limiter_cap(&cfg->policy.per_key)) ||
	    pp_lmdb_slots_room(s, 4)) {
		pp_lmdb_close(s);
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
	pp_lmdb_close(s);
	return pp_lmdb_map_rc(rc);
}

/* ---- the operator's attach (pingpongctl) ---------------------------------
 * Opens an existing environment only. Without MDB_WRITEMAP and without a
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

	pp_lmdb_be_put(mine, PP_LMDB_FORMAT, 4);
	if (rc == 0 && v.mv_size == 4 && memcmp(v.mv_data, mine, 4) == 0)
		return 0;
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	pp_log_error("store: %s was created by another version of pingpong (%s; this version reads "
	             "data format %u): use that version's pingpongctl",
	             s->path, rc ? "no format record" : "another data format", PP_LMDB_FORMAT);
	return ERR_OTHER_FORMAT;
}

/* The workers keep a secret here exactly when they have no
 * key_secret_file: a mismatch means this tool runs with another
 * configuration than theirs, and would hash keys to other ids. Returns an
 * LMDB code, or PP_STORE_ESECRET (logged). */
static int
attach_secret(struct lmdb_store *s, MDB_txn *txn, const struct pp_config *cfg,
              unsigned char secret[PP_SECRET_LEN])
{
	MDB_val k = { 6, "secret" }, v;
	int rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0 && cfg->key_secret_file[0]) {
		pp_log_warn("store: %s holds its own hashing secret, so the workers do not use "
		            "key_secret_file: keys will not match theirs; use their configuration",
		            cfg->db_path);
		return 0;
	}
	if (rc == MDB_NOTFOUND && !cfg->key_secret_file[0]) {
		pp_log_error("store: %s keeps no hashing secret: the workers take it from "
		             "key_secret_file; run with their configuration",
		             cfg->db_path);
		return PP_STORE_ESECRET;
	}
	if (rc == 0 && v.mv_size == PP_SECRET_LEN)
		memcpy(secret, v.mv_data, PP_SECRET_LEN);
	else if (rc == 0)
		return MDB_CORRUPTED;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The databases and the secret, in one read transaction; committing it
 * keeps the database handles for later transactions. */
static int
attach_dbs(struct lmdb_store *s, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN])
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return rc;
	if ((rc = mdb_dbi_open(txn, "meta", 0, &s->meta)) ||
	    (rc = attach_format(s, txn)) ||
	    (rc = mdb_dbi_open(txn, "windows", 0, &s->windows)) ||
	    (rc = mdb_dbi_open(txn, "global", 0, &s->global)) ||
	    (rc = attach_secret(s, txn, cfg, secret))) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

int
pp_lmdb_attach(void **out, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN])
{
	char path[PP_CONF_PATH_MAX + 16];
	struct stat sb;
	struct lmdb_store *s;
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
	if ((rc = attach_dbs(s, cfg, secret)) == 0) {
		*out = s;
		return PP_STORE_OK;
	}
	if (rc == ERR_OTHER_FORMAT || rc == PP_STORE_ESECRET) {
		pp_lmdb_close(s);
		return rc == PP_STORE_ESECRET ? rc : PP_STORE_EIO;
	}
fail:
	pp_lmdb_close(s);
	if (rc == MDB_NOTFOUND)
		return PP_STORE_ENOSTORE; /* workers never opened it */
	pp_log_error("store: LMDB %s: %s", cfg->db_path, mdb_strerror(rc));
	return pp_lmdb_map_rc(rc);
}
