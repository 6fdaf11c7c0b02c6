/* clock.h - the one clock every worker on the host reads: CLOCK_REALTIME in
 * ms. Tests may shift it (PINGPONG_TEST_CLOCK_OFFSET_FILE) to step it back. */
#ifndef PP_CLOCK_H
#define PP_CLOCK_H

#include <stdint.h>

/* Reads the test offset file name from the environment once. */
void pp_clock_init(void);
/* Milliseconds since the epoch, plus the test offset if one is set. */
int64_t pp_clock_now_ms(void);
/* Monotonic seconds, for measuring durations only. */
double pp_clock_mono(void);

#endif
