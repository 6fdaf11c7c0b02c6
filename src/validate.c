/* validate.c - decides what a request is before anything is counted: the first
 * failing check in SPEC's order answers, so invalid requests cost no quota. */
#include "validate.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* jansson does not always say "out of memory" (a failed lexer set-up reads
 * as an unknown error), so its allocations go through here and say it. */
static bool json_oom;

static void *
json_alloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		json_oom = true;
	return p;
}

static void
fail(struct pp_verdict *out, int status, const char *error, const char *message)
{
	out->route = PP_ROUTE_ERROR;
	out->status = status;
	out->error = error;
	out->message = message;
}

bool
pp_validate_content_type(const char *ct)
{
	static const char want[] = "application/json";
	const size_t n = sizeof(want) - 1;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static bool
key_ok(const char *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static enum pp_route
route_of(const char *path)
{
	if (!path)
		return PP_ROUTE_ERROR;
	if (strcmp(path, "/ping") == 0)
		return PP_ROUTE_PING;
	if (strcmp(path, "/healthz") == 0)
		return PP_ROUTE_HEALTHZ;
	if (strcmp(path, "/readyz") == 0)
		return PP_ROUTE_READYZ;
	if (strcmp(path, "/metrics") == 0)
		return PP_ROUTE_METRICS;
	return PP_ROUTE_ERROR;
}

/* /healthz, /readyz, /metrics: GET or HEAD, nothing else looked at. */
static void
validate_probe(const struct pp_http_req *req, enum pp_route r, struct pp_verdict *out)
{
	const char *m = req->method ? req->method : "";

	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
		fail(out, 405, "method_not_allowed", "Use GET for this endpoint.");
		out->allow = "GET, HEAD";
		return;
	}
	out->route = r;
	out->status = 200;
}

/* /ping's method, headers and body length, in SPEC's order; false after
 * fail() has said what is wrong. */
static bool
ping_envelope_ok(const struct pp_http_req *req, struct pp_verdict *out)
{
	const char *m = req->method ? req->method : "";

	if (strcmp(m, "POST") != 0) {
		fail(out, 405, "method_not_allowed", "Use POST for /ping.");
		out->allow = "POST";
		return false;
	}
	if (req->content_type && !pp_validate_content_type(req->content_type)) {
		fail(out, 415, "unsupported_media_type",
		     "Send the body with the header Content-Type: application/json.");
		return false;
	}
	if (req->body_over || req->body_len > PP_BODY_MAX) {
		fail(out, 413, "payload_too_large", "The body must be at most 4096 bytes.");
		return false;
	}
	if (!req->key || req->key_len == 0) {
		fail(out, 400, "missing_secret_key", "Send your key in the x-secret-key header.");
		return false;
	}
	if (req->key_len > PP_KEY_MAX || !key_ok(req->key, req->key_len)) {
		fail(out, 400, "invalid_secret_key",
		     "The x-secret-key header must be at most 256 bytes with no control characters.");
		return false;
	}
	return true;
}

/* /ping's body must be exactly {"request":"ping"} as JSON; false after
 * fail(). */
static bool
ping_body_ok(const struct pp_http_req *req, struct pp_verdict *out)
{
	static bool hooked;
	json_error_t jerr;

	if (!hooked) {
		json_set_alloc_funcs(json_alloc, free);
		hooked = true;
	}
	json_oom = false;
	/* Duplicate members would make "request" ambiguous: reject them. */
	json_t *doc = json_loadb(req->body ? req->body : "", req->body_len,
	                         JSON_REJECT_DUPLICATES, &jerr);
	if (!doc && (json_oom || json_error_code(&jerr) == json_error_out_of_memory)) {
		fail(out, 500, "internal_error", "The server ran out of memory; retry shortly.");
		return false;
	}
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		fail(out, 400, "invalid_json", "The body must be a JSON object.");
		return false;
	}
	json_t *v = json_object_get(doc, "request");
	bool ping = json_is_string(v) && json_string_length(v) == 4 &&
	            memcmp(json_string_value(v), "ping", 4) == 0;
	json_decref(doc);
	if (!ping) {
		fail(out, 400, "wrong_payload", "The body must be {\"request\":\"ping\"}.");
		return false;
	}
	return true;
}

void
pp_validate(const struct pp_http_req *req, struct pp_verdict *out)
{
	memset(out, 0, sizeof(*out));
	enum pp_route r = route_of(req->path);
	if (r == PP_ROUTE_ERROR) {
		fail(out, 404, "not_found", "No such resource; the API is POST /ping.");
		return;
	}
	if (r != PP_ROUTE_PING) {
		validate_probe(req, r, out);
		return;
	}
	if (!ping_envelope_ok(req, out) || !ping_body_ok(req, out))
		return;
	out->route = PP_ROUTE_PING;
	out->status = 200;
}
