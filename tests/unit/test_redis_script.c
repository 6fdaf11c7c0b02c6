/* test_redis_script.c - the pure parts of the Redis backend: reading the
 * script's reply (and refusing wrong shapes), key names under one hash tag,
 * MOVED/ASK node addresses. No Redis needed. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "redis_conn.h"
#include "redis_script.h"
#include "run.h"

static redisReply ints[PP_REDIS_SCRIPT_FIELDS], *ptrs[PP_REDIS_SCRIPT_FIELDS];
static redisReply arr;
static struct pp_policy pol = { { 3, 2000 }, { 100, 1000 } };

/* {now, admit, rewrite, key used, reset, retry, age, global used, reset, retry, age} */
static redisReply *
reply(const long long v[PP_REDIS_SCRIPT_FIELDS])
{
	for (int i = 0; i < PP_REDIS_SCRIPT_FIELDS; i++) {
		memset(&ints[i], 0, sizeof(ints[i]));
		ints[i].type = REDIS_REPLY_INTEGER;
		ints[i].integer = v[i];
		ptrs[i] = &ints[i];
	}
	memset(&arr, 0, sizeof(arr));
	arr.type = REDIS_REPLY_ARRAY;
	arr.elements = PP_REDIS_SCRIPT_FIELDS;
	arr.element = ptrs;
	return &arr;
}

START_TEST(refusal_reads_like_limiter)
{
	long long v[] = { 5000, 0, 0, 3, 1500, 700, 900, 10, 800, 0, 0 };
	struct pp_decision d;
	ck_assert_int_eq(pp_redis_script_result(reply(v), &pol, &d), 0);
	ck_assert(!d.admit);
	ck_assert_int_eq(d.now_ms, 5000);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_KEY);
	ck_assert_int_eq(d.retry_ms, 700);
	ck_assert_int_eq(d.throttle_age_ms, 900);
	ck_assert(d.key.full);
	ck_assert_uint_eq(d.key.remaining, 0);
	ck_assert_uint_eq(d.global.remaining, 90);
	ck_assert_int_eq(d.global.reset_ms, 800);
	ck_assert_int_eq(d.global.retry_ms, 0);
}
END_TEST

START_TEST(both_full_refused_by_the_later)
{
	long long v[] = { 5000, 0, 0, 3, 1500, 300, 900, 100, 800, 600, 50 };
	struct pp_decision d;
	ck_assert_int_eq(pp_redis_script_result(reply(v), &pol, &d), 0);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_GLOBAL);
	ck_assert_int_eq(d.retry_ms, 600);
	ck_assert_int_eq(d.throttle_age_ms, 50);
}
END_TEST

START_TEST(admission)
{
	long long v[] = { 5000, 1, 0, 1, 2000, 0, 0, 1, 1000, 0, 0 };
	struct pp_decision d;
	ck_assert_int_eq(pp_redis_script_result(reply(v), &pol, &d), 0);
	ck_assert(d.admit);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_NONE);
	ck_assert_uint_eq(d.key.remaining, 2);
	ck_assert_int_eq(d.retry_ms, 0);
}
END_TEST

START_TEST(wrong_shapes_are_refused)
{
	long long ok[] = { 5000, 0, 0, 3, 1500, 700, 900, 10, 800, 0, 0 };
	struct pp_decision d;
	redisReply *r, s;

	ck_assert_int_eq(pp_redis_script_result(NULL, &pol, &d), -1);
	memset(&s, 0, sizeof(s));
	s.type = REDIS_REPLY_STRING;
	s.str = "OK";
	s.len = 2;
	ck_assert_int_eq(pp_redis_script_result(&s, &pol, &d), -1);
	r = reply(ok);
	r->elements = PP_REDIS_SCRIPT_FIELDS - 1;
	ck_assert_int_eq(pp_redis_script_result(r, &pol, &d), -1);
	r = reply(ok);
	ints[4].type = REDIS_REPLY_STRING;
	ck_assert_int_eq(pp_redis_script_result(r, &pol, &d), -1);
	/* Out of range: admit not 0/1, negative or beyond-window durations. */
	long long bad[][PP_REDIS_SCRIPT_FIELDS] = {
		{ 5000, 2, 0, 3, 1500, 700, 900, 10, 800, 0, 0 },
		{ 5000, 0, 0, -1, 1500, 700, 900, 10, 800, 0, 0 },
		{ 5000, 0, 0, 3, 2001, 700, 900, 10, 800, 0, 0 },
		{ 5000, 0, 0, 3, 1500, -5, 900, 10, 800, 0, 0 },
		{ 5000, 0, 0, 3, 1500, 700, 900, 10, 1001, 0, 0 },
		/* a refusal with room in both windows */
		{ 5000, 0, 0, 2, 1500, 0, 0, 10, 800, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pp_redis_script_result(reply(bad[i]), &pol, &d) == -1, "case %zu", i);
}
END_TEST

START_TEST(key_names_share_one_hash_tag)
{
	unsigned char id[16];
	char buf[128];
	for (int i = 0; i < 16; i++)
		id[i] = (unsigned char)(i * 17);
	ck_assert_uint_gt(pp_redis_key_name(buf, sizeof(buf), "pp", id, sizeof(id)), 0);
	ck_assert_str_eq(buf, "pp:{pp}:k:00112233445566778899aabbccddeeff");
	ck_assert_uint_gt(pp_redis_global_name(buf, sizeof(buf), "pp"), 0);
	ck_assert_str_eq(buf, "pp:{pp}:g");
	ck_assert_uint_eq(pp_redis_key_name(buf, 20, "pp", id, sizeof(id)), 0);
}
END_TEST

START_TEST(redirection_nodes)
{
	char host[64];
	int port;
	ck_assert_int_eq(pp_redis_parse_node("10.0.0.7:6381", host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "10.0.0.7");
	ck_assert_int_eq(port, 6381);
	ck_assert_int_eq(pp_redis_parse_node("[::1]:7000", host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(port, 7000);
	ck_assert_int_eq(pp_redis_parse_node("host", host, sizeof(host), &port), -1);
	ck_assert_int_eq(pp_redis_parse_node(":80", host, sizeof(host), &port), -1);
	ck_assert_int_eq(pp_redis_parse_node("h:0", host, sizeof(host), &port), -1);
	ck_assert_int_eq(pp_redis_parse_node("h:70000", host, sizeof(host), &port), -1);
	ck_assert_int_eq(pp_redis_parse_node("h:80x", host, sizeof(host), &port), -1);
}
END_TEST

START_TEST(production_script_reads_redis_time)
{
	/* The only `now` production ever has is TIME's. */
	ck_assert_ptr_nonnull(strstr(pp_redis_script, "redis.call('TIME')"));
	ck_assert_ptr_null(strstr(pp_redis_script, "ARGV[5]"));
	ck_assert_ptr_nonnull(strstr(pp_redis_script, "local ttl_extra = 0\n"));
}
END_TEST

int
main(void)
{
	const TTest *tests[] = { refusal_reads_like_limiter, both_full_refused_by_the_later,
		                 admission, wrong_shapes_are_refused, key_names_share_one_hash_tag,
		                 redirection_nodes, production_script_reads_redis_time, NULL };
	return pp_test_main("redis_script", "core", tests);
}
