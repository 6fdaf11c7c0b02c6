/* now.h - the client's two clocks: monotonic for every deadline, wall time
 * only for what people read. The pure files never include this. */
#ifndef PP_CLI_NOW_H
#define PP_CLI_NOW_H

#include <stdint.h>
#include <time.h>

static inline int64_t
pp_now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t
pp_now_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
