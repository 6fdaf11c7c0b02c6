/* test_config.c - the operator's interface: defaults, the key = value file,
 * PINGPONG_* overrides, and errors that name the line or the variable. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "store.h"
#include "tmpdir.h"

static char tmpdir[256];
static char path[512];

static void
setup(void)
{
	pp_test_mkdtemp("config", tmpdir, sizeof(tmpdir));
	snprintf(path, sizeof(path), "%s/pingpong.conf", tmpdir);
}

static void
teardown(void)
{
	pp_test_rmtree(tmpdir);
}

static void
write_conf(const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_defaults)
{
	struct pp_config c;

	memset(&c, 0x5a, sizeof(c));
	pp_config_defaults(&c);
	ck_assert_uint_eq(c.policy.per_key.limit, 10);
	ck_assert_int_eq(c.policy.per_key.window_ms, 60000);
	ck_assert_uint_eq(c.policy.global.limit, 2);
	ck_assert_int_eq(c.policy.global.window_ms, 1000);
	ck_assert_int_eq(c.on_store_error, PP_ON_ERROR_REJECT);
	ck_assert_uint_eq(c.db_map_size, 64ULL << 20);
	ck_assert(c.db_path[0] == '/');
	ck_assert(memchr(c.db_path, '\0', sizeof(c.db_path)) != NULL);
}
END_TEST

START_TEST(test_file)
{
	struct pp_config c;
	char err[512] = "";

	pp_config_defaults(&c);
	write_conf("# pingpong test config\n"
	           "\n"
	           "   # indented comment\n"
	           "db_path=/srv/pp-db\n"
	           "  db_map_size\t=\t1G   # trailing comment\n"
	           "per_key_limit = 7\n"
	           "per_key_window = 2s\n"
	           "global_limit=3# no space before the comment\n"
	           "\tglobal_window = 500ms\t\n"
	           "fail_open = yes\n"
	           "log_level = debug\n");
	ck_assert_msg(pp_config_load_file(&c, path, false, err, sizeof(err)) == 0, "load: %s", err);
	ck_assert_str_eq(c.db_path, "/srv/pp-db");
	ck_assert_uint_eq(c.db_map_size, 1ULL << 30);
	ck_assert_uint_eq(c.policy.per_key.limit, 7);
	ck_assert_int_eq(c.policy.per_key.window_ms, 2000);
	ck_assert_uint_eq(c.policy.global.limit, 3);
	ck_assert_int_eq(c.policy.global.window_ms, 500);
	ck_assert_int_eq(c.on_store_error, PP_ON_ERROR_ADMIT);
	ck_assert_int_eq(c.log_level, PP_LOG_DEBUG);
}
END_TEST

/* A file sets only what it names; the rest stays as cfg held it. */
START_TEST(test_file_on_top)
{
	struct pp_config c;
	char err[512] = "";

	pp_config_defaults(&c);
	write_conf("db_map_size = 64M\nfail_open = no\nper_key_window = 60000ms\n");
	ck_assert_msg(pp_config_load_file(&c, path, false, err, sizeof(err)) == 0, "load: %s", err);
	ck_assert_uint_eq(c.db_map_size, 64ULL << 20);
	ck_assert_int_eq(c.on_store_error, PP_ON_ERROR_REJECT);
	ck_assert_int_eq(c.policy.per_key.window_ms, 60000);
	ck_assert_uint_eq(c.policy.per_key.limit, 10);
	ck_assert_uint_eq(c.policy.global.limit, 2);
	ck_assert_int_eq(c.policy.global.window_ms, 1000);
}
END_TEST

START_TEST(test_missing_file)
{
	struct pp_config c, before;
	char err[512] = "";
	char nowhere[600];

	snprintf(nowhere, sizeof(nowhere), "%s/does-not-exist.conf", tmpdir);
	pp_config_defaults(&c);
	before = c;
	ck_assert_int_eq(pp_config_load_file(&c, nowhere, true, err, sizeof(err)), 0);
	ck_assert(memcmp(&c, &before, sizeof(c)) == 0);
	ck_assert_int_eq(pp_config_load_file(&c, nowhere, false, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, nowhere) != NULL, "error does not name the file: %s", err);
}
END_TEST

/* Each bad line sits on line 3, after two good ones: the error must say
 * FILE:3 and nothing may be half-applied from the bad line. */
static const char *bad_lines[] = {
	"per_key_limit = 0",
	"per_key_limit = -1",
	"per_key_limit = abc",
	"per_key_limit = 10x",
	"per_key_limit = 99999999999999999999999",
	"per_key_limit =",
	"global_limit = 1.5",
	"per_key_window = 0s",
	"per_key_window = 0ms",
	"per_key_window = -1s",
	"per_key_window = 5x",
	"per_key_window = ms",
	"per_key_window = 99999999999999999999999s",
	"global_window = 1 s",
	"db_map_size = 12Q",
	"db_map_size = M",
	"db_map_size = -64M",
	"db_map_size = 99999999999999999999G",
	"fail_open = maybe",
	"fail_open =",
	"log_level = loud",
	"unknown_key = 1",
	"per_key_limits = 10",
	"PER_KEY_LIMIT = 10",
	"no equals sign here",
	"= 10",
};

START_TEST(test_bad_line)
{
	struct pp_config c;
	char err[512] = "", text[512], want[600];

	snprintf(text, sizeof(text), "# comment\nper_key_limit = 4\n%s\nglobal_limit = 9\n", bad_lines[_i]);
	write_conf(text);
	pp_config_defaults(&c);
	ck_assert_msg(pp_config_load_file(&c, path, false, err, sizeof(err)) == -1,
	              "'%s' was accepted", bad_lines[_i]);
	snprintf(want, sizeof(want), "%s:3", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "'%s': error '%s' does not start with %s",
	              bad_lines[_i], err, want);
	ck_assert_msg(strlen(err) > strlen(want) + 2, "'%s': error gives no reason: %s", bad_lines[_i], err);
}
END_TEST

