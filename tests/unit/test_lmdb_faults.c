/* test_lmdb_faults.c - the LMDB store where issue 9 broke it: the emergency
 * sweep that empties the index, an environment of another layout, more
 * workers than LMDB's default reader table, and workers with different map
 * sizes on one db_path (forked processes, as workers are). */
#include <check.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "tmpdir.h"

static char tmpdir[256];
static char dbdir[512];
static char logpath[600];

static void
setup(void)
{
	pp_test_mkdtemp("lmdbfaults", tmpdir, sizeof(tmpdir));
	snprintf(dbdir, sizeof(dbdir), "%s/db", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/stderr.log", tmpdir);
}

static void
teardown(void)
{
	pp_test_rmtree(tmpdir);
}

static int64_t fake_ms;
static int64_t
fake_clock(void)
{
	return fake_ms;
}

static void
make_config(struct pp_config *cfg, uint64_t map)
{
	pp_config_defaults(cfg);
	snprintf(cfg->db_path, sizeof(cfg->db_path), "%s", dbdir);
	cfg->db_map_size = map;
}

/* Opens the store at dbdir (map bytes, these limits) on the fake clock at t. */
static void
open_at(struct pp_store *ls, struct pp_config *cfg, uint64_t map, struct pp_limit per_key,
        struct pp_limit global, int64_t t)
{
	make_config(cfg, map);
	cfg->policy.per_key = per_key;
	cfg->policy.global = global;
	ck_assert_int_eq(pp_store_open(ls, cfg), PP_STORE_OK);
	ls->clock = fake_clock;
	fake_ms = t;
}

/* The store logs to fd 2: send it to logpath while f runs. */
static int saved_stderr = -1;
static void
capture_begin(void)
{
	int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *
capture_end(void)
{
	static char buf[8192];
	dup2(saved_stderr, 2);
	close(saved_stderr);
	FILE *f = fopen(logpath, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fputs(buf, stderr); /* keep it in the test log too */
	return buf;
}

/* Entries of a named database, read with LMDB directly (the store closed). */
static size_t
entries(const char *name)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 4);
	ck_assert_int_eq(mdb_env_open(env, dbdir, MDB_RDONLY, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, name, 0, &dbi), 0);
	ck_assert_int_eq(mdb_stat(txn, dbi, &st), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return st.ms_entries;
}

/* Item 5: a map filled with windows that have all expired. The admission
 * that finds it full sweeps them; the sweep deletes the last index entry,
 * and must then commit (it used to abort on MDB_GET_CURRENT's EINVAL,
 * leaving the map full and the service at 503). */
START_TEST(test_sweep_to_the_last_entry)
{
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d;
	char key[32];
	int rc = PP_STORE_OK, n;

	/* One admission per ms, a new key each, until the map is full (about
	 * 13 000 fit in 1 MiB): every key window is still live then. */
	open_at(&ls, &cfg, 1 << 20, (struct pp_limit){ 1, 40000 }, (struct pp_limit){ 1000000, 60000 },
	        1700000000000LL);
	for (n = 0; n < 30000; n++, fake_ms++) {
		int len = snprintf(key, sizeof(key), "fill-%d", n);
		if ((rc = pp_store_hit(&ls, key, (size_t)len, &cfg.policy, &d)) != PP_STORE_OK)
			break;
		ck_assert(d.admit);
	}
	ck_assert_int_eq(rc, PP_STORE_EFULL);
	ck_assert_int_gt(n, 1000);
	/* Every key window has expired now (not the global one). The next
	 * admission finds the map full, sweeps, and gets in. */
	fake_ms += 41000;
	capture_begin();
	rc = pp_store_hit(&ls, "after", 5, &cfg.policy, &d);
	char *log = capture_end();
	ck_assert_msg(rc == PP_STORE_OK, "after expiry: %s", pp_store_strerror(rc));
	ck_assert(d.admit);
	/* All of them, the last one included, in the sweep itself. */
	char want[64];
	snprintf(want, sizeof(want), "reclaimed %d expired windows", n);
	ck_assert_msg(strstr(log, want) != NULL, "want '%s' in the log: %s", want, log);
	pp_store_close(&ls);
	/* The sweep removed every expired window in one go and committed. */
	size_t left = entries("windows");
	ck_assert_msg(left <= 2, "%zu windows left of %d expired: the sweep did not commit", left, n);
}
END_TEST

/* Writes one meta record into a fresh environment at dbdir. */
static void
make_env_with(const char *key, const void *val, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)val };
	mkdir(dbdir, 0700);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 4);
	ck_assert_int_eq(mdb_env_open(env, dbdir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Item 7: another layout is named as such, not as corruption; format 2
 * (the expiry index this version no longer keeps) among them. */
static const struct {
	const char *key; /* the meta record planted */
	unsigned char val[16];
	size_t len;
	const char *named; /* what the log must name */
} other_layouts[] = {
	{ "secret", { 1 }, 16, "16-byte secret" },
	{ "format", { 0, 0, 0, 7 }, 4, "data format 7" },
	{ "format", { 0, 0, 0, 2 }, 4, "data format 2" },
};

START_TEST(test_other_layout)
{
	struct pp_config cfg;
	struct pp_store ls;
	make_env_with(other_layouts[_i].key, other_layouts[_i].val, other_layouts[_i].len);
	make_config(&cfg, 16 << 20);
	capture_begin();
	int rc = pp_store_open(&ls, &cfg);
	char *log = capture_end();
	ck_assert_int_ne(rc, PP_STORE_OK);
	ck_assert_msg(strstr(log, "created by another version") != NULL, "log: %s", log);
	ck_assert_msg(strstr(log, other_layouts[_i].named) != NULL, "want '%s': %s",
	              other_layouts[_i].named, log);
	ck_assert_msg(strstr(log, "MDB_CORRUPTED") == NULL && strstr(log, "corrupted") == NULL,
	              "log: %s", log);
}
END_TEST

/* A file from before the format record (a 32-byte secret, our layout) opens
 * and keeps its secret. */
START_TEST(test_unstamped_same_layout_opens)
{
	struct pp_config cfg;
	struct pp_store ls;
	unsigned char secret[32];
	memset(secret, 0x5a, sizeof(secret));
	make_env_with("secret", secret, sizeof(secret));
	make_config(&cfg, 16 << 20);
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	ck_assert_mem_eq(ls.secret, secret, 32);
	pp_store_close(&ls);
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK);
	pp_store_close(&ls);
}
END_TEST

/* Item 6: more worker processes than LMDB's default 126 reader slots, all
 * with the store open and a snapshot taken at once. */
#define MANY 160
START_TEST(test_many_workers)
{
	pid_t pids[MANY];
	int ready[2], go[2], i, ok = 0;
	struct pp_config cfg;
	struct pp_store ls;

	make_config(&cfg, 16 << 20);
	ck_assert_int_eq(pp_store_open(&ls, &cfg), PP_STORE_OK); /* creates it */
	pp_store_close(&ls);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < MANY; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			struct pp_decision d;
			char c = 'n', key[16];
			close(ready[0]);
			close(go[1]);
			int len = snprintf(key, sizeof(key), "w%d", i);
			if (pp_store_open(&ls, &cfg) == PP_STORE_OK &&
			    pp_store_hit(&ls, key, (size_t)len, &cfg.policy, &d) == PP_STORE_OK &&
			    pp_store_probe(&ls) == PP_STORE_OK)
				c = 'y';
			if (write(ready[1], &c, 1) != 1)
				_exit(3);
			/* Hold the store open until every child has opened it. */
			if (read(go[0], &c, 1) < 0)
				_exit(4);
			pp_store_close(&ls);
			_exit(0);
		}
	}
	close(ready[1]);
	close(go[0]);
	for (i = 0; i < MANY; i++) {
		char c;
		ck_assert_int_eq(read(ready[0], &c, 1), 1);
		ok += c == 'y';
	}
	close(go[1]); /* EOF releases them all */
	for (i = 0; i < MANY; i++)
		waitpid(pids[i], NULL, 0);
	close(ready[0]);
	ck_assert_msg(ok == MANY, "%d of %d concurrent workers could use the store", ok, MANY);
}
END_TEST

