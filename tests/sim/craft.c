/*
 * Packet crafting for the simulator: ICMP/ICMPv6 errors with quotes and
 * RFC 4884 extensions, echo replies, TCP SYN-ACK/RST. All packets are
 * full IP packets as they appear on the TUN device (IFF_NO_PI).
 */
#include "sim.h"

#include "proto/proto.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void mkaddr(ht_addr *a, int family, const void *raw)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	if (family == AF_INET)
		memcpy(&a->u.v4, raw, 4);
	else
		memcpy(&a->u.v6, raw, 16);
}

void sim_ip4_csum(uint8_t *ip)
{
	size_t hl = (size_t)(ip[0] & 0x0f) * 4;
	ip[10] = ip[11] = 0;
	put16(ip + 10, ht_csum(ip, hl));
}

/* Transport checksum with the pseudo-header. */
static uint16_t l4sum(int family, const void *src, const void *dst, uint8_t proto,
                      const uint8_t *l4, size_t len)
{
	ht_addr s, d;
	uint32_t sum = 0;

	if (!(family == AF_INET && proto == IPPROTO_ICMP)) {
		mkaddr(&s, family, src);
		mkaddr(&d, family, dst);
		sum = ht_csum_pseudo(&s, &d, proto, (uint32_t)len);
	}
	return ht_csum_fold(ht_csum_add(sum, l4, len));
}

void sim_l4_csum(uint8_t *pkt, size_t len)
{
	int family = pkt[0] >> 4 == 6 ? AF_INET6 : AF_INET;
	size_t hl = family == AF_INET ? (size_t)(pkt[0] & 0x0f) * 4 : 40;
	uint8_t proto = family == AF_INET ? pkt[9] : pkt[6];
	const uint8_t *src = family == AF_INET ? pkt + 12 : pkt + 8;
	const uint8_t *dst = family == AF_INET ? pkt + 16 : pkt + 24;
	uint8_t *l4 = pkt + hl;
	size_t l4len = len - hl;
	size_t off;

	switch (proto) {
	case IPPROTO_UDP:
		off = 6;
		break;
	case IPPROTO_TCP:
		off = 16;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		off = 2;
		break;
	default:
		return;
	}
	if (l4len < off + 2)
		return;
	l4[off] = l4[off + 1] = 0;
	uint16_t c = l4sum(family, src, dst, proto, l4, l4len);
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	put16(l4 + off, c);
}

static size_t ip4_header(uint8_t *o, size_t total, uint8_t tos, uint16_t id, uint8_t ttl,
                         uint8_t proto, const void *src, const void *dst)
{
	o[0] = 0x45;
	o[1] = tos;
	put16(o + 2, (uint16_t)total);
	put16(o + 4, id);
	put16(o + 6, 0);
	o[8] = ttl;
	o[9] = proto;
	memcpy(o + 12, src, 4);
	memcpy(o + 16, dst, 4);
	sim_ip4_csum(o);
	return 20;
}

static size_t ip6_header(uint8_t *o, size_t payload, uint8_t proto, uint8_t hlim, const void *src,
                         const void *dst)
{
	put32(o, 6u << 28);
	put16(o + 4, (uint16_t)payload);
	o[6] = proto;
	o[7] = hlim;
	memcpy(o + 8, src, 16);
	memcpy(o + 24, dst, 16);
	return 40;
}

/* RFC 4884 extension structure with RFC 4950 MPLS and RFC 5837 interface
 * objects, checksummed. */
