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
#include <sodium.h>
#include <sys/mman.h>
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
hit_at(struct pp_limiter_store *ls, const char *key, size_t len, const struct pp_policy *p,
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
	struct pp_limiter_store ls;
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
	struct pp_limiter_store ls;
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
	struct pp_limiter_store ls;
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
	struct pp_limiter_store ls;
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

/* The stored id is a keyed hash: an unkeyed hash of the key (what a store
 * that forgot the secret would write) is nowhere in data.mdb, and the same
 * key gives another id under another secret. Checked against libsodium
 * directly, not against pp_store_keyid, the function under test. */
START_TEST(test_keyid_is_keyed)
{
	static const char key[] = "keyed-hash-canary-3b1e";
	struct pp_config cfg;
	struct pp_limiter_store ls;
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
	volatile int advanced;  /* set by the holder, under its lock */
	struct pp_decision cd;  /* the contender's decision */
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
	struct pp_limiter_store ls;
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
		struct pp_limiter_store cs;
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
	TCase *tc = tcase_create("lmdb");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_reopen_keeps_state);
	tcase_add_test(tc, test_key_never_in_clear);
	tcase_add_test(tc, test_secret_per_installation);
	tcase_add_test(tc, test_keyid_is_keyed);
	tcase_add_test(tc, test_clock_read_under_lock);
	suite_add_tcase(s, tc);
	/* Measures wall-clock time: valgrind.sh leaves it out (CK_EXCLUDE_TAGS). */
	TCase *timing = tcase_create("lmdb-timing");
	tcase_add_checked_fixture(timing, setup, teardown);
	tcase_set_timeout(timing, 60);
	tcase_set_tags(timing, "timing");
	tcase_add_test(timing, test_hammer_one_key);
	suite_add_tcase(s, timing);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
