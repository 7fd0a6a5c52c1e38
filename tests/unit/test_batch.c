/* The batch input format (--batch FILE): lines, comments and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"

static size_t col; /* the column of the last refusal */

static int line(const char *s, char *host, char *err)
{
	return ht_batch_parse_line(s, strlen(s), host, HT_BATCH_HOST_MAX + 1, &col, err, 256);
}

static void test_targets(void **state)
{
	char host[HT_BATCH_HOST_MAX + 1], err[256];
	(void)state;

	assert_int_equal(line("198.18.0.1\n", host, err), 1);
	assert_string_equal(host, "198.18.0.1");
	assert_int_equal(line("  \tgw.example.net  \r\n", host, err), 1);
	assert_string_equal(host, "gw.example.net");
	assert_int_equal(line("2001:db8::1 # the lab's v6 end", host, err), 1);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(line("fe80::1%eth0", host, err), 1);
	assert_string_equal(host, "fe80::1%eth0");
	assert_int_equal(line("under_score.example", host, err), 1);
	assert_string_equal(host, "under_score.example");
	/* No newline at the end of the file. */
	assert_int_equal(line("last.example", host, err), 1);
	assert_string_equal(host, "last.example");
}

static void test_skipped(void **state)
{
	char host[HT_BATCH_HOST_MAX + 1] = "unchanged", err[256];
	(void)state;

	assert_int_equal(line("", host, err), 0);
	assert_int_equal(line("\n", host, err), 0);
	assert_int_equal(line("\r\n", host, err), 0);
	assert_int_equal(line(" \t \n", host, err), 0);
	assert_int_equal(line("# a comment\n", host, err), 0);
	assert_int_equal(line("   # indented comment with 2 words\n", host, err), 0);
	assert_string_equal(host, "unchanged");
}

static void test_refused(void **state)
{
	char host[HT_BATCH_HOST_MAX + 1], err[256];
	(void)state;

	assert_int_equal(line("a.example b.example\n", host, err), -EINVAL);
	assert_string_equal(err, "more than one word on the line (one target per line)");
	assert_int_equal(col, 11);
	assert_int_equal(line("a.example#x\n", host, err), -EINVAL);
	assert_string_equal(err, "'#' inside a target (a comment needs a blank before it)");
	assert_int_equal(col, 10);
	assert_int_equal(line("-n\n", host, err), 1); /* a name, refused later by the resolver */
	/* A bad byte is named by value and column, never shown. */
	assert_int_equal(line("a/b\n", host, err), -EINVAL);
	assert_string_equal(err, "invalid byte 0x2f");
	assert_int_equal(col, 2);
	assert_int_equal(line("  evil\x1b[2Jname\n", host, err), -EINVAL);
	assert_string_equal(err, "invalid byte 0x1b");
	assert_int_equal(col, 7);
	/* Invalid UTF-8 and a NUL byte inside the line. */
	assert_int_equal(line("caf\xc3\n", host, err), -EINVAL);
	assert_string_equal(err, "invalid byte 0xc3");
	assert_int_equal(col, 4);
	assert_int_equal(
	        ht_batch_parse_line("ab\0cd\n", 6, host, sizeof(host), &col, err, sizeof(err)),
	        -EINVAL);
	assert_string_equal(err, "invalid byte 0x00");
	assert_int_equal(col, 3);
	/* A carriage return inside the line is not a line end. */
	assert_int_equal(line("ab\rcd\n", host, err), -EINVAL);
	assert_string_equal(err, "invalid byte 0x0d");
	assert_int_equal(col, 3);
	/* The first bad byte comes first, even before a second word. */
	assert_int_equal(line("a$b c\n", host, err), -EINVAL);
	assert_string_equal(err, "invalid byte 0x24");
	assert_int_equal(col, 2);
}

/* A line from a file of secrets (read under sudo, say): the reason
 * names one byte by its value, and no other byte of the line. */
