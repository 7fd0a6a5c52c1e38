/*
 * libFuzzer target: reply decoding (outer IPv4/ICMP/ICMPv6/TCP parsing,
 * quoted packet matching, extensions, UDP service answers) against every
 * kind of flow.
 *
 * Input: byte 0 picks the flow and how the rest is presented:
 *   bit 0     family (IPv4 / IPv6)
 *   bits 1-2  method (mod 3)
 *   bit 3     classic mode
 *   bit 4     TCP socket instead of ICMP socket
 *   bit 5     wrap: for IPv4 ICMP, put a valid IPv4 header in front of the
 *             rest and fix the ICMP checksum, so mutations reach the
 *             quote parser instead of dying at the checksum
 *   bit 6     the sender is the destination (IPv6; and UDP answers)
 *   bit 7     (without bit 4) a datagram on our UDP socket: the rest is its
 *             UDP header and payload
 * The rest is the packet.
 */
#include "method/method.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <errno.h>

static void flow_for(uint8_t sel, struct ht_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->family = (sel & 1) ? AF_INET6 : AF_INET;
	f->method = (enum ht_method)((sel >> 1 & 3) % 3);
	f->classic = sel & 8;
	f->src.family = f->dst.family = f->family;
	if (f->family == AF_INET) {
		inet_pton(AF_INET, "198.18.0.1", &f->src.u.v4);
		inet_pton(AF_INET, "198.19.0.9", &f->dst.u.v4);
	} else {
		inet_pton(AF_INET6, "2001:db8::1", &f->src.u.v6);
		inet_pton(AF_INET6, "2001:db8:1::9", &f->dst.u.v6);
	}
	f->sport = 40000;
	f->dport = f->method == HT_METHOD_TCP ? 80 : 33434;
	f->icmp_id = 0x1234;
	f->ncols = 3; /* as from the default -q 3: TCP uses one source port per query */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ht_flow f;
	struct ht_reply r;
	enum ht_rx_kind kind;
	ht_addr from;
	uint8_t *pkt;
	size_t len;
	uint8_t sel;
	uint16_t c;
	int rc;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	flow_for(sel, &f);
	if (f.family == AF_INET)
		kind = (sel & 16) ? HT_RX_TCP4 : HT_RX_ICMP4;
	else
		kind = (sel & 16) ? HT_RX_TCP6 : HT_RX_ICMP6;

	len = size;
	if ((sel & 32) && kind == HT_RX_ICMP4 && size >= 8 && size <= 0xffff - 20) {
		len = size + 20;
		pkt = malloc(len);
		if (!pkt)
			return 0;
		memset(pkt, 0, 20);
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(len >> 8);
		pkt[3] = (uint8_t)len;
		pkt[8] = 64;
		pkt[9] = 1;
		inet_pton(AF_INET, "198.18.5.5", pkt + 12);
		memcpy(pkt + 16, &f.src.u.v4, 4);
		memcpy(pkt + 20, data, size);
		pkt[22] = pkt[23] = 0;
		c = ht_csum(pkt + 20, size);
		pkt[22] = (uint8_t)(c >> 8);
		pkt[23] = (uint8_t)c;
	} else {
		/* An exact-size copy so ASan sees any read past the end. */
		pkt = malloc(len ? len : 1);
		if (!pkt)
			return 0;
		if (len)
			memcpy(pkt, data, len);
	}

	memset(&from, 0, sizeof(from));
	from.family = f.family;
	if (f.family == AF_INET && len >= 20)
		memcpy(&from.u.v4, pkt + 12, 4);
	else if (f.family == AF_INET6)
		from = (sel & 64) ? f.dst : from;
	if (f.family == AF_INET6 && !(sel & 64))
		inet_pton(AF_INET6, "2001:db8:5::5", &from.u.v6);

	/* Bit 7 (without 16): a datagram on our UDP socket instead, from the
	 * destination when bit 6 is set. */
	if ((sel & 128) && !(sel & 16)) {
		kind = HT_RX_UDP;
		if (sel & 64)
			from = f.dst;
	}
	rc = ht_reply_decode(&f, kind, pkt, len, &from, &r);
	if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
		abort();
	if (rc == 0) {
		/* Invariants of a decoded reply. */
		if (r.kind == HT_REPLY_NONE || r.kind > HT_REPLY_OTHER || r.annot > HT_ANN_TYPE)
			abort();
		/* One table: !F-<mtu> exactly for "too big", !<type-code> only
		 * for errors that are not unreachables, and the only errors
		 * decoded are those that can answer a probe. */
		if ((r.annot == HT_ANN_FRAG) != (r.kind == HT_REPLY_PTB))
			abort();
		if (r.annot == HT_ANN_TYPE && r.kind != HT_REPLY_TIME_EXCEEDED &&
		    r.kind != HT_REPLY_PARAM_PROBLEM)
			abort();
		/* Only our UDP socket hears a service, and only from the
		 * destination of a UDP trace. */
		if ((kind == HT_RX_UDP) != (r.kind == HT_REPLY_UDP_REPLY))
			abort();
		if (r.kind == HT_REPLY_UDP_REPLY &&
		    (f.method != HT_METHOD_UDP || !ht_addr_equal(&r.from, &f.dst)))
			abort();
		if (r.kind != HT_REPLY_ECHO_REPLY && r.kind != HT_REPLY_TCP_SYNACK &&
		    r.kind != HT_REPLY_TCP_RST && r.kind != HT_REPLY_UDP_REPLY &&
		    !ht_icmp_is_probe_error(f.family, r.icmp_type, r.icmp_code))
			abort();
		if (r.n_mpls > HT_MAX_MPLS)
			abort();
		if (!memchr(r.if_name, '\0', sizeof(r.if_name)))
			abort();
		if (r.from.family != f.family)
			abort();
	}
	free(pkt);
	return 0;
}
