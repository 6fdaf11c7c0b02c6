/* ratelimit.c - a small RFC 8941 List parser, just enough for the RateLimit
 * fields, plus Retry-After. Pure: no I/O, no clock, no malloc. */
#include "ratelimit.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

enum sf_type {
	SF_NONE,
	SF_INT,
	SF_DEC,
	SF_STRING,
	SF_TOKEN,
	SF_BYTES,
	SF_BOOL
};

/* A bare item. Strings keep their escapes in [s, s+slen): the unescaped
 * copy is made only where a name is wanted. */
struct sf_item {
	enum sf_type type;
	int64_t i;
	const char *s;
	size_t slen;
};

struct cursor {
	const char *p;
	const char *end;
};

static bool
at_end(const struct cursor *c)
{
	return c->p >= c->end;
}
static int
peek(const struct cursor *c)
{
	return at_end(c) ? -1 : (unsigned char)*c->p;
}

static void
skip_sp(struct cursor *c)
{
	while (!at_end(c) && *c->p == ' ')
		c->p++;
}

static void
skip_ows(struct cursor *c)
{
	while (!at_end(c) && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static bool
is_tchar(int ch)
{
	return ch > 0 && (isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
parse_number(struct cursor *c, struct sf_item *it)
{
	bool neg = false, dec = false;
	int digits = 0, frac = 0;
	int64_t v = 0;

	if (peek(c) == '-') {
		neg = true;
		c->p++;
	}
	if (!isdigit(peek(c)))
		return -1;
	while (!at_end(c)) {
		int ch = peek(c);
		if (isdigit(ch)) {
			if (dec) {
				if (++frac > 3)
					return -1;
			} else {
				if (++digits > 15)
					return -1;
				v = v * 10 + (ch - '0');
			}
		} else if (ch == '.' && !dec) {
			if (digits > 12)
				return -1;
			dec = true;
		} else {
			break;
		}
		c->p++;
	}
	if (dec && frac == 0)
		return -1;
	it->type = dec ? SF_DEC : SF_INT;
	it->i = neg ? -v : v; /* a decimal keeps only its integer part: never used */
	return 0;
}

static int
parse_string(struct cursor *c, struct sf_item *it)
{
	c->p++; /* opening quote */
	it->s = c->p;
	while (!at_end(c)) {
		int ch = peek(c);
		if (ch == '\\') {
			c->p++;
			if (peek(c) != '"' && peek(c) != '\\')
				return -1;
		} else if (ch == '"') {
			it->slen = (size_t)(c->p - it->s);
			it->type = SF_STRING;
			c->p++;
			return 0;
		} else if (ch < 0x20 || ch > 0x7e) {
			return -1;
		}
		c->p++;
	}
	return -1; /* unterminated */
}

static int
parse_token(struct cursor *c, struct sf_item *it)
{
	it->s = c->p;
	c->p++;
	while (!at_end(c) && (is_tchar(peek(c)) || peek(c) == ':' || peek(c) == '/'))
		c->p++;
	it->slen = (size_t)(c->p - it->s);
	it->type = SF_TOKEN;
	return 0;
}

static int
parse_bytes(struct cursor *c, struct sf_item *it)
{
	c->p++;
	while (!at_end(c) && peek(c) != ':') {
		int ch = peek(c);
		if (!isalnum(ch) && ch != '+' && ch != '/' && ch != '=')
			return -1;
		c->p++;
	}
	if (at_end(c))
		return -1;
	c->p++;
	it->type = SF_BYTES;
	return 0;
}

static int
parse_bare(struct cursor *c, struct sf_item *it)
{
	int ch = peek(c);

	memset(it, 0, sizeof(*it));
	if (ch == '-' || isdigit(ch))
		return parse_number(c, it);
	if (ch == '"')
		return parse_string(c, it);
	if (ch == '*' || isalpha(ch))
		return parse_token(c, it);
	if (ch == ':')
		return parse_bytes(c, it);
	if (ch == '?') {
		c->p++;
		ch = peek(c);
		if (ch != '0' && ch != '1')
			return -1;
		c->p++;
		it->type = SF_BOOL;
		it->i = ch == '1';
		return 0;
	}
	return -1;
}

/* Calls back for each parameter of the item just parsed. */
typedef void (*param_fn)(void *ctx, const char *key, size_t klen, const struct sf_item *v);

static int
parse_params(struct cursor *c, param_fn fn, void *ctx)
{
	while (peek(c) == ';') {
		const char *key;
		size_t klen;
		struct sf_item v = { .type = SF_BOOL, .i = 1 };

		c->p++;
		skip_sp(c);
		if (!(islower(peek(c)) || peek(c) == '*'))
			return -1;
		key = c->p;
		while (!at_end(c) && (islower(peek(c)) || isdigit(peek(c)) ||
		                      strchr("_-.*", peek(c)) != NULL))
			c->p++;
		klen = (size_t)(c->p - key);
		if (peek(c) == '=') {
			c->p++;
			if (parse_bare(c, &v))
				return -1;
		}
		if (fn)
			fn(ctx, key, klen, &v);
	}
	return 0;
}

static int
parse_inner_list(struct cursor *c)
{
	struct sf_item it;

	c->p++; /* ( */
	for (;;) {
		skip_sp(c);
		if (at_end(c))
			return -1;
		if (peek(c) == ')') {
			c->p++;
			return parse_params(c, NULL, NULL);
		}
		if (parse_bare(c, &it) || parse_params(c, NULL, NULL))
			return -1;
		if (peek(c) != ' ' && peek(c) != ')')
			return -1;
	}
}

/* Which parameters a member of this field carries. */
enum field {
	F_RATELIMIT,
	F_POLICY
};

struct member_ctx {
	enum field field;
	int64_t a, b; /* r, t  or  q, w */
};

static void
member_param(void *vctx, const char *key, size_t klen, const struct sf_item *v)
{
	struct member_ctx *m = vctx;
	const char *ka = m->field == F_RATELIMIT ? "r" : "q";
	const char *kb = m->field == F_RATELIMIT ? "t" : "w";
	int64_t val = (v->type == SF_INT && v->i >= 0) ? v->i : -1;

	/* RFC 8941: a repeated key overwrites, a wrong type counts as absent. */
	if (klen == 1 && key[0] == ka[0])
		m->a = val;
	else if (klen == 1 && key[0] == kb[0])
		m->b = val;
}

/* Unescapes an sf-string (or copies a token) into out; false if too long. */
static bool
copy_name(const struct sf_item *it, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t k = 0; k < it->slen; k++) {
		char ch = it->s[k];
		if (it->type == SF_STRING && ch == '\\')
			ch = it->s[++k];
		if (n + 1 >= cap)
			return false;
		out[n++] = ch;
	}
	out[n] = '\0';
	return true;
}

static struct pp_rl_policy *
find_or_add(struct pp_ratelimit *rl, const char *name)
{
	for (unsigned k = 0; k < rl->n; k++)
		if (strcmp(rl->p[k].name, name) == 0)
			return &rl->p[k];
	if (rl->n >= PP_RL_MAX_POLICIES)
		return NULL;
	struct pp_rl_policy *p = &rl->p[rl->n++];
	memcpy(p->name, name, strlen(name) + 1);
	p->q = p->w = p->r = p->t = -1;
	return p;
}

static int
parse_field(struct pp_ratelimit *rl, const char *v, size_t len, enum field field)
{
	struct cursor c = { v, v + len };
	struct pp_ratelimit tmp = *rl;

	skip_ows(&c);
	while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
		c.end--;
	while (!at_end(&c)) {
		if (peek(&c) == '(') {
			if (parse_inner_list(&c))
				return -1;
		} else {
			struct sf_item it;
			struct member_ctx m = { field, -1, -1 };
			char name[PP_RL_NAME_MAX];

			if (parse_bare(&c, &it) || parse_params(&c, member_param, &m))
				return -1;
			if ((it.type == SF_STRING || it.type == SF_TOKEN) &&
			    copy_name(&it, name, sizeof(name))) {
				struct pp_rl_policy *p = find_or_add(&tmp, name);
				if (p && field == F_RATELIMIT) {
					p->r = m.a;
					p->t = m.b < PP_HINT_MAX_S ? m.b : PP_HINT_MAX_S;
				} else if (p) {
					p->q = m.a;
					p->w = m.b;
				}
			}
		}
		skip_ows(&c);
		if (at_end(&c))
			break;
		if (peek(&c) != ',')
			return -1;
		c.p++;
		skip_ows(&c);
		if (at_end(&c))
			return -1; /* trailing comma */
	}
	*rl = tmp;
	return 0;
}

void
pp_rl_init(struct pp_ratelimit *rl)
{
	memset(rl, 0, sizeof(*rl));
}

int
pp_rl_parse_ratelimit(struct pp_ratelimit *rl, const char *v, size_t len)
{
	return parse_field(rl, v, len, F_RATELIMIT);
}

int
pp_rl_parse_policy(struct pp_ratelimit *rl, const char *v, size_t len)
{
	return parse_field(rl, v, len, F_POLICY);
}

const struct pp_rl_policy *
pp_rl_exhausted(const struct pp_ratelimit *rl)
{
	const struct pp_rl_policy *worst = NULL;

	for (unsigned k = 0; k < rl->n; k++) {
		const struct pp_rl_policy *p = &rl->p[k];
		if (p->r == 0 && p->t >= 0 && (!worst || p->t > worst->t))
			worst = p;
	}
	return worst;
}

int
pp_retry_after_parse(const char *v, size_t len, int64_t now_epoch, int64_t *out_s)
{
	char buf[64];
	size_t a = 0, b = len;

	while (a < b && (v[a] == ' ' || v[a] == '\t'))
		a++;
	while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
		b--;
	if (a == b || b - a >= sizeof(buf))
		return -1;
	memcpy(buf, v + a, b - a);
	buf[b - a] = '\0';

	if (isdigit((unsigned char)buf[0])) {
		int64_t s = 0;
		for (const char *p = buf; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return -1;
			if (s < PP_HINT_MAX_S)
				s = s * 10 + (*p - '0');
		}
		*out_s = s < PP_HINT_MAX_S ? s : PP_HINT_MAX_S;
		return 0;
	}

	/* IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!rest || *rest != '\0')
		return -1;
	int64_t when = (int64_t)timegm(&tm);
	int64_t d = when - now_epoch;
	*out_s = d < 0 ? 0 : (d < PP_HINT_MAX_S ? d : PP_HINT_MAX_S);
	return 0;
}
