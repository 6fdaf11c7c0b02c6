/* handler.h - answers one request: validate, ask the store, format. Knows
 * neither FastCGI nor LMDB; the worker loop in fcgi.c calls it. */
#ifndef PP_HANDLER_H
#define PP_HANDLER_H

#include "config.h"
#include "log.h"
#include "request.h"
#include "store.h"

struct pp_server {
	const struct pp_config *cfg;
	struct pp_store *store;
	struct pp_log_limit admit_log; /* on_store_error = admit: one line per 10 s, with a count */
};

/* Fills rq->res from rq->http. Never fails: every problem is an answer. */
void pp_handle(struct pp_server *srv, struct pp_request *rq);

#endif
