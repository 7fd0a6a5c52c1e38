/*
 * The live view (src/live.c): its formatting helpers, and whole screens
 * rendered from a fake monitor (tests/live/fake_monitor.c) without a
 * terminal. HT_LIVE_SHOW=1 prints the screens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_monitor.h"
#include "live.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START_US 1000000000ull

static void show(const char *what, const char *screen)
{
	if (getenv("HT_LIVE_SHOW"))
		printf("---- %s\n%s----\n", what, screen);
}

static void test_fmt_ms(void **state)
{
	char b[16];
	(void)state;
	ht_live_fmt_ms(b, sizeof(b), 0);
	assert_string_equal(b, "0.0");
	ht_live_fmt_ms(b, sizeof(b), 349);
	assert_string_equal(b, "0.3");
	ht_live_fmt_ms(b, sizeof(b), 12345);
	assert_string_equal(b, "12.3");
	ht_live_fmt_ms(b, sizeof(b), 999949);
	assert_string_equal(b, "999.9");
	ht_live_fmt_ms(b, sizeof(b), 999950);
	assert_string_equal(b, "1000");
	ht_live_fmt_ms(b, sizeof(b), 99999499);
	assert_string_equal(b, "99999");
	ht_live_fmt_ms(b, sizeof(b), 99999500);
	assert_string_equal(b, "100s");
	ht_live_fmt_ms(b, sizeof(b), UINT32_MAX);
	assert_string_equal(b, "4295s");
}

static void test_fmt_loss_count(void **state)
{
	char b[16];
	(void)state;
	ht_live_fmt_loss(b, sizeof(b), 0, 0);
	assert_string_equal(b, "-");
	ht_live_fmt_loss(b, sizeof(b), 8, 8);
	assert_string_equal(b, "0.0");
	ht_live_fmt_loss(b, sizeof(b), 8, 6);
	assert_string_equal(b, "25.0");
	ht_live_fmt_loss(b, sizeof(b), 3, 0);
	assert_string_equal(b, "100.0");
	ht_live_fmt_loss(b, sizeof(b), 3, 5); /* more replies than probes */
	assert_string_equal(b, "0.0");
	ht_live_fmt_count(b, sizeof(b), 99999);
	assert_string_equal(b, "99999");
	ht_live_fmt_count(b, sizeof(b), 100000);
	assert_string_equal(b, "100k");
	ht_live_fmt_count(b, sizeof(b), 99999999);
	assert_string_equal(b, "99999k");
	ht_live_fmt_count(b, sizeof(b), 100000000);
	assert_string_equal(b, "100M");
	ht_live_fmt_count(b, sizeof(b), UINT32_MAX);
	assert_string_equal(b, "4294M");
}

static void test_fmt_cause(void **state)
{
	char b[16];
	(void)state;
	ht_live_fmt_cause(b, sizeof(b), HT_MON_CAUSE_NONE, 0);
	assert_string_equal(b, "-");
	ht_live_fmt_cause(b, sizeof(b), HT_MON_CAUSE_UNKNOWN, 0.3);
	assert_string_equal(b, "?");
	ht_live_fmt_cause(b, sizeof(b), HT_MON_CAUSE_FORWARDING, 0.8);
	assert_string_equal(b, "fwd 80%");
	ht_live_fmt_cause(b, sizeof(b), HT_MON_CAUSE_REPLY_ONLY, 0.977);
	assert_string_equal(b, "reply 97%");
	ht_live_fmt_cause(b, sizeof(b), HT_MON_CAUSE_REPLY_ONLY, 1.0);
	assert_string_equal(b, "reply 99%"); /* never 100% */
	ht_live_fmt_cause(b, sizeof(b), HT_MON_CAUSE_FORWARDING, -1);
	assert_string_equal(b, "fwd 0%");
	ht_live_fmt_cause(b, sizeof(b), HT_MON_CAUSE_LAST_HOP, 0.5);
	assert_string_equal(b, "last");
	assert_true(strlen("reply 99%") <= 9);
}

