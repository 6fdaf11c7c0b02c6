/* metrics_store.c - counters of the shared store in one small file mapped
 * MAP_SHARED by every worker, like metrics.c's, so a scrape is exact. */
#include "metrics_store.h"

#include "metrics.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define STORE_METRICS_FILE  "store-metrics.shm"
#define STORE_METRICS_MAGIC UINT64_C(0x3173746d72747370) /* "pstrmts1" */

static const uint64_t bucket_us[] = { 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	                              100000, 250000, 1000000 };
static const char *const bucket_le[] = { "0.00005", "0.0001", "0.00025", "0.0005", "0.001",
	                                 "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	                                 "0.25", "1" };
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))
_Static_assert(sizeof(bucket_us) / sizeof(bucket_us[0]) ==
                       sizeof(bucket_le) / sizeof(bucket_le[0]),
               "one label per bucket");

static const char *const outcome_name[PP_METRICS_STORE_N] = {
	"ok",
	"error",
	"unavailable",
	"held_off",
};

struct store_shm {
	uint64_t magic;
	uint64_t size;
	atomic_uint_least64_t calls[PP_METRICS_STORE_N];
	atomic_uint_least64_t duration[N_BUCKETS + 1];
	atomic_uint_least64_t duration_sum_us;
	atomic_uint_least64_t rcache_hits;
	atomic_uint_least64_t up; /* 1 or 0, the last worker to learn wins */
};

static struct store_shm *sm;

static bool
header_valid(const void *p)
{
	const struct store_shm *s = p;
	return s->magic == STORE_METRICS_MAGIC && s->size == sizeof(*s);
}

static void
header_write(void *p)
{
	struct store_shm *s = p;
	s->size = sizeof(*s);
	s->magic = STORE_METRICS_MAGIC;
	atomic_store(&s->up, 1);
}

int
pp_metrics_store_open(const char *dir)
{
	pp_metrics_store_close();
	sm = pp_metrics_map(dir, STORE_METRICS_FILE, sizeof(*sm), header_valid, header_write);
	if (sm == NULL)
		return -1;
	pp_metrics_add_render(pp_metrics_store_render);
	return 0;
}

void
pp_metrics_store_close(void)
{
	if (sm) {
		munmap(sm, sizeof(*sm));
		pp_metrics_add_render(NULL);
	}
	sm = NULL;
}

void
pp_metrics_store_call(enum pp_metrics_store_outcome o, double seconds)
{
	uint64_t us;
	size_t i;

	if (sm == NULL || o >= PP_METRICS_STORE_N)
		return;
	atomic_fetch_add_explicit(&sm->calls[o], 1, memory_order_relaxed);
	atomic_store_explicit(&sm->up, o == PP_METRICS_STORE_OK || o == PP_METRICS_STORE_ERROR,
	                      memory_order_relaxed);
	us = !(seconds > 0) ? 0 : seconds >= 1e6 ? UINT64_C(1000000000000) :
	                                           (uint64_t)(seconds * 1e6 + 0.5);
	for (i = 0; i < N_BUCKETS && us > bucket_us[i]; i++)
		;
	atomic_fetch_add_explicit(&sm->duration[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sm->duration_sum_us, us, memory_order_relaxed);
}

void
pp_metrics_rcache_hit(void)
{
	if (sm)
		atomic_fetch_add_explicit(&sm->rcache_hits, 1, memory_order_relaxed);
}

void
pp_metrics_store_up(bool up)
{
	if (sm)
		atomic_store_explicit(&sm->up, up ? 1 : 0, memory_order_relaxed);
}

#define GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

size_t
pp_metrics_store_render(char *buf, size_t cap)
{
	size_t len = 0, i;
	uint64_t cum = 0, sum;
	int n;

	if (sm == NULL)
		return 0;
#define PUT(...)                                                 \
	do {                                                     \
		n = snprintf(buf + len, cap - len, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= cap - len)             \
			return (size_t)-1;                       \
		len += (size_t)n;                                \
	} while (0)
	PUT("# HELP pingpong_store_up Whether this host's last call to the shared store succeeded.\n"
	    "# TYPE pingpong_store_up gauge\npingpong_store_up %" PRIu64 "\n",
	    GET(sm->up));
	PUT("# HELP pingpong_store_calls_total Calls to the shared store, by outcome.\n"
	    "# TYPE pingpong_store_calls_total counter\n");
	for (i = 0; i < PP_METRICS_STORE_N; i++)
		PUT("pingpong_store_calls_total{outcome=\"%s\"} %" PRIu64 "\n", outcome_name[i],
		    GET(sm->calls[i]));
	PUT("# HELP pingpong_refusal_cache_hits_total Requests refused from this host's refusal cache, "
	    "without a store call.\n# TYPE pingpong_refusal_cache_hits_total counter\n"
	    "pingpong_refusal_cache_hits_total %" PRIu64 "\n",
	    GET(sm->rcache_hits));
	PUT("# HELP pingpong_store_call_duration_seconds Time of one call to the shared store, "
	    "in the worker.\n# TYPE pingpong_store_call_duration_seconds histogram\n");
	for (i = 0; i < N_BUCKETS; i++) {
		cum += GET(sm->duration[i]);
		PUT("pingpong_store_call_duration_seconds_bucket{le=\"%s\"} %" PRIu64 "\n",
		    bucket_le[i], cum);
	}
	cum += GET(sm->duration[N_BUCKETS]);
	sum = GET(sm->duration_sum_us);
	PUT("pingpong_store_call_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
	    "pingpong_store_call_duration_seconds_sum %" PRIu64 ".%06" PRIu64 "\n"
	    "pingpong_store_call_duration_seconds_count %" PRIu64 "\n",
	    cum, sum / 1000000, sum % 1000000, cum);
#undef PUT
	return len;
}
