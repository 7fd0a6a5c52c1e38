/*
 * ICMP multi-part messages: RFC 4884 extension structure, RFC 4950 MPLS
 * label stacks, RFC 5837 interface information.
 *
 * Where the structure is:
 *   - RFC 4884: the header's length attribute gives the quoted datagram
 *     length (ICMPv4: 32-bit words in byte 5; ICMPv6: 64-bit words in
 *     byte 4); when non-zero it must be at least 128 bytes and the
 *     extension structure starts right after the quote.
 *   - Legacy (RFC 4884 section 5.5, implementations from before it): the
 *     length attribute is 0 and a 128-byte quote is followed by the
 *     structure. Only accepted when the bytes at offset 8 + 128 carry
 *     version 2 and a valid non-zero checksum, since otherwise they are
 *     just more of a long quote.
 * The structure's checksum: RFC 4884 section 7 says an all-zeros value
 * means no checksum was transmitted, so 0 is accepted for the explicit
 * form; any other value must verify.
 * Everything is parsed into a scratch copy first, so a structure with
 * lying lengths (-EINVAL) leaves no partial data behind.
 */
#include "proto/proto.h"

#include "proto/bytes.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define EXT_VERSION 2
#define EXT_MIN_QUOTE 128

#define CLASS_MPLS 1
#define CTYPE_MPLS_STACK 1
#define CLASS_IFINFO 2

struct ext_result {
	uint8_t n_mpls;
	struct ht_mpls mpls[HT_MAX_MPLS];
	bool has_ifinfo;
	int if_role;
	uint32_t if_index;
	ht_addr if_addr;
	char if_name[sizeof(((struct ht_reply *)0)->if_name)];
	uint32_t if_mtu;
};

static int parse_mpls(const uint8_t *b, size_t n, struct ext_result *x)
{
	size_t i;
	uint32_t e;

	if (n % 4)
		return -EINVAL;
	for (i = 0; i < n; i += 4) {
		if (x->n_mpls >= HT_MAX_MPLS)
			break; /* deeper stacks are truncated, not an error */
		e = ht_rd32(b + i);
		x->mpls[x->n_mpls].label = e >> 12;
		x->mpls[x->n_mpls].tc = (uint8_t)(e >> 9 & 7);
		x->mpls[x->n_mpls].s = (uint8_t)(e >> 8 & 1);
		x->mpls[x->n_mpls].ttl = (uint8_t)e;
		x->n_mpls++;
	}
	return 0;
}

/*
 * RFC 5837 interface information object. The C-Type says which
 * sub-objects follow, in this order: ifIndex (4 bytes), IP address (AFI,
 * reserved, address), name (length byte counting itself, a multiple of 4
 * up to 64, then the name), MTU (4 bytes). They must fill the object
 * exactly. Several objects may come (one per role); we keep the incoming
 * interface (role 0) when present, else the first.
 */
static int parse_ifinfo(uint8_t ctype, const uint8_t *b, size_t n, struct ext_result *x)
{
	int role = ctype >> 6;
	size_t off = 0, nl, namelen;
	uint32_t index = 0, mtu = 0;
	ht_addr addr;
	char name[sizeof(x->if_name)];
	uint16_t afi;

	memset(&addr, 0, sizeof(addr));
	name[0] = '\0';
	if (ctype & 0x08) {
		if (n - off < 4)
			return -EINVAL;
		index = ht_rd32(b + off);
		off += 4;
	}
	if (ctype & 0x04) {
		if (n - off < 4)
			return -EINVAL;
		afi = ht_rd16(b + off);
		off += 4;
		if (afi == 1 && n - off >= 4) {
			addr.family = AF_INET;
			memcpy(&addr.u.v4, b + off, 4);
			off += 4;
		} else if (afi == 2 && n - off >= 16) {
			addr.family = AF_INET6;
			memcpy(&addr.u.v6, b + off, 16);
			off += 16;
		} else {
			return -EINVAL;
		}
	}
	if (ctype & 0x02) {
		if (n - off < 1)
			return -EINVAL;
		nl = b[off];
		if (nl < 4 || nl > 64 || nl % 4 || nl > n - off)
			return -EINVAL;
		/* The name is NUL padded to the sub-object length. */
		for (namelen = 0; namelen < nl - 1 && b[off + 1 + namelen]; namelen++)
			;
		ht_sanitize(name, sizeof(name), (const char *)b + off + 1, namelen);
		off += nl;
	}
	if (ctype & 0x01) {
		if (n - off < 4)
			return -EINVAL;
		mtu = ht_rd32(b + off);
		off += 4;
	}
	if (off != n)
		return -EINVAL;
	if (x->has_ifinfo && !(x->if_role != 0 && role == 0))
		return 0;
	x->has_ifinfo = true;
	x->if_role = role;
	x->if_index = index;
	x->if_addr = addr;
	memcpy(x->if_name, name, sizeof(name));
	x->if_mtu = mtu;
	return 0;
}

