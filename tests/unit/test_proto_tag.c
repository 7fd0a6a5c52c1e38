/*
 * The flow's random tag (struct ht_flow.tag): where each method carries
 * it, that replies quoting or echoing another tag are rejected, that
 * quotes too short to hold it (RFC 792, 8 bytes) or zero padded still
 * match on the other witnesses. Also the flow-free side of decoding:
 * ht_rx_flow_key on golden packets, and ht_rx_parse_sock for what
 * unprivileged sockets read (error queue, ping socket, UDP data).
 */
#include "proto_test_util.h"

#define TAG_A 0x1badcafeu
#define TAG_B 0x5eed1234u

static const int fams[] = {AF_INET, AF_INET6};
static const enum ht_method methods[] = {HT_METHOD_UDP, HT_METHOD_ICMP, HT_METHOD_TCP};

static void tagged_flow(struct ht_flow *f, int family, enum ht_method m, bool classic,
                        uint32_t tag)
{
	tflow(f, family, m, classic);
	f->tag = tag;
}

/* A time exceeded quoting probe seq of flow f: the whole probe, or its
 * first 8 transport bytes (RFC 792), or those padded with zeros to the
 * probe's length (RFC 4884 padding). */
enum qcut { Q_WHOLE, Q_8, Q_8_PADDED };

static size_t quoted_error(const struct ht_flow *f, uint16_t seq, enum qcut cut, uint8_t *pkt)
{
	uint8_t q[256];
	size_t ihl = f->family == AF_INET ? 20 : 40;
	size_t n = wire_probe(f, seq, 1, q, sizeof(q));

	if (cut == Q_8)
		n = ihl + 8;
	else if (cut == Q_8_PADDED)
		memset(q + ihl + 8, 0, n - ihl - 8);
	return mk_time_exceeded(f, pkt, q, n);
}

/* An echo reply from the destination to probe seq of flow f (its data
 * is the request's). */
static size_t echo_reply(const struct ht_flow *f, uint16_t seq, uint8_t *pkt)
{
	uint8_t l4[128];
	uint8_t ip[256];
	int n = ht_probe_build(f, seq, 64, ip, sizeof(ip));
	size_t off = f->family == AF_INET ? 20 : 0;

	assert_true(n > 0);
	memcpy(l4, ip + off, (size_t)n - off);
	n -= (int)off;
	if (f->family == AF_INET)
		return mk_icmp4(pkt, DST4, SRC4, 0, 0, (uint32_t)f->icmp_id << 16 | seq, l4 + 8,
		                (size_t)n - 8);
	return mk_icmp6(pkt, 129, 0, (uint32_t)f->icmp_id << 16 | seq, l4 + 8, (size_t)n - 8);
}

static int decode_echo(const struct ht_flow *f, const uint8_t *pkt, size_t n, struct ht_reply *r)
{
	return ht_reply_decode(f, f->family == AF_INET ? HT_RX_ICMP4 : HT_RX_ICMP6, pkt, n, &f->dst,
	                       r);
}

/* A SYN-ACK (or RST+ACK) from the destination acknowledging ack. */
static size_t tcp_answer(const struct ht_flow *f, uint16_t dport, uint32_t ack, uint8_t flags,
                         uint8_t *out)
{
	uint8_t *t = f->family == AF_INET ? out + 20 : out;

	memset(out, 0, 60);
	put16(t, f->dport);
	put16(t + 2, dport);
	put16(t + 8, (uint16_t)(ack >> 16));
	put16(t + 10, (uint16_t)ack);
	t[12] = 5 << 4;
	t[13] = flags;
	if (f->family == AF_INET6)
		return 20;
	out[0] = 0x45;
	put16(out + 2, 40);
	out[8] = 61;
	out[9] = 6;
	memcpy(out + 12, &f->dst.u.v4, 4);
	memcpy(out + 16, &f->src.u.v4, 4);
	put16(out + 10, ref_fold(ref_sum(0, out, 20)));
	return 40;
}

static int decode_tcp(const struct ht_flow *f, const uint8_t *p, size_t n, struct ht_reply *r)
{
	return ht_reply_decode(f, f->family == AF_INET ? HT_RX_TCP4 : HT_RX_TCP6, p, n, &f->dst, r);
}