static void test_refused_never_echoes(void **state)
{
	char host[HT_BATCH_HOST_MAX + 1], err[256];
	static const char *const secrets[] = {
		"root:$y$j9T$Zq8SECRETsalt$SECREThashSECREThash:19000:0:99999:7:::\n",
		"SECRET-api-key=SECRETvalue\n",
		"SECRETtoken SECRETsecond\n",
		"SECRET#SECRET\n",
		"-----BEGIN OPENSSH PRIVATE KEY-----\n",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		assert_int_equal(line(secrets[i], host, err), -EINVAL);
		assert_null(strstr(err, "SECRET"));
		assert_null(strstr(err, "BEGIN"));
		assert_null(strstr(err, "root"));
	}
	assert_int_equal(line(secrets[0], host, err), -EINVAL);
	assert_string_equal(err, "invalid byte 0x24");
	assert_int_equal(col, 6);
	assert_int_equal(line(secrets[1], host, err), -EINVAL);
	assert_string_equal(err, "invalid byte 0x3d");
	assert_int_equal(col, 15);
	/* An overlong target is not shown either. */
	char l[400];
	memset(l, 'S', 300);
	strcpy(l + 300, "\n");
	assert_int_equal(line(l, host, err), -EINVAL);
	assert_string_equal(err, "target longer than 253 characters");
	assert_int_equal(col, 254);
}

static void test_length(void **state)
{
	char host[HT_BATCH_HOST_MAX + 1], err[256], l[400];
	(void)state;

	memset(l, 'a', HT_BATCH_HOST_MAX);
	strcpy(l + HT_BATCH_HOST_MAX, "\n");
	assert_int_equal(line(l, host, err), 1);
	assert_int_equal(strlen(host), HT_BATCH_HOST_MAX);
	memset(l, 'a', HT_BATCH_HOST_MAX + 1);
	strcpy(l + HT_BATCH_HOST_MAX + 1, "\n");
	assert_int_equal(line(l, host, err), -EINVAL);
	assert_string_equal(err, "target longer than 253 characters");
	assert_int_equal(col, 254);
	/* A buffer too small for the target is refused, never overrun. */
	char small[8];
	assert_int_equal(
	        ht_batch_parse_line("abcdefgh", 8, small, sizeof(small), &col, err, sizeof(err)),
	        -EINVAL);
	assert_int_equal(
	        ht_batch_parse_line("abcdefg", 7, small, sizeof(small), &col, err, sizeof(err)), 1);
	assert_string_equal(small, "abcdefg");
}

static int read_text(const char *text, size_t len, struct ht_batch *b, char *err)
{
	FILE *f = fmemopen((void *)text, len, "r");
	assert_non_null(f);
	int rc = ht_batch_read(f, "list.txt", b, err, 256);
	fclose(f);
	return rc;
}

static void test_read_file(void **state)
{
	struct ht_batch b;
	char err[256];
	static const char text[] = "# targets\n198.18.200.1\n\n  2001:db8:200::1  # v6\n"
	                           "www.example.net\r\nlast.example";
	(void)state;

	assert_int_equal(read_text(text, sizeof(text) - 1, &b, err), 4);
	assert_int_equal(b.n, 4);
	assert_string_equal(b.hosts[0], "198.18.200.1");
	assert_string_equal(b.hosts[1], "2001:db8:200::1");
	assert_string_equal(b.hosts[2], "www.example.net");
	assert_string_equal(b.hosts[3], "last.example");
	/* Each target's line, for messages about it later. */
	assert_int_equal(b.lines[0], 2);
	assert_int_equal(b.lines[1], 4);
	assert_int_equal(b.lines[2], 5);
	assert_int_equal(b.lines[3], 6);
	ht_batch_free(&b);
	assert_int_equal(b.n, 0);
	assert_null(b.hosts);
}

