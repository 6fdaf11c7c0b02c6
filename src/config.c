/* config.c - reads pingpong.conf and PINGPONG_* overrides into struct pp_config.
 * Every bad value stops start-up with a message that says where it came from. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef PP_LOCALSTATEDIR
#define PP_LOCALSTATEDIR "/var"
#endif

/* Upper bounds keep every derived quantity (bucket arrays, ms arithmetic)
 * far from overflow; an operator needing more is asking for another tool. */
#define LIMIT_MAX     1000000u
#define WINDOW_MAX_MS (7LL * 24 * 3600 * 1000)
#define MAP_MIN       (1ULL << 20)
#define MAP_MAX       (1ULL << 40)

void
pp_config_defaults(struct pp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->db_path, sizeof(cfg->db_path), "%s/lib/pingpong", PP_LOCALSTATEDIR);
	cfg->db_map_size = 64ULL << 20;
	cfg->policy.per_key.limit = 10;
	cfg->policy.per_key.window_ms = 60000;
	cfg->policy.global.limit = 2;
	cfg->policy.global.window_ms = 1000;
	cfg->fail_open = false;
	cfg->log_level = PP_LOG_INFO;
}

static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || *end || n > max)
		return -1;
	*out = n;
	return 0;
}

/* "60s", "500ms", "2m", "1h"; a bare number is seconds. */
static int
parse_duration_ms(const char *v, int64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || n > (unsigned long long)WINDOW_MAX_MS)
		return -1;
	uint64_t mult;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		return -1;
	if (n == 0 || n * mult > (uint64_t)WINDOW_MAX_MS)
		return -1;
	*out = (int64_t)(n * mult);
	return 0;
}

/* "64M", "1G", "65536", "512K". */
static int
parse_size(const char *v, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	int shift;
	switch (toupper((unsigned char)*end)) {
	case '\0': shift = 0; break;
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	default: return -1;
	}
	if (*end && end[1] && !(toupper((unsigned char)end[1]) == 'B' && end[2] == '\0') &&
	    !(toupper((unsigned char)end[1]) == 'I' && toupper((unsigned char)end[2]) == 'B' && end[3] == '\0'))
		return -1;
	if (n > (MAP_MAX >> shift))
		return -1;
	*out = (uint64_t)n << shift;
	return 0;
}

static int
parse_bool(const char *v, bool *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) { *out = true; return 0; }
		if (strcasecmp(v, no[i]) == 0) { *out = false; return 0; }
	}
	return -1;
}

