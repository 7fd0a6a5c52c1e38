/*
 * Packet building and reply decoding: pure (buf, len) code, no sockets,
 * no clocks, no globals. Everything here is fuzzed.
 *
 * A "flow" is what stays constant for a whole trace. Flow-stable (Paris)
 * probing keeps every field that load balancers hash on constant within
 * the flow and carries the probe sequence number in fields they do not
 * hash:
 *   UDP  : ports fixed; seq in the UDP checksum (payload word tweaked so
 *          the checksum comes out as wanted) and in the IPv4 IP ID.
 *   ICMP : echo id fixed; seq in the echo sequence; a payload word
 *          compensates so the ICMP checksum stays constant.
 *   TCP  : ports fixed; seq in the TCP sequence number and IPv4 IP ID.
 * Classic mode (flow->classic) varies the UDP destination port
 * (port + seq) like old traceroute, and the TCP/ICMP equivalents.
 */
#ifndef HT_PROTO_H
#define HT_PROTO_H

#include "hoptrace/hoptrace.h"

#include <stddef.h>
#include <stdint.h>

struct ht_flow {
	int family;            /* AF_INET / AF_INET6 */
	enum ht_method method;
	ht_addr src, dst;      /* src must be known (needed for checksums) */
	uint16_t sport, dport; /* UDP/TCP ports (dport: base port in classic mode) */
	uint16_t icmp_id;      /* echo identifier */
	uint8_t tos;
	bool dont_fragment;
	bool classic;
	uint8_t ncols;         /* TCP, flow-stable: query columns (cfg nqueries), each
	                        * with its own source port sport + column; 0 = 1 */
	size_t packet_len;     /* total IP packet length incl. IP header */
};

/* Minimum/maximum total packet lengths the builders accept. */
size_t ht_probe_min_len(int family, enum ht_method m);
#define HT_PROBE_MAX_LEN 65000

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

/* How a received packet came in. */
enum ht_rx_kind {
	HT_RX_ICMP4,   /* raw IPPROTO_ICMP socket: full IPv4 packet */
	HT_RX_ICMP6,   /* raw IPPROTO_ICMPV6 socket: ICMPv6 message, no IP header */
	HT_RX_TCP4,    /* raw IPPROTO_TCP socket: full IPv4 packet */
	HT_RX_TCP6,    /* raw IPPROTO_TCP socket (v6): TCP segment, no IP header */
	HT_RX_UDP,     /* a datagram on our UDP socket: its UDP header, rebuilt by
	                * the I/O layer from the sender's port, then the payload;
	                * `from` is the sender (either family) */
};

/*
 * Decode one received packet against a flow. On success fills *out
 * (seq, from, kind, annot, type/code, reply_ttl when known from the IPv4
 * header, quoted_ttl/tos, mtu, MPLS and interface extensions) and returns
 * 0. Returns -ENOENT when the packet is well formed but not ours (other
 * traffic, other flows), -EINVAL when malformed/truncated/inconsistent.
 * `from` is the sender as the socket reported it (used for IPv6, checked
 * against the header for IPv4). rx_us is left to the caller. On error
 * *out is left untouched. The rules for recognising our probes in quotes
 * (including NAT-altered ones) are in lib/method/{udp,icmp,tcp}.c.
 */
int ht_reply_decode(const struct ht_flow *f, enum ht_rx_kind kind,
                    const uint8_t *pkt, size_t len, const ht_addr *from,
                    struct ht_reply *out);

/*
 * Kind and annotation of an ICMP/ICMPv6 message of this type and code
 * (also sets icmp_type/icmp_code): the one table behind every socket type,
 * raw or unprivileged, so a reply reads the same either way.
 */
void ht_icmp_classify(int family, uint8_t type, uint8_t code, struct ht_reply *r);

/*
 * Whether an ICMP/ICMPv6 error of this type and code can be about a probe
 * and answer it: destination unreachable, packet too big, time exceeded
 * in transit or in reassembly, parameter problem. Anything else quoting a
 * probe (a redirect, which the router sends while still forwarding the
 * probe; source quench) is not an answer and is ignored, whichever socket
 * it came through.
 */
bool ht_icmp_is_probe_error(int family, uint8_t type, uint8_t code);

/*
 * ICMP extensions (RFC 4884 structure, RFC 4950 MPLS, RFC 5837 interface
 * information) found after the quoted datagram. `icmp` points at the ICMP
 * header, len covers the whole ICMP message. Fills the extension fields
 * of *out; returns 0 (also when there are none) or -EINVAL on lying lengths
 * (then no extension fields are set).
 */
int ht_icmp_ext_parse(int family, const uint8_t *icmp, size_t len, struct ht_reply *out);

/* Internet checksum helpers. Sums are of big-endian 16-bit words; only
 * the last piece added may have an odd length. ht_csum_fold() and
 * ht_csum() return the value for a checksum field as a host-order number
 * (store it big-endian); a buffer that verifies gives ht_csum() == 0. */
uint32_t ht_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t ht_csum_fold(uint32_t sum);
uint16_t ht_csum(const void *data, size_t len);
/* Pseudo-header partial sum for UDP/TCP/ICMPv6 over IPv4/IPv6. */
uint32_t ht_csum_pseudo(const ht_addr *src, const ht_addr *dst, uint8_t proto, uint32_t len);

#endif
