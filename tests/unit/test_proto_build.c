/*
 * Probe building: golden bytes for every method x family x mode, checksums
 * verified with an independent implementation, and the flow-stability
 * properties Paris probing depends on.
 *
 * Every vector is probe seq 5, TTL 3, built from tflow() (see
 * proto_test_util.h): 198.18.0.1 -> 198.19.0.9 or 2001:db8::1 ->
 * 2001:db8:1::9, ports 40000 (0x9c40) -> 33434 (0x829a) or 80 (0x0050),
 * echo id 0x1234, default length (60 bytes IPv4, 80 bytes IPv6 of which
 * we build the 40 transport bytes).
 */
#include "proto_test_util.h"

/* IPv4 header lines shared by the v4 vectors (bytes 0..19):
 *   45        version 4, IHL 5
 *   00 / 10   TOS (Paris 0, classic 0x10)
 *   00 3c     total length 60
 *   00 06     IP ID = seq + 1
 *   40 00     DF (Paris) / 00 00 (classic)
 *   03        TTL 3
 *   11/01/06  protocol UDP / ICMP / TCP
 *   xx xx     header checksum
 *   c6 12 00 01   source 198.18.0.1
 *   c6 13 00 09   destination 198.19.0.9 */

static const uint8_t udp4_paris[60] = {
	0x45, 0x00, 0x00, 0x3c, 0x00, 0x06, 0x40, 0x00, /* v4, TOS 0, len 60, ID 6, DF */
	0x03, 0x11, 0xeb, 0x7b,                         /* TTL 3, UDP, header checksum */
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x09, /* 198.18.0.1 -> 198.19.0.9 */
	0x9c, 0x40, 0x82, 0x9a,                         /* ports 40000 -> 33434 (constant) */
	0x00, 0x28, 0x00, 0x06,                         /* UDP length 40, checksum = seq + 1 */
	0x00, 0x05,                                     /* payload: seq 5 (a DNS ID) */
	0x01, 0x00,                                     /* constant (DNS: query, RD) */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* zeros (DNS: no records) */
	0x53, 0x88,                                     /* tweak word making the checksum 6 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* zero fill to 60 bytes */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t udp4_classic[60] = {
	0x45, 0x10, 0x00, 0x3c, 0x00, 0x06, 0x00, 0x00, /* v4, TOS 0x10, len 60, ID 6, no DF */
	0x03, 0x11, 0x2b, 0x6c,                         /* TTL 3, UDP, header checksum */
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x09, /* 198.18.0.1 -> 198.19.0.9 */
	0x9c, 0x40, 0x82, 0x9f,                         /* 40000 -> 33434 + 5 = 33439 */
	0x00, 0x28, 0x53, 0x89,                         /* UDP length 40, computed checksum */
	0x00, 0x05,                                     /* payload: seq 5 */
	0x01, 0x00,                                     /* constant */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* zeros */
	0x00, 0x00,                                     /* no tweak in classic mode */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* zero fill */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp4_paris[60] = {
	0x45, 0x00, 0x00, 0x3c, 0x00, 0x06, 0x40, 0x00, /* v4, TOS 0, len 60, ID 6, DF */
	0x03, 0x01, 0xeb, 0x8b,                         /* TTL 3, ICMP, header checksum */
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x09, /* 198.18.0.1 -> 198.19.0.9 */
	0x08, 0x00, 0xe5, 0xcb,                         /* echo request, checksum ~(0x0800+0x1234) */
	0x12, 0x34, 0x00, 0x05,                         /* id 0x1234, sequence 5 */
	0xff, 0xfa,                                     /* tweak = ~5 keeps the checksum constant */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* zero fill */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp4_classic[60] = {
	0x45, 0x10, 0x00, 0x3c, 0x00, 0x06, 0x00, 0x00, /* v4, TOS 0x10, len 60, ID 6, no DF */
	0x03, 0x01, 0x2b, 0x7c,                         /* TTL 3, ICMP, header checksum */
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x09, /* 198.18.0.1 -> 198.19.0.9 */
	0x08, 0x00, 0xe5, 0xc6,                         /* echo request, checksum varies with seq */
	0x12, 0x34, 0x00, 0x05,                         /* id 0x1234, sequence 5 */
	0x00, 0x00,                                     /* no compensation */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* zero fill */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t tcp4_paris[60] = {
	0x45, 0x00, 0x00, 0x3c, 0x00, 0x06, 0x40, 0x00, /* v4, TOS 0, len 60, ID 6, DF */
	0x03, 0x06, 0xeb, 0x86,                         /* TTL 3, TCP, header checksum */
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x09, /* 198.18.0.1 -> 198.19.0.9 */
	0x9c, 0x40, 0x00, 0x50,                         /* ports 40000 -> 80 (constant) */
	0xd4, 0x44, 0x00, 0x05,                         /* seq: tag 0x4854^0x9c40^0x0050, probe 5 */
	0x00, 0x00, 0x00, 0x00,                         /* ack 0 */
	0xa0, 0x02, 0xff, 0xff,                         /* data offset 10, SYN, window 65535 */
	0x4a, 0xf6, 0x00, 0x00,                         /* checksum, urgent 0 */
	0x02, 0x04, 0x05, 0xb4,                         /* MSS 1460 */
	0x04, 0x02,                                     /* SACK permitted */
	0x08, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* timestamps 0, 0 */
	0x01, 0x03, 0x03, 0x07,                         /* NOP, window scale 7 */
};

static const uint8_t tcp4_classic[60] = {
	0x45, 0x10, 0x00, 0x3c, 0x00, 0x06, 0x00, 0x00, /* v4, TOS 0x10, len 60, ID 6, no DF */
	0x03, 0x06, 0x2b, 0x77,                         /* TTL 3, TCP, header checksum */
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x09, /* 198.18.0.1 -> 198.19.0.9 */
	0x9c, 0x45, 0x00, 0x50,                         /* 40000 + 5 -> 80 */
	0xd4, 0x44, 0x00, 0x05,                         /* seq: tag, probe 5 */
	0x00, 0x00, 0x00, 0x00,                         /* ack 0 */
	0xa0, 0x02, 0xff, 0xff,                         /* data offset 10, SYN, window 65535 */
	0x4a, 0xf1, 0x00, 0x00,                         /* checksum, urgent 0 */
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02,             /* MSS 1460, SACK permitted */
	0x08, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* timestamps */
	0x01, 0x03, 0x03, 0x07,                         /* NOP, window scale 7 */
};

/* IPv6: transport only (40 bytes of an 80-byte packet). */
static const uint8_t udp6_paris[40] = {
	0x9c, 0x40, 0x82, 0x9a, /* ports 40000 -> 33434 */
	0x00, 0x28, 0x00, 0x06, /* length 40, checksum = seq + 1 */
	0x00, 0x05, 0x01, 0x00, /* seq 5, constant */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* zeros */
	0x84, 0x3b,             /* tweak (covers the v6 pseudo-header) */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
};

static const uint8_t udp6_classic[40] = {
	0x9c, 0x40, 0x82, 0x9f, /* 40000 -> 33439 */
	0x00, 0x28, 0x84, 0x3c, /* length 40, computed checksum */
	0x00, 0x05, 0x01, 0x00, /* seq 5, constant; no tweak */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp6_paris[40] = {
	0x80, 0x00, 0x11, 0xec, /* echo request 128, constant checksum (with pseudo-header) */
	0x12, 0x34, 0x00, 0x05, /* id 0x1234, sequence 5 */
	0xff, 0xfa, 0x00, 0x00, /* tweak ~5, zero fill */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t icmp6_classic[40] = {
	0x80, 0x00, 0x11, 0xe7, /* echo request, checksum varies with seq */
	0x12, 0x34, 0x00, 0x05, /* id 0x1234, sequence 5 */
	0x00, 0x00, 0x00, 0x00, /* no compensation */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t tcp6_paris[40] = {
	0x9c, 0x40, 0x00, 0x50, /* 40000 -> 80 */
	0xd4, 0x44, 0x00, 0x05, /* seq: tag, probe 5 */
	0x00, 0x00, 0x00, 0x00, /* ack 0 */
	0xa0, 0x02, 0xff, 0xff, /* data offset 10, SYN, window 65535 */
	0x7b, 0xbd, 0x00, 0x00, /* checksum, urgent 0 */
	0x02, 0x04, 0x05, 0xa0, /* MSS 1440 (IPv6) */
	0x04, 0x02, 0x08, 0x0a, /* SACK permitted, timestamps ... */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ... TSval 0, TSecr 0 */
	0x01, 0x03, 0x03, 0x07, /* NOP, window scale 7 */
};

static const uint8_t tcp6_classic[40] = {
	0x9c, 0x45, 0x00, 0x50, /* 40005 -> 80 */
	0xd4, 0x44, 0x00, 0x05, /* seq: tag, probe 5 */
	0x00, 0x00, 0x00, 0x00, /* ack 0 */
	0xa0, 0x02, 0xff, 0xff, /* data offset 10, SYN, window 65535 */
	0x7b, 0xb8, 0x00, 0x00, /* checksum, urgent 0 */
	0x02, 0x04, 0x05, 0xa0, 0x04, 0x02, 0x08, 0x0a, /* MSS 1440, SACK ok, TS ... */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ... 0, 0 */
	0x01, 0x03, 0x03, 0x07, /* NOP, window scale 7 */
};

static uint8_t proto_of(enum ht_method m, int family)
{
	if (m == HT_METHOD_UDP)
		return 17;
	if (m == HT_METHOD_TCP)
		return 6;
	return family == AF_INET ? 1 : 58;
}

/* The transport checksum verifies (sums to 0) with the reference code;
 * ICMPv4 has no pseudo-header. */
static void check_sums(const struct ht_flow *f, const uint8_t *p, size_t n)
{
	const uint8_t *l4 = p;
	size_t l4len = n;
	uint64_t acc = 0;

	if (f->family == AF_INET) {
		assert_int_equal(ref_fold(ref_sum(0, p, 20)), 0);
		l4 = p + 20;
		l4len = n - 20;
	}
	if (!(f->family == AF_INET && f->method == HT_METHOD_ICMP))
		acc = ref_pseudo(f, proto_of(f->method, f->family), l4len);
	assert_int_equal(ref_fold(ref_sum(acc, l4, l4len)), 0);
}

static void golden(int family, enum ht_method m, bool classic, const uint8_t *want, size_t wlen)
{
	struct ht_flow f;
	uint8_t buf[128];
	int n;

	tflow(&f, family, m, classic);
	n = ht_probe_build(&f, 5, 3, buf, sizeof(buf));
	assert_int_equal(n, (int)wlen);
	assert_memory_equal(buf, want, wlen);
	check_sums(&f, want, wlen);
}

static void test_golden_v4(void **state)
{
	(void)state;
	golden(AF_INET, HT_METHOD_UDP, false, udp4_paris, sizeof(udp4_paris));
	golden(AF_INET, HT_METHOD_UDP, true, udp4_classic, sizeof(udp4_classic));
	golden(AF_INET, HT_METHOD_ICMP, false, icmp4_paris, sizeof(icmp4_paris));
	golden(AF_INET, HT_METHOD_ICMP, true, icmp4_classic, sizeof(icmp4_classic));
	golden(AF_INET, HT_METHOD_TCP, false, tcp4_paris, sizeof(tcp4_paris));
	golden(AF_INET, HT_METHOD_TCP, true, tcp4_classic, sizeof(tcp4_classic));
}

static void test_golden_v6(void **state)
{
	(void)state;
	golden(AF_INET6, HT_METHOD_UDP, false, udp6_paris, sizeof(udp6_paris));
	golden(AF_INET6, HT_METHOD_UDP, true, udp6_classic, sizeof(udp6_classic));
	golden(AF_INET6, HT_METHOD_ICMP, false, icmp6_paris, sizeof(icmp6_paris));
	golden(AF_INET6, HT_METHOD_ICMP, true, icmp6_classic, sizeof(icmp6_classic));
	golden(AF_INET6, HT_METHOD_TCP, false, tcp6_paris, sizeof(tcp6_paris));
	golden(AF_INET6, HT_METHOD_TCP, true, tcp6_classic, sizeof(tcp6_classic));
}

/* Across 1000 seqs: ICMP Paris keeps type/code/checksum/id, UDP and TCP
 * Paris keep both ports; every probe verifies; the UDP checksum is
 * seq + 1 (never 0) and the IP ID is seq + 1. */
static void test_paris_flow_constant(void **state)
{
	static const int fams[] = {AF_INET, AF_INET6};
	struct ht_flow f;
	uint8_t first[128], buf[128];
	size_t off;
	unsigned fi, m, seq;
	int n;

	(void)state;
	for (fi = 0; fi < 2; fi++) {
		for (m = HT_METHOD_UDP; m <= HT_METHOD_TCP; m++) {
			tflow(&f, fams[fi], (enum ht_method)m, false);
			off = fams[fi] == AF_INET ? 20 : 0;
			n = ht_probe_build(&f, 0, 1, first, sizeof(first));
			assert_true(n > 0);
			for (seq = 0; seq < 1000; seq++) {
				n = ht_probe_build(&f, (uint16_t)seq, (uint8_t)(1 + seq % 30), buf,
				                   sizeof(buf));
				assert_true(n > 0);
				check_sums(&f, buf, (size_t)n);
				/* first transport word: ports, or type/code/checksum */
				assert_memory_equal(buf + off, first + off, 4);
				if (m == HT_METHOD_ICMP)
					assert_memory_equal(buf + off + 4, first + off + 4, 2);
				if (m == HT_METHOD_UDP) {
					assert_int_equal(get16(buf + off + 6), seq + 1);
					assert_int_equal(get16(buf + off + 8), seq);
				}
				if (m == HT_METHOD_TCP)
					assert_int_equal(get16(buf + off + 6), seq);
				if (fams[fi] == AF_INET)
					assert_int_equal(get16(buf + 4), seq + 1);
			}
		}
	}
}

/*
 * Flow-stable TCP with one source port per query column (ncols 3, as
 * with -q 3): probe 5 is column 5 % 3 = 2 and leaves from 40002. Only
 * the port and the checksum (2 less) differ from tcp4_paris/tcp6_paris.
 */
static const uint8_t tcp4_paris_col2[60] = {
	0x45, 0x00, 0x00, 0x3c, 0x00, 0x06, 0x40, 0x00, /* v4, TOS 0, len 60, ID 6, DF */
	0x03, 0x06, 0xeb, 0x86,                         /* TTL 3, TCP, header checksum */
	0xc6, 0x12, 0x00, 0x01, 0xc6, 0x13, 0x00, 0x09, /* 198.18.0.1 -> 198.19.0.9 */
	0x9c, 0x42, 0x00, 0x50,                         /* ports 40000 + column 2 -> 80 */
	0xd4, 0x44, 0x00, 0x05,                         /* seq: tag (of the base port), probe 5 */
	0x00, 0x00, 0x00, 0x00,                         /* ack 0 */
	0xa0, 0x02, 0xff, 0xff,                         /* data offset 10, SYN, window 65535 */
	0x4a, 0xf4, 0x00, 0x00,                         /* checksum, urgent 0 */
	0x02, 0x04, 0x05, 0xb4,                         /* MSS 1460 */
	0x04, 0x02,                                     /* SACK permitted */
	0x08, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* timestamps 0, 0 */
	0x01, 0x03, 0x03, 0x07,                         /* NOP, window scale 7 */
};

static const uint8_t tcp6_paris_col2[40] = {
	0x9c, 0x42, 0x00, 0x50, /* 40000 + column 2 -> 80 */
	0xd4, 0x44, 0x00, 0x05, /* seq: tag, probe 5 */
	0x00, 0x00, 0x00, 0x00, /* ack 0 */
	0xa0, 0x02, 0xff, 0xff, /* data offset 10, SYN, window 65535 */
	0x7b, 0xbb, 0x00, 0x00, /* checksum, urgent 0 */
	0x02, 0x04, 0x05, 0xa0, /* MSS 1440 (IPv6) */
	0x04, 0x02, 0x08, 0x0a, /* SACK permitted, timestamps ... */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ... TSval 0, TSecr 0 */
	0x01, 0x03, 0x03, 0x07, /* NOP, window scale 7 */
};

/* TCP, flow-stable: the source port is sport + seq % ncols, so every
 * column keeps one 5-tuple at every TTL; one column (or none given) is
 * the single port; classic mode is unchanged. */
static void test_tcp_columns(void **state)
{
	static const int fams[] = {AF_INET, AF_INET6};
	struct ht_flow f;
	uint8_t buf[128], col0[3][4];
	unsigned fi, seq;
	size_t off;
	int n;

	(void)state;
	tflow(&f, AF_INET, HT_METHOD_TCP, false);
	f.ncols = 3;
	n = ht_probe_build(&f, 5, 3, buf, sizeof(buf));
	assert_int_equal(n, (int)sizeof(tcp4_paris_col2));
	assert_memory_equal(buf, tcp4_paris_col2, sizeof(tcp4_paris_col2));
	check_sums(&f, tcp4_paris_col2, sizeof(tcp4_paris_col2));
	tflow(&f, AF_INET6, HT_METHOD_TCP, false);
	f.ncols = 3;
	n = ht_probe_build(&f, 5, 3, buf, sizeof(buf));
	assert_int_equal(n, (int)sizeof(tcp6_paris_col2));
	assert_memory_equal(buf, tcp6_paris_col2, sizeof(tcp6_paris_col2));
	check_sums(&f, tcp6_paris_col2, sizeof(tcp6_paris_col2));

	for (fi = 0; fi < 2; fi++) {
		off = fams[fi] == AF_INET ? 20 : 0;
		tflow(&f, fams[fi], HT_METHOD_TCP, false);
		f.ncols = 3;
		for (seq = 0; seq < 300; seq++) {
			n = ht_probe_build(&f, (uint16_t)seq, (uint8_t)(1 + seq / 3), buf, sizeof(buf));
			assert_true(n > 0);
			check_sums(&f, buf, (size_t)n);
			assert_int_equal(get16(buf + off), 40000 + seq % 3);
			assert_int_equal(get16(buf + off + 6), seq);
			if (seq < 3)
				memcpy(col0[seq], buf + off, 4);
			assert_memory_equal(buf + off, col0[seq % 3], 4);
		}
		for (f.ncols = 0; f.ncols <= 1; f.ncols++)
			for (seq = 0; seq < 30; seq++) {
				ht_probe_build(&f, (uint16_t)seq, 1, buf, sizeof(buf));
				assert_int_equal(get16(buf + off), 40000);
			}
		tflow(&f, fams[fi], HT_METHOD_TCP, true);
		f.ncols = 3;
		ht_probe_build(&f, 7, 1, buf, sizeof(buf));
		assert_int_equal(get16(buf + off), 40007);
	}
}

/* Classic mode varies what old traceroute varied. */
static void test_classic_varies(void **state)
{
	struct ht_flow f;
	uint8_t a[128], b[128];

	(void)state;
	tflow(&f, AF_INET, HT_METHOD_UDP, true);
	ht_probe_build(&f, 0, 1, a, sizeof(a));
	ht_probe_build(&f, 7, 1, b, sizeof(b));
	assert_int_equal(get16(a + 22), 33434);
	assert_int_equal(get16(b + 22), 33441);
	tflow(&f, AF_INET, HT_METHOD_TCP, true);
	ht_probe_build(&f, 7, 1, b, sizeof(b));
	assert_int_equal(get16(b + 20), 40007);
	assert_int_equal(get16(b + 22), 80);
	tflow(&f, AF_INET, HT_METHOD_ICMP, true);
	ht_probe_build(&f, 0, 1, a, sizeof(a));
	ht_probe_build(&f, 7, 1, b, sizeof(b));
	assert_int_not_equal(get16(a + 22), get16(b + 22));
}

/* The UDP checksum edge: seq 0xfffe and 0xffff both carry 0xffff; 0 is
 * never sent. Checksums are right for every seq. */
static void test_udp_checksum_never_zero(void **state)
{
	struct ht_flow f;
	uint8_t buf[128];
	unsigned seq;

	(void)state;
	tflow(&f, AF_INET6, HT_METHOD_UDP, false);
	for (seq = 0; seq <= 0xffff; seq += (seq < 0xff00 ? 251 : 1)) {
		assert_int_equal(ht_probe_build(&f, (uint16_t)seq, 1, buf, sizeof(buf)), 40);
		assert_int_not_equal(get16(buf + 6), 0);
		check_sums(&f, buf, 40);
	}
	ht_probe_build(&f, 0xffff, 1, buf, sizeof(buf));
	assert_int_equal(get16(buf + 6), 0xffff);
}

static void test_lengths(void **state)
{
	struct ht_flow f;
	static uint8_t big[HT_PROBE_MAX_LEN + 16];
	uint8_t buf[128];
	unsigned m;

	(void)state;
	assert_int_equal(ht_probe_min_len(AF_INET, HT_METHOD_UDP), 42);
	assert_int_equal(ht_probe_min_len(AF_INET, HT_METHOD_ICMP), 30);
	assert_int_equal(ht_probe_min_len(AF_INET, HT_METHOD_TCP), 40);
	assert_int_equal(ht_probe_min_len(AF_INET6, HT_METHOD_UDP), 62);
	assert_int_equal(ht_probe_min_len(AF_INET6, HT_METHOD_ICMP), 50);
	assert_int_equal(ht_probe_min_len(AF_INET6, HT_METHOD_TCP), 60);
	assert_int_equal(ht_probe_min_len(AF_UNIX, HT_METHOD_TCP), 0);

	for (m = HT_METHOD_UDP; m <= HT_METHOD_TCP; m++) {
		tflow(&f, AF_INET, (enum ht_method)m, false);
		f.packet_len = ht_probe_min_len(AF_INET, (enum ht_method)m);
		assert_int_equal(ht_probe_build(&f, 1, 1, buf, sizeof(buf)), (int)f.packet_len);
		check_sums(&f, buf, f.packet_len);
		f.packet_len--;
		assert_int_equal(ht_probe_build(&f, 1, 1, buf, sizeof(buf)), -EINVAL);
		f.packet_len = HT_PROBE_MAX_LEN;
		assert_int_equal(ht_probe_build(&f, 1, 1, big, sizeof(big)), HT_PROBE_MAX_LEN);
		check_sums(&f, big, HT_PROBE_MAX_LEN);
		assert_int_equal(get16(big + 2), HT_PROBE_MAX_LEN);
		f.packet_len = HT_PROBE_MAX_LEN + 1;
		assert_int_equal(ht_probe_build(&f, 1, 1, big, sizeof(big)), -EINVAL);
		f.packet_len = 0;
		assert_int_equal(ht_probe_build(&f, 1, 1, buf, 59), -ENOSPC);

		tflow(&f, AF_INET6, (enum ht_method)m, false);
		f.packet_len = 1280;
		assert_int_equal(ht_probe_build(&f, 1, 1, big, sizeof(big)), 1240);
		check_sums(&f, big, 1240);
	}
	/* A TCP probe too short for options is a bare 20-byte SYN header. */
	tflow(&f, AF_INET, HT_METHOD_TCP, false);
	f.packet_len = 50;
	assert_int_equal(ht_probe_build(&f, 1, 1, buf, sizeof(buf)), 50);
	assert_int_equal(buf[32], 0x50);
	check_sums(&f, buf, 50);
}

static void test_bad_flows(void **state)
{
	struct ht_flow f;
	uint8_t buf[128];

	(void)state;
	tflow(&f, AF_INET, HT_METHOD_UDP, false);
	f.dst = taddr(DST6);
	assert_int_equal(ht_probe_build(&f, 1, 1, buf, sizeof(buf)), -EINVAL);
	tflow(&f, AF_INET, HT_METHOD_UDP, false);
	f.method = (enum ht_method)7;
	assert_int_equal(ht_probe_build(&f, 1, 1, buf, sizeof(buf)), -EINVAL);
	tflow(&f, AF_UNIX, HT_METHOD_UDP, false);
	assert_int_equal(ht_probe_build(&f, 1, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ht_probe_build(NULL, 1, 1, buf, sizeof(buf)), -EINVAL);
}

/*
 * Unprivileged payloads: what the kernel sends is exactly our raw probe
 * once it has added the headers (UDP) or the checksum (ICMP), so the
 * checksums the kernel computes are the Paris ones.
 */
static void test_payload(void **state)
{
	static const int fams[] = {AF_INET, AF_INET6};
	struct ht_flow f;
	uint8_t raw[128], pay[128];
	size_t off;
	unsigned fi;
	int n;

	(void)state;
	for (fi = 0; fi < 2; fi++) {
		off = fams[fi] == AF_INET ? 20 : 0;
		tflow(&f, fams[fi], HT_METHOD_UDP, false);
		n = ht_probe_payload(&f, 9, pay, sizeof(pay));
		assert_int_equal(n, 32);
		ht_probe_build(&f, 9, 1, raw, sizeof(raw));
		assert_memory_equal(pay, raw + off + 8, 32);
		assert_int_equal(get16(pay), 9);          /* DNS ID */
		assert_int_equal(get16(pay + 2), 0x0100); /* DNS flags: a query */

		tflow(&f, fams[fi], HT_METHOD_ICMP, false);
		n = ht_probe_payload(&f, 9, pay, sizeof(pay));
		assert_int_equal(n, 40);
		ht_probe_build(&f, 9, 1, raw, sizeof(raw));
		assert_int_equal(get16(pay + 2), 0); /* left to the kernel */
		put16(pay + 2, get16(raw + off + 2));
		assert_memory_equal(pay, raw + off, 40);

		tflow(&f, fams[fi], HT_METHOD_TCP, false);
		assert_int_equal(ht_probe_payload(&f, 9, pay, sizeof(pay)), -EOPNOTSUPP);
	}
	tflow(&f, AF_INET, HT_METHOD_UDP, false);
	assert_int_equal(ht_probe_payload(&f, 9, pay, 31), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_v4),
		cmocka_unit_test(test_golden_v6),
		cmocka_unit_test(test_paris_flow_constant),
		cmocka_unit_test(test_tcp_columns),
		cmocka_unit_test(test_classic_varies),
		cmocka_unit_test(test_udp_checksum_never_zero),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_bad_flows),
		cmocka_unit_test(test_payload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
