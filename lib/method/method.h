/*
 * Probe methods as function tables. Each method writes its transport
 * header and payload (the IP header, if any, is the proto layer's job),
 * recognises its own probes inside ICMP error quotes, and for TCP also
 * recognises direct answers from the destination.
 *
 * Sequence numbers are mapped into header fields as follows (seq is the
 * 16-bit number the core gives each probe):
 *   IPv4 IP ID            = seq + 1 (mod 2^16). Linux replaces an IP ID
 *                           of 0 with a random one on IP_HDRINCL sockets,
 *                           so seq 0 must not map to 0; seq 0xffff
 *                           therefore carries no IP ID evidence.
 *   UDP checksum (Paris)  = seq + 1, and 0xffff for seq 0xffff. 0 means
 *                           "no checksum" and is never produced; 0xfffe
 *                           and 0xffff share 0xffff, so the payload or IP
 *                           ID decides between them.
 *   TCP sequence number   = tag << 16 | seq, tag a constant of the flow.
 */
#ifndef HT_METHOD_H
#define HT_METHOD_H

#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a quoted probe looks like once the IP layer has been peeled off. */
struct ht_quote {
	int family;
	const uint8_t *l4; /* quoted transport header */
	size_t l4_len;     /* bytes of it present in the quote (>= 8) */
	bool has_ip_id;    /* IPv4 only */
	uint16_t ip_id;
};

struct ht_method_ops {
	enum ht_method method;
	uint8_t proto4, proto6; /* IP protocol / next header of the probe */
	size_t min_l4;          /* smallest transport header + payload */
	/* Write the transport header and payload (len bytes) for probe seq. */
	int (*build)(const struct ht_flow *f, uint16_t seq, uint8_t *l4, size_t len);
	/* 0 and *seq when the quote is one of our probes, -ENOENT when not,
	 * -EINVAL when the quote is internally inconsistent. */
	int (*match_quote)(const struct ht_flow *f, const struct ht_quote *q, uint16_t *seq);
};

const struct ht_method_ops *ht_method_ops(enum ht_method m);

extern const struct ht_method_ops ht_method_udp;
extern const struct ht_method_ops ht_method_icmp;
extern const struct ht_method_ops ht_method_tcp;

static inline uint16_t ht_seq_to_ip_id(uint16_t seq)
{
	return (uint16_t)(seq + 1u);
}

/* True when the IPv4 IP ID carries sequence number evidence. */
static inline bool ht_ip_id_to_seq(const struct ht_quote *q, uint16_t *seq)
{
	if (!q->has_ip_id || q->ip_id == 0)
		return false;
	*seq = (uint16_t)(q->ip_id - 1u);
	return true;
}

/* Transport length a flow's probes have (packet_len minus the IP header). */
size_t ht_flow_l4_len(const struct ht_flow *f);

/* Pseudo-header sum for a transport segment of this flow. */
uint32_t ht_flow_pseudo(const struct ht_flow *f, uint8_t proto, size_t l4_len);

/* TCP: the constant upper half of our sequence numbers, and the matcher
 * for SYN-ACK / RST segments (tcp points at the TCP header). */
uint16_t ht_tcp_tag(const struct ht_flow *f);
int ht_tcp_match_reply(const struct ht_flow *f, const uint8_t *tcp, size_t len, uint16_t *seq,
                       enum ht_reply_kind *kind);

/* UDP: a service at the destination answered a probe (udp points at the
 * UDP header of its datagram). It names the probe by the first payload
 * word, which echo services and DNS servers (the query ID) send back; in
 * classic mode the port it answers from names it. */
int ht_udp_match_reply(const struct ht_flow *f, const uint8_t *udp, size_t len, uint16_t *seq);

/* ICMP: the checksum our echo request for seq carries. */
uint16_t ht_icmp_probe_csum(const struct ht_flow *f, uint16_t seq);

#endif
