/* limiter.h - the sliding-window rules of pingpong, as pure arithmetic.
 * No I/O, no clock, no malloc: callers pass the windows, the policy and "now". */
#ifndef PP_LIMITER_H
#define PP_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

/* Admissions that fall in the same millisecond share one bucket, so a window
 * never holds more than min(limit, window_ms) buckets, oldest first. */
struct pp_bucket {
	int64_t t_ms; /* admission time, ms since the epoch */
	uint32_t n;   /* admissions at t_ms */
	uint32_t pad; /* keeps the on-disk layout fixed: 16 bytes a bucket */
};

struct pp_window {
	struct pp_bucket *b; /* borrowed: owned by the caller, sorted by t_ms */
	uint32_t n;          /* buckets in use */
	uint32_t cap;        /* buckets b can hold */
};

struct pp_limit {
	uint32_t limit;    /* admissions allowed in any window, >= 1; for the
	                     * global limit PP_LIMIT_OFF: there is none */
	int64_t window_ms; /* window length, >= 1 */
};

/* policy.global.limit = PP_LIMIT_OFF (global_limit = off): the global
 * window is never full, never recorded, and its state reads all zero. */
#define PP_LIMIT_OFF 0u

enum pp_limit_id {
	PP_LIMIT_NONE = -1,
	PP_LIMIT_KEY = 0,
	PP_LIMIT_GLOBAL = 1
};

struct pp_policy {
	struct pp_limit per_key;
	struct pp_limit global;
};

/* What one window looks like at "now". */
struct pp_window_state {
	uint32_t used;      /* live admissions in (now - window, now] */
	uint32_t remaining; /* limit - used, never negative */
	bool full;          /* used >= limit */
	int64_t reset_ms;   /* until the oldest live admission expires; 0 if none */
	int64_t retry_ms;   /* if full: until one more admission fits, > 0 */
	int64_t age_ms;     /* if full: since the admission that filled it */
};

struct pp_decision {
	int64_t now_ms; /* the time the decision was made at */
	bool admit;
	enum pp_limit_id refused_by; /* PP_LIMIT_NONE when admitted */
	int64_t retry_ms;            /* until every full limit has room; 0 if admitted */
	int64_t throttle_age_ms;     /* age of the refusing limit's fill */
	bool rewrite;                /* a window held times after now (clock
	                              * stepped back): save it clamped even on
	                              * refusal, or the key stays locked out */
	struct pp_window_state key;
	struct pp_window_state global;
};

/* Times later than now (a clock stepped backwards) count as now, so a key is
 * never locked out for longer than its window. A limit of PP_LIMIT_OFF
 * gives an all-zero state. */
void pp_limiter_inspect(const struct pp_window *w, const struct pp_limit *l,
                        int64_t now_ms, struct pp_window_state *out);

/* Decides without changing anything. Admit iff both windows have room. When
 * both are full, refused_by names the one that frees last (ties: per-key). */
void pp_limiter_decide(const struct pp_window *key, const struct pp_window *global,
                       const struct pp_policy *p, int64_t now_ms,
                       struct pp_decision *out);

/* For a refusal whose window states are known (out->key, out->global, at
 * least one full): names the limit that frees last (ties: per-key), its
 * throttle age, and the wait until both have room. The one rule for every
 * backend: the Redis script reports states and this blames. */
void pp_limiter_blame(struct pp_decision *out);

/* Records an admission at now_ms: drops expired buckets, clamps future ones to
 * now, appends (or merges into) the newest bucket. Returns 0, or -1 when
 * w->cap is too small (w is then unchanged). cap >= pp_limiter_cap(l) always
 * suffices for a window that had room. */
int pp_limiter_record(struct pp_window *w, const struct pp_limit *l, int64_t now_ms);

/* Drops expired buckets only. Returns the live buckets left. */
uint32_t pp_limiter_prune(struct pp_window *w, const struct pp_limit *l, int64_t now_ms);

/* Buckets a window of this limit can need: min(limit, window_ms) + 1. */
uint32_t pp_limiter_cap(const struct pp_limit *l);

/* Until every live admission of w has expired (the window has all its
 * quota back), from now_ms; 0 if none is live. For pingpongctl inspect. */
int64_t pp_limiter_clear_ms(const struct pp_window *w, const struct pp_limit *l, int64_t now_ms);

/* Full decision and record in one step, for a caller holding both windows
 * writable (the store's write transaction). On admit both windows are
 * recorded and out describes them after the admission. On a refusal with
 * out->rewrite set, both windows are pruned and clamped to now, to be saved. Returns 0, or -1 if a
 * window's cap is too small (nothing recorded; pp_limiter_cap() always fits). */
int pp_limiter_admit(struct pp_window *key, struct pp_window *global,
                     const struct pp_policy *p, int64_t now_ms,
                     struct pp_decision *out);

/* ---- the global window as per-slot records (the LMDB store) --------------
 * Admissions at times in [id * PP_SLOT_MS, (id + 1) * PP_SLOT_MS) form slot
 * id: its buckets (at most PP_SLOT_MS), their sum, and a running total of
 * every admission recorded in earlier slots. The live count is then the
 * newest slot's running total minus the oldest live slot's, less the
 * expired part of that oldest slot: two records read and one small one
 * written per admission, whatever the limit and the window. */
#define PP_SLOT_MS 16

struct pp_slot {
	int64_t id;         /* t_ms / PP_SLOT_MS */
	uint64_t before;    /* admissions recorded in slots before this one */
	uint64_t count;     /* admissions in this slot: the sum of w.b[].n */
	struct pp_window w; /* its buckets, sorted by t_ms */
};

/* The slot of a time, and the first slot that can hold a live admission. */
int64_t pp_slot_of(int64_t t_ms);
int64_t pp_slot_first_live(const struct pp_limit *l, int64_t now_ms);

/* Like pp_limiter_inspect for a window given as slots s[0..n): s[0] the
 * first slot record at or after pp_slot_first_live(), s[n - 1] the newest;
 * records in between may be left out (a gap shows in the running totals).
 * Returns 0, or 1 when the answer lies in a slot left out: call again with
 * every record from s[0] on. n = 0: no record. */
int pp_limiter_inspect_slots(const struct pp_slot *s, uint32_t n, const struct pp_limit *l,
                             int64_t now_ms, struct pp_window_state *out);

/* pp_limiter_decide with the global window as slots (see above). Identical
 * decisions. Returns 0, or 1: call again with every slot record. */
int pp_limiter_decide_slots(const struct pp_window *key, const struct pp_slot *g, uint32_t ng,
                            const struct pp_policy *p, int64_t now_ms, struct pp_decision *out);

/* pp_limiter_admit with the global window as slots, no slot holding a time
 * after now_ms (the caller clamps those first) and g[ng - 1] the writable
 * record of pp_slot_of(now_ms) (empty, with before = the running total, if
 * there was none; w.cap >= PP_SLOT_MS + 1). On admit both are recorded and
 * out describes them after. Returns 0, -1 if a cap is too small (nothing
 * recorded), 1: call again with every slot record. */
int pp_limiter_admit_slots(struct pp_window *key, struct pp_slot *g, uint32_t ng,
                           const struct pp_policy *p, int64_t now_ms, struct pp_decision *out);

/* Until every live admission of the slots has expired; 0 if none is live. */
int64_t pp_limiter_clear_slots(const struct pp_slot *s, uint32_t n, const struct pp_limit *l,
                               int64_t now_ms);

#endif
