/*
 * Replies against a flow: is a parsed reply (struct ht_rx, lib/proto)
 * about one of this flow's probes, and which; and, without a flow, which
 * probe identity it names (for finding the flow among many).
 */
#include "method/method.h"

#include "proto/bytes.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static uint8_t flow_proto(const struct ht_flow *f, const struct ht_method_ops *ops)
{
	return f->family == AF_INET ? ops->proto4 : ops->proto6;
}

/*
 * The quote must be of a packet we sent: our protocol, our destination and
 * our source. A NAT on the path translates the quoted source back to ours
 * (RFC 5508), so another source is another host's packet, or a forgery
 * that would otherwise put the forger's address on our path. Without a
 * quoted IP header (the error queue) the kernel already tied the quote to
 * our socket, and so to our source.
 */
static int identify_quote(const struct ht_flow *f, const struct ht_method_ops *ops,
                          const struct ht_quote *q, uint16_t *seq)
{
	if (q->family != f->family || q->proto != flow_proto(f, ops))
		return -ENOENT;
	if (!ht_addr_equal(&q->dst, &f->dst))
		return -ENOENT;
	if (q->has_ip && !ht_addr_equal(&q->src, &f->src))
		return -ENOENT;
	return ops->match_quote(f, q, seq);
}

int ht_rx_identify(const struct ht_flow *f, const struct ht_rx *rx, struct ht_reply *out)
{
	const struct ht_method_ops *ops;
	struct ht_reply r;
	int err;

	if (!f || !rx || !out)
		return -EINVAL;
	ops = ht_method_ops(f->method);
	if (!ops)
		return -EINVAL;
	if (rx->family != f->family)
		return -EINVAL;
	r = rx->reply;
	switch (rx->type) {
	case HT_RXT_ICMP_ERROR:
		/* A socket of one probe: the kernel's demultiplexing named it. */
		if (rx->sock_seq >= 0) {
			r.seq = (uint16_t)rx->sock_seq;
			err = 0;
			break;
		}
		err = identify_quote(f, ops, &rx->quote, &r.seq);
		break;
	case HT_RXT_ECHO_REPLY:
		/* Only the host we ping answers an echo request: the same reply
		 * from any other address is not about our probe (it would show
		 * the sender as the destination). */
		if (f->method != HT_METHOD_ICMP || rx->echo.id != f->icmp_id ||
		    !ht_addr_equal(&r.from, &f->dst))
			return -ENOENT;
		/* The echo data is the request's: header, then the payload. */
		if (rx->echo.payload_len + 8 >= HT_ICMP_TAG_OFF + 4 &&
		    ht_tag_check(f, rx->echo.payload + (HT_ICMP_TAG_OFF - 8)) < 0)
			return -ENOENT;
		r.seq = rx->echo.seq;
		err = 0;
		break;
	case HT_RXT_TCP:
		if (f->method != HT_METHOD_TCP || !ht_addr_equal(&r.from, &f->dst))
			return -ENOENT;
		err = ht_tcp_match_segment(f, rx->seg.sport, rx->seg.dport, rx->seg.tcp_ack,
		                           rx->seg.tcp_flags, &r.seq, &r.kind);
		break;
	case HT_RXT_UDP:
		/* Only our UDP socket hears a service, and only the destination's
		 * answers count. */
		if (f->method != HT_METHOD_UDP || !ht_addr_equal(&r.from, &f->dst))
			return -ENOENT;
		r.kind = HT_REPLY_UDP_REPLY;
		if (rx->sock_seq >= 0) {
			r.seq = (uint16_t)rx->sock_seq;
			err = 0;
			break;
		}
		err = ht_udp_match_payload(f, rx->seg.sport, rx->seg.dport, rx->seg.payload,
		                           rx->seg.payload_len, &r.seq);
		break;
	default:
		return -EINVAL;
	}
	if (err < 0)
		return err;
	*out = r;
	return 0;
}

int ht_reply_decode(const struct ht_flow *f, enum ht_rx_kind kind, const uint8_t *pkt, size_t len,
                    const ht_addr *from, struct ht_reply *out)
{
	struct ht_rx rx;
	int err;

	if (!f || !out || (!pkt && len))
		return -EINVAL;
	if (!ht_method_ops(f->method))
		return -EINVAL;
	/* The kinds a flow of this family can receive (an IPv4 socket kind
	 * for an IPv6 flow is the caller's mistake). */
	switch (kind) {
	case HT_RX_ICMP4:
	case HT_RX_TCP4:
		if (f->family != AF_INET)
			return -EINVAL;
		break;
	case HT_RX_ICMP6:
	case HT_RX_TCP6:
		if (f->family != AF_INET6)
			return -EINVAL;
		break;
	default:
		break;
	}
	err = ht_rx_parse(kind, pkt, len, from, &rx);
	if (err < 0)
		return err;
	return ht_rx_identify(f, &rx, out);
}

int ht_rx_flow_key(const struct ht_rx *rx, struct ht_flow_key *key)
{
	const struct ht_quote *q;
	struct ht_flow_key k;

	if (!rx || !key)
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	k.family = rx->family;
	switch (rx->type) {
	case HT_RXT_ICMP_ERROR:
		q = &rx->quote;
		k.family = q->family;
		k.dst = q->dst;
		switch (q->proto) {
		case IPPROTO_UDP:
		case IPPROTO_TCP:
			if (!q->has_ports)
				return -ENOENT;
			k.method = q->proto == IPPROTO_UDP ? HT_METHOD_UDP : HT_METHOD_TCP;
			k.sport = q->sport;
			break;
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6:
			if ((q->proto == IPPROTO_ICMP) != (q->family == AF_INET) || q->l4_len < 8 ||
			    q->l4[0] != (q->family == AF_INET ? 8 : 128))
				return -ENOENT;
			k.method = HT_METHOD_ICMP;
			k.icmp_id = ht_rd16(q->l4 + 4);
			break;
		default:
			return -ENOENT;
		}
		break;
	case HT_RXT_ECHO_REPLY:
		k.method = HT_METHOD_ICMP;
		k.dst = rx->reply.from;
		k.icmp_id = rx->echo.id;
		break;
	case HT_RXT_TCP:
	case HT_RXT_UDP:
		k.method = rx->type == HT_RXT_TCP ? HT_METHOD_TCP : HT_METHOD_UDP;
		k.dst = rx->reply.from;
		k.sport = rx->seg.dport;
		break;
	default:
		return -ENOENT;
	}
	if (k.family != AF_INET && k.family != AF_INET6)
		return -ENOENT;
	*key = k;
	return 0;
}