static void test_spark(void **state)
{
	(void)state;
	assert_int_equal(ht_live_spark_level(5, 5, 5, 8), 0);
	assert_int_equal(ht_live_spark_level(100, 100, 800, 8), 0);
	assert_int_equal(ht_live_spark_level(800, 100, 800, 8), 7);
	assert_int_equal(ht_live_spark_level(900, 100, 800, 8), 7);
	assert_int_equal(ht_live_spark_level(50, 100, 800, 8), 0);
	assert_int_equal(ht_live_spark_level(450, 100, 800, 8), 4); /* 3.5 rounds up */
	assert_int_equal(ht_live_spark_level(200, 100, 800, 8), 1);
	for (uint32_t v = 100, prev = 0; v <= 800; v += 7) { /* monotonic */
		int l = ht_live_spark_level(v, 100, 800, 8);
		assert_true((uint32_t)l >= prev);
		prev = (uint32_t)l;
	}
	assert_string_equal(ht_live_spark_glyph(0, true), "\xe2\x96\x81");
	assert_string_equal(ht_live_spark_glyph(7, true), "\xe2\x96\x88");
	assert_string_equal(ht_live_spark_glyph(9, true), "\xe2\x96\x88");
	assert_string_equal(ht_live_spark_glyph(0, false), "1");
	assert_string_equal(ht_live_spark_glyph(7, false), "8");
}

static void test_fit(void **state)
{
	char b[64];
	(void)state;
	assert_int_equal(ht_live_fit(b, sizeof(b), "router.example", 20, true), 14);
	assert_string_equal(b, "router.example");
	assert_int_equal(ht_live_fit(b, sizeof(b), "router.example", 14, true), 14);
	assert_string_equal(b, "router.example");
	assert_int_equal(ht_live_fit(b, sizeof(b), "router.example", 8, true), 8);
	assert_string_equal(b, "router.~");
	/* Control bytes never pass, whatever the caller forgot. */
	ht_live_fit(b, sizeof(b), "a\x1b[2Jb\x07", 20, true);
	assert_string_equal(b, "a?[2Jb?");
	/* UTF-8: kept in a UTF-8 locale, '?' per byte otherwise. */
	ht_live_fit(b, sizeof(b), "r\xc3\xa9seau", 20, true);
	assert_string_equal(b, "r\xc3\xa9seau");
	ht_live_fit(b, sizeof(b), "r\xc3\xa9seau", 20, false);
	assert_string_equal(b, "r??seau");
	/* Invalid UTF-8 and C1 controls. */
	ht_live_fit(b, sizeof(b), "x\xff\xc2\x9by", 20, true);
	assert_string_equal(b, "x??y");
	/* A small buffer truncates on a character boundary. */
	char s[5];
	ht_live_fit(s, sizeof(s), "\xc3\xa9\xc3\xa9\xc3\xa9", 10, true);
	assert_string_equal(s, "\xc3\xa9~");
	assert_int_equal(ht_live_fit(b, sizeof(b), "abc", 0, true), 0);
}

static void test_widths(void **state)
{
	(void)state;
	assert_int_equal(ht_live_host_width(80), 17);
	assert_int_equal(ht_live_host_width(120), 57);
}

static const char *name_fn(void *u, const ht_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	(void)u;
	ht_addr_str(a, buf, sizeof(buf));
	if (!strcmp(buf, "192.168.1.1"))
		return "gw.home.example";
	if (!strcmp(buf, "10.0.0.1"))
		return "a-very-long-router-name.isp.example";
	return NULL;
}

static struct ht_live *open_headless(bool numeric, bool ext)
{
	struct ht_live *lv;
	struct ht_live_opts o = {
		.target = "example.net",
		.method = HT_METHOD_UDP,
		.flows = 2,
		.numeric = numeric,
		.extensions = ext,
		.start_us = START_US,
		.name = name_fn,
		.headless = true,
		.charset = HT_LIVE_CHARSET_UTF8,
	};
	ht_addr_parse("192.0.2.80", &o.dst);
	assert_int_equal(ht_live_open(&lv, &o), 0);
	assert_int_equal(ht_live_fd(lv), -1);
	return lv;
}

static int nlines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The display width of each line is at most cols (UTF-8 glyphs count 1). */
static void assert_fits(const char *s, int cols)
{
	int w = 0;
	for (; *s; s++) {
		if (*s == '\n') {
			assert_true(w <= cols);
			w = 0;
		} else if (((unsigned char)*s & 0xc0) != 0x80) {
			w++;
		}
	}
}

