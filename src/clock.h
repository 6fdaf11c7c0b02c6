/* clock.h - the one clock every worker on the host reads: CLOCK_REALTIME in
 * ms. Test builds (PP_TEST_CLOCK) may shift it (PINGPONG_TEST_CLOCK_OFFSET_FILE)
 * to step it back; release builds ignore that variable. */
#ifndef PP_CLOCK_H
#define PP_CLOCK_H

#include <stdint.h>

/* Test builds: reads the offset file name from the environment once.
 * Release builds: does nothing. */
void pp_clock_init(void);
/* Milliseconds since the epoch, plus the test offset if one is set. */
int64_t pp_clock_now_ms(void);
/* Monotonic seconds, for measuring durations only. */
double pp_clock_mono(void);

#endif
