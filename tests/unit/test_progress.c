/* The batch progress line: its text, and no drawing off a terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

#define S 1000000ull

static void test_format(void **state)
{
	char buf[128];
	struct ht_progress p = {.start_us = 10 * S};
	(void)state;

	/* Nothing yet, at the start: no rate, no division by zero. */
	size_t n = ht_progress_format(buf, sizeof(buf), &p, 10 * S);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "0 done, 0 in flight, 0 probes, 0/s");
	/* A streamed list (total unknown): no ETA. */
	p.done = 12;
	p.in_flight = 64;
	p.probes_sent = 3260;
	ht_progress_format(buf, sizeof(buf), &p, 14 * S);
	assert_string_equal(buf, "12 done, 64 in flight, 3260 probes, 815/s");
	/* Known total: done/total and the time left at the pace so far
	 * (12 in 4 s: 88 left take 29.3 s, shown rounded up). */
	p.total = 100;
	ht_progress_format(buf, sizeof(buf), &p, 14 * S);
	assert_string_equal(buf, "12/100 done, 64 in flight, 3260 probes, 815/s, ETA 30s");
	p.start_us = 0;
	p.done = 1;
	ht_progress_format(buf, sizeof(buf), &p, 14 * S);
	assert_string_equal(buf, "1/100 done, 64 in flight, 3260 probes, 232/s, ETA 23m06s");
	p.done = 100;
	ht_progress_format(buf, sizeof(buf), &p, 14 * S);
	assert_string_equal(buf, "100/100 done, 64 in flight, 3260 probes, 232/s");
	/* Hours, and a clock that went backwards (no wrap). */
	p.done = 1;
	p.total = 1000;
	ht_progress_format(buf, sizeof(buf), &p, 3600 * S);
	assert_string_equal(buf, "1/1000 done, 64 in flight, 3260 probes, 0/s, ETA >99h");
	p.start_us = 50 * S;
	ht_progress_format(buf, sizeof(buf), &p, 10 * S);
	assert_string_equal(buf, "1/1000 done, 64 in flight, 3260 probes, 0/s");
}

static void test_format_bounds(void **state)
{
	char buf[200], small[8];
	struct ht_progress p = {
		.done = 4000000000ul,
		.in_flight = 4096,
		.total = 4100000000ul,
		.probes_sent = 18446744073709ull,
		.start_us = 0,
	};
	(void)state;

	size_t n = ht_progress_format(buf, sizeof(buf), &p, 1);
	assert_true(n <= HT_PROGRESS_WIDTH);
	assert_int_equal(strlen(buf), n);
	assert_int_equal(ht_progress_format(small, sizeof(small), &p, 1), 7);
	assert_int_equal(strlen(small), 7);
	assert_int_equal(ht_progress_format(small, 0, &p, 1), 0);
}

/* Not a terminal (a pipe): nothing written, clear a no-op. */
static void test_not_a_tty(void **state)
{
	int fds[2];
	char c;
	struct ht_progress_display d;
	struct ht_progress p = {.done = 1};
	(void)state;

	assert_int_equal(pipe(fds), 0);
	ht_progress_init(&d, fds[1]);
	assert_false(d.on);
	ht_progress_draw(&d, &p, 1, true);
	ht_progress_clear(&d);
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 0);
	close(fds[0]);
}

/* On a terminal (forced here on a pipe): "\r", the line, erase to the end
 * of line; redrawn at most every HT_PROGRESS_EVERY_US; cleared at the end. */
static void test_draw(void **state)
{
	int fds[2];
	char buf[256];
	struct ht_progress_display d;
	struct ht_progress p = {.done = 1};
	(void)state;

	assert_int_equal(pipe(fds), 0);
	ht_progress_init(&d, fds[1]);
	d.on = true;
	ht_progress_draw(&d, &p, 1 * S, false);
	ht_progress_draw(&d, &p, 1 * S + 1000, false); /* too soon */
	ht_progress_draw(&d, &p, 1 * S + HT_PROGRESS_EVERY_US, false);
	ht_progress_clear(&d);
	ht_progress_clear(&d); /* nothing left to clear */
	close(fds[1]);
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "\r1 done, 0 in flight, 0 probes, 0/s\033[K"
	                         "\r1 done, 0 in flight, 0 probes, 0/s\033[K"
	                         "\r\033[K");
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_bounds),
		cmocka_unit_test(test_not_a_tty),
		cmocka_unit_test(test_draw),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
