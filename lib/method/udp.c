/*
 * UDP probes.
 *
 * Layout of the transport part (all big-endian):
 *   0  source port       constant (f->sport)
 *   2  destination port  f->dport (Paris) or f->dport + seq (classic)
 *   4  length
 *   6  checksum          Paris: seq + 1 (see method.h); classic: computed
 *   8  seq               the probe sequence number, again
 *  10  0x0100            constant
 *  12  zeros
 *  20  tweak word        Paris: chosen so the checksum comes out as wanted
 *  22  tag               the flow's random tag (when the probe has room)
 *  26  zeros             up to the requested packet length
 *
 * The payload begins like a DNS query header (ID = seq, flags = standard
 * query with recursion desired, no records), so that a DNS server on the
 * probed port answers (an error, but with the ID) instead of dropping a
 * datagram whose flags say it is a response; the tweak word sits after
 * those 12 bytes. The constant word also keeps a quote that was padded
 * with zeros from reading as probe 0.
 *
 * Paris-traceroute and Dublin traceroute carry the probe identity in the
 * UDP checksum in the same spirit (a payload word is solved for); Dublin
 * additionally uses the IP ID, which we copy for NAT robustness.
 */
#include "method/method.h"

#include "proto/bytes.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define UDP_HDR 8
#define UDP_SEQ_OFF 8
#define UDP_MARK_OFF 10
#define UDP_MARK 0x0100
#define UDP_TWEAK_OFF 20

/* The checksum a Paris UDP probe carries for seq; never 0. */
static uint16_t udp_paris_csum(uint16_t seq)
{
	return seq == 0xffff ? 0xffff : (uint16_t)(seq + 1u);
}

int ht_udp_match_payload(const struct ht_flow *f, uint16_t sport, uint16_t dport,
                         const uint8_t *payload, size_t len, uint16_t *seq)
{
	if (dport != f->sport)
		return -ENOENT;
	if (f->classic) {
		*seq = (uint16_t)(sport - f->dport);
		return 0;
	}
	/* Paris: every probe goes to one port; only the answer's first
	 * payload word can tell them apart. */
	if (sport != f->dport || len < 2)
		return -ENOENT;
	*seq = ht_rd16(payload);
	return 0;
}

int ht_udp_match_reply(const struct ht_flow *f, const uint8_t *udp, size_t len, uint16_t *seq)
{
	if (len < UDP_HDR)
		return -EINVAL;
	return ht_udp_match_payload(f, ht_rd16(udp), ht_rd16(udp + 2), udp + UDP_HDR, len - UDP_HDR,
	                            seq);
}

static int udp_build(const struct ht_flow *f, uint16_t seq, uint8_t *l4, size_t len)
{
	uint32_t sum;
	uint16_t c;

	if (len < UDP_TWEAK_OFF + 2 || len > 0xffff)
		return -EINVAL;
	memset(l4, 0, len);
	ht_wr16(l4 + 0, f->sport);
	ht_wr16(l4 + 2, f->classic ? (uint16_t)(f->dport + seq) : f->dport);
	ht_wr16(l4 + 4, (uint16_t)len);
	ht_wr16(l4 + UDP_SEQ_OFF, seq);
	ht_wr16(l4 + UDP_MARK_OFF, UDP_MARK);
	if (len >= HT_UDP_TAG_OFF + 4)
		ht_wr32(l4 + HT_UDP_TAG_OFF, f->tag);

	if (f->classic) {
		sum = ht_csum_add(ht_flow_pseudo(f, IPPROTO_UDP, len), l4, len);
		c = ht_csum_fold(sum);
		ht_wr16(l4 + 6, c ? c : 0xffff); /* RFC 768: 0 is sent as all ones */
		return 0;
	}

	/*
	 * Paris: store the wanted checksum first, then solve for the tweak
	 * word so that the ones-complement sum over pseudo-header and segment
	 * is 0xffff, i.e. the checksum verifies. The tweak sits at an even
	 * offset so it is one whole 16-bit word of the sum.
	 */
	ht_wr16(l4 + 6, udp_paris_csum(seq));
	sum = ht_csum_add(ht_flow_pseudo(f, IPPROTO_UDP, len), l4, len);
	c = (uint16_t)~ht_csum_fold(sum); /* folded sum, not complemented */
	ht_wr16(l4 + UDP_TWEAK_OFF, (uint16_t)~c);
	return 0;
}

