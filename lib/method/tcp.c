/*
 * TCP SYN probes.
 *
 * Layout (all big-endian):
 *   0  source port       f->sport + seq % ncols (Paris: one port per query
 *                        column) or f->sport + seq (classic)
 *   2  destination port  f->dport
 *   4  sequence number   tag << 16 | seq (tag: ht_tcp_tag, constant of the
 *                        flow, from the flow's random tag)
 *   8  acknowledgement   0
 *  12  data offset       5, or 10 when there is room for options
 *  13  flags             SYN
 *  14  window            65535
 *  16  checksum
 *  18  urgent pointer    0
 *  20  options           MSS, SACK permitted, timestamps, NOP, window
 *                        scale (20 bytes, Linux's usual set and order)
 *                        when the packet is long enough; the default
 *                        60-byte IPv4 / 80-byte IPv6 probe is exactly a
 *                        SYN with options, as traceroute -T sends.
 *  ..  zeros             SYN payload when a longer packet is asked for.
 * The sequence number is in the first 8 bytes, so even an RFC 792 quote
 * carries it, and a SYN-ACK or RST acknowledges it + 1.
 *
 * Flow-stable source ports: the core numbers probes hop-major, seq =
 * (ttl - first) * nqueries + column, and its extra probes keep that
 * column (seq % nqueries), so each query column is one constant 5-tuple
 * from the first TTL to the destination: a Paris path per column. The
 * columns differ because connection tracking (every NAT) keeps one entry
 * per 5-tuple: the destination's first RST closes it, and later answers
 * on the same tuple are no longer translated back. With one tuple per
 * column, the nqueries probes that reach the destination at one TTL each
 * have their own entry, and all their answers come back.
 */
#include "method/method.h"

#include "proto/bytes.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define TCP_HDR 20
#define TCP_OPT_LEN 20
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

uint16_t ht_tcp_tag(const struct ht_flow *f)
{
	/* The upper half of the flow's random tag, mixed with "HT" and the
	 * base ports: stray segments from other connections between the same
	 * ports, or answers to another run, rarely carry it. */
	return (uint16_t)(0x4854u ^ f->sport ^ f->dport ^ (f->tag >> 16));
}

/* Query columns of a flow-stable flow (one source port each). */
static unsigned tcp_ncols(const struct ht_flow *f)
{
	return f->ncols > 1 ? f->ncols : 1;
}

/* The source port of probe seq. */
static uint16_t tcp_sport(const struct ht_flow *f, uint16_t seq)
{
	if (f->classic)
		return (uint16_t)(f->sport + seq);
	return (uint16_t)(f->sport + seq % tcp_ncols(f));
}

/* Paris: true when port is the source port of probe seq's column. */
static bool tcp_port_fits(const struct ht_flow *f, uint16_t port, uint16_t seq)
{
	return port == tcp_sport(f, seq);
}

/* Paris: true when port is one of the flow's column ports. */
static bool tcp_port_ours(const struct ht_flow *f, uint16_t port)
{
	return (uint16_t)(port - f->sport) < tcp_ncols(f);
}

static int tcp_build(const struct ht_flow *f, uint16_t seq, uint8_t *l4, size_t len)
{
	size_t hlen = len >= TCP_HDR + TCP_OPT_LEN ? TCP_HDR + TCP_OPT_LEN : TCP_HDR;
	uint8_t *o = l4 + TCP_HDR;

	if (len < TCP_HDR || len > 0xffff)
		return -EINVAL;
	memset(l4, 0, len);
	ht_wr16(l4 + 0, tcp_sport(f, seq));
	ht_wr16(l4 + 2, f->dport);
	ht_wr32(l4 + 4, (uint32_t)ht_tcp_tag(f) << 16 | seq);
	l4[12] = (uint8_t)(hlen / 4) << 4;
	l4[13] = TCP_SYN;
	ht_wr16(l4 + 14, 65535);
	if (hlen > TCP_HDR) {
		o[0] = 2; /* MSS */
		o[1] = 4;
		ht_wr16(o + 2, f->family == AF_INET6 ? 1440 : 1460);
		o[4] = 4; /* SACK permitted */
		o[5] = 2;
		o[6] = 8; /* timestamps: TSval 0, TSecr 0 (constant per flow) */
		o[7] = 10;
		o[16] = 1; /* NOP */
		o[17] = 3; /* window scale 7 */
		o[18] = 3;
		o[19] = 7;
	}
	ht_wr16(l4 + 16, ht_csum_fold(ht_csum_add(ht_flow_pseudo(f, IPPROTO_TCP, len), l4, len)));
	return 0;
}

