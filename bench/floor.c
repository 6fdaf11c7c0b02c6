/* floor.c - the benchmark floor: a bare libfcgi responder that reads the body
 * and answers pong with no limiting, so `make bench` can show what FastCGI costs. */
#include <fcgiapp.h>
#include <stdio.h>
#include <string.h>

/* Same shape of answer as pingpong's 200, minus the quota headers. */
static const char answer[] =
	"Status: 200 OK\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: 19\r\n"
	"\r\n"
	"{\"response\":\"pong\"}";

int
main(void)
{
	FCGX_Request req;
	char body[4097];

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
		fprintf(stderr, "floor: cannot set up libfcgi\n");
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		/* Read the body as pingpong does (up to its 4 KiB cap plus one). */
		int got = FCGX_GetStr(body, (int)sizeof(body), req.in);
		(void)got;
		FCGX_PutStr(answer, (int)(sizeof(answer) - 1), req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