/*
 * Which probe does a quoted UDP header belong to?
 *
 * Classic mode: the destination port says it (seq = dport - base).
 *
 * Paris mode has up to three witnesses: the checksum (always quoted), the
 * payload seq word (quoted when the router sent more than 8 bytes) and
 * the IPv4 IP ID. Routers do not touch any of them, but middleboxes do:
 * a NAT in front of us rewrites the source address/port of the probe and
 * fixes up the UDP checksum, and when it translates the ICMP error back
 * the quoted checksum is often left as the translated value. Some
 * firewalls randomise the IP ID. And the "payload" may not be ours at
 * all: a router that quotes 8 bytes but adds RFC 4884 extensions pads the
 * quote with zeros to 128 bytes. So no single witness decides alone when
 * another one contradicts it. The rule:
 *   1. IP ID and checksum agree: that seq.
 *   2. The payload word agrees with the IP ID or the checksum: that seq.
 *   3. IPv4: the IP ID decides (a NAT rewrote the checksum; the payload
 *      is padding or was rewritten).
 *   4. Otherwise the checksum decides (0xffff reads as 0xfffe): IPv6 has
 *      no IP ID (NAT66 is rare and NPTv6 is checksum-neutral), and some
 *      IPv4 stacks zero it.
 * A quoted checksum of 0 (no checksum) carries nothing. A quote long
 * enough to hold the tag must carry ours (or zeros: padding).
 *
 * The error queue of a UDP socket gives the quoted payload only (the
 * kernel checked the ports): its first word names the probe, and the
 * payload must be, as far as it goes (at least 4 bytes), that probe's,
 * tweak word and tag included. A router that quoted only the UDP header
 * (RFC 792) but padded the quote for RFC 4884 extensions shows zeros
 * there, which name no probe (every payload's second word is 0x0100).
 */
static int udp_match_payload(const struct ht_flow *f, const struct ht_quote *q, uint16_t *seq)
{
	uint8_t want[HT_PROBE_MAX_LEN];
	size_t l4len = ht_flow_l4_len(f), n;
	uint16_t s;

	if (!q->has_ports || q->sport != f->sport || q->dport != f->dport)
		return -ENOENT;
	if (q->l4_len < 4 || l4len < UDP_HDR + 4 || l4len > sizeof(want))
		return -ENOENT;
	s = ht_rd16(q->l4);
	if (udp_build(f, s, want, l4len) < 0)
		return -ENOENT;
	n = q->l4_len < l4len - UDP_HDR ? q->l4_len : l4len - UDP_HDR;
	if (memcmp(q->l4, want + UDP_HDR, n) != 0)
		return -ENOENT;
	*seq = s;
	return 0;
}

static int udp_match_quote(const struct ht_flow *f, const struct ht_quote *q, uint16_t *seq)
{
	const uint8_t *u = q->l4;
	uint16_t sport, dport, csum;
	uint16_t id_seq, pay_seq, csum_seq;
	bool has_id, has_pay, has_csum;

	if (q->l4_is_payload)
		return udp_match_payload(f, q, seq);
	if (q->l4_len < UDP_HDR)
		return -ENOENT;
	sport = ht_rd16(u);
	dport = ht_rd16(u + 2);
	csum = ht_rd16(u + 6);
	if (sport != f->sport)
		return -ENOENT;
	if (q->l4_len >= HT_UDP_TAG_OFF + 4 && ht_tag_check(f, u + HT_UDP_TAG_OFF) < 0)
		return -ENOENT;
	if (f->classic) {
		*seq = (uint16_t)(dport - f->dport);
		return 0;
	}
	if (dport != f->dport)
		return -ENOENT;

	has_id = ht_ip_id_to_seq(q, &id_seq);
	has_pay = q->l4_len >= UDP_SEQ_OFF + 2;
	pay_seq = has_pay ? ht_rd16(u + UDP_SEQ_OFF) : 0;
	has_csum = csum != 0;
	csum_seq = (uint16_t)(csum - 1u);

	if (has_id && has_csum && id_seq == csum_seq)
		*seq = id_seq;
	else if (has_pay && ((has_id && id_seq == pay_seq) ||
	                     (has_csum && udp_paris_csum(pay_seq) == csum)))
		*seq = pay_seq;
	else if (has_id)
		*seq = id_seq;
	else if (has_csum)
		*seq = csum_seq;
	else
		return -ENOENT;
	return 0;
}

const struct ht_method_ops ht_method_udp = {
	.method = HT_METHOD_UDP,
	.proto4 = IPPROTO_UDP,
	.proto6 = IPPROTO_UDP,
	.min_l4 = UDP_TWEAK_OFF + 2,
	.build = udp_build,
	.match_quote = udp_match_quote,
};
