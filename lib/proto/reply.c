/*
 * Reply decoding: ICMP errors quoting our probes, echo replies, and TCP
 * answers from the destination.
 *
 * Every length is checked before the bytes it covers are read. A packet
 * whose own fields contradict each other (lengths, versions, checksums)
 * is -EINVAL; a well-formed packet that is not about our flow is -ENOENT.
 */
#include "proto/proto.h"

#include "method/method.h"
#include "proto/bytes.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define IP4_HDR 20
#define IP6_HDR 40

static void addr4(ht_addr *a, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	memcpy(&a->u.v4, p, 4);
}

static bool addr_is(const ht_addr *a, int family, const uint8_t *p)
{
	if (a->family != family)
		return false;
	if (family == AF_INET)
		return memcmp(&a->u.v4, p, 4) == 0;
	return memcmp(&a->u.v6, p, 16) == 0;
}

/*
 * Outer IPv4 header of a packet from a raw socket. The kernel verified
 * the header checksum already (and some stacks we see through tunnels
 * leave it stale), so it is not checked again; lengths are, strictly.
 */
static int ip4_outer(const uint8_t *pkt, size_t len, size_t *hl, size_t *total)
{
	if (len < IP4_HDR || (pkt[0] >> 4) != 4)
		return -EINVAL;
	*hl = (size_t)(pkt[0] & 0x0f) * 4;
	*total = ht_rd16(pkt + 2);
	if (*hl < IP4_HDR || *hl > len || *total < *hl || *total > len)
		return -EINVAL;
	/* Raw sockets see reassembled datagrams; a fragment is nothing we
	 * can interpret. */
	if (ht_rd16(pkt + 6) & 0x3fff)
		return -ENOENT;
	return 0;
}

