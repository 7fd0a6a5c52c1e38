/* The classic text layout, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hoptrace/hoptrace.h"
#include "text_out.h"

static char *buf;
static size_t buflen;

static FILE *open_mem(void)
{
	free(buf);
	buf = NULL;
	buflen = 0;
	return open_memstream(&buf, &buflen);
}

static void replied(struct ht_probe *p, const char *addr, uint32_t rtt_us)
{
	p->state = HT_PROBE_REPLIED;
	p->rtt_us = rtt_us;
	assert_int_equal(ht_addr_parse(addr, &p->reply.from), 0);
	p->reply.kind = HT_REPLY_TIME_EXCEEDED;
}

static const char *names(void *u, const ht_addr *a)
{
	char tmp[64];
	(void)u;
	ht_addr_str(a, tmp, sizeof(tmp));
	if (!strcmp(tmp, "198.18.1.1"))
		return "gw.example";
	return NULL;
}

static void print_hop(struct ht_text_out *t, struct ht_probe *p, int n, int ttl)
{
	struct ht_hop h = {.ttl = ttl, .nprobes = n, .probes = p, .done = true};
	ht_text_hop(t, &h);
	fclose(t->out);
}

static void test_header(void **st)
{
	struct ht_text_out t = {.out = open_mem()};
	ht_addr dst;
	(void)st;
	ht_addr_parse("198.18.200.1", &dst);
	ht_text_header(&t, "target.example", &dst, 30, 60);
	fclose(t.out);
	assert_string_equal(buf, "hoptrace to target.example (198.18.200.1), 30 hops max, 60 byte packets\n");
}

static void test_header_sanitises_target(void **st)
{
	struct ht_text_out t = {.out = open_mem()};
	ht_addr dst;
	(void)st;
	ht_addr_parse("198.18.200.1", &dst);
	ht_text_header(&t, "evil\x1b[2Jname", &dst, 30, 60);
	fclose(t.out);
	assert_null(strchr(buf, '\x1b'));
}

static void test_numeric_three_replies(void **st)
{
	struct ht_text_out t = {.out = open_mem(), .numeric = true};
	struct ht_probe p[3] = {0};
	(void)st;
	replied(&p[0], "198.18.1.1", 10123);
	replied(&p[1], "198.18.1.1", 10456);
	replied(&p[2], "198.18.1.1", 789);
	print_hop(&t, p, 3, 1);
	assert_string_equal(buf, " 1  198.18.1.1  10.123 ms  10.456 ms  0.789 ms\n");
}

static void test_names_and_silence(void **st)
{
	struct ht_text_out t = {.out = open_mem(), .name = names};
	struct ht_probe p[3] = {0};
	(void)st;
	p[0].state = HT_PROBE_TIMEOUT;
	replied(&p[1], "198.18.1.1", 1000);
	replied(&p[2], "198.18.1.1", 2000);
	print_hop(&t, p, 3, 12);
	assert_string_equal(buf, "12  * gw.example (198.18.1.1)  1.000 ms  2.000 ms\n");
}

static void test_all_silent(void **st)
{
	struct ht_text_out t = {.out = open_mem()};
	struct ht_probe p[3] = {0};
	(void)st;
	for (int i = 0; i < 3; i++)
		p[i].state = HT_PROBE_TIMEOUT;
	print_hop(&t, p, 3, 5);
	assert_string_equal(buf, " 5  * * *\n");
}

static void test_several_addresses_and_annotations(void **st)
{
	struct ht_text_out t = {.out = open_mem(), .numeric = true};
	struct ht_probe p[3] = {0};
	(void)st;
	replied(&p[0], "198.18.3.1", 1000);
	replied(&p[1], "198.18.3.2", 2000);
	replied(&p[2], "198.18.3.2", 3000);
	p[2].reply.kind = HT_REPLY_UNREACH;
	p[2].reply.annot = HT_ANN_ADMIN;
	print_hop(&t, p, 3, 3);
	assert_string_equal(buf, " 3  198.18.3.1  1.000 ms 198.18.3.2  2.000 ms  3.000 ms !X\n");
}

static void test_frag_needed_and_ipv6(void **st)
{
	struct ht_text_out t = {.out = open_mem(), .numeric = true};
	struct ht_probe p[1] = {0};
	(void)st;
	replied(&p[0], "2001:db8:4::1", 4321);
	p[0].reply.kind = HT_REPLY_PTB;
	p[0].reply.annot = HT_ANN_FRAG;
	p[0].reply.mtu = 1280;
	print_hop(&t, p, 1, 4);
	assert_string_equal(buf, " 4  2001:db8:4::1  4.321 ms !F-1280\n");
}

static void test_mpls_extension(void **st)
{
	struct ht_text_out t = {.out = open_mem(), .numeric = true, .extensions = true};
	struct ht_probe p[2] = {0};
	(void)st;
	replied(&p[0], "198.18.6.1", 5000);
	replied(&p[1], "198.18.6.1", 6000);
	p[0].reply.n_mpls = 2;
	p[0].reply.mpls[0] = (struct ht_mpls){.label = 100, .tc = 0, .s = 0, .ttl = 1};
	p[0].reply.mpls[1] = (struct ht_mpls){.label = 16001, .tc = 5, .s = 1, .ttl = 1};
	print_hop(&t, p, 2, 6);
	assert_string_equal(
		buf, " 6  198.18.6.1 <MPLS:L=100,E=0,S=0,T=1/L=16001,E=5,S=1,T=1>  5.000 ms  6.000 ms\n");
}

static int teardown(void **st)
{
	(void)st;
	free(buf);
	buf = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_header_sanitises_target),
		cmocka_unit_test(test_numeric_three_replies),
		cmocka_unit_test(test_names_and_silence),
		cmocka_unit_test(test_all_silent),
		cmocka_unit_test(test_several_addresses_and_annotations),
		cmocka_unit_test(test_frag_needed_and_ipv6),
		cmocka_unit_test(test_mpls_extension),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
