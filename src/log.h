/* log.h - one line per event on stderr, which spawn-fcgi, systemd and the
 * container collect. Never pass a secret key to these functions. */
#ifndef PP_LOG_H
#define PP_LOG_H

#include <time.h>

#include "config.h"

void pp_log_init(const char *prog, enum pp_log_level level);
void pp_log_set_level(enum pp_log_level level);
int pp_log_enabled(enum pp_log_level level);
void pp_log(enum pp_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* For errors that can repeat on every request: true at most once per
 * `every` seconds for one limiter, and then *count holds how many calls
 * were due since the last true (this one included); the caller logs that
 * count once instead of a line per request. */
struct pp_log_limit {
	time_t last; /* CLOCK_MONOTONIC seconds of the last true */
	int logged;  /* zeroed: the first call is due */
	unsigned long count;
};
int pp_log_due(struct pp_log_limit *lim, int every, unsigned long *count);

#define pp_log_error(...) pp_log(PP_LOG_ERROR, __VA_ARGS__)
#define pp_log_warn(...)  pp_log(PP_LOG_WARN, __VA_ARGS__)
#define pp_log_info(...)  pp_log(PP_LOG_INFO, __VA_ARGS__)
#define pp_log_debug(...) pp_log(PP_LOG_DEBUG, __VA_ARGS__)

#endif
