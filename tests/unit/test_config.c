/* test_config.c - the operator's interface: defaults, the key = value file,
 * PINGPONG_* overrides, and errors that name the line or the variable. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "run.h"
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
	ck_assert_uint_eq(c.db_map_size, PP_MAP_AUTO); /* sized from the limits */
	ck_assert(!c.dry_run);
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
	"store = postgres",
	"store =",
	"on_store_error = maybe",
	"fail_open = local", /* the synonym knows only yes and no */
	"redis_url = http://10.0.0.5:6379",
	"redis_url = redis://",
	"redis_url = redis://host:0",
	"redis_url = redis://host:65536",
	"redis_url = redis://host:port",
	"redis_url = redis://host/db",
	"redis_url = redis://user:pw@host",
	"redis_url = redis://[::1",
	"redis_url = redis://ho st",
	"redis_url = unix:relative.sock",
	"redis_url = unix:/run/r.sock?db=x",
	"redis_url =",
	"redis_url = redis://a:7000,",
	"redis_url = ,redis://a:7000",
	"redis_url = redis://a:7000,,redis://b:7001",
	"redis_url = redis://a:7000/0,redis://b:7001/1",
	"redis_url = redis://u@a:7000,redis://b:7001",
	"redis_url = unix:/run/r.sock,redis://b:7001",
	"redis_url = redis://b:7001,unix:/run/r.sock",
	"redis_url = redis://b:7001,http://c:7002",
	"redis_url = redis://a:1,redis://a:2,redis://a:3,redis://a:4,redis://a:5,"
	"redis://a:6,redis://a:7,redis://a:8,redis://a:9",
	"redis_prefix = {pp}",
	"redis_prefix =",
	"redis_timeout = 0ms",
	"redis_timeout = 61s",
	"redis_retry = 2h",
	"refusal_cache = sometimes",
	"refusal_cache_max = 0s",
	"redis_sentinels = host:1,host:99999",
	"redis_sentinels = ,",
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
		"PER_KEY_LIMIT=99",                        /* no prefix: not ours */
		"PINGPONG_SERVICE_PORT=tcp://10.0.0.1:80", /* Kubernetes service link */
		"PINGPONG_PORT_8080_TCP_ADDR=10.0.0.1",
		"PINGPONG_KEY=secret", /* the CLI's variable */
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
	c.db_map_size = 64ULL << 20; /* an explicit size is checked (auto: test_ops) */
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "db_map_size 64 MiB is too small"));
	c.db_map_size = pp_lmdb_map_needed(&c);
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), 0);
	c.db_map_size -= 1;
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), -1);
}
END_TEST

struct url_case {
	const char *url;
	const char *host, *unix_path, *user;
	unsigned port, db;
};

static const struct url_case good_urls[] = {
	{ "redis://10.0.0.5:6379/0", "10.0.0.5", "", "", 6379, 0 },
	{ "redis://redis.internal", "redis.internal", "", "", 6379, 0 },
	{ "redis://redis.internal/", "redis.internal", "", "", 6379, 0 },
	{ "redis://app@10.0.0.5:7000/3", "10.0.0.5", "", "app", 7000, 3 },
	{ "redis://[::1]:6380/2", "::1", "", "", 6380, 2 },
	{ "redis://[fe80::1]", "fe80::1", "", "", 6379, 0 },
	{ "unix:/run/redis/redis.sock", "", "/run/redis/redis.sock", "", 0, 0 },
	{ "unix:///run/redis/redis.sock?db=5", "", "/run/redis/redis.sock", "", 0, 5 },
};

START_TEST(test_redis_url_good)
{
	const struct url_case *u = &good_urls[_i];
	struct pp_redis_addr a;
	char err[256] = "";

	ck_assert_msg(pp_redis_url_parse(u->url, &a, err, sizeof(err)) == 0, "%s: %s", u->url, err);
	ck_assert_uint_eq(a.nseeds, u->host[0] ? 1 : 0);
	ck_assert_str_eq(a.seed[0].host, u->host);
	ck_assert_str_eq(a.unix_path, u->unix_path);
	ck_assert_str_eq(a.user, u->user);
	ck_assert_uint_eq(a.seed[0].port, u->port);
	ck_assert_uint_eq(a.db, u->db);
}
END_TEST

/* A list of seeds: in order, spaces around the commas allowed, the shared
 * user and db kept once; up to PP_REDIS_SEEDS_MAX. */
