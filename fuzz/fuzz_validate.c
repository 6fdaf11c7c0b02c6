/* fuzz_validate.c - libFuzzer target for pp_validate: method, path, key,
 * content type and body all come from the input; checks SPEC's invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

static const char *const methods[] = { "POST", "GET", "PUT", "HEAD", "post", "", NULL };
static const char *const paths[] = { "/ping", "/healthz", "/readyz", "/metrics", "/", "/ping/", "/PING", NULL };

/* Takes len bytes of p into a fresh NUL-terminated copy (the server gets the
 * key NUL-terminated from FastCGI; ASan catches any read past len + 1). */
static char *
dup_n(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		abort();
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static int
status_ok(int st)
{
	switch (st) {
	case 400:
	case 404:
	case 405:
	case 413:
	case 415: return 1;
	default: return 0;
	}
}

/* Input: [flags][key_len][ct_len][key bytes][ct bytes][body...].
 * flags: bits 0-2 method, 3-5 path, 6 key absent, 7 content type absent. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t flags = data[0];
	size_t klen = data[1], clen = data[2];
	data += 3;
	size -= 3;
	/* A key longer than 255 bytes matters (the cap is 256) but one length
	 * byte cannot say so: a key starting with '+' is stretched by 255 bytes
	 * (its bytes repeated), so every length 256..510 is reachable: 256 and
	 * 257, the cap's two sides, included (seeds key-256 and key-257). */
	if (klen > size)
		klen = size;
	if (clen > size - klen)
		clen = size - klen;

	struct pp_http_req req;
	memset(&req, 0, sizeof(req));
	req.method = methods[(flags & 7) % 7];
	req.path = paths[((flags >> 3) & 7) % 7];

	char *key = NULL, *ct = NULL, *body;
	if (!(flags & 0x40)) {
		size_t kl = (klen > 0 && data[0] == '+') ? klen + 255 : klen;
		key = malloc(kl + 1);
		if (!key)
			abort();
		for (size_t i = 0; i < kl; i++)
			key[i] = (char)data[i % klen];
		key[kl] = '\0';
		req.key = key;
		req.key_len = kl;
	}
	if (!(flags & 0x80)) {
		ct = dup_n(data + klen, clen);
		req.content_type = ct;
	}
	size_t blen = size - klen - clen;
	req.body_over = blen > PP_BODY_MAX;
	if (req.body_over)
		blen = PP_BODY_MAX;
	body = dup_n(data + klen + clen, blen);
	req.body = body;
	req.body_len = blen;

	struct pp_verdict v;
	pp_validate(&req, &v);

	/* SPEC: a ping reaches the limiter only when everything is right. */
	if (v.route == PP_ROUTE_PING) {
		if (strcmp(req.method, "POST") || strcmp(req.path, "/ping") || !key ||
		    req.key_len == 0 || req.key_len > PP_KEY_MAX || req.body_over)
			abort();
		for (size_t i = 0; i < req.key_len; i++)
			if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] == 0x7f)
				abort();
		if (ct && !pp_validate_content_type(ct))
			abort();
	} else if (v.route == PP_ROUTE_ERROR) {
		if (!status_ok(v.status) || !v.error || !v.message)
			abort();
		if ((v.status == 405) != (v.allow != NULL))
			abort();
		/* Order 404, 405, 415, 413: a known path and method never 404/405 here. */
		if (v.status == 404 && !strcmp(req.path, "/ping"))
			abort();
		if (v.status == 413 && !req.body_over)
			abort();
	}
	free(key);
	free(ct);
	free(body);
	return 0;
}
