/* config.c - reads pingpong.conf and PINGPONG_* overrides into struct pp_config.
 * One table row per key (tmux's options-table style): the parser, the
 * defaults, the environment and the -t listing all read the same rows. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PP_SYSCONFDIR
#define PP_SYSCONFDIR "/etc"
#endif
#ifndef PP_LOCALSTATEDIR
#define PP_LOCALSTATEDIR "/var"
#endif

/* Upper bounds keep every derived quantity (bucket arrays, ms arithmetic)
 * far from overflow; an operator needing more is asking for another tool. */
#define LIMIT_MAX     1000000u
#define WINDOW_MAX_MS (7LL * 24 * 3600 * 1000)
#define MAP_MIN       (1ULL << 20)
#define MAP_MAX       (1ULL << 40)

enum key_type {
	KEY_PATH,     /* a file or directory name; empty allowed when min is 0 */
	KEY_STRING,   /* char[], checked by the row's hook if any */
	KEY_SIZE,     /* uint64_t bytes, K/M/G suffixes; or one of the row's words */
	KEY_COUNT,    /* uint32_t; or one of the row's words */
	KEY_DURATION, /* int64_t ms, ms/s/m/h suffixes */
	KEY_BOOL,     /* bool */
	KEY_ENUM,     /* int, one of the row's names */
};

struct enum_name {
	const char *name;
	int value;
};

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;                   /* of the field: strings are bounded by it */
	uint64_t min, max;             /* count, size, duration (ms); path/string length */
	const char *def;               /* the default, in the file's syntax */
	const struct enum_name *names; /* KEY_ENUM, KEY_STRING: the values allowed;
	                                * KEY_COUNT, KEY_SIZE: words allowed besides
	                                * numbers ("off", "auto"); NULL-terminated */
	bool alias;                    /* a synonym of another row: not listed by -t */
	/* After the generic parse of a string: reject or derive. */
	int (*hook)(struct pp_config *cfg, const char *v, char *err, size_t errlen);
};

static const struct enum_name on_error_names[] = {
	{ "reject", PP_ON_ERROR_REJECT },
	{ "admit", PP_ON_ERROR_ADMIT },
	{ "local", PP_ON_ERROR_LOCAL },
	{ NULL, 0 },
};
/* fail_open is the old spelling of on_store_error's first two values. */
static const struct enum_name fail_open_names[] = {
	{ "no", PP_ON_ERROR_REJECT },
	{ "yes", PP_ON_ERROR_ADMIT },
	{ "false", PP_ON_ERROR_REJECT },
	{ "true", PP_ON_ERROR_ADMIT },
	{ "off", PP_ON_ERROR_REJECT },
	{ "on", PP_ON_ERROR_ADMIT },
	{ "0", PP_ON_ERROR_REJECT },
	{ "1", PP_ON_ERROR_ADMIT },
	{ NULL, 0 },
};
static const struct enum_name log_level_names[] = {
	{ "error", PP_LOG_ERROR },
	{ "warn", PP_LOG_WARN },
	{ "info", PP_LOG_INFO },
	{ "debug", PP_LOG_DEBUG },
	{ NULL, 0 },
};
/* Names the parser accepts; whether this build has the backend is
 * pp_store_check's question, so -t can say so naming the key. */
static const struct enum_name store_names[] = {
	{ "lmdb", 0 },
	{ "redis", 1 },
	{ NULL, 0 },
};
/* Words a number key takes besides numbers (KEY_COUNT, KEY_SIZE). */
static const struct enum_name map_size_words[] = { { "auto", PP_MAP_AUTO }, { NULL, 0 } };
static const struct enum_name limit_words[] = { { "off", PP_LIMIT_OFF }, { NULL, 0 } };

static int redis_url_hook(struct pp_config *, const char *, char *, size_t);
static int redis_prefix_hook(struct pp_config *, const char *, char *, size_t);
static int sentinels_hook(struct pp_config *, const char *, char *, size_t);

#define F(field) offsetof(struct pp_config, field), sizeof(((struct pp_config *)0)->field)
#define SEC(n)   ((uint64_t)(n)*1000)

