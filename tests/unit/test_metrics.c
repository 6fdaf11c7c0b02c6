/* test_metrics.c - the shared counters: exact totals across forked processes
 * that race to create the file, histogram arithmetic, and the render limits. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "metrics_store.h"
#include "run.h"
#include "tmpdir.h"

static char dir[64];
static char text[32768];

static void
setup(void)
{
	pp_test_mkdtemp("metrics", dir, sizeof(dir));
}

static void
teardown(void)
{
	pp_metrics_close();
	pp_test_rmtree(dir);
}

/* The value of the sample named exactly `name` (with labels), or -1. */
static long long
sample(const char *name)
{
	size_t len = strlen(name);
	const char *p = text;
	char *end;
	long long v;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, len) == 0 && p[len] == ' ') {
			errno = 0;
			v = strtoll(p + len + 1, &end, 10);
			ck_assert(errno == 0 && (*end == '\n' || *end == '.'));
			return v;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

static void
render(void)
{
	ck_assert_uint_gt(pp_metrics_render(text, sizeof(text)), 0);
}

enum {
	PER_CHILD = 20000
};

/* One worker's share: every status in turn, a refusal per 429, a store error
 * per 503, and a fixed 1.5 ms duration. */
static void
child(int go_fd)
{
	static const int codes[] = { 200, 200, 429, 400, 503, 302 };
	char c;
	int i;

	if (read(go_fd, &c, 1) != 0) /* returns 0 when the parent closes it */
		_exit(3);
	if (pp_metrics_open(dir) != 0)
		_exit(2);
	for (i = 0; i < PER_CHILD; i++) {
		int code = codes[i % 6];
		pp_metrics_request(code, 0.0015);
		if (code == 429)
			pp_metrics_throttled(i % 12 == 2 ? PP_LIMIT_KEY : PP_LIMIT_GLOBAL);
		if (code == 503)
			pp_metrics_store_error();
	}
	pp_metrics_close();
	_exit(0);
}

START_TEST(two_processes_exact_totals)
{
	int go[2], i, status;
	pid_t pid[2];
	long long rounds = 2 * (PER_CHILD / 6); /* full rounds of 6, both children */

	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0) {
			close(go[1]);
			child(go[0]);
		}
	}
	close(go[0]);
	close(go[1]); /* both children open the fresh file at once */
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}

	ck_assert_int_eq(pp_metrics_open(dir), 0);
	render();
	/* 20000 = 3333 rounds of 6, then a 200 and a 200. */
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"200\"}"), 2 * (3333 * 2 + 2));
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"429\"}"), rounds);
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"400\"}"), rounds);
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"503\"}"), rounds);
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"other\"}"), rounds);
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"404\"}"), 0);
	ck_assert_int_eq(sample("pingpong_store_errors_total"), rounds);
	/* i % 6 == 2 alternates between i % 12 == 2 (per-key) and 8 (global). */
	ck_assert_int_eq(sample("pingpong_throttled_total{limit=\"per-key\"}") +
	                         sample("pingpong_throttled_total{limit=\"global\"}"),
	                 rounds);
	ck_assert_int_eq(sample("pingpong_throttled_total{limit=\"per-key\"}"),
	                 2 * (3333 / 2 + 1));
	ck_assert_int_eq(sample("pingpong_request_duration_seconds_count"), 2 * PER_CHILD);
	ck_assert_int_eq(sample("pingpong_request_duration_seconds_bucket{le=\"0.001\"}"), 0);
	ck_assert_int_eq(sample("pingpong_request_duration_seconds_bucket{le=\"0.0025\"}"),
	                 2 * PER_CHILD);
	ck_assert_int_eq(sample("pingpong_request_duration_seconds_bucket{le=\"+Inf\"}"),
	                 2 * PER_CHILD);
	/* 40000 x 1500 us = 60 s exactly: the sum is kept in integer microseconds. */
	ck_assert_ptr_nonnull(strstr(text, "\npingpong_request_duration_seconds_sum 60.000000\n"));
}
END_TEST

/* A worker that keeps its mapping must not block the next one's open. */
START_TEST(open_while_another_has_it_mapped)
{
	int status;
	pid_t pid;

	ck_assert_int_eq(pp_metrics_open(dir), 0);
	pp_metrics_request(200, 0.001);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(5);
		if (pp_metrics_open(dir) != 0)
			_exit(2);
		pp_metrics_request(200, 0.001);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "second open blocked or failed (status %d)", status);
	render();
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"200\"}"), 2);
}
END_TEST