/*
 * A quoted SYN is ours when its ports are ours. Paris: the seq is the low
 * half of the sequence number when the high half carries our tag. Some
 * firewalls randomise initial sequence numbers (and may not undo that in
 * ICMP quotes); on IPv4 the IP ID then still identifies the probe. Either
 * way the source port must be the one of that seq's column: a quote that
 * names a probe on another column's port is not one we sent.
 * Classic: the source port offset is the seq.
 */
static int tcp_match_quote(const struct ht_flow *f, const struct ht_quote *q, uint16_t *seq)
{
	const uint8_t *t = q->l4;
	uint16_t sport, dport, id_seq;
	uint32_t tseq;

	if (q->l4_len < 8)
		return -ENOENT;
	sport = ht_rd16(t);
	dport = ht_rd16(t + 2);
	tseq = ht_rd32(t + 4);
	if (dport != f->dport)
		return -ENOENT;
	if (f->classic) {
		*seq = (uint16_t)(sport - f->sport);
		return 0;
	}
	if (!tcp_port_ours(f, sport))
		return -ENOENT;
	if ((tseq >> 16) == ht_tcp_tag(f))
		id_seq = (uint16_t)tseq;
	else if (!ht_ip_id_to_seq(q, &id_seq))
		return -ENOENT;
	if (!tcp_port_fits(f, sport, id_seq))
		return -ENOENT;
	*seq = id_seq;
	return 0;
}

/*
 * A SYN-ACK or RST+ACK from the destination answers our SYN: its ports
 * mirror ours (the probe's column port) and it acknowledges our sequence
 * number + 1. A RST without ACK carries no acknowledgement and so cannot
 * be tied to a probe.
 */
int ht_tcp_match_segment(const struct ht_flow *f, uint16_t sport, uint16_t dport, uint32_t ack,
                         uint8_t flags, uint16_t *seq, enum ht_reply_kind *kind)
{
	uint16_t pseq;

	ack -= 1u;
	if (sport != f->dport)
		return -ENOENT;
	if (!(flags & TCP_ACK))
		return -ENOENT;
	if (flags & TCP_RST)
		*kind = HT_REPLY_TCP_RST;
	else if (flags & TCP_SYN)
		*kind = HT_REPLY_TCP_SYNACK;
	else
		return -ENOENT;
	if ((ack >> 16) != ht_tcp_tag(f))
		return -ENOENT;
	pseq = (uint16_t)ack;
	if (f->classic) {
		if ((uint16_t)(dport - f->sport) != pseq)
			return -ENOENT;
	} else if (!tcp_port_fits(f, dport, pseq)) {
		return -ENOENT;
	}
	*seq = pseq;
	return 0;
}

int ht_tcp_match_reply(const struct ht_flow *f, const uint8_t *tcp, size_t len, uint16_t *seq,
                       enum ht_reply_kind *kind)
{
	if (len < TCP_HDR)
		return -EINVAL;
	if ((size_t)(tcp[12] >> 4) * 4 < TCP_HDR || (size_t)(tcp[12] >> 4) * 4 > len)
		return -EINVAL;
	return ht_tcp_match_segment(f, ht_rd16(tcp), ht_rd16(tcp + 2), ht_rd32(tcp + 8), tcp[13], seq,
	                            kind);
}

const struct ht_method_ops ht_method_tcp = {
	.method = HT_METHOD_TCP,
	.proto4 = IPPROTO_TCP,
	.proto6 = IPPROTO_TCP,
	.min_l4 = TCP_HDR,
	.build = tcp_build,
	.match_quote = tcp_match_quote,
};