START_TEST(test_redis_url_seeds)
{
	struct pp_redis_addr a;
	char err[256] = "", eight[512];
	size_t len = 0;

	ck_assert_msg(pp_redis_url_parse("redis://pp@10.0.0.5:7000/2, redis://pp@[::1]:7001/2 ,redis://pp@r3/2",
	                                 &a, err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert_uint_eq(a.nseeds, 3);
	ck_assert_str_eq(a.seed[0].host, "10.0.0.5");
	ck_assert_uint_eq(a.seed[0].port, 7000);
	ck_assert_str_eq(a.seed[1].host, "::1");
	ck_assert_uint_eq(a.seed[1].port, 7001);
	ck_assert_str_eq(a.seed[2].host, "r3");
	ck_assert_uint_eq(a.seed[2].port, 6379);
	ck_assert_str_eq(a.user, "pp");
	ck_assert_uint_eq(a.db, 2);
	ck_assert_str_eq(a.unix_path, "");
	/* A db left out is 0 and matches an explicit /0. */
	ck_assert_int_eq(pp_redis_url_parse("redis://a:1/0,redis://b:2", &a, err, sizeof(err)), 0);
	ck_assert_uint_eq(a.nseeds, 2);
	for (int i = 1; i <= PP_REDIS_SEEDS_MAX; i++)
		len += (size_t)snprintf(eight + len, sizeof(eight) - len, "%sredis://n%d:700%d",
		                        i > 1 ? "," : "", i, i);
	ck_assert_msg(pp_redis_url_parse(eight, &a, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(a.nseeds, PP_REDIS_SEEDS_MAX);
	ck_assert_str_eq(a.seed[PP_REDIS_SEEDS_MAX - 1].host, "n8");
	ck_assert_uint_eq(a.seed[PP_REDIS_SEEDS_MAX - 1].port, 7008);
}
END_TEST

struct seeds_error {
	const char *url, *says;
};

/* What a bad list's error says, after naming the key; the old list stays. */
static const struct seeds_error seeds_errors[] = {
	{ "redis://a:7000,", "seed 2 of the list is empty" },
	{ "redis://a:7000, ,redis://b", "seed 2 of the list is empty" },
	{ "redis://a:7000/0,redis://b:7001/1", "seed 2 'redis://b:7001/1' names db 1, seed 1 db 0" },
	{ "redis://u@a,redis://v@b", "seed 2 'redis://v@b' names user 'v', seed 1 'u'" },
	{ "unix:/run/r.sock,redis://b", "a unix: socket is the only address" },
	{ "redis://a,redis://b:0", "seed 2 'redis://b:0': the port must be" },
	{ "redis://1,redis://2,redis://3,redis://4,redis://5,redis://6,redis://7,redis://8,redis://9",
	  "at most 8 seeds" },
};

START_TEST(test_redis_url_seeds_bad)
{
	const struct seeds_error *e = &seeds_errors[_i];
	struct pp_config c;
	char err[512] = "", want[300];

	pp_config_defaults(&c);
	ck_assert_int_eq(pp_config_set(&c, "redis_url", "redis://a:1,redis://b:2", err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_set(&c, "redis_url", e->url, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "redis_url: '%s': ", e->url);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "'%s': error does not name the key: %s",
	              e->url, err);
	ck_assert_msg(strstr(err, e->says) != NULL, "'%s': error '%s' does not say '%s'", e->url, err,
	              e->says);
	ck_assert_str_eq(c.redis_url, "redis://a:1,redis://b:2");
	ck_assert_uint_eq(c.redis.nseeds, 2);
	ck_assert_str_eq(c.redis.seed[1].host, "b");
}
END_TEST

/* Set through the key, the URL lands parsed in cfg.redis; a bad one names
 * the key and keeps the old address. */
START_TEST(test_redis_keys)
{
	struct pp_config c;
	char err[512] = "";

	pp_config_defaults(&c);
	ck_assert_str_eq(c.store, "lmdb");
	ck_assert_uint_eq(c.redis.nseeds, 1);
	ck_assert_str_eq(c.redis.seed[0].host, "127.0.0.1");
	ck_assert_uint_eq(c.redis.seed[0].port, 6379);
	ck_assert_str_eq(c.redis_prefix, "pp");
	ck_assert_int_eq(c.redis_timeout_ms, 50);
	ck_assert_int_eq(c.redis_retry_ms, 1000);
	ck_assert(c.refusal_cache);
	ck_assert_int_eq(c.refusal_cache_max_ms, 1000);
	ck_assert_str_eq(c.key_secret_file, "");
	write_conf("store = redis\n"
	           "redis_url = redis://pp@10.1.2.3:7001/4\n"
	           "redis_prefix = pp-prod\n"
	           "redis_timeout = 20ms\n"
	           "redis_retry = 0\n"
	           "refusal_cache = no\n"
	           "refusal_cache_max = 250ms\n"
	           "on_store_error = local\n"
	           "redis_sentinels = 10.0.0.1:26379, [::1]:26380\n"
	           "redis_master = mymaster\n");
	ck_assert_msg(pp_config_load_file(&c, path, false, err, sizeof(err)) == 0, "load: %s", err);
	ck_assert_str_eq(c.store, "redis");
	ck_assert_str_eq(c.redis.seed[0].host, "10.1.2.3");
	ck_assert_str_eq(c.redis.user, "pp");
	ck_assert_uint_eq(c.redis.seed[0].port, 7001);
	ck_assert_uint_eq(c.redis.db, 4);
	ck_assert_str_eq(c.redis_prefix, "pp-prod");
	ck_assert_int_eq(c.redis_timeout_ms, 20);
	ck_assert_int_eq(c.redis_retry_ms, 0);
	ck_assert(!c.refusal_cache);
	ck_assert_int_eq(c.refusal_cache_max_ms, 250);
	ck_assert_int_eq(c.on_store_error, PP_ON_ERROR_LOCAL);
	ck_assert_str_eq(c.redis_master, "mymaster");
	ck_assert_int_eq(pp_config_set(&c, "redis_url", "redis://a:b@h", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "redis_url") != NULL, "error does not name the key: %s", err);
	ck_assert_str_eq(c.redis.seed[0].host, "10.1.2.3");
	ck_assert_str_eq(c.redis_url, "redis://pp@10.1.2.3:7001/4");
	/* fail_open is a synonym of on_store_error's first two values. */
	ck_assert_int_eq(pp_config_set(&c, "fail_open", "yes", err, sizeof(err)), 0);
	ck_assert_int_eq(c.on_store_error, PP_ON_ERROR_ADMIT);
	ck_assert_int_eq(pp_config_set(&c, "fail_open", "no", err, sizeof(err)), 0);
	ck_assert_int_eq(c.on_store_error, PP_ON_ERROR_REJECT);
}
END_TEST

static void
write_secret(const char *name, size_t len, mode_t mode, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
	FILE *f = fopen(out, "w");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < len; i++)
		fputc((int)(i * 37 + 11) & 0xff, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(out, mode), 0);
}

/* A missing, short or shared-readable secret stops start-up naming the key;
 * a good one passes. */
START_TEST(test_key_secret_file)
{
	struct pp_config c;
	char err[1400], f[600];

	pp_config_defaults(&c);
	snprintf(c.key_secret_file, sizeof(c.key_secret_file), "%s/absent", tmpdir);
	ck_assert_int_eq(pp_config_check(&c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "key_secret_file") && strstr(err, "absent"), "%s", err);

	write_secret("short", 31, 0600, f, sizeof(f));
	snprintf(c.key_secret_file, sizeof(c.key_secret_file), "%s", f);
	ck_assert_int_eq(pp_config_check(&c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "key_secret_file") && strstr(err, "31 bytes"), "%s", err);

	write_secret("open", 32, 0640, f, sizeof(f));
	snprintf(c.key_secret_file, sizeof(c.key_secret_file), "%s", f);
	ck_assert_int_eq(pp_config_check(&c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "key_secret_file") && strstr(err, "0640"), "%s", err);
	ck_assert_int_eq(chmod(f, 0604), 0);
	ck_assert_int_eq(pp_config_check(&c, err, sizeof(err)), -1);

	write_secret("good", 32, 0400, f, sizeof(f));
	snprintf(c.key_secret_file, sizeof(c.key_secret_file), "%s", f);
	ck_assert_msg(pp_config_check(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(pp_config_check(&c, err, sizeof(err)), 0);
	ck_assert_msg(pp_store_check(&c, err, sizeof(err)) == 0, "%s", err);
	/* A directory is not a secret. */
	snprintf(c.key_secret_file, sizeof(c.key_secret_file), "%s", tmpdir);
	ck_assert_int_eq(chmod(tmpdir, 0700), 0);
	ck_assert_int_eq(pp_config_check(&c, err, sizeof(err)), -1);
}
END_TEST

/* A backend shared by hosts refuses to start without key_secret_file;
 * a store this build lacks, or local beside the host's own store, names
 * the key. */
START_TEST(test_store_check)
{
	static const struct pp_store_ops shared = { .name = "fake-shared", .supports = PP_STORE_SHARED };
	struct pp_config c;
	char err[1400], f[600];

	pp_config_defaults(&c);
	ck_assert_ptr_eq(pp_store_find("lmdb"), &pp_store_lmdb);
	ck_assert_ptr_null(pp_store_find("postgres"));
	ck_assert_int_eq(pp_store_check_backend(&shared, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "key_secret_file") != NULL, "%s", err);
	write_secret("good", 40, 0600, f, sizeof(f));
	snprintf(c.key_secret_file, sizeof(c.key_secret_file), "%s", f);
	ck_assert_msg(pp_store_check_backend(&shared, &c, err, sizeof(err)) == 0, "%s", err);

	c.on_store_error = PP_ON_ERROR_LOCAL;
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "on_store_error") != NULL, "%s", err);
	c.on_store_error = PP_ON_ERROR_REJECT;
	snprintf(c.store, sizeof(c.store), "nosuch");
	ck_assert_int_eq(pp_store_check(&c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "store") && strstr(err, "nosuch"), "%s", err);
}
END_TEST

/* The password: the environment's wins, the file's is read by the check
 * (one trailing newline dropped), an empty file names the key. */
START_TEST(test_redis_password)
{
	struct pp_config c;
	char err[1400] = "", f[600];
	char *envp[] = { "PINGPONG_REDIS_PASSWORD=from-env", NULL };

	pp_config_defaults(&c);
	snprintf(f, sizeof(f), "%s/pw", tmpdir);
	FILE *fp = fopen(f, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("from-file\n", fp);
	fclose(fp);
	ck_assert_int_eq(pp_config_set(&c, "redis_password_file", f, err, sizeof(err)), 0);
	ck_assert_msg(pp_config_check(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.redis_password, "from-file");

	pp_config_defaults(&c);
	ck_assert_int_eq(pp_config_set(&c, "redis_password_file", f, err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_load_env(&c, envp, err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_check(&c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.redis_password, "from-env");

	pp_config_defaults(&c);
	fp = fopen(f, "w");
	fclose(fp);
	ck_assert_int_eq(pp_config_set(&c, "redis_password_file", f, err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_check(&c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "redis_password_file") != NULL, "%s", err);
}
END_TEST

/* -t's listing is the file syntax: read back, it gives the same config. */
START_TEST(test_print_round_trip)
{
	struct pp_config c, back;
	char err[512] = "";

	pp_config_defaults(&c);
	ck_assert_int_eq(pp_config_set(&c, "per_key_window", "90s", err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_set(&c, "global_window", "1500ms", err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_set(&c, "db_map_size", "1536K", err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_set(&c, "on_store_error", "admit", err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_set(&c, "redis_url", "unix:/tmp/r.sock?db=2", err, sizeof(err)), 0);
	ck_assert_int_eq(pp_config_set(&c, "refusal_cache", "off", err, sizeof(err)), 0);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	pp_config_print(&c, f);
	ck_assert_int_eq(fclose(f), 0);
	memset(&back, 0, sizeof(back));
	pp_config_defaults(&back);
	ck_assert_int_eq(pp_config_set(&back, "per_key_limit", "99", err, sizeof(err)), 0);
	ck_assert_msg(pp_config_load_file(&back, path, false, err, sizeof(err)) == 0, "reload: %s", err);
	ck_assert(memcmp(&c, &back, sizeof(c)) == 0);
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { test_defaults, test_file, test_file_on_top, test_missing_file,
		                 test_set_direct, test_env_wins, test_env_bad_value, test_env_empty,
		                 test_map_must_hold_the_live_windows, test_redis_keys, test_redis_url_seeds,
		                 test_key_secret_file, test_store_check, test_redis_password,
		                 test_print_round_trip, NULL };
	Suite *s = suite_create("config");
	TCase *tc = pp_test_case(s, "config", setup, teardown, tests);

	tcase_add_loop_test(tc, test_bad_line, 0, (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
	tcase_add_loop_test(tc, test_redis_url_good, 0, (int)(sizeof(good_urls) / sizeof(good_urls[0])));
	tcase_add_loop_test(tc, test_redis_url_seeds_bad, 0,
	                    (int)(sizeof(seeds_errors) / sizeof(seeds_errors[0])));
	return pp_test_run(s);
}
