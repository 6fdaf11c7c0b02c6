/* metrics.h - request counters shared by every worker process on the host,
 * rendered as Prometheus text format 0.0.4 for GET /metrics. */
#ifndef PP_METRICS_H
#define PP_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "limiter.h"

/* Maps (creating if needed) the shared counter file in dir, so totals are
 * exact across workers and survive worker restarts. Returns 0, or -1 with
 * errno set; without it the other calls do nothing and render says so. */
int pp_metrics_open(const char *dir);
void pp_metrics_close(void);

/* Maps dir/name (size bytes, created if needed) MAP_SHARED with real
 * blocks behind it, for counters every worker shares. Under the file's
 * flock, a mapping valid() refuses is zeroed and given its header by
 * reset(), so exactly one of the workers starting together writes it.
 * Returns the mapping (munmap it with size), or NULL with errno set. */
void *pp_metrics_map(const char *dir, const char *name, size_t size, bool (*valid)(const void *),
                     void (*reset)(void *));

/* One answered request: its HTTP status and how long it took. */
void pp_metrics_request(int status, double seconds);
/* One refusal, by the limit that refused. */
void pp_metrics_throttled(enum pp_limit_id which);
/* One refusal that dry_run = yes answered with 200 instead. */
void pp_metrics_throttled_dry(enum pp_limit_id which);
/* One store error (whatever the fail_open policy did with it). */
void pp_metrics_store_error(void);

/* Writes the exposition into buf (cap bytes). Returns its length, or 0 if
 * cap was too small (buf then holds nothing useful). */
size_t pp_metrics_render(char *buf, size_t cap);

/* A renderer of more series (metrics_store.c's), appended to every scrape:
 * writes into buf (cap bytes) and returns the length, or (size_t)-1 if cap
 * was too small. One at a time; NULL removes it. */
typedef size_t (*pp_metrics_render_fn)(char *buf, size_t cap);
void pp_metrics_add_render(pp_metrics_render_fn fn);

#endif
