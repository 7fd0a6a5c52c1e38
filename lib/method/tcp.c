/*
 * TCP SYN probes.
 *
 * Layout (all big-endian):
 *   0  source port       f->sport (Paris) or f->sport + seq (classic)
 *   2  destination port  f->dport
 *   4  sequence number   tag << 16 | seq (tag: constant of the flow)
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
	/* "HT" mixed with the base ports: stray segments from other
	 * connections between the same ports rarely carry it. */
	return (uint16_t)(0x4854u ^ f->sport ^ f->dport);
}

static int tcp_build(const struct ht_flow *f, uint16_t seq, uint8_t *l4, size_t len)
{
	size_t hlen = len >= TCP_HDR + TCP_OPT_LEN ? TCP_HDR + TCP_OPT_LEN : TCP_HDR;
	uint8_t *o = l4 + TCP_HDR;

	if (len < TCP_HDR || len > 0xffff)
		return -EINVAL;
	memset(l4, 0, len);
	ht_wr16(l4 + 0, f->classic ? (uint16_t)(f->sport + seq) : f->sport);
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
 * ICMP quotes); on IPv4 the IP ID then still identifies the probe.
 * Classic: the source port offset is the seq.
 */
static int tcp_match_quote(const struct ht_flow *f, const struct ht_quote *q, uint16_t *seq)
{
	const uint8_t *t = q->l4;
	uint16_t sport = ht_rd16(t), dport = ht_rd16(t + 2), id_seq;
	uint32_t tseq = ht_rd32(t + 4);

	if (dport != f->dport)
		return -ENOENT;
	if (f->classic) {
		*seq = (uint16_t)(sport - f->sport);
		return 0;
	}
	if (sport != f->sport)
		return -ENOENT;
	if ((tseq >> 16) == ht_tcp_tag(f)) {
		*seq = (uint16_t)tseq;
		return 0;
	}
	if (ht_ip_id_to_seq(q, &id_seq)) {
		*seq = id_seq;
		return 0;
	}
	return -ENOENT;
}

/*
 * A SYN-ACK or RST+ACK from the destination answers our SYN: its ports
 * mirror ours and it acknowledges our sequence number + 1. A RST without
 * ACK carries no acknowledgement and so cannot be tied to a probe.
 */
int ht_tcp_match_reply(const struct ht_flow *f, const uint8_t *tcp, size_t len, uint16_t *seq,
                       enum ht_reply_kind *kind)
{
	uint16_t sport, dport, pseq;
	uint32_t ack;
	uint8_t flags;

	if (len < TCP_HDR)
		return -EINVAL;
	if ((size_t)(tcp[12] >> 4) * 4 < TCP_HDR || (size_t)(tcp[12] >> 4) * 4 > len)
		return -EINVAL;
	sport = ht_rd16(tcp);
	dport = ht_rd16(tcp + 2);
	ack = ht_rd32(tcp + 8) - 1u;
	flags = tcp[13];
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
	} else if (dport != f->sport) {
		return -ENOENT;
	}
	*seq = pseq;
	return 0;
}

const struct ht_method_ops ht_method_tcp = {
	.method = HT_METHOD_TCP,
	.proto4 = IPPROTO_TCP,
	.proto6 = IPPROTO_TCP,
	.min_l4 = TCP_HDR,
	.build = tcp_build,
	.match_quote = tcp_match_quote,
};