size_t sim_craft_ext(const struct sim_node *n, int family, uint8_t *out, size_t cap)
{
	size_t len = 4;

	if (!n || (n->nmpls == 0 && !n->ifinfo) || cap < 4 + 4 + 4 * SIM_MAX_MPLS + 4 + 8 + 20 + 64 + 4)
		return 0;
	memset(out, 0, cap < 256 ? cap : 256);
	out[0] = 2 << 4; /* version 2 */
	if (n->nmpls) {
		uint8_t *obj = out + len;
		size_t olen = 4 + 4 * (size_t)n->nmpls;
		put16(obj, (uint16_t)olen);
		obj[2] = 1; /* class: MPLS label stack */
		obj[3] = 1; /* c-type: incoming stack */
		for (int i = 0; i < n->nmpls; i++) {
			uint32_t e = n->mpls[i].label << 12 | (uint32_t)(n->mpls[i].exp & 7) << 9 |
			             (i == n->nmpls - 1 ? 1u << 8 : 0) | n->mpls[i].ttl;
			put32(obj + 4 + 4 * i, e);
		}
		len += olen;
	}
	if (n->ifinfo) {
		uint8_t *obj = out + len;
		size_t o = 4;
		/* Role 0 (incoming IP interface), ifIndex, IP address, name, MTU. */
		uint8_t ctype = 0;
		put32(obj + o, n->ifindex);
		o += 4;
		ctype |= 0x08;
		if (family == AF_INET && n->has4) {
			put16(obj + o, 1);
			put16(obj + o + 2, 0);
			memcpy(obj + o + 4, &n->a4, 4);
			o += 8;
			ctype |= 0x04;
		} else if (family == AF_INET6 && n->has6) {
			put16(obj + o, 2);
			put16(obj + o + 2, 0);
			memcpy(obj + o + 4, &n->a6, 16);
			o += 20;
			ctype |= 0x04;
		}
		if (n->ifname[0]) {
			size_t nl = strlen(n->ifname);
			if (nl > 63)
				nl = 63;
			size_t sl = (1 + nl + 3) & ~(size_t)3;
			obj[o] = (uint8_t)sl;
			memcpy(obj + o + 1, n->ifname, nl);
			memset(obj + o + 1 + nl, 0, sl - 1 - nl);
			o += sl;
			ctype |= 0x02;
		}
		if (n->ifmtu) {
			put32(obj + o, n->ifmtu);
			o += 4;
			ctype |= 0x01;
		}
		put16(obj, (uint16_t)o);
		obj[2] = 2; /* class: interface information */
		obj[3] = ctype;
		len += o;
	}
	put16(out + 2, 0);
	put16(out + 2, ht_csum(out, len));
	return len;
}

size_t sim_craft_icmp_error(const struct sim_icmp_err *p, uint8_t *out, size_t cap)
{
	bool v4 = p->family == AF_INET;
	size_t iphl = v4 ? 20 : 40;
	size_t max_total = v4 ? 576 : 1280;
	uint8_t ext[512];
	size_t extlen = 0;
	size_t qlen, qpad, qhl;

	if (cap < max_total)
		return 0;
	if (p->ext)
		extlen = sim_craft_ext(p->ext, p->family, ext, sizeof(ext));

	/* How much of the offending packet to quote. */
	qhl = v4 ? (size_t)(p->quote[0] & 0x0f) * 4 : 40;
	qlen = p->quote_len;
	if (p->quote_l4 > 0 && qlen > qhl + (size_t)p->quote_l4)
		qlen = qhl + (size_t)p->quote_l4;
	size_t room = max_total - iphl - 8 - extlen;
	if (qlen > room)
		qlen = room;
	qpad = qlen;
	if (extlen) {
		/* RFC 4884: the original datagram is padded to at least 128 bytes
		 * and to a multiple of the length unit; the legacy form always
		 * puts the extensions at offset 128. */
		size_t unit = v4 ? 4 : 8;
		if (p->ext->ext_form == SIM_EXT_LEGACY) {
			if (qlen > 128)
				qlen = 128;
			qpad = 128;
		} else {
			if (qpad < 128)
				qpad = 128;
			qpad = (qpad + unit - 1) / unit * unit;
			if (qpad + extlen > room + extlen) {
				qpad = (room / unit) * unit;
				if (qlen > qpad)
					qlen = qpad;
			}
		}
	}
	size_t icmplen = 8 + qpad + extlen;
	size_t total = iphl + icmplen;
	uint8_t *icmp = out + iphl;

	memset(icmp, 0, icmplen);
	icmp[0] = p->type;
	icmp[1] = p->code;
	memcpy(icmp + 8, p->quote, qlen);
	if (extlen) {
		memcpy(icmp + 8 + qpad, ext, extlen);
		if (p->ext->ext_form == SIM_EXT_RFC4884) {
			if (v4)
				icmp[5] = (uint8_t)(qpad / 4);
			else
				icmp[4] = (uint8_t)(qpad / 8);
		}
	}
	if (p->mtu) {
		if (v4)
			put16(icmp + 6, (uint16_t)p->mtu);
		else
			put32(icmp + 4, p->mtu);
	}
	if (v4) {
		/* Linux routers send ICMP errors with precedence "internetwork
		 * control" (0xc0). */
		ip4_header(out, total, 0xc0, p->ipid, p->ttl, IPPROTO_ICMP, p->src, p->dst);
	} else {
		ip6_header(out, icmplen, IPPROTO_ICMPV6, p->ttl, p->src, p->dst);
	}
	sim_l4_csum(out, total);
	return total;
}

