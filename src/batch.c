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

int ht_batch_parse_line(const char *line, size_t len, char *host, size_t hostcap, char *err,
                        size_t errlen)
{
	size_t a = 0, b, end;

	if (errlen)
		err[0] = '\0';
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
	if (b < len && line[b] != '#') {
		snprintf(err, errlen, "more than one word on the line (one target per line)");
		return -EINVAL;
	}
	if (b < len && b == end) {
		snprintf(err, errlen, "'#' inside a target (a comment needs a blank before it)");
		return -EINVAL;
	}
	for (size_t i = a; i < end; i++) {
		unsigned char c = (unsigned char)line[i];
		if (!host_char(c)) {
			char shown[HT_BATCH_HOST_MAX * 4 + 1];
			size_t n = end - a > HT_BATCH_HOST_MAX ? HT_BATCH_HOST_MAX : end - a;
			ht_sanitize(shown, sizeof(shown), line + a, n);
			if (c >= 0x21 && c < 0x7f)
				snprintf(err, errlen, "invalid character '%c' in target '%s'", c,
				         shown);
			else
				snprintf(err, errlen, "invalid byte 0x%02x in target '%s'", c, shown);
			return -EINVAL;
		}
	}
	if (end - a > HT_BATCH_HOST_MAX) {
		snprintf(err, errlen, "target longer than %d characters", HT_BATCH_HOST_MAX);
		return -EINVAL;
	}
	if (hostcap < end - a + 1) {
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
	memset(b, 0, sizeof(*b));
}

static int batch_add(struct ht_batch *b, const char *host)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		char **h = realloc(b->hosts, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		b->hosts = h;
		b->cap = cap;
	}
	if (!(b->hosts[b->n] = strdup(host)))
		return -ENOMEM;
	b->n++;
	return 0;
}

int ht_batch_read(FILE *f, const char *name, struct ht_batch *b, char *err, size_t errlen)
{
	/* A line's text, its "\r\n", and room to notice one byte more. */
	char line[HT_BATCH_LINE_MAX + 3], host[HT_BATCH_HOST_MAX + 1], why[256];
	char shown[128];
	unsigned long lineno = 0;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	ht_sanitize(shown, sizeof(shown), name, strlen(name));
	for (;;) {
		size_t len = 0;
		int c = 0;
		/* Byte by byte: a line may hold NUL bytes, which fgets hides. */
		while (len < sizeof(line) - 1 && (c = getc(f)) != EOF) {
			line[len++] = (char)c;
			if (c == '\n')
				break;
		}
		if (len == 0 && c == EOF)
			break;
		lineno++;
		/* The limit is on the text, whatever ends the line. */
		size_t text = len;
		bool nl = line[text - 1] == '\n';
		if (nl)
			text--;
		if (text && line[text - 1] == '\r')
			text--;
		if ((!nl && len == sizeof(line) - 1) || text > HT_BATCH_LINE_MAX) {
			snprintf(err, errlen, "%s:%lu: line longer than %d bytes", shown, lineno,
			         HT_BATCH_LINE_MAX);
			rc = -EINVAL;
			break;
		}
		rc = ht_batch_parse_line(line, len, host, sizeof(host), why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "%s:%lu: %s", shown, lineno, why);
			break;
		}
		if (rc == 1 && b->n >= HT_BATCH_MAX_TARGETS) {
			snprintf(err, errlen, "%s:%lu: more than %d targets", shown, lineno,
			         HT_BATCH_MAX_TARGETS);
			rc = -E2BIG;
			break;
		}
		if (rc == 1 && (rc = batch_add(b, host)) < 0) {
			snprintf(err, errlen, "%s: out of memory", shown);
			break;
		}
		rc = 0;
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", shown);
		rc = -EIO;
	}
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
