/* history.c - a ring of the client's own admissions and the bound it gives
 * on when the server's window frees a unit. No clock, no I/O. */
#include "history.h"

#include <string.h>

void
pp_hist_init(struct pp_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void
pp_hist_add(struct pp_hist *h, int64_t send_ms, int64_t recv_ms)
{
	h->send_ms[h->next] = send_ms;
	h->recv_ms[h->next] = recv_ms;
	h->next = (h->next + 1) % PP_HIST_MAX;
	if (h->n < PP_HIST_MAX)
		h->n++;
}

int64_t
pp_hist_free_in(const struct pp_hist *h, int64_t q, int64_t w_ms, int64_t now_ms)
{
	if (q < 1 || q > (int64_t)h->n || w_ms < 1)
		return -1;
	/* The q-th most recent entry. */
	unsigned k = (h->next + PP_HIST_MAX - (unsigned)q) % PP_HIST_MAX;
	if (h->send_ms[k] + w_ms <= now_ms)
		return -1; /* may have left the window already: no bound */
	int64_t left = h->recv_ms[k] + w_ms - now_ms;
	return left > 0 ? left : 0;
}