/* The quoted IPv4 probe: header, then at least 8 bytes of transport. */
static int quote_ip4(const struct ht_flow *f, const struct ht_method_ops *ops, const uint8_t *q,
                     size_t qlen, struct ht_reply *r)
{
	struct ht_quote qq;
	size_t ihl, qtot, avail;

	if (qlen < IP4_HDR || (q[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(q[0] & 0x0f) * 4;
	qtot = ht_rd16(q + 2);
	if (ihl < IP4_HDR || ihl > qlen)
		return -EINVAL;
	/* Our probes always had 8 transport bytes or more. */
	if (qtot < ihl + 8)
		return -EINVAL;
	avail = (qlen < qtot ? qlen : qtot) - ihl;
	if (avail < 8)
		return -EINVAL;
	if (q[9] != ops->proto4 || (ht_rd16(q + 6) & 0x1fff) != 0)
		return -ENOENT;
	/* The quote must be of a packet we sent: our destination and our
	 * source. A NAT on the path translates the quoted source back to ours
	 * (RFC 5508), so another source is another host's packet, or a forgery
	 * that would otherwise put the forger's address on our path. */
	if (!addr_is(&f->dst, AF_INET, q + 16) || !addr_is(&f->src, AF_INET, q + 12))
		return -ENOENT;
	/* TTL may be 0 or 1 depending on where the router decremented it;
	 * the TOS may have been rewritten on the way: report, don't judge. */
	r->quoted_ttl = q[8];
	r->has_quoted_ttl = true;
	r->quoted_tos = q[1];
	r->has_quoted_tos = true;
	qq.family = AF_INET;
	qq.l4 = q + ihl;
	qq.l4_len = avail;
	qq.has_ip_id = true;
	qq.ip_id = ht_rd16(q + 4);
	return ops->match_quote(f, &qq, &r->seq);
}

/* The quoted IPv6 probe. We send no extension headers, so the next
 * header must be the transport directly. */
static int quote_ip6(const struct ht_flow *f, const struct ht_method_ops *ops, const uint8_t *q,
                     size_t qlen, struct ht_reply *r)
{
	struct ht_quote qq;
	size_t plen, avail;

	if (qlen < IP6_HDR || (q[0] >> 4) != 6)
		return -EINVAL;
	plen = ht_rd16(q + 4);
	if (plen < 8)
		return -EINVAL;
	avail = qlen - IP6_HDR < plen ? qlen - IP6_HDR : plen;
	if (avail < 8)
		return -EINVAL;
	if (q[6] != ops->proto6)
		return -ENOENT;
	if (!addr_is(&f->dst, AF_INET6, q + 24) || !addr_is(&f->src, AF_INET6, q + 8))
		return -ENOENT;
	r->quoted_ttl = q[7];
	r->has_quoted_ttl = true;
	r->quoted_tos = (uint8_t)((q[0] & 0x0f) << 4 | q[1] >> 4);
	r->has_quoted_tos = true;
	qq.family = AF_INET6;
	qq.l4 = q + IP6_HDR;
	qq.l4_len = avail;
	qq.has_ip_id = false;
	qq.ip_id = 0;
	return ops->match_quote(f, &qq, &r->seq);
}

/*
 * Where the quoted datagram ends. RFC 4884 puts its length (in 32-bit
 * words for ICMPv4, 64-bit words for ICMPv6) in the header; 0 means
 * "not given" and the quote runs to the end of the message (possibly with
 * a legacy extension structure at offset 128, harmless to the quote
 * parser which stops at the quoted total length). A length that points
 * past the end of the message is a lie (or a bug); like a missing one it
 * costs the extensions, not the hop: the whole rest is the quote, and the
 * extension parser rejects the same field, so no extension is reported.
 */
static void quote_span(size_t mlen, size_t len_words, size_t unit, size_t *qlen)
{
	*qlen = mlen - 8;
	if (len_words && len_words * unit <= *qlen)
		*qlen = len_words * unit;
}

/* Destination unreachable, packet too big, time exceeded (transit or
 * reassembly), parameter problem: the errors that can answer a probe. */
bool ht_icmp_is_probe_error(int family, uint8_t type, uint8_t code)
{
	if (family == AF_INET)
		return type == 3 || type == 12 || (type == 11 && code <= 1);
	return type == 1 || type == 2 || type == 4 || (type == 3 && code <= 1);
}

/*
 * Kind and annotation of an ICMP error, one table for every socket type
 * (raw sockets decode here; unprivileged sockets pass the type and code
 * from the error queue). Annotations follow Linux traceroute, so the same
 * reply reads the same in both tools:
 *   IPv4 unreachable: 0 6 8 11 !N, 1 7 12 !H, 9 10 13 !X, 2 !P, 4 !F-<mtu>,
 *   5 !S, 14 !V, 15 !C, 3 reached, anything else !<code>.
 *   IPv6 unreachable: 0 !N, 2 3 !H, 1 !X, 4 reached, anything else !<code>;
 *   packet too big !F-<mtu>.
 * Any other error about our probe ends the hop like traceroute's
 * !<type-code>, except ICMPv6 parameter problem code 1 (unrecognised next
 * header), which is how an IPv6 host says "protocol unreachable": !P.
 * Time exceeded in transit is the only reply that is not final.
 */
void ht_icmp_classify(int family, uint8_t type, uint8_t code, struct ht_reply *r)
{
	r->icmp_type = type;
	r->icmp_code = code;
	r->annot = HT_ANN_NONE;
	if (family == AF_INET) {
		switch (type) {
		case 0:
			r->kind = HT_REPLY_ECHO_REPLY;
			return;
		case 11:
			r->kind = HT_REPLY_TIME_EXCEEDED;
			if (code != 0) /* fragment reassembly: the far end, not transit */
				r->annot = HT_ANN_TYPE;
			return;
		case 12:
			r->kind = HT_REPLY_PARAM_PROBLEM;
			r->annot = HT_ANN_TYPE;
			return;
		case 3:
			break;
		default:
			r->kind = HT_REPLY_OTHER;
			r->annot = HT_ANN_TYPE;
			return;
		}
		r->kind = HT_REPLY_UNREACH;
		switch (code) {
		case 0:  /* network unreachable */
		case 6:  /* destination network unknown */
		case 8:  /* source host isolated */
		case 11: /* network unreachable for TOS */
			r->annot = HT_ANN_NET;
			break;
		case 1:  /* host unreachable */
		case 7:  /* destination host unknown */
		case 12: /* host unreachable for TOS */
			r->annot = HT_ANN_HOST;
			break;
		case 2:
			r->annot = HT_ANN_PROTO;
			break;
		case 3:
			r->kind = HT_REPLY_PORT_UNREACH;
			break;
		case 4:
			r->kind = HT_REPLY_PTB;
			r->annot = HT_ANN_FRAG;
			break;
		case 5:
			r->annot = HT_ANN_SRCROUTE;
			break;
		case 9:  /* network administratively prohibited */
		case 10: /* host administratively prohibited */
		case 13: /* communication administratively prohibited (RFC 1812) */
			r->annot = HT_ANN_ADMIN;
			break;
		case 14:
			r->annot = HT_ANN_HOSTPREC;
			break;
		case 15:
			r->annot = HT_ANN_PRECCUT;
			break;
		default:
			r->annot = HT_ANN_OTHER;
			break;
		}
		return;
	}
	switch (type) {
	case 129:
		r->kind = HT_REPLY_ECHO_REPLY;
		return;
	case 3:
		r->kind = HT_REPLY_TIME_EXCEEDED;
		if (code != 0)
			r->annot = HT_ANN_TYPE;
		return;
	case 2:
		r->kind = HT_REPLY_PTB;
		r->annot = HT_ANN_FRAG;
		return;
	case 4:
		r->kind = HT_REPLY_PARAM_PROBLEM;
		r->annot = code == 1 ? HT_ANN_PROTO : HT_ANN_TYPE;
		return;
	case 1:
		break;
	default:
		r->kind = HT_REPLY_OTHER;
		r->annot = HT_ANN_TYPE;
		return;
	}
	r->kind = HT_REPLY_UNREACH;
	switch (code) {
	case 0: /* no route to destination */
		r->annot = HT_ANN_NET;
		break;
	case 1: /* administratively prohibited */
		r->annot = HT_ANN_ADMIN;
		break;
	case 2: /* beyond scope of source address */
	case 3: /* address unreachable */
		r->annot = HT_ANN_HOST;
		break;
	case 4: /* port unreachable: the destination answered */
		r->kind = HT_REPLY_PORT_UNREACH;
		break;
	default: /* 5 source address failed policy, 6 reject route, ... */
		r->annot = HT_ANN_OTHER;
		break;
	}
}

static int decode_icmp4(const struct ht_flow *f, const struct ht_method_ops *ops,
                        const uint8_t *m, size_t mlen, struct ht_reply *r)
{
	size_t qlen;
	int err;

	if (mlen < 8)
		return -EINVAL;
	/* Raw ICMP sockets get the message before the kernel's ICMP code
	 * looks at it, so the checksum is ours to verify. */
	if (ht_csum(m, mlen) != 0)
		return -EINVAL;
	r->icmp_type = m[0];
	r->icmp_code = m[1];
	switch (m[0]) {
	case 0: /* echo reply */
		/* Only the host we ping answers an echo request: the same reply
		 * from any other address is not about our probe (it would show the
		 * sender as the destination). */
		if (f->method != HT_METHOD_ICMP || m[1] != 0 || ht_rd16(m + 4) != f->icmp_id ||
		    !ht_addr_equal(&r->from, &f->dst))
			return -ENOENT;
		r->seq = ht_rd16(m + 6);
		r->kind = HT_REPLY_ECHO_REPLY;
		return 0;
	default:
		if (!ht_icmp_is_probe_error(AF_INET, m[0], m[1]))
			return -ENOENT;
		ht_icmp_classify(AF_INET, m[0], m[1], r);
		if (r->kind == HT_REPLY_PTB)
			r->mtu = ht_rd16(m + 6); /* RFC 1191; 0 from old routers */
		break;
	}
	quote_span(mlen, m[5], 4, &qlen);
	err = quote_ip4(f, ops, m + 8, qlen, r);
	if (err < 0)
		return err;
	/* A broken extension structure costs the extensions, not the hop. */
	(void)ht_icmp_ext_parse(AF_INET, m, mlen, r);
	return 0;
}

static int decode_icmp6(const struct ht_flow *f, const struct ht_method_ops *ops,
                        const uint8_t *m, size_t mlen, struct ht_reply *r)
{
	size_t qlen;
	uint32_t mtu;
	int err;

	/* The kernel verified the ICMPv6 checksum (it has the pseudo-header
	 * addresses; we may not know which local address was used). */
	if (mlen < 8)
		return -EINVAL;
	r->icmp_type = m[0];
	r->icmp_code = m[1];
	switch (m[0]) {
	case 129: /* echo reply */
		if (f->method != HT_METHOD_ICMP || m[1] != 0 || ht_rd16(m + 4) != f->icmp_id ||
		    !ht_addr_equal(&r->from, &f->dst))
			return -ENOENT;
		r->seq = ht_rd16(m + 6);
		r->kind = HT_REPLY_ECHO_REPLY;
		return 0;
	default:
		if (!ht_icmp_is_probe_error(AF_INET6, m[0], m[1]))
			return -ENOENT;
		ht_icmp_classify(AF_INET6, m[0], m[1], r);
		if (r->kind == HT_REPLY_PTB) {
			mtu = ht_rd32(m + 4);
			r->mtu = mtu > 0xffff ? 0xffff : (uint16_t)mtu;
		}
		break;
	}
	/* RFC 4884 length: only unreachable and time exceeded have one. */
	quote_span(mlen, (m[0] == 1 || m[0] == 3) ? m[4] : 0, 8, &qlen);
	err = quote_ip6(f, ops, m + 8, qlen, r);
	if (err < 0)
		return err;
	(void)ht_icmp_ext_parse(AF_INET6, m, mlen, r);
	return 0;
}

int ht_reply_decode(const struct ht_flow *f, enum ht_rx_kind kind, const uint8_t *pkt, size_t len,
                    const ht_addr *from, struct ht_reply *out)
{
	const struct ht_method_ops *ops;
	struct ht_reply r;
	size_t hl = 0, total = 0;
	int err;

	if (!f || !out || (!pkt && len))
		return -EINVAL;
	ops = ht_method_ops(f->method);
	if (!ops)
		return -EINVAL;
	memset(&r, 0, sizeof(r));

	switch (kind) {
	case HT_RX_ICMP4:
	case HT_RX_TCP4:
		if (f->family != AF_INET)
			return -EINVAL;
		err = ip4_outer(pkt, len, &hl, &total);
		if (err < 0)
			return err;
		if (pkt[9] != (kind == HT_RX_ICMP4 ? IPPROTO_ICMP : IPPROTO_TCP))
			return -ENOENT;
		addr4(&r.from, pkt + 12);
		if (from && from->family && !addr_is(from, AF_INET, pkt + 12))
			return -EINVAL;
		r.reply_ttl = pkt[8];
		if (kind == HT_RX_ICMP4) {
			err = decode_icmp4(f, ops, pkt + hl, total - hl, &r);
		} else {
			if (f->method != HT_METHOD_TCP || !addr_is(&f->dst, AF_INET, pkt + 12))
				return -ENOENT;
			err = ht_tcp_match_reply(f, pkt + hl, total - hl, &r.seq, &r.kind);
		}
		break;
	case HT_RX_ICMP6:
	case HT_RX_TCP6:
		if (f->family != AF_INET6 || !from || from->family != AF_INET6)
			return -EINVAL;
		r.from = *from;
		if (kind == HT_RX_ICMP6) {
			err = decode_icmp6(f, ops, pkt, len, &r);
		} else {
			if (f->method != HT_METHOD_TCP || !addr_is(&f->dst, AF_INET6, from->u.v6.s6_addr))
				return -ENOENT;
			err = ht_tcp_match_reply(f, pkt, len, &r.seq, &r.kind);
		}
		break;
	case HT_RX_UDP:
		if (!from || from->family != f->family)
			return -EINVAL;
		if (f->method != HT_METHOD_UDP || !ht_addr_equal(from, &f->dst))
			return -ENOENT;
		r.from = *from;
		r.kind = HT_REPLY_UDP_REPLY;
		err = ht_udp_match_reply(f, pkt, len, &r.seq);
		break;
	default:
		return -EINVAL;
	}
	if (err < 0)
		return err;
	*out = r;
	return 0;
}
