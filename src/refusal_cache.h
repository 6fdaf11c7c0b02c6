/* refusal_cache.h - this host's memory of windows Redis showed full, shared by
 * its workers, so a flood is refused without a round trip per request.
 *
 * Why it is exact: quota only frees with time and only admissions consume
 * it. When Redis answers "full until T", every request for that window
 * before T would be refused by Redis too, whoever sent it. The cache keeps
 * T on CLOCK_MONOTONIC (system-wide, so shared across processes), computed
 * so that it can only come early, never late:
 *   - the round trip counts as if Redis answered at its start (the reply's
 *     retry is measured from a Redis time no earlier than that);
 *   - a margin covers TIME's truncation to the ms and clock-rate error;
 *   - an entry carries the limits it was computed under (an exact copy, not
 *     a hash) and is ignored under any others;
 *   - an entry lives at most refusal_cache_max, which bounds how long an
 *     admin reset or a Redis restart takes to be seen.
 * Past the deadline the next request goes to Redis again.
 *
 * Layout: a fixed array of slots in a shared mapping (a small file next to
 * db_path, mmap'd by every worker: a read is a few loads, where LMDB would
 * take a reader transaction and a write a write lock). Slot 0 is the global
 * window; a key's slot is picked by its keyed hash (direct-mapped: a
 * collision only costs a Redis call). Each slot is a seqlock of atomic
 * words: a reader that races a writer, or finds a slot a killed writer left
 * half-written, sees a miss and asks Redis. No locks, nothing to recover. */
#ifndef PP_REFUSAL_CACHE_H
#define PP_REFUSAL_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limiter.h"

#define PP_RCACHE_WORDS 12

struct pp_rcache_slot {
	_Atomic uint32_t seq; /* odd while a writer is at work */
	uint32_t pad;
	_Atomic uint64_t w[PP_RCACHE_WORDS];
};

struct pp_rcache {
	struct pp_rcache_slot *slots; /* borrowed: a mapping or the test's buffer */
	uint32_t n;                   /* slots, >= 2 */
	int64_t max_us;               /* refusal_cache_max */
};

/* Bytes a cache of n slots needs. */
size_t pp_rcache_size(uint32_t n);

/* The monotonic time (µs) until which a window Redis reported full may be
 * refused locally: start_us + retry_ms, less the margin, and at most
 * start_us + max_us. start_us is read before the command was sent. Returns
 * a value <= start_us when there is nothing worth caching. Pure. */
int64_t pp_rcache_deadline(int64_t start_us, int64_t retry_ms, int64_t max_us);

/* Records what a refusal from Redis (d, for key id under policy p) says:
 * each full window gets an entry. start_us as above. */
void pp_rcache_put(struct pp_rcache *c, const unsigned char id[16], const struct pp_policy *p,
                   const struct pp_decision *d, int64_t start_us);

/* If a live entry under p refuses key id at now_us, fills out as the 429
 * (refused_by, retry, throttle age and the refusing window's figures
 * counted down from Redis's answer; see pingpong-fcgi(8) for the other
 * limit's item) and returns true. out->now_ms is 0: no store time was read. */
bool pp_rcache_get(struct pp_rcache *c, const unsigned char id[16], const struct pp_policy *p,
                   int64_t now_us, struct pp_decision *out);

/* Maps (creating if needed, mode 0600) the host's cache file at path with n
 * slots. Returns 0, or -1 with errno set (the caller then runs without). */
int pp_rcache_open(struct pp_rcache *c, const char *path, uint32_t n, int64_t max_us);
void pp_rcache_close(struct pp_rcache *c);

/* CLOCK_MONOTONIC in µs. */
int64_t pp_rcache_now_us(void);

#endif