static const struct key keys[] = {
	{ "db_path", KEY_PATH, F(db_path), 1, 0, PP_LOCALSTATEDIR "/lib/pingpong", NULL, false, NULL },
	{ "db_map_size", KEY_SIZE, F(db_map_size), MAP_MIN, MAP_MAX, "auto", map_size_words, false, NULL },
	{ "per_key_limit", KEY_COUNT, F(policy.per_key.limit), 1, LIMIT_MAX, "10", NULL, false, NULL },
	{ "per_key_window", KEY_DURATION, F(policy.per_key.window_ms), 1, WINDOW_MAX_MS, "60s", NULL, false, NULL },
	{ "global_limit", KEY_COUNT, F(policy.global.limit), 1, LIMIT_MAX, "2", limit_words, false, NULL },
	{ "global_window", KEY_DURATION, F(policy.global.window_ms), 1, WINDOW_MAX_MS, "1s", NULL, false, NULL },
	{ "on_store_error", KEY_ENUM, F(on_store_error), 0, 0, "reject", on_error_names, false, NULL },
	{ "fail_open", KEY_ENUM, F(on_store_error), 0, 0, "no", fail_open_names, true, NULL },
	{ "dry_run", KEY_BOOL, F(dry_run), 0, 0, "no", NULL, false, NULL },
	{ "nginx_refusal_cache", KEY_BOOL, F(nginx_refusal_cache), 0, 0, "no", NULL, false, NULL },
	{ "log_level", KEY_ENUM, F(log_level), 0, 0, "info", log_level_names, false, NULL },
	{ "store", KEY_STRING, F(store), 1, 0, "lmdb", store_names, false, NULL },
	{ "key_secret_file", KEY_PATH, F(key_secret_file), 0, 0, "", NULL, false, NULL },
	{ "redis_url", KEY_STRING, F(redis_url), 1, 0, "redis://127.0.0.1:6379/0", NULL, false, redis_url_hook },
	{ "redis_password_file", KEY_PATH, F(redis_password_file), 0, 0, "", NULL, false, NULL },
	{ "redis_prefix", KEY_STRING, F(redis_prefix), 1, 0, "pp", NULL, false, redis_prefix_hook },
	{ "redis_timeout", KEY_DURATION, F(redis_timeout_ms), 1, SEC(60), "50ms", NULL, false, NULL },
	{ "redis_retry", KEY_DURATION, F(redis_retry_ms), 0, SEC(3600), "1s", NULL, false, NULL },
	{ "refusal_cache", KEY_BOOL, F(refusal_cache), 0, 0, "yes", NULL, false, NULL },
	{ "refusal_cache_max", KEY_DURATION, F(refusal_cache_max_ms), 1, SEC(60), "1s", NULL, false, NULL },
	{ "redis_sentinels", KEY_STRING, F(redis_sentinels), 0, 0, "", NULL, false, sentinels_hook },
	{ "redis_master", KEY_STRING, F(redis_master), 0, 0, "", NULL, false, NULL },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *
find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

/* The decimal digits v starts with (at least one, no sign or space, as
 * strtoull alone would take) into n, with end just past them. */
static int
leading_number(const char *v, unsigned long long *n, char **end)
{
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	*n = strtoull(v, end, 10);
	return errno ? -1 : 0;
}

static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	unsigned long long n;
	char *end;
	if (leading_number(v, &n, &end) || *end || n > max)
		return -1;
	*out = n;
	return 0;
}

/* "60s", "500ms", "2m", "1h"; a bare number is seconds. */
static int
parse_duration_ms(const char *v, int64_t *out)
{
	unsigned long long n;
	char *end;
	if (leading_number(v, &n, &end) || n > (unsigned long long)WINDOW_MAX_MS)
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
	if (n * mult > (uint64_t)WINDOW_MAX_MS)
		return -1;
	*out = (int64_t)(n * mult);
	return 0;
}

