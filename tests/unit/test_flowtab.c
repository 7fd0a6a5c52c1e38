/*
 * Matching with 10,000 traces in flight on one socket: each trace has its
 * own flow (destination, source port or echo id, run tag), every reply is
 * parsed once, its flow key finds the trace in the flow table, and the
 * trace's flow names the probe. Replies for flows no trace has find
 * nothing; forged quotes with the right key but the wrong run tag are
 * found as candidates and then refused by the flow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "method/method.h"
#include "proto/proto.h"
#include "proto_test_util.h"

#define NT 10000

static struct ht_flow flows[NT];

/* Trace k: a destination of its own for most, but every tenth shares its
 * destination with the one before (two traces to one target, told apart
 * by source port or echo id). Methods and families rotate. */
static void make_flow(int k, struct ht_flow *f)
{
	int fam = k % 4 == 3 ? AF_INET6 : AF_INET;
	enum ht_method m = (enum ht_method)(k % 3);
	int d = k % 10 == 9 ? k - 1 : k;

	tflow(f, fam, m, false);
	if (fam == AF_INET) {
		f->dst.u.v4.s_addr = htonl(0xc6130000u + (uint32_t)d); /* 198.19.x.x */
	} else {
		f->dst.u.v6.s6_addr[14] = (uint8_t)(d >> 8);
		f->dst.u.v6.s6_addr[15] = (uint8_t)d;
	}
	f->sport = (uint16_t)(20000 + k * 3); /* TCP uses 3 columns */
	f->icmp_id = (uint16_t)(k * 7 + 1);
	f->ncols = 3;
	f->tag = 0x5a5a0000u ^ (uint32_t)k * 2654435761u;
	if (!f->tag)
		f->tag = 1;
	f->packet_len = fam == AF_INET ? 60 : 80;
}

static int quote_of(const struct ht_flow *f, uint16_t seq, uint8_t ttl, uint8_t *pkt)
{
	uint8_t probe[256];
	size_t n = wire_probe(f, seq, ttl, probe, sizeof(probe));

	return (int)mk_time_exceeded(f, pkt, probe, n);
}

static void test_ten_thousand_flows(void **st)
{
	ht_flowtab *t;
	struct ht_flow_key keys[HT_MAX_QUERIES];
	int found = 0;
	(void)st;

	assert_int_equal(ht_flowtab_new(&t), 0);
	for (int k = 0; k < NT; k++) {
		make_flow(k, &flows[k]);
		int n = ht_flow_keys(&flows[k], 90, keys, HT_MAX_QUERIES);
		assert_true(n >= 1);
		for (int i = 0; i < n; i++)
			assert_int_equal(ht_flowtab_add(t, &keys[i], &flows[k]), 0);
	}
	/* TCP (k % 3 == 2: 3333 traces) sends from 3 ports. */
	assert_int_equal(ht_flowtab_count(t), NT + 3333 * 2);

	/* One reply per trace, seq and column varying. */
	for (int k = 0; k < NT; k++) {
		const struct ht_flow *f = &flows[k];
		uint8_t pkt[512];
		uint16_t seq = (uint16_t)(k % 90);
		int len = quote_of(f, seq, (uint8_t)(1 + seq / 3), pkt);
		ht_addr from = taddr(f->family == AF_INET ? HOP4 : HOP6);
		struct ht_rx rx;
		struct ht_flow_key key;
		struct ht_reply r;
		const struct ht_flow *hit;

		assert_int_equal(ht_rx_parse(f->family == AF_INET ? HT_RX_ICMP4 : HT_RX_ICMP6, pkt,
		                             (size_t)len, &from, &rx),
		                 0);
		assert_int_equal(ht_rx_flow_key(&rx, &key), 0);
		hit = ht_flowtab_get(t, &key);
		assert_ptr_equal(hit, f);
		memset(&r, 0, sizeof(r));
		assert_int_equal(ht_rx_identify(hit, &rx, &r), 0);
		assert_int_equal(r.seq, seq);
		found++;
	}
	assert_int_equal(found, NT);

	/* A trace that ends takes its keys with it. */
	int n = ht_flow_keys(&flows[42], 90, keys, HT_MAX_QUERIES);
	for (int i = 0; i < n; i++)
		assert_int_equal(ht_flowtab_del(t, &keys[i]), 0);
	assert_null(ht_flowtab_get(t, &keys[0]));
	assert_ptr_equal(ht_flowtab_get(t, &(struct ht_flow_key){.family = flows[43].family,
	                                                          .method = flows[43].method,
	                                                          .dst = flows[43].dst,
	                                                          .sport = flows[43].sport,
	                                                          .icmp_id = flows[43].icmp_id}),
	                 &flows[43]);
	/* Two traces never share a key. */
	n = ht_flow_keys(&flows[43], 90, keys, HT_MAX_QUERIES);
	assert_int_equal(ht_flowtab_add(t, &keys[0], &flows[0]), -EEXIST);
	ht_flowtab_free(t);
}

