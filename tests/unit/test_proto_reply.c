/*
 * Reply decoding: round trips through ICMP quotes for every method,
 * family and mode; every ICMP/ICMPv6 type and code; echo and TCP
 * answers; quotes that are not ours; NAT-altered quotes; truncated and
 * malformed packets at every length.
 */
#include "proto_test_util.h"

static const int fams[] = {AF_INET, AF_INET6};
static const uint16_t seqs[] = {0, 1, 5, 300, 0x7fff, 0xfffe};

enum qkind { Q_RFC792, Q_FULL, Q_PART };

/* The quote a router sends: the probe as seen on the wire with TTL 1 (or
 * 0), cut to the RFC 792 minimum, a partial 12 bytes, or whole. */
static size_t quote(const struct ht_flow *f, uint16_t seq, enum qkind k, uint8_t qttl,
                    uint8_t *q)
{
	size_t n = wire_probe(f, seq, 1, q, 256);
	size_t ihl = f->family == AF_INET ? 20 : 40;

	if (f->family == AF_INET)
		q[8] = qttl;
	else
		q[7] = qttl;
	if (k == Q_RFC792)
		return ihl + 8;
	if (k == Q_PART)
		return ihl + 12;
	return n;
}

static void test_roundtrip(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t q[256], pkt[512];
	size_t qlen, plen;
	unsigned fi, m, c, s, k;
	ht_addr hop;

	(void)state;
	for (fi = 0; fi < 2; fi++)
		for (m = HT_METHOD_UDP; m <= HT_METHOD_TCP; m++)
			for (c = 0; c < 2; c++)
				for (s = 0; s < sizeof(seqs) / sizeof(seqs[0]); s++)
					for (k = Q_RFC792; k <= Q_PART; k++) {
						tflow(&f, fams[fi], (enum ht_method)m, c);
						qlen = quote(&f, seqs[s], (enum qkind)k, (uint8_t)(k == Q_FULL ? 0 : 1), q);
						plen = mk_time_exceeded(&f, pkt, q, qlen);
						memset(&r, 0xa5, sizeof(r));
						assert_int_equal(decode(&f, pkt, plen, &r), 0);
						assert_int_equal(r.seq, seqs[s]);
						assert_int_equal(r.kind, HT_REPLY_TIME_EXCEEDED);
						assert_int_equal(r.annot, HT_ANN_NONE);
						assert_int_equal(r.icmp_type, fams[fi] == AF_INET ? 11 : 3);
						assert_int_equal(r.icmp_code, 0);
						hop = taddr(fams[fi] == AF_INET ? HOP4 : HOP6);
						assert_true(ht_addr_equal(&r.from, &hop));
						assert_int_equal(r.reply_ttl, fams[fi] == AF_INET ? 250 : 0);
						assert_true(r.has_quoted_ttl);
						assert_int_equal(r.quoted_ttl, k == Q_FULL ? 0 : 1);
						assert_true(r.has_quoted_tos);
						assert_int_equal(r.quoted_tos, f.tos);
						assert_int_equal(r.n_mpls, 0);
						assert_false(r.has_ifinfo);
						assert_int_equal(r.rx_us, 0);
					}
}

/* seq 0xffff: every witness is ambiguous or absent in an IPv6 RFC 792
 * quote of a Paris UDP probe (checksum 0xffff is shared with 0xfffe);
 * the full quote's payload resolves it. */
static void test_udp_seq_ffff(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t q[256], pkt[512];
	size_t qlen, plen;

	(void)state;
	tflow(&f, AF_INET6, HT_METHOD_UDP, false);
	qlen = quote(&f, 0xffff, Q_FULL, 1, q);
	plen = mk_time_exceeded(&f, pkt, q, qlen);
	assert_int_equal(decode(&f, pkt, plen, &r), 0);
	assert_int_equal(r.seq, 0xffff);
	qlen = quote(&f, 0xffff, Q_RFC792, 1, q);
	plen = mk_time_exceeded(&f, pkt, q, qlen);
	assert_int_equal(decode(&f, pkt, plen, &r), 0);
	assert_int_equal(r.seq, 0xfffe); /* documented ambiguity */
}

struct tc_case {
	uint8_t type, code;
	uint32_t rest;
	int rc;
	enum ht_reply_kind kind;
	enum ht_annot annot;
	uint16_t mtu;
	const char *str;
};

static void run_cases(int family, const struct tc_case *cs, size_t n)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t q[256], pkt[512];
	size_t qlen, plen, i;
	char buf[16];

	tflow(&f, family, HT_METHOD_UDP, false);
	qlen = quote(&f, 42, Q_FULL, 1, q);
	for (i = 0; i < n; i++) {
		if (family == AF_INET)
			plen = mk_icmp4(pkt, HOP4, SRC4, cs[i].type, cs[i].code, cs[i].rest, q, qlen);
		else
			plen = mk_icmp6(pkt, cs[i].type, cs[i].code, cs[i].rest, q, qlen);
		memset(&r, 0, sizeof(r));
		if (decode(&f, pkt, plen, &r) != cs[i].rc)
			fail_msg("family %d type %u code %u: want rc %d", family, cs[i].type,
			         cs[i].code, cs[i].rc);
		if (cs[i].rc)
			continue;
		assert_int_equal(r.seq, 42);
		assert_int_equal(r.icmp_type, cs[i].type);
		assert_int_equal(r.icmp_code, cs[i].code);
		assert_int_equal(r.kind, cs[i].kind);
		assert_int_equal(r.annot, cs[i].annot);
		assert_int_equal(r.mtu, cs[i].mtu);
		assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), cs[i].str);
	}
}

