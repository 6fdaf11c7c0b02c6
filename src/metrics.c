/* metrics.c - request counters in one small file mapped MAP_SHARED by every
 * worker (<db_path>/metrics.shm), so GET /metrics from any worker is exact. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PACKAGE_VERSION /* from autoconf's config.h, which the build -includes */
#define PACKAGE_VERSION "unknown"
#endif

/* Atomics that take a lock live in a per-process lock table, which would
 * make the counters process-local: only lock-free 64-bit atomics will do. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

#define METRICS_FILE    "metrics.shm"
#define METRICS_MAGIC   UINT64_C(0x3173636972746d70) /* "pmtrics1" little-endian */
#define METRICS_VERSION 1u

static const int status_codes[] = { 200, 400, 404, 405, 413, 415, 429, 500, 503 };
#define N_STATUS (sizeof(status_codes) / sizeof(status_codes[0]))

/* Upper bounds in microseconds, and the same bounds as Prometheus prints
 * them (strings, so no float formatting is involved). */
static const uint64_t bucket_us[] = {
	100,
	250,
	500,
	1000,
	2500,
	5000,
	10000,
	25000,
	50000,
	100000,
	250000,
	1000000,
};
static const char *const bucket_le[] = {
	"0.0001",
	"0.00025",
	"0.0005",
	"0.001",
	"0.0025",
	"0.005",
	"0.01",
	"0.025",
	"0.05",
	"0.1",
	"0.25",
	"1",
};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))
_Static_assert(sizeof(bucket_us) / sizeof(bucket_us[0]) ==
                       sizeof(bucket_le) / sizeof(bucket_le[0]),
               "one label per bucket");

/* The file's layout. The header is written once, under flock, before any
 * counter is used; a file with another magic, version or size is reset. */
struct shm {
	uint64_t magic;
	uint32_t version;
	uint32_t size;
	atomic_uint_least64_t requests[N_STATUS + 1]; /* last: any other status */
	atomic_uint_least64_t throttled[2];           /* by enum pp_limit_id */
	atomic_uint_least64_t store_errors;
	atomic_uint_least64_t duration[N_BUCKETS + 1]; /* per bucket, last: +Inf */
	atomic_uint_least64_t duration_sum_us;
	atomic_uint_least64_t throttled_dry[2]; /* dry_run = yes: would have refused */
};

static struct shm *shm;

void *
pp_metrics_map(const char *dir, const char *name, size_t size, bool (*valid)(const void *),
               void (*reset)(void *))
{
	char path[1100];
	struct stat st;
	void *s = MAP_FAILED;
	int fd, n, saved;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return NULL;
	/* Workers start together: the lock makes exactly one of them write the
	 * header; the others wait and then see it. A file of another size is
	 * emptied first, so every counter starts from zero. */
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0 ||
	    (st.st_size != (off_t)size && ftruncate(fd, 0) != 0) || ftruncate(fd, (off_t)size) != 0)
		goto out;
	/* Give the file real blocks before mapping it: a store into a page of a
	 * sparse file when the disk is full is SIGBUS, not an error. */
	if ((errno = posix_fallocate(fd, 0, (off_t)size)) != 0)
		goto out;
	s = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s != MAP_FAILED && !valid(s)) {
		/* New, or left by another build's layout: start from zero.
		 * Prometheus reads a drop in a counter as a reset, which this is. */
		memset(s, 0, size);
		reset(s);
		if (msync(s, size, MS_SYNC) != 0) {
			saved = errno;
			munmap(s, size);
			errno = saved;
			s = MAP_FAILED;
		}
	}
out:
	/* Unlock explicitly: the mapping keeps the open file alive, and with it
	 * the lock, so close() alone would block every later worker. */
	saved = errno;
	flock(fd, LOCK_UN);
	close(fd);
	errno = saved;
	return s == MAP_FAILED ? NULL : s;
}

static bool
header_valid(const void *p)
{
	const struct shm *s = p;
	return s->magic == METRICS_MAGIC && s->version == METRICS_VERSION &&
	       s->size == sizeof(struct shm);
}

static void
header_write(void *p)
{
	struct shm *s = p;
	s->version = METRICS_VERSION;
	s->size = (uint32_t)sizeof(struct shm);
	s->magic = METRICS_MAGIC;
}

int
pp_metrics_open(const char *dir)
{
	pp_metrics_close();
	shm = pp_metrics_map(dir, METRICS_FILE, sizeof(struct shm), header_valid, header_write);
	return shm ? 0 : -1;
}

void
pp_metrics_close(void)
{
	if (shm != NULL) {
		munmap(shm, sizeof(*shm));
		shm = NULL;
	}
}

