/* Bounded number parsing of the command line (src/options.c). */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void int_accepts(void **state)
{
	long v = -99;

	(void)state;
	assert_int_equal(ht_parse_int("1", 1, 255, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ht_parse_int("255", 1, 255, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(ht_parse_int("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(ht_parse_int("-5", -5, 5, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(ht_parse_int("-0", 0, 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(ht_parse_int("9223372036854775807", 0, LONG_MAX, &v), 0);
	assert_true(v == LONG_MAX);
}

static void int_rejects(void **state)
{
	static const char *bad[] = {"",   " 1",  "\t1", "\n1", "+1", "1 ",  "1x",   "0x10",
	                            "1.", "1e2", "--1", "- 1", "٣",  "1\n", "inf", "nan"};
	long v = 42;

	(void)state;
	assert_int_equal(ht_parse_int(NULL, 0, 10, &v), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(ht_parse_int(bad[i], 0, 1000, &v) < 0);
		assert_int_equal(v, 42); /* untouched on failure */
	}
	/* Bounds are inclusive and checked exactly. */
	assert_int_equal(ht_parse_int("0", 1, 255, &v), -ERANGE);
	assert_int_equal(ht_parse_int("256", 1, 255, &v), -ERANGE);
	assert_int_equal(ht_parse_int("-1", 0, 255, &v), -ERANGE);
	/* Overflow is an error, never a clamp to LONG_MAX. */
	assert_int_equal(ht_parse_int("9223372036854775808", 0, LONG_MAX, &v), -ERANGE);
	assert_int_equal(ht_parse_int("99999999999999999999999", 0, 10, &v), -ERANGE);
	assert_int_equal(ht_parse_int("-99999999999999999999999", LONG_MIN, 10, &v), -ERANGE);
	assert_int_equal(v, 42);
}

static void double_accepts(void **state)
{
	double d = -1;

	(void)state;
	assert_int_equal(ht_parse_double("5", 0, 60, &d), 0);
	assert_true(d == 5.0);
	assert_int_equal(ht_parse_double(".5", 0, 60, &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(ht_parse_double("5.", 0, 60, &d), 0);
	assert_true(d == 5.0);
	assert_int_equal(ht_parse_double("0.001", 0.001, 60, &d), 0);
	assert_true(d == 0.001);
	assert_int_equal(ht_parse_double("60", 0.001, 60, &d), 0);
	assert_true(d == 60.0);
	assert_int_equal(ht_parse_double("1e1", 0, 60, &d), 0);
	assert_true(d == 10.0);
	assert_int_equal(ht_parse_double("0", 0, 1, &d), 0);
	assert_true(d == 0.0);
}

static void double_rejects(void **state)
{
	static const char *bad[] = {"",     " 1",   "+1",  "-1",     "-0",   "1 ",     "1,5",
	                            "abc",  "inf",  "nan", "NaN",    "0x1p3", "0X10",  "1e",
	                            "..5",  "1e999", "e5", "1.2.3",  "5s",   "\t5"};
	double d = 42;

	(void)state;
	assert_int_equal(ht_parse_double(NULL, 0, 10, &d), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(ht_parse_double(bad[i], 0, 1e9, &d) < 0);
		assert_true(d == 42);
	}
	assert_int_equal(ht_parse_double("0.0009", 0.001, 60, &d), -ERANGE);
	assert_int_equal(ht_parse_double("60.0001", 0.001, 60, &d), -ERANGE);
	/* Underflow to zero is an error too, not a silent 0. */
	assert_int_equal(ht_parse_double("1e-400", 0, 60, &d), -ERANGE);
	assert_true(d == 42);
}

/* The whole parser, for the cases that need no process: values land in
 * the config and repeated calls start from a clean state. */
static int parse(struct ht_opts *o, char *err, size_t n, int argc, char **argv)
{
	return ht_opts_parse(o, argc, argv, err, n);
}

static void opts_values(void **state)
{
	struct ht_opts o;
	char err[256];
	char *a1[] = {"hoptrace", "-q", "1", "-m", "7", "-f", "2", "-w", "2,,1.5", "-z", "20",
	              "-p", "53", "-T", "-n", "198.18.0.1", "100", NULL};
	char *a2[] = {"hoptrace", "-6", "2001:db8::1", NULL};
	char *a3[] = {"hoptrace", "-z", "0.5", "-w", ",4", "--pps=0", "--gap-limit", "9",
	              "--jsonl", "h", NULL};

	(void)state;
	assert_int_equal(parse(&o, err, sizeof(err), 17, a1), HT_OPTS_RUN);
	assert_int_equal(o.cfg.nqueries, 1);
	assert_int_equal(o.cfg.max_ttl, 7);
	assert_int_equal(o.cfg.first_ttl, 2);
	assert_int_equal(o.cfg.wait_max_us, 2000000);
	assert_true(o.cfg.wait_near == 1.5);
	assert_int_equal(o.cfg.send_gap_us, 20000); /* above 10: milliseconds */
	assert_int_equal(o.cfg.port, 53);
	assert_true(o.port_given);
	assert_int_equal(o.cfg.method, HT_METHOD_TCP);
	assert_true(o.numeric);
	assert_string_equal(o.host, "198.18.0.1");
	assert_int_equal(o.cfg.packet_len, 100);

	/* A second parse starts from defaults again. */
	assert_int_equal(parse(&o, err, sizeof(err), 3, a2), HT_OPTS_RUN);
	assert_int_equal(o.family_forced, AF_INET6);
	assert_int_equal(o.cfg.nqueries, 3);
	assert_int_equal(o.cfg.max_ttl, 30);
	assert_int_equal(o.cfg.method, HT_METHOD_UDP);
	assert_false(o.numeric);
	assert_int_equal(o.cfg.packet_len, 0);

	assert_int_equal(parse(&o, err, sizeof(err), 10, a3), HT_OPTS_RUN);
	assert_int_equal(o.cfg.send_gap_us, 500000); /* up to 10: seconds */
	assert_true(o.cfg.wait_here == 4);
	assert_int_equal(o.cfg.pps, 0);
	assert_int_equal(o.cfg.gap_limit, 9);
	assert_true(o.jsonl);
}

static void opts_errors(void **state)
{
	struct ht_opts o;
	char err[256];
	/* An error in the middle of a cluster, then a fresh parse: the
	 * parser must not resume inside the old (now different) argv. */
	char c1[] = "-nx";
	char *a1[] = {"hoptrace", c1, "h", NULL};
	char *a2[] = {"hoptrace", "-q", "4", "h", NULL};

	(void)state;
	assert_int_equal(parse(&o, err, sizeof(err), 3, a1), -EINVAL);
	assert_string_equal(err, "unknown option '-x' (try --help)");
	assert_int_equal(parse(&o, err, sizeof(err), 4, a2), HT_OPTS_RUN);
	assert_int_equal(o.cfg.nqueries, 4);
	assert_false(o.numeric);

	char *a3[] = {"hoptrace", "--port", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 2, a3), -EINVAL);
	assert_string_equal(err, "option '--port' needs a value");
	char *a4[] = {"hoptrace", "--stats=1", "h", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 3, a4), -EINVAL);
	assert_string_equal(err, "option '--stats' takes no value");
	char b5[] = {'-', (char)0xff, 0};
	char *a5[] = {"hoptrace", b5, "h", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 3, a5), -EINVAL);
	assert_string_equal(err, "unknown option byte 0xff (try --help)");
	/* A short error buffer truncates, never overflows. */
	char small[8];
	char *a6[] = {"hoptrace", "-q", "12345678901234567890", "h", NULL};
	assert_int_equal(parse(&o, small, sizeof(small), 4, a6), -EINVAL);
	assert_string_equal(small, "invalid");
}

/* Limits for users other than root of a privileged install. */
static void opts_user_limits(void **state)
{
	struct ht_opts o;
	char err[256];

	(void)state;
	/* Defaults are lowered to fit: 1000 probes/s, the whole default
	 * trace (90 probes) in flight, a 255-hop trace of 10 per hop capped. */
	char *a1[] = {"hoptrace", "h", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 2, a1), HT_OPTS_RUN);
	assert_int_equal(ht_opts_user_limits(&o, err, sizeof(err)), 0);
	assert_int_equal(o.cfg.pps, HT_USER_MAX_PPS);
	assert_int_equal(o.cfg.window, 0);
	char *a2[] = {"hoptrace", "-m", "255", "-q", "10", "h", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 6, a2), HT_OPTS_RUN);
	assert_int_equal(ht_opts_user_limits(&o, err, sizeof(err)), 0);
	assert_int_equal(o.cfg.window, HT_USER_MAX_WINDOW);
	/* Explicit asks within the limits stand. */
	char *a3[] = {"hoptrace", "--pps", "1000", "-N", "300", "h", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 6, a3), HT_OPTS_RUN);
	assert_int_equal(ht_opts_user_limits(&o, err, sizeof(err)), 0);
	assert_int_equal(o.cfg.pps, 1000);
	assert_int_equal(o.cfg.window, 300);
	char *a4[] = {"hoptrace", "--pps", "5", "-N", "1", "h", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 6, a4), HT_OPTS_RUN);
	assert_int_equal(ht_opts_user_limits(&o, err, sizeof(err)), 0);
	assert_int_equal(o.cfg.pps, 5);
	assert_int_equal(o.cfg.window, 1);
	/* Beyond them: refused, never clamped. */
	char *a5[] = {"hoptrace", "--pps", "0", "h", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 4, a5), HT_OPTS_RUN);
	assert_int_equal(ht_opts_user_limits(&o, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "--pps 0 (no rate limit) is for root only: other users may ask "
	                         "for 1 to 1000 probes per second");
	char *a6[] = {"hoptrace", "--pps", "1001", "h", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 4, a6), HT_OPTS_RUN);
	assert_int_equal(ht_opts_user_limits(&o, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "--pps 1001 is for root only: other users may ask for 1 to 1000 "
	                         "probes per second");
	char *a7[] = {"hoptrace", "-N", "301", "h", NULL};
	assert_int_equal(parse(&o, err, sizeof(err), 4, a7), HT_OPTS_RUN);
	assert_int_equal(ht_opts_user_limits(&o, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "-N 301 is for root only: other users may ask for 1 to 300 "
	                         "probes in flight");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(int_accepts),    cmocka_unit_test(int_rejects),
		cmocka_unit_test(double_accepts), cmocka_unit_test(double_rejects),
		cmocka_unit_test(opts_values),    cmocka_unit_test(opts_errors),
		cmocka_unit_test(opts_user_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
