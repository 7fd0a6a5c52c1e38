/* Address, annotation and text helpers shared by every front end. */
#include "hoptrace/hoptrace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int ht_addr_parse(const char *text, ht_addr *out)
{
	ht_addr a;

	if (!text || !out)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, &a.u.v4) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, text, &a.u.v6) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	*out = a;
	return 0;
}

/* "" for "no address"; never NULL when buf is not. */
const char *ht_addr_str(const ht_addr *a, char *buf, size_t len)
{
	if (!buf || len == 0)
		return buf;
	buf[0] = '\0';
	if (!a || (a->family != AF_INET && a->family != AF_INET6))
		return buf;
	if (!inet_ntop(a->family, &a->u, buf, (socklen_t)(len > 1024 ? 1024 : len)))
		buf[0] = '\0';
	return buf;
}

bool ht_addr_equal(const ht_addr *a, const ht_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->u.v4.s_addr == b->u.v4.s_addr;
	if (a->family == AF_INET6)
		return memcmp(&a->u.v6, &b->u.v6, sizeof(a->u.v6)) == 0;
	return true;
}

const char *ht_annot_str(const struct ht_reply *r, char *buf, size_t len)
{
	const char *s = "";

	if (!buf || len == 0)
		return buf;
	switch (r->annot) {
	case HT_ANN_NONE:
		break;
	case HT_ANN_HOST:
		s = "!H";
		break;
	case HT_ANN_NET:
		s = "!N";
		break;
	case HT_ANN_PROTO:
		s = "!P";
		break;
	case HT_ANN_SRCROUTE:
		s = "!S";
		break;
	case HT_ANN_FRAG:
		/* as traceroute: "!F-0" when the router gave no MTU */
		snprintf(buf, len, "!F-%u", (unsigned)r->mtu);
		return buf;
	case HT_ANN_ADMIN:
		s = "!X";
		break;
	case HT_ANN_HOSTPREC:
		s = "!V";
		break;
	case HT_ANN_PRECCUT:
		s = "!C";
		break;
	case HT_ANN_OTHER:
		snprintf(buf, len, "!<%u>", (unsigned)r->icmp_code);
		return buf;
	case HT_ANN_TYPE:
		snprintf(buf, len, "!<%u-%u>", (unsigned)r->icmp_type, (unsigned)r->icmp_code);
		return buf;
	}
	snprintf(buf, len, "%s", s);
	return buf;
}

/*
 * Length of the well-formed UTF-8 sequence at p (n bytes available) and
 * its code point, or 0 when it is not one: overlong forms, surrogates,
 * values past U+10FFFF and truncated sequences are all rejected.
 */
static size_t utf8_seq(const unsigned char *p, size_t n, unsigned *cp)
{
	unsigned c = p[0], min, v;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Code points a terminal acts on, that reorder text or that cannot be
 * seen (a name could hide or disguise itself with them): C0/C1 controls
 * and DEL; the Arabic letter mark U+061C; zero-width space, joiners and
 * the LRM/RLM marks U+200B-U+200F; line/paragraph separators and the
 * bidi embeddings/overrides U+2028-U+202E; word joiner and invisible
 * operators U+2060-U+2064; bidi isolates U+2066-U+2069; the zero-width
 * no-break space / byte order mark U+FEFF; tag characters
 * U+E0000-U+E007F. Each is shown as one '?' like a control byte. */
static int unsafe_cp(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c ||
	       (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff || (cp >= 0xe0000 && cp <= 0xe007f);
}

/*
 * Every control byte, DEL, C1 control (also in its two-byte UTF-8 form),
 * other unsafe code point (bidi, zero-width and tag characters: see
 * unsafe_cp) and every byte of invalid UTF-8 becomes one '?'. Valid
 * printable UTF-8 is copied whole; a sequence that does not fit is not
 * split but dropped with everything after it. The result is always NUL
 * terminated; the return value is its length.
 */
size_t ht_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, n;
	unsigned cp;

	if (!dst || dstlen == 0)
		return 0;
	while (src && i < srclen) {
		n = utf8_seq(s + i, srclen - i, &cp);
		if (n == 0 || unsafe_cp(cp)) {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = '?';
			i += n ? n : 1;
			continue;
		}
		if (o + n >= dstlen)
			break;
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}