/* "64M", "1G", "65536", "512K". */
static int
parse_size(const char *v, uint64_t *out)
{
	unsigned long long n;
	char *end;
	if (leading_number(v, &n, &end))
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
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* A duration as the file would spell it; with days, "7 days" (for error
 * messages: it reads better than 168h, but the parser takes no days). */
static void
format_duration(int64_t ms, bool days, char *out, size_t cap)
{
	if (days && ms >= 86400000 && ms % 86400000 == 0)
		snprintf(out, cap, "%lld days", (long long)(ms / 86400000));
	else if (ms >= 3600000 && ms % 3600000 == 0)
		snprintf(out, cap, "%lldh", (long long)(ms / 3600000));
	else if (ms >= 60000 && ms % 60000 == 0)
		snprintf(out, cap, "%lldm", (long long)(ms / 60000));
	else if (ms >= 1000 && ms % 1000 == 0)
		snprintf(out, cap, "%llds", (long long)(ms / 1000));
	else
		snprintf(out, cap, "%lldms", (long long)ms);
}

static void
format_size(uint64_t n, char *out, size_t cap)
{
	if (n >= (1ULL << 30) && n % (1ULL << 30) == 0)
		snprintf(out, cap, "%lluG", (unsigned long long)(n >> 30));
	else if (n >= (1ULL << 20) && n % (1ULL << 20) == 0)
		snprintf(out, cap, "%lluM", (unsigned long long)(n >> 20));
	else if (n >= (1ULL << 10) && n % (1ULL << 10) == 0)
		snprintf(out, cap, "%lluK", (unsigned long long)(n >> 10));
	else
		snprintf(out, cap, "%llu", (unsigned long long)n);
}

static void
list_names(const struct enum_name *n, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; n[i].name && used < cap; i++) {
		int w = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", n[i].name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* The row's word equal to v (any case), or NULL. */
static const struct enum_name *
find_word(const struct enum_name *words, const char *v)
{
	for (size_t i = 0; words[i].name; i++)
		if (strcasecmp(v, words[i].name) == 0)
			return &words[i];
	return NULL;
}

/* The row's word for the value val, or NULL (a number prints as one). */
static const char *
word_of(const struct key *k, uint64_t val)
{
	if (!k->names)
		return NULL;
	for (size_t i = 0; k->names[i].name; i++)
		if ((uint64_t)k->names[i].value == val)
			return k->names[i].name;
	return NULL;
}

/* The error for a value that is not one of k's names. */
static int
not_one_of(const struct key *k, const char *v, char *err, size_t errlen)
{
	char names[128];
	list_names(k->names, names, sizeof(names));
	snprintf(err, errlen, "%s: '%s' is not one of %s", k->name, v, names);
	return -1;
}

/* KEY_PATH and KEY_STRING: the length, the row's names if any, then its
 * hook, before the field is touched. */
static int
set_text(struct pp_config *cfg, const struct key *k, char *field, const char *v, char *err,
         size_t errlen)
{
	size_t n = strlen(v);
	if (n < k->min || n >= k->size) {
		snprintf(err, errlen, "%s: must be %s of %llu to %zu bytes", k->name,
		         k->type == KEY_PATH ? "a path" : "a value", (unsigned long long)k->min, k->size - 1);
		return -1;
	}
	if (k->names) {
		size_t i;
		for (i = 0; k->names[i].name && strcmp(v, k->names[i].name) != 0; i++)
			;
		if (!k->names[i].name)
			return not_one_of(k, v, err, errlen);
	}
	if (k->hook && n && k->hook(cfg, v, err, errlen))
		return -1;
	memcpy(field, v, n + 1);
	return 0;
}

/* A parsed value of any fixed-size type; its first bytes are the field's
 * (every member starts at offset 0). */
union value {
	uint64_t u;
	uint32_t u32;
	int64_t ms;
	bool b;
	int e;
};

/* Each fixed-size type parses v into a value within k's bounds (0), or
 * fails (-1) and explains why, naming the key; words lists the row's words
 * besides numbers ("" if none). The value is stored only after a parse
 * succeeds, so a rejected value leaves the field as it was. */
struct type_ops {
	size_t width;
	int (*parse)(const struct key *k, const char *v, union value *out);
	void (*explain)(const struct key *k, const char *v, const char *words, char *err, size_t errlen);
};

static int
parse_size_key(const struct key *k, const char *v, union value *out)
{
	return parse_size(v, &out->u) || out->u < k->min || out->u > k->max ? -1 : 0;
}

static void
explain_size(const struct key *k, const char *v, const char *words, char *err, size_t errlen)
{
	char lo[32], hi[32];
	format_size(k->min, lo, sizeof(lo));
	format_size(k->max, hi, sizeof(hi));
	snprintf(err, errlen, "%s: '%s' is not a size from %s to %s (e.g. 64M)%s%s", k->name, v, lo, hi,
	         words[0] ? " or " : "", words);
}

static int
parse_count_key(const struct key *k, const char *v, union value *out)
{
	uint64_t u;
	if (parse_uint(v, k->max, &u) || u < k->min)
		return -1;
	out->u32 = (uint32_t)u;
	return 0;
}

static void
explain_count(const struct key *k, const char *v, const char *words, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: '%s' is not a whole number from %llu to %llu%s%s", k->name, v,
	         (unsigned long long)k->min, (unsigned long long)k->max, words[0] ? " or " : "", words);
}

static int
parse_duration_key(const struct key *k, const char *v, union value *out)
{
	if (parse_duration_ms(v, &out->ms))
		return -1;
	return (uint64_t)out->ms < k->min || (uint64_t)out->ms > k->max ? -1 : 0;
}

static void
explain_duration(const struct key *k, const char *v, const char *words, char *err, size_t errlen)
{
	char lo[32], hi[32];
	(void)words;
	format_duration((int64_t)k->min, true, lo, sizeof(lo));
	format_duration((int64_t)k->max, true, hi, sizeof(hi));
	snprintf(err, errlen, "%s: '%s' is not a duration from %s to %s (e.g. 60s, 500ms)", k->name, v,
	         lo, hi);
}

static int
parse_bool_key(const struct key *k, const char *v, union value *out)
{
	(void)k;
	return parse_bool(v, &out->b);
}

static void
explain_bool(const struct key *k, const char *v, const char *words, char *err, size_t errlen)
{
	(void)words;
	snprintf(err, errlen, "%s: '%s' is not yes or no", k->name, v);
}

static int
parse_enum_key(const struct key *k, const char *v, union value *out)
{
	const struct enum_name *w = find_word(k->names, v);
	if (!w)
		return -1;
	out->e = w->value;
	return 0;
}

static void
explain_enum(const struct key *k, const char *v, const char *words, char *err, size_t errlen)
{
	(void)words;
	not_one_of(k, v, err, errlen);
}

static const struct type_ops type_ops[] = {
	[KEY_SIZE] = { sizeof(uint64_t), parse_size_key, explain_size },
	[KEY_COUNT] = { sizeof(uint32_t), parse_count_key, explain_count },
	[KEY_DURATION] = { sizeof(int64_t), parse_duration_key, explain_duration },
	[KEY_BOOL] = { sizeof(bool), parse_bool_key, explain_bool },
	[KEY_ENUM] = { sizeof(int), parse_enum_key, explain_enum },
};

/* A count or size row's word ("off", "auto") stands for a value of the
 * field's own width. */
static void
store_word(const struct key *k, char *field, const struct enum_name *w)
{
	if (k->type == KEY_COUNT) {
		uint32_t w32 = (uint32_t)w->value;
		memcpy(field, &w32, sizeof(w32));
	} else {
		uint64_t u = (uint64_t)w->value;
		memcpy(field, &u, sizeof(u));
	}
}

/* Sets k from its text v: text types by set_text; others a row's word
 * first, then their type's parser. */
static int
set_key(struct pp_config *cfg, const struct key *k, const char *v, char *err, size_t errlen)
{
	char *field = (char *)cfg + k->offset, words[128] = "";
	union value val;

	if (k->type == KEY_PATH || k->type == KEY_STRING)
		return set_text(cfg, k, field, v, err, errlen);
	if ((k->type == KEY_COUNT || k->type == KEY_SIZE) && k->names) {
		const struct enum_name *w = find_word(k->names, v);
		if (w) {
			store_word(k, field, w);
			return 0;
		}
		list_names(k->names, words, sizeof(words));
	}
	const struct type_ops *t = NULL;
	if ((size_t)k->type < sizeof(type_ops) / sizeof(type_ops[0]))
		t = &type_ops[k->type];
	if (!t || !t->parse) {
		snprintf(err, errlen, "%s: no parser for this key", k->name);
		return -1;
	}
	if (t->parse(k, v, &val)) {
		t->explain(k, v, words, err, errlen);
		return -1;
	}
	_Static_assert(sizeof(union value) >= sizeof(uint64_t), "every fixed-size field fits");
	memcpy(field, &val, t->width);
	return 0;
}

void
pp_config_defaults(struct pp_config *cfg)
{
	char err[256];
	_Static_assert(sizeof(enum pp_on_error) == sizeof(int) && sizeof(enum pp_log_level) == sizeof(int),
	               "KEY_ENUM fields are stored as int");
	memset(cfg, 0, sizeof(*cfg));
	/* The defaults are the table's own text; a row whose default its own
	 * parser rejects is a bug the unit tests catch (test_defaults). */
	for (size_t i = 0; i < NKEYS; i++)
		if (!keys[i].alias && set_key(cfg, &keys[i], keys[i].def, err, sizeof(err)))
			fprintf(stderr, "pingpong: built-in default of %s\n", err);
}

int
pp_config_set(struct pp_config *cfg, const char *key, const char *v, char *err, size_t errlen)
{
	const struct key *k = find_key(key, strlen(key));
	if (!k) {
		snprintf(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	return set_key(cfg, k, v, err, errlen);
}

void
pp_config_print(const struct pp_config *cfg, FILE *f)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *field = (const char *)cfg + k->offset;
		char buf[64];
		uint64_t u;
		uint32_t u32;
		int64_t ms;
		bool b;
		int e;

		if (k->alias)
			continue;
		switch (k->type) {
		case KEY_PATH:
		case KEY_STRING:
			fprintf(f, "%s = %s\n", k->name, field);
			break;
		case KEY_SIZE:
			memcpy(&u, field, sizeof(u));
			format_size(u, buf, sizeof(buf));
			fprintf(f, "%s = %s\n", k->name, word_of(k, u) ? word_of(k, u) : buf);
			break;
		case KEY_COUNT:
			memcpy(&u32, field, sizeof(u32));
			if (word_of(k, u32))
				fprintf(f, "%s = %s\n", k->name, word_of(k, u32));
			else
				fprintf(f, "%s = %" PRIu32 "\n", k->name, u32);
			break;
		case KEY_DURATION:
			memcpy(&ms, field, sizeof(ms));
			format_duration(ms, false, buf, sizeof(buf));
			fprintf(f, "%s = %s\n", k->name, buf);
			break;
		case KEY_BOOL:
			memcpy(&b, field, sizeof(b));
			fprintf(f, "%s = %s\n", k->name, b ? "yes" : "no");
			break;
		case KEY_ENUM:
			memcpy(&e, field, sizeof(e));
			for (size_t j = 0; k->names[j].name; j++) {
				if (k->names[j].value == e) {
					fprintf(f, "%s = %s\n", k->name, k->names[j].name);
					break;
				}
			}
			break;
		}
	}
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
	static const char prefix[] = "PINGPONG_", password[] = "PINGPONG_REDIS_PASSWORD=";
	char why[512], lower[64];

	for (; envp && *envp; envp++) {
		const char *e = *envp;
		if (strncmp(e, password, sizeof(password) - 1) == 0) {
			const char *pw = e + sizeof(password) - 1;
			if (strlen(pw) >= sizeof(cfg->redis_password)) {
				snprintf(err, errlen, "environment PINGPONG_REDIS_PASSWORD: longer than %zu bytes",
				         sizeof(cfg->redis_password) - 1);
				return -1;
			}
			snprintf(cfg->redis_password, sizeof(cfg->redis_password), "%s", pw);
			continue;
		}
		if (strncmp(e, prefix, sizeof(prefix) - 1) != 0)
			continue;
		const char *name = e + sizeof(prefix) - 1, *eq = strchr(name, '=');
		if (!eq || (size_t)(eq - name) >= sizeof(lower))
			continue;
		/* Only the upper-case spelling is ours, as SPEC names it. */
		size_t nlen = (size_t)(eq - name), i;
		for (i = 0; i < nlen && !islower((unsigned char)name[i]); i++)
			lower[i] = (char)tolower((unsigned char)name[i]);
		if (i < nlen)
			continue;
		const struct key *k = find_key(lower, nlen);
		if (k && set_key(cfg, k, eq + 1, why, sizeof(why))) {
			snprintf(err, errlen, "environment %.*s: %s", (int)(eq - e), e, why);
			return -1;
		}
	}
	return 0;
}

long
pp_config_read_secret(const char *path, unsigned char *buf, size_t cap, char *err, size_t errlen)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "key_secret_file %s: %s", path, strerror(errno));
		return -1;
	}
	long n = -1;
	if (fstat(fd, &sb)) {
		snprintf(err, errlen, "key_secret_file %s: %s", path, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "key_secret_file %s: not a regular file", path);
	} else if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "key_secret_file %s: mode %04o lets group or others in; "
		                      "chmod 0400 or 0600 it (Kubernetes: defaultMode 0400)",
		         path,
		         (unsigned)(sb.st_mode & 07777));
	} else if (sb.st_size < PP_SECRET_FILE_MIN || (uint64_t)sb.st_size > cap) {
		snprintf(err, errlen, "key_secret_file %s: %lld bytes; it must hold %d to %zu random bytes "
		                      "(head -c 32 /dev/urandom)",
		         path, (long long)sb.st_size, PP_SECRET_FILE_MIN, cap);
	} else {
		ssize_t got = read(fd, buf, (size_t)sb.st_size);
		if (got != (ssize_t)sb.st_size)
			snprintf(err, errlen, "key_secret_file %s: short read", path);
		else
			n = (long)got;
	}
	close(fd);
	return n;
}

