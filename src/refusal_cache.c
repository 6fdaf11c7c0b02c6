/* refusal_cache.c - windows Redis showed full, kept per host on the monotonic
 * clock so a cached refusal ends early, never late (see refusal_cache.h). */
#include "refusal_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Word indexes of a slot. */
enum {
	W_ID0,
	W_ID1,    /* the key's id (a key slot) or the refused key's (global) */
	W_LIMITS, /* per-key limit << 32 | global limit */
	W_KWIN,
	W_GWIN,        /* windows in ms: with W_LIMITS, the exact policy */
	W_DEADLINE,    /* refuse locally while now < this (µs, monotonic) */
	W_FREE,        /* when Redis's window frees (µs): the retry figure */
	W_FILLED,      /* when it filled (µs): the throttle age */
	W_COUNTS,      /* used << 32 | the other window's remaining */
	W_RESET,       /* when the refusing window's oldest entry expires (µs) */
	W_OTHER_RESET, /* the same for the other window */
	W_WHICH,       /* 1 + enum pp_limit_id; 0 = empty */
};

/* TIME truncates to the ms, and every figure in the reply is whole ms. */
#define MARGIN_FIXED_US 2000
/* CLOCK_MONOTONIC may be slewed by up to 500 ppm against Redis's clock:
 * 1 µs per ms of wait (1000 ppm) covers it twice. */
#define MARGIN_PER_MS_US 1

size_t
pp_rcache_size(uint32_t n)
{
	return (size_t)n * sizeof(struct pp_rcache_slot);
}

int64_t
pp_rcache_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
pp_rcache_deadline(int64_t start_us, int64_t retry_ms, int64_t max_us)
{
	int64_t d = start_us + retry_ms * 1000 - MARGIN_FIXED_US - retry_ms * MARGIN_PER_MS_US;
	return d < start_us + max_us ? d : start_us + max_us;
}

static uint64_t
id_word(const unsigned char *id, int half)
{
	uint64_t v;
	memcpy(&v, id + 8 * half, 8);
	return v;
}

static uint32_t
slot_of(const struct pp_rcache *c, const unsigned char id[16], enum pp_limit_id which)
{
	uint32_t h;
	if (which == PP_LIMIT_GLOBAL)
		return 0;
	memcpy(&h, id, sizeof(h));
	return 1 + h % (c->n - 1);
}

static uint64_t
limits_word(const struct pp_policy *p)
{
	return (uint64_t)p->per_key.limit << 32 | p->global.limit;
}

