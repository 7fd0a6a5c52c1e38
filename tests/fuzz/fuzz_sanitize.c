/*
 * libFuzzer target for ht_sanitize(), the filter every reverse DNS name,
 * RFC 5837 interface name and echoed target passes through before it
 * reaches a terminal or a JSON document.
 *
 * Input: byte 0 picks the output buffer size (1-256); the rest is the
 * untrusted text. Checked with a decoder written independently here:
 * the output is NUL terminated inside the buffer, its length is the
 * return value, it is well-formed UTF-8 with no C0/C1 control, DEL, bidi
 * control, zero-width or tag character or line/paragraph separator, sanitising it again changes
 * nothing, and safe printable input that fits comes out unchanged.
 */
#include "hoptrace/hoptrace.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode one UTF-8 sequence strictly; 0 when malformed. */
static size_t decode(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, v = p[0] & 0x1fu;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, v = p[0] & 0x0fu;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, v = p[0] & 0x07u;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3fu);
	}
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static int dangerous(uint32_t c)
{
	/* Controls; bidi controls (ALM, LRM/RLM, embeddings and overrides,
	 * isolates); zero-width and invisible characters; line/paragraph
	 * separators; the byte order mark; tag characters. */
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x61c ||
	       (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff ||
	       (c >= 0xe0000 && c <= 0xe007f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *dst, *again, *src;
	size_t dstlen, n, len;

	if (size < 1 || size > 4096)
		return 0;
	dstlen = (size_t)data[0] + 1;
	len = size - 1;
	/* Exact-size copies so ASan catches a read or write one byte out. */
	src = malloc(len ? len : 1);
	dst = malloc(dstlen);
	again = malloc(dstlen);
	if (!src || !dst || !again)
		goto out;
	memcpy(src, data + 1, len);
	memset(dst, 0xAA, dstlen);

	n = ht_sanitize(dst, dstlen, src, len);
	if (n >= dstlen || dst[n] != '\0' || strlen(dst) != n)
		abort();
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = decode((const uint8_t *)dst + i, n - i, &cp);
		if (k == 0 || dangerous(cp))
			abort();
		i += k;
	}
	/* Idempotent: clean text passes through untouched. */
	if (ht_sanitize(again, dstlen, dst, n) != n || memcmp(again, dst, n + 1) != 0)
		abort();
	/* Safe input that fits is not altered. */
	int safe = len < dstlen;
	for (size_t i = 0; safe && i < len;) {
		uint32_t cp;
		size_t k = decode((const uint8_t *)src + i, len - i, &cp);
		if (k == 0 || dangerous(cp))
			safe = 0;
		i += k ? k : 1;
	}
	if (safe && (n != len || memcmp(dst, src, len) != 0))
		abort();
	/* Nothing is lost silently: every input byte is copied or becomes '?',
	 * so the output is never longer than the input. */
	if (n > len)
		abort();
out:
	free(src);
	free(dst);
	free(again);
	return 0;
}