/* Where the tag is in the built probe, per method (transport offsets). */
static void test_tag_in_probe(void **state)
{
	struct ht_flow f;
	uint8_t buf[256];
	int n;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		size_t off = fams[i] == AF_INET ? 20 : 0;

		tagged_flow(&f, fams[i], HT_METHOD_UDP, false, TAG_A);
		n = ht_probe_build(&f, 5, 3, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(get16(buf + off + 22), TAG_A >> 16);
		assert_int_equal(get16(buf + off + 24), TAG_A & 0xffff);
		/* the Paris checksum still names the seq, and verifies */
		assert_int_equal(get16(buf + off + 6), 6);
		assert_int_equal(ref_fold(ref_sum(ref_pseudo(&f, 17, (size_t)n - off), buf + off,
		                                  (size_t)n - off)),
		                 0);

		tagged_flow(&f, fams[i], HT_METHOD_ICMP, false, TAG_A);
		n = ht_probe_build(&f, 5, 3, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(get16(buf + off + 10), TAG_A >> 16);
		assert_int_equal(get16(buf + off + 12), TAG_A & 0xffff);

		tagged_flow(&f, fams[i], HT_METHOD_TCP, false, TAG_A);
		n = ht_probe_build(&f, 5, 3, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(get16(buf + off + 4), ht_tcp_tag(&f));
		assert_int_equal(ht_tcp_tag(&f), (0x4854 ^ 40000 ^ 80 ^ (TAG_A >> 16)) & 0xffff);
		assert_int_equal(get16(buf + off + 6), 5);
	}
}

/* The tag is constant for the flow: every field load balancers hash stays
 * put across seq (ICMP: the checksum, tag included; UDP: ports; TCP:
 * ports), and a different tag changes the ICMP checksum constant. */
static void test_tag_flow_stable(void **state)
{
	struct ht_flow f, g;
	uint8_t a[256], b[256];
	uint16_t c0;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		size_t off = fams[i] == AF_INET ? 20 : 0;

		tagged_flow(&f, fams[i], HT_METHOD_ICMP, false, TAG_A);
		assert_true(ht_probe_build(&f, 0, 3, a, sizeof(a)) > 0);
		c0 = get16(a + off + 2);
		for (uint16_t s = 1; s < 2000; s += 97) {
			int n = ht_probe_build(&f, s, 3, b, sizeof(b));
			assert_true(n > 0);
			assert_int_equal(get16(b + off + 2), c0);
			/* and it verifies */
			uint64_t acc = fams[i] == AF_INET6 ? ref_pseudo(&f, 58, (size_t)n - off) : 0;
			assert_int_equal(ref_fold(ref_sum(acc, b + off, (size_t)n - off)), 0);
		}
		tagged_flow(&g, fams[i], HT_METHOD_ICMP, false, TAG_B);
		assert_int_not_equal(ht_icmp_probe_csum(&f, 0), ht_icmp_probe_csum(&g, 0));
	}
}

/* Whole quotes: our tag matches, another is rejected, every method,
 * family and mode. */
static void test_tag_quotes(void **state)
{
	struct ht_flow f, other;
	struct ht_reply r;
	uint8_t pkt[512];
	size_t n;

	(void)state;
	for (size_t i = 0; i < 2; i++)
		for (size_t m = 0; m < 3; m++)
			for (int classic = 0; classic < 2; classic++) {
				tagged_flow(&f, fams[i], methods[m], classic, TAG_A);
				tagged_flow(&other, fams[i], methods[m], classic, TAG_B);
				n = quoted_error(&f, 9, Q_WHOLE, pkt);
				assert_int_equal(decode(&f, pkt, n, &r), 0);
				assert_int_equal(r.seq, 9);
				/* The same probe of another run (tag B) */
				n = quoted_error(&other, 9, Q_WHOLE, pkt);
				if (methods[m] == HT_METHOD_TCP && fams[i] == AF_INET) {
					/* TCP/IPv4: the IP ID still names the probe (firewalls
					 * that randomise ISNs); without it, rejected. */
					assert_int_equal(decode(&f, pkt, n, &r), 0);
					pkt[28 + 4] = pkt[28 + 5] = 0;
					/* fix the ICMP checksum for the edit */
					pkt[22] = pkt[23] = 0;
					put16(pkt + 22, ref_fold(ref_sum(0, pkt + 20, n - 20)));
				}
				if (methods[m] == HT_METHOD_TCP && classic)
					continue; /* classic TCP: the port names the probe */
				assert_int_equal(decode(&f, pkt, n, &r), -ENOENT);
			}
}

/* RFC 792 quotes (8 bytes) carry no tag and are accepted; so are quotes
 * of 8 bytes zero padded to the probe's length (RFC 4884). */
static void test_tag_short_quotes(void **state)
{
	struct ht_flow f, other;
	struct ht_reply r;
	uint8_t pkt[512];
	size_t n;

	(void)state;
	for (size_t i = 0; i < 2; i++)
		for (size_t m = 0; m < 3; m++) {
			tagged_flow(&f, fams[i], methods[m], false, TAG_A);
			n = quoted_error(&f, 12, Q_8, pkt);
			assert_int_equal(decode(&f, pkt, n, &r), 0);
			assert_int_equal(r.seq, 12);
			n = quoted_error(&f, 12, Q_8_PADDED, pkt);
			assert_int_equal(decode(&f, pkt, n, &r), 0);
			assert_int_equal(r.seq, 12);
		}
	/* UDP: the first 8 bytes do not depend on the tag, so another run's
	 * 8-byte quote passes (as before the tag); a whole one does not. */
	for (size_t i = 0; i < 2; i++) {
		tagged_flow(&f, fams[i], HT_METHOD_UDP, false, TAG_A);
		tagged_flow(&other, fams[i], HT_METHOD_UDP, false, TAG_B);
		n = quoted_error(&other, 12, Q_8, pkt);
		assert_int_equal(decode(&f, pkt, n, &r), 0);
		n = quoted_error(&other, 12, Q_WHOLE, pkt);
		assert_int_equal(decode(&f, pkt, n, &r), -ENOENT);
	}
	/* ICMPv6: the tag is in the constant checksum, so even an 8-byte quote
	 * of another run is rejected (IPv4 forgives the checksum when the IP ID
	 * names the probe: see test_nat_robust). */
	tagged_flow(&f, AF_INET6, HT_METHOD_ICMP, false, TAG_A);
	tagged_flow(&other, AF_INET6, HT_METHOD_ICMP, false, TAG_B);
	n = quoted_error(&other, 12, Q_8, pkt);
	assert_int_equal(decode(&f, pkt, n, &r), -ENOENT);
}

/* Echo replies echo the request's data, tag included. */
static void test_tag_echo(void **state)
{
	struct ht_flow f, other;
	struct ht_reply r;
	uint8_t pkt[512];
	size_t n;

	(void)state;
	for (size_t i = 0; i < 2; i++)
		for (int classic = 0; classic < 2; classic++) {
			tagged_flow(&f, fams[i], HT_METHOD_ICMP, classic, TAG_A);
			tagged_flow(&other, fams[i], HT_METHOD_ICMP, classic, TAG_B);
			n = echo_reply(&f, 33, pkt);
			assert_int_equal(decode_echo(&f, pkt, n, &r), 0);
			assert_int_equal(r.seq, 33);
			assert_int_equal(r.kind, HT_REPLY_ECHO_REPLY);
			n = echo_reply(&other, 33, pkt);
			assert_int_equal(decode_echo(&f, pkt, n, &r), -ENOENT);
		}
	/* An echo reply too short to hold the tag (a host that truncates)
	 * names the probe by id and seq alone. */
	{
		uint8_t body[2] = {0, 0};
		ht_addr dst4 = taddr(DST4);

		tagged_flow(&f, AF_INET, HT_METHOD_ICMP, false, TAG_A);
		n = mk_icmp4(pkt, DST4, SRC4, 0, 0, 0x12340021, body, sizeof(body));
		assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP4, pkt, n, &dst4, &r), 0);
		assert_int_equal(r.seq, 33);
	}
}