static void test_read_errors(void **state)
{
	struct ht_batch b;
	char err[256];
	(void)state;

	/* The line number of the first bad line; nothing kept. */
	static const char two[] = "ok.example\n# fine\nbad one\nok2.example\n";
	assert_int_equal(read_text(two, sizeof(two) - 1, &b, err), -EINVAL);
	assert_string_equal(err,
	                    "list.txt:3:5: more than one word on the line (one target per line)");
	assert_int_equal(b.n, 0);
	assert_null(b.hosts);

	static const char none[] = "# nothing\n\n   \n";
	assert_int_equal(read_text(none, sizeof(none) - 1, &b, err), -EINVAL);
	assert_string_equal(err, "list.txt: no targets");
	assert_int_equal(read_text("", 0, &b, err), -EINVAL);
	assert_string_equal(err, "list.txt: no targets");

	/* A NUL byte on line 2 is seen (fgets would have hidden it). */
	static const char nul[] = "a.example\nb.exa\0mple\n";
	assert_int_equal(read_text(nul, sizeof(nul) - 1, &b, err), -EINVAL);
	assert_string_equal(err, "list.txt:2:6: invalid byte 0x00");

	/* A file of secrets: its first line refused, none of it shown. */
	static const char shadow[] = "root:$y$j9T$Zq8SECRET$SECRET:19000:0:99999:7:::\n"
	                             "daemon:*:19000:0:99999:7:::\n";
	assert_int_equal(read_text(shadow, sizeof(shadow) - 1, &b, err), -EINVAL);
	assert_string_equal(err, "list.txt:1:6: invalid byte 0x24");

	/* An overlong line, comment or not. */
	size_t n = HT_BATCH_LINE_MAX + 20;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '#';
	big[n - 1] = '\n';
	assert_int_equal(read_text(big, n, &b, err), -EINVAL);
	assert_string_equal(err, "list.txt:1:4097: line longer than 4096 bytes");
	/* Exactly the limit is fine, ended by "\n" or by "\r\n"; one more
	 * byte of text is not. */
	big[HT_BATCH_LINE_MAX] = '\n';
	memcpy(big + HT_BATCH_LINE_MAX + 1, "x.example\n", 10);
	assert_int_equal(read_text(big, HT_BATCH_LINE_MAX + 11, &b, err), 1);
	assert_string_equal(b.hosts[0], "x.example");
	ht_batch_free(&b);
	big[HT_BATCH_LINE_MAX] = '\r';
	big[HT_BATCH_LINE_MAX + 1] = '\n';
	memcpy(big + HT_BATCH_LINE_MAX + 2, "y.example\n", 10);
	assert_int_equal(read_text(big, HT_BATCH_LINE_MAX + 12, &b, err), 1);
	assert_string_equal(b.hosts[0], "y.example");
	ht_batch_free(&b);
	big[HT_BATCH_LINE_MAX] = ' ';
	big[HT_BATCH_LINE_MAX + 1] = '\n';
	assert_int_equal(read_text(big, HT_BATCH_LINE_MAX + 12, &b, err), -EINVAL);
	assert_string_equal(err, "list.txt:1:4097: line longer than 4096 bytes");
	/* At the end of the file, without a newline, the same limit. */
	char *tail = malloc(HT_BATCH_LINE_MAX + 20);
	assert_non_null(tail);
	memcpy(tail, "a.example\n#", 11);
	memset(tail + 11, ' ', HT_BATCH_LINE_MAX + 9);
	assert_int_equal(read_text(tail, 10 + HT_BATCH_LINE_MAX, &b, err), 1);
	assert_string_equal(b.hosts[0], "a.example");
	ht_batch_free(&b);
	assert_int_equal(read_text(tail, 10 + HT_BATCH_LINE_MAX + 1, &b, err), -EINVAL);
	assert_string_equal(err, "list.txt:2:4097: line longer than 4096 bytes");
	free(tail);
	ht_batch_free(&b);
	free(big);
}

/* What the program's privileged process takes from the reader: only
 * targets the parser would give, on growing lines. */