static void test_icmp4_types(void **state)
{
	static const struct tc_case cs[] = {
		{11, 0, 0, 0, HT_REPLY_TIME_EXCEEDED, HT_ANN_NONE, 0, ""},
		{11, 1, 0, 0, HT_REPLY_TIME_EXCEEDED, HT_ANN_TYPE, 0, "!<11-1>"},
		{11, 2, 0, -ENOENT, 0, 0, 0, NULL},
		{3, 0, 0, 0, HT_REPLY_UNREACH, HT_ANN_NET, 0, "!N"},
		{3, 1, 0, 0, HT_REPLY_UNREACH, HT_ANN_HOST, 0, "!H"},
		{3, 2, 0, 0, HT_REPLY_UNREACH, HT_ANN_PROTO, 0, "!P"},
		{3, 3, 0, 0, HT_REPLY_PORT_UNREACH, HT_ANN_NONE, 0, ""},
		{3, 4, 1400, 0, HT_REPLY_PTB, HT_ANN_FRAG, 1400, "!F-1400"},
		{3, 4, 0, 0, HT_REPLY_PTB, HT_ANN_FRAG, 0, "!F-0"},
		{3, 5, 0, 0, HT_REPLY_UNREACH, HT_ANN_SRCROUTE, 0, "!S"},
		{3, 6, 0, 0, HT_REPLY_UNREACH, HT_ANN_NET, 0, "!N"},
		{3, 7, 0, 0, HT_REPLY_UNREACH, HT_ANN_HOST, 0, "!H"},
		{3, 8, 0, 0, HT_REPLY_UNREACH, HT_ANN_NET, 0, "!N"},
		{3, 9, 0, 0, HT_REPLY_UNREACH, HT_ANN_ADMIN, 0, "!X"},
		{3, 10, 0, 0, HT_REPLY_UNREACH, HT_ANN_ADMIN, 0, "!X"},
		{3, 11, 0, 0, HT_REPLY_UNREACH, HT_ANN_NET, 0, "!N"},
		{3, 12, 0, 0, HT_REPLY_UNREACH, HT_ANN_HOST, 0, "!H"},
		{3, 13, 0, 0, HT_REPLY_UNREACH, HT_ANN_ADMIN, 0, "!X"},
		{3, 14, 0, 0, HT_REPLY_UNREACH, HT_ANN_HOSTPREC, 0, "!V"},
		{3, 15, 0, 0, HT_REPLY_UNREACH, HT_ANN_PRECCUT, 0, "!C"},
		{3, 16, 0, 0, HT_REPLY_UNREACH, HT_ANN_OTHER, 0, "!<16>"},
		{3, 255, 0, 0, HT_REPLY_UNREACH, HT_ANN_OTHER, 0, "!<255>"},
		{12, 0, 0x14000000, 0, HT_REPLY_PARAM_PROBLEM, HT_ANN_TYPE, 0, "!<12-0>"},
		{12, 1, 0, 0, HT_REPLY_PARAM_PROBLEM, HT_ANN_TYPE, 0, "!<12-1>"},
		{12, 2, 0, 0, HT_REPLY_PARAM_PROBLEM, HT_ANN_TYPE, 0, "!<12-2>"},
		{4, 0, 0, -ENOENT, 0, 0, 0, NULL},  /* source quench */
		{5, 1, 0, -ENOENT, 0, 0, 0, NULL},  /* redirect */
		{8, 0, 0, -ENOENT, 0, 0, 0, NULL},  /* echo request */
		{9, 0, 0, -ENOENT, 0, 0, 0, NULL},  /* router advertisement */
		{13, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* timestamp */
		{14, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* timestamp reply */
		{42, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* extended echo */
	};

	(void)state;
	run_cases(AF_INET, cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_icmp6_types(void **state)
{
	static const struct tc_case cs[] = {
		{3, 0, 0, 0, HT_REPLY_TIME_EXCEEDED, HT_ANN_NONE, 0, ""},
		{3, 1, 0, 0, HT_REPLY_TIME_EXCEEDED, HT_ANN_TYPE, 0, "!<3-1>"},
		{3, 2, 0, -ENOENT, 0, 0, 0, NULL},
		{1, 0, 0, 0, HT_REPLY_UNREACH, HT_ANN_NET, 0, "!N"},
		{1, 1, 0, 0, HT_REPLY_UNREACH, HT_ANN_ADMIN, 0, "!X"},
		{1, 2, 0, 0, HT_REPLY_UNREACH, HT_ANN_HOST, 0, "!H"},
		{1, 3, 0, 0, HT_REPLY_UNREACH, HT_ANN_HOST, 0, "!H"},
		{1, 4, 0, 0, HT_REPLY_PORT_UNREACH, HT_ANN_NONE, 0, ""},
		{1, 5, 0, 0, HT_REPLY_UNREACH, HT_ANN_OTHER, 0, "!<5>"},
		{1, 6, 0, 0, HT_REPLY_UNREACH, HT_ANN_OTHER, 0, "!<6>"},
		{1, 7, 0, 0, HT_REPLY_UNREACH, HT_ANN_OTHER, 0, "!<7>"},
		{2, 0, 1280, 0, HT_REPLY_PTB, HT_ANN_FRAG, 1280, "!F-1280"},
		{2, 0, 9000, 0, HT_REPLY_PTB, HT_ANN_FRAG, 9000, "!F-9000"},
		{2, 0, 0x10000, 0, HT_REPLY_PTB, HT_ANN_FRAG, 0xffff, "!F-65535"},
		{4, 0, 6, 0, HT_REPLY_PARAM_PROBLEM, HT_ANN_TYPE, 0, "!<4-0>"},
		{4, 1, 40, 0, HT_REPLY_PARAM_PROBLEM, HT_ANN_PROTO, 0, "!P"},
		{4, 2, 40, 0, HT_REPLY_PARAM_PROBLEM, HT_ANN_TYPE, 0, "!<4-2>"},
		{128, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* echo request */
		{130, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* MLD query */
		{133, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* router solicitation */
		{134, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* router advertisement */
		{135, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* neighbour solicitation */
		{136, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* neighbour advertisement */
		{137, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* redirect */
		{200, 0, 0, -ENOENT, 0, 0, 0, NULL}, /* private experimentation */
	};

	(void)state;
	run_cases(AF_INET6, cs, sizeof(cs) / sizeof(cs[0]));
}

static void test_echo_reply(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t body[32] = {0}, pkt[128];
	size_t plen;
	ht_addr dst6 = taddr(DST6), dst4 = taddr(DST4);

	(void)state;
	tflow(&f, AF_INET, HT_METHOD_ICMP, false);
	plen = mk_icmp4(pkt, DST4, SRC4, 0, 0, 0x12340007, body, sizeof(body));
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP4, pkt, plen, &dst4, &r), 0);
	assert_int_equal(r.kind, HT_REPLY_ECHO_REPLY);
	assert_int_equal(r.seq, 7);
	assert_int_equal(r.reply_ttl, 250);
	assert_true(ht_addr_equal(&r.from, &dst4));
	assert_false(r.has_quoted_ttl);
	/* another program's id */
	plen = mk_icmp4(pkt, DST4, SRC4, 0, 0, 0x43210007, body, sizeof(body));
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP4, pkt, plen, &dst4, &r), -ENOENT);
	/* our id and sequence, but not from the host we ping: a forgery
	 * (hostile-dest-answers) that would show its sender as the destination */
	{
		ht_addr other = taddr(HOP4);
		plen = mk_icmp4(pkt, HOP4, SRC4, 0, 0, 0x12340007, body, sizeof(body));
		assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP4, pkt, plen, &other, &r), -ENOENT);
	}
	/* a UDP trace ignores echo replies */
	tflow(&f, AF_INET, HT_METHOD_UDP, false);
	plen = mk_icmp4(pkt, DST4, SRC4, 0, 0, 0x12340007, body, sizeof(body));
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP4, pkt, plen, &dst4, &r), -ENOENT);

	tflow(&f, AF_INET6, HT_METHOD_ICMP, true);
	plen = mk_icmp6(pkt, 129, 0, 0x1234fffe, body, sizeof(body));
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP6, pkt, plen, &dst6, &r), 0);
	assert_int_equal(r.kind, HT_REPLY_ECHO_REPLY);
	assert_int_equal(r.seq, 0xfffe);
	assert_int_equal(r.icmp_type, 129);
	assert_true(ht_addr_equal(&r.from, &dst6));
	plen = mk_icmp6(pkt, 129, 0, 0x1235fffe, body, sizeof(body));
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP6, pkt, plen, &dst6, &r), -ENOENT);
	{
		ht_addr other6 = taddr(HOP6);
		plen = mk_icmp6(pkt, 129, 0, 0x1234fffe, body, sizeof(body));
		assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP6, pkt, plen, &other6, &r), -ENOENT);
	}
}

