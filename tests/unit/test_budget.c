/*
 * The packet-rate budget: for random caps and random send attempts, no
 * half-open window of 100 ms or 1 s (or a random width) ever holds more
 * than ceil(pps * w) probes, probes are paced (never two closer than the
 * cap allows, rounded to the microsecond), and a budget that is asked
 * often enough sends at its cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hoptrace/hoptrace.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The largest number of sends in any window [t, t + w) (t a send time:
 * the worst window starts at a send). */
static uint64_t worst_window(const uint64_t *ts, size_t n, uint64_t w)
{
	uint64_t worst = 0;
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (j < i)
			j = i;
		while (j < n && ts[j] < ts[i] + w)
			j++;
		if (j - i > worst)
			worst = j - i;
	}
	return worst;
}

static uint64_t window_cap(uint32_t pps, uint64_t w_us)
{
	/* ceil(pps * w) with w in microseconds */
	return ((uint64_t)pps * w_us + 999999) / 1000000;
}

static void check_run(uint32_t pps, uint64_t start, int mode)
{
	enum { N = 20000 };
	static uint64_t ts[N];
	struct ht_budget b;
	uint64_t now = start, widths[3];
	size_t n = 0;

	ht_budget_init(&b, pps);
	while (n < N) {
		if (ht_budget_take(&b, now))
			ts[n++] = now;
		/* How the caller wakes: exactly when told, late by random
		 * amounts, or at random times. */
		if (mode == 0) {
			uint64_t r = ht_budget_ready(&b);
			now = r > now ? r : now;
		} else if (mode == 1) {
			uint64_t r = ht_budget_ready(&b);
			now = (r > now ? r : now) + next_rand() % 50;
		} else {
			now += next_rand() % (2 * 1000000 / pps + 2);
		}
	}
	widths[0] = 100000;
	widths[1] = 1000000;
	widths[2] = 1 + next_rand() % 3000000;
	for (int k = 0; k < 3; k++) {
		uint64_t worst = worst_window(ts, n, widths[k]);
		if (worst > window_cap(pps, widths[k]))
			fail_msg("pps %u mode %d: %llu probes in a %llu us window, cap %llu", pps,
			         mode, (unsigned long long)worst, (unsigned long long)widths[k],
			         (unsigned long long)window_cap(pps, widths[k]));
	}
	if (mode == 0) {
		/* Asked exactly when ready: the rate is the cap (within the
		 * rounding of one microsecond per probe at most). */
		double span = (double)(ts[n - 1] - ts[0]);
		assert_true((double)(n - 1) <= (double)pps * (span + 1.0) / 1e6);
		assert_true((double)(n - 1) >= (double)pps * span / 1e6 * 0.999);
	}
}

static void test_windows_hold_for_random_caps(void **st)
{
	(void)st;
	for (int i = 0; i < 300; i++) {
		uint32_t pps;
		switch (i % 4) {
		case 0:
			pps = 1 + (uint32_t)(next_rand() % 100);
			break;
		case 1:
			pps = 1 + (uint32_t)(next_rand() % 10000);
			break;
		case 2:
			pps = 1 + (uint32_t)(next_rand() % 1000000);
			break;
		default:
			pps = 1 + (uint32_t)(next_rand() % 10000000);
			break;
		}
		check_run(pps, next_rand() % (1ull << 40), i % 3);
	}
}

/* The cap from the issue: --pps 1 with thousands of probes waiting sends
 * one now and one a second later, never a burst. */
static void test_pps_one_is_one_a_second(void **st)
{
	struct ht_budget b;
	(void)st;

	ht_budget_init(&b, 1);
	assert_true(ht_budget_take(&b, 5000000));
	for (int i = 0; i < 100; i++)
		assert_false(ht_budget_take(&b, 5000000 + (uint64_t)i * 9999));
	assert_int_equal(ht_budget_ready(&b), 6000000);
	assert_true(ht_budget_take(&b, 6000000));
	assert_false(ht_budget_take(&b, 6000001));
}

/* A cap that does not divide a million keeps its fraction: 3/s sends at
 * 0, 333333, 666666, 1000000 us: three in every second. */
static void test_fraction_is_carried(void **st)
{
	struct ht_budget b;
	(void)st;

	ht_budget_init(&b, 3);
	assert_true(ht_budget_take(&b, 0 + 10));
	assert_int_equal(ht_budget_ready(&b), 333333 + 10);
	assert_true(ht_budget_take(&b, 333333 + 10));
	assert_int_equal(ht_budget_ready(&b), 666666 + 10);
	assert_true(ht_budget_take(&b, 666666 + 10));
	assert_int_equal(ht_budget_ready(&b), 1000000 + 10);
}

/* No cap: always ready; the count still runs. */
static void test_unlimited(void **st)
{
	struct ht_budget b;
	(void)st;

	ht_budget_init(&b, 0);
	for (int i = 0; i < 1000; i++)
		assert_true(ht_budget_take(&b, 7));
	assert_int_equal(b.sent, 1000);
	assert_int_equal(ht_budget_ready(&b), 0);
}

/* Late: the schedule restarts from the late probe, no catching up. */
static void test_no_credit_for_late_probes(void **st)
{
	struct ht_budget b;
	(void)st;

	ht_budget_init(&b, 1000);
	assert_true(ht_budget_take(&b, 1000000));
	assert_true(ht_budget_take(&b, 3000000)); /* two seconds idle */
	assert_false(ht_budget_take(&b, 3000000));
	assert_false(ht_budget_take(&b, 3000999));
	assert_true(ht_budget_take(&b, 3001000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows_hold_for_random_caps),
		cmocka_unit_test(test_pps_one_is_one_a_second),
		cmocka_unit_test(test_fraction_is_carried),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_no_credit_for_late_probes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
