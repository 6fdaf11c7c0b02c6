/* config.h - the operator's interface: a key = value file, then PINGPONG_<KEY>
 * environment overrides. Errors name the file and line (or the variable). */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limiter.h"

enum pp_log_level { PP_LOG_ERROR = 0, PP_LOG_WARN, PP_LOG_INFO, PP_LOG_DEBUG };

struct pp_config {
	char     db_path[1024];
	uint64_t db_map_size;        /* bytes */
	struct pp_policy policy;
	bool     fail_open;
	enum pp_log_level log_level;
};

/* Fills cfg with the built-in defaults (SPEC's). */
void pp_config_defaults(struct pp_config *cfg);

/* Reads path into cfg (on top of what cfg holds). If missing_ok and the file
 * does not exist, returns 0 and leaves cfg alone. Returns 0, or -1 with a
 * one-line reason in err ("FILE:LINE: ..."). */
int pp_config_load_file(struct pp_config *cfg, const char *path, bool missing_ok,
                        char *err, size_t errlen);

/* Applies PINGPONG_<KEY> variables from envp (NULL-terminated, as environ).
 * Variables that name no key are ignored: orchestrators inject their own
 * PINGPONG_* names (Kubernetes service links). Returns 0 or -1 with err. */
int pp_config_load_env(struct pp_config *cfg, char *const *envp, char *err, size_t errlen);

/* The most admissions that can be live in per-key windows at once: each needs
 * a global slot, so global_limit * (per_key_window / global_window + 1). */
uint64_t pp_config_live_max(const struct pp_config *cfg);

/* The map size that holds that many live windows with room to spare
 * (measured: about 130 bytes of LMDB pages per live admission). */
uint64_t pp_config_map_needed(const struct pp_config *cfg);

/* Checks the values together (each one was checked when set). A map too
 * small for what the limits can keep live is an error: a flood of distinct
 * keys must not be able to fill it. Returns 0 or -1 with a reason in err. */
int pp_config_check(const struct pp_config *cfg, char *err, size_t errlen);

/* Parses one "key = value" assignment into cfg; used by both loaders and the
 * unit tests. Returns 0 or -1 with a reason (without location) in err. */
int pp_config_set(struct pp_config *cfg, const char *key, const char *value,
                  char *err, size_t errlen);

#endif
