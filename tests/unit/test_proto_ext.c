/*
 * ICMP extensions: RFC 4884 structure (explicit length and legacy
 * offset), RFC 4950 MPLS label stacks, RFC 5837 interface information,
 * and objects with lying lengths.
 */
#include "proto_test_util.h"

/* An extension structure under construction. */
struct ext {
	uint8_t b[512];
	size_t n;
};

static void ext_begin(struct ext *e)
{
	memset(e, 0, sizeof(*e));
	e->b[0] = 0x20; /* version 2 */
	e->n = 4;
}

static void ext_obj(struct ext *e, uint8_t cls, uint8_t ctype, const uint8_t *body, size_t blen)
{
	put16(e->b + e->n, (uint16_t)(4 + blen));
	e->b[e->n + 2] = cls;
	e->b[e->n + 3] = ctype;
	memcpy(e->b + e->n + 4, body, blen);
	e->n += 4 + blen;
}

static void ext_sum(struct ext *e)
{
	put16(e->b + 2, 0);
	put16(e->b + 2, ref_fold(ref_sum(0, e->b, e->n)));
}

static void mpls_entry(uint8_t *p, uint32_t label, uint8_t tc, uint8_t s, uint8_t ttl)
{
	uint32_t v = label << 12 | (uint32_t)tc << 9 | (uint32_t)s << 8 | ttl;

	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * An ICMP error message (no outer IP header): type/code, the RFC 4884
 * length attribute (`words`, placed per family), the quote zero padded to
 * `qpad` bytes, then the extension structure. ICMPv4 checksum filled in.
 */
static size_t mk_msg(int family, uint8_t type, uint8_t words, const uint8_t *q, size_t qlen,
                     size_t qpad, const struct ext *e, uint8_t *out)
{
	size_t n;

	memset(out, 0, 8 + qpad);
	out[0] = type;
	if (family == AF_INET)
		out[5] = words;
	else
		out[4] = words;
	memcpy(out + 8, q, qlen < qpad ? qlen : qpad);
	n = 8 + qpad;
	if (e) {
		memcpy(out + n, e->b, e->n);
		n += e->n;
	}
	if (family == AF_INET) {
		put16(out + 2, 0);
		put16(out + 2, ref_fold(ref_sum(0, out, n)));
	}
	return n;
}

static void two_labels(struct ext *e)
{
	uint8_t body[8];

	mpls_entry(body, 16004, 0, 0, 1);
	mpls_entry(body + 4, 24001, 5, 1, 1);
	ext_obj(e, 1, 1, body, sizeof(body));
}

/* RFC 5837 object, C-Type 0x0f (role 0 incoming; ifIndex, address, name,
 * MTU): ifIndex 7, 198.18.5.5, "ge-0/0/1" (8 bytes + length byte ->
 * padded to 12), MTU 1500. */
static void ifinfo_v4(struct ext *e, uint8_t role)
{
	uint8_t body[64] = {0};
	size_t n = 0;

	body[3] = 7; /* ifIndex */
	n = 4;
	put16(body + n, 1); /* AFI IPv4 */
	n += 4;
	body[n++] = 198;
	body[n++] = 18;
	body[n++] = 5;
	body[n++] = 5;
	body[n] = 12; /* name sub-object length */
	memcpy(body + n + 1, "ge-0/0/1", 8);
	n += 12;
	put16(body + n + 2, 1500);
	n += 4;
	ext_obj(e, 2, (uint8_t)(role << 6 | 0x0f), body, n);
}

static void test_rfc4884_v4(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	struct ext e;
	uint8_t q[256], msg[600], pkt[700];
	size_t qlen, n;
	ht_addr want = taddr(HOP4);
	char buf[64];

	(void)state;
	tflow(&f, AF_INET, HT_METHOD_UDP, false);
	qlen = wire_probe(&f, 9, 1, q, sizeof(q));
	ext_begin(&e);
	two_labels(&e);
	ifinfo_v4(&e, 0);
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 32, q, qlen, 128, &e, msg);

	memset(&r, 0, sizeof(r));
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 2);
	assert_int_equal(r.mpls[0].label, 16004);
	assert_int_equal(r.mpls[0].tc, 0);
	assert_int_equal(r.mpls[0].s, 0);
	assert_int_equal(r.mpls[0].ttl, 1);
	assert_int_equal(r.mpls[1].label, 24001);
	assert_int_equal(r.mpls[1].tc, 5);
	assert_int_equal(r.mpls[1].s, 1);
	assert_true(r.has_ifinfo);
	assert_int_equal(r.if_index, 7);
	assert_true(ht_addr_equal(&r.if_addr, &want));
	assert_string_equal(r.if_name, "ge-0/0/1");
	assert_int_equal(r.if_mtu, 1500);

	/* The whole reply decodes, with the extensions attached. */
	n = mk_icmp4(pkt, HOP4, SRC4, 11, 0, 32u << 16, msg + 8, n - 8);
	memset(&r, 0, sizeof(r));
	assert_int_equal(decode(&f, pkt, n, &r), 0);
	assert_int_equal(r.seq, 9);
	assert_int_equal(r.n_mpls, 2);
	assert_int_equal(r.mpls[1].label, 24001);
	assert_string_equal(r.if_name, "ge-0/0/1");
	assert_string_equal(ht_addr_str(&r.if_addr, buf, sizeof(buf)), HOP4);

	/* A checksum of zero means "none sent" (RFC 4884 section 7). */
	put16(e.b + 2, 0);
	n = mk_msg(AF_INET, 11, 32, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 2);
	/* Any other wrong checksum is rejected, leaving nothing behind; the
	 * reply itself still decodes (a broken extension costs the
	 * extension, not the hop). */
	put16(e.b + 2, 0x1234);
	n = mk_msg(AF_INET, 11, 32, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), -EINVAL);
	assert_int_equal(r.n_mpls, 0);
	assert_false(r.has_ifinfo);
	n = mk_icmp4(pkt, HOP4, SRC4, 11, 0, 32u << 16, msg + 8, n - 8);
	assert_int_equal(decode(&f, pkt, n, &r), 0);
	assert_int_equal(r.seq, 9);
	assert_int_equal(r.n_mpls, 0);

	/* Destination unreachable and parameter problem carry them too. */
	ext_sum(&e);
	n = mk_msg(AF_INET, 3, 32, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 2);
	n = mk_msg(AF_INET, 12, 32, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 2);
	/* Echo replies do not. */
	n = mk_msg(AF_INET, 0, 32, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 0);
}

