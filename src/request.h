/* request.h - everything one request owns, in one struct that a worker
 * allocates once and resets per request: no allocation on the request path
 * but jansson's parse of the body. */
#ifndef PP_REQUEST_H
#define PP_REQUEST_H

#include "response.h"
#include "validate.h"

#define PP_PATH_MAX 2048

struct pp_request {
	struct pp_http_req http; /* points into the fields below or the server's params */
	char path[PP_PATH_MAX];
	char body[PP_BODY_MAX + 1];
	struct pp_response res;
	char out[PP_HEADERS_MAX + PP_RESPONSE_BODY_MAX + 256]; /* serialized answer */
	double started;                                        /* monotonic seconds */
};

/* Makes path (NUL-terminated) out of a request URI: the part before '?'. */
void pp_request_set_path(struct pp_request *rq, const char *uri);
void pp_request_reset(struct pp_request *rq);

#endif