/* Replies about flows nobody has: another source port, another echo id,
 * another destination. */
static void test_strangers_find_nothing(void **st)
{
	ht_flowtab *t;
	struct ht_flow_key keys[HT_MAX_QUERIES];
	(void)st;

	assert_int_equal(ht_flowtab_new(&t), 0);
	for (int k = 0; k < 100; k++) {
		make_flow(k, &flows[k]);
		int n = ht_flow_keys(&flows[k], 90, keys, HT_MAX_QUERIES);
		for (int i = 0; i < n; i++)
			assert_int_equal(ht_flowtab_add(t, &keys[i], &flows[k]), 0);
	}
	for (int k = 0; k < 100; k++) {
		struct ht_flow g = flows[k];
		uint8_t pkt[512];
		struct ht_rx rx;
		struct ht_flow_key key;
		ht_addr from = taddr(g.family == AF_INET ? HOP4 : HOP6);

		if (g.method == HT_METHOD_ICMP)
			g.icmp_id = (uint16_t)(g.icmp_id + 50000);
		else
			g.sport = (uint16_t)(g.sport + 30000);
		int len = quote_of(&g, 3, 2, pkt);
		assert_int_equal(ht_rx_parse(g.family == AF_INET ? HT_RX_ICMP4 : HT_RX_ICMP6, pkt,
		                             (size_t)len, &from, &rx),
		                 0);
		assert_int_equal(ht_rx_flow_key(&rx, &key), 0);
		assert_null(ht_flowtab_get(t, &key));
	}
	ht_flowtab_free(t);
}

/* A forger who knows the destination, the port or id and even the
 * sequence number, but not the run's tag: found as a candidate, refused by
 * the flow, for every method and family. */
static void test_wrong_tag_is_refused(void **st)
{
	ht_flowtab *t;
	struct ht_flow_key keys[HT_MAX_QUERIES];
	int refused = 0;
	(void)st;

	assert_int_equal(ht_flowtab_new(&t), 0);
	for (int k = 0; k < 12; k++) {
		make_flow(k, &flows[k]);
		int n = ht_flow_keys(&flows[k], 90, keys, HT_MAX_QUERIES);
		for (int i = 0; i < n; i++)
			assert_int_equal(ht_flowtab_add(t, &keys[i], &flows[k]), 0);
	}
	for (int k = 0; k < 12; k++) {
		struct ht_flow forged = flows[k];
		uint8_t pkt[512];
		struct ht_rx rx;
		struct ht_flow_key key;
		struct ht_reply r;
		const struct ht_flow *hit;
		ht_addr from = taddr(forged.family == AF_INET ? HOP4 : HOP6);

		forged.tag ^= 0x00010000u | 0x1u; /* both halves differ */
		int len = quote_of(&forged, 7, 3, pkt);
		assert_int_equal(ht_rx_parse(forged.family == AF_INET ? HT_RX_ICMP4 : HT_RX_ICMP6,
		                             pkt, (size_t)len, &from, &rx),
		                 0);
		assert_int_equal(ht_rx_flow_key(&rx, &key), 0);
		hit = ht_flowtab_get(t, &key);
		assert_ptr_equal(hit, &flows[k]);
		memset(&r, 0, sizeof(r));
		int rc = ht_rx_identify(hit, &rx, &r);
		/* TCP over IPv4 keeps one fallback: the IP ID names the probe
		 * (firewalls that rewrite sequence numbers); everything else
		 * must refuse. */
		if (forged.method == HT_METHOD_TCP && forged.family == AF_INET)
			continue;
		assert_int_equal(rc, -ENOENT);
		refused++;
	}
	assert_true(refused >= 9);
	ht_flowtab_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ten_thousand_flows),
		cmocka_unit_test(test_strangers_find_nothing),
		cmocka_unit_test(test_wrong_tag_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