/* A password file holds the password, perhaps with one trailing newline. */
static int
read_password(struct pp_config *cfg, char *err, size_t errlen)
{
	FILE *f = fopen(cfg->redis_password_file, "r");
	if (!f) {
		snprintf(err, errlen, "redis_password_file %s: %s", cfg->redis_password_file, strerror(errno));
		return -1;
	}
	size_t n = fread(cfg->redis_password, 1, sizeof(cfg->redis_password), f);
	int bad = ferror(f) || n == sizeof(cfg->redis_password);
	fclose(f);
	while (n > 0 && (cfg->redis_password[n - 1] == '\n' || cfg->redis_password[n - 1] == '\r'))
		n--;
	if (bad || n == 0 || memchr(cfg->redis_password, '\0', n)) {
		memset(cfg->redis_password, 0, sizeof(cfg->redis_password));
		snprintf(err, errlen, "redis_password_file %s: must hold one password of 1 to %zu bytes",
		         cfg->redis_password_file, sizeof(cfg->redis_password) - 1);
		return -1;
	}
	cfg->redis_password[n] = '\0';
	return 0;
}

int
pp_config_check(struct pp_config *cfg, char *err, size_t errlen)
{
	if (cfg->key_secret_file[0]) {
		unsigned char buf[4096];
		long n = pp_config_read_secret(cfg->key_secret_file, buf, sizeof(buf), err, errlen);
		memset(buf, 0, sizeof(buf));
		if (n < 0)
			return -1;
	}
	/* The environment's password wins over the file's, as every
	 * PINGPONG_* variable wins over the file. */
	if (cfg->redis_password_file[0] && !cfg->redis_password[0] && read_password(cfg, err, errlen))
		return -1;
	if (cfg->redis_master[0] && !cfg->redis_sentinels[0]) {
		snprintf(err, errlen, "redis_master: set, but redis_sentinels is empty");
		return -1;
	}
	if (cfg->redis_sentinels[0] && !cfg->redis_master[0]) {
		snprintf(err, errlen, "redis_sentinels: set, but redis_master (the monitored name) is empty");
		return -1;
	}
	return 0;
}

