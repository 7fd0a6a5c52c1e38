/*
 * libFuzzer target for the batch input (--batch FILE): one line through
 * ht_batch_parse_line() and the whole input as a file through
 * ht_batch_read(). Checked: a target is 1-253 bytes of host-name and
 * address characters taken verbatim from the input, error messages are
 * one printable line, a refused line's reason is one of the fixed texts
 * (a bad byte named by value only) with a column inside the line, and a
 * read either fails with nothing kept or keeps
 * exactly the targets the line parser accepts, in order.
 */
#include "batch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int host_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > HT_BATCH_HOST_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:%",
		            h[i]))
			return 0;
	return 1;
}

static void err_ok(const char *e)
{
	for (const unsigned char *p = (const unsigned char *)e; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

/* A refused line's reason is one of these, so it shows none of the
 * line's text (a byte only by its value). */
static void reason_ok(const char *e)
{
	static const char *const fixed[] = {
		"more than one word on the line (one target per line)",
		"'#' inside a target (a comment needs a blank before it)",
		"target longer than 253 characters",
		"target too long",
	};
	unsigned v;
	int end = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(e, fixed[i]))
			return;
	if (sscanf(e, "invalid byte 0x%2x%n", &v, &end) == 1 && end == 17 && !e[end])
		return;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[HT_BATCH_HOST_MAX + 1], err[512];
	size_t col;
	const char *text = (const char *)data;

	/* The first line alone. */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t l1 = nl ? (size_t)(nl - data) + 1 : size;
	int rc = ht_batch_parse_line(text, l1, host, sizeof(host), &col, err, sizeof(err));
	if (rc == 1) {
		if (!host_ok(host) || !memmem(data, l1, host, strlen(host)))
			abort();
	} else if (rc < 0) {
		if (!err[0] || col < 1 || col > l1 + 1)
			abort();
		err_ok(err);
		reason_ok(err);
	} else if (rc != 0) {
		abort();
	}

	/* The whole input as a file. */
	if (size == 0)
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	struct ht_batch b;
	rc = ht_batch_read(f, "fuzz", &b, err, sizeof(err));
	fclose(f);
	if (rc < 0) {
		if (b.n || b.hosts || !err[0])
			abort();
		err_ok(err);
		return 0;
	}
	if (rc < 1 || (size_t)rc != b.n)
		abort();
	/* Re-parse line by line: the same targets, in the same order. */
	size_t k = 0, off = 0;
	unsigned long lineno = 0;
	while (off < size) {
		lineno++;
		const uint8_t *e = memchr(data + off, '\n', size - off);
		size_t len = e ? (size_t)(e - data - off) + 1 : size - off;
		int r = ht_batch_parse_line(text + off, len, host, sizeof(host), &col, err,
		                            sizeof(err));
		if (r < 0)
			abort();
		if (r == 1) {
			if (k >= b.n || strcmp(host, b.hosts[k]) || !host_ok(host) ||
			    b.lines[k] != lineno)
				abort();
			k++;
		}
		off += len;
	}
	if (k != b.n)
		abort();
	ht_batch_free(&b);
	return 0;
}