/* TCP answers acknowledge the tag: another run's are rejected. */
static void test_tag_tcp_answers(void **state)
{
	struct ht_flow f, other;
	struct ht_reply r;
	uint8_t pkt[128];
	size_t n;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		tagged_flow(&f, fams[i], HT_METHOD_TCP, false, TAG_A);
		tagged_flow(&other, fams[i], HT_METHOD_TCP, false, TAG_B);
		n = tcp_answer(&f, 40000, ((uint32_t)ht_tcp_tag(&f) << 16 | 7) + 1, 0x12, pkt);
		assert_int_equal(decode_tcp(&f, pkt, n, &r), 0);
		assert_int_equal(r.seq, 7);
		assert_int_equal(r.kind, HT_REPLY_TCP_SYNACK);
		n = tcp_answer(&f, 40000, ((uint32_t)ht_tcp_tag(&other) << 16 | 7) + 1, 0x14, pkt);
		assert_int_equal(decode_tcp(&f, pkt, n, &r), -ENOENT);
	}
}

/* ht_rx_flow_key on golden packets: what the lead's demultiplexer sees. */
static void test_flow_key(void **state)
{
	struct ht_flow f;
	struct ht_rx rx;
	struct ht_flow_key k;
	uint8_t pkt[512];
	size_t n;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fam = fams[i];
		enum ht_rx_kind icmp = fam == AF_INET ? HT_RX_ICMP4 : HT_RX_ICMP6;
		enum ht_rx_kind tcp = fam == AF_INET ? HT_RX_TCP4 : HT_RX_TCP6;
		ht_addr hop = taddr(fam == AF_INET ? HOP4 : HOP6);

		for (size_t m = 0; m < 3; m++) {
			for (int cut = 0; cut < 2; cut++) {
				tagged_flow(&f, fam, methods[m], false, TAG_A);
				n = quoted_error(&f, 4, cut ? Q_8 : Q_WHOLE, pkt);
				assert_int_equal(ht_rx_parse(icmp, pkt, n, &hop, &rx), 0);
				assert_int_equal(rx.type, HT_RXT_ICMP_ERROR);
				assert_int_equal(ht_rx_flow_key(&rx, &k), 0);
				assert_int_equal(k.family, fam);
				assert_int_equal(k.method, methods[m]);
				assert_true(ht_addr_equal(&k.dst, &f.dst));
				assert_int_equal(k.sport, methods[m] == HT_METHOD_ICMP ? 0 : 40000);
				assert_int_equal(k.icmp_id, methods[m] == HT_METHOD_ICMP ? 0x1234 : 0);
				/* the same parse identifies against the flow */
				struct ht_reply r;
				assert_int_equal(ht_rx_identify(&f, &rx, &r), 0);
				assert_int_equal(r.seq, 4);
				assert_true(ht_addr_equal(&r.from, &hop));
			}
		}
		/* TCP column ports: the key is the packet's port */
		tagged_flow(&f, fam, HT_METHOD_TCP, false, TAG_A);
		f.ncols = 3;
		n = quoted_error(&f, 5, Q_WHOLE, pkt);
		assert_int_equal(ht_rx_parse(icmp, pkt, n, &hop, &rx), 0);
		assert_int_equal(ht_rx_flow_key(&rx, &k), 0);
		assert_int_equal(k.sport, 40002);

		/* echo reply */
		tagged_flow(&f, fam, HT_METHOD_ICMP, false, TAG_A);
		n = echo_reply(&f, 3, pkt);
		assert_int_equal(ht_rx_parse(icmp, pkt, n, &f.dst, &rx), 0);
		assert_int_equal(ht_rx_flow_key(&rx, &k), 0);
		assert_int_equal(k.method, HT_METHOD_ICMP);
		assert_int_equal(k.icmp_id, 0x1234);
		assert_int_equal(k.sport, 0);
		assert_true(ht_addr_equal(&k.dst, &f.dst));

		/* SYN-ACK: the probe's source port is the answer's destination */
		tagged_flow(&f, fam, HT_METHOD_TCP, false, TAG_A);
		n = tcp_answer(&f, 40000, 1, 0x12, pkt);
		assert_int_equal(ht_rx_parse(tcp, pkt, n, &f.dst, &rx), 0);
		assert_int_equal(ht_rx_flow_key(&rx, &k), 0);
		assert_int_equal(k.method, HT_METHOD_TCP);
		assert_int_equal(k.sport, 40000);
		assert_true(ht_addr_equal(&k.dst, &f.dst));

		/* a service's UDP answer */
		{
			uint8_t u[10] = {0x82, 0x9a, 0x9c, 0x40, 0, 10, 0, 0, 0, 4};
			assert_int_equal(ht_rx_parse(HT_RX_UDP, u, sizeof(u), &f.dst, &rx), 0);
			assert_int_equal(ht_rx_flow_key(&rx, &k), 0);
			assert_int_equal(k.method, HT_METHOD_UDP);
			assert_int_equal(k.sport, 40000);
		}

		/* a quote of something we never send: nothing to key on */
		tagged_flow(&f, fam, HT_METHOD_UDP, false, TAG_A);
		{
			uint8_t q[256];
			size_t ql = wire_probe(&f, 1, 1, q, sizeof(q));
			if (fam == AF_INET) {
				q[9] = 253;
				q[10] = q[11] = 0;
			} else {
				q[6] = 253;
			}
			n = mk_time_exceeded(&f, pkt, q, ql);
			assert_int_equal(ht_rx_parse(icmp, pkt, n, &hop, &rx), 0);
			assert_int_equal(ht_rx_flow_key(&rx, &k), -ENOENT);
		}
	}
}

