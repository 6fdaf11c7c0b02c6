/* request.c - the per-request struct: reset between requests, path taken
 * from whatever the web server sent, truncated safely. */
#include "request.h"

#include <string.h>

void
pp_request_reset(struct pp_request *rq)
{
	memset(&rq->http, 0, sizeof(rq->http));
	rq->path[0] = '\0';
	rq->body[0] = '\0';
	pp_response_reset(&rq->res);
	rq->started = 0;
}

void
pp_request_set_path(struct pp_request *rq, const char *uri)
{
	size_t n = strcspn(uri, "?#");
	if (n >= sizeof(rq->path)) /* no route is that long: keep it a 404 */
		n = sizeof(rq->path) - 1;
	memcpy(rq->path, uri, n);
	rq->path[n] = '\0';
	rq->http.path = rq->path;
}