/* A TCP segment from the destination: IPv4 packet for HT_RX_TCP4, bare
 * segment for HT_RX_TCP6. */
static size_t mk_tcp(const struct ht_flow *f, uint8_t *out, uint16_t sport, uint16_t dport,
                     uint32_t ack, uint8_t flags, uint8_t doff)
{
	uint8_t *t = f->family == AF_INET ? out + 20 : out;
	ht_addr a = f->dst;

	memset(out, 0, 60);
	put16(t, sport);
	put16(t + 2, dport);
	t[4] = 0x11; /* their ISN, irrelevant */
	t[8] = (uint8_t)(ack >> 24);
	t[9] = (uint8_t)(ack >> 16);
	t[10] = (uint8_t)(ack >> 8);
	t[11] = (uint8_t)ack;
	t[12] = (uint8_t)(doff << 4);
	t[13] = flags;
	if (f->family == AF_INET6)
		return 20;
	out[0] = 0x45;
	put16(out + 2, 40);
	out[8] = 61;
	out[9] = 6;
	memcpy(out + 12, &a.u.v4, 4);
	memcpy(out + 16, &f->src.u.v4, 4);
	put16(out + 10, ref_fold(ref_sum(0, out, 20)));
	return 40;
}

static int tcp_decode(const struct ht_flow *f, const uint8_t *p, size_t n, struct ht_reply *r)
{
	return ht_reply_decode(f, f->family == AF_INET ? HT_RX_TCP4 : HT_RX_TCP6, p, n, &f->dst, r);
}

