/*
 * Shared helpers: checksums, addresses, annotations, and the terminal
 * sanitiser (control bytes, escape sequences, invalid UTF-8).
 */
#include "proto_test_util.h"

static void test_csum(void **state)
{
	/* RFC 1071 section 3 example: sum 0xddf2, checksum ~0xddf2. */
	static const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	static const uint8_t odd[] = {0x01, 0x02, 0x03};
	uint8_t big[4000];
	ht_addr s4 = taddr(SRC4), d4 = taddr(DST4), s6 = taddr(SRC6), d6 = taddr(DST6);
	size_t i;

	(void)state;
	assert_int_equal(ht_csum(d, sizeof(d)), 0x220d);
	assert_int_equal(ht_csum_fold(ht_csum_add(0, d, sizeof(d))), 0x220d);
	/* pieces add up in any order (even-length pieces) */
	assert_int_equal(ht_csum_fold(ht_csum_add(ht_csum_add(0, d + 4, 4), d, 4)), 0x220d);
	/* odd length: the last byte is padded with zero */
	assert_int_equal(ht_csum(odd, 3), (uint16_t)~(0x0102 + 0x0300));
	assert_int_equal(ht_csum(NULL, 0), 0xffff);
	/* carries across many words */
	memset(big, 0xff, sizeof(big));
	assert_int_equal(ht_csum(big, sizeof(big)), 0);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(ht_csum(big, sizeof(big)), ref_fold(ref_sum(0, big, sizeof(big))));
	/* pseudo-headers against the reference */
	{
		struct ht_flow f;

		tflow(&f, AF_INET, HT_METHOD_UDP, false);
		assert_int_equal(ht_csum_fold(ht_csum_pseudo(&s4, &d4, 17, 40)),
		                 ref_fold(ref_pseudo(&f, 17, 40)));
		tflow(&f, AF_INET6, HT_METHOD_UDP, false);
		assert_int_equal(ht_csum_fold(ht_csum_pseudo(&s6, &d6, 58, 70000)),
		                 ref_fold(ref_pseudo(&f, 58, 70000)));
	}
}