/* Item 2: a worker with a smaller db_map_size starts while a worker with a
 * larger one runs and then grows the data past the smaller map. Neither may
 * die (the small one used to truncate data.mdb under the large one: SIGBUS)
 * and the small one must adopt the larger size for admissions and probes
 * alike (it answered 503 forever, MDB_MAP_RESIZED on every request). */
START_TEST(test_two_map_sizes)
{
	struct pp_config big, small;
	struct pp_store ls;
	/* One pipe each way per child, so a child that dies is an EOF here,
	 * not a wait until the test times out. */
	int to_big[2], to_small[2], from_big[2], from_small[2], status;
	char c;

	make_config(&big, 8 << 20);
	make_config(&small, 1 << 20);
	big.policy.per_key = small.policy.per_key = (struct pp_limit){ 1, 60000 };
	big.policy.global = small.policy.global = (struct pp_limit){ 1000000, 1 };
	ck_assert_int_eq(pipe(to_big), 0);
	ck_assert_int_eq(pipe(to_small), 0);
	ck_assert_int_eq(pipe(from_big), 0);
	ck_assert_int_eq(pipe(from_small), 0);

	pid_t pb = fork();
	ck_assert_int_ge(pb, 0);
	if (pb == 0) { /* the large map: open, wait, then grow the data to ~3 MiB */
		struct pp_decision d;
		char key[32];
		close(from_small[0]);
		close(from_small[1]);
		close(to_small[0]);
		close(to_small[1]);
		if (pp_store_open(&ls, &big) != PP_STORE_OK)
			_exit(10);
		c = 'o';
		if (write(from_big[1], &c, 1) != 1 || read(to_big[0], &c, 1) != 1)
			_exit(11);
		for (int i = 0; i < 20000; i++) {
			int len = snprintf(key, sizeof(key), "big-%d", i);
			if (pp_store_hit(&ls, key, (size_t)len, &big.policy, &d) != PP_STORE_OK)
				_exit(12);
		}
		c = 'g';
		if (write(from_big[1], &c, 1) != 1 || read(to_big[0], &c, 1) != 1)
			_exit(13);
		pp_store_close(&ls);
		_exit(0);
	}
	close(from_big[1]);
	close(to_big[0]);
	ck_assert_int_eq(read(from_big[0], &c, 1), 1);
	pid_t ps = fork();
	ck_assert_int_ge(ps, 0);
	if (ps == 0) { /* the small map: open now, use it after the growth */
		struct pp_decision d;
		close(from_big[0]);
		close(to_big[1]);
		if (pp_store_open(&ls, &small) != PP_STORE_OK)
			_exit(20);
		c = 'o';
		if (write(from_small[1], &c, 1) != 1 || read(to_small[0], &c, 1) != 1)
			_exit(21);
		if (pp_store_probe(&ls) != PP_STORE_OK)
			_exit(22);
		for (int i = 0; i < 10; i++) {
			char key[32];
			int len = snprintf(key, sizeof(key), "small-%d", i);
			if (pp_store_hit(&ls, key, (size_t)len, &small.policy, &d) != PP_STORE_OK || !d.admit)
				_exit(23);
		}
		if (pp_store_hit(&ls, "big-7", 5, &small.policy, &d) != PP_STORE_OK || d.admit)
			_exit(24); /* sees the large worker's windows: refused */
		if (pp_store_probe(&ls) != PP_STORE_OK)
			_exit(25);
		pp_store_close(&ls);
		_exit(0);
	}
	close(from_small[1]);
	close(to_small[0]);
	ck_assert_int_eq(read(from_small[0], &c, 1), 1); /* small is open */
	c = 'x';
	ck_assert_int_eq(write(to_big[1], &c, 1), 1); /* big grows */
	ck_assert_msg(read(from_big[0], &c, 1) == 1 && c == 'g', "the large-map worker died growing the data");
	ck_assert_int_eq(write(to_small[1], &c, 1), 1); /* small uses it */
	ck_assert_int_eq(waitpid(ps, &status, 0), ps);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "small-map worker: %s %d", WIFSIGNALED(status) ? "signal" : "exit",
	              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	ck_assert_int_eq(write(to_big[1], &c, 1), 1);
	close(to_big[1]);
	ck_assert_int_eq(waitpid(pb, &status, 0), pb);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "large-map worker: %s %d", WIFSIGNALED(status) ? "signal" : "exit",
	              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	/* And a late worker with the small map does not shrink the file. */
	struct stat st1, st2;
	char data[600];
	snprintf(data, sizeof(data), "%s/data.mdb", dbdir);
	ck_assert_int_eq(stat(data, &st1), 0);
	ck_assert_int_eq(pp_store_open(&ls, &small), PP_STORE_OK);
	ck_assert_int_eq(pp_store_probe(&ls), PP_STORE_OK);
	pp_store_close(&ls);
	ck_assert_int_eq(stat(data, &st2), 0);
	ck_assert_int_ge(st2.st_size, st1.st_size);
}
END_TEST