static void test_tcp_answers(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t pkt[128];
	size_t n;
	unsigned fi;
	uint32_t tag = 0xd444u << 16; /* 0x4854 ^ 40000 ^ 80 */
	ht_addr other;

	(void)state;
	for (fi = 0; fi < 2; fi++) {
		tflow(&f, fams[fi], HT_METHOD_TCP, false);
		n = mk_tcp(&f, pkt, 80, 40000, tag + 9 + 1, 0x12, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), 0);
		assert_int_equal(r.kind, HT_REPLY_TCP_SYNACK);
		assert_int_equal(r.seq, 9);
		assert_true(ht_addr_equal(&r.from, &f.dst));
		assert_int_equal(r.reply_ttl, fams[fi] == AF_INET ? 61 : 0);

		n = mk_tcp(&f, pkt, 80, 40000, tag + 0xffff + 1, 0x14, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), 0);
		assert_int_equal(r.kind, HT_REPLY_TCP_RST);
		assert_int_equal(r.seq, 0xffff);

		/* RST without ACK acknowledges nothing */
		n = mk_tcp(&f, pkt, 80, 40000, tag + 10, 0x04, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), -ENOENT);
		/* a bare ACK or SYN is not an answer to a SYN */
		n = mk_tcp(&f, pkt, 80, 40000, tag + 10, 0x10, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), -ENOENT);
		/* other ports, other ISN */
		n = mk_tcp(&f, pkt, 81, 40000, tag + 10, 0x12, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), -ENOENT);
		n = mk_tcp(&f, pkt, 80, 40001, tag + 10, 0x12, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), -ENOENT);
		n = mk_tcp(&f, pkt, 80, 40000, 0x12340000 + 10, 0x12, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), -ENOENT);
		/* lying data offset */
		n = mk_tcp(&f, pkt, 80, 40000, tag + 10, 0x12, 4);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), -EINVAL);
		n = mk_tcp(&f, pkt, 80, 40000, tag + 10, 0x12, 6);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), -EINVAL);
		/* truncated */
		n = mk_tcp(&f, pkt, 80, 40000, tag + 10, 0x12, 5);
		assert_int_equal(tcp_decode(&f, pkt, n - 1, &r), -EINVAL);

		/* classic: our source port said which probe */
		tflow(&f, fams[fi], HT_METHOD_TCP, true);
		n = mk_tcp(&f, pkt, 80, 40003, tag + 3 + 1, 0x12, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), 0);
		assert_int_equal(r.seq, 3);
		n = mk_tcp(&f, pkt, 80, 40004, tag + 3 + 1, 0x12, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), -ENOENT);

		/* from someone other than the destination */
		tflow(&f, fams[fi], HT_METHOD_TCP, false);
		n = mk_tcp(&f, pkt, 80, 40000, tag + 1, 0x12, 5);
		other = taddr(fams[fi] == AF_INET ? HOP4 : HOP6);
		if (fams[fi] == AF_INET) {
			memcpy(pkt + 12, &other.u.v4, 4);
			assert_int_equal(ht_reply_decode(&f, HT_RX_TCP4, pkt, n, &other, &r), -ENOENT);
		} else {
			assert_int_equal(ht_reply_decode(&f, HT_RX_TCP6, pkt, n, &other, &r), -ENOENT);
		}
		/* a UDP flow has no TCP answers */
		tflow(&f, fams[fi], HT_METHOD_UDP, false);
		n = mk_tcp(&f, pkt, 33434, 40000, tag + 1, 0x12, 5);
		assert_int_equal(tcp_decode(&f, pkt, n, &r), -ENOENT);
	}
}

/* Rewrite one quoted byte region of a v4/v6 time exceeded built from a
 * probe of flow f, keeping the outer ICMPv4 checksum right. */
static size_t te_with(const struct ht_flow *f, uint16_t seq, enum qkind k, uint8_t *pkt,
                      void (*edit)(uint8_t *q, size_t qlen, void *arg), void *arg)
{
	uint8_t q[256];
	size_t qlen = quote(f, seq, k, 1, q);

	if (edit)
		edit(q, qlen, arg);
	return mk_time_exceeded(f, pkt, q, qlen);
}

struct poke {
	size_t off;
	uint8_t val;
};

static void do_poke(uint8_t *q, size_t qlen, void *arg)
{
	const struct poke *p = arg;

	if (p->off < qlen)
		q[p->off] = p->val;
}

static void expect(const struct ht_flow *f, uint16_t seq, enum qkind k, size_t off, uint8_t val,
                   int rc, uint16_t want_seq)
{
	struct poke p = {off, val};
	struct ht_reply r;
	uint8_t pkt[512];
	size_t n = te_with(f, seq, k, pkt, do_poke, &p);
	int got = decode(f, pkt, n, &r);

	if (got != rc)
		fail_msg("method %d family %d classic %d off %zu val %#x: rc %d, want %d", f->method,
		         f->family, f->classic, off, val, got, rc);
	if (rc == 0 && r.seq != want_seq)
		fail_msg("method %d off %zu: seq %u, want %u", f->method, off, r.seq, want_seq);
}

