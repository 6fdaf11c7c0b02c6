/* test_limiter.c - the sliding-window rules with a fake clock: window edges to
 * the millisecond, both limits in one decision, a clock stepped backwards. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"

#define CAP 64

struct fix {
	struct pp_bucket kb[CAP], gb[CAP];
	struct pp_window k, g;
	struct pp_policy p;
};

static void
setup(struct fix *f, uint32_t kl, int64_t kw, uint32_t gl, int64_t gw)
{
	f->k = (struct pp_window){ f->kb, 0, CAP };
	f->g = (struct pp_window){ f->gb, 0, CAP };
	f->p.per_key = (struct pp_limit){ kl, kw };
	f->p.global = (struct pp_limit){ gl, gw };
}

static int
hit(struct fix *f, int64_t now, struct pp_decision *d)
{
	ck_assert_int_eq(pp_limiter_admit(&f->k, &f->g, &f->p, now, d), 0);
	return d->admit;
}

START_TEST(empty_window_admits_and_counts_down)
{
	struct fix f;
	struct pp_decision d;
	setup(&f, 3, 2000, 100, 1000);
	ck_assert(hit(&f, 10000, &d));
	ck_assert_uint_eq(d.key.remaining, 2);
	ck_assert_int_eq(d.key.reset_ms, 2000);
	ck_assert_uint_eq(d.global.remaining, 99);
	ck_assert(hit(&f, 10500, &d));
	ck_assert_uint_eq(d.key.remaining, 1);
	ck_assert_int_eq(d.key.reset_ms, 1500); /* the oldest frees first */
	ck_assert(hit(&f, 11000, &d));
	ck_assert_uint_eq(d.key.remaining, 0);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_NONE);
}
END_TEST

START_TEST(window_edge_to_the_millisecond)
{
	struct fix f;
	struct pp_decision d;
	setup(&f, 3, 2000, 100, 1000);
	hit(&f, 1000, &d);
	hit(&f, 1500, &d);
	hit(&f, 2000, &d);
	/* (t - 2000, t]: the admission at 1000 is inside until t = 3000. */
	ck_assert(!hit(&f, 2999, &d));
	ck_assert_int_eq(d.refused_by, PP_LIMIT_KEY);
	ck_assert_int_eq(d.retry_ms, 1);
	ck_assert(hit(&f, 3000, &d));
	ck_assert(!hit(&f, 3499, &d));
	ck_assert_int_eq(d.retry_ms, 1);
	ck_assert(hit(&f, 3500, &d));
}
END_TEST

START_TEST(sliding_not_fixed_no_double_burst)
{
	/* A fixed window would admit 3 at 1999 and 3 more at 2000. */
	struct fix f;
	struct pp_decision d;
	int admitted = 0;
	setup(&f, 3, 1000, 1000, 1000);
	for (int i = 0; i < 5; i++)
		admitted += hit(&f, 1999, &d);
	for (int i = 0; i < 5; i++)
		admitted += hit(&f, 2000, &d);
	ck_assert_int_eq(admitted, 3);
	ck_assert(!hit(&f, 2998, &d));
	ck_assert(hit(&f, 2999, &d));
}
END_TEST

START_TEST(refusal_records_nothing)
{
	struct fix f;
	struct pp_decision d;
	setup(&f, 1, 1000, 100, 1000);
	hit(&f, 5000, &d);
	for (int i = 0; i < 50; i++)
		ck_assert(!hit(&f, 5001 + i, &d));
	ck_assert_uint_eq(f.k.n, 1);
	ck_assert_uint_eq(f.g.n, 1);
	ck_assert(hit(&f, 6000, &d));
}
END_TEST