static void test_rfc4884_v6(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	struct ext e;
	uint8_t q[256], msg[600], body[64] = {0};
	size_t qlen, n;
	ht_addr want = taddr("2001:db8:5::5");

	(void)state;
	tflow(&f, AF_INET6, HT_METHOD_ICMP, false);
	qlen = wire_probe(&f, 11, 1, q, sizeof(q));
	ext_begin(&e);
	two_labels(&e);
	/* Interface object with only an IPv6 address (C-Type 0x04). */
	put16(body, 2);
	memcpy(body + 4, want.u.v6.s6_addr, 16);
	ext_obj(&e, 2, 0x04, body, 20);
	ext_sum(&e);
	/* 128 bytes = 16 64-bit words */
	n = mk_msg(AF_INET6, 3, 16, q, qlen, 128, &e, msg);
	memset(&r, 0, sizeof(r));
	assert_int_equal(decode(&f, msg, n, &r), 0);
	assert_int_equal(r.seq, 11);
	assert_int_equal(r.n_mpls, 2);
	assert_true(r.has_ifinfo);
	assert_int_equal(r.if_index, 0);
	assert_true(ht_addr_equal(&r.if_addr, &want));
	assert_string_equal(r.if_name, "");
	/* Destination unreachable too; packet too big has no length field. */
	n = mk_msg(AF_INET6, 1, 16, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET6, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 2);
	n = mk_msg(AF_INET6, 2, 16, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET6, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 0);
	/* An ICMPv4 length unit would point into the quote: invalid. */
	n = mk_msg(AF_INET6, 3, 32, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET6, msg, n, &r), -EINVAL);
}

/* Pre-RFC 4884 routers: length attribute 0, structure at offset 8 + 128,
 * recognised only by version 2 and a valid non-zero checksum. */