/* What a UDP or ping socket's error queue gives. */
static struct ht_rx_sock ee_desc(const struct ht_flow *f, uint8_t proto, const uint8_t *data,
                                 size_t len)
{
	struct ht_rx_sock d;

	memset(&d, 0, sizeof(d));
	d.family = f->family;
	d.proto = proto;
	d.data = data;
	d.len = len;
	d.peer = f->dst;
	d.peer_port = proto == IPPROTO_UDP ? f->dport : 0;
	d.local_port = f->sport;
	d.ttl = 61;
	d.sock_seq = -1;
	d.ee_origin = f->family == AF_INET ? HT_EE_ORIGIN_ICMP : HT_EE_ORIGIN_ICMP6;
	d.ee_type = f->family == AF_INET ? 11 : 3;
	d.ee_code = 0;
	d.offender = taddr(f->family == AF_INET ? HOP4 : HOP6);
	return d;
}

static void test_errqueue(void **state)
{
	struct ht_flow f, other;
	struct ht_rx rx;
	struct ht_rx_sock d;
	struct ht_reply r;
	struct ht_flow_key k;
	uint8_t pay[256];
	int n;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		int fam = fams[i];
		uint8_t icmp_proto = fam == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;

		/* UDP socket: the quoted payload of probe 21 */
		tagged_flow(&f, fam, HT_METHOD_UDP, false, TAG_A);
		tagged_flow(&other, fam, HT_METHOD_UDP, false, TAG_B);
		n = ht_probe_payload(&f, 21, pay, sizeof(pay));
		assert_true(n > 4);
		d = ee_desc(&f, IPPROTO_UDP, pay, (size_t)n);
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), 0);
		assert_int_equal(r.seq, 21);
		assert_int_equal(r.kind, HT_REPLY_TIME_EXCEEDED);
		assert_int_equal(r.reply_ttl, 61);
		assert_true(ht_addr_equal(&r.from, &d.offender));
		assert_int_equal(ht_rx_flow_key(&rx, &k), 0);
		assert_int_equal(k.method, HT_METHOD_UDP);
		assert_int_equal(k.sport, 40000);
		/* another run's payload (tag B) */
		n = ht_probe_payload(&other, 21, pay, sizeof(pay));
		d = ee_desc(&f, IPPROTO_UDP, pay, (size_t)n);
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), -ENOENT);
		/* 2 bytes quoted: too little to tell */
		d.len = 2;
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), -ENOENT);
		/* another destination port */
		n = ht_probe_payload(&f, 21, pay, sizeof(pay));
		d = ee_desc(&f, IPPROTO_UDP, pay, (size_t)n);
		d.peer_port++;
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), -ENOENT);
		/* a local error, a redirect: not an answer */
		d = ee_desc(&f, IPPROTO_UDP, pay, (size_t)n);
		d.ee_origin = 1; /* SO_EE_ORIGIN_LOCAL */
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), -ENOENT);
		d = ee_desc(&f, IPPROTO_UDP, pay, (size_t)n);
		d.ee_type = fam == AF_INET ? 5 : 137;
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), -ENOENT);
		/* too big: the MTU comes from ee_info */
		d = ee_desc(&f, IPPROTO_UDP, pay, (size_t)n);
		d.ee_type = fam == AF_INET ? 3 : 2;
		d.ee_code = fam == AF_INET ? 4 : 0;
		d.ee_info = 1280;
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), 0);
		assert_int_equal(r.kind, HT_REPLY_PTB);
		assert_int_equal(r.mtu, 1280);

		/* ping socket: the quoted echo request, header first */
		tagged_flow(&f, fam, HT_METHOD_ICMP, false, TAG_A);
		tagged_flow(&other, fam, HT_METHOD_ICMP, false, TAG_B);
		n = ht_probe_payload(&f, 8, pay, sizeof(pay));
		d = ee_desc(&f, icmp_proto, pay, (size_t)n);
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), 0);
		assert_int_equal(r.seq, 8);
		assert_int_equal(ht_rx_flow_key(&rx, &k), 0);
		assert_int_equal(k.icmp_id, 0x1234);
		/* 8 bytes: no tag, accepted */
		d.len = 8;
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), 0);
		/* another run's tag */
		n = ht_probe_payload(&other, 8, pay, sizeof(pay));
		d = ee_desc(&f, icmp_proto, pay, (size_t)n);
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), -ENOENT);
		/* a quote of a packet to someone else */
		n = ht_probe_payload(&f, 8, pay, sizeof(pay));
		d = ee_desc(&f, icmp_proto, pay, (size_t)n);
		d.peer = d.offender;
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), -ENOENT);

		/* ping socket: an echo reply datagram */
		n = ht_probe_payload(&f, 8, pay, sizeof(pay));
		pay[0] = fam == AF_INET ? 0 : 129;
		d = ee_desc(&f, icmp_proto, pay, (size_t)n);
		assert_int_equal(ht_rx_parse_sock(HT_RX_PING, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), 0);
		assert_int_equal(r.kind, HT_REPLY_ECHO_REPLY);
		assert_int_equal(r.seq, 8);
		assert_int_equal(r.reply_ttl, 61);
		d.peer = d.offender; /* from someone else */
		assert_int_equal(ht_rx_parse_sock(HT_RX_PING, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), -ENOENT);
		n = ht_probe_payload(&other, 8, pay, sizeof(pay));
		pay[0] = fam == AF_INET ? 0 : 129;
		d = ee_desc(&f, icmp_proto, pay, (size_t)n);
		assert_int_equal(ht_rx_parse_sock(HT_RX_PING, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), -ENOENT);

		/* a per-probe socket (classic UDP): the socket names the probe */
		tagged_flow(&f, fam, HT_METHOD_UDP, true, TAG_A);
		d = ee_desc(&f, IPPROTO_UDP, pay, 0);
		d.sock_seq = 17;
		assert_int_equal(ht_rx_parse_sock(HT_RX_ERRQUEUE, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), 0);
		assert_int_equal(r.seq, 17);
		d.peer_port = (uint16_t)(f.dport + 17);
		assert_int_equal(ht_rx_parse_sock(HT_RX_UDP_DATA, &d, &rx), 0);
		assert_int_equal(ht_rx_identify(&f, &rx, &r), 0);
		assert_int_equal(r.kind, HT_REPLY_UDP_REPLY);
		assert_int_equal(r.seq, 17);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tag_in_probe),     cmocka_unit_test(test_tag_flow_stable),
		cmocka_unit_test(test_tag_quotes),       cmocka_unit_test(test_tag_short_quotes),
		cmocka_unit_test(test_tag_echo),         cmocka_unit_test(test_tag_tcp_answers),
		cmocka_unit_test(test_flow_key),         cmocka_unit_test(test_errqueue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
