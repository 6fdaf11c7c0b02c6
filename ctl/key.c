/* key.c - reads the one key pingpongctl inspects or resets from stdin, with
 * the API's own rules, so a key the server takes is a key this takes. */
#include "key.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "validate.h"

/* At most cap bytes from fd until end of file (or, for a terminal, the
 * end of the line); *over set when more followed. */
static long
read_bounded(int fd, char *buf, size_t cap, bool line, bool *over)
{
	size_t n = 0;
	*over = false;
	for (;;) {
		char c;
		ssize_t r = read(fd, n < cap ? buf + n : &c, n < cap ? (line ? 1 : cap - n) : 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return (long)n;
		if (n >= cap) {
			*over = true; /* the rest is not read: the key is refused anyway */
			return (long)n;
		}
		n += (size_t)r;
		if (line && buf[n - 1] == '\n')
			return (long)n;
	}
}

long
pp_ctl_read_key(int fd, char *buf, size_t cap, char *err, size_t errlen)
{
	struct termios old, quiet;
	bool tty = isatty(fd) && tcgetattr(fd, &old) == 0, over;
	/* Room for the longest key and its line end, plus one to see more. */
	size_t room = PP_KEY_MAX + 3;
	char tmp[PP_KEY_MAX + 3];
	long n;

	if (cap < PP_CTL_KEY_CAP) {
		snprintf(err, errlen, "internal: key buffer too small");
		return -1;
	}
	if (tty) {
		fprintf(stderr, "key (not echoed): ");
		fflush(stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	n = read_bounded(fd, tmp, room, tty, &over);
	if (tty) {
		tcsetattr(fd, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		snprintf(err, errlen, "cannot read the key from stdin: %s", strerror(errno));
		return -1;
	}
	if (n > 0 && tmp[n - 1] == '\n' && !over) {
		n--;
		if (n > 0 && tmp[n - 1] == '\r')
			n--;
	}
	if (over || n > PP_KEY_MAX) {
		snprintf(err, errlen, "the key on stdin is longer than %d bytes (the API refuses such keys)",
		         PP_KEY_MAX);
		n = -1;
	} else if (n == 0) {
		snprintf(err, errlen, "no key on stdin: the key is read from stdin, never the command "
		                      "line, e.g. printf '%%s' \"$KEY\" | pingpongctl inspect");
		n = -1;
	} else {
		for (long i = 0; i < n; i++) {
			unsigned char c = (unsigned char)tmp[i];
			if (c < 0x20 || c == 0x7f) {
				snprintf(err, errlen, "the key on stdin holds a control byte at offset %ld "
				                      "(the API refuses such keys; only one trailing newline is dropped)",
				         i);
				n = -1;
				break;
			}
		}
	}
	if (n > 0) {
		memcpy(buf, tmp, (size_t)n);
		buf[n] = '\0';
	}
	memset(tmp, 0, sizeof(tmp));
	return n;
}
