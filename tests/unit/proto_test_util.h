/*
 * Shared helpers for the packet-layer unit tests: a standard flow, an
 * independent reference checksum, and builders for the replies routers
 * and destinations send. Addresses only from 198.18.0.0/15 and
 * 2001:db8::/32.
 */
#ifndef HT_PROTO_TEST_UTIL_H
#define HT_PROTO_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "method/method.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SRC4 "198.18.0.1"
#define DST4 "198.19.0.9"
#define HOP4 "198.18.5.5"
#define SRC6 "2001:db8::1"
#define DST6 "2001:db8:1::9"
#define HOP6 "2001:db8:5::5"

static inline ht_addr taddr(const char *s)
{
	ht_addr a;

	assert_int_equal(ht_addr_parse(s, &a), 0);
	return a;
}

/* The flow every golden vector uses: ports 40000 -> 33434 (UDP) or 80
 * (TCP), echo id 0x1234; Paris probes with DF and TOS 0, classic probes
 * without DF and with TOS 0x10 so both settings are covered. */
static inline void tflow(struct ht_flow *f, int family, enum ht_method m, bool classic)
{
	memset(f, 0, sizeof(*f));
	f->family = family;
	f->method = m;
	f->classic = classic;
	f->src = taddr(family == AF_INET ? SRC4 : SRC6);
	f->dst = taddr(family == AF_INET ? DST4 : DST6);
	f->sport = 40000;
	f->dport = m == HT_METHOD_TCP ? 80 : 33434;
	f->icmp_id = 0x1234;
	f->tos = classic ? 0x10 : 0;
	f->dont_fragment = !classic;
}

/* Reference Internet checksum, written independently of lib/proto:
 * byte pairs summed in a 64-bit accumulator, folded at the end. */
static inline uint64_t ref_sum(uint64_t acc, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		acc += (i % 2 == 0) ? (uint64_t)p[i] << 8 : p[i];
	return acc;
}

static inline uint16_t ref_fold(uint64_t acc)
{
	while (acc > 0xffff)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* Pseudo-header sum (RFC 768 / RFC 8200 8.1) of a flow's transport. */
static inline uint64_t ref_pseudo(const struct ht_flow *f, uint8_t proto, size_t len)
{
	uint64_t acc = 0;

	if (f->family == AF_INET) {
		acc = ref_sum(acc, (const uint8_t *)&f->src.u.v4, 4);
		acc = ref_sum(acc, (const uint8_t *)&f->dst.u.v4, 4);
	} else {
		acc = ref_sum(acc, f->src.u.v6.s6_addr, 16);
		acc = ref_sum(acc, f->dst.u.v6.s6_addr, 16);
	}
	return acc + proto + len;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The probe as it sits in the network (what a router quotes): IPv4 as
 * built; IPv6 with the 40-byte header the kernel would add (traffic class
 * from the flow, hop limit ttl). Returns its length.
 */
static inline size_t wire_probe(const struct ht_flow *f, uint16_t seq, uint8_t ttl, uint8_t *out,
                                size_t cap)
{
	int n;
	uint8_t proto;

	if (f->family == AF_INET) {
		n = ht_probe_build(f, seq, ttl, out, cap);
		assert_true(n > 0);
		return (size_t)n;
	}
	n = ht_probe_build(f, seq, ttl, out + 40, cap - 40);
	assert_true(n > 0);
	proto = f->method == HT_METHOD_ICMP ? 58 : f->method == HT_METHOD_TCP ? 6 : 17;
	out[0] = (uint8_t)(0x60 | f->tos >> 4);
	out[1] = (uint8_t)(f->tos << 4);
	out[2] = 0;
	out[3] = 0;
	put16(out + 4, (uint16_t)n);
	out[6] = proto;
	out[7] = ttl;
	memcpy(out + 8, f->src.u.v6.s6_addr, 16);
	memcpy(out + 24, f->dst.u.v6.s6_addr, 16);
	return (size_t)n + 40;
}

/*
 * An ICMPv4 message from `from` to `to` inside an IPv4 packet with TTL
 * 250: type, code, the second header word `rest`, then `body`.
 * The ICMP checksum is correct. Returns the total length.
 */
static inline size_t mk_icmp4(uint8_t *out, const char *from, const char *to, uint8_t type,
                              uint8_t code, uint32_t rest, const uint8_t *body, size_t blen)
{
	size_t total = 20 + 8 + blen;
	ht_addr a = taddr(from), b = taddr(to);

	memset(out, 0, 28);
	out[0] = 0x45;
	put16(out + 2, (uint16_t)total);
	out[8] = 250;
	out[9] = 1;
	memcpy(out + 12, &a.u.v4, 4);
	memcpy(out + 16, &b.u.v4, 4);
	put16(out + 10, ref_fold(ref_sum(0, out, 20)));
	out[20] = type;
	out[21] = code;
	out[24] = (uint8_t)(rest >> 24);
	out[25] = (uint8_t)(rest >> 16);
	out[26] = (uint8_t)(rest >> 8);
	out[27] = (uint8_t)rest;
	if (blen)
		memcpy(out + 28, body, blen);
	put16(out + 22, ref_fold(ref_sum(0, out + 20, 8 + blen)));
	return total;
}

/* An ICMPv6 message (no IP header, as a raw ICMPv6 socket returns it).
 * The checksum is left 0: the kernel verified it before we see it. */
static inline size_t mk_icmp6(uint8_t *out, uint8_t type, uint8_t code, uint32_t rest,
                              const uint8_t *body, size_t blen)
{
	memset(out, 0, 8);
	out[0] = type;
	out[1] = code;
	out[4] = (uint8_t)(rest >> 24);
	out[5] = (uint8_t)(rest >> 16);
	out[6] = (uint8_t)(rest >> 8);
	out[7] = (uint8_t)rest;
	if (blen)
		memcpy(out + 8, body, blen);
	return 8 + blen;
}

/* Wrap a quote in a time exceeded (in transit) from the hop. */
static inline size_t mk_time_exceeded(const struct ht_flow *f, uint8_t *out, const uint8_t *q,
                                      size_t qlen)
{
	if (f->family == AF_INET)
		return mk_icmp4(out, HOP4, SRC4, 11, 0, 0, q, qlen);
	return mk_icmp6(out, 3, 0, 0, q, qlen);
}

static inline int decode(const struct ht_flow *f, const uint8_t *pkt, size_t len,
                         struct ht_reply *r)
{
	ht_addr from = taddr(f->family == AF_INET ? HOP4 : HOP6);

	return ht_reply_decode(f, f->family == AF_INET ? HT_RX_ICMP4 : HT_RX_ICMP6, pkt, len,
	                       &from, r);
}

#endif
