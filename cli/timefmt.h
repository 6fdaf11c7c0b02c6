/* timefmt.h - durations and clock times as people read them ("1 h 0 min",
 * "until 14:02:45", a date when that is another day). Pure: no clock. */
#ifndef PP_CLI_TIMEFMT_H
#define PP_CLI_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Room for any result of the two functions below. */
#define PP_TIMEFMT_MAX 32

/* A duration of ms milliseconds (>= 0): under a minute "%.3g s" ("0.5 s",
 * "2 s", "59.9 s"); under an hour "M min S s"; from an hour on "H h M min"
 * (rounded to the nearest second or minute). Returns buf. */
const char *pp_fmt_duration(int64_t ms, char *buf, size_t cap);

/* The local time at wall-clock at_ms: "14:02:45" when it falls on the same
 * local day as now_ms, else "2026-12-01 01:02:45". Returns buf ("?" when
 * the time cannot be converted). */
const char *pp_fmt_clock(int64_t now_ms, int64_t at_ms, char *buf, size_t cap);

#endif