/* Format 2's global window (slot records) with the clock stepped back 5 s:
 * the admissions "from the future" count as now, expire one window from
 * now (not 5 s later), and the count stays exact across the step and after. */
START_TEST(test_global_slots_clock_stepped_back)
{
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d;
	char key[32];
	int i, len;

	open_at(&ls, &cfg, 16 << 20, (struct pp_limit){ 100, 1000 }, (struct pp_limit){ 5, 1000 },
	        1700000005000LL);
	for (i = 0; i < 3; i++, fake_ms += 40) {
		len = snprintf(key, sizeof(key), "future-%d", i);
		ck_assert_int_eq(pp_store_hit(&ls, key, (size_t)len, &cfg.policy, &d), PP_STORE_OK);
		ck_assert(d.admit);
	}
	fake_ms = 1700000000000LL; /* 5 s back */
	for (i = 0; i < 2; i++) {
		len = snprintf(key, sizeof(key), "back-%d", i);
		ck_assert_int_eq(pp_store_hit(&ls, key, (size_t)len, &cfg.policy, &d), PP_STORE_OK);
		ck_assert(d.admit);
		ck_assert_uint_eq(d.global.used, 4 + (uint32_t)i);
		ck_assert_int_le(d.global.reset_ms, 1000);
	}
	ck_assert_int_eq(pp_store_hit(&ls, "sixth", 5, &cfg.policy, &d), PP_STORE_OK);
	ck_assert(!d.admit);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_GLOBAL);
	ck_assert_int_eq(d.retry_ms, 1000); /* the folded three count as now */
	fake_ms += 999;
	ck_assert_int_eq(pp_store_hit(&ls, "sixth", 5, &cfg.policy, &d), PP_STORE_OK);
	ck_assert(!d.admit);
	fake_ms += 1;
	for (i = 0; i < 5; i++) {
		len = snprintf(key, sizeof(key), "later-%d", i);
		ck_assert_int_eq(pp_store_hit(&ls, key, (size_t)len, &cfg.policy, &d), PP_STORE_OK);
		ck_assert_msg(d.admit, "admission %d after the window", i);
	}
	ck_assert_int_eq(pp_store_hit(&ls, "sixth", 5, &cfg.policy, &d), PP_STORE_OK);
	ck_assert(!d.admit);
	ck_assert_uint_eq(d.global.used, 5);
	pp_store_close(&ls);
}
END_TEST