static void test_render_stats(void **state)
{
	static char out[65536];
	(void)state;
	ht_monitor *m = fake_new();
	fake_scenario(m, 12, START_US);
	struct ht_live *lv = open_headless(false, true);

	int n = ht_live_render(lv, m, START_US + 83 * 1000000ull, 24, 80, out, sizeof(out));
	assert_true(n > 0);
	show("statistics 80x24", out);
	assert_int_equal(nlines(out), 24);
	assert_fits(out, 80);
	assert_non_null(strstr(out, "hoptrace --live  example.net (192.0.2.80)"));
	assert_non_null(strstr(out, "round 12  0:01:23"));
	assert_non_null(strstr(out, " Hop Host              Loss%   Snt  Last   Avg  Best  Wrst StDev  Jttr Cause"));
	/* Hop 2: loss 25%, reply-side; a name that does not fit with its
	 * address gets a line, the figures the next (never a cut address). */
	assert_non_null(strstr(out, "   2 a-very-long-router-name.isp.example (10.0.0.1)\n"
	                            "                        25.0    24"));
	assert_non_null(strstr(out, "reply 97%"));
	/* Hop 1: a short name that does not fit with the address: two lines. */
	assert_non_null(strstr(out, "   1 gw.home.example (192.168.1.1)\n                         0.0    24"));
	/* Hop 3: two addresses, two rows, the second without the hop number. */
	assert_non_null(strstr(out, "   3 203.0.113.3"));
	assert_non_null(strstr(out, "\n     203.0.113.9"));
	/* Hop 4: silent. */
	assert_non_null(strstr(out, "   4 (no reply)        100.0    24     -     -"));
	/* Hop 5 changed: marked, and the change in the footer. */
	assert_non_null(strstr(out, "!  5 198.51.100.5"));
	assert_non_null(strstr(out, "  round 6  +0:00:05  TTL 5  198.51.100.5 -> 198.51.100.55"));
	/* -e: MPLS and the interface under hop 6. */
	assert_non_null(strstr(out, "<MPLS:L=24001,E=0,S=1,T=1> <INC:index=5,name=ge-0/0/1>"));

	/* Same data, same time: the same screen. */
	static char again[65536];
	ht_live_render(lv, m, START_US + 83 * 1000000ull, 24, 80, again, sizeof(again));
	assert_string_equal(out, again);

	/* n: names off. */
	assert_int_equal(ht_live_handle_key(lv, 'n'), HT_LIVE_REDRAW);
	ht_live_render(lv, m, START_US, 24, 80, out, sizeof(out));
	assert_null(strstr(out, "gw.home"));
	assert_non_null(strstr(out, "   1 192.168.1.1 "));

	/* Wide terminal: the Host column takes the rest, the name whole. */
	ht_live_handle_key(lv, 'n');
	ht_live_render(lv, m, START_US, 30, 132, out, sizeof(out));
	show("statistics 132x30", out);
	assert_fits(out, 132);
	assert_non_null(strstr(out, "   2 a-very-long-router-name.isp.example (10.0.0.1)"));
	assert_non_null(strstr(out, "   1 gw.home.example (192.168.1.1) "));
	ht_live_close(lv);
	free(m);
}

static void test_render_ipv6_two_lines(void **state)
{
	static char out[65536];
	(void)state;
	ht_monitor *m = fake_new();
	fake_sample(m, 1, 1, 0, "2001:db8:1234:5678:9abc:def0:1234:5678", 1500);
	m->rounds_done = 1;
	struct ht_live *lv = open_headless(true, false);
	ht_live_render(lv, m, START_US, 24, 80, out, sizeof(out));
	show("ipv6 80x24", out);
	/* The address is never cut: it gets a line, the figures the next. */
	assert_non_null(strstr(out, "   1 2001:db8:1234:5678:9abc:def0:1234:5678\n"
	                            "                         0.0     1   1.5"));
	ht_live_close(lv);
	free(m);
}

