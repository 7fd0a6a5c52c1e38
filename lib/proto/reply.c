/*
 * Reply parsing, with no flow in mind: ICMP errors and what they quote,
 * echo replies, TCP and UDP answers, and what datagram sockets hand over
 * (error queue, ping socket, UDP payload). Which probe of which flow a
 * parsed reply answers is lib/method's question (ht_rx_identify).
 *
 * Every length is checked before the bytes it covers are read. A packet
 * whose own fields contradict each other (lengths, versions, checksums)
 * is -EINVAL; a well-formed packet that cannot answer any probe is -ENOENT.
 */
#include "proto/proto.h"

#include "proto/bytes.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define IP4_HDR 20
#define IP6_HDR 40
#define UDP_HDR 8
#define TCP_HDR 20

static void addr4(ht_addr *a, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	memcpy(&a->u.v4, p, 4);
}

static void addr6(ht_addr *a, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET6;
	memcpy(&a->u.v6, p, 16);
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

/* Ports of a quoted UDP/TCP header (the first 4 bytes). */
static void quote_ports(struct ht_quote *q)
{
	if ((q->proto == IPPROTO_UDP || q->proto == IPPROTO_TCP) && q->l4_len >= 4) {
		q->has_ports = true;
		q->sport = ht_rd16(q->l4);
		q->dport = ht_rd16(q->l4 + 2);
	}
}

/* The quoted IPv4 packet: header, then at least 8 bytes of transport
 * (our probes always had 8 or more). */
static int quote_ip4(const uint8_t *q, size_t qlen, struct ht_rx *rx)
{
	struct ht_quote *qq = &rx->quote;
	size_t ihl, qtot, avail;

	if (qlen < IP4_HDR || (q[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(q[0] & 0x0f) * 4;
	qtot = ht_rd16(q + 2);
	if (ihl < IP4_HDR || ihl > qlen)
		return -EINVAL;
	if (qtot < ihl + 8)
		return -EINVAL;
	avail = (qlen < qtot ? qlen : qtot) - ihl;
	if (avail < 8)
		return -EINVAL;
	/* A quoted fragment other than the first has no transport header. */
	if ((ht_rd16(q + 6) & 0x1fff) != 0)
		return -ENOENT;
	qq->family = AF_INET;
	qq->proto = q[9];
	qq->has_ip = true;
	addr4(&qq->src, q + 12);
	addr4(&qq->dst, q + 16);
	/* TTL may be 0 or 1 depending on where the router decremented it;
	 * the TOS may have been rewritten on the way: report, don't judge. */
	qq->ttl = q[8];
	qq->tos = q[1];
	qq->has_ip_id = true;
	qq->ip_id = ht_rd16(q + 4);
	qq->ip_len = qtot;
	qq->l4 = q + ihl;
	qq->l4_len = avail;
	quote_ports(qq);
	return 0;
}

/* The quoted IPv6 packet. We send no extension headers, so the next
 * header is the transport directly (another one names no probe). */
static int quote_ip6(const uint8_t *q, size_t qlen, struct ht_rx *rx)
{
	struct ht_quote *qq = &rx->quote;
	size_t plen, avail;

	if (qlen < IP6_HDR || (q[0] >> 4) != 6)
		return -EINVAL;
	plen = ht_rd16(q + 4);
	if (plen < 8)
		return -EINVAL;
	avail = qlen - IP6_HDR < plen ? qlen - IP6_HDR : plen;
	if (avail < 8)
		return -EINVAL;
	qq->family = AF_INET6;
	qq->proto = q[6];
	qq->has_ip = true;
	addr6(&qq->src, q + 8);
	addr6(&qq->dst, q + 24);
	qq->ttl = q[7];
	qq->tos = (uint8_t)((q[0] & 0x0f) << 4 | q[1] >> 4);
	qq->has_ip_id = false;
	qq->ip_len = IP6_HDR + plen;
	qq->l4 = q + IP6_HDR;
	qq->l4_len = avail;
	quote_ports(qq);
	return 0;
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

/* The reply fields a quote gives. */
static void quote_fields(struct ht_rx *rx)
{
	if (!rx->quote.has_ip)
		return;
	rx->reply.quoted_ttl = rx->quote.ttl;
	rx->reply.has_quoted_ttl = true;
	rx->reply.quoted_tos = rx->quote.tos;
	rx->reply.has_quoted_tos = true;
}

/* An echo reply (ICMP header first). Only code 0 is one. */
static int echo_reply(int family, const uint8_t *m, size_t mlen, struct ht_rx *rx)
{
	if (m[1] != 0)
		return -ENOENT;
	rx->type = HT_RXT_ECHO_REPLY;
	ht_icmp_classify(family, m[0], m[1], &rx->reply);
	rx->echo.id = ht_rd16(m + 4);
	rx->echo.seq = ht_rd16(m + 6);
	rx->echo.payload = m + 8;
	rx->echo.payload_len = mlen - 8;
	return 0;
}

/*
 * An ICMP or ICMPv6 message (header first). check_sum: the ICMPv4
 * checksum is ours to verify (raw ICMP sockets get the message before the
 * kernel's ICMP code looks at it); the kernel verified the ICMPv6 one (it
 * has the pseudo-header addresses; we may not know which local address
 * was used) and that of what a ping socket delivers.
 */
static int parse_icmp(int family, const uint8_t *m, size_t mlen, bool check_sum, bool errors,
                      struct ht_rx *rx)
{
	uint8_t echo_rep = family == AF_INET ? 0 : 129;
	uint32_t mtu;
	size_t qlen;
	int err;

	if (mlen < 8)
		return -EINVAL;
	if (check_sum && ht_csum(m, mlen) != 0)
		return -EINVAL;
	rx->reply.icmp_type = m[0];
	rx->reply.icmp_code = m[1];
	if (m[0] == echo_rep)
		return echo_reply(family, m, mlen, rx);
	if (!errors || !ht_icmp_is_probe_error(family, m[0], m[1]))
		return -ENOENT;
	rx->type = HT_RXT_ICMP_ERROR;
	ht_icmp_classify(family, m[0], m[1], &rx->reply);
	if (family == AF_INET) {
		if (rx->reply.kind == HT_REPLY_PTB)
			rx->reply.mtu = ht_rd16(m + 6); /* RFC 1191; 0 from old routers */
		quote_span(mlen, m[5], 4, &qlen);
		err = quote_ip4(m + 8, qlen, rx);
	} else {
		if (rx->reply.kind == HT_REPLY_PTB) {
			mtu = ht_rd32(m + 4);
			rx->reply.mtu = mtu > 0xffff ? 0xffff : (uint16_t)mtu;
		}
		/* RFC 4884 length: only unreachable and time exceeded have one. */
		quote_span(mlen, (m[0] == 1 || m[0] == 3) ? m[4] : 0, 8, &qlen);
		err = quote_ip6(m + 8, qlen, rx);
	}
	if (err < 0)
		return err;
	quote_fields(rx);
	/* A broken extension structure costs the extensions, not the hop. */
	(void)ht_icmp_ext_parse(family, m, mlen, &rx->reply);
	return 0;
}

/* A TCP segment sent to us (its header first). */
static int parse_tcp(const uint8_t *t, size_t len, struct ht_rx *rx)
{
	size_t doff;

	if (len < TCP_HDR)
		return -EINVAL;
	doff = (size_t)(t[12] >> 4) * 4;
	if (doff < TCP_HDR || doff > len)
		return -EINVAL;
	rx->type = HT_RXT_TCP;
	rx->seg.hdr = t;
	rx->seg.len = len;
	rx->seg.sport = ht_rd16(t);
	rx->seg.dport = ht_rd16(t + 2);
	rx->seg.tcp_seq = ht_rd32(t + 4);
	rx->seg.tcp_ack = ht_rd32(t + 8);
	rx->seg.tcp_flags = t[13];
	rx->seg.payload = t + doff;
	rx->seg.payload_len = len - doff;
	return 0;
}

static void rx_init(struct ht_rx *rx, enum ht_rx_kind kind)
{
	memset(rx, 0, sizeof(*rx));
	rx->kind = kind;
	rx->sock_seq = -1;
}

int ht_rx_parse(enum ht_rx_kind kind, const uint8_t *pkt, size_t len, const ht_addr *from,
                struct ht_rx *rx)
{
	size_t hl = 0, total = 0;
	int err;

	if (!rx || (!pkt && len))
		return -EINVAL;
	rx_init(rx, kind);
	switch (kind) {
	case HT_RX_ICMP4:
	case HT_RX_TCP4:
		err = ip4_outer(pkt, len, &hl, &total);
		if (err < 0)
			return err;
		if (pkt[9] != (kind == HT_RX_ICMP4 ? IPPROTO_ICMP : IPPROTO_TCP))
			return -ENOENT;
		if (from && from->family && !addr_is(from, AF_INET, pkt + 12))
			return -EINVAL;
		rx->family = AF_INET;
		addr4(&rx->reply.from, pkt + 12);
		rx->reply.reply_ttl = pkt[8];
		if (kind == HT_RX_ICMP4)
			return parse_icmp(AF_INET, pkt + hl, total - hl, true, true, rx);
		return parse_tcp(pkt + hl, total - hl, rx);
	case HT_RX_ICMP6:
	case HT_RX_TCP6:
		if (!from || from->family != AF_INET6)
			return -EINVAL;
		rx->family = AF_INET6;
		rx->reply.from = *from;
		if (kind == HT_RX_ICMP6)
			return parse_icmp(AF_INET6, pkt, len, false, true, rx);
		return parse_tcp(pkt, len, rx);
	case HT_RX_UDP:
		if (!from || (from->family != AF_INET && from->family != AF_INET6))
			return -EINVAL;
		if (len < UDP_HDR)
			return -EINVAL;
		rx->family = from->family;
		rx->reply.from = *from;
		rx->type = HT_RXT_UDP;
		rx->seg.hdr = pkt;
		rx->seg.len = len;
		rx->seg.sport = ht_rd16(pkt);
		rx->seg.dport = ht_rd16(pkt + 2);
		rx->seg.payload = pkt + UDP_HDR;
		rx->seg.payload_len = len - UDP_HDR;
		return 0;
	default:
		return -EINVAL;
	}
}

static void sock_ttl(const struct ht_rx_sock *m, struct ht_rx *rx)
{
	if (m->ttl > 0 && m->ttl <= 255)
		rx->reply.reply_ttl = (uint8_t)m->ttl;
}

/*
 * An error-queue entry: an ICMP error from the network (not a local error
 * such as EMSGSIZE) that can answer a probe (not a redirect, which ping
 * sockets queue too). The kernel matched the quote to our socket: there
 * is no quoted IP header, the quoted destination is msg_name, and the
 * quoted bytes start at the ICMP header (ping socket), the TCP header, or
 * the UDP payload (the ports then come from msg_name and the socket).
 */
static int parse_errqueue(const struct ht_rx_sock *m, struct ht_rx *rx)
{
	struct ht_quote *q = &rx->quote;

	if (m->ee_origin != HT_EE_ORIGIN_ICMP && m->ee_origin != HT_EE_ORIGIN_ICMP6)
		return -ENOENT;
	if (!ht_icmp_is_probe_error(m->family, m->ee_type, m->ee_code))
		return -ENOENT;
	rx->type = HT_RXT_ICMP_ERROR;
	ht_icmp_classify(m->family, m->ee_type, m->ee_code, &rx->reply);
	if (rx->reply.kind == HT_REPLY_PTB)
		rx->reply.mtu = m->ee_info > 65535 ? 65535 : (uint16_t)m->ee_info;
	rx->reply.from = m->offender;
	sock_ttl(m, rx);
	q->family = m->family;
	q->proto = m->proto;
	q->has_ip = false;
	q->dst = m->peer;
	q->l4 = m->data;
	q->l4_len = m->len;
	if (m->proto == IPPROTO_UDP) {
		q->l4_is_payload = true;
		q->has_ports = true;
		q->sport = m->local_port;
		q->dport = m->peer_port;
	} else {
		quote_ports(q);
	}
	return 0;
}

int ht_rx_parse_sock(enum ht_rx_kind kind, const struct ht_rx_sock *m, struct ht_rx *rx)
{
	if (!rx || !m || (!m->data && m->len))
		return -EINVAL;
	rx_init(rx, kind);
	if (m->family != AF_INET && m->family != AF_INET6)
		return -EINVAL;
	rx->family = m->family;
	rx->sock_seq = m->sock_seq < 0 ? -1 : m->sock_seq;
	switch (kind) {
	case HT_RX_ERRQUEUE:
		return parse_errqueue(m, rx);
	case HT_RX_PING:
		if (m->peer.family != m->family)
			return -EINVAL;
		rx->reply.from = m->peer;
		sock_ttl(m, rx);
		return parse_icmp(m->family, m->data, m->len, false, false, rx);
	case HT_RX_UDP_DATA:
		if (m->peer.family != m->family)
			return -EINVAL;
		rx->reply.from = m->peer;
		sock_ttl(m, rx);
		rx->type = HT_RXT_UDP;
		rx->seg.sport = m->peer_port;
		rx->seg.dport = m->local_port;
		rx->seg.payload = m->data;
		rx->seg.payload_len = m->len;
		return 0;
	default:
		return -EINVAL;
	}
}
