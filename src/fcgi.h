/* fcgi.h - the FastCGI side of a worker: accept on fd 0, turn params and body
 * into a pp_request, write the answer in one piece. */
#ifndef PP_FCGI_H
#define PP_FCGI_H

#include <signal.h>

#include "handler.h"

/* True if fd 0 is a socket, as spawn-fcgi, multiwatch and lighttpd hand us. */
int pp_fcgi_stdin_is_socket(void);

/* Serves requests until *stop is set (by a signal) or accept fails.
 * Returns 0 on a requested stop, -1 on an accept error. */
int pp_fcgi_serve(struct pp_server *srv, volatile sig_atomic_t *stop);

#endif
