/* store.c - the backend-independent part of the store: the table of backends
 * (curl vtls style: the generic code asks the row, never "if redis"), the
 * hashing secret, and keyed hashes so no backend ever sees a key in clear. */
#include "store.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"

const struct pp_store_ops *const pp_store_backends[] = {
	&pp_store_lmdb,
#ifdef HAVE_HIREDIS
	&pp_store_redis,
#endif
	NULL,
};

const char *
pp_store_strerror(int rc)
{
	switch (rc) {
	case PP_STORE_OK: return "ok";
	case PP_STORE_EFULL: return "store full";
	case PP_STORE_EIO: return "store I/O error";
	case PP_STORE_ENOMEM: return "out of memory";
	case PP_STORE_EBUSY: return "no free reader slot";
	case PP_STORE_EUNAVAIL: return "store unavailable";
	case PP_STORE_ESECRET: return "no usable hashing secret";
	case PP_STORE_ENOSTORE: return "no store there yet";
	case PP_STORE_ENOTSUP: return "not supported by this backend";
	default: return "unknown store error";
	}
}

const struct pp_store_ops *
pp_store_find(const char *name)
{
	for (size_t i = 0; pp_store_backends[i]; i++)
		if (strcmp(pp_store_backends[i]->name, name) == 0)
			return pp_store_backends[i];
	return NULL;
}

int
pp_store_check_backend(const struct pp_store_ops *ops, const struct pp_config *cfg,
                       char *err, size_t errlen)
{
	/* A secret made on one host would give every host its own ids for
	 * the same key: the fleet would share nothing. */
	if ((ops->supports & PP_STORE_SHARED) && !cfg->key_secret_file[0]) {
		snprintf(err, errlen, "store = %s is shared by every host: set key_secret_file to a file "
		                      "of at least 32 random bytes, the same on every host",
		         ops->name);
		return -1;
	}
	/* A backend that never learnt "no global limit" would read a limit of
	 * 0 as a window that is always full, and refuse everything. */
	if (cfg->policy.global.limit == PP_LIMIT_OFF && !(ops->supports & PP_STORE_GLOBAL_OFF)) {
		snprintf(err, errlen, "global_limit = off is not supported by store = %s", ops->name);
		return -1;
	}
	return ops->check ? ops->check(cfg, err, errlen) : 0;
}

int
pp_store_check(const struct pp_config *cfg, char *err, size_t errlen)
{
	const struct pp_store_ops *ops = pp_store_find(cfg->store);
	if (!ops) {
		snprintf(err, errlen, "store: '%s' is not built into this pingpong-fcgi (rebuild with "
		                      "its library, e.g. libhiredis-dev for redis)",
		         cfg->store);
		return -1;
	}
	if (cfg->on_store_error == PP_ON_ERROR_LOCAL && !(ops->supports & PP_STORE_SHARED)) {
		snprintf(err, errlen, "on_store_error = local: store = %s is already this host's own; "
		                      "use reject or admit",
		         ops->name);
		return -1;
	}
	if (cfg->on_store_error == PP_ON_ERROR_LOCAL) {
		/* The local fallback is an LMDB store: its rules hold too. */
		if (pp_store_check_backend(&pp_store_lmdb, cfg, err, errlen))
			return -1;
	}
	return pp_store_check_backend(ops, cfg, err, errlen);
}

void
pp_store_describe(const struct pp_config *cfg, char *out, size_t cap)
{
	const struct pp_store_ops *ops = pp_store_find(cfg->store);
	char be[512] = "";
	if (ops && ops->describe)
		ops->describe(cfg, be, sizeof(be));
	snprintf(out, cap, "%s (%s%s%s)", cfg->store, be,
	         cfg->key_secret_file[0] ? ", secret from " : "", cfg->key_secret_file);
}

void
pp_store_keyid(const unsigned char secret[PP_SECRET_LEN], const char *key, size_t key_len,
               struct pp_keyid *out)
{
	/* BLAKE2b keyed with the installation secret, a MAC: without the
	 * secret the stored ids tell nothing about the keys and cannot be
	 * aimed at for collisions. With it they can: a copy of data.mdb
	 * (which keeps its own secret unless key_secret_file is set) lets
	 * anyone test guesses of weak keys offline. */
	crypto_generichash(out->b, sizeof(out->b), (const unsigned char *)key, key_len, secret,
	                   PP_SECRET_LEN);
}

/* The file's bytes, whatever their number (>= 32), hashed to 32: every host
 * reading the same file gets the same secret. */
static int
secret_from_file(const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN])
{
	unsigned char buf[4096];
	char err[PP_CONF_PATH_MAX + 200];
	long n = pp_config_read_secret(cfg->key_secret_file, buf, sizeof(buf), err, sizeof(err));
	if (n >= 0)
		crypto_generichash(secret, PP_SECRET_LEN, buf, (size_t)n, NULL, 0);
	sodium_memzero(buf, sizeof(buf));
	if (n < 0) {
		pp_log_error("store: %s", err);
		return PP_STORE_ESECRET;
	}
	return PP_STORE_OK;
}