static void test_render_history_flows(void **state)
{
	static char out[65536];
	(void)state;
	ht_monitor *m = fake_new();
	fake_scenario(m, 12, START_US);
	struct ht_live *lv = open_headless(true, false);

	assert_int_equal(ht_live_handle_key(lv, 'd'), HT_LIVE_REDRAW);
	assert_int_equal(ht_live_display(lv), HT_LIVE_HISTORY);
	ht_live_render(lv, m, START_US, 24, 80, out, sizeof(out));
	show("history 80x24", out);
	assert_fits(out, 80);
	assert_non_null(strstr(out, "Last 48 rounds, newest right"));
	/* Hop 2 lost rounds 4, 8 and 12. */
	const char *r2 = strstr(out, "   2 10.0.0.1");
	assert_non_null(r2);
	const char *nl = strchr(r2, '\n');
	assert_non_null(memchr(r2, 'x', (size_t)(nl - r2)));
	/* Hop 5's first address ends at round 5: another address after. */
	const char *r5 = strstr(out, "!  5 198.51.100.5 ");
	assert_non_null(r5);
	assert_non_null(strstr(r5, "-------\n"));
	/* Hop 4 lost everything. */
	assert_non_null(strstr(out, "   4 (no reply)           100.0 xxxxxxxxxxxx\n"));

	ht_live_handle_key(lv, 'd');
	assert_int_equal(ht_live_display(lv), HT_LIVE_FLOWS);
	ht_live_render(lv, m, START_US, 30, 80, out, sizeof(out));
	show("per flow 80x30", out);
	assert_fits(out, 80);
	assert_non_null(strstr(out, "   3  1 203.0.113.3"));
	assert_non_null(strstr(out, "\n      2 203.0.113.9"));
	ht_live_handle_key(lv, 'd');
	assert_int_equal(ht_live_display(lv), HT_LIVE_STATS);
	ht_live_close(lv);
	free(m);
}

static void test_render_small_help_scroll(void **state)
{
	static char out[65536];
	(void)state;
	ht_monitor *m = fake_new();
	fake_scenario(m, 3, START_US);
	m->warning = "1 probe per 0.2 s to each hop: above common ICMP limits";
	m->paused = true;
	struct ht_live *lv = open_headless(true, false);

	ht_live_render(lv, m, START_US, 7, 80, out, sizeof(out));
	assert_string_equal(out, "terminal too small (80x7, needs 80x8); q quits\n\n\n\n\n\n\n");
	ht_live_render(lv, m, START_US, 24, 79, out, sizeof(out));
	assert_non_null(strstr(out, "terminal too small (79x24"));

	ht_live_render(lv, m, START_US, 10, 80, out, sizeof(out));
	show("small 80x10, warning, paused", out);
	assert_non_null(strstr(out, "warning: 1 probe per 0.2 s"));
	assert_non_null(strstr(out, "[PAUSED]  round 3"));
	assert_non_null(strstr(out, "-- lines 1-5 of 8: Up/Down, PgUp/PgDn scroll --"));
	ht_live_handle_key(lv, KEY_END);
	ht_live_render(lv, m, START_US, 10, 80, out, sizeof(out));
	assert_non_null(strstr(out, "-- lines 4-8 of 8"));
	ht_live_handle_key(lv, KEY_HOME);

	assert_int_equal(ht_live_handle_key(lv, '?'), HT_LIVE_REDRAW);
	ht_live_render(lv, m, START_US, 24, 80, out, sizeof(out));
	show("help 80x24", out);
	assert_non_null(strstr(out, "| hoptrace --live: keys"));
	/* Any key closes the help and does nothing else; q still quits. */
	assert_int_equal(ht_live_handle_key(lv, 'r'), HT_LIVE_REDRAW);
	ht_live_render(lv, m, START_US, 24, 80, out, sizeof(out));
	assert_null(strstr(out, "hoptrace --live: keys"));
	ht_live_handle_key(lv, '?');
	assert_int_equal(ht_live_handle_key(lv, 'q'), HT_LIVE_QUIT);
	assert_int_equal(ht_live_handle_key(lv, 'x'), HT_LIVE_REDRAW);

	assert_int_equal(ht_live_handle_key(lv, 'p'), HT_LIVE_PAUSE | HT_LIVE_REDRAW);
	assert_int_equal(ht_live_handle_key(lv, 'r'), HT_LIVE_RESET | HT_LIVE_REDRAW);
	assert_int_equal(ht_live_handle_key(lv, 3), HT_LIVE_QUIT);
	assert_int_equal(ht_live_handle_key(lv, 'z'), HT_LIVE_NONE);
	ht_live_close(lv);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_ms),
		cmocka_unit_test(test_fmt_loss_count),
		cmocka_unit_test(test_fmt_cause),
		cmocka_unit_test(test_spark),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_render_stats),
		cmocka_unit_test(test_render_ipv6_two_lines),
		cmocka_unit_test(test_render_history_flows),
		cmocka_unit_test(test_render_small_help_scroll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
