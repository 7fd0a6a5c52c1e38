/*
 * libFuzzer target: what datagram sockets hand over (unprivileged mode,
 * and the UDP socket of either mode) through the one decode and match
 * path: ht_rx_parse_sock (error-queue entries, ping-socket echo replies,
 * UDP data), ht_rx_flow_key, ht_rx_identify against every kind of flow.
 *
 * Input: a 12-byte header, then the bytes the socket read.
 *   byte 0  bit 0     family (IPv4 / IPv6)
 *           bits 1-2  method (mod 3)
 *           bit 3     classic mode
 *           bits 4-5  kind: 0 and 3 error queue, 1 ping socket, 2 UDP data
 *           bit 6     a socket of one probe (seq 5) rather than of the flow
 *           bit 7     msg_name is the destination (else another host)
 *   byte 1  ee_origin   byte 2  ee_type   byte 3  ee_code
 *   bytes 4-7   ee_info (big-endian)
 *   bytes 8-9   msg_name port (big-endian)
 *   byte 10     reply TTL
 *   byte 11     0: flow tag 0, else tag 0x1badcafe
 * tests/fuzz/make-corpus.sh turns captured ICMP errors and echo replies
 * into seeds of this form (corpus/fuzz_errqueue/cap-*).
 */
#include "method/method.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HDR 12

static void flow_for(uint8_t sel, uint8_t tagsel, struct ht_flow *f)
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
	f->ncols = 3;
	f->tag = tagsel ? 0x1badcafeu : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum ht_rx_kind kinds[4] = {HT_RX_ERRQUEUE, HT_RX_PING, HT_RX_UDP_DATA,
	                                         HT_RX_ERRQUEUE};
	struct ht_flow f;
	struct ht_rx_sock d;
	struct ht_rx rx;
	struct ht_flow_key key;
	struct ht_reply r;
	enum ht_rx_kind kind;
	uint8_t *buf;
	uint8_t sel;
	int rc;

	if (size < HDR)
		return 0;
	sel = data[0];
	flow_for(sel, data[11], &f);
	kind = kinds[sel >> 4 & 3];

	memset(&d, 0, sizeof(d));
	d.family = f.family;
	d.proto = f.method == HT_METHOD_TCP   ? IPPROTO_TCP
	          : f.method == HT_METHOD_UDP ? IPPROTO_UDP
	          : f.family == AF_INET       ? IPPROTO_ICMP
	                                      : IPPROTO_ICMPV6;
	d.ee_origin = data[1];
	d.ee_type = data[2];
	d.ee_code = data[3];
	d.ee_info = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 |
	            data[7];
	d.peer_port = (uint16_t)(data[8] << 8 | data[9]);
	d.ttl = data[10];
	d.local_port = f.sport;
	d.sock_seq = (sel & 64) ? 5 : -1;
	d.peer = f.dst;
	if (!(sel & 128)) {
		if (f.family == AF_INET)
			inet_pton(AF_INET, "198.18.5.5", &d.peer.u.v4);
		else
			inet_pton(AF_INET6, "2001:db8:5::5", &d.peer.u.v6);
	}
	d.offender.family = f.family;
	if (f.family == AF_INET)
		inet_pton(AF_INET, "198.18.5.6", &d.offender.u.v4);
	else
		inet_pton(AF_INET6, "2001:db8:5::6", &d.offender.u.v6);

	/* An exact-size copy so ASan sees any read past the end. */
	d.len = size - HDR;
	buf = malloc(d.len ? d.len : 1);
	if (!buf)
		return 0;
	if (d.len)
		memcpy(buf, data + HDR, d.len);
	d.data = buf;

	rc = ht_rx_parse_sock(kind, &d, &rx);
	if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
		abort();
	if (rc == 0) {
		rc = ht_rx_flow_key(&rx, &key);
		if (rc != 0 && rc != -ENOENT)
			abort();
		if (rc == 0 && key.family != f.family)
			abort();
		rc = ht_rx_identify(&f, &rx, &r);
		if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
			abort();
	}
	if (rc == 0 && (sel & 64) == 0 && kind == HT_RX_ERRQUEUE) {
		/* A flow's socket: the quote named our probe, so its key is
		 * our flow's. */
		if (ht_rx_flow_key(&rx, &key) != 0 || key.method != f.method ||
		    !ht_addr_equal(&key.dst, &f.dst))
			abort();
	}
	if (rc == 0) {
		/* Invariants of a decoded reply. */
		if (r.kind == HT_REPLY_NONE || r.kind > HT_REPLY_OTHER || r.annot > HT_ANN_TYPE)
			abort();
		if ((r.annot == HT_ANN_FRAG) != (r.kind == HT_REPLY_PTB))
			abort();
		if (kind == HT_RX_ERRQUEUE &&
		    (!ht_icmp_is_probe_error(f.family, r.icmp_type, r.icmp_code) ||
		     !ht_addr_equal(&r.from, &d.offender) || r.seq != ((sel & 64) ? 5 : r.seq)))
			abort();
		if (kind == HT_RX_PING &&
		    (r.kind != HT_REPLY_ECHO_REPLY || f.method != HT_METHOD_ICMP ||
		     !ht_addr_equal(&r.from, &f.dst)))
			abort();
		if (kind == HT_RX_UDP_DATA &&
		    (r.kind != HT_REPLY_UDP_REPLY || f.method != HT_METHOD_UDP ||
		     !ht_addr_equal(&r.from, &f.dst)))
			abort();
		if (r.has_quoted_ttl || r.n_mpls || r.has_ifinfo)
			abort(); /* the kernel gives neither quoted header nor extensions */
		if (r.reply_ttl != d.ttl)
			abort();
	}
	free(buf);
	return 0;
}
