/*
 * A tiny authoritative-for-everything resolver on the scenario's "dns"
 * address: PTR queries for node addresses return the node's name=, A and
 * AAAA queries for those names return the addresses, everything else is
 * NXDOMAIN. Enough for reverse DNS in traces to be deterministic.
 */
#include "sim.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* Decode a query name (no compression in questions) into dotted text. */
static size_t qname(const uint8_t *q, size_t len, size_t off, char *out, size_t cap)
{
	size_t o = 0;
	while (off < len) {
		uint8_t l = q[off++];
		if (l == 0) {
			if (o == 0 && cap)
				out[0] = 0;
			else if (o)
				out[o - 1] = 0;
			return off;
		}
		if (l > 63 || off + l > len || o + l + 1 >= cap)
			return 0;
		for (uint8_t i = 0; i < l; i++)
			out[o++] = (char)tolower(q[off + i]);
		out[o++] = '.';
		off += l;
	}
	return 0;
}

static void ptr_name4(const struct in_addr *a, char *out, size_t cap)
{
	const uint8_t *b = (const uint8_t *)a;
	snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
}

static void ptr_name6(const struct in6_addr *a, char *out, size_t cap)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 15; i >= 0 && o + 4 < cap; i--) {
		out[o++] = hx[a->s6_addr[i] & 0xf];
		out[o++] = '.';
		out[o++] = hx[a->s6_addr[i] >> 4];
		out[o++] = '.';
	}
	snprintf(out + o, cap - o, "ip6.arpa");
}

static size_t put_name(uint8_t *o, size_t cap, const char *name)
{
	size_t n = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		if (l == 0 || l > 63 || n + l + 2 > cap)
			return 0;
		o[n++] = (uint8_t)l;
		memcpy(o + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	o[n++] = 0;
	return n;
}

size_t sim_dns_reply(const struct sim_scenario *sc, const uint8_t *pkt, size_t len, uint8_t *out,
                     size_t cap)
{
	size_t hl = (size_t)(pkt[0] & 0x0f) * 4;
	const uint8_t *dq;
	size_t dlen;
	char name[300], cand[300];
	uint8_t *d;
	size_t o;

	if (len < hl + 8 + 12 || cap < 600)
		return 0;
	dq = pkt + hl + 8;
	dlen = len - hl - 8;
	if ((dq[2] & 0x80) || dq[4] != 0 || dq[5] != 1)
		return 0; /* a response, or not exactly one question */
	size_t qend = qname(dq, dlen, 12, name, sizeof(name));
	if (!qend || qend + 4 > dlen)
		return 0;
	uint16_t qtype = (uint16_t)(dq[qend] << 8 | dq[qend + 1]);
	qend += 4;

	d = out + 28;
	memcpy(d, dq, qend);
	d[2] = 0x84 | (dq[2] & 0x01); /* QR, AA, RD copied */
	d[3] = 0x80;                  /* RA, NOERROR for now */
	memset(d + 6, 0, 6);
	o = qend;
	int answers = 0;
	for (int i = 1; i < sc->nnodes && answers < 4; i++) {
		const struct sim_node *n = &sc->nodes[i];
		if (!n->ptr[0])
			continue;
		uint8_t rd[300];
		size_t rdl = 0;
		if (qtype == 12) {
			bool hit = false;
			if (n->has4) {
				ptr_name4(&n->a4, cand, sizeof(cand));
				hit = strcmp(cand, name) == 0;
			}
			if (!hit && n->has6) {
				ptr_name6(&n->a6, cand, sizeof(cand));
				hit = strcmp(cand, name) == 0;
			}
			if (hit)
				rdl = put_name(rd, sizeof(rd), n->ptr);
		} else if (qtype == 1 && n->has4 && strcasecmp(n->ptr, name) == 0) {
			memcpy(rd, &n->a4, 4);
			rdl = 4;
		} else if (qtype == 28 && n->has6 && strcasecmp(n->ptr, name) == 0) {
			memcpy(rd, &n->a6, 16);
			rdl = 16;
		}
		if (!rdl || o + 12 + rdl > cap - 28)
			continue;
		d[o++] = 0xc0;
		d[o++] = 12;
		d[o++] = (uint8_t)(qtype >> 8);
		d[o++] = (uint8_t)qtype;
		d[o++] = 0;
		d[o++] = 1; /* IN */
		d[o++] = 0;
		d[o++] = 0;
		d[o++] = 0x0e;
		d[o++] = 0x10; /* TTL 3600 */
		d[o++] = (uint8_t)(rdl >> 8);
		d[o++] = (uint8_t)rdl;
		memcpy(d + o, rd, rdl);
		o += rdl;
		answers++;
	}
	d[7] = (uint8_t)answers;
	if (!answers) {
		/* Names we do not know do not exist, except that an empty
		 * answer (NODATA) is right for a known name of the other type. */
		bool known = false;
		for (int i = 1; i < sc->nnodes; i++)
			if (sc->nodes[i].ptr[0] && strcasecmp(sc->nodes[i].ptr, name) == 0)
				known = true;
		if (!known)
			d[3] |= 3; /* NXDOMAIN */
	}
	/* UDP and IPv4 headers, swapped. */
	uint8_t *u = out + 20;
	memcpy(u, pkt + hl + 2, 2);
	memcpy(u + 2, pkt + hl, 2);
	u[4] = (uint8_t)((o + 8) >> 8);
	u[5] = (uint8_t)(o + 8);
	out[0] = 0x45;
	out[1] = 0;
	out[2] = (uint8_t)((o + 28) >> 8);
	out[3] = (uint8_t)(o + 28);
	out[4] = out[5] = 0;
	out[6] = 0x40;
	out[7] = 0;
	out[8] = 64;
	out[9] = IPPROTO_UDP;
	memcpy(out + 12, pkt + 16, 4);
	memcpy(out + 16, pkt + 12, 4);
	sim_ip4_csum(out);
	sim_l4_csum(out, o + 28);
	return o + 28;
}