/* Storage stays bounded without an expiry index: a distinct key a ms for
 * 20 windows of 100 ms. About 100 windows are live at any time; every
 * admission adds one, so with no reclaiming 2 000 would be stored. The
 * shared sweep visits 4 windows per admission, so at most about a quarter
 * of what is stored has expired (store_lmdb_sweep.c); 250 allows for the
 * live ones, the sweep's bound and slack. */
START_TEST(test_sweep_keeps_storage_bounded)
{
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d;
	char key[32];
	int n, len;

	open_at(&ls, &cfg, 16 << 20, (struct pp_limit){ 1, 100 }, (struct pp_limit){ 1000, 100 },
	        1700000000000LL);
	for (n = 0; n < 2000; n++, fake_ms++) {
		len = snprintf(key, sizeof(key), "bounded-%d", n);
		ck_assert_int_eq(pp_store_hit(&ls, key, (size_t)len, &cfg.policy, &d), PP_STORE_OK);
		ck_assert(d.admit);
	}
	pp_store_close(&ls);
	size_t left = entries("windows");
	fprintf(stderr, "# %zu windows stored of 2000 admitted\n", left);
	ck_assert_msg(left >= 100 && left <= 250, "%zu windows stored of 2000 admitted, ~100 live", left);
}
END_TEST

