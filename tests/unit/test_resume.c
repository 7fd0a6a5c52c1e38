/* --resume: the targets a --jsonl batch finished, from its output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resume.h"

static struct ht_resume *load(const char *text)
{
	char err[128] = "";
	struct ht_resume *r = NULL;
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(f);
	assert_int_equal(ht_resume_load(&r, f, err, sizeof(err)), 0);
	fclose(f);
	assert_non_null(r);
	return r;
}

#define START(name) "{\"type\":\"trace_start\",\"schema\":1,\"target\":{\"name\":\"" name "\"}}\n"
#define HOP "{\"type\":\"hop_done\",\"ttl\":1,\"reached\":false,\"probes\":[]}\n"
#define DONE(reason) "{\"type\":\"trace_done\",\"stop\":{\"reason\":\"" reason "\",\"last_ttl\":3}}\n"

/* Traces one after the other, as --jsonl writes them today. */
static void test_sequential(void **state)
{
	(void)state;
	struct ht_resume *r = load(START("a.example") HOP DONE("reached") START("198.18.0.1") HOP
	                                   DONE("max_ttl") START("b.example") HOP);
	assert_int_equal(ht_resume_count(r), 2);
	assert_true(ht_resume_done(r, "a.example"));
	assert_true(ht_resume_done(r, "198.18.0.1"));
	assert_false(ht_resume_done(r, "b.example")); /* started, never finished */
	assert_false(ht_resume_done(r, "c.example"));
	assert_int_equal(ht_resume_bad_lines(r), 0);
	assert_int_equal(ht_resume_truncated(r), 0);
	ht_resume_free(r);
}

/* A run killed mid-write: the last line is cut; it is ignored, and so is
 * the trace it would have finished. */
static void test_truncated(void **state)
{
	(void)state;
	struct ht_resume *r = load(START("a.example") DONE("reached") START("b.example") HOP
	                           "{\"type\":\"trace_done\",\"stop\":{\"rea");
	assert_int_equal(ht_resume_count(r), 1);
	assert_true(ht_resume_done(r, "a.example"));
	assert_false(ht_resume_done(r, "b.example"));
	assert_int_equal(ht_resume_truncated(r), 1);
	ht_resume_free(r);
	/* Cut right after a whole line: nothing lost. */
	r = load(START("a.example") DONE("reached"));
	assert_int_equal(ht_resume_truncated(r), 0);
	assert_true(ht_resume_done(r, "a.example"));
	ht_resume_free(r);
	/* Even a cut line that happens to parse is not taken. */
	r = load(START("a.example") "{\"type\":\"trace_done\"}");
	assert_false(ht_resume_done(r, "a.example"));
	assert_int_equal(ht_resume_truncated(r), 1);
	ht_resume_free(r);
}

/* Garbage lines are counted and skipped; a failed trace is not done. */
static void test_bad_and_errors(void **state)
{
	(void)state;
	struct ht_resume *r = load("not json\n[1,2]\n\n" START("a.example") DONE("error")
	                                   START("b.example") "{oops\n" DONE("gap_limit")
	                                           DONE("reached"));
	assert_false(ht_resume_done(r, "a.example"));
	assert_true(ht_resume_done(r, "b.example"));
	assert_int_equal(ht_resume_count(r), 1);
	assert_int_equal(ht_resume_bad_lines(r), 4);
	ht_resume_free(r);
}

/* Traces in flight at once: lines tagged with "trace", or trace_done
 * naming its target itself. */
static void test_interleaved(void **state)
{
	(void)state;
	struct ht_resume *r =
		load("{\"type\":\"trace_start\",\"trace\":1,\"target\":{\"name\":\"a.example\"}}\n"
		     "{\"type\":\"trace_start\",\"trace\":2,\"target\":{\"name\":\"b.example\"}}\n"
		     "{\"type\":\"trace_done\",\"trace\":2,\"stop\":{\"reason\":\"reached\"}}\n"
		     "{\"type\":\"trace_start\",\"trace\":3,\"target\":{\"name\":\"c.example\"}}\n"
		     "{\"type\":\"trace_done\",\"target\":{\"name\":\"d.example\"},"
		     "\"stop\":{\"reason\":\"reached\"}}\n"
		     "{\"type\":\"trace_done\",\"trace\":1,\"stop\":{\"reason\":\"max_ttl\"}}\n");
	assert_true(ht_resume_done(r, "a.example"));
	assert_true(ht_resume_done(r, "b.example"));
	assert_false(ht_resume_done(r, "c.example"));
	assert_true(ht_resume_done(r, "d.example"));
	assert_int_equal(ht_resume_count(r), 3);
	ht_resume_free(r);
}

/* The set itself: many names, no duplicates. */
static void test_set(void **state)
{
	(void)state;
	struct ht_resume *r = ht_resume_new();
	char name[32];

	assert_non_null(r);
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		assert_int_equal(ht_resume_add(r, name), 1);
	}
	assert_int_equal(ht_resume_add(r, "h5.example"), 0);
	assert_int_equal(ht_resume_count(r), 10000);
	for (int i = 0; i < 10000; i += 7) {
		snprintf(name, sizeof(name), "h%d.example", i);
		assert_true(ht_resume_done(r, name));
	}
	assert_false(ht_resume_done(r, "h10000.example"));
	assert_false(ht_resume_done(NULL, "x"));
	ht_resume_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential), cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_and_errors), cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
