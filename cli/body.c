/* body.c - classifies the server's JSON answers with jansson. No I/O: the
 * transfer code hands over the bytes it received. */
#include "body.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

/* Bytes in the UTF-8 sequence that starts with lead (jansson has already
 * checked that the string is valid UTF-8). */
static size_t
utf8_len(unsigned char lead)
{
	if (lead < 0x80)
		return 1;
	if (lead < 0xe0)
		return 2;
	if (lead < 0xf0)
		return 3;
	return 4;
}

/* True for the C0 and C1 control characters and DEL: bytes a terminal
 * acts on (ESC, CSI as U+009B ...), so a hostile server cannot drive it. */
static bool
is_control(const unsigned char *ch, size_t len)
{
	if (len == 1)
		return ch[0] < 0x20 || ch[0] == 0x7f;
	return len == 2 && ch[0] == 0xc2 && ch[1] < 0xa0; /* U+0080..U+009F */
}

/* Copies a JSON string member with control characters replaced by '?',
 * truncated to fit cap on a character boundary: a cut inside a UTF-8
 * sequence would leave a string that is not UTF-8 (jansson then refuses
 * it, and --json loses the field). */
static void
copy_str(json_t *obj, const char *key, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)json_string_value(json_object_get(obj, key));
	size_t n = 0;

	out[0] = '\0';
	if (!s)
		return;
	while (*s) {
		size_t len = utf8_len(*s);
		size_t k;

		for (k = 1; k < len && s[k]; k++)
			continue;
		if (k < len)
			break; /* cannot happen in jansson's strings; never read past the end */
		if (is_control(s, len)) {
			if (n + 1 >= cap)
				break;
			out[n++] = '?';
		} else {
			if (n + len >= cap)
				break;
			memcpy(out + n, s, len);
			n += len;
		}
		s += len;
	}
	out[n] = '\0';
}

void
pp_body_parse(const char *buf, size_t len, struct pp_body *out)
{
	json_error_t err;
	json_t *root;

	memset(out, 0, sizeof(*out));
	out->retry_ms = -1;
	out->kind = PP_BODY_NOT_JSON;
	if (!buf || len == 0)
		return;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return;
	if (!json_is_object(root)) {
		out->kind = PP_BODY_OTHER;
		json_decref(root);
		return;
	}

	copy_str(root, "message", out->message, sizeof(out->message));
	copy_str(root, "error", out->error, sizeof(out->error));
	copy_str(root, "limit", out->limit, sizeof(out->limit));

	json_t *ra = json_object_get(root, "retry_after");
	if (json_is_number(ra)) {
		double s = json_number_value(ra);
		if (isfinite(s) && s >= 0 && s <= 86400)
			out->retry_ms = (int64_t)ceil(s * 1000.0);
	}

	const char *resp = json_string_value(json_object_get(root, "response"));
	if (resp && strcmp(resp, "pong") == 0)
		out->kind = PP_BODY_PONG;
	else if (out->error[0])
		out->kind = PP_BODY_ERROR;
	else if (out->message[0] || out->limit[0] || out->retry_ms >= 0)
		out->kind = PP_BODY_THROTTLE;
	else
		out->kind = PP_BODY_OTHER;
	json_decref(root);
}