START_TEST(global_limit_across_keys)
{
	struct fix a, b;
	struct pp_decision d;
	/* Two keys sharing one global window: copy the global buffer across. */
	setup(&a, 10, 60000, 2, 1000);
	setup(&b, 10, 60000, 2, 1000);
	b.g.b = a.gb;
	ck_assert(hit(&a, 100, &d));
	b.g.n = a.g.n;
	ck_assert(hit(&b, 200, &d));
	ck_assert_uint_eq(d.global.remaining, 0);
	a.g.n = b.g.n;
	ck_assert(!hit(&a, 300, &d));
	ck_assert_int_eq(d.refused_by, PP_LIMIT_GLOBAL);
	ck_assert_int_eq(d.retry_ms, 800);
	ck_assert_uint_eq(d.key.remaining, 9); /* the key itself still had room */
	ck_assert(hit(&a, 1100, &d));
}
END_TEST

START_TEST(both_full_reports_the_longer_wait)
{
	struct fix f;
	struct pp_decision d;
	setup(&f, 2, 10000, 2, 1000);
	hit(&f, 0, &d);
	hit(&f, 500, &d);
	ck_assert(!hit(&f, 600, &d));
	ck_assert(d.key.full && d.global.full);
	ck_assert_int_eq(d.refused_by, PP_LIMIT_KEY);
	ck_assert_int_eq(d.retry_ms, 9400);
	ck_assert_int_eq(d.global.retry_ms, 400);
	/* After the global window frees, only the key limit remains. */
	ck_assert(!hit(&f, 1600, &d));
	ck_assert_int_eq(d.refused_by, PP_LIMIT_KEY);
	ck_assert(!d.global.full);
	ck_assert_int_eq(d.retry_ms, 8400);
}
END_TEST

START_TEST(global_wait_longer_than_key_wait)
{
	struct fix f;
	struct pp_decision d;
	setup(&f, 1, 1000, 1, 5000);
	hit(&f, 0, &d);
	ck_assert(!hit(&f, 100, &d));
	ck_assert_int_eq(d.refused_by, PP_LIMIT_GLOBAL);
	ck_assert_int_eq(d.retry_ms, 4900);
}
END_TEST

START_TEST(throttle_age_counts_from_the_fill)
{
	struct fix f;
	struct pp_decision d;
	setup(&f, 3, 60000, 100, 1000);
	hit(&f, 1000, &d);
	hit(&f, 2000, &d);
	hit(&f, 4000, &d); /* filled here */
	ck_assert(!hit(&f, 11500, &d));
	ck_assert_int_eq(d.throttle_age_ms, 7500);
	ck_assert_int_eq(d.retry_ms, 1000 + 60000 - 11500);
}
END_TEST

START_TEST(clock_stepped_back_locks_out_no_longer_than_window)
{
	struct fix f;
	struct pp_decision d;
	const int64_t t0 = 10000000, back = t0 - 3600000;
	setup(&f, 2, 5000, 100, 1000);
	hit(&f, t0, &d);
	hit(&f, t0, &d);
	ck_assert(!hit(&f, back, &d));
	ck_assert(d.rewrite);
	ck_assert_int_le(d.retry_ms, 5000);
	ck_assert_int_le(d.key.reset_ms, 5000);
	/* One window after the step the key is free again, not an hour later. */
	ck_assert(hit(&f, back + 5000, &d));
	ck_assert_int_le(f.k.b[f.k.n - 1].t_ms, back + 5000);
}
END_TEST

START_TEST(same_millisecond_shares_a_bucket)
{
	struct fix f;
	struct pp_decision d;
	setup(&f, 1000, 1000, 1000, 1000);
	for (int i = 0; i < 500; i++)
		ck_assert(hit(&f, 42, &d));
	ck_assert_uint_eq(f.k.n, 1);
	ck_assert_uint_eq(f.k.b[0].n, 500);
	ck_assert_uint_eq(d.key.remaining, 500);
}
END_TEST

