/* redis_script.h - the decision script Redis runs (src/decide.lua, embedded at
 * build time) and the reading of its reply into a struct pp_decision. */
#ifndef PP_REDIS_SCRIPT_H
#define PP_REDIS_SCRIPT_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "limiter.h"

/* The production script: a prelude that sets `now` from Redis TIME, then
 * decide.lua. Nothing else is ever sent to Redis as a script. */
extern const char pp_redis_script[];
/* decide.lua alone, for the differential test, which prepends its own
 * prelude (a time it drives) and runs it on a Redis of its own. */
extern const char pp_redis_script_body[];

/* Number of integers the script returns. */
#define PP_REDIS_SCRIPT_FIELDS 11

/* Fills out from the script's reply under policy p, the way
 * pp_limiter_decide() would: refused_by, retry_ms and throttle_age_ms come
 * from the two windows' figures. Returns 0, or -1 if the reply is not an
 * array of PP_REDIS_SCRIPT_FIELDS sane integers (out is then undefined). */
int pp_redis_script_result(const redisReply *r, const struct pp_policy *p,
                           struct pp_decision *out);

/* The keys of one decision: "<prefix>:{<prefix>}:k:<hex id>" and
 * "<prefix>:{<prefix>}:g". One hash tag, so both live in one Cluster slot.
 * Return the length written, or 0 if cap is too small. */
size_t pp_redis_key_name(char *buf, size_t cap, const char *prefix,
                         const unsigned char *id, size_t idlen);
size_t pp_redis_global_name(char *buf, size_t cap, const char *prefix);

#endif
