/*
 * Probe methods as function tables. Each method writes its transport
 * header and payload (the IP header, if any, is the proto layer's job),
 * recognises its own probes inside ICMP error quotes, and for TCP also
 * recognises direct answers from the destination. This layer also ties a
 * parsed reply (struct ht_rx, lib/proto) to a flow and a probe
 * (ht_rx_identify), and says which flow a reply is about without knowing
 * any (ht_rx_flow_key), for demultiplexing many traces on one socket.
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
 *   TCP sequence number   = tag << 16 | seq, tag (ht_tcp_tag) a constant
 *                           of the flow.
 *
 * The flow's random tag (struct ht_flow.tag, drawn per run by the I/O
 * layer) travels where the probe has room, constant for the whole flow:
 *   TCP   the upper half of the sequence number: ht_tcp_tag() is the
 *         tag's upper 16 bits mixed with the ports (tag 0: the ports'
 *         constant alone);
 *   UDP   payload bytes 14-17 (transport offset 22, after the checksum
 *         tweak word), when the probe is 26 transport bytes or longer;
 *   ICMP  payload bytes 2-5 (transport offset 10, after the compensation
 *         word), when the probe is 14 transport bytes or longer; the
 *         constant checksum includes it.
 * A quote or echo reply that includes the tag word must carry the flow's
 * tag; a word of zeros reads as padding (RFC 4884 pads an 8-byte quote
 * with zeros), i.e. no tag, and the other witnesses decide as for a quote
 * of 8 bytes. A TCP quote with another tag is still accepted on IPv4 when
 * the IP ID names a probe (firewalls that randomise initial sequence
 * numbers); SYN-ACK and RST answers must acknowledge the tag.
 */
#ifndef HT_METHOD_H
#define HT_METHOD_H

#include "proto/proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ht_method_ops {
	enum ht_method method;
	uint8_t proto4, proto6; /* IP protocol / next header of the probe */
	size_t min_l4;          /* smallest transport header + payload */
	/* Write the transport header and payload (len bytes) for probe seq. */
	int (*build)(const struct ht_flow *f, uint16_t seq, uint8_t *l4, size_t len);
	/* 0 and *seq when the quote is one of our probes, -ENOENT when not,
	 * -EINVAL when the quote is internally inconsistent. The caller has
	 * checked the quoted protocol, destination and (with has_ip) source;
	 * l4_len is >= 8 when has_ip, anything without. */
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

/* Minimum total packet length (IP header included) a method accepts. */
size_t ht_probe_min_len(int family, enum ht_method m);

/*
 * Build probe `seq` with `ttl`.
 *  IPv4: a full IP packet (for a raw socket with IP_HDRINCL); the TTL is in it.
 *  IPv6: the transport header and payload only (raw IPv6 sockets take no
 *        IP header; the I/O layer sets the hop limit per packet). The
 *        transport checksum is computed here over the pseudo-header.
 * Returns the number of bytes written, or a negative errno.
 */
int ht_probe_build(const struct ht_flow *f, uint16_t seq, uint8_t ttl,
                   uint8_t *buf, size_t cap);

/*
 * Payload for unprivileged sockets, where the kernel writes the headers
 * (ICMP datagram socket: echo header + payload; UDP socket: payload only).
 * For ICMP the 8-byte echo header is included with checksum 0 (the kernel
 * fills it and the id) and the payload word is chosen so the checksum the
 * kernel computes stays constant across seq.
 */
int ht_probe_payload(const struct ht_flow *f, uint16_t seq, uint8_t *buf, size_t cap);

/*
 * Is a parsed reply (ht_rx_parse / ht_rx_parse_sock) about one of this
 * flow's probes, and which? On success fills *out (the parser's reply
 * fields, seq, and for TCP answers SYN-ACK or RST) and returns 0; -ENOENT
 * when it is not ours (other traffic, other flows, a wrong tag), -EINVAL
 * when the flow's family is not the packet's or the quote contradicts
 * itself. On error *out is left untouched. rx_us is the caller's.
 */
int ht_rx_identify(const struct ht_flow *f, const struct ht_rx *rx, struct ht_reply *out);

/*
 * Parse and identify in one call (ht_rx_parse + ht_rx_identify): 0,
 * -ENOENT (well formed, not ours) or -EINVAL (malformed, truncated,
 * inconsistent). `from` is the sender as the socket reported it (used
 * for IPv6, checked against the header for IPv4).
 */
int ht_reply_decode(const struct ht_flow *f, enum ht_rx_kind kind,
                    const uint8_t *pkt, size_t len, const ht_addr *from,
                    struct ht_reply *out);