static void test_legacy(void **state)
{
	struct ht_flow f;
	struct ht_reply r;
	struct ext e;
	uint8_t q[256], msg[600], pkt[700];
	size_t qlen, n;

	(void)state;
	tflow(&f, AF_INET, HT_METHOD_TCP, false);
	qlen = wire_probe(&f, 3, 1, q, sizeof(q));
	ext_begin(&e);
	two_labels(&e);
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 0, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 2);
	n = mk_icmp4(pkt, HOP4, SRC4, 11, 0, 0, msg + 8, n - 8);
	assert_int_equal(decode(&f, pkt, n, &r), 0);
	assert_int_equal(r.seq, 3);
	assert_int_equal(r.n_mpls, 2);
	assert_int_equal(r.mpls[0].label, 16004);

	/* Without a checksum it is indistinguishable from quoted data. */
	put16(e.b + 2, 0);
	n = mk_msg(AF_INET, 11, 0, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 0);
	/* Nor with a wrong one, or another version. */
	put16(e.b + 2, 0xbeef);
	n = mk_msg(AF_INET, 11, 0, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 0);
	ext_sum(&e);
	e.b[0] = 0x10;
	n = mk_msg(AF_INET, 11, 0, q, qlen, 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 0);
	/* A message too short for the legacy offset has none. */
	n = mk_msg(AF_INET, 11, 0, q, qlen, 100, NULL, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 0);
}

static void test_mpls_deep_and_other_classes(void **state)
{
	struct ht_reply r;
	struct ext e;
	uint8_t q[128] = {0}, msg[600], body[64];
	size_t n, i;

	(void)state;
	ext_begin(&e);
	/* an unknown class is skipped */
	memset(body, 0xee, 8);
	ext_obj(&e, 99, 1, body, 8);
	/* MPLS class with an unknown C-Type is skipped too */
	ext_obj(&e, 1, 2, body, 8);
	for (i = 0; i < 10; i++)
		mpls_entry(body + 4 * i, (uint32_t)(100 + i), 0, i == 9, (uint8_t)(255 - i));
	ext_obj(&e, 1, 1, body, 40);
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, HT_MAX_MPLS);
	assert_int_equal(r.mpls[7].label, 107);
	assert_int_equal(r.mpls[7].ttl, 248);
	/* label 0xfffff, all bits set */
	ext_begin(&e);
	mpls_entry(body, 0xfffff, 7, 1, 255);
	ext_obj(&e, 1, 1, body, 4);
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 1);
	assert_int_equal(r.mpls[0].label, 0xfffff);
	assert_int_equal(r.mpls[0].tc, 7);
	assert_int_equal(r.mpls[0].s, 1);
	assert_int_equal(r.mpls[0].ttl, 255);
}

/* With several interface objects the incoming interface (role 0) wins. */
static void test_ifinfo_roles_and_names(void **state)
{
	struct ht_reply r;
	struct ext e;
	uint8_t q[128] = {0}, msg[600], body[80] = {0};
	size_t n;

	(void)state;
	ext_begin(&e);
	body[3] = 99; /* role 2 (outgoing), ifIndex only */
	ext_obj(&e, 2, 2 << 6 | 0x08, body, 4);
	ifinfo_v4(&e, 0);
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.if_index, 7);

	/* Only a non-incoming role: it is reported. */
	ext_begin(&e);
	ext_obj(&e, 2, 2 << 6 | 0x08, body, 4);
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_true(r.has_ifinfo);
	assert_int_equal(r.if_index, 99);

	/* A name with a terminal escape and invalid UTF-8 is sanitised; a
	 * 64-byte name sub-object (63 characters) fits. */
	ext_begin(&e);
	memset(body, 0, sizeof(body));
	body[0] = 12;
	memcpy(body + 1, "\x1b[2Jeth\xff", 8);
	ext_obj(&e, 2, 0x02, body, 12);
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_string_equal(r.if_name, "?[2Jeth?");

	ext_begin(&e);
	body[0] = 64;
	memset(body + 1, 'x', 63);
	ext_obj(&e, 2, 0x02, body, 64);
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(strlen(r.if_name), 63);
}

/* Structures that lie about lengths: -EINVAL and nothing filled in, even
 * when a valid object came first. */