/* What opening and attaching share, before the backend's own call:
 * libsodium, the table, the clock, and the key_secret_file's secret. */
static int
prepare(struct pp_store *st, const struct pp_store_ops *ops, const struct pp_config *cfg)
{
	if (sodium_init() < 0)
		return PP_STORE_EIO;
	st->ops = ops;
	st->clock = pp_clock_now_ms;
	if (cfg->key_secret_file[0])
		return secret_from_file(cfg, st->secret);
	return PP_STORE_OK;
}

int
pp_store_open_backend(struct pp_store *st, const struct pp_store_ops *ops, const struct pp_config *cfg)
{
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = prepare(st, ops, cfg)) || (rc = ops->open(&st->be, cfg, st->secret)))
		goto fail;
	if (cfg->on_store_error == PP_ON_ERROR_LOCAL && ops != &pp_store_lmdb) {
		/* The ids stay the primary's: LMDB gets a scratch secret to
		 * fill (or, with key_secret_file, to ignore), never st's. */
		unsigned char scratch[PP_SECRET_LEN];
		memcpy(scratch, st->secret, sizeof(scratch));
		rc = pp_store_lmdb.open(&st->local, cfg, scratch);
		sodium_memzero(scratch, sizeof(scratch));
		if (rc)
			goto fail;
		st->local_ops = &pp_store_lmdb;
	}
	return PP_STORE_OK;
fail:
	pp_store_close(st);
	return rc;
}

int
pp_store_open(struct pp_store *st, const struct pp_config *cfg)
{
	const struct pp_store_ops *ops = pp_store_find(cfg->store);
	if (!ops) {
		memset(st, 0, sizeof(*st));
		return PP_STORE_EIO;
	}
	return pp_store_open_backend(st, ops, cfg);
}

int
pp_store_hit(struct pp_store *st, const char *key, size_t key_len,
             const struct pp_policy *p, struct pp_decision *out)
{
	struct pp_keyid id;
	pp_store_keyid(st->secret, key, key_len, &id);
	int rc = st->ops->hit(st->be, &id, p, st->clock, out);
	if (!st->local_ops)
		return rc;
	/* on_store_error = local: while the primary is away (or failing),
	 * this host's windows decide. A state flag, not a rate limit: one
	 * line when it goes, one when it is back, per worker. */
	if (rc == PP_STORE_EUNAVAIL || rc == PP_STORE_EIO) {
		if (!st->primary_lost) {
			st->primary_lost = true;
			st->local_hits = 0;
			pp_log_error("store %s lost (%s): deciding from this host's LMDB windows "
			             "(on_store_error = local) until it answers again",
			             st->ops->name, pp_store_strerror(rc));
		}
		st->local_hits++;
		return st->local_ops->hit(st->local, &id, p, st->clock, out);
	}
	if (rc == PP_STORE_OK && st->primary_lost) {
		st->primary_lost = false;
		pp_log_info("store %s is back after %lu requests decided locally", st->ops->name,
		            st->local_hits);
	}
	return rc;
}

int
pp_store_probe(struct pp_store *st)
{
	return st->ops->probe(st->be);
}

void
pp_store_close(struct pp_store *st)
{
	if (st->ops && st->be)
		st->ops->close(st->be);
	if (st->local_ops && st->local)
		st->local_ops->close(st->local);
	sodium_memzero(st->secret, sizeof(st->secret));
	st->be = NULL;
	st->local = NULL;
}

/* ---- the operator's side (pingpongctl) -------------------------------- */

int
pp_store_attach(struct pp_store *st, const struct pp_config *cfg)
{
	const struct pp_store_ops *ops = pp_store_find(cfg->store);
	int rc;

	memset(st, 0, sizeof(*st));
	if (!ops)
		return PP_STORE_EIO;
	if (!ops->attach)
		return PP_STORE_ENOTSUP;
	if ((rc = prepare(st, ops, cfg)) || (rc = ops->attach(&st->be, cfg, st->secret)))
		goto fail;
	return PP_STORE_OK;
fail:
	pp_store_close(st);
	return rc;
}

int
pp_store_inspect(struct pp_store *st, const char *key, size_t key_len,
                 const struct pp_policy *p, struct pp_store_view *out)
{
	struct pp_keyid id;
	if (!st->ops->inspect)
		return PP_STORE_ENOTSUP;
	pp_store_keyid(st->secret, key, key_len, &id);
	return st->ops->inspect(st->be, &id, p, st->clock, out);
}

int
pp_store_reset(struct pp_store *st, const char *key, size_t key_len,
               const struct pp_policy *p, bool *found)
{
	struct pp_keyid id;
	if (!st->ops->reset)
		return PP_STORE_ENOTSUP;
	if (key)
		pp_store_keyid(st->secret, key, key_len, &id);
	return st->ops->reset(st->be, key ? &id : NULL, p, found);
}

int
pp_store_stats(struct pp_store *st, const struct pp_policy *p, struct pp_store_stats *out)
{
	if (!st->ops->stats)
		return PP_STORE_ENOTSUP;
	return st->ops->stats(st->be, p, st->clock, out);
}
