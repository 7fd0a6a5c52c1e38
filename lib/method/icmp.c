/*
 * ICMP echo probes.
 *
 * Layout (all big-endian):
 *   0  type      8 (ICMPv4 echo request) / 128 (ICMPv6 echo request)
 *   1  code      0
 *   2  checksum  Paris: constant for the flow; classic: whatever it is
 *   4  id        f->icmp_id, constant
 *   6  seq       the probe sequence number
 *   8  tweak     Paris: compensates the seq so the checksum stays put
 *  10  tag       the flow's random tag (when the probe has room)
 *  14  zeros     up to the requested packet length
 *
 * Load balancers that hash on the first transport word (type, code,
 * checksum) see one flow. The constant is the checksum the seq 0 probe
 * has without any tweak, so probe 0 looks like an ordinary ping; the tag
 * is part of it. For ICMPv6 the checksum covers the pseudo-header
 * (RFC 4443 2.3).
 */
#include "method/method.h"

#include "proto/bytes.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define ICMP_HDR 8
#define ICMP_TWEAK_OFF 8

static uint8_t echo_request_type(const struct ht_flow *f)
{
	return f->family == AF_INET6 ? 128 : 8;
}

static bool icmp_has_tag(size_t len)
{
	return len >= HT_ICMP_TAG_OFF + 4;
}

/* Sum of the non-zero words of the probe except checksum and tweak. */
static uint32_t icmp_base_sum(const struct ht_flow *f, uint16_t seq)
{
	size_t len = ht_flow_l4_len(f);
	uint32_t sum = 0;

	if (f->family == AF_INET6)
		sum = ht_flow_pseudo(f, IPPROTO_ICMPV6, len);
	sum += (uint32_t)echo_request_type(f) << 8;
	sum += f->icmp_id;
	sum += seq;
	if (icmp_has_tag(len))
		sum += (f->tag >> 16) + (f->tag & 0xffff);
	return sum;
}

int ht_icmp_check_tag(const struct ht_flow *f, const uint8_t *m, size_t len)
{
	if (!icmp_has_tag(len))
		return 0;
	return ht_tag_check(f, m + HT_ICMP_TAG_OFF);
}

uint16_t ht_icmp_probe_csum(const struct ht_flow *f, uint16_t seq)
{
	return ht_csum_fold(icmp_base_sum(f, f->classic ? seq : 0));
}

static int icmp_build(const struct ht_flow *f, uint16_t seq, uint8_t *l4, size_t len)
{
	uint16_t c, s;

	if (len < ICMP_HDR + 2 || len != ht_flow_l4_len(f))
		return -EINVAL;
	memset(l4, 0, len);
	l4[0] = echo_request_type(f);
	l4[1] = 0;
	ht_wr16(l4 + 4, f->icmp_id);
	ht_wr16(l4 + 6, seq);
	if (icmp_has_tag(len))
		ht_wr32(l4 + HT_ICMP_TAG_OFF, f->tag);
	c = ht_icmp_probe_csum(f, seq);
	ht_wr16(l4 + 2, c);
	if (!f->classic) {
		/* Folded sum with the constant checksum in place; the tweak
		 * brings it to 0xffff so the checksum verifies. */
		s = (uint16_t)~ht_csum_fold(icmp_base_sum(f, seq) + c);
		ht_wr16(l4 + ICMP_TWEAK_OFF, (uint16_t)~s);
	}
	return 0;
}

/*
 * A quoted echo request is ours when its id is ours; the echo sequence
 * is the probe seq. The checksum must be the one we sent, except that on
 * IPv4 a NAT that rewrote the id (and so the checksum) on the way out is
 * forgiven when the IP ID still carries the same seq. A quote that
 * holds the tag word must carry our tag (or zeros: padding). The error
 * queue of a ping socket quotes the echo request the kernel sent, with
 * the checksum the kernel computed: the id, seq and tag decide.
 */
static int icmp_match_quote(const struct ht_flow *f, const struct ht_quote *q, uint16_t *seq)
{
	const uint8_t *m = q->l4;
	uint16_t s, id_seq;

	if (q->l4_len < ICMP_HDR)
		return -ENOENT;
	if (m[0] != echo_request_type(f) || m[1] != 0)
		return -ENOENT;
	if (ht_rd16(m + 4) != f->icmp_id)
		return -ENOENT;
	if (ht_icmp_check_tag(f, m, q->l4_len) < 0)
		return -ENOENT;
	s = ht_rd16(m + 6);
	if (q->has_ip && ht_rd16(m + 2) != ht_icmp_probe_csum(f, s) &&
	    !(ht_ip_id_to_seq(q, &id_seq) && id_seq == s))
		return -ENOENT;
	*seq = s;
	return 0;
}

const struct ht_method_ops ht_method_icmp = {
	.method = HT_METHOD_ICMP,
	.proto4 = IPPROTO_ICMP,
	.proto6 = IPPROTO_ICMPV6,
	.min_l4 = ICMP_HDR + 2,
	.build = icmp_build,
	.match_quote = icmp_match_quote,
};
