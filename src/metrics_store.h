/* metrics_store.h - the shared store's series for GET /metrics: calls by
 * outcome, their latency, refusal-cache hits and whether the store is up.
 * Kept in a file of their own (<db_path>/store-metrics.shm) beside metrics.c's. */
#ifndef PP_METRICS_STORE_H
#define PP_METRICS_STORE_H

#include <stdbool.h>
#include <stddef.h>

enum pp_metrics_store_outcome {
	PP_METRICS_STORE_OK = 0,      /* Redis decided */
	PP_METRICS_STORE_ERROR,       /* Redis answered an error or a wrong shape */
	PP_METRICS_STORE_UNAVAILABLE, /* connect, I/O or timeout failure */
	PP_METRICS_STORE_HELD,        /* not tried: the retry hold-off */
	PP_METRICS_STORE_N
};

/* Maps (creating if needed) the file in dir. Returns 0, or -1 with errno
 * set; without it the other calls do nothing and nothing is rendered. */
int pp_metrics_store_open(const char *dir);
void pp_metrics_store_close(void);

void pp_metrics_store_call(enum pp_metrics_store_outcome o, double seconds);
void pp_metrics_rcache_hit(void);
void pp_metrics_store_up(bool up);

/* Appends the series to buf (cap bytes). Returns the length written, or
 * (size_t)-1 if cap was too small; 0 when the file is not open. */
size_t pp_metrics_store_render(char *buf, size_t cap);

#endif
