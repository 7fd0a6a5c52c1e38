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
 * A random per-run tag rides along where the probe has room (constant for
 * the flow; lib/method/method.h says where).
 *
 * This layer is a leaf: it parses replies without knowing any flow
 * (ht_rx_parse, ht_rx_parse_sock); building probes and matching replies
 * to a flow's probes are lib/method's.
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
	uint32_t tag;          /* random per run (the I/O layer draws it): carried
	                        * where the probe has room and checked in what comes
	                        * back; see lib/method/method.h. 0 writes zeros,
	                        * which read as "no tag" */
};

#define HT_PROBE_MAX_LEN 65000

/*
 * The IPv4 header of a probe, 20 bytes, no options: version 4, IHL 5,
 * the flow's TOS, total length, ip_id, DF per flow, offset 0, ttl, proto,
 * header checksum, the flow's source and destination. Probe building
 * (ht_probe_build, lib/method) writes the transport part around it.
 */
void ht_ip4_header(const struct ht_flow *f, uint8_t proto, uint16_t ip_id, uint8_t ttl,
                   uint8_t *ip, size_t total);

/* How a received packet came in. */
enum ht_rx_kind {
	HT_RX_ICMP4,    /* raw IPPROTO_ICMP socket: full IPv4 packet */
	HT_RX_ICMP6,    /* raw IPPROTO_ICMPV6 socket: ICMPv6 message, no IP header */
	HT_RX_TCP4,     /* raw IPPROTO_TCP socket: full IPv4 packet */
	HT_RX_TCP6,     /* raw IPPROTO_TCP socket (v6): TCP segment, no IP header */
	HT_RX_UDP,      /* a datagram on our UDP socket: its UDP header, rebuilt by
	                 * the caller from the sender's port, then the payload;
	                 * `from` is the sender (either family) */
	/* Datagram sockets, described by struct ht_rx_sock (ht_rx_parse_sock): */
	HT_RX_ERRQUEUE, /* an IP_RECVERR / IPV6_RECVERR error-queue entry */
	HT_RX_PING,     /* a datagram from an ICMP "ping" socket: ICMP header and
	                 * payload of an echo reply, no IP header */
	HT_RX_UDP_DATA, /* a datagram from a UDP socket: the payload only */
};

/*
 * What the kernel gave for one read on a datagram socket (unprivileged
 * mode, and the UDP socket that hears services in either mode). For the
 * error queue, `data` is the part of our own datagram the ICMP error
 * quoted, as the kernel hands it back: from the ICMP header of an echo
 * request (ping socket), from the payload (UDP socket: the kernel strips
 * the UDP header, and msg_name is the quoted destination and port).
 */
struct ht_rx_sock {
	int family;            /* of the socket */
	uint8_t proto;         /* of the socket: IPPROTO_UDP, IPPROTO_ICMP(V6), IPPROTO_TCP */
	const uint8_t *data;
	size_t len;
	ht_addr peer;          /* msg_name: the sender (data), the quoted destination (error queue) */
	uint16_t peer_port;    /* its port (0 for ICMP) */
	uint16_t local_port;   /* our socket's port (the probe's source port; UDP/TCP) */
	int ttl;               /* IP_TTL / IPV6_HOPLIMIT of the reply; 0 unknown */
	int sock_seq;          /* >= 0: a socket of one probe, whose seq the kernel's
	                        * demultiplexing names; -1: the socket of a whole flow */
	/* struct sock_extended_err, error queue only. */
	uint8_t ee_origin;     /* SO_EE_ORIGIN_ICMP (2) / SO_EE_ORIGIN_ICMP6 (3) */
	uint8_t ee_type, ee_code;
	uint32_t ee_info;      /* MTU of a "too big" */
	ht_addr offender;      /* SO_EE_OFFENDER: who sent the ICMP error */
};

/* Origins of struct sock_extended_err the parser accepts (linux/errqueue.h). */
#define HT_EE_ORIGIN_ICMP 2
#define HT_EE_ORIGIN_ICMP6 3

/*
 * What a quoted probe looks like, as far as the packet or the kernel
 * tells: the quoted IP header fields and where the quoted transport
 * bytes are.
 */
