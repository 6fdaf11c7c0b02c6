/* body.c - classifies the server's JSON answers with jansson. No I/O: the
 * transfer code hands over the bytes it received. */
#include "body.h"

#include <math.h>
#include <string.h>

#include <jansson.h>

/* Copies a JSON string member, truncated, with control bytes replaced so a
 * hostile server cannot drive the terminal. */
static void copy_str(json_t *obj, const char *key, char *out, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	size_t n = 0;

	out[0] = '\0';
	if (!s)
		return;
	for (size_t k = 0; s[k] && n + 1 < cap; k++) {
		unsigned char ch = (unsigned char)s[k];
		out[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	out[n] = '\0';
}

void pp_body_parse(const char *buf, size_t len, struct pp_body *out)
{
	json_error_t err;
	json_t *root;

	memset(out, 0, sizeof(*out));
	out->retry_ms = -1;
	out->throttle_age = -1;
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
	json_t *age = json_object_get(root, "throttle_age");
	if (json_is_integer(age) && json_integer_value(age) >= 0)
		out->throttle_age = (int64_t)json_integer_value(age);

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