static void test_add(void **state)
{
	struct ht_batch b;
	char big[300];
	(void)state;

	memset(&b, 0, sizeof(b));
	assert_int_equal(ht_batch_add(&b, "a.example", 3), 0);
	assert_int_equal(ht_batch_add(&b, "2001:db8::1", 7), 0);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.lines[1], 7);
	assert_int_equal(ht_batch_add(&b, "b.example", 7), -EINVAL); /* line not growing */
	assert_int_equal(ht_batch_add(&b, "b.example", 0), -EINVAL);
	assert_int_equal(ht_batch_add(&b, "", 9), -EINVAL);
	assert_int_equal(ht_batch_add(&b, "a b", 9), -EINVAL);
	assert_int_equal(ht_batch_add(&b, " a", 9), -EINVAL);
	assert_int_equal(ht_batch_add(&b, "a#", 9), -EINVAL);
	assert_int_equal(ht_batch_add(&b, "evil\x1b[2J", 9), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ht_batch_add(&b, big, 9), -EINVAL);
	big[HT_BATCH_HOST_MAX] = '\0';
	assert_int_equal(ht_batch_add(&b, big, 9), 0);
	assert_int_equal(b.n, 3);
	ht_batch_free(&b);
}

static void test_many(void **state)
{
	struct ht_batch b;
	char err[256];
	size_t n = 5000, len = 0;
	char *text = malloc(n * 24);
	(void)state;

	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "198.18.%zu.%zu\n", i / 250, i % 250 + 1);
	assert_int_equal(read_text(text, len, &b, err), (int)n);
	assert_string_equal(b.hosts[0], "198.18.0.1");
	assert_string_equal(b.hosts[n - 1], "198.18.19.250");
	ht_batch_free(&b);
	free(text);
}

/* The streamed reader: a refused line is reported and the next one read;
 * an overlong line is skipped to its end. */
static void test_next_goes_on(void **state)
{
	char host[HT_BATCH_HOST_MAX + 1], err[256];
	size_t c;
	(void)state;

	size_t n = HT_BATCH_LINE_MAX + 100;
	char *text = malloc(n + 64);
	assert_non_null(text);
	size_t len = 0;
	len += (size_t)sprintf(text + len, "a.example\nbad one\n# c\n");
	memset(text + len, 'x', n);
	len += n;
	len += (size_t)sprintf(text + len, "\nb$d\n2001:db8::1\nlast");
	FILE *f = fmemopen(text, len, "r");
	assert_non_null(f);
	struct ht_batch_reader r = {.f = f};

	assert_int_equal(ht_batch_next(&r, host, sizeof(host), &c, err, sizeof(err)), 1);
	assert_string_equal(host, "a.example");
	assert_int_equal(r.line, 1);
	assert_int_equal(ht_batch_next(&r, host, sizeof(host), &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(r.line, 2);
	assert_int_equal(c, 5);
	assert_string_equal(err, "more than one word on the line (one target per line)");
	assert_int_equal(ht_batch_next(&r, host, sizeof(host), &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(r.line, 4);
	assert_int_equal(c, HT_BATCH_LINE_MAX + 1);
	assert_string_equal(err, "line longer than 4096 bytes");
	assert_int_equal(ht_batch_next(&r, host, sizeof(host), &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(r.line, 5);
	assert_string_equal(err, "invalid byte 0x24");
	assert_int_equal(ht_batch_next(&r, host, sizeof(host), &c, err, sizeof(err)), 1);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(r.line, 6);
	assert_int_equal(ht_batch_next(&r, host, sizeof(host), &c, err, sizeof(err)), 1);
	assert_string_equal(host, "last");
	assert_int_equal(r.line, 7);
	assert_int_equal(ht_batch_next(&r, host, sizeof(host), &c, err, sizeof(err)), 0);
	assert_int_equal(ht_batch_next(&r, host, sizeof(host), &c, err, sizeof(err)), 0);
	fclose(f);
	free(text);
}

static void test_host_ok(void **state)
{
	(void)state;
	assert_true(ht_batch_host_ok("a.example"));
	assert_true(ht_batch_host_ok("2001:db8::1"));
	assert_false(ht_batch_host_ok(""));
	assert_false(ht_batch_host_ok(" a"));
	assert_false(ht_batch_host_ok("a b"));
	assert_false(ht_batch_host_ok("a#"));
	assert_false(ht_batch_host_ok("evil\x1b[2J"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),     cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_refused),     cmocka_unit_test(test_length),
		cmocka_unit_test(test_read_file),   cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_many),        cmocka_unit_test(test_refused_never_echoes),
		cmocka_unit_test(test_add),         cmocka_unit_test(test_next_goes_on),
		cmocka_unit_test(test_host_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