const char *
pp_config_default_path(void)
{
	return PP_SYSCONFDIR "/pingpong/pingpong.conf";
}

int
pp_config_load(struct pp_config *cfg, const char *path, char *err, size_t errlen)
{
	extern char **environ;

	pp_config_defaults(cfg);
	if (pp_config_load_file(cfg, path ? path : pp_config_default_path(), path == NULL, err, errlen) ||
	    pp_config_load_env(cfg, environ, err, errlen))
		return -1;
	return pp_config_check(cfg, err, errlen);
}

/* ---- redis_url -------------------------------------------------------- */

static int
parse_port(const char *s, size_t len, unsigned *out)
{
	char buf[8];
	uint64_t u;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_uint(buf, 65535, &u) || u == 0)
		return -1;
	*out = (unsigned)u;
	return 0;
}

static int
parse_db(const char *s, unsigned *out)
{
	uint64_t u;
	if (parse_uint(s, 65535, &u))
		return -1;
	*out = (unsigned)u;
	return 0;
}

/* host, [v6] or host:port; port defaults to 6379. */
static int
parse_hostport(const char *s, size_t len, struct pp_redis_node *out, char *err, size_t errlen)
{
	const char *host = s, *colon = NULL;
	size_t hlen;
	if (len && s[0] == '[') {
		const char *rb = memchr(s, ']', len);
		if (!rb) {
			snprintf(err, errlen, "'[' without ']' around an IPv6 address");
			return -1;
		}
		host = s + 1;
		hlen = (size_t)(rb - host);
		if (rb + 1 < s + len) {
			if (rb[1] != ':') {
				snprintf(err, errlen, "expected ':port' after ']'");
				return -1;
			}
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
	}
	if (hlen == 0 || hlen >= sizeof(out->host)) {
		snprintf(err, errlen, "the host must be 1 to %zu bytes", sizeof(out->host) - 1);
		return -1;
	}
	for (size_t i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)host[i];
		if (!isalnum(c) && c != '.' && c != '-' && c != '_' && !(s[0] == '[' && c == ':')) {
			snprintf(err, errlen, "bad character '%c' in the host", isprint(c) ? c : '?');
			return -1;
		}
	}
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = 6379;
	if (colon && parse_port(colon + 1, (size_t)(s + len - colon - 1), &out->port)) {
		snprintf(err, errlen, "the port must be a number from 1 to 65535");
		return -1;
	}
	return 0;
}