static void test_lying_lengths(void **state)
{
	struct ht_reply r;
	struct ext e;
	uint8_t q[128] = {0}, msg[600], body[80] = {0};
	size_t n;
	unsigned i;

	(void)state;
	for (i = 0; i < 12; i++) {
		ext_begin(&e);
		two_labels(&e); /* a good object first */
		memset(body, 0, sizeof(body));
		switch (i) {
		case 0: /* object length 0 */
			put16(e.b + e.n, 0);
			e.n += 4;
			break;
		case 1: /* object length 3 */
			put16(e.b + e.n, 3);
			e.b[e.n + 2] = 1;
			e.n += 4;
			break;
		case 2: /* object longer than the message */
			put16(e.b + e.n, 200);
			e.b[e.n + 2] = 1;
			e.b[e.n + 3] = 1;
			e.n += 8;
			break;
		case 3: /* MPLS stack not a multiple of 4 */
			ext_obj(&e, 1, 1, body, 6);
			break;
		case 4: /* name sub-object length 0 */
			ext_obj(&e, 2, 0x02, body, 4);
			break;
		case 5: /* name sub-object length 5 (not a multiple of 4) */
			body[0] = 5;
			ext_obj(&e, 2, 0x02, body, 8);
			break;
		case 6: /* name sub-object length 68 (> 64) */
			body[0] = 68;
			ext_obj(&e, 2, 0x02, body, 68);
			break;
		case 7: /* name sub-object longer than the object */
			body[0] = 16;
			ext_obj(&e, 2, 0x02, body, 8);
			break;
		case 8: /* unknown AFI */
			put16(body, 3);
			ext_obj(&e, 2, 0x04, body, 8);
			break;
		case 9: /* IPv6 AFI with an IPv4-sized address */
			put16(body, 2);
			ext_obj(&e, 2, 0x04, body, 8);
			break;
		case 10: /* trailing bytes after the announced sub-objects */
			ext_obj(&e, 2, 0x08, body, 8);
			break;
		case 11: /* sub-objects announced but missing (MTU) */
			ext_obj(&e, 2, 0x09, body, 4);
			break;
		}
		ext_sum(&e);
		n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, &e, msg);
		memset(&r, 0x5a, sizeof(r));
		if (ht_icmp_ext_parse(AF_INET, msg, n, &r) != -EINVAL)
			fail_msg("case %u accepted", i);
		assert_int_equal(r.n_mpls, 0);
		assert_false(r.has_ifinfo);
		assert_int_equal(r.if_index, 0);
		assert_int_equal(r.if_addr.family, 0);
		assert_int_equal(r.if_name[0], 0);
	}
	/* The length attribute: under 128 bytes, or beyond the message. */
	ext_begin(&e);
	two_labels(&e);
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 8, q, sizeof(q), 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), -EINVAL);
	n = mk_msg(AF_INET, 11, 200, q, sizeof(q), 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), -EINVAL);
	/* A structure with a header but less than 4 bytes. */
	n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, NULL, msg);
	msg[n++] = 0x20;
	msg[n++] = 0;
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), -EINVAL);
	/* Quote ends exactly at the end of the message: no extensions. */
	n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, NULL, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	/* Unknown version with an explicit length: ignored. */
	e.b[0] = 0x30;
	ext_sum(&e);
	n = mk_msg(AF_INET, 11, 32, q, sizeof(q), 128, &e, msg);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, &r), 0);
	assert_int_equal(r.n_mpls, 0);
	/* Degenerate inputs. */
	assert_int_equal(ht_icmp_ext_parse(AF_INET, NULL, 0, &r), 0);
	assert_int_equal(ht_icmp_ext_parse(AF_INET, msg, n, NULL), -EINVAL);
}

/* Every prefix of a valid extension-bearing message: 0 or -EINVAL, no
 * out-of-bounds reads (ASan). */
static void test_every_length(void **state)
{
	struct ht_reply r;
	struct ext e;
	uint8_t q[128] = {0}, msg[600], *copy;
	size_t n, len;
	int rc, legacy;

	(void)state;
	for (legacy = 0; legacy < 2; legacy++) {
		ext_begin(&e);
		two_labels(&e);
		ifinfo_v4(&e, 0);
		ext_sum(&e);
		n = mk_msg(AF_INET, 11, legacy ? 0 : 32, q, sizeof(q), 128, &e, msg);
		for (len = 0; len <= n; len++) {
			copy = malloc(len ? len : 1);
			assert_non_null(copy);
			memcpy(copy, msg, len);
			rc = ht_icmp_ext_parse(AF_INET, copy, len, &r);
			assert_true(rc == 0 || rc == -EINVAL);
			if (len == n) {
				assert_int_equal(rc, 0);
				assert_int_equal(r.n_mpls, 2);
			} else {
				/* a cut structure never yields data */
				assert_int_equal(r.n_mpls, 0);
			}
			free(copy);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4884_v4),
		cmocka_unit_test(test_rfc4884_v6),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_mpls_deep_and_other_classes),
		cmocka_unit_test(test_ifinfo_roles_and_names),
		cmocka_unit_test(test_lying_lengths),
		cmocka_unit_test(test_every_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
