/* log.c - "prog[pid]: level: message" lines on stderr, written with one
 * write(2) so lines of concurrent workers never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "pingpong";
static enum pp_log_level log_level = PP_LOG_INFO;

void
pp_log_init(const char *prog, enum pp_log_level level)
{
	log_prog = prog;
	log_level = level;
}

void
pp_log_set_level(enum pp_log_level level)
{
	log_level = level;
}

int
pp_log_enabled(enum pp_log_level level)
{
	return level <= log_level;
}

void
pp_log(enum pp_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	char line[1024];
	va_list ap;
	int n, m;

	if (!pp_log_enabled(level))
		return;
	n = snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_prog, (long)getpid(), names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

int
pp_log_due(struct pp_log_limit *lim, int every, unsigned long *count)
{
	/* The monotonic clock: a wall clock stepped back would silence the
	 * line for the length of the step. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	lim->count++;
	if (lim->logged && ts.tv_sec - lim->last < every)
		return 0;
	*count = lim->count;
	lim->last = ts.tv_sec;
	lim->logged = 1;
	lim->count = 0;
	return 1;
}
