/*
 * Probe building: a method writes the transport part (its table's build)
 * and, for IPv4, lib/proto the IP header around it (we send with
 * IP_HDRINCL). IPv6 probes are the transport part only; the kernel writes
 * the IPv6 header.
 */
#include "method/method.h"

#include "proto/bytes.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define IP4_HDR 20
#define IP6_HDR 40

static size_t ip_hdr_len(int family)
{
	return family == AF_INET6 ? IP6_HDR : IP4_HDR;
}

size_t ht_probe_min_len(int family, enum ht_method m)
{
	const struct ht_method_ops *ops = ht_method_ops(m);

	if (!ops || (family != AF_INET && family != AF_INET6))
		return 0;
	return ip_hdr_len(family) + ops->min_l4;
}

static const struct ht_method_ops *flow_check(const struct ht_flow *f)
{
	const struct ht_method_ops *ops;
	size_t len;

	if (!f || (f->family != AF_INET && f->family != AF_INET6))
		return NULL;
	if (f->src.family != f->family || f->dst.family != f->family)
		return NULL;
	ops = ht_method_ops(f->method);
	if (!ops)
		return NULL;
	len = f->packet_len ? f->packet_len : ip_hdr_len(f->family) + ht_flow_l4_len(f);
	if (len < ip_hdr_len(f->family) + ops->min_l4 || len > HT_PROBE_MAX_LEN)
		return NULL;
	return ops;
}

int ht_probe_build(const struct ht_flow *f, uint16_t seq, uint8_t ttl, uint8_t *buf, size_t cap)
{
	const struct ht_method_ops *ops = flow_check(f);
	size_t l4len, total;
	int err;

	if (!ops || !buf)
		return -EINVAL;
	l4len = ht_flow_l4_len(f);
	total = f->family == AF_INET ? IP4_HDR + l4len : l4len;
	if (cap < total)
		return -ENOSPC;
	if (f->family == AF_INET) {
		err = ops->build(f, seq, buf + IP4_HDR, l4len);
		if (err < 0)
			return err;
		ht_ip4_header(f, ops->proto4, ht_seq_to_ip_id(seq), ttl, buf, total);
	} else {
		err = ops->build(f, seq, buf, l4len);
		if (err < 0)
			return err;
	}
	return (int)total;
}

/*
 * For unprivileged sockets the kernel writes the headers, computing the
 * same checksum we would (same addresses, ports and, for ICMP, the id the
 * I/O layer put in f->icmp_id), so the payload from a full build works
 * unchanged. TCP connect() sockets send no payload of ours.
 */
int ht_probe_payload(const struct ht_flow *f, uint16_t seq, uint8_t *buf, size_t cap)
{
	const struct ht_method_ops *ops = flow_check(f);
	uint8_t l4[HT_PROBE_MAX_LEN];
	size_t l4len, skip;
	int err;

	if (!ops || !buf)
		return -EINVAL;
	if (f->method == HT_METHOD_TCP)
		return -EOPNOTSUPP;
	l4len = ht_flow_l4_len(f);
	skip = f->method == HT_METHOD_UDP ? 8 : 0;
	if (cap < l4len - skip)
		return -ENOSPC;
	err = ops->build(f, seq, l4, l4len);
	if (err < 0)
		return err;
	if (f->method == HT_METHOD_ICMP)
		ht_wr16(l4 + 2, 0); /* the kernel computes it */
	memcpy(buf, l4 + skip, l4len - skip);
	return (int)(l4len - skip);
}