struct ht_quote {
	int family;           /* AF_INET / AF_INET6 */
	uint8_t proto;        /* quoted protocol / next header */
	bool has_ip;          /* an IP header was quoted (raw sockets); false for
	                       * the error queue, where the kernel matched the quote
	                       * to our socket and gave no header */
	ht_addr src, dst;     /* src: only with has_ip; dst: header or msg_name */
	uint8_t ttl, tos;     /* with has_ip */
	bool has_ip_id;       /* IPv4 only */
	uint16_t ip_id;
	size_t ip_len;        /* total length the quoted header states (IPv6: 40 +
	                       * payload length); 0 without has_ip */
	const uint8_t *l4;    /* quoted transport header (or payload: see below) */
	size_t l4_len;        /* bytes of it present in the quote (>= 8 with has_ip) */
	bool l4_is_payload;   /* error queue of a UDP socket: l4 is the UDP payload,
	                       * the ports are below */
	bool has_ports;       /* UDP/TCP: ports known (quoted, or from the socket) */
	uint16_t sport, dport;
};

/* What a received packet is, before any flow is considered. */
enum ht_rx_type {
	HT_RXT_ICMP_ERROR,    /* an ICMP/ICMPv6 error that can answer a probe: rx.quote */
	HT_RXT_ECHO_REPLY,    /* rx.echo */
	HT_RXT_TCP,           /* a TCP segment to us: rx.seg */
	HT_RXT_UDP,           /* a UDP datagram to us: rx.seg */
};

struct ht_rx {
	enum ht_rx_kind kind;
	enum ht_rx_type type;
	int family;           /* of the packet (UDP data: of the sender) */
	/*
	 * The reply fields the packet gives without a flow: from, reply_ttl
	 * (IPv4 header or socket), and for ICMP errors kind/annot/type/code,
	 * mtu, quoted_ttl/tos, MPLS and interface extensions; for echo
	 * replies kind and type/code. seq (and a TCP answer's kind) are the
	 * flow's to say: ht_rx_identify (lib/method).
	 */
	struct ht_reply reply;
	struct ht_quote quote;   /* HT_RXT_ICMP_ERROR */
	struct {
		uint16_t id, seq;
		const uint8_t *payload; /* after the 8-byte echo header */
		size_t payload_len;
	} echo;                  /* HT_RXT_ECHO_REPLY */
	struct {
		uint16_t sport, dport;
		const uint8_t *hdr;     /* TCP header (HT_RXT_TCP), UDP header or NULL */
		size_t len;             /* from hdr to the end of the segment */
		uint32_t tcp_seq, tcp_ack;
		uint8_t tcp_flags;
		const uint8_t *payload; /* UDP payload */
		size_t payload_len;
	} seg;                   /* HT_RXT_TCP, HT_RXT_UDP */
	int sock_seq;            /* struct ht_rx_sock's; -1 for raw sockets */
};

/*
 * Parse one received packet, with no flow in mind: validate it (lengths,
 * versions, the ICMPv4 checksum, quoted headers, extension structures) and
 * locate everything in it (struct ht_rx; pointers into pkt). `from` is the
 * sender as the socket reported it (required for IPv6 and HT_RX_UDP,
 * checked against the header for IPv4). Returns 0, -ENOENT for a well
 * formed packet that cannot be about any probe (an ICMP type that answers
 * none, a fragment, a quote of a fragment, another IP protocol), or
 * -EINVAL when malformed, truncated or inconsistent. Kinds from
 * HT_RX_ERRQUEUE on take ht_rx_parse_sock instead (-EINVAL here).
 */
int ht_rx_parse(enum ht_rx_kind kind, const uint8_t *pkt, size_t len, const ht_addr *from,
                struct ht_rx *rx);

/* The same for what a datagram socket gave (HT_RX_ERRQUEUE, HT_RX_PING,
 * HT_RX_UDP_DATA): an error-queue entry from the network (ICMP origin, an
 * error that answers probes), a ping socket's echo reply, a UDP payload. */
int ht_rx_parse_sock(enum ht_rx_kind kind, const struct ht_rx_sock *m, struct ht_rx *rx);

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