/*
 * The identity of the probe a parsed reply is about, without a flow:
 * enough to find the flow among many sharing one socket. For an ICMP
 * error, from its quote: the quoted protocol, destination, UDP/TCP source
 * port or echo id. For a direct answer (echo reply, SYN-ACK/RST, UDP
 * datagram): its sender is the probe's destination, its destination port
 * the probe's source port, an echo reply's id the probe's. The source
 * port is the packet's: a flow-stable TCP flow owns sport .. sport +
 * ncols - 1, a classic TCP flow sport + seq, so index every port a flow
 * sends from. Returns 0, or -ENOENT when there is nothing to key on (a
 * quote of another protocol, too short for its ports or id, not an echo
 * request). Fields that do not apply are 0.
 */
struct ht_flow_key {
	int family;            /* AF_INET / AF_INET6 */
	enum ht_method method;
	ht_addr dst;           /* the probe's destination */
	uint16_t sport;        /* UDP/TCP: the probe's source port */
	uint16_t icmp_id;      /* ICMP: the probe's echo id */
};
int ht_rx_flow_key(const struct ht_rx *rx, struct ht_flow_key *key);

/*
 * The flow table (flowtab.c): flow keys to the traces they belong to, in
 * O(1). A key names a flow by family, method, destination and, for ICMP,
 * the echo id, else the source port (the other field is ignored). A key
 * found is a candidate: ht_rx_identify() against that trace's flow decides.
 */
typedef struct ht_flowtab ht_flowtab;
int ht_flowtab_new(ht_flowtab **out);
void ht_flowtab_free(ht_flowtab *t);
/* -EEXIST when the key is taken (two traces must not share a flow). */
int ht_flowtab_add(ht_flowtab *t, const struct ht_flow_key *key, void *user);
int ht_flowtab_del(ht_flowtab *t, const struct ht_flow_key *key);
void *ht_flowtab_get(const ht_flowtab *t, const struct ht_flow_key *key);
size_t ht_flowtab_count(const ht_flowtab *t);
/* The keys a flow's probes carry (ICMP: 1; UDP: 1; TCP: one per source
 * port, ncols or, classic, nprobes); returns how many or -ENOSPC. */
int ht_flow_keys(const struct ht_flow *f, int nprobes, struct ht_flow_key *keys, int max);

/* Transport length a flow's probes have (packet_len minus the IP header). */
size_t ht_flow_l4_len(const struct ht_flow *f);

/* Pseudo-header sum for a transport segment of this flow. */
uint32_t ht_flow_pseudo(const struct ht_flow *f, uint8_t proto, size_t l4_len);

/* TCP: the constant upper half of our sequence numbers, and the matcher
 * for SYN-ACK / RST segments (tcp points at the TCP header). */
uint16_t ht_tcp_tag(const struct ht_flow *f);
int ht_tcp_match_reply(const struct ht_flow *f, const uint8_t *tcp, size_t len, uint16_t *seq,
                       enum ht_reply_kind *kind);
/* The same from a parsed segment's ports, acknowledgement and flags. */
int ht_tcp_match_segment(const struct ht_flow *f, uint16_t sport, uint16_t dport, uint32_t ack,
                         uint8_t flags, uint16_t *seq, enum ht_reply_kind *kind);

/* UDP: a service at the destination answered a probe (udp points at the
 * UDP header of its datagram). It names the probe by the first payload
 * word, which echo services and DNS servers (the query ID) send back; in
 * classic mode the port it answers from names it. */
int ht_udp_match_reply(const struct ht_flow *f, const uint8_t *udp, size_t len, uint16_t *seq);
/* The same from a datagram's ports and payload. */
int ht_udp_match_payload(const struct ht_flow *f, uint16_t sport, uint16_t dport,
                         const uint8_t *payload, size_t len, uint16_t *seq);

/* ICMP: the checksum our echo request for seq carries. */
uint16_t ht_icmp_probe_csum(const struct ht_flow *f, uint16_t seq);

/* ICMP: 0 when an echo message (header first, len bytes) carries the
 * flow's tag or no tag (too short, or zeros), -ENOENT for another tag. */
int ht_icmp_check_tag(const struct ht_flow *f, const uint8_t *m, size_t len);

/* Where the tag sits in a probe's transport part (when it has room). */
#define HT_UDP_TAG_OFF 22
#define HT_ICMP_TAG_OFF 10

/* 0 when a 4-byte tag word read from a quote or reply is the flow's tag,
 * or zeros (no tag); -ENOENT otherwise. */
int ht_tag_check(const struct ht_flow *f, const uint8_t *word);

#endif
