/* test_store.c - the store's properties, run against every backend in
 * pp_store_backends (a backend that needs a server runs only when
 * PP_TEST_REDIS_URL names one): 8 forked workers hammer one key and the
 * combined log must show exact sliding windows; state survives a reopen;
 * neither the secret key nor the hashing secret reaches the store in clear.
 * Then on_store_error (reject, admit, local) against a fake failing backend.
 *
 * A property test takes the backend's index as _i (tcase_add_loop_test over
 * the table) and starts with USE_BACKEND(); make_config and open_store then
 * configure that backend. A plain tcase_add_test runs on LMDB. */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handler.h"
#include "request.h"
#include "store.h"
#include "tmpdir.h"

#ifdef HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

#define WORKERS   8
#define RUN_MS    3000   /* each worker hammers for this long ... */
#define MAX_HITS  100000 /* ... or this many hits, whichever ends first */
#define PAUSE_US  250    /* at most, between hits: refusals are nearly free, and
                            without a pause MAX_HITS would end the run early */
#define LIMIT     5
#define WINDOW_MS 1000

struct rec {
	int64_t t;       /* the store's decision time (d.now_ms) */
	int64_t t_after; /* the clock after pp_store_hit returned */
	int32_t admit;
	int32_t rc;
};

static char tmpdir[256];
static char dbdir[512];
static const struct pp_store_ops *be;

static void
setup(void)
{
	/* LMDB unless a loop test picks a row; under CK_FORK=no (valgrind.sh)
	 * a skipped Redis row would otherwise stay picked for the next test. */
	be = &pp_store_lmdb;
	pp_test_mkdtemp("store", tmpdir, sizeof(tmpdir));
	snprintf(dbdir, sizeof(dbdir), "%s/db", tmpdir);
}

static void
teardown(void)
{
	pp_test_rmtree(tmpdir);
}

/* A fake clock for the single-process tests. */
static int64_t fake_ms;
static int64_t
fake_clock(void)
{
	return fake_ms;
}

/* pp_store_hit at a chosen time. */
static int
hit_at(struct pp_store *ls, const char *key, size_t len, const struct pp_policy *p,
       int64_t t, struct pp_decision *d)
{
	fake_ms = t;
	return pp_store_hit(ls, key, len, p, d);
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The backend under test; plain tests run on LMDB. */
static char redis_prefix[64]; /* one per test process: tests share no keys */
static char secret_path[600]; /* key_secret_file for backends that need one */

static size_t
n_backends(void)
{
	size_t n = 0;
	while (pp_store_backends[n])
		n++;
	return n;
}

/* Picks row i; false (and a note) if it needs a server none names. */
static bool
use_backend(int i)
{
	be = pp_store_backends[i];
	if ((be->supports & PP_STORE_SERVER) && !getenv("PP_TEST_REDIS_URL")) {
		fprintf(stderr, "# %s: skipped, set PP_TEST_REDIS_URL to a running server\n", be->name);
		return false;
	}
	return true;
}
#define USE_BACKEND()                 \
	do {                          \
		if (!use_backend(_i)) \
			return;       \
	} while (0)

/* Writes len bytes from seed to path, mode 0600. */
static void
write_secret_file(const char *path, unsigned seed, size_t len)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < len; i++)
		fputc((int)((seed * 2654435761u + i * 40503u) >> 7) & 0xff, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

static void
make_config(struct pp_config *cfg)
{
	char err[512];
	pp_config_defaults(cfg);
	snprintf(cfg->db_path, sizeof(cfg->db_path), "%s", dbdir);
	cfg->db_map_size = 16ULL << 20;
	snprintf(cfg->store, sizeof(cfg->store), "%s", be->name);
	if (be->supports & PP_STORE_SHARED) {
		if (!secret_path[0]) {
			snprintf(secret_path, sizeof(secret_path), "%s/key-secret", tmpdir);
			write_secret_file(secret_path, 1, 32);
		}
		snprintf(cfg->key_secret_file, sizeof(cfg->key_secret_file), "%s", secret_path);
	}
	if (be->supports & PP_STORE_SERVER) {
		ck_assert_msg(pp_config_set(cfg, "redis_url", getenv("PP_TEST_REDIS_URL"), err, sizeof(err)) == 0,
		              "PP_TEST_REDIS_URL: %s", err);
		if (!redis_prefix[0])
			snprintf(redis_prefix, sizeof(redis_prefix), "pptest-%ld-%lld", (long)getpid(),
			         (long long)time(NULL));
		snprintf(cfg->redis_prefix, sizeof(cfg->redis_prefix), "%s", redis_prefix);
	}
}

/* Opens the backend under test; with a fake clock when it takes one. */
static void
open_store(struct pp_store *st, const struct pp_config *cfg)
{
	char err[1400];
	ck_assert_msg(pp_store_check(cfg, err, sizeof(err)) == 0, "%s: %s", be->name, err);
	ck_assert_int_eq(pp_store_open(st, cfg), PP_STORE_OK);
	ck_assert_ptr_eq(st->ops, be);
	if (!(be->supports & PP_STORE_OWN_CLOCK))
		st->clock = fake_clock;
}

/* A backend on its own clock is driven by real time: T is now, and the
 * fake times the tests pick are only offsets they wait for. */
static bool
fake_time(void)
{
	return !(be->supports & PP_STORE_OWN_CLOCK);
}

/* One forked worker: opens the store itself (after fork, as SPEC says),
 * hammers, then writes its records to tmpdir/log.N. Never returns. */
static void
worker(int n, const struct pp_policy *p, int64_t start)
{
	struct pp_config cfg;
	struct pp_store ls;
	struct rec *recs = calloc(MAX_HITS, sizeof(*recs));
	size_t nrec = 0;
	unsigned seed = (unsigned)n * 7919u + 1;
	char path[600];
	int fd;

	if (!recs)
		_exit(3);
	make_config(&cfg);
	if (pp_store_open(&ls, &cfg) != PP_STORE_OK)
		_exit(4);
	while (nrec < MAX_HITS) {
		struct pp_decision d;
		if (now_ms() - start >= RUN_MS)
			break;
		int rc = pp_store_hit(&ls, "hammered-key", 12, p, &d);
		recs[nrec].t = d.now_ms;
		recs[nrec].t_after = now_ms();
		recs[nrec].admit = rc == PP_STORE_OK && d.admit;
		recs[nrec].rc = rc;
		nrec++;
		usleep((useconds_t)(rand_r(&seed) % PAUSE_US));
	}
	pp_store_close(&ls);
	snprintf(path, sizeof(path), "%s/log.%d", tmpdir, n);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, recs, nrec * sizeof(*recs)) != (ssize_t)(nrec * sizeof(*recs)))
		_exit(5);
	close(fd);
	free(recs);
	_exit(0);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Index of the first element > v in sorted a[0..n). */
