/* transfer.c - POST /ping with libcurl. Captures the status, the timing
 * headers and the body; maps libcurl's errors onto the client's few kinds. */
#include "transfer.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct pp_xfer {
	CURL *h;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	struct pp_reply *r; /* the attempt being filled */
	volatile sig_atomic_t *stop;
	char *body; /* PP_REPLY_BODY_MAX + 1 bytes */
	char *keyhdr;
};

static const char ping_body[] = "{\"request\":\"ping\"}";

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct pp_xfer *x = ud;
	struct pp_reply *r = x->r;
	size_t n = size * nmemb;
	size_t room = PP_REPLY_BODY_MAX - r->body_len;
	size_t take = n < room ? n : room;

	/* Past the cap the bytes are dropped, not an error: the answer is
	 * then simply not our API. */
	memcpy(x->body + r->body_len, data, take);
	r->body_len += take;
	return n;
}

static void
field_add(struct pp_field *f, const char *v, size_t len)
{
	size_t need = len + (f->present ? 2 : 0);

	if (f->overflow)
		return;
	if (f->len + need >= sizeof(f->v)) {
		f->overflow = true;
		f->present = false;
		f->len = 0;
		return;
	}
	if (f->present) {
		memcpy(f->v + f->len, ", ", 2);
		f->len += 2;
	}
	memcpy(f->v + f->len, v, len);
	f->len += len;
	f->v[f->len] = '\0';
	f->present = true;
}

static bool
name_is(const char *line, size_t namelen, const char *want)
{
	return strlen(want) == namelen && strncasecmp(line, want, namelen) == 0;
}

static size_t
on_header(char *line, size_t size, size_t nmemb, void *ud)
{
	struct pp_xfer *x = ud;
	struct pp_reply *r = x->r;
	size_t n = size * nmemb, len = n;

	/* A new status line (an interim 1xx answer came first): start over. */
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		memset(&r->ratelimit, 0, sizeof(r->ratelimit));
		memset(&r->policy, 0, sizeof(r->policy));
		memset(&r->retry_after, 0, sizeof(r->retry_after));
		r->content_type[0] = '\0';
		return n;
	}
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return n;
	size_t namelen = (size_t)(colon - line);
	const char *v = colon + 1;
	size_t vlen = len - namelen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;

	if (name_is(line, namelen, "RateLimit"))
		field_add(&r->ratelimit, v, vlen);
	else if (name_is(line, namelen, "RateLimit-Policy"))
		field_add(&r->policy, v, vlen);
	else if (name_is(line, namelen, "Retry-After"))
		field_add(&r->retry_after, v, vlen);
	else if (name_is(line, namelen, "Content-Type")) {
		size_t k = 0;
		/* Printed as it is: only printable ASCII, no C0/C1 controls. */
		for (; k < vlen && k + 1 < sizeof(r->content_type); k++) {
			unsigned char ch = (unsigned char)v[k];
			r->content_type[k] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
		}
		r->content_type[k] = '\0';
	}
	return n;
}

static int
on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct pp_xfer *x = ud;

	return x->stop && *x->stop ? 1 : 0; /* non-zero aborts the transfer */
}

/* Options that can only fail on an unknown option or no memory. */
static CURLcode
set_options(struct pp_xfer *x, const char *url, long timeout_ms)
{
	CURLcode rc = CURLE_OK;

	rc |= curl_easy_setopt(x->h, CURLOPT_URL, url);
	rc |= curl_easy_setopt(x->h, CURLOPT_POST, 1L);
	rc |= curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, ping_body);
	rc |= curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE, (long)(sizeof(ping_body) - 1));
	rc |= curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->headers);
	rc |= curl_easy_setopt(x->h, CURLOPT_USERAGENT, "pingpong/" PP_VERSION);
	rc |= curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, timeout_ms);
	rc |= curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	rc |= curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(x->h, CURLOPT_TCP_KEEPALIVE, 1L);
	rc |= curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	rc |= curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	rc |= curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, on_header);
	rc |= curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
	rc |= curl_easy_setopt(x->h, CURLOPT_XFERINFOFUNCTION, on_progress);
	rc |= curl_easy_setopt(x->h, CURLOPT_XFERINFODATA, x);
	rc |= curl_easy_setopt(x->h, CURLOPT_NOPROGRESS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	rc |= curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	return rc;
}