START_TEST(test_set_direct)
{
	struct pp_config c;
	char err[256] = "";

	pp_config_defaults(&c);
	ck_assert_int_eq(pp_config_set(&c, "per_key_window", "90s", err, sizeof(err)), 0);
	ck_assert_int_eq(c.policy.per_key.window_ms, 90000);
	ck_assert_int_eq(pp_config_set(&c, "global_window", "1500ms", err, sizeof(err)), 0);
	ck_assert_int_eq(c.policy.global.window_ms, 1500);
	ck_assert_int_eq(pp_config_set(&c, "db_map_size", "128M", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.db_map_size, 128ULL << 20);
	ck_assert_int_eq(pp_config_set(&c, "db_map_size", "2G", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.db_map_size, 2ULL << 30);
	ck_assert_int_eq(pp_config_set(&c, "fail_open", "no", err, sizeof(err)), 0);
	ck_assert_int_eq(c.on_store_error, PP_ON_ERROR_REJECT);
	ck_assert_int_eq(pp_config_set(&c, "log_level", "warn", err, sizeof(err)), 0);
	ck_assert_int_eq(c.log_level, PP_LOG_WARN);
	ck_assert_int_eq(pp_config_set(&c, "log_level", "error", err, sizeof(err)), 0);
	ck_assert_int_eq(c.log_level, PP_LOG_ERROR);
	err[0] = '\0';
	ck_assert_int_eq(pp_config_set(&c, "nonsense", "1", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "nonsense") != NULL, "error does not name the key: %s", err);
	/* A rejected value leaves the old one. */
	ck_assert_int_eq(pp_config_set(&c, "per_key_limit", "0", err, sizeof(err)), -1);
	ck_assert_uint_eq(c.policy.per_key.limit, 10);
}
END_TEST

START_TEST(test_env_wins)
{
	struct pp_config c;
	char err[512] = "";
	char *envp[] = {
		"PATH=/usr/bin",
		"PINGPONG_PER_KEY_LIMIT=7",
		"PINGPONG_GLOBAL_WINDOW=250ms",
		"PINGPONG_FAIL_OPEN=yes",
		"PINGPONG_DB_PATH=/data/pp",
		"PER_KEY_LIMIT=99",              /* no prefix: not ours */
		"PINGPONG_SERVICE_PORT=tcp://10.0.0.1:80", /* Kubernetes service link */
		"PINGPONG_PORT_8080_TCP_ADDR=10.0.0.1",
		"PINGPONG_KEY=secret",           /* the CLI's variable */
		"PINGPONG_=x",
		NULL,
	};

	write_conf("per_key_limit = 5\nglobal_window = 2s\nglobal_limit = 4\n");
	pp_config_defaults(&c);
	ck_assert_msg(pp_config_load_file(&c, path, false, err, sizeof(err)) == 0, "load: %s", err);
	ck_assert_msg(pp_config_load_env(&c, envp, err, sizeof(err)) == 0, "env: %s", err);
	ck_assert_uint_eq(c.policy.per_key.limit, 7);
	ck_assert_int_eq(c.policy.global.window_ms, 250);
	ck_assert_uint_eq(c.policy.global.limit, 4); /* from the file, not overridden */
	ck_assert_int_eq(c.on_store_error, PP_ON_ERROR_ADMIT);
	ck_assert_str_eq(c.db_path, "/data/pp");
}
END_TEST

START_TEST(test_env_bad_value)
{
	struct pp_config c;
	char err[512] = "";
	char *envp[] = { "PINGPONG_GLOBAL_LIMIT=zero", NULL };

	pp_config_defaults(&c);
	ck_assert_int_eq(pp_config_load_env(&c, envp, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "PINGPONG_GLOBAL_LIMIT") != NULL, "error does not name the variable: %s", err);
	ck_assert_uint_eq(c.policy.global.limit, 2);
}
END_TEST

START_TEST(test_env_empty)
{
	struct pp_config c, before;
	char err[512] = "";
	char *envp[] = { NULL };

	pp_config_defaults(&c);
	before = c;
	ck_assert_int_eq(pp_config_load_env(&c, envp, err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_load_env(&c, NULL, err, sizeof(err)), 0);
	ck_assert(memcmp(&c, &before, sizeof(c)) == 0);
}
END_TEST

START_TEST(test_map_must_hold_the_live_windows)
{
	struct pp_config c;
	char err[512];
	pp_config_defaults(&c);
	/* Defaults: 2 per 1 s global, 60 s key windows: 122 live at most. */
	ck_assert_uint_eq(pp_lmdb_live_max(&c), 2 * 61);
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), 0);
	/* A global limit that lets millions be live needs a bigger map. */
	c.policy.global.limit = 1000000;
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "db_map_size 64 MiB is too small"));
	c.db_map_size = pp_lmdb_map_needed(&c);
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), 0);
	c.db_map_size -= 1;
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), -1);
}
END_TEST

int
main(void)
{
Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_file_on_top);
	tcase_add_test(tc, test_missing_file);
	tcase_add_loop_test(tc, test_bad_line, 0, (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
	tcase_add_test(tc, test_set_direct);
	tcase_add_test(tc, test_env_wins);
	tcase_add_test(tc, test_env_bad_value);
	tcase_add_test(tc, test_env_empty);
	tcase_add_test(tc, test_map_must_hold_the_live_windows);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
