/* fcgi.c - the only file that includes fcgiapp.h. Reads at most
 * PP_BODY_MAX + 1 body bytes (lengths before bytes) and writes each answer
 * with one FCGX_PutStr. */
#include "fcgi.h"

#include <errno.h>
#include <fcgiapp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

int
pp_fcgi_stdin_is_socket(void)
{
	struct stat st;
	return fstat(0, &st) == 0 && S_ISSOCK(st.st_mode);
}

static const char *
param(FCGX_Request *fr, const char *name)
{
	const char *v = FCGX_GetParam(name, fr->envp);
	return (v && *v) ? v : NULL;
}

/* The request path, whatever SCRIPT_NAME/PATH_INFO split the server chose:
 * REQUEST_URI is what the client sent (nginx and lighttpd both pass it). */
static void
set_path(FCGX_Request *fr, struct pp_request *rq)
{
	const char *uri = param(fr, "REQUEST_URI");
	if (!uri)
		uri = param(fr, "DOCUMENT_URI");
	if (uri) {
		pp_request_set_path(rq, uri);
		return;
	}
	const char *sn = param(fr, "SCRIPT_NAME"), *pi = param(fr, "PATH_INFO");
	char joined[PP_PATH_MAX];
	size_t a = sn ? strnlen(sn, sizeof(joined) - 1) : 0;
	size_t b = pi ? strnlen(pi, sizeof(joined) - 1 - a) : 0;
	if (a)
		memcpy(joined, sn, a);
	if (b)
		memcpy(joined + a, pi, b);
	joined[a + b] = '\0';
	pp_request_set_path(rq, joined);
}

static void
read_body(FCGX_Request *fr, struct pp_request *rq)
{
	const char *cl = param(fr, "CONTENT_LENGTH");
	if (cl) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(cl, &end, 10);
		if (errno || *end || n > PP_BODY_MAX) {
			/* Announced too large: answer without reading a byte of it. */
			rq->http.body_over = 1;
			return;
		}
	}
	size_t got = 0;
	while (got < sizeof(rq->body)) {
		int n = FCGX_GetStr(rq->body + got, (int)(sizeof(rq->body) - got), fr->in);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got > PP_BODY_MAX) {
		rq->http.body_over = 1;
		got = PP_BODY_MAX;
	}
	rq->http.body = rq->body;
	rq->http.body_len = got;
}

static void
fill(FCGX_Request *fr, struct pp_request *rq)
{
	rq->http.method = param(fr, "REQUEST_METHOD");
	rq->http.content_type = param(fr, "CONTENT_TYPE");
	rq->http.key = param(fr, "HTTP_X_SECRET_KEY");
	rq->http.key_len = rq->http.key ? strlen(rq->http.key) : 0;
	set_path(fr, rq);
	read_body(fr, rq);
}

int
pp_fcgi_serve(struct pp_server *srv, volatile sig_atomic_t *stop)
{
	FCGX_Request fr;
	struct pp_request *rq = malloc(sizeof(*rq));
	int rc = 0;

	if (!rq || FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		pp_log_error("cannot initialise FastCGI");
		free(rq);
		return -1;
	}
	while (!*stop) {
		if (FCGX_Accept_r(&fr) < 0) {
			if (errno == EINTR && !*stop)
				continue; /* a signal that is not ours to stop on */
			if (!*stop) {
				pp_log_error("FastCGI accept failed: %s", strerror(errno));
				rc = -1;
			}
			break;
		}
		pp_request_reset(rq);
		rq->started = pp_clock_mono();
		fill(&fr, rq);
		pp_handle(srv, rq);
		int head = rq->http.method && strcmp(rq->http.method, "HEAD") == 0;
		size_t len = pp_response_serialize(&rq->res, !head, rq->out, sizeof(rq->out));
		if (len == 0) {
			pp_response_reset(&rq->res);
			pp_response_error(&rq->res, 500, "internal_error", "The answer did not fit.");
			len = pp_response_serialize(&rq->res, !head, rq->out, sizeof(rq->out));
		}
		/* A client gone mid-write is its loss, not the worker's. */
		(void)FCGX_PutStr(rq->out, (int)len, fr.out);
		FCGX_Finish_r(&fr);
		pp_metrics_request(rq->res.status, pp_clock_mono() - rq->started);
	}
	FCGX_Free(&fr, 1);
	free(rq);
	return rc;
}