int
pp_xfer_set_url(struct pp_xfer *x, const char *url)
{
	return curl_easy_setopt(x->h, CURLOPT_URL, url) == CURLE_OK ? 0 : -1;
}

struct pp_xfer *
pp_xfer_new(const char *url, const char *key, long timeout_ms,
            char *err, size_t errcap)
{
	struct pp_xfer *x = calloc(1, sizeof(*x));
	struct curl_slist *l;
	size_t keylen = strlen(key);
	CURLcode rc;

	if (!x)
		goto nomem;
	x->body = malloc(PP_REPLY_BODY_MAX + 1);
	x->keyhdr = malloc(keylen + sizeof("x-secret-key: "));
	x->h = curl_easy_init();
	if (!x->body || !x->keyhdr || !x->h)
		goto nomem;
	memcpy(x->keyhdr, "x-secret-key: ", sizeof("x-secret-key: ") - 1);
	memcpy(x->keyhdr + sizeof("x-secret-key: ") - 1, key, keylen + 1);

	const char *hdrs[] = { x->keyhdr, "Content-Type: application/json",
		               "Accept: application/json", "Expect:" };
	for (size_t k = 0; k < sizeof(hdrs) / sizeof(hdrs[0]); k++) {
		l = curl_slist_append(x->headers, hdrs[k]);
		if (!l)
			goto nomem;
		x->headers = l;
	}

	rc = set_options(x, url, timeout_ms);
	if (rc != CURLE_OK) {
		snprintf(err, errcap, "libcurl setup failed: %s", curl_easy_strerror(rc));
		pp_xfer_free(x);
		return NULL;
	}
	return x;
nomem:
	snprintf(err, errcap, "out of memory setting up libcurl");
	pp_xfer_free(x);
	return NULL;
}

int
pp_xfer_check_url(const char *url, char *err, size_t errcap)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	CURLUcode rc;
	int ret = -1;

	if (!u) {
		snprintf(err, errcap, "out of memory checking the URL");
		return -1;
	}
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc == CURLUE_OK)
		rc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	if (rc == CURLUE_OK)
		rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
	if (rc != CURLUE_OK)
		snprintf(err, errcap, "bad URL '%s': %s", url, curl_url_strerror(rc));
	else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
		snprintf(err, errcap, "bad URL '%s': the scheme must be http or https", url);
	else
		ret = 0;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

static enum pp_transport
classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return PP_TR_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return PP_TR_DNS;
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return PP_TR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return PP_TR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return PP_TR_TLS;
	case CURLE_ABORTED_BY_CALLBACK:
		return PP_TR_INTERRUPTED;
	default:
		return PP_TR_OTHER;
	}
}

void
pp_xfer_ping(struct pp_xfer *x, struct pp_reply *r, volatile sig_atomic_t *stop)
{
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	x->r = r;
	x->stop = stop;
	x->errbuf[0] = '\0';
	rc = curl_easy_perform(x->h);
	x->body[r->body_len] = '\0';
	r->body = x->body;
	r->transport = classify(rc);
	if (rc != CURLE_OK) {
		const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", why);
		r->status = 0;
	} else {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &r->status);
	}
	x->r = NULL;
}

void
pp_xfer_free(struct pp_xfer *x)
{
	if (!x)
		return;
	if (x->h)
		curl_easy_cleanup(x->h);
	curl_slist_free_all(x->headers);
	free(x->body);
	if (x->keyhdr) /* holds the secret: wipe before returning it */
		explicit_bzero(x->keyhdr, strlen(x->keyhdr));
	free(x->keyhdr);
	free(x);
}

const char *
pp_xfer_version(void)
{
	return curl_version();
}