/* One URL of the list: at most one seed in out (nseeds 0 or 1). */
static int
parse_one(const char *url, struct pp_redis_addr *out, char *err, size_t errlen)
{
	static const char tcp[] = "redis://", unix_[] = "unix:";
	memset(out, 0, sizeof(*out));

	if (strncmp(url, unix_, sizeof(unix_) - 1) == 0) {
		const char *p = url + sizeof(unix_) - 1;
		if (strncmp(p, "//", 2) == 0) /* unix:///run/x.sock */
			p += 2;
		const char *q = strchr(p, '?');
		size_t plen = q ? (size_t)(q - p) : strlen(p);
		if (plen == 0 || p[0] != '/' || plen >= sizeof(out->unix_path)) {
			snprintf(err, errlen, "a unix: URL needs an absolute socket path of at most %zu bytes",
			         sizeof(out->unix_path) - 1);
			return -1;
		}
		memcpy(out->unix_path, p, plen);
		out->unix_path[plen] = '\0';
		if (q && (strncmp(q, "?db=", 4) != 0 || parse_db(q + 4, &out->db))) {
			snprintf(err, errlen, "after the socket path only ?db=N (0 to 65535) may follow");
			return -1;
		}
		return 0;
	}
	if (strncmp(url, tcp, sizeof(tcp) - 1) != 0) {
		snprintf(err, errlen, "must start with redis:// or unix: (TLS: a local stunnel, "
		                      "see pingpong.conf(5))");
		return -1;
	}
	const char *p = url + sizeof(tcp) - 1;
	const char *slash = strchr(p, '/');
	size_t alen = slash ? (size_t)(slash - p) : strlen(p);
	const char *at = memchr(p, '@', alen);
	if (at) {
		size_t ulen = (size_t)(at - p);
		if (memchr(p, ':', ulen)) {
			snprintf(err, errlen, "no password in the URL: use redis_password_file or "
			                      "PINGPONG_REDIS_PASSWORD");
			return -1;
		}
		if (ulen == 0 || ulen >= sizeof(out->user)) {
			snprintf(err, errlen, "the user before '@' must be 1 to %zu bytes", sizeof(out->user) - 1);
			return -1;
		}
		memcpy(out->user, p, ulen);
		out->user[ulen] = '\0';
		alen -= ulen + 1;
		p = at + 1;
	}
	if (parse_hostport(p, alen, &out->seed[0], err, errlen))
		return -1;
	out->nseeds = 1;
	if (slash && slash[1] && parse_db(slash + 1, &out->db)) {
		snprintf(err, errlen, "the database after '/' must be a number from 0 to 65535");
		return -1;
	}
	return 0;
}