static void
add(atomic_uint_least64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t
get(atomic_uint_least64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

void
pp_metrics_request(int status, double seconds)
{
	size_t i;
	uint64_t us;

	if (shm == NULL)
		return;
	for (i = 0; i < N_STATUS && status_codes[i] != status; i++)
		;
	add(&shm->requests[i], 1);

	/* Negative (a clock oddity) or NaN counts as 0; huge values saturate. */
	if (!(seconds > 0))
		us = 0;
	else if (seconds >= 1e12)
		us = UINT64_C(1000000000000000000);
	else
		us = (uint64_t)(seconds * 1e6 + 0.5);
	for (i = 0; i < N_BUCKETS && us > bucket_us[i]; i++)
		;
	add(&shm->duration[i], 1);
	add(&shm->duration_sum_us, us);
}

void
pp_metrics_throttled(enum pp_limit_id which)
{
	if (shm == NULL || (which != PP_LIMIT_KEY && which != PP_LIMIT_GLOBAL))
		return;
	add(&shm->throttled[which], 1);
}

void
pp_metrics_throttled_dry(enum pp_limit_id which)
{
	if (shm == NULL || (which != PP_LIMIT_KEY && which != PP_LIMIT_GLOBAL))
		return;
	add(&shm->throttled_dry[which], 1);
}

void
pp_metrics_store_error(void)
{
	if (shm != NULL)
		add(&shm->store_errors, 1);
}

/* Appends to a bounded buffer; after the first overflow every call fails. */
struct out {
	char *buf;
	size_t cap, len;
	int overflow;
};

__attribute__((format(printf, 2, 3))) static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->overflow = 1;
	else
		o->len += (size_t)n;
}

static void
render_counters(struct out *o)
{
	uint64_t cum, sum;
	size_t i;

	put(o, "# HELP pingpong_requests_total Requests answered, by HTTP status code.\n"
	       "# TYPE pingpong_requests_total counter\n");
	for (i = 0; i < N_STATUS; i++)
		put(o, "pingpong_requests_total{code=\"%d\"} %" PRIu64 "\n", status_codes[i],
		    get(&shm->requests[i]));
	put(o, "pingpong_requests_total{code=\"other\"} %" PRIu64 "\n",
	    get(&shm->requests[N_STATUS]));

	put(o, "# HELP pingpong_throttled_total Requests refused with 429, by the limit that refused.\n"
	       "# TYPE pingpong_throttled_total counter\n"
	       "pingpong_throttled_total{limit=\"per-key\"} %" PRIu64 "\n"
	       "pingpong_throttled_total{limit=\"global\"} %" PRIu64 "\n",
	    get(&shm->throttled[PP_LIMIT_KEY]), get(&shm->throttled[PP_LIMIT_GLOBAL]));
	/* Same family: dry_run="true" counts what dry_run = yes answered 200
	 * but would have refused; the series without the label stay as they
	 * were, so existing queries keep meaning "refused". */
	put(o, "pingpong_throttled_total{limit=\"per-key\",dry_run=\"true\"} %" PRIu64 "\n"
	       "pingpong_throttled_total{limit=\"global\",dry_run=\"true\"} %" PRIu64 "\n",
	    get(&shm->throttled_dry[PP_LIMIT_KEY]), get(&shm->throttled_dry[PP_LIMIT_GLOBAL]));

	put(o, "# HELP pingpong_store_errors_total Rate-limit store operations that failed.\n"
	       "# TYPE pingpong_store_errors_total counter\n"
	       "pingpong_store_errors_total %" PRIu64 "\n",
	    get(&shm->store_errors));

	/* _count is the +Inf bucket by construction, so the two always agree. */
	put(o, "# HELP pingpong_request_duration_seconds Time from request start to answer, in the worker.\n"
	       "# TYPE pingpong_request_duration_seconds histogram\n");
	cum = 0;
	for (i = 0; i < N_BUCKETS; i++) {
		cum += get(&shm->duration[i]);
		put(o, "pingpong_request_duration_seconds_bucket{le=\"%s\"} %" PRIu64 "\n",
		    bucket_le[i], cum);
	}
	cum += get(&shm->duration[N_BUCKETS]);
	sum = get(&shm->duration_sum_us);
	put(o, "pingpong_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
	       "pingpong_request_duration_seconds_sum %" PRIu64 ".%06" PRIu64 "\n"
	       "pingpong_request_duration_seconds_count %" PRIu64 "\n",
	    cum, sum / 1000000, sum % 1000000, cum);
}

static pp_metrics_render_fn extra_render;

void
pp_metrics_add_render(pp_metrics_render_fn fn)
{
	extra_render = fn;
}

size_t
pp_metrics_render(char *buf, size_t cap)
{
	struct out o = { buf, cap, 0, 0 };

	if (buf == NULL || cap == 0)
		return 0;
	buf[0] = '\0';
	if (shm != NULL)
		render_counters(&o);
	else
		put(&o, "# pingpong: the shared counter file could not be opened; see the worker log.\n");
	put(&o, "# HELP pingpong_build_info The version of pingpong-fcgi serving this scrape.\n"
	        "# TYPE pingpong_build_info gauge\n"
	        "pingpong_build_info{version=\"%s\"} 1\n",
	    PACKAGE_VERSION);
	/* Series of their own files (the shared store's), when registered. */
	if (!o.overflow && extra_render) {
		size_t n = extra_render(buf + o.len, cap - o.len);
		if (n == (size_t)-1)
			o.overflow = 1;
		else
			o.len += n;
	}
	return o.overflow ? 0 : o.len;
}
