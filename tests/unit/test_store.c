/* test_store.c - the LMDB store across processes: 8 forked workers hammer one
 * key and the combined log must show exact sliding windows; state survives a
 * reopen; the secret key never reaches the database file in clear. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "tmpdir.h"

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

static void
setup(void)
{
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

static void
make_config(struct pp_config *cfg)
{
	pp_config_defaults(cfg);
	snprintf(cfg->db_path, sizeof(cfg->db_path), "%s", dbdir);
	cfg->db_map_size = 16ULL << 20;
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
	struct pp_policy p = {
		.per_key = { .limit = LIMIT, .window_ms = WINDOW_MS },
		.global = { .limit = 1000000, .window_ms = WINDOW_MS },
	};
	pid_t pids[WORKERS];
	struct rec *all = NULL;
	size_t nall = 0, nadmit = 0, i;
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
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d;
	struct pp_policy p = {
		.per_key = { .limit = 3, .window_ms = 10000 },
		.global = { .limit = 100, .window_ms = 1000 },
	};
	const int64_t T = 1700000000000LL;

	make_config(&cfg);
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	ls.clock = fake_clock;
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(hit_at(&ls, "reopen-key", 10, &p, T + i, &d), PP_STORE_OK);
		ck_assert_msg(d.admit, "hit %d refused", i);
	}
	pp_store_close(&ls);

	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	ls.clock = fake_clock;
	ck_assert_int_eq(hit_at(&ls, "reopen-key", 10, &p, T + 10, &d), PP_STORE_OK);
	ck_assert_msg(!d.admit, "the reopened store forgot the key's window");
	ck_assert_int_eq(d.refused_by, PP_LIMIT_KEY);
	ck_assert_int_eq(d.retry_ms, 10000 - 10);
	/* Another key is its own window. */
	ck_assert_int_eq(hit_at(&ls, "other-key", 9, &p, T + 10, &d), PP_STORE_OK);
	ck_assert(d.admit);
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

START_TEST(test_key_never_in_clear)
{
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
	char path[700];
	size_t len;

	make_config(&cfg);
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	ls.clock = fake_clock;
	for (int i = 0; i < 4; i++) /* admitted and refused */
		ck_assert_int_eq(hit_at(&ls, key, sizeof(key) - 1, &p, T + i, &d), PP_STORE_OK);
	pp_store_keyid(ls.secret, key, sizeof(key) - 1, &id);
	pp_store_close(&ls);

	snprintf(path, sizeof(path), "%s/data.mdb", dbdir);
	char *data = slurp(path, &len);
	ck_assert_msg(memmem(data, len, key, sizeof(key) - 1) == NULL, "the key is in data.mdb in clear");
	/* Proof the search can find something: the keyed hash is there. */
	ck_assert_msg(memmem(data, len, id.b, sizeof(id.b)) != NULL, "the key's hash is not in data.mdb");
	free(data);
	snprintf(path, sizeof(path), "%s/lock.mdb", dbdir);
	data = slurp(path, &len);
	ck_assert_msg(memmem(data, len, key, sizeof(key) - 1) == NULL, "the key is in lock.mdb in clear");
	free(data);
}
END_TEST

/* Same key, same installation: same id; another installation (fresh
 * environment, new secret): another id. */
START_TEST(test_secret_per_installation)
{
	struct pp_config cfg;
	struct pp_store ls;
	unsigned char s1[32], s2[32];

	make_config(&cfg);
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	ls.clock = fake_clock;
	memcpy(s1, ls.secret, 32);
	pp_store_close(&ls);
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	ck_assert(memcmp(s1, ls.secret, 32) == 0);
	pp_store_close(&ls);
	pp_test_rmtree(dbdir);
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	memcpy(s2, ls.secret, 32);
	pp_store_close(&ls);
	ck_assert_msg(memcmp(s1, s2, 32) != 0, "two installations share a hashing secret");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("lmdb");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hammer_one_key);
	tcase_add_test(tc, test_reopen_keeps_state);
	tcase_add_test(tc, test_key_never_in_clear);
	tcase_add_test(tc, test_secret_per_installation);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