static void test_not_ours(void **state)
{
	struct ht_flow f;
	unsigned fi, m;
	size_t ihl, dst;

	(void)state;
	for (fi = 0; fi < 2; fi++) {
		ihl = fams[fi] == AF_INET ? 20 : 40;
		dst = fams[fi] == AF_INET ? 19 : 39; /* last byte of the quoted destination */
		for (m = HT_METHOD_UDP; m <= HT_METHOD_TCP; m++) {
			tflow(&f, fams[fi], (enum ht_method)m, false);
			expect(&f, 5, Q_RFC792, 9999, 0, 0, 5);             /* sanity: untouched */
			expect(&f, 5, Q_RFC792, dst, 0x0a, -ENOENT, 0);      /* other destination */
			/* Another source: another host's packet, or a forgery that
			 * would put its sender on our path (hostile-forged-*). */
			expect(&f, 5, Q_RFC792, fams[fi] == AF_INET ? 15 : 23, 0x41, -ENOENT, 0);
			expect(&f, 5, Q_FULL, fams[fi] == AF_INET ? 12 : 8, 0x0a, -ENOENT, 0);
			expect(&f, 5, Q_RFC792, fams[fi] == AF_INET ? 9 : 6, 0x84, -ENOENT, 0); /* SCTP */
		}
		/* UDP: other source port, other destination port */
		tflow(&f, fams[fi], HT_METHOD_UDP, false);
		expect(&f, 5, Q_RFC792, ihl + 1, 0x41, -ENOENT, 0);
		expect(&f, 5, Q_RFC792, ihl + 3, 0x9b, -ENOENT, 0);
		expect(&f, 5, Q_FULL, ihl + 3, 0x9b, -ENOENT, 0);
		/* ICMP: other id, not an echo request */
		tflow(&f, fams[fi], HT_METHOD_ICMP, false);
		expect(&f, 5, Q_RFC792, ihl + 5, 0x35, -ENOENT, 0);
		expect(&f, 5, Q_RFC792, ihl + 0, 0x00, -ENOENT, 0);
		expect(&f, 5, Q_RFC792, ihl + 1, 0x01, -ENOENT, 0);
		/* TCP: other ports */
		tflow(&f, fams[fi], HT_METHOD_TCP, false);
		expect(&f, 5, Q_RFC792, ihl + 1, 0x41, -ENOENT, 0);
		expect(&f, 5, Q_RFC792, ihl + 3, 0x51, -ENOENT, 0);
		/* classic UDP: the source port is ours, any destination port is a seq */
		tflow(&f, fams[fi], HT_METHOD_UDP, true);
		expect(&f, 5, Q_RFC792, ihl + 1, 0x41, -ENOENT, 0);
	}
	/* IPv6 ICMP: a checksum that is not ours (no IP ID to vouch for it) */
	tflow(&f, AF_INET6, HT_METHOD_ICMP, false);
	expect(&f, 5, Q_RFC792, 40 + 3, 0x00, -ENOENT, 0);
	/* IPv6 TCP: a sequence number without our tag */
	tflow(&f, AF_INET6, HT_METHOD_TCP, false);
	expect(&f, 5, Q_RFC792, 40 + 4, 0x00, -ENOENT, 0);
	/* IPv4 Paris UDP, full quote: the payload word agrees with neither the
	 * IP ID nor the checksum, which agree with each other. The payload is
	 * the weaker witness: a router that quotes 8 bytes and appends RFC
	 * 4884 extensions pads the quote with zeros. */
	tflow(&f, AF_INET, HT_METHOD_UDP, false);
	expect(&f, 5, Q_FULL, 20 + 9, 0x44, 0, 5);
	expect(&f, 5, Q_FULL, 20 + 8, 0x00, 0, 5);
}

/*
 * TCP with one source port per query column (ncols 3): quotes and
 * answers name a probe only through the port of its own column. A quote
 * or answer whose port is another column's, or past the last column, is
 * not ours, even with our tag or IP ID.
 */
static void test_tcp_columns(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t q[256], pkt[512];
	size_t qlen, plen, ihl;
	unsigned fi, s, col;
	uint32_t tag = 0xd444u << 16; /* of the base port 40000 */

	(void)state;
	for (fi = 0; fi < 2; fi++) {
		ihl = fams[fi] == AF_INET ? 20 : 40;
		tflow(&f, fams[fi], HT_METHOD_TCP, false);
		f.ncols = 3;
		for (s = 0; s < sizeof(seqs) / sizeof(seqs[0]); s++) {
			uint16_t seq = seqs[s];
			/* The genuine quote and answers. */
			qlen = quote(&f, seq, Q_RFC792, 1, q);
			assert_int_equal(get16(q + ihl), 40000 + seq % 3);
			plen = mk_time_exceeded(&f, pkt, q, qlen);
			assert_int_equal(decode(&f, pkt, plen, &r), 0);
			assert_int_equal(r.seq, seq);
			plen = mk_tcp(&f, pkt, 80, (uint16_t)(40000 + seq % 3), tag + seq + 1, 0x12, 5);
			assert_int_equal(tcp_decode(&f, pkt, plen, &r), 0);
			assert_int_equal(r.seq, seq);
			assert_int_equal(r.kind, HT_REPLY_TCP_SYNACK);
			plen = mk_tcp(&f, pkt, 80, (uint16_t)(40000 + seq % 3), tag + seq + 1, 0x14, 5);
			assert_int_equal(tcp_decode(&f, pkt, plen, &r), 0);
			assert_int_equal(r.kind, HT_REPLY_TCP_RST);
			/* Every other port, in and past the columns. */
			for (col = 0; col < 5; col++) {
				if (col == seq % 3u)
					continue;
				qlen = quote(&f, seq, Q_RFC792, 1, q);
				put16(q + ihl, (uint16_t)(40000 + col));
				plen = mk_time_exceeded(&f, pkt, q, qlen);
				assert_int_equal(decode(&f, pkt, plen, &r), -ENOENT);
				plen = mk_tcp(&f, pkt, 80, (uint16_t)(40000 + col), tag + seq + 1, 0x14, 5);
				assert_int_equal(tcp_decode(&f, pkt, plen, &r), -ENOENT);
			}
		}
	}
	/* IPv4, ISN rewritten by a firewall: the IP ID names probe 5, whose
	 * column is 2; the quote's port must still be 40002. */
	tflow(&f, AF_INET, HT_METHOD_TCP, false);
	f.ncols = 3;
	expect(&f, 5, Q_RFC792, 20 + 4, 0x00, 0, 5);
	qlen = quote(&f, 5, Q_RFC792, 1, q);
	q[24] = 0x00;
	put16(q + 20, 40001);
	plen = mk_time_exceeded(&f, pkt, q, qlen);
	assert_int_equal(decode(&f, pkt, plen, &r), -ENOENT);
}

/*
 * NAT on the path: the quoted transport checksum was rewritten (the
 * NAT changed our source address and did not restore the checksum in
 * the quote), or a firewall randomised the IP ID or the TCP ISN. See
 * the rule in lib/method/udp.c.
 */