/* After an admission the store decides the next request as if its key
 * were new and writes the window only if it was (MDB_NOOVERWRITE): a key
 * that has a window must still be decided on it, and keep it. */
START_TEST(test_after_an_admission_old_keys_count)
{
	struct pp_config cfg;
	struct pp_store ls;
	struct pp_decision d;

	open_at(&ls, &cfg, 16 << 20, (struct pp_limit){ 2, 1000 }, (struct pp_limit){ 1000, 1000 },
	        1700000000000LL);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pp_store_hit(&ls, "old", 3, &cfg.policy, &d), PP_STORE_OK);
		ck_assert(d.admit);
		ck_assert_uint_eq(d.key.used, (uint32_t)i + 1);
		fake_ms += 10;
	}
	/* Right after an admission: refused on the window the key has. */
	ck_assert_int_eq(pp_store_hit(&ls, "old", 3, &cfg.policy, &d), PP_STORE_OK);
	ck_assert(!d.admit);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_KEY);
	ck_assert_int_eq(pp_store_hit(&ls, "new", 3, &cfg.policy, &d), PP_STORE_OK);
	ck_assert(d.admit);
	ck_assert_uint_eq(d.key.used, 1);
	ck_assert_uint_eq(d.global.used, 3);
	/* Admitted once more, on its window: the second slot frees at 1 010. */
	fake_ms = 1700000000000LL + 1000;
	ck_assert_int_eq(pp_store_hit(&ls, "old", 3, &cfg.policy, &d), PP_STORE_OK);
	ck_assert(d.admit);
	ck_assert_uint_eq(d.key.used, 2);
	ck_assert_int_eq(pp_store_hit(&ls, "old", 3, &cfg.policy, &d), PP_STORE_OK);
	ck_assert(!d.admit);
	ck_assert_int_eq(d.retry_ms, 10);
	pp_store_close(&ls);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lmdb_faults");
	TCase *tc = tcase_create("faults");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sweep_to_the_last_entry);
	tcase_add_test(tc, test_sweep_keeps_storage_bounded);
	tcase_add_test(tc, test_after_an_admission_old_keys_count);
	tcase_add_loop_test(tc, test_other_layout, 0,
	                    (int)(sizeof(other_layouts) / sizeof(other_layouts[0])));
	tcase_add_test(tc, test_unstamped_same_layout_opens);
	tcase_add_test(tc, test_global_slots_clock_stepped_back);
	suite_add_tcase(s, tc);
	/* 160 and 2 forked workers: minutes under valgrind (tests/faults/
	 * valgrind.sh leaves out what is tagged "timing"). */
	TCase *procs = tcase_create("processes");
	tcase_set_tags(procs, "timing");
	tcase_add_checked_fixture(procs, setup, teardown);
	tcase_set_timeout(procs, 60);
	tcase_add_test(procs, test_many_workers);
	tcase_add_test(procs, test_two_map_sizes);
	suite_add_tcase(s, procs);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