size_t sim_craft_echo_reply(const uint8_t *req, size_t len, uint8_t ttl, uint16_t ipid,
                            uint8_t *out, size_t cap)
{
	bool v4 = (req[0] >> 4) == 4;
	size_t hl = v4 ? (size_t)(req[0] & 0x0f) * 4 : 40;

	if (len < hl + 8 || cap < 40 + len)
		return 0;
	size_t l4len = len - hl;
	size_t ohl = v4 ? 20 : 40;
	if (v4)
		ip4_header(out, ohl + l4len, req[1], ipid, ttl, IPPROTO_ICMP, req + 16, req + 12);
	else
		ip6_header(out, l4len, IPPROTO_ICMPV6, ttl, req + 24, req + 8);
	memcpy(out + ohl, req + hl, l4len);
	out[ohl] = v4 ? 0 : 129;
	sim_l4_csum(out, ohl + l4len);
	return ohl + l4len;
}

size_t sim_craft_udp_reply(const uint8_t *req, size_t len, size_t keep, uint8_t ttl,
                           uint16_t ipid, uint8_t *out, size_t cap)
{
	bool v4 = (req[0] >> 4) == 4;
	size_t hl = v4 ? (size_t)(req[0] & 0x0f) * 4 : 40;

	if (len < hl + 8)
		return 0;
	const uint8_t *u = req + hl;
	size_t pl = len - hl - 8;
	size_t ohl = v4 ? 20 : 40;
	uint8_t *o = out + ohl;

	if (cap < ohl + 8 + pl)
		return 0;
	memcpy(o, u + 2, 2);
	memcpy(o + 2, u, 2);
	put16(o + 4, (uint16_t)(8 + pl));
	memset(o + 8, 0, pl);
	memcpy(o + 8, u + 8, keep < pl ? keep : pl);
	if (v4)
		ip4_header(out, ohl + 8 + pl, 0, ipid, ttl, IPPROTO_UDP, req + 16, req + 12);
	else
		ip6_header(out, 8 + pl, IPPROTO_UDP, ttl, req + 24, req + 8);
	sim_l4_csum(out, ohl + 8 + pl);
	return ohl + 8 + pl;
}

size_t sim_craft_tcp_reply(const uint8_t *req, size_t len, bool synack, uint32_t isn, uint8_t ttl,
                           uint16_t ipid, uint8_t *out, size_t cap)
{
	bool v4 = (req[0] >> 4) == 4;
	size_t hl = v4 ? (size_t)(req[0] & 0x0f) * 4 : 40;

	if (len < hl + 20 || cap < 40 + 24)
		return 0;
	const uint8_t *t = req + hl;
	size_t ohl = v4 ? 20 : 40;
	size_t tl = synack ? 24 : 20;
	uint8_t *o = out + ohl;
	uint32_t rseq = get32(t + 4);
	size_t seglen = len - hl - (size_t)(t[12] >> 4) * 4;
	uint8_t flags = t[13];
	uint32_t ack = rseq + (uint32_t)seglen + ((flags & 0x02) ? 1 : 0) + ((flags & 0x01) ? 1 : 0);

	memset(o, 0, tl);
	memcpy(o, t + 2, 2);
	memcpy(o + 2, t, 2);
	if (synack) {
		put32(o + 4, isn);
		put32(o + 8, ack);
		o[12] = 6 << 4;
		o[13] = 0x12; /* SYN ACK */
		put16(o + 14, 64240);
		/* MSS option so a connecting kernel is content. */
		o[20] = 2;
		o[21] = 4;
		put16(o + 22, v4 ? 1460 : 1440);
	} else if (flags & 0x10) {
		/* RFC 793: a reset for a segment carrying ACK takes its seq from
		 * that ACK and carries no ACK itself. */
		put32(o + 4, get32(t + 8));
		o[12] = 5 << 4;
		o[13] = 0x04;
	} else {
		put32(o + 8, ack);
		o[12] = 5 << 4;
		o[13] = 0x14; /* RST ACK */
	}
	if (v4)
		ip4_header(out, ohl + tl, 0, ipid, ttl, IPPROTO_TCP, req + 16, req + 12);
	else
		ip6_header(out, tl, IPPROTO_TCP, ttl, req + 24, req + 8);
	sim_l4_csum(out, ohl + tl);
	return ohl + tl;
}