START_TEST(buckets_and_odd_values)
{
	ck_assert_int_eq(pp_metrics_open(dir), 0);
	pp_metrics_request(200, 0.0001); /* on a bound: le is inclusive */
	pp_metrics_request(200, -3.0);   /* clock oddity counts as 0 */
	pp_metrics_request(200, 7.25);   /* beyond the last bound */
	pp_metrics_request(999, 0.0);
	pp_metrics_throttled(PP_LIMIT_NONE); /* not a refusal: ignored */
	render();
	ck_assert_int_eq(sample("pingpong_request_duration_seconds_bucket{le=\"0.0001\"}"), 3);
	ck_assert_int_eq(sample("pingpong_request_duration_seconds_bucket{le=\"1\"}"), 3);
	ck_assert_int_eq(sample("pingpong_request_duration_seconds_bucket{le=\"+Inf\"}"), 4);
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"other\"}"), 1);
	ck_assert_int_eq(sample("pingpong_throttled_total{limit=\"per-key\"}"), 0);
	ck_assert_int_eq(sample("pingpong_throttled_total{limit=\"global\"}"), 0);
	ck_assert_ptr_nonnull(strstr(text, "\npingpong_request_duration_seconds_sum 7.250100\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE pingpong_request_duration_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(text, "pingpong_build_info{version=\""));
}
END_TEST

START_TEST(survives_reopen_and_resets_foreign_file)
{
	char path[128];
	int fd;

	ck_assert_int_eq(pp_metrics_open(dir), 0);
	pp_metrics_request(200, 0.001);
	ck_assert_int_eq(pp_metrics_open(dir), 0); /* a restarted worker keeps the counts */
	render();
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"200\"}"), 1);
	pp_metrics_close();

	/* A file of another layout (here: garbage of the right size) is reset. */
	snprintf(path, sizeof(path), "%s/metrics.shm", dir);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "garbage!", 8), 8);
	close(fd);
	ck_assert_int_eq(pp_metrics_open(dir), 0);
	render();
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"200\"}"), 0);
}
END_TEST

START_TEST(unopened_and_too_small)
{
	char small[64];

	ck_assert_int_eq(pp_metrics_open("/nonexistent/pingpong"), -1);
	ck_assert_int_eq(errno, ENOENT);
	pp_metrics_request(200, 0.001); /* no file: does nothing, does not crash */
	pp_metrics_store_error();
	render();
	ck_assert_int_eq(sample("pingpong_requests_total{code=\"200\"}"), -1);
	ck_assert_ptr_nonnull(strstr(text, "pingpong_build_info{version=\""));

	ck_assert_int_eq(pp_metrics_open(dir), 0);
	ck_assert_uint_eq(pp_metrics_render(small, sizeof(small)), 0);
	ck_assert_uint_eq(pp_metrics_render(small, 0), 0);
}
END_TEST

/* Writes one exposition to the path in PP_METRICS_DUMP (used by the deploy
 * test that runs promtool on it), after some traffic of every kind. */
static int
dump(const char *path)
{
	FILE *f;

	if (pp_metrics_open(dir) != 0 || pp_metrics_store_open(dir) != 0)
		return 1;
	pp_metrics_request(200, 0.0004);
	pp_metrics_request(429, 0.002);
	pp_metrics_request(302, 1.5);
	pp_metrics_throttled(PP_LIMIT_GLOBAL);
	pp_metrics_store_error();
	/* The shared store's series too (a Redis worker's), every outcome. */
	pp_metrics_store_call(PP_METRICS_STORE_UNAVAILABLE, 0.05);
	pp_metrics_store_call(PP_METRICS_STORE_HELD, 0);
	pp_metrics_store_call(PP_METRICS_STORE_ERROR, 0.001);
	pp_metrics_store_call(PP_METRICS_STORE_OK, 0.0003);
	pp_metrics_rcache_hit();
	size_t n = pp_metrics_render(text, sizeof(text));
	pp_metrics_store_close();
	if (n == 0)
		return 1;
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
		return 1;
	return 0;
}

int
main(void)
{
	const TTest *tests[] = { two_processes_exact_totals, open_while_another_has_it_mapped,
		                 buckets_and_odd_values, survives_reopen_and_resets_foreign_file,
		                 unopened_and_too_small, NULL };
	const char *dump_path = getenv("PP_METRICS_DUMP");
	Suite *s = suite_create("metrics");

	if (dump_path != NULL && *dump_path != '\0') {
		/* Outside a test: no ck_assert, so mkdtemp by hand. */
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/pp-metrics.XXXXXX", t && *t ? t : "/tmp");
		if (mkdtemp(dir) == NULL)
			return EXIT_FAILURE;
		int failed = dump(dump_path);
		teardown();
		return failed ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	tcase_set_timeout(pp_test_case(s, "shared", setup, teardown, tests), 30);
	return pp_test_run(s);
}
