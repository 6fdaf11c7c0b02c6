/* fuzz_ratelimit.c - libFuzzer target for the client's RateLimit,
 * RateLimit-Policy and Retry-After parsers (cli/ratelimit.c): no crash, and
 * the contracts in cli/ratelimit.h hold for any bytes a server might send. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

static void
check_rl(const struct pp_ratelimit *rl)
{
	if (rl->n > PP_RL_MAX_POLICIES)
		abort();
	for (unsigned i = 0; i < rl->n; i++) {
		const struct pp_rl_policy *p = &rl->p[i];
		if (memchr(p->name, '\0', PP_RL_NAME_MAX) == NULL)
			abort();
		if (p->q < -1 || p->w < -1 || p->r < -1 || p->t < -1)
			abort();
	}
	const struct pp_rl_policy *e = pp_rl_exhausted(rl);
	if (e && (e < rl->p || e >= rl->p + rl->n || e->r != 0))
		abort();
}

/* A heap copy of exactly len bytes: ASan sees any read past the end. */
static char *
exact_copy(const char *v, size_t len)
{
	char *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, v, len);
	return copy;
}

/* A failed parse leaves rl exactly as it was (RFC 8941: field ignored). */
static void
parse_one(struct pp_ratelimit *rl, int policy, const char *v, size_t len)
{
	struct pp_ratelimit before = *rl;
	char *copy = exact_copy(v, len);
	int rc = policy ? pp_rl_parse_policy(rl, copy, len) : pp_rl_parse_ratelimit(rl, copy, len);
	free(copy);
	if (rc != 0 && rc != -1)
		abort();
	if (rc == -1 && memcmp(&before, rl, sizeof(before)) != 0)
		abort();
	check_rl(rl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const char *v = (const char *)data + 1;
	size_t len = size - 1;

	/* Retry-After: delay-seconds or an HTTP-date against a fixed now. */
	int64_t s = -5;
	char *copy = exact_copy(v, len);
	int rc = pp_retry_after_parse(copy, len, 1700000000, &s);
	free(copy);
	if (rc == 0 && (s < 0 || s > 86400))
		abort();
	if (rc != 0 && rc != -1)
		abort();

	/* The structured fields: the input split at its first newline, the
	 * first part as RateLimit-Policy and the rest as RateLimit (or all of
	 * it as one field, by mode), merged into one struct as the client does. */
	struct pp_ratelimit rl;
	memset(&rl, 0xa5, sizeof(rl)); /* pp_rl_init must set everything used */
	pp_rl_init(&rl);
	const char *nl = memchr(v, '\n', len);
	if ((mode & 1) && nl) {
		size_t a = (size_t)(nl - v);
		parse_one(&rl, 1, v, a);
		parse_one(&rl, 0, nl + 1, len - a - 1);
	} else {
		parse_one(&rl, mode & 2, v, len);
	}
	return 0;
}
