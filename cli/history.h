/* history.h - the client's own recent admissions (send and answer times),
 * used to narrow the server's whole-second "t" to the millisecond. Pure. */
#ifndef PP_CLI_HISTORY_H
#define PP_CLI_HISTORY_H

#include <stdint.h>

#define PP_HIST_MAX 64

/* A ring of the last PP_HIST_MAX pongs, times on the caller's monotonic clock. */
struct pp_hist {
	int64_t send_ms[PP_HIST_MAX];
	int64_t recv_ms[PP_HIST_MAX];
	unsigned n;    /* entries held, <= PP_HIST_MAX */
	unsigned next; /* slot the next entry goes to */
};

void pp_hist_init(struct pp_hist *h);
void pp_hist_add(struct pp_hist *h, int64_t send_ms, int64_t recv_ms);

/* An upper bound on the ms from now_ms until a policy of q units per w_ms
 * frees a unit, from our own admissions alone; -1 when they do not tell.
 * Why it is safe: the server admitted each of our pongs at some moment
 * between its send and its answer. If our q-th most recent pong was sent
 * less than w ago, it is still in the window, so the oldest admission in
 * the window is no younger and leaves it no later than that pong's answer
 * time + w. Other clients sharing the limit only make the real wait shorter. */
int64_t pp_hist_free_in(const struct pp_hist *h, int64_t q, int64_t w_ms, int64_t now_ms);

#endif