static size_t
upper_bound(const int64_t *a, size_t n, int64_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a[mid] <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

START_TEST(test_hammer_one_key)
{
	USE_BACKEND();
	struct pp_policy p = {
		.per_key = { .limit = LIMIT, .window_ms = WINDOW_MS },
		.global = { .limit = 1000000, .window_ms = WINDOW_MS },
	};
	pid_t pids[WORKERS];
	struct rec *all = NULL;
	size_t nall = 0, nadmit = 0, i;
	struct pp_config cfg;

	make_config(&cfg); /* before the fork: the workers share its files and prefix */
	int64_t start = now_ms();

	for (int n = 0; n < WORKERS; n++) {
		pids[n] = fork();
		ck_assert_int_ge(pids[n], 0);
		if (pids[n] == 0)
			worker(n, &p, start);
	}
	for (int n = 0; n < WORKERS; n++) {
		int st;
		ck_assert_int_eq(waitpid(pids[n], &st, 0), pids[n]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker %d failed (status %d)", n, st);
	}

	/* Combine the logs. */
	for (int n = 0; n < WORKERS; n++) {
		char path[600];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/log.%d", tmpdir, n);
		int fd = open(path, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(fstat(fd, &sb), 0);
		size_t cnt = (size_t)sb.st_size / sizeof(struct rec);
		all = realloc(all, (nall + cnt) * sizeof(*all) + 1);
		ck_assert_ptr_nonnull(all);
		ck_assert_int_eq(read(fd, all + nall, cnt * sizeof(*all)), (ssize_t)(cnt * sizeof(*all)));
		close(fd);
		nall += cnt;
	}
	int64_t *adm = malloc((nall + 1) * sizeof(*adm));
	ck_assert_ptr_nonnull(adm);
	for (i = 0; i < nall; i++) {
		ck_assert_msg(all[i].rc == PP_STORE_OK, "hit failed: %s", pp_store_strerror(all[i].rc));
		if (all[i].admit)
			adm[nadmit++] = all[i].t;
	}
	qsort(adm, nadmit, sizeof(*adm), cmp_i64);
	int64_t first = INT64_MAX, last = 0;
	for (i = 0; i < nall; i++) {
		first = all[i].t < first ? all[i].t : first;
		last = all[i].t > last ? all[i].t : last;
	}
	fprintf(stderr, "# %zu hits by %d processes over %lld ms, %zu admitted\n", nall, WORKERS,
	        (long long)(last - first), nadmit);
	ck_assert_msg(last - first >= RUN_MS / 2, "the run lasted only %lld ms", (long long)(last - first));
	ck_assert_msg(nall > nadmit, "nothing was refused: the test did not hammer");
	ck_assert_msg(nadmit >= 2 * LIMIT, "only %zu admissions in %d ms", nadmit, RUN_MS);

	/* 1. No window (t - W, t] holds more than LIMIT admissions. The fullest
	 * windows end at an admission, so checking those suffices. */
	size_t lo = 0;
	for (i = 0; i < nadmit; i++) {
		size_t hi = i;
		while (hi + 1 < nadmit && adm[hi + 1] == adm[i])
			hi++;
		while (adm[lo] <= adm[i] - WINDOW_MS)
			lo++;
		ck_assert_msg(hi - lo + 1 <= LIMIT, "%zu admissions in (%lld, %lld], limit %d",
		              hi - lo + 1, (long long)(adm[i] - WINDOW_MS), (long long)adm[i], LIMIT);
	}

	/* 2. No refusal while its window had room. The store reads its clock
	 * once it holds the write lock (or its snapshot), so every admission
	 * committed before a refusal at t carries a time <= t: the LIMIT
	 * admissions that justify it lie in (t - W, t]. */
	for (i = 0; i < nall; i++) {
		if (all[i].admit)
			continue;
		ck_assert_msg(all[i].t <= all[i].t_after, "decision time %lld after the hit returned (%lld)",
		              (long long)all[i].t, (long long)all[i].t_after);
		size_t live = upper_bound(adm, nadmit, all[i].t) -
		              upper_bound(adm, nadmit, all[i].t - WINDOW_MS);
		ck_assert_msg(live >= LIMIT,
		              "refused at %lld with only %zu admissions in (%lld, %lld]",
		              (long long)all[i].t, live, (long long)(all[i].t - WINDOW_MS),
		              (long long)all[i].t);
	}
	free(adm);
	free(all);
}
END_TEST

START_TEST(test_reopen_keeps_state)
{
	USE_BACKEND();
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d;
	struct pp_policy p = {
		.per_key = { .limit = 3, .window_ms = 10000 },
		.global = { .limit = 100, .window_ms = 1000 },
	};
	const int64_t T = fake_time() ? 1700000000000LL : 0;

	make_config(&cfg);
	open_store(&ls, &cfg);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(hit_at(&ls, "reopen-key", 10, &p, T + i, &d), PP_STORE_OK);
		ck_assert_msg(d.admit, "hit %d refused", i);
	}
	int64_t first = d.now_ms;
	pp_store_close(&ls);

	open_store(&ls, &cfg);
	ck_assert_int_eq(hit_at(&ls, "reopen-key", 10, &p, T + 10, &d), PP_STORE_OK);
	ck_assert_msg(!d.admit, "the reopened store forgot the key's window");
	ck_assert_int_eq(d.refused_by, PP_LIMIT_KEY);
	/* Another key is its own window. */
	ck_assert_int_eq(hit_at(&ls, "other-key", 9, &p, T + 10, &d), PP_STORE_OK);
	ck_assert(d.admit);
	if (!fake_time()) {
		/* Real time: the refusal waits for the first admission to age. */
		ck_assert_int_eq(hit_at(&ls, "reopen-key", 10, &p, 0, &d), PP_STORE_OK);
		ck_assert(!d.admit);
		ck_assert_msg(d.retry_ms > 0 && d.retry_ms <= 10000 - (d.now_ms - first) + 2,
		              "retry_ms %lld, %lld ms after the first admission", (long long)d.retry_ms,
		              (long long)(d.now_ms - first));
		pp_store_close(&ls);
		return;
	}
	ck_assert_int_eq(hit_at(&ls, "reopen-key", 10, &p, T + 10, &d), PP_STORE_OK);
	ck_assert_int_eq(d.retry_ms, 10000 - 10);
	/* The refusal recorded nothing: the first admission frees at T + 10000. */
	ck_assert_int_eq(hit_at(&ls, "reopen-key", 10, &p, T + 9999, &d), PP_STORE_OK);
	ck_assert(!d.admit);
	ck_assert_int_eq(hit_at(&ls, "reopen-key", 10, &p, T + 10000, &d), PP_STORE_OK);
	ck_assert(d.admit);
	pp_store_close(&ls);
}
END_TEST

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	buf = malloc((size_t)n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#ifdef HAVE_HIREDIS
/* Every key under the test's prefix, DUMPed (and the names themselves). */
static char *
redis_bytes(size_t *len)
{
	struct pp_config cfg;
	const char *pw = getenv("PINGPONG_REDIS_PASSWORD");
	make_config(&cfg);
	struct timeval tv = { 2, 0 };
	redisContext *c = cfg.redis.unix_path[0] ? redisConnectUnixWithTimeout(cfg.redis.unix_path, tv) : redisConnectWithTimeout(cfg.redis.seed[0].host, (int)cfg.redis.seed[0].port, tv);
	ck_assert_msg(c && !c->err, "connect to PP_TEST_REDIS_URL: %s", c ? c->errstr : "no memory");
	if (pw && cfg.redis.user[0])
		freeReplyObject(redisCommand(c, "AUTH %s %s", cfg.redis.user, pw));
	else if (pw)
		freeReplyObject(redisCommand(c, "AUTH %s", pw));
	freeReplyObject(redisCommand(c, "SELECT %u", cfg.redis.db));
	char *buf = NULL, cursor[32] = "0", pattern[100];
	size_t n = 0;
	snprintf(pattern, sizeof(pattern), "%s*", cfg.redis_prefix);
	do {
		redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
		ck_assert_msg(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "SCAN failed");
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *k = r->element[1]->element[i];
			redisReply *d = redisCommand(c, "DUMP %b", k->str, (size_t)k->len);
			ck_assert_ptr_nonnull(d);
			size_t dl = d->type == REDIS_REPLY_STRING ? (size_t)d->len : 0;
			buf = realloc(buf, n + (size_t)k->len + dl + 1);
			ck_assert_ptr_nonnull(buf);
			memcpy(buf + n, k->str, (size_t)k->len);
			memcpy(buf + n + k->len, d->str, dl);
			n += (size_t)k->len + dl;
			freeReplyObject(d);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	redisFree(c);
	ck_assert_msg(n > 0, "no key under the prefix %s", pattern);
	*len = n;
	return buf;
}
#endif

/* Everything the store holds, as bytes: the files of an LMDB environment,
 * or every key a server backend made for this test. */
static char *
store_bytes(size_t *len)
{
	char path[700];
	size_t a, b;
	if (be->supports & PP_STORE_SERVER) {
#ifdef HAVE_HIREDIS
		return redis_bytes(len);
#else
		ck_abort_msg("%s: no way to read a server's keys in this build", be->name);
#endif
	}
	snprintf(path, sizeof(path), "%s/data.mdb", dbdir);
	char *data = slurp(path, &a);
	snprintf(path, sizeof(path), "%s/lock.mdb", dbdir);
	char *lock = slurp(path, &b);
	data = realloc(data, a + b);
	ck_assert_ptr_nonnull(data);
	memcpy(data + a, lock, b);
	free(lock);
	*len = a + b;
	return data;
}

START_TEST(test_key_never_in_clear)
{
	USE_BACKEND();
	static const char key[] = "CANARY-pingpong-secret-7f3a9c";
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d;
	struct pp_keyid id;
	struct pp_policy p = {
		.per_key = { .limit = 2, .window_ms = 60000 },
		.global = { .limit = 100, .window_ms = 1000 },
	};
	const int64_t T = 1700000000000LL;
	size_t len;

	make_config(&cfg);
	open_store(&ls, &cfg);
	for (int i = 0; i < 4; i++) /* admitted and refused */
		ck_assert_int_eq(hit_at(&ls, key, sizeof(key) - 1, &p, T + i, &d), PP_STORE_OK);
	pp_store_keyid(ls.secret, key, sizeof(key) - 1, &id);
	pp_store_close(&ls);

	char *data = store_bytes(&len);
	ck_assert_msg(memmem(data, len, key, sizeof(key) - 1) == NULL, "%s: the key is in the store in clear",
	              be->name);
	/* Proof the search can find something: the keyed hash is there (as
	 * bytes, or as hex for a backend that keeps text keys). */
	char hex[2 * PP_KEYID_LEN + 1];
	for (size_t i = 0; i < PP_KEYID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", id.b[i]);
	ck_assert_msg(memmem(data, len, id.b, sizeof(id.b)) != NULL || memmem(data, len, hex, 2 * PP_KEYID_LEN),
	              "%s: the key's hash is not in the store", be->name);
	free(data);
}
END_TEST

/* Same key, same installation: same id; another installation (fresh
 * environment, new secret): another id. Only for a backend that keeps its
 * own secret (one that takes key_secret_file has none to keep). */
START_TEST(test_secret_per_installation)
{
	USE_BACKEND();
	struct pp_config cfg;
	struct pp_store ls;
	unsigned char s1[32], s2[32];

	if (be->supports & PP_STORE_SHARED)
		return;
	make_config(&cfg);
	open_store(&ls, &cfg);
	memcpy(s1, ls.secret, 32);
	pp_store_close(&ls);
	open_store(&ls, &cfg);
	ck_assert(memcmp(s1, ls.secret, 32) == 0);
	pp_store_close(&ls);
	pp_test_rmtree(dbdir);
	open_store(&ls, &cfg);
	memcpy(s2, ls.secret, 32);
	pp_store_close(&ls);
	ck_assert_msg(memcmp(s1, s2, 32) != 0, "two installations share a hashing secret");
}
END_TEST

/* With key_secret_file the secret is the file's: never in the store, the
 * same on every open (state kept), and another file gives other ids (the
 * store sees a fresh window for the same key). */
START_TEST(test_key_secret_file)
{
	USE_BACKEND();
	static const char key[] = "secret-file-key";
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d;
	struct pp_keyid id1, id2;
	struct pp_policy p = {
		.per_key = { .limit = 1, .window_ms = 60000 },
		.global = { .limit = 100, .window_ms = 1000 },
	};
	const int64_t T = fake_time() ? 1700000000000LL : 0;
	unsigned char s1[32], fbytes[32];
	char other[600];
	size_t len;

	make_config(&cfg);
	snprintf(cfg.key_secret_file, sizeof(cfg.key_secret_file), "%s/secret-a", tmpdir);
	write_secret_file(cfg.key_secret_file, 7, 48);
	FILE *f = fopen(cfg.key_secret_file, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(fbytes, 1, sizeof(fbytes), f), sizeof(fbytes));
	fclose(f);

	open_store(&ls, &cfg);
	memcpy(s1, ls.secret, 32);
	ck_assert_int_eq(hit_at(&ls, key, sizeof(key) - 1, &p, T, &d), PP_STORE_OK);
	ck_assert(d.admit);
	pp_store_keyid(ls.secret, key, sizeof(key) - 1, &id1);
	pp_store_close(&ls);
	ck_assert_msg(memcmp(s1, (unsigned char[32]){ 0 }, 32) != 0, "no secret was loaded");

	char *data = store_bytes(&len);
	ck_assert_msg(memmem(data, len, s1, 32) == NULL, "%s: the hashing secret is in the store", be->name);
	ck_assert_msg(memmem(data, len, fbytes, sizeof(fbytes)) == NULL, "%s: key_secret_file's bytes are in the store",
	              be->name);
	ck_assert_msg(memmem(data, len, "secret", 6) == NULL, "%s: the store keeps a 'secret' record", be->name);
	free(data);

	open_store(&ls, &cfg); /* same file: same secret, the window is still full */
	ck_assert(memcmp(s1, ls.secret, 32) == 0);
	ck_assert_int_eq(hit_at(&ls, key, sizeof(key) - 1, &p, T + 1, &d), PP_STORE_OK);
	ck_assert_msg(!d.admit, "same secret, yet the key's window was forgotten");
	pp_store_close(&ls);

	snprintf(other, sizeof(other), "%s/secret-b", tmpdir);
	write_secret_file(other, 8, 48);
	snprintf(cfg.key_secret_file, sizeof(cfg.key_secret_file), "%s", other);
	open_store(&ls, &cfg);
	ck_assert(memcmp(s1, ls.secret, 32) != 0);
	pp_store_keyid(ls.secret, key, sizeof(key) - 1, &id2);
	ck_assert(memcmp(id1.b, id2.b, PP_KEYID_LEN) != 0);
	ck_assert_int_eq(hit_at(&ls, key, sizeof(key) - 1, &p, T + 2, &d), PP_STORE_OK);
	ck_assert_msg(d.admit, "another secret, yet the same id: the key is still refused");
	pp_store_close(&ls);
}
END_TEST

/* ---- on_store_error against a fake shared backend ------------------------
 * It answers fake_rc; when that is OK it admits everything (so a refusal
 * can only come from the local LMDB windows). */
static int fake_rc;
static unsigned long fake_hits;

static int
fake_open(void **out, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN])
{
	static int state;
	*out = &state;
	return PP_STORE_OK;
}

static int
fake_hit(void *s, const struct pp_keyid *id, const struct pp_policy *p, pp_clock_fn clock,
         struct pp_decision *out)
{
	fake_hits++;
	if (fake_rc)
		return fake_rc;
	memset(out, 0, sizeof(*out));
	out->now_ms = clock();
	out->admit = true;
	out->refused_by = PP_LIMIT_NONE;
	return PP_STORE_OK;
}

static int
fake_probe(void *s)
{
	return fake_rc;
}

static void
fake_close(void *s)
{
}

static const struct pp_store_ops fake_shared = {
	.name = "fake",
	.supports = PP_STORE_SHARED,
	.open = fake_open,
	.hit = fake_hit,
	.probe = fake_probe,
	.close = fake_close,
};

static struct pp_config ecfg;
static struct pp_store est;
static struct pp_server esrv;
static struct pp_request *erq;

static void
error_setup(enum pp_on_error mode)
{
	make_config(&ecfg);
	ecfg.on_store_error = mode;
	ecfg.policy.per_key.limit = 2;
	ecfg.policy.global.limit = 100;
	snprintf(secret_path, sizeof(secret_path), "%s/key-secret", tmpdir);
	write_secret_file(secret_path, 3, 32);
	snprintf(ecfg.key_secret_file, sizeof(ecfg.key_secret_file), "%s", secret_path);
	fake_rc = PP_STORE_OK;
	fake_hits = 0;
	ck_assert_int_eq(pp_store_open_backend(&est, &fake_shared, &ecfg), PP_STORE_OK);
	est.clock = fake_clock;
	fake_ms = 1700000000000LL;
	esrv = (struct pp_server){ .cfg = &ecfg, .store = &est };
	erq = malloc(sizeof(*erq));
	ck_assert_ptr_nonnull(erq);
}

/* One POST /ping with key; returns the status. */
static int
ping(const char *key)
{
	static const char body[] = "{\"request\":\"ping\"}";
	pp_request_reset(erq);
	erq->http.method = "POST";
	pp_request_set_path(erq, "/ping");
	erq->http.content_type = "application/json";
	erq->http.key = key;
	erq->http.key_len = strlen(key);
	erq->http.body = body;
	erq->http.body_len = sizeof(body) - 1;
	pp_handle(&esrv, erq);
	fake_ms++;
	return erq->res.status;
}

static void
error_teardown(void)
{
	pp_store_close(&est);
	free(erq);
}

START_TEST(test_on_error_reject)
{
	error_setup(PP_ON_ERROR_REJECT);
	ck_assert_ptr_null(est.local_ops);
	ck_assert_int_eq(ping("k"), 200);
	fake_rc = PP_STORE_EUNAVAIL;
	ck_assert_int_eq(ping("k"), 503);
	ck_assert_ptr_nonnull(strstr(erq->res.body, "store_unavailable"));
	ck_assert_ptr_nonnull(strstr(erq->res.headers, "Retry-After: 1"));
	fake_rc = PP_STORE_EIO;
	ck_assert_int_eq(ping("k"), 503);
	ck_assert_uint_eq(fake_hits, 3);
	error_teardown();
}
END_TEST

START_TEST(test_on_error_admit)
{
	error_setup(PP_ON_ERROR_ADMIT);
	fake_rc = PP_STORE_EUNAVAIL;
	for (int i = 0; i < 5; i++) /* past the limit of 2: nothing counts */
		ck_assert_int_eq(ping("k"), 200);
	ck_assert_ptr_null(strstr(erq->res.headers, "RateLimit"));
	ck_assert_uint_eq(fake_hits, 5);
	error_teardown();
}
END_TEST

/* Counts the lines of path that contain what. */
static int
count_lines(const char *path, const char *what)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

/* local: while the primary fails, this host's LMDB windows decide (exact:
 * the limit of 2 holds); when it answers again it decides (the fake admits
 * what the local windows would refuse); one line when lost, one when back. */
START_TEST(test_on_error_local)
{
	char logpath[600];
	snprintf(logpath, sizeof(logpath), "%s/stderr", tmpdir);
	fflush(stderr);
	int saved = dup(2), fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);

	error_setup(PP_ON_ERROR_LOCAL);
	ck_assert_ptr_eq(est.local_ops, &pp_store_lmdb);
	ck_assert_int_eq(ping("k"), 200); /* the primary decides */
	fake_rc = PP_STORE_EUNAVAIL;
	ck_assert_int_eq(ping("k"), 200); /* local: 1 of 2 */
	ck_assert_int_eq(ping("k"), 200); /* local: 2 of 2 */
	ck_assert_int_eq(ping("k"), 429); /* local: full */
	ck_assert_ptr_nonnull(strstr(erq->res.headers, "Retry-After"));
	ck_assert_int_eq(ping("other"), 200); /* another key, its own window */
	fake_rc = PP_STORE_EIO;
	ck_assert_int_eq(ping("k"), 429); /* EIO too goes local */
	fake_rc = PP_STORE_OK;
	ck_assert_int_eq(ping("k"), 200); /* back: the primary decides */
	ck_assert_int_eq(ping("k"), 200);
	fake_rc = PP_STORE_EUNAVAIL;
	ck_assert_int_eq(ping("k"), 429); /* lost again: the local windows kept */
	/* Readiness does not fall with a shared store away. */
	pp_request_reset(erq);
	erq->http.method = "GET";
	pp_request_set_path(erq, "/readyz");
	pp_handle(&esrv, erq);
	ck_assert_int_eq(erq->res.status, 200);
	ck_assert_ptr_nonnull(strstr(erq->res.body, "unavailable"));
	/* Other errors are not "away": they keep the primary's answer. */
	fake_rc = PP_STORE_EFULL;
	ck_assert_int_eq(ping("k"), 503);
	error_teardown();

	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	ck_assert_int_eq(count_lines(logpath, "lost"), 2);
	ck_assert_int_eq(count_lines(logpath, "is back"), 1);
	ck_assert_int_eq(count_lines(logpath, "store"), 3);
}
END_TEST

/* A backend that fails to open leaves nothing open and the secret wiped. */
static int
failing_open(void **out, const struct pp_config *cfg, unsigned char secret[PP_SECRET_LEN])
{
	*out = NULL;
	return PP_STORE_EUNAVAIL;
}

START_TEST(test_failed_open_wipes_secret)
{
	struct pp_store_ops ops = fake_shared;
	struct pp_config cfg;

	ops.open = failing_open;
	make_config(&cfg);
	snprintf(cfg.key_secret_file, sizeof(cfg.key_secret_file), "%s/key-secret", tmpdir);
	write_secret_file(cfg.key_secret_file, 4, 32);
	memset(&est, 0x5a, sizeof(est));
	ck_assert_int_eq(pp_store_open_backend(&est, &ops, &cfg), PP_STORE_EUNAVAIL);
	ck_assert(memcmp(est.secret, (unsigned char[PP_SECRET_LEN]){ 0 }, PP_SECRET_LEN) == 0);
	ck_assert_ptr_null(est.be);
	ck_assert_ptr_null(est.local);
	pp_store_close(&est); /* a no-op now */
	/* An unreadable key_secret_file fails before the backend opens. */
	snprintf(cfg.key_secret_file, sizeof(cfg.key_secret_file), "%s/absent", tmpdir);
	ck_assert_int_eq(pp_store_open_backend(&est, &fake_shared, &cfg), PP_STORE_ESECRET);
	ck_assert(memcmp(est.secret, (unsigned char[PP_SECRET_LEN]){ 0 }, PP_SECRET_LEN) == 0);
}
END_TEST

/* The stored id is a keyed hash: an unkeyed hash of the key (what a store
 * that forgot the secret would write) is nowhere in data.mdb, and the same
 * key gives another id under another secret. Checked against libsodium
 * directly, not against pp_store_keyid, the function under test. */
START_TEST(test_keyid_is_keyed)
{
	static const char key[] = "keyed-hash-canary-3b1e";
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d;
	struct pp_policy p = {
		.per_key = { .limit = 2, .window_ms = 60000 },
		.global = { .limit = 100, .window_ms = 1000 },
	};
	unsigned char unkeyed16[16], unkeyed32[32], s2[32];
	struct pp_keyid a, b, c;
	char path[700];
	size_t len;

	ck_assert_int_ge(sodium_init(), 0);
	make_config(&cfg);
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	ls.clock = fake_clock;
	ck_assert_int_eq(hit_at(&ls, key, sizeof(key) - 1, &p, 1700000000000LL, &d), PP_STORE_OK);
	ck_assert(d.admit);

	crypto_generichash(unkeyed16, sizeof(unkeyed16), (const unsigned char *)key, sizeof(key) - 1, NULL, 0);
	crypto_generichash(unkeyed32, sizeof(unkeyed32), (const unsigned char *)key, sizeof(key) - 1, NULL, 0);
	pp_store_keyid(ls.secret, key, sizeof(key) - 1, &a);
	ck_assert_msg(memcmp(a.b, unkeyed16, sizeof(a.b)) != 0, "the key id is the unkeyed hash");
	ck_assert_msg(memcmp(a.b, unkeyed32, sizeof(a.b)) != 0, "the key id is the unkeyed hash");
	/* Another secret, same key: another id; the same secret: the same id. */
	memcpy(s2, ls.secret, sizeof(s2));
	s2[0] ^= 1;
	pp_store_keyid(s2, key, sizeof(key) - 1, &b);
	ck_assert_msg(memcmp(a.b, b.b, sizeof(a.b)) != 0, "two secrets give one id: the hash is not keyed");
	pp_store_keyid(ls.secret, key, sizeof(key) - 1, &c);
	ck_assert(memcmp(a.b, c.b, sizeof(a.b)) == 0);
	pp_store_close(&ls);

	snprintf(path, sizeof(path), "%s/data.mdb", dbdir);
	char *data = slurp(path, &len);
	ck_assert_msg(memmem(data, len, unkeyed16, sizeof(unkeyed16)) == NULL,
	              "data.mdb holds the unkeyed BLAKE2b of the key");
	ck_assert_msg(memmem(data, len, unkeyed32, 16) == NULL,
	              "data.mdb holds the unkeyed BLAKE2b of the key");
	ck_assert_msg(memmem(data, len, b.b, sizeof(b.b)) == NULL,
	              "data.mdb holds the id of another secret");
	free(data);
}
END_TEST

/* Reading the clock before taking the write lock (the bug fixed last round)
 * lets a worker decide and record at a time older than what another worker
 * committed while it waited: it then clamps that admission back to its own
 * "now" and the window frees early. Made deterministic with two processes: the
 * holder's clock, read under its write lock, waits there until the contender
 * is blocked on that lock, then advances time. The contender's clock says
 * "late" only once the holder has advanced it, so a contender that read its
 * clock before blocking decides at the old time. */
struct lockstep {
	volatile int advanced; /* set by the holder, under its lock */
	struct pp_decision cd; /* the contender's decision */
};

static struct lockstep *lockstep;
static int go_pipe[2], read_pipe[2];
static pid_t contender;
static int holder_calls;
#define LS_T0 1700000000000LL

static int64_t
contender_clock(void)
{
	static int told;
	if (!told) { /* the holder learns that the contender is under way */
		told = 1;
		if (write(read_pipe[1], "r", 1) != 1)
			_exit(6);
	}
	return lockstep->advanced ? LS_T0 + 600 : LS_T0 + 100;
}

/* Waits (bounded) until pid sleeps: blocked on the write lock, since after
 * its first clock read the contender has nothing else to wait for. */
static int
wait_blocked(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 2000; i++) { /* 10 s */
		FILE *f = fopen(path, "r");
		if (!f)
			return 0;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		const char *st = strrchr(buf, ')');
		if (st && st[1] == ' ' && st[2] == 'S')
			return 1;
		if (st && st[1] == ' ' && st[2] == 'Z')
			return 0; /* it finished: it never waited for the lock */
		usleep(5000);
	}
	return 0;
}

static int64_t
holder_clock(void)
{
	if (++holder_calls != 2)
		return fake_ms; /* the snapshot's read, and later hits */
	/* The write step: the lock is held (if the clock is read under it). */
	char c;
	ck_assert_int_eq(write(go_pipe[1], "g", 1), 1);
	ck_assert_int_eq(read(read_pipe[0], &c, 1), 1);
	ck_assert_msg(wait_blocked(contender), "the contender never blocked on the write lock: the "
	                                       "holder's clock ran before its write lock was taken");
	lockstep->advanced = 1;
	return LS_T0 + 500;
}

START_TEST(test_clock_read_under_lock)
{
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d, *cd;
	struct pp_policy p = {
		.per_key = { .limit = 1, .window_ms = 1000 },
		.global = { .limit = 1000, .window_ms = 1000 },
	};
	char c;

	lockstep = mmap(NULL, sizeof(*lockstep), PROT_READ | PROT_WRITE,
	                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(lockstep != MAP_FAILED);
	cd = &lockstep->cd;
	ck_assert_int_eq(pipe(go_pipe), 0);
	ck_assert_int_eq(pipe(read_pipe), 0);
	make_config(&cfg);

	contender = fork();
	ck_assert_int_ge(contender, 0);
	if (contender == 0) {
		struct pp_store cs;
		close(go_pipe[1]);
		close(read_pipe[0]);
		if (pp_store_open(&cs, &cfg) != PP_STORE_OK)
			_exit(4);
		/* Opened: opening may write (the first open creates the secret),
		 * and must not wait for the lock the holder will sit on. */
		if (write(read_pipe[1], "o", 1) != 1)
			_exit(6);
		cs.clock = contender_clock;
		if (read(go_pipe[0], &c, 1) != 1)
			_exit(5);
		int rc = pp_store_hit(&cs, "lockstep-key", 12, &p, cd);
		pp_store_close(&cs);
		_exit(rc == PP_STORE_OK ? 0 : 7);
	}
	/* Only the contender writes read_pipe: its death is EOF, not a hang. */
	close(go_pipe[0]);
	close(read_pipe[1]);
	ck_assert_int_eq(read(read_pipe[0], &c, 1), 1);
	ck_assert_int_eq(c, 'o');
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	ls.clock = holder_clock;
	holder_calls = 0;
	fake_ms = LS_T0;
	ck_assert_int_eq(pp_store_hit(&ls, "lockstep-key", 12, &p, &d), PP_STORE_OK);
	ck_assert_msg(d.admit, "the holder was refused");
	ck_assert_int_eq(d.now_ms, LS_T0 + 500);

	int st;
	ck_assert_int_eq(waitpid(contender, &st, 0), contender);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "contender failed (status %d)", st);
	/* The contender decided after the holder's commit, at its time or later. */
	ck_assert_msg(cd->now_ms >= LS_T0 + 500,
	              "the contender decided at T+%lld, before the admission at T+500 it waited for: "
	              "its clock was read before the write lock",
	              (long long)(cd->now_ms - LS_T0));
	ck_assert(!cd->admit);
	ck_assert_int_eq(cd->refused_by, PP_LIMIT_KEY);
	ck_assert_int_eq(cd->retry_ms, 500 + 1000 - 600);
	/* And the holder's admission still holds its window to T+1500. */
	fake_ms = LS_T0 + 1100;
	ck_assert_int_eq(pp_store_hit(&ls, "lockstep-key", 12, &p, &d), PP_STORE_OK);
	ck_assert_msg(!d.admit, "admitted at T+1100 inside the window of the admission at T+500");
	fake_ms = LS_T0 + 1500;
	ck_assert_int_eq(pp_store_hit(&ls, "lockstep-key", 12, &p, &d), PP_STORE_OK);
	ck_assert(d.admit);
	pp_store_close(&ls);
	close(go_pipe[1]);
	close(read_pipe[0]);
	munmap(lockstep, sizeof(*lockstep));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("every backend");
	TCase *te = tcase_create("on_store_error");
	SRunner *sr;
	int failed, nb = (int)n_backends();

	/* The property tests, once per row of the backend table. */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_reopen_keeps_state, 0, nb);
	tcase_add_loop_test(tc, test_key_never_in_clear, 0, nb);
	tcase_add_loop_test(tc, test_secret_per_installation, 0, nb);
	tcase_add_loop_test(tc, test_key_secret_file, 0, nb);
	/* LMDB's own: the keyed hash against libsodium, the clock under the lock. */
	tcase_add_test(tc, test_keyid_is_keyed);
	tcase_add_test(tc, test_clock_read_under_lock);
	suite_add_tcase(s, tc);
	/* Measures wall-clock time: valgrind.sh leaves it out (CK_EXCLUDE_TAGS). */
	TCase *timing = tcase_create("timing");
	tcase_add_checked_fixture(timing, setup, teardown);
	tcase_set_timeout(timing, 60);
	tcase_set_tags(timing, "timing");
	tcase_add_loop_test(timing, test_hammer_one_key, 0, nb);
	suite_add_tcase(s, timing);

	tcase_add_checked_fixture(te, setup, teardown);
	tcase_add_test(te, test_on_error_reject);
	tcase_add_test(te, test_on_error_admit);
	tcase_add_test(te, test_on_error_local);
	tcase_add_test(te, test_failed_open_wipes_secret);
	suite_add_tcase(s, te);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
