/* key.h - pingpongctl's key comes from stdin, never argv (it would show in
 * ps and shell history), and is never printed, not even in an error. */
#ifndef PP_CTL_KEY_H
#define PP_CTL_KEY_H

#include <stddef.h>

/* A key as the API takes it: 1 to PP_KEY_MAX bytes, no control bytes. */
#define PP_CTL_KEY_CAP 257 /* PP_KEY_MAX + NUL */

/* Reads the key from fd: all of it up to end of file, or one line from a
 * terminal (prompted on stderr, not echoed). One trailing "\n" or "\r\n"
 * is dropped (echo and here-strings add it). Returns the length (>= 1),
 * with key NUL-terminated in buf (cap >= PP_CTL_KEY_CAP), or -1 with a
 * reason in err that never quotes the bytes read. */
long pp_ctl_read_key(int fd, char *buf, size_t cap, char *err, size_t errlen);

#endif
