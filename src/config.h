/* config.h - the operator's interface: a key = value file, then PINGPONG_<KEY>
 * environment overrides. One table of keys (config.c) drives both, the
 * defaults and the -t listing. Errors name the file and line (or variable). */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "limiter.h"

enum pp_log_level {
	PP_LOG_ERROR = 0,
	PP_LOG_WARN,
	PP_LOG_INFO,
	PP_LOG_DEBUG
};

/* What a request gets when the store fails (fail_open = yes|no is a synonym
 * for admit|reject). */
enum pp_on_error {
	PP_ON_ERROR_REJECT = 0,
	PP_ON_ERROR_ADMIT,
	PP_ON_ERROR_LOCAL
};

/* One Redis node: a name, an IPv4 or an IPv6 address (no brackets), a port. */
struct pp_redis_node {
	char host[256];
	unsigned port;
};

#define PP_REDIS_SEEDS_MAX 8

/* redis_url, parsed: a comma-separated list of up to PP_REDIS_SEEDS_MAX
 * redis://[user@]host[:port][/db] seeds (one Cluster or primary reached
 * through any of them: they share user and db), or one
 * unix:/path/to/socket[?db=N]. Either nseeds > 0 or unix_path is set. */
struct pp_redis_addr {
	struct pp_redis_node seed[PP_REDIS_SEEDS_MAX];
	unsigned nseeds;     /* 0 with unix_path */
	char unix_path[108]; /* sizeof(sun_path) */
	char user[128];      /* empty: no ACL user (AUTH with the password only) */
	unsigned db;
};

#define PP_CONF_PATH_MAX 1024
/* db_map_size = auto: the store sizes its map from the limits. */
#define PP_MAP_AUTO 0

struct pp_config {
	char db_path[PP_CONF_PATH_MAX];
	uint64_t db_map_size;     /* bytes, or PP_MAP_AUTO */
	struct pp_policy policy;  /* policy.global.limit PP_LIMIT_OFF: no global limit */
	bool dry_run;             /* decide and record, but answer 200 to refusals */
	bool nginx_refusal_cache; /* per-key 429s say how long nginx may repeat them */
	enum pp_on_error on_store_error;
	enum pp_log_level log_level;
	char store[16];                         /* a backend name: lmdb | redis */
	char key_secret_file[PP_CONF_PATH_MAX]; /* empty: the backend keeps the secret */
	char redis_url[512];
	struct pp_redis_addr redis; /* redis_url, parsed when it was set */
	char redis_password_file[PP_CONF_PATH_MAX];
	char redis_password[512]; /* from PINGPONG_REDIS_PASSWORD or the file; never printed */
	char redis_prefix[64];
	int64_t redis_timeout_ms;
	int64_t redis_retry_ms;
	bool refusal_cache;
	int64_t refusal_cache_max_ms;
	char redis_sentinels[512]; /* host:port,... (empty: no Sentinel) */
	char redis_master[128];
};

/* Fills cfg with the built-in defaults (SPEC's), from the key table. */
void pp_config_defaults(struct pp_config *cfg);

/* Reads path into cfg (on top of what cfg holds). If missing_ok and the file
 * does not exist, returns 0 and leaves cfg alone. Returns 0, or -1 with a
 * one-line reason in err ("FILE:LINE: ..."). */
int pp_config_load_file(struct pp_config *cfg, const char *path, bool missing_ok,
                        char *err, size_t errlen);

/* Applies PINGPONG_<KEY> variables from envp (NULL-terminated, as environ),
 * and PINGPONG_REDIS_PASSWORD (a secret, not a key: never listed).
 * Variables that name no key are ignored: orchestrators inject their own
 * PINGPONG_* names (Kubernetes service links). Returns 0 or -1 with err. */
int pp_config_load_env(struct pp_config *cfg, char *const *envp, char *err, size_t errlen);

/* Checks the values together (each one was checked when set), the files
 * they name (key_secret_file: present, >= 32 bytes, no group or world
 * access), and reads redis_password_file unless the environment gave a
 * password. The store's own rules are pp_store_check's. Returns 0 or -1
 * with a reason naming the key in err. */
int pp_config_check(struct pp_config *cfg, char *err, size_t errlen);

/* The file both programs read when -c is not given:
 * SYSCONFDIR/pingpong/pingpong.conf. A static string. */
const char *pp_config_default_path(void);

/* The whole start-up read, as pingpong-fcgi and pingpongctl both do it:
 * defaults, then the file at path (NULL: the default file, which may be
 * absent, as for a container configured by env), then PINGPONG_*, then
 * pp_config_check. Returns 0, or -1 with a reason naming the key in err. */
int pp_config_load(struct pp_config *cfg, const char *path, char *err, size_t errlen);

/* Parses one "key = value" assignment into cfg; used by both loaders and the
 * unit tests. A rejected value changes nothing. Returns 0 or -1 with a
 * reason (without location) in err. */
int pp_config_set(struct pp_config *cfg, const char *key, const char *value,
                  char *err, size_t errlen);

/* Prints every key as "key = value", one a line, in table order: the -t
 * listing (the docs check reads the key names from it). */
void pp_config_print(const struct pp_config *cfg, FILE *f);

/* Parses a redis_url (one URL or a comma-separated list of seeds) into
 * out. Pure. Returns 0, or -1 with a reason in err
 * (out is then unspecified). */
int pp_redis_url_parse(const char *url, struct pp_redis_addr *out, char *err, size_t errlen);

#define PP_SECRET_FILE_MIN 32
/* Reads key_secret_file (path) into buf (cap bytes, at least
 * PP_SECRET_FILE_MIN): it must be a regular file of PP_SECRET_FILE_MIN to
 * cap bytes with no group or world access. Returns the length, or -1 with
 * a reason naming the key in err; buf may hold part of the file on
 * failure, so the caller wipes it either way. */
long pp_config_read_secret(const char *path, unsigned char *buf, size_t cap,
                           char *err, size_t errlen);

#endif