/* Trims spaces at both ends of [*p, *p + *len). */
static void
trim_span(const char **p, size_t *len)
{
	while (*len && **p == ' ') {
		(*p)++;
		(*len)--;
	}
	while (*len && (*p)[*len - 1] == ' ')
		(*len)--;
}

/* The seeds are one way in each to one Redis (a Cluster, or a primary behind
 * several addresses), so they must agree on what the session is. */
int
pp_redis_url_parse(const char *url, struct pp_redis_addr *out, char *err, size_t errlen)
{
	const char *p = url;
	unsigned n = 0;

	memset(out, 0, sizeof(*out));
	while (1) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct pp_redis_addr a;
		char one[512], why[200];

		trim_span(&p, &len);
		n++;
		if (len == 0 && (comma || n > 1)) {
			snprintf(err, errlen, "seed %u of the list is empty", n);
			return -1;
		}
		if (n > PP_REDIS_SEEDS_MAX) {
			snprintf(err, errlen, "at most %d seeds", PP_REDIS_SEEDS_MAX);
			return -1;
		}
		if (len >= sizeof(one)) {
			snprintf(err, errlen, "seed %u is too long", n);
			return -1;
		}
		memcpy(one, p, len);
		one[len] = '\0';
		if (parse_one(one, &a, why, sizeof(why))) {
			if (n == 1 && !comma)
				snprintf(err, errlen, "%s", why);
			else
				snprintf(err, errlen, "seed %u '%s': %s", n, one, why);
			return -1;
		}
		if (n == 1) {
			*out = a;
		} else if (a.unix_path[0] || out->unix_path[0]) {
			snprintf(err, errlen, "a unix: socket is the only address: no list with it");
			return -1;
		} else if (a.db != out->db) {
			snprintf(err, errlen, "seed %u '%s' names db %u, seed 1 db %u: all seeds "
			                      "share one db and user",
			         n, one, a.db, out->db);
			return -1;
		} else if (strcmp(a.user, out->user) != 0) {
			snprintf(err, errlen, "seed %u '%s' names user '%s', seed 1 '%s': all seeds "
			                      "share one db and user",
			         n, one, a.user, out->user);
			return -1;
		} else {
			out->seed[out->nseeds++] = a.seed[0];
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int
redis_url_hook(struct pp_config *cfg, const char *v, char *err, size_t errlen)
{
	struct pp_redis_addr a;
	char why[256];
	if (pp_redis_url_parse(v, &a, why, sizeof(why))) {
		snprintf(err, errlen, "redis_url: '%s': %s", v, why);
		return -1;
	}
	cfg->redis = a;
	return 0;
}

/* The prefix goes into every key as <prefix>:{<prefix>}:..., so braces
 * would break the hash tag and spaces the commands' readability. */
static int
redis_prefix_hook(struct pp_config *cfg, const char *v, char *err, size_t errlen)
{
	for (const char *c = v; *c; c++) {
		if (!isalnum((unsigned char)*c) && !strchr("_-.:", *c)) {
			snprintf(err, errlen, "redis_prefix: '%s': only letters, digits and _ - . : are allowed", v);
			return -1;
		}
	}
	return 0;
}

/* host:port,host:port,... */
static int
sentinels_hook(struct pp_config *cfg, const char *v, char *err, size_t errlen)
{
	const char *p = v;
	while (1) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct pp_redis_node a;
		char why[256];
		trim_span(&p, &len);
		if (parse_hostport(p, len, &a, why, sizeof(why))) {
			snprintf(err, errlen, "redis_sentinels: '%.*s': %s", (int)len, p, why);
			return -1;
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
}