static void test_addr(void **state)
{
	ht_addr a, b;
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(ht_addr_parse("198.18.0.1", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(ht_addr_str(&a, buf, sizeof(buf)), "198.18.0.1");
	assert_int_equal(ht_addr_parse("2001:db8::1", &b), 0);
	assert_int_equal(b.family, AF_INET6);
	assert_string_equal(ht_addr_str(&b, buf, sizeof(buf)), "2001:db8::1");
	assert_false(ht_addr_equal(&a, &b));
	assert_true(ht_addr_equal(&a, &a));
	assert_int_equal(ht_addr_parse("2001:DB8:0::1", &a), 0);
	assert_true(ht_addr_equal(&a, &b));
	/* numeric only */
	assert_int_equal(ht_addr_parse("localhost", &a), -EINVAL);
	assert_int_equal(ht_addr_parse("198.18.0", &a), -EINVAL);
	assert_int_equal(ht_addr_parse("198.18.0.256", &a), -EINVAL);
	assert_int_equal(ht_addr_parse("2001:db8::1%eth0", &a), -EINVAL);
	assert_int_equal(ht_addr_parse(" 198.18.0.1", &a), -EINVAL);
	assert_int_equal(ht_addr_parse("", &a), -EINVAL);
	assert_int_equal(ht_addr_parse(NULL, &a), -EINVAL);
	/* no address: empty string; too small a buffer: empty, not cut */
	memset(&a, 0, sizeof(a));
	assert_string_equal(ht_addr_str(&a, buf, sizeof(buf)), "");
	assert_true(ht_addr_equal(&a, &a));
	ht_addr_parse("198.18.100.100", &a);
	assert_string_equal(ht_addr_str(&a, buf, 8), "");
}

static void test_annot(void **state)
{
	struct ht_reply r;
	char buf[16], tiny[3];

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "");
	r.annot = HT_ANN_HOST;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!H");
	r.annot = HT_ANN_NET;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!N");
	r.annot = HT_ANN_PROTO;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!P");
	r.annot = HT_ANN_SRCROUTE;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!S");
	r.annot = HT_ANN_FRAG;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!F-0");
	r.mtu = 1492;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!F-1492");
	r.annot = HT_ANN_ADMIN;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!X");
	r.annot = HT_ANN_HOSTPREC;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!V");
	r.annot = HT_ANN_PRECCUT;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!C");
	r.annot = HT_ANN_OTHER;
	r.icmp_code = 12;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!<12>");
	assert_string_equal(ht_annot_str(&r, tiny, sizeof(tiny)), "!<");
	r.annot = HT_ANN_TYPE;
	r.icmp_type = 12;
	r.icmp_code = 0;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!<12-0>");
}

static void san(const char *in, size_t inlen, size_t cap, const char *want)
{
	char out[128];

	memset(out, 'Z', sizeof(out));
	assert_int_equal(ht_sanitize(out, cap, in, inlen), strlen(want));
	assert_string_equal(out, want);
	/* nothing written past dstlen */
	if (cap < sizeof(out))
		assert_int_equal(out[cap], 'Z');
}

static void test_sanitize(void **state)
{
	char out[8];

	(void)state;
	san("router1.example", 15, 64, "router1.example");
	/* terminal escapes lose their ESC, CSI/OSC bytes become '?' */
	san("\x1b]0;pwned\x07host", 14, 64, "?]0;pwned?host");
	san("a\x1b[31mred", 9, 64, "a?[31mred");
	/* C0 controls, DEL, NUL in the middle */
	san("a\tb\nc\rd\x7f" "e\x00" "f", 11, 64, "a?b?c?d?e?f");
	/* C1 controls as UTF-8 (U+009B is a CSI on some terminals) */
	san("x\xc2\x9b" "1m", 5, 64, "x?1m");
	/* C1 as raw Latin-1 bytes: invalid UTF-8 */
	san("x\x9b" "1m", 4, 64, "x?1m");
	/* valid UTF-8 passes whole: e-acute, CJK, emoji */
	san("caf\xc3\xa9", 5, 64, "caf\xc3\xa9");
	san("\xe8\xb7\xaf\xf0\x9f\x9a\x80", 7, 64, "\xe8\xb7\xaf\xf0\x9f\x9a\x80");
	/* invalid: lone continuation, overlong '/', surrogate, > U+10FFFF,
	 * truncated sequence, 0xfe/0xff */
	san("\x80", 1, 64, "?");
	san("\xc0\xaf", 2, 64, "??");
	san("\xe0\x80\xaf", 3, 64, "???");
	san("\xed\xa0\x80", 3, 64, "???");
	san("\xf4\x90\x80\x80", 4, 64, "????");
	san("ab\xe2\x82", 4, 64, "ab??");
	san("\xfe\xff", 2, 64, "??");
	/* bidi overrides (U+202E) and line separator (U+2028) */
	san("a\xe2\x80\xae" "b\xe2\x80\xa8" "c", 9, 64, "a?b?c");
	/* truncation: always terminated, never splits a sequence */
	san("abcdef", 6, 4, "abc");
	san("ab\xc3\xa9", 4, 4, "ab");
	san("ab\xc3\xa9", 4, 5, "ab\xc3\xa9");
	san("", 0, 1, "");
	san("abc", 3, 1, "");
	/* srclen bounds the read: no NUL needed */
	san("abcdef", 3, 64, "abc");
	assert_int_equal(ht_sanitize(out, 0, "abc", 3), 0);
	assert_int_equal(ht_sanitize(NULL, 10, "abc", 3), 0);
	assert_int_equal(ht_sanitize(out, sizeof(out), NULL, 0), 0);
	assert_string_equal(out, "");
}

/* cp as UTF-8 between 'a' and 'b', through ht_sanitize. */
static void san_cp(unsigned cp, const char *want)
{
	char in[8], out[16];
	size_t n = 0;

	in[n++] = 'a';
	if (cp < 0x80) {
		in[n++] = (char)cp;
	} else if (cp < 0x800) {
		in[n++] = (char)(0xc0 | cp >> 6);
		in[n++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		in[n++] = (char)(0xe0 | cp >> 12);
		in[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
		in[n++] = (char)(0x80 | (cp & 0x3f));
	} else {
		in[n++] = (char)(0xf0 | cp >> 18);
		in[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
		in[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
		in[n++] = (char)(0x80 | (cp & 0x3f));
	}
	in[n++] = 'b';
	ht_sanitize(out, sizeof(out), in, n);
	if (want) {
		assert_string_equal(out, want);
	} else {
		/* Kept whole. */
		assert_int_equal(strlen(out), n);
		assert_memory_equal(out, in, n);
	}
}

/* Invisible and text-reordering code points: every range, at both ends,
 * becomes one '?'; the code points just outside pass. */
static void test_sanitize_invisible(void **state)
{
	static const unsigned ranges[][2] = {
		{0x061c, 0x061c},   /* Arabic letter mark */
		{0x200b, 0x200f},   /* zero-width space, ZWNJ, ZWJ, LRM, RLM */
		{0x2028, 0x202e},   /* line/paragraph separators, LRE RLE PDF LRO RLO */
		{0x2060, 0x2064},   /* word joiner, invisible operators */
		{0x2066, 0x2069},   /* LRI RLI FSI PDI */
		{0xfeff, 0xfeff},   /* zero-width no-break space (BOM) */
		{0xe0000, 0xe007f}, /* tag characters */
	};
	(void)state;

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		for (unsigned cp = ranges[i][0]; cp <= ranges[i][1]; cp++)
			san_cp(cp, "a?b");
		san_cp(ranges[i][0] - 1, NULL);
		san_cp(ranges[i][1] + 1, NULL);
	}
	/* The neighbours by name: Arabic semicolon and U+061D, hair space,
	 * hyphen, hyphenation point, narrow no-break space, medium
	 * mathematical space, U+2065 (between two ranges), inhibit symmetric
	 * swapping U+206A, U+FEFE, U+E0080. */
	san_cp(0x061b, NULL);
	san_cp(0x200a, NULL);
	san_cp(0x2010, NULL);
	san_cp(0x2027, NULL);
	san_cp(0x202f, NULL);
	san_cp(0x205f, NULL);
	san_cp(0x2065, NULL);
	/* A Trojan Source style name: RLO ... PDF around a label. */
	san("a\xe2\x80\xae" "lpmaxe\xe2\x80\xac.com", 17, 64, "a?lpmaxe?.com");
	/* Zero-width joiner inside an emoji sequence is refused too. */
	san("x\xe2\x80\x8dy", 5, 64, "x?y");
	/* A tag sequence (U+E0067 U+E0062) after a flag. */
	san("\xf0\x9f\x8f\xb4\xf3\xa0\x81\xa7\xf3\xa0\x81\xa2", 12, 64, "\xf0\x9f\x8f\xb4??");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_annot),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_invisible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