START_TEST(record_without_room_changes_nothing)
{
	struct pp_bucket b[2] = { { 1, 1, 0 }, { 2, 1, 0 } };
	struct pp_window w = { b, 2, 2 };
	struct pp_limit l = { 10, 1000 };
	ck_assert_int_eq(pp_limiter_record(&w, &l, 3), -1);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_int_eq(b[1].t_ms, 2);
	/* Once the old ones expire there is room again. */
	ck_assert_int_eq(pp_limiter_record(&w, &l, 5000), 0);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_int_eq(b[0].t_ms, 5000);
}
END_TEST

START_TEST(cap_is_bounded_by_limit_and_window)
{
	struct pp_limit a = { 10, 60000 }, b = { 1000000, 1000 };
	ck_assert_uint_eq(pp_limiter_cap(&a), 11);
	ck_assert_uint_eq(pp_limiter_cap(&b), 1001);
	ck_assert_int_eq(pp_limiter_admit(&(struct pp_window){ NULL, 0, 0 },
	                                  &(struct pp_window){ NULL, 0, 0 },
	                                  &(struct pp_policy){ a, a }, 0, &(struct pp_decision){ 0 }),
	                 -1);
}
END_TEST

START_TEST(lowered_limit_keeps_refusing_until_enough_expire)
{
	/* Five live admissions, then the operator lowers the limit to 2. */
	struct pp_bucket b[8] = { { 100, 1, 0 }, { 200, 1, 0 }, { 300, 1, 0 }, { 400, 1, 0 }, { 500, 1, 0 } };
	struct pp_window w = { b, 5, 8 };
	struct pp_limit l = { 2, 1000 };
	struct pp_window_state st;
	pp_limiter_inspect(&w, &l, 600, &st);
	ck_assert(st.full);
	ck_assert_uint_eq(st.used, 5);
	ck_assert_int_eq(st.retry_ms, 400 + 1000 - 600); /* when only 1 is left */
	ck_assert_int_eq(st.age_ms, 600 - 200);
}
END_TEST

/* The global window as per-slot records (the LMDB store's layout) decides
 * exactly as the flat window: random traffic at several limits, windows and
 * rates, one key per request, every decision compared field by field. The
 * slots are kept in memory as the store keeps them, and the limiter is given
 * only the first live, the next and the newest record unless it asks for
 * all of them. */
#define SIM_SLOTS 4096
static struct pp_slot sim[SIM_SLOTS];
static struct pp_bucket sim_b[SIM_SLOTS][PP_SLOT_MS + 1];

static void
same_state(const struct pp_window_state *a, const struct pp_window_state *b)
{
	ck_assert_uint_eq(a->used, b->used);
	ck_assert_uint_eq(a->remaining, b->remaining);
	ck_assert_int_eq(a->full, b->full);
	ck_assert_int_eq(a->reset_ms, b->reset_ms);
	ck_assert_int_eq(a->retry_ms, b->retry_ms);
	ck_assert_int_eq(a->age_ms, b->age_ms);
}

