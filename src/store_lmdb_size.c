/* store_lmdb_size.c - how large the LMDB map must be for a policy: the
 * start-up check that no flood can fill it, db_map_size = auto, and the
 * /readyz probe's record, which both count. */
#include <stdio.h>

#include "store_lmdb.h"

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

uint64_t
pp_lmdb_probe_bytes(const struct pp_config *cfg)
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
	       SWEEP_RESERVE * 4096ULL + 3 * pp_lmdb_probe_bytes(cfg);
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
	 * (store_lmdb_files.c). */
	if (cfg->policy.global.limit == PP_LIMIT_OFF)
		return MAP_AUTO_OFF;
	uint64_t need = (pp_lmdb_map_needed(cfg) + (1ULL << 20) - 1) & ~((1ULL << 20) - 1);
	return need < MAP_AUTO_MIN ? MAP_AUTO_MIN : need;
}

/* A map too small for what the limits can keep live is an error: a flood
 * of distinct keys must not be able to fill it. With global_limit = off
 * nothing bounds them, so no size can be checked (pingpong.conf(5)). */
int
pp_lmdb_check(const struct pp_config *cfg, char *err, size_t errlen)
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

void
pp_lmdb_describe(const struct pp_config *cfg, char *out, size_t cap)
{
	snprintf(out, cap, "db_path %s, map %llu MiB%s", cfg->db_path,
	         (unsigned long long)(pp_lmdb_map_size(cfg) >> 20),
	         cfg->db_map_size == PP_MAP_AUTO ? " (auto)" : "");
}