static void test_nat_robust(void **state)
{
	struct ht_flow f;

	(void)state;
	tflow(&f, AF_INET, HT_METHOD_UDP, false);
	/* checksum altered, 8-byte quote: IP ID decides */
	expect(&f, 77, Q_RFC792, 20 + 6, 0xbe, 0, 77);
	expect(&f, 77, Q_RFC792, 20 + 7, 0xef, 0, 77);
	/* checksum altered, full quote: payload and IP ID agree */
	expect(&f, 77, Q_FULL, 20 + 6, 0xbe, 0, 77);
	/* IP ID rewritten, full quote: payload and checksum agree */
	expect(&f, 77, Q_FULL, 4, 0x99, 0, 77);
	/* IP ID zeroed and 8-byte quote: the checksum decides */
	{
		struct ht_reply r;
		uint8_t q[256], pkt[512];
		size_t qlen = quote(&f, 77, Q_RFC792, 1, q), n;

		q[4] = q[5] = 0;
		n = mk_time_exceeded(&f, pkt, q, qlen);
		assert_int_equal(decode(&f, pkt, n, &r), 0);
		assert_int_equal(r.seq, 77);
	}
	/* ICMP: checksum altered (e.g. id rewritten and restored without
	 * fixing it), IP ID still says seq 77 */
	tflow(&f, AF_INET, HT_METHOD_ICMP, false);
	expect(&f, 77, Q_RFC792, 20 + 2, 0x00, 0, 77);
	expect(&f, 77, Q_RFC792, 20 + 2, 0x00, 0, 77);
	/* ... but not when the IP ID disagrees too */
	{
		struct ht_reply r;
		uint8_t q[256], pkt[512];
		size_t qlen = quote(&f, 77, Q_RFC792, 1, q), n;

		q[20 + 2] ^= 0xff;
		q[5] ^= 0x01;
		n = mk_time_exceeded(&f, pkt, q, qlen);
		assert_int_equal(decode(&f, pkt, n, &r), -ENOENT);
	}
	/* TCP: ISN randomised by a firewall, IP ID still says 77 */
	tflow(&f, AF_INET, HT_METHOD_TCP, false);
	expect(&f, 77, Q_RFC792, 20 + 4, 0x01, 0, 77);
	/* routers rewrote the TOS: reported, not rejected */
	{
		struct ht_reply r;
		uint8_t q[256], pkt[512];
		size_t qlen = quote(&f, 77, Q_RFC792, 0, q), n;

		q[1] = 0xb8;
		n = mk_time_exceeded(&f, pkt, q, qlen);
		assert_int_equal(decode(&f, pkt, n, &r), 0);
		assert_int_equal(r.quoted_tos, 0xb8);
		assert_int_equal(r.quoted_ttl, 0);
	}
}

static void test_malformed_v4(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t q[256], pkt[512], tmp[512];
	size_t qlen, n, len;
	ht_addr hop = taddr(HOP4), other = taddr(DST4);
	int rc;

	(void)state;
	tflow(&f, AF_INET, HT_METHOD_UDP, false);
	qlen = quote(&f, 5, Q_FULL, 1, q);
	n = mk_time_exceeded(&f, pkt, q, qlen);
	assert_int_equal(decode(&f, pkt, n, &r), 0);

	/* The socket buffer cut the packet: the IP total length lies. */
	for (len = 0; len < n; len++) {
		memcpy(tmp, pkt, len);
		assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP4, len ? tmp : NULL, len, &hop, &r),
		                 -EINVAL);
	}
	/* The router quoted less: consistent lengths, shorter quotes. Below
	 * 20 + 8 quoted bytes nothing identifies the probe. */
	for (len = 0; len <= qlen; len++) {
		n = mk_time_exceeded(&f, tmp, q, len);
		rc = decode(&f, tmp, n, &r);
		if (len < 28)
			assert_int_equal(rc, -EINVAL);
		else if (rc != 0 || r.seq != 5)
			fail_msg("quote of %zu bytes: rc %d seq %u", len, rc, r.seq);
	}

#define MUTATE(off, val, want)                                                         \
	do {                                                                           \
		uint8_t qq[256];                                                       \
		memcpy(qq, q, qlen);                                                   \
		qq[off] = (val);                                                       \
		n = mk_time_exceeded(&f, tmp, qq, qlen);                               \
		assert_int_equal(decode(&f, tmp, n, &r), want);                        \
	} while (0)
	MUTATE(0, 0x44, -EINVAL);  /* quoted IHL 4 */
	MUTATE(0, 0x40, -EINVAL);  /* quoted IHL 0 */
	MUTATE(0, 0x4f, -EINVAL);  /* quoted IHL 15: no transport bytes left */
	MUTATE(0, 0x65, -EINVAL);  /* quoted version 6 */
	MUTATE(3, 0x13, -EINVAL);  /* quoted total length 19 < IHL */
	MUTATE(3, 0x1b, -EINVAL);  /* quoted total length 27: fewer than 8 transport bytes */
	MUTATE(6, 0x20, 0);        /* MF set on the first fragment: still parsed */
	MUTATE(7, 0x01, -ENOENT);  /* a later fragment: no transport header */
	MUTATE(10, 0xff, 0);       /* quoted header checksum is not checked */
	MUTATE(2, 0xff, 0);        /* quoted total length larger than quoted: truncated quote */