START_TEST(slots_decide_as_the_flat_window)
{
	static const struct {
		uint32_t limit;
		int64_t window;
		int gap;
	} cases[] = {
		{ 5, 100, 7 },
		{ 50, 1000, 3 },
		{ 1000, 10, 1 },
		{ 3, 16, 2 },
		{ 40, 33, 1 },
		{ 2, 1000, 200 },
		{ 200, 250, 1 },
	};
	static struct pp_slot g[SIM_SLOTS + 1];
	unsigned next_buf = 0, alls = 0;
	srandom(7);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pp_policy p = { { 1000000, 10 }, { cases[c].limit, cases[c].window } };
		uint32_t cap = pp_limiter_cap(&p.global), ns = 0;
		struct pp_bucket *fb = calloc(cap, sizeof(*fb));
		struct pp_window flat = { fb, 0, cap };
		int64_t now = 1700000000000LL + random() % 1000;
		for (int i = 0; i < 2500; i++) {
			now += random() % (cases[c].gap + 1);
			struct pp_bucket kb1[2], kb2[2];
			struct pp_window k1 = { kb1, 0, 2 }, k2 = { kb2, 0, 2 };
			struct pp_decision d1, d2;
			ck_assert_int_eq(pp_limiter_admit(&k1, &flat, &p, now, &d1), 0);

			/* The store's reads; expired records dropped now and then. */
			int64_t first = pp_slot_first_live(&p.global, now);
			uint32_t lo = 0, ng = 0;
			while (lo < ns && sim[lo].id < first)
				lo++;
			if (lo > 0 && random() % 3 == 0) {
				memmove(sim, sim + lo, (ns - lo) * sizeof(*sim));
				ns -= lo;
				lo = 0;
			}
			if (lo < ns) {
				g[ng++] = sim[lo];
				if (lo + 1 < ns)
					g[ng++] = sim[lo + 1];
				if (lo + 2 < ns)
					g[ng++] = sim[ns - 1];
			}
			int64_t id = pp_slot_of(now);
			int fresh = !(ns > lo && sim[ns - 1].id == id);
			struct pp_slot nw = { id, ns > lo ? sim[ns - 1].before + sim[ns - 1].count : 0, 0, { sim_b[next_buf % SIM_SLOTS], 0, PP_SLOT_MS + 1 } };
			if (fresh)
				g[ng++] = nw;
			int rc = pp_limiter_admit_slots(&k2, g, ng, &p, now, &d2);
			if (rc == 1) {
				alls++;
				ng = 0;
				for (uint32_t j = lo; j < ns; j++)
					g[ng++] = sim[j];
				if (fresh)
					g[ng++] = nw;
				rc = pp_limiter_admit_slots(&k2, g, ng, &p, now, &d2);
			}
			ck_assert_int_eq(rc, 0);
			ck_assert_int_eq(d1.admit, d2.admit);
			ck_assert_int_eq(d1.refused_by, d2.refused_by);
			ck_assert_int_eq(d1.retry_ms, d2.retry_ms);
			ck_assert_int_eq(d1.throttle_age_ms, d2.throttle_age_ms);
			same_state(&d1.global, &d2.global);
			same_state(&d1.key, &d2.key);
			if (d2.admit) { /* the store writes the newest record back */
				if (fresh) {
					ck_assert_uint_lt(ns, SIM_SLOTS);
					sim[ns++] = g[ng - 1];
					next_buf++;
				} else {
					sim[ns - 1] = g[ng - 1];
				}
			}
			/* And inspecting every live record agrees too. */
			struct pp_window_state st, fst;
			ck_assert_int_eq(pp_limiter_inspect_slots(sim + lo, ns - lo, &p.global, now, &st), 0);
			pp_limiter_inspect(&flat, &p.global, now, &fst);
			same_state(&fst, &st);
			ck_assert_int_eq(pp_limiter_clear_slots(sim + lo, ns - lo, &p.global, now),
			                 pp_limiter_clear_ms(&flat, &p.global, now));
		}
		free(fb);
	}
	ck_assert_uint_gt(alls, 0); /* the fallback to every record was exercised */
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("limiter");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60); /* the random differential test, on a loaded machine */
	tcase_add_test(tc, empty_window_admits_and_counts_down);
	tcase_add_test(tc, window_edge_to_the_millisecond);
	tcase_add_test(tc, sliding_not_fixed_no_double_burst);
	tcase_add_test(tc, refusal_records_nothing);
	tcase_add_test(tc, global_limit_across_keys);
	tcase_add_test(tc, both_full_reports_the_longer_wait);
	tcase_add_test(tc, global_wait_longer_than_key_wait);
	tcase_add_test(tc, throttle_age_counts_from_the_fill);
	tcase_add_test(tc, clock_stepped_back_locks_out_no_longer_than_window);
	tcase_add_test(tc, same_millisecond_shares_a_bucket);
	tcase_add_test(tc, record_without_room_changes_nothing);
	tcase_add_test(tc, cap_is_bounded_by_limit_and_window);
	tcase_add_test(tc, lowered_limit_keeps_refusing_until_enough_expire);
	tcase_add_test(tc, slots_decide_as_the_flat_window);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