int
pp_config_set(struct pp_config *cfg, const char *key, const char *v, char *err, size_t errlen)
{
	uint64_t u;

	if (strcmp(key, "db_path") == 0) {
		size_t n = strlen(v);
		if (n == 0 || n >= sizeof(cfg->db_path)) {
			snprintf(err, errlen, "db_path: must be a directory path of 1 to %zu bytes",
			         sizeof(cfg->db_path) - 1);
			return -1;
		}
		memcpy(cfg->db_path, v, n + 1);
	} else if (strcmp(key, "db_map_size") == 0) {
		if (parse_size(v, &u) || u < MAP_MIN) {
			snprintf(err, errlen, "db_map_size: '%s' is not a size from 1M to 1024G (e.g. 64M)", v);
			return -1;
		}
		cfg->db_map_size = u;
	} else if (strcmp(key, "per_key_limit") == 0 || strcmp(key, "global_limit") == 0) {
		if (parse_uint(v, LIMIT_MAX, &u) || u == 0) {
			snprintf(err, errlen, "%s: '%s' is not a whole number from 1 to %u", key, v, LIMIT_MAX);
			return -1;
		}
		(key[0] == 'p' ? &cfg->policy.per_key : &cfg->policy.global)->limit = (uint32_t)u;
	} else if (strcmp(key, "per_key_window") == 0 || strcmp(key, "global_window") == 0) {
		int64_t ms;
		if (parse_duration_ms(v, &ms)) {
			snprintf(err, errlen, "%s: '%s' is not a duration from 1ms to 7 days (e.g. 60s, 500ms)", key, v);
			return -1;
		}
		(key[0] == 'p' ? &cfg->policy.per_key : &cfg->policy.global)->window_ms = ms;
	} else if (strcmp(key, "fail_open") == 0) {
		if (parse_bool(v, &cfg->fail_open)) {
			snprintf(err, errlen, "fail_open: '%s' is not yes or no", v);
			return -1;
		}
	} else if (strcmp(key, "log_level") == 0) {
		static const char *names[] = { "error", "warn", "info", "debug" };
		size_t i;
		for (i = 0; i < 4 && strcasecmp(v, names[i]) != 0; i++)
			;
		if (i == 4) {
			snprintf(err, errlen, "log_level: '%s' is not one of error, warn, info, debug", v);
			return -1;
		}
		cfg->log_level = (enum pp_log_level)i;
	} else {
		snprintf(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	return 0;
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
pp_config_load_file(struct pp_config *cfg, const char *path, bool missing_ok, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (missing_ok && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[2048], why[512];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line longer than %zu bytes", path, lineno, sizeof(line) - 2);
			rc = -1;
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (*s == '\0')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		if (pp_config_set(cfg, key, val, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

int
pp_config_load_env(struct pp_config *cfg, char *const *envp, char *err, size_t errlen)
{
	static const char *keys[] = { "db_path", "db_map_size", "per_key_limit", "per_key_window",
	                              "global_limit", "global_window", "fail_open", "log_level" };
	static const char prefix[] = "PINGPONG_";
	char why[512];

	for (; envp && *envp; envp++) {
		const char *e = *envp;
		if (strncmp(e, prefix, sizeof(prefix) - 1) != 0)
			continue;
		const char *name = e + sizeof(prefix) - 1, *eq = strchr(name, '=');
		if (!eq)
			continue;
		size_t nlen = (size_t)(eq - name);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (strlen(keys[k]) != nlen || strncasecmp(keys[k], name, nlen) != 0)
				continue;
			/* Only the upper-case spelling is ours, as SPEC names it. */
			bool upper = true;
			for (size_t i = 0; i < nlen; i++)
				if (islower((unsigned char)name[i]))
					upper = false;
			if (!upper)
				break;
			if (pp_config_set(cfg, keys[k], eq + 1, why, sizeof(why))) {
				snprintf(err, errlen, "environment %.*s: %s", (int)(eq - e), e, why);
				return -1;
			}
		}
	}
	return 0;
}

uint64_t
pp_config_live_max(const struct pp_config *cfg)
{
	const struct pp_policy *p = &cfg->policy;
	uint64_t spans = (uint64_t)((p->per_key.window_ms + p->global.window_ms - 1) / p->global.window_ms) + 1;
	return (uint64_t)p->global.limit * spans;
}

uint64_t
pp_config_map_needed(const struct pp_config *cfg)
{
	/* Twice the measured 130 bytes a live admission takes, for half-full
	 * pages and windows expired but not yet reclaimed; the global window
	 * twice over (copy-on-write); 1 MiB for LMDB's own pages and the
	 * copies a commit makes while readers hold older snapshots. */
	const struct pp_limit *g = &cfg->policy.global;
	uint64_t gbuckets = (uint64_t)g->window_ms < g->limit ? (uint64_t)g->window_ms : g->limit;
	return pp_config_live_max(cfg) * 260 + gbuckets * 32 + (1ULL << 20);
}

int
pp_config_check(const struct pp_config *cfg, char *err, size_t errlen)
{
	uint64_t need = pp_config_map_needed(cfg);
	if (cfg->db_map_size < need) {
		snprintf(err, errlen,
		         "db_map_size %llu MiB is too small for these limits: up to %llu admissions "
		         "can be live at once (global_limit x (per_key_window / global_window + 1)), "
		         "which need about %llu MiB; raise db_map_size or lower global_limit",
		         (unsigned long long)(cfg->db_map_size >> 20),
		         (unsigned long long)pp_config_live_max(cfg),
		         (unsigned long long)((need + (1 << 20) - 1) >> 20));
		return -1;
	}
	return 0;
}