#undef MUTATE

	/* Outer header: bad header checksum is tolerated (the kernel
	 * checked it), bad IHL / lengths / ICMP checksum are not. */
	n = mk_time_exceeded(&f, pkt, q, qlen);
	memcpy(tmp, pkt, n);
	tmp[10] ^= 0x55;
	assert_int_equal(decode(&f, tmp, n, &r), 0);
	memcpy(tmp, pkt, n);
	tmp[0] = 0x44;
	assert_int_equal(decode(&f, tmp, n, &r), -EINVAL);
	memcpy(tmp, pkt, n);
	tmp[0] = 0x46; /* IHL 6 eats the ICMP header: checksum fails */
	assert_int_equal(decode(&f, tmp, n, &r), -EINVAL);
	memcpy(tmp, pkt, n);
	tmp[0] = 0x55;
	assert_int_equal(decode(&f, tmp, n, &r), -EINVAL);
	memcpy(tmp, pkt, n);
	put16(tmp + 2, 19);
	assert_int_equal(decode(&f, tmp, n, &r), -EINVAL);
	memcpy(tmp, pkt, n);
	put16(tmp + 2, 27); /* ICMP header cut to 7 bytes */
	assert_int_equal(decode(&f, tmp, n, &r), -EINVAL);
	memcpy(tmp, pkt, n);
	tmp[30] ^= 1; /* ICMP checksum no longer verifies */
	assert_int_equal(decode(&f, tmp, n, &r), -EINVAL);
	memcpy(tmp, pkt, n);
	tmp[9] = 17; /* not ICMP */
	assert_int_equal(decode(&f, tmp, n, &r), -ENOENT);
	memcpy(tmp, pkt, n);
	tmp[6] = 0x20; /* outer fragment */
	assert_int_equal(decode(&f, tmp, n, &r), -ENOENT);
	/* The socket says another sender than the header. */
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP4, pkt, n, &other, &r), -EINVAL);
	/* No `from`: the header is the only word. */
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP4, pkt, n, NULL, &r), 0);
	/* RFC 4884 length larger than the message: a lie that costs the
	 * extensions, not the hop (the rest of the message is the quote). */
	n = mk_icmp4(tmp, HOP4, SRC4, 11, 0, 0x00ff0000, q, qlen);
	assert_int_equal(decode(&f, tmp, n, &r), 0);
	assert_int_equal(r.kind, HT_REPLY_TIME_EXCEEDED);
	assert_int_equal(r.n_mpls, 0);
	/* RFC 4884 length shorter than the IP header of the quote. */
	n = mk_icmp4(tmp, HOP4, SRC4, 11, 0, 0x00040000, q, qlen);
	assert_int_equal(decode(&f, tmp, n, &r), -EINVAL);
	/* Wrong family for the flow, bad kind, NULLs. */
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP6, pkt, n, &hop, &r), -EINVAL);
	assert_int_equal(ht_reply_decode(&f, (enum ht_rx_kind)9, pkt, n, &hop, &r), -EINVAL);
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP4, pkt, n, &hop, NULL), -EINVAL);
	assert_int_equal(ht_reply_decode(NULL, HT_RX_ICMP4, pkt, n, &hop, &r), -EINVAL);
}

static void test_malformed_v6(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t q[256], pkt[512], tmp[512];
	size_t qlen, n, len;
	unsigned m;
	ht_addr hop = taddr(HOP6);
	int rc;

	(void)state;
	for (m = HT_METHOD_UDP; m <= HT_METHOD_TCP; m++) {
		tflow(&f, AF_INET6, (enum ht_method)m, false);
		qlen = quote(&f, 5, Q_FULL, 1, q);
		n = mk_time_exceeded(&f, pkt, q, qlen);
		/* No length field to catch a cut: every prefix is either an
		 * error or, from 8 + 40 + 8 bytes on, a decodable quote. */
		for (len = 0; len <= n; len++) {
			memcpy(tmp, pkt, len);
			rc = ht_reply_decode(&f, HT_RX_ICMP6, len ? tmp : NULL, len, &hop, &r);
			if (len < 56)
				assert_int_equal(rc, -EINVAL);
			else if (rc != 0 || r.seq != 5)
				fail_msg("method %u len %zu: rc %d seq %u", m, len, rc, r.seq);
		}
	}
	tflow(&f, AF_INET6, HT_METHOD_UDP, false);
	qlen = quote(&f, 5, Q_FULL, 1, q);
	n = mk_time_exceeded(&f, pkt, q, qlen);
	memcpy(tmp, pkt, n);
	tmp[8] = 0x45; /* quoted version 4 */
	assert_int_equal(decode(&f, tmp, n, &r), -EINVAL);
	memcpy(tmp, pkt, n);
	tmp[8 + 4] = 0;
	tmp[8 + 5] = 7; /* quoted payload length 7 */
	assert_int_equal(decode(&f, tmp, n, &r), -EINVAL);
	memcpy(tmp, pkt, n);
	tmp[8 + 6] = 0; /* a hop-by-hop header we never send */
	assert_int_equal(decode(&f, tmp, n, &r), -ENOENT);
	/* RFC 4884 length (64-bit words) beyond the message: extensions
	 * ignored, the reply still counts */
	n = mk_icmp6(tmp, 3, 0, 0x10000000, q, qlen);
	assert_int_equal(decode(&f, tmp, n, &r), 0);
	assert_int_equal(r.n_mpls, 0);
	/* the socket must say who sent it */
	n = mk_time_exceeded(&f, pkt, q, qlen);
	assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP6, pkt, n, NULL, &r), -EINVAL);
	{
		ht_addr v4 = taddr(HOP4);
		assert_int_equal(ht_reply_decode(&f, HT_RX_ICMP6, pkt, n, &v4, &r), -EINVAL);
	}
}

/* Random bytes and random mutations of valid replies: never a crash
 * (this runs under ASan/UBSan), only 0, -ENOENT or -EINVAL. */
