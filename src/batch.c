/* Batch input parsing: see batch.h for the format. */
#include "batch.h"

#include "hoptrace/hoptrace.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Letters, digits and the punctuation of host names ('-', '.', '_') and
 * of IPv6 literals (':', '%' before a zone, '[' ']' are not taken). */
static bool host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == ':' || c == '%';
}

/* The reason for a refused line names a byte by its value and column,
 * never by its text: the line may be anything, a secret included. */
int ht_batch_parse_line(const char *line, size_t len, char *host, size_t hostcap, size_t *col,
                        char *err, size_t errlen)
{
	size_t a = 0, b, end;

	if (errlen)
		err[0] = '\0';
	*col = 0;
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	while (a < len && is_blank(line[a]))
		a++;
	if (a == len || line[a] == '#')
		return 0;
	b = a;
	while (b < len && !is_blank(line[b]) && line[b] != '#')
		b++;
	end = b;
	/* After the target: blanks, then nothing or a comment. A '#' glued
	 * to the target is part of it (and then refused below). */
	while (b < len && is_blank(line[b]))
		b++;
	/* The first bad byte of the target comes first, wherever it is. */
	for (size_t i = a; i < end; i++) {
		unsigned char c = (unsigned char)line[i];
		if (!host_char(c)) {
			*col = i + 1;
			snprintf(err, errlen, "invalid byte 0x%02x", c);
			return -EINVAL;
		}
	}
	if (b < len && line[b] != '#') {
		*col = b + 1;
		snprintf(err, errlen, "more than one word on the line (one target per line)");
		return -EINVAL;
	}
	if (b < len && b == end) {
		*col = b + 1;
		snprintf(err, errlen, "'#' inside a target (a comment needs a blank before it)");
		return -EINVAL;
	}
	if (end - a > HT_BATCH_HOST_MAX) {
		*col = a + HT_BATCH_HOST_MAX + 1;
		snprintf(err, errlen, "target longer than %d characters", HT_BATCH_HOST_MAX);
		return -EINVAL;
	}
	if (hostcap < end - a + 1) {
		*col = a + hostcap;
		snprintf(err, errlen, "target too long");
		return -EINVAL;
	}
	memcpy(host, line + a, end - a);
	host[end - a] = '\0';
	return 1;
}

void ht_batch_free(struct ht_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->hosts[i]);
	free(b->hosts);
	free(b->lines);
	memset(b, 0, sizeof(*b));
}

static int batch_add(struct ht_batch *b, const char *host, unsigned long line)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		char **h = realloc(b->hosts, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		b->hosts = h;
		unsigned long *l = realloc(b->lines, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		b->lines = l;
		b->cap = cap;
	}
	if (!(b->hosts[b->n] = strdup(host)))
		return -ENOMEM;
	b->lines[b->n] = line;
	b->n++;
	return 0;
}

bool ht_batch_host_ok(const char *host)
{
	char again[HT_BATCH_HOST_MAX + 1], why[128];
	size_t col, len = strnlen(host, HT_BATCH_HOST_MAX + 1);

	return len > 0 && len <= HT_BATCH_HOST_MAX &&
	       ht_batch_parse_line(host, len, again, sizeof(again), &col, why, sizeof(why)) == 1 &&
	       !strcmp(again, host);
}

int ht_batch_add(struct ht_batch *b, const char *host, unsigned long line)
{
	if (!ht_batch_host_ok(host) || line == 0 || (b->n && line <= b->lines[b->n - 1]) ||
	    b->n >= HT_BATCH_MAX_TARGETS)
		return -EINVAL;
	return batch_add(b, host, line);
}

int ht_batch_next(struct ht_batch_reader *r, char *host, size_t hostcap, size_t *col, char *err,
                  size_t errlen)
{
	/* A line's text, its "\r\n", and room to notice one byte more. */
	char line[HT_BATCH_LINE_MAX + 3];

	for (;;) {
		size_t len = 0;
		int c = 0;
		*col = 0;
		/* Byte by byte: a line may hold NUL bytes, which fgets hides. */
		while (len < sizeof(line) - 1 && (c = getc(r->f)) != EOF) {
			line[len++] = (char)c;
			if (c == '\n')
				break;
		}
		if (len == 0 && c == EOF) {
			if (ferror(r->f)) {
				snprintf(err, errlen, "read error");
				return -EIO;
			}
			return 0;
		}
		r->line++;
		/* The limit is on the text, whatever ends the line. */
		size_t text = len;
		bool nl = line[text - 1] == '\n';
		if (nl)
			text--;
		if (text && line[text - 1] == '\r')
			text--;
		if ((!nl && len == sizeof(line) - 1) || text > HT_BATCH_LINE_MAX) {
			/* Skip the rest of it: the next line is read on its own. */
			while (!nl && (c = getc(r->f)) != EOF && c != '\n')
				;
			*col = HT_BATCH_LINE_MAX + 1;
			snprintf(err, errlen, "line longer than %d bytes", HT_BATCH_LINE_MAX);
			return -EINVAL;
		}
		int rc = ht_batch_parse_line(line, len, host, hostcap, col, err, errlen);
		if (rc != 0)
			return rc;
	}
}

int ht_batch_read(FILE *f, const char *name, struct ht_batch *b, char *err, size_t errlen)
{
	struct ht_batch_reader r = {.f = f};
	char host[HT_BATCH_HOST_MAX + 1], why[256];
	char shown[512];
	size_t col;
	int rc;

	memset(b, 0, sizeof(*b));
	ht_sanitize(shown, sizeof(shown), name, strlen(name));
	while ((rc = ht_batch_next(&r, host, sizeof(host), &col, why, sizeof(why))) > 0) {
		if (b->n >= HT_BATCH_MAX_TARGETS) {
			snprintf(err, errlen, "%s:%lu: more than %d targets", shown, r.line,
			         HT_BATCH_MAX_TARGETS);
			rc = -E2BIG;
			break;
		}
		if ((rc = batch_add(b, host, r.line)) < 0) {
			snprintf(err, errlen, "%s: out of memory", shown);
			break;
		}
	}
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s:%lu:%zu: %s", shown, r.line, col, why);
	else if (rc == -EIO)
		snprintf(err, errlen, "%s: %s", shown, why);
	if (rc == 0 && b->n == 0) {
		snprintf(err, errlen, "%s: no targets", shown);
		rc = -EINVAL;
	}
	if (rc < 0) {
		ht_batch_free(b);
		return rc;
	}
	return (int)b->n;
}
