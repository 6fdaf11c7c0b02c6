/* store.c - the backend-independent part of the store: picks the backend and
 * turns secret keys into keyed hashes, so no backend ever sees a key in clear. */
#include "store.h"

#include <sodium.h>
#include <string.h>

#include "clock.h"

const char *
pp_store_strerror(int rc)
{
	switch (rc) {
	case PP_STORE_OK: return "ok";
	case PP_STORE_EFULL: return "store full";
	case PP_STORE_EIO: return "store I/O error";
	case PP_STORE_ENOMEM: return "out of memory";
	case PP_STORE_EBUSY: return "no free reader slot";
	default: return "unknown store error";
	}
}

void
pp_store_keyid(const unsigned char secret[32], const char *key, size_t key_len, struct pp_keyid *out)
{
	/* BLAKE2b keyed with the installation secret: a MAC, so the stored ids
	 * reveal nothing about the keys and cannot be targeted for collisions. */
	crypto_generichash(out->b, sizeof(out->b), (const unsigned char *)key, key_len, secret, 32);
}

int
pp_store_open(struct pp_limiter_store *ls, const struct pp_config *cfg)
{
	memset(ls, 0, sizeof(*ls));
	if (sodium_init() < 0)
		return PP_STORE_EIO;
	ls->ops = &pp_store_lmdb;
	ls->clock = pp_clock_now_ms;
	return ls->ops->open(&ls->s, cfg, ls->secret);
}

int
pp_store_hit(struct pp_limiter_store *ls, const char *key, size_t key_len,
             const struct pp_policy *p, struct pp_decision *out)
{
	struct pp_keyid id;
	pp_store_keyid(ls->secret, key, key_len, &id);
	return ls->ops->hit(ls->s, &id, p, ls->clock, out);
}

int
pp_store_probe(struct pp_limiter_store *ls)
{
	return ls->ops->probe(ls->s);
}

void
pp_store_close(struct pp_limiter_store *ls)
{
	if (ls->ops && ls->s)
		ls->ops->close(ls->s);
	sodium_memzero(ls->secret, sizeof(ls->secret));
	ls->s = NULL;
}