static void
store(struct pp_rcache_slot *s, const uint64_t v[PP_RCACHE_WORDS])
{
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
	/* Another writer is at work (or died at work): its entry wins. */
	if ((seq & 1) || !atomic_compare_exchange_strong_explicit(&s->seq, &seq, seq + 1,
	                                                          memory_order_acquire,
	                                                          memory_order_relaxed))
		return;
	for (int i = 0; i < PP_RCACHE_WORDS; i++)
		atomic_store_explicit(&s->w[i], v[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

static bool
load(struct pp_rcache_slot *s, uint64_t v[PP_RCACHE_WORDS])
{
	uint32_t a = atomic_load_explicit(&s->seq, memory_order_acquire), b;
	if (a & 1)
		return false;
	for (int i = 0; i < PP_RCACHE_WORDS; i++)
		v[i] = atomic_load_explicit(&s->w[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	b = atomic_load_explicit(&s->seq, memory_order_relaxed);
	return a == b;
}

static void
put_one(struct pp_rcache *c, const unsigned char id[16], const struct pp_policy *p,
        enum pp_limit_id which, const struct pp_window_state *w,
        const struct pp_window_state *other, int64_t start_us)
{
	uint64_t v[PP_RCACHE_WORDS];
	int64_t deadline = pp_rcache_deadline(start_us, w->retry_ms, c->max_us);

	if (deadline <= start_us)
		return;
	v[W_ID0] = id_word(id, 0);
	v[W_ID1] = id_word(id, 1);
	v[W_LIMITS] = limits_word(p);
	v[W_KWIN] = (uint64_t)p->per_key.window_ms;
	v[W_GWIN] = (uint64_t)p->global.window_ms;
	v[W_DEADLINE] = (uint64_t)deadline;
	v[W_FREE] = (uint64_t)(start_us + w->retry_ms * 1000);
	v[W_FILLED] = (uint64_t)(start_us - w->age_ms * 1000);
	v[W_COUNTS] = (uint64_t)w->used << 32 | other->remaining;
	v[W_RESET] = (uint64_t)(start_us + w->reset_ms * 1000);
	v[W_OTHER_RESET] = (uint64_t)(start_us + other->reset_ms * 1000);
	v[W_WHICH] = (uint64_t)(1 + which);
	store(&c->slots[slot_of(c, id, which)], v);
}

void
pp_rcache_put(struct pp_rcache *c, const unsigned char id[16], const struct pp_policy *p,
              const struct pp_decision *d, int64_t start_us)
{
	if (c->slots == NULL || d->admit)
		return;
	if (d->key.full)
		put_one(c, id, p, PP_LIMIT_KEY, &d->key, &d->global, start_us);
	if (d->global.full)
		put_one(c, id, p, PP_LIMIT_GLOBAL, &d->global, &d->key, start_us);
}

static int64_t
ms_until(int64_t t_us, int64_t now_us)
{
	int64_t d = t_us - now_us;
	return d <= 0 ? 0 : (d + 999) / 1000;
}

/* A live entry for (id, which) under p at now, or false. */
static bool
find(struct pp_rcache *c, const unsigned char id[16], const struct pp_policy *p,
     enum pp_limit_id which, int64_t now_us, uint64_t v[PP_RCACHE_WORDS])
{
	if (!load(&c->slots[slot_of(c, id, which)], v))
		return false;
	if (v[W_WHICH] != (uint64_t)(1 + which) || v[W_LIMITS] != limits_word(p) ||
	    v[W_KWIN] != (uint64_t)p->per_key.window_ms || v[W_GWIN] != (uint64_t)p->global.window_ms)
		return false;
	if (which == PP_LIMIT_KEY && (v[W_ID0] != id_word(id, 0) || v[W_ID1] != id_word(id, 1)))
		return false;
	/* No entry is made to last longer than max_us from now: one that
	 * would is from before a reboot (the monotonic clock started over). */
	return now_us < (int64_t)v[W_DEADLINE] && (int64_t)v[W_DEADLINE] - now_us <= c->max_us;
}

/* The refusing window of entry v, as it stands at now. */
static void
full_state(struct pp_window_state *w, const uint64_t v[PP_RCACHE_WORDS], int64_t now_us)
{
	w->used = (uint32_t)(v[W_COUNTS] >> 32);
	w->remaining = 0;
	w->full = true;
	w->retry_ms = ms_until((int64_t)v[W_FREE], now_us);
	if (w->retry_ms < 1)
		w->retry_ms = 1;
	w->reset_ms = ms_until((int64_t)v[W_RESET], now_us);
	if (w->reset_ms < w->retry_ms)
		w->reset_ms = w->retry_ms;
	w->age_ms = (now_us - (int64_t)v[W_FILLED]) / 1000;
}

/* The other window, as Redis showed it when the entry was made. */
static void
other_state(struct pp_window_state *w, const uint64_t v[PP_RCACHE_WORDS],
            const struct pp_limit *l, int64_t now_us)
{
	w->remaining = (uint32_t)v[W_COUNTS];
	w->used = w->remaining < l->limit ? l->limit - w->remaining : 0;
	w->reset_ms = ms_until((int64_t)v[W_OTHER_RESET], now_us);
}

bool
pp_rcache_get(struct pp_rcache *c, const unsigned char id[16], const struct pp_policy *p,
              int64_t now_us, struct pp_decision *out)
{
	uint64_t kv[PP_RCACHE_WORDS], gv[PP_RCACHE_WORDS];
	bool k, g;

	if (c->slots == NULL)
		return false;
	k = find(c, id, p, PP_LIMIT_KEY, now_us, kv);
	g = find(c, id, p, PP_LIMIT_GLOBAL, now_us, gv);
	if (!k && !g)
		return false;

	memset(out, 0, sizeof(*out));
	out->admit = false;
	if (k)
		full_state(&out->key, kv, now_us);
	if (g)
		full_state(&out->global, gv, now_us);
	if (k && !g)
		other_state(&out->global, kv, &p->global, now_us);
	if (g && !k) {
		if (gv[W_ID0] == id_word(id, 0) && gv[W_ID1] == id_word(id, 1)) {
			other_state(&out->key, gv, &p->per_key, now_us);
		} else {
			/* Redis was not asked about this key: its item shows the
			 * full quota (documented in pingpong-fcgi(8)). */
			out->key.remaining = p->per_key.limit;
		}
	}
	/* full_state marked the cached windows full: the one blame rule. */
	pp_limiter_blame(out);
	return true;
}

int
pp_rcache_open(struct pp_rcache *c, const char *path, uint32_t n, int64_t max_us)
{
	size_t size = pp_rcache_size(n);
	struct stat st;
	void *m;
	int fd, e;

	memset(c, 0, sizeof(*c));
	if (n < 2) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	/* Every worker sizes it alike; a zero-filled slot is an empty one. */
	if (fstat(fd, &st) != 0 || ((size_t)st.st_size != size && ftruncate(fd, (off_t)size) != 0))
		goto fail;
	/* Real blocks first: a store into a sparse page on a full disk is a
	 * SIGBUS, not an error. */
	if ((errno = posix_fallocate(fd, 0, (off_t)size)) != 0)
		goto fail;
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		goto fail;
	close(fd);
	c->slots = m;
	c->n = n;
	c->max_us = max_us;
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

void
pp_rcache_close(struct pp_rcache *c)
{
	if (c->slots)
		munmap(c->slots, pp_rcache_size(c->n));
	memset(c, 0, sizeof(*c));
}