static int parse_objects(const uint8_t *p, size_t n, struct ext_result *x)
{
	size_t off = 4, olen;
	int err;

	while (off < n) {
		if (n - off < 4)
			return -EINVAL;
		olen = ht_rd16(p + off);
		if (olen < 4 || olen > n - off)
			return -EINVAL;
		err = 0;
		if (p[off + 2] == CLASS_MPLS && p[off + 3] == CTYPE_MPLS_STACK)
			err = parse_mpls(p + off + 4, olen - 4, x);
		else if (p[off + 2] == CLASS_IFINFO)
			err = parse_ifinfo(p[off + 3], p + off + 4, olen - 4, x);
		/* Other classes are skipped: their length was checked. */
		if (err < 0)
			return err;
		off += olen;
	}
	return 0;
}

static void clear_ext(struct ht_reply *out)
{
	out->n_mpls = 0;
	memset(out->mpls, 0, sizeof(out->mpls));
	out->has_ifinfo = false;
	out->if_index = 0;
	memset(&out->if_addr, 0, sizeof(out->if_addr));
	memset(out->if_name, 0, sizeof(out->if_name));
	out->if_mtu = 0;
}

int ht_icmp_ext_parse(int family, const uint8_t *icmp, size_t len, struct ht_reply *out)
{
	struct ext_result x;
	size_t words, unit, off;
	const uint8_t *p;
	bool legacy = false;
	int err;

	if (!out || (!icmp && len))
		return -EINVAL;
	clear_ext(out);
	if (len < 8)
		return 0;
	if (family == AF_INET && (icmp[0] == 3 || icmp[0] == 11 || icmp[0] == 12)) {
		words = icmp[5];
		unit = 4;
	} else if (family == AF_INET6 && (icmp[0] == 1 || icmp[0] == 3)) {
		words = icmp[4];
		unit = 8;
	} else {
		return 0;
	}

	if (words) {
		if (words * unit < EXT_MIN_QUOTE || words * unit > len - 8)
			return -EINVAL;
		off = 8 + words * unit;
		if (off == len)
			return 0;
	} else {
		off = 8 + EXT_MIN_QUOTE;
		legacy = true;
		if (len < off + 4)
			return 0;
	}
	p = icmp + off;
	if (len - off < 4)
		return -EINVAL;
	if ((p[0] >> 4) != EXT_VERSION)
		return 0; /* unknown version: nothing we understand */
	if (legacy) {
		if (ht_rd16(p + 2) == 0 || ht_csum(p, len - off) != 0)
			return 0;
	} else if (ht_rd16(p + 2) != 0 && ht_csum(p, len - off) != 0) {
		return -EINVAL;
	}

	memset(&x, 0, sizeof(x));
	err = parse_objects(p, len - off, &x);
	if (err < 0)
		return err;
	out->n_mpls = x.n_mpls;
	memcpy(out->mpls, x.mpls, sizeof(x.mpls));
	out->has_ifinfo = x.has_ifinfo;
	out->if_index = x.if_index;
	out->if_addr = x.if_addr;
	memcpy(out->if_name, x.if_name, sizeof(out->if_name));
	out->if_mtu = x.if_mtu;
	return 0;
}
