/* transfer.h - the only code that knows libcurl: one easy handle, reused
 * for every ping so the connection is kept alive. */
#ifndef PP_CLI_TRANSFER_H
#define PP_CLI_TRANSFER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "plan.h"

#define PP_FIELD_MAX 1024

/* One captured header field; several lines of it are joined with ", ".
 * A field longer than PP_FIELD_MAX is dropped (present = false). */
struct pp_field {
	bool present;
	bool overflow;
	size_t len;
	char v[PP_FIELD_MAX];
};

#define PP_REPLY_BODY_MAX 65536

/* What came back for one attempt (the server's side of it is struct
 * pp_response in src/response.h). The body points into the transfer's own
 * buffer and stays valid until the next pp_xfer_ping() or pp_xfer_free(). */
struct pp_reply {
	enum pp_transport transport;
	char errmsg[256]; /* why the transfer failed, "" when it did not */
	long status;
	char content_type[96]; /* "" when absent */
	struct pp_field ratelimit;
	struct pp_field policy;
	struct pp_field retry_after;
	const char *body;
	size_t body_len; /* at most PP_REPLY_BODY_MAX; the rest is discarded */
};

struct pp_xfer;

/* Checks url with libcurl's own URL parser before anything is sent: an
 * http:// or https:// URL with a valid host. Returns 0, or -1 with a reason
 * in err (a usage error: retrying cannot help). */
int pp_xfer_check_url(const char *url, char *err, size_t errcap);

/* Sets up the handle for POST url with the key. Returns NULL with a reason
 * in err when libcurl cannot be set up (out of memory). The caller keeps
 * url and key alive as long as the handle. */
struct pp_xfer *pp_xfer_new(const char *url, const char *key, long timeout_ms,
                            char *err, size_t errcap);

/* Points the next pings at url (another host of the same fleet). libcurl
 * keeps each host's connection alive in the handle's cache. The caller keeps
 * url alive as long as the handle. Returns 0, or -1 (no memory). */
int pp_xfer_set_url(struct pp_xfer *x, const char *url);

/* Sends one ping and fills r. A set *stop (from a signal handler) aborts
 * the transfer: r->transport is then PP_TR_INTERRUPTED. Never fails in
 * any other way: every problem is described in r. */
void pp_xfer_ping(struct pp_xfer *x, struct pp_reply *r, volatile sig_atomic_t *stop);

void pp_xfer_free(struct pp_xfer *x);

/* "libcurl/8.x OpenSSL/..." for --version. */
const char *pp_xfer_version(void);

#endif