static void test_random(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t q[256], pkt[512], tmp[512];
	size_t qlen, n, len;
	unsigned i, j, fi, m, seed = 12345;
	int rc;

	(void)state;
	for (fi = 0; fi < 2; fi++)
		for (m = HT_METHOD_UDP; m <= HT_METHOD_TCP; m++) {
			tflow(&f, fams[fi], (enum ht_method)m, m == HT_METHOD_UDP && fi);
			qlen = quote(&f, 5, Q_FULL, 1, q);
			n = mk_time_exceeded(&f, pkt, q, qlen);
			for (i = 0; i < 20000; i++) {
				seed = seed * 1103515245u + 12345u;
				len = (seed >> 8) % (n + 1);
				memcpy(tmp, pkt, n);
				for (j = 0; j < 1 + (seed >> 20) % 4; j++) {
					seed = seed * 1103515245u + 12345u;
					tmp[(seed >> 8) % n] = (uint8_t)(seed >> 16);
				}
				if (i % 7 == 0)
					for (j = 0; j < len; j++) {
						seed = seed * 1103515245u + 12345u;
						tmp[j] = (uint8_t)(seed >> 16);
					}
				rc = decode(&f, tmp, len, &r);
				assert_true(rc == 0 || rc == -ENOENT || rc == -EINVAL);
				rc = ht_reply_decode(&f, fams[fi] == AF_INET ? HT_RX_TCP4 : HT_RX_TCP6,
				                     tmp, len, &f.dst, &r);
				assert_true(rc == 0 || rc == -ENOENT || rc == -EINVAL);
			}
		}
}

/* A UDP service at the destination answers (HT_RX_UDP: the datagram's UDP
 * header as the I/O layer rebuilds it, then the payload). */
static size_t mk_udp(uint8_t *d, uint16_t sport, uint16_t dport, const uint8_t *pl, size_t n)
{
	d[0] = (uint8_t)(sport >> 8), d[1] = (uint8_t)sport;
	d[2] = (uint8_t)(dport >> 8), d[3] = (uint8_t)dport;
	d[4] = 0, d[5] = (uint8_t)(8 + n), d[6] = d[7] = 0;
	memcpy(d + 8, pl, n);
	return 8 + n;
}

static void test_udp_service_answer(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	uint8_t d[64];
	const uint8_t id[] = {0x00, 0x2a, 0x81, 0x80}; /* DNS: ID 42, then flags */
	size_t n;

	(void)state;
	for (int fi = 0; fi < 2; fi++) {
		ht_addr dst = taddr(fams[fi] == AF_INET ? DST4 : DST6);
		ht_addr hop = taddr(fams[fi] == AF_INET ? HOP4 : HOP6);
		ht_addr other = taddr(fams[fi] == AF_INET ? DST6 : DST4);

		tflow(&f, fams[fi], HT_METHOD_UDP, false);
		/* Paris: from the probed port to ours, the first word names it. */
		n = mk_udp(d, 33434, 40000, id, sizeof(id));
		memset(&r, 0, sizeof(r));
		assert_int_equal(ht_reply_decode(&f, HT_RX_UDP, d, n, &dst, &r), 0);
		assert_int_equal(r.kind, HT_REPLY_UDP_REPLY);
		assert_int_equal(r.seq, 42);
		assert_int_equal(r.annot, HT_ANN_NONE);
		assert_true(ht_addr_equal(&r.from, &dst));
		/* from anyone but the destination, another port, to another
		 * port of ours, too short to name a probe: not ours */
		assert_int_equal(ht_reply_decode(&f, HT_RX_UDP, d, n, &hop, &r), -ENOENT);
		n = mk_udp(d, 33435, 40000, id, sizeof(id));
		assert_int_equal(ht_reply_decode(&f, HT_RX_UDP, d, n, &dst, &r), -ENOENT);
		n = mk_udp(d, 33434, 40001, id, sizeof(id));
		assert_int_equal(ht_reply_decode(&f, HT_RX_UDP, d, n, &dst, &r), -ENOENT);
		n = mk_udp(d, 33434, 40000, id, 1);
		assert_int_equal(ht_reply_decode(&f, HT_RX_UDP, d, n, &dst, &r), -ENOENT);
		/* no UDP header at all; a sender of the other family */
		assert_int_equal(ht_reply_decode(&f, HT_RX_UDP, d, 7, &dst, &r), -EINVAL);
		assert_int_equal(ht_reply_decode(&f, HT_RX_UDP, d, n, &other, &r), -EINVAL);
		/* Classic: the port it answers from names the probe, whatever
		 * the payload says. */
		tflow(&f, fams[fi], HT_METHOD_UDP, true);
		n = mk_udp(d, 33434 + 7, 40000, id, 0);
		assert_int_equal(ht_reply_decode(&f, HT_RX_UDP, d, n, &dst, &r), 0);
		assert_int_equal(r.seq, 7);
		/* Only a UDP trace has a UDP socket that services answer. */
		tflow(&f, fams[fi], HT_METHOD_ICMP, false);
		n = mk_udp(d, 33434, 40000, id, sizeof(id));
		assert_int_equal(ht_reply_decode(&f, HT_RX_UDP, d, n, &dst, &r), -ENOENT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_udp_seq_ffff),
		cmocka_unit_test(test_icmp4_types),   cmocka_unit_test(test_icmp6_types),
		cmocka_unit_test(test_echo_reply),    cmocka_unit_test(test_tcp_answers),
		cmocka_unit_test(test_not_ours),      cmocka_unit_test(test_nat_robust),
		cmocka_unit_test(test_malformed_v4),  cmocka_unit_test(test_malformed_v6),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_udp_service_answer),
		cmocka_unit_test(test_tcp_columns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
