/*
 * icmpflood: shower one address with unrelated and hostile ICMP, for the
 * hostile-network tests (tests/hostile/test-flood.sh) and the flood benchmark
 * (bench/flood.sh). Lab use only: it refuses targets, spoofed sources and
 * quoted addresses outside 198.18.0.0/15 and 2001:db8::/32.
 *
 * It sends from a raw IPPROTO_RAW socket (we write the whole IP header, so
 * the outer source can be any lab address), at a configured rate for a
 * bounded time, a deterministic (seeded) mix of these kinds:
 *
 *   echo         echo replies with random id and seq
 *   other-te     time exceeded quoting UDP/TCP/echo packets to other lab hosts
 *   other-unr    port unreachable quoting the same
 *   other-port   time exceeded quoting a packet to OUR destination from other
 *                ports / with another echo id (passes a destination filter,
 *                must be rejected by the decoder)
 * and, once our flow is known (learned from probes mirrored to --learn IFACE:
 * the method, ports, echo id and the probe bytes themselves):
 *   bad-csum     our flow, an in-range seq, a wrong ICMP checksum
 *   oor-seq      our flow, well formed, a seq no probe of the trace has
 *   trunc        our flow, in-range seq, quote cut to IP header + 4 bytes
 *   bad-ihl      our flow, in-range seq, quoted IHL < 5 (IPv6: version != 6)
 *   lying-len    our flow, in-range seq, a quoted total/payload length
 *                shorter than header + 8
 *   ext-len      our flow, an unused seq, an RFC 4884 length longer than the
 *                message (hoptrace keeps such a quote and only drops its
 *                extensions, by design, so the seq must not be one we sent)
 *   echo-oor     ICMP method: an echo reply with our id and an unused seq
 *                (oor-seq for other methods)
 *   echo-bad     ICMP method: an echo reply with our id, in-range seq, bad
 *                checksum (bad-csum for other methods)
 * Each "ours" kind alternates between time exceeded and port unreachable
 * (so a decoder that wrongly accepted one would print a foreign hop, or stop
 * the trace early at it). Until a flow is learned those slots send other-port.
 *
 * Only oor-seq, ext-len and echo-oor are replies to our flow that hoptrace's
 * decoder keeps (the session must then count them unmatched: no probe had
 * that seq in hoptrace's numbering, though another tool's numbering may
 * differ); every other kind has a field no genuine reply has, and must be
 * dropped by the kernel or by the decoder.
 *
 * usage: icmpflood -t TARGET [-D FLOW_DST] [-l IFACE] [-r PPS] [-d SECS]
 *                  [-s SEED] [-S SPOOF].. [-k KIND,..] [-n NPROBES]
 *   -t TARGET    where the flood goes (the prober); its family decides v4/v6
 *   -D FLOW_DST  the destination being traced (needed by the "ours" kinds)
 *   -l IFACE     learn our flow from IP packets to FLOW_DST seen on IFACE
 *   -r PPS       packets per second (default 100000)
 *   -d SECS      duration, fractions allowed (default 5, at most 600)
 *   -s SEED      PRNG seed (default 1): same seed and flow, same packets
 *   -S ADDR      spoofed outer source (repeatable; default 198.19.66.1-254 or
 *                2001:db8:bad::1-fe)
 *   -k KINDS     comma separated kinds (default: all)
 *   -n NPROBES   seqs below NPROBES belong to the trace (default 90)
 * On exit it prints one line on stdout:
 *   icmpflood: sent N packets in T s: R pps (asked P); dropped D; flow FLOW;
 *   ours O; kinds K=N,...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define BATCH     64
#define PKT_MAX   256
#define QUOTE_MAX 128
#define MAX_SPOOF 64

enum kind {
	K_ECHO,
	K_OTHER_TE,
	K_OTHER_UNR,
	K_OTHER_PORT,
	K_BAD_CSUM,
	K_OOR_SEQ,
	K_TRUNC,
	K_BAD_IHL,
	K_LYING_LEN,
	K_EXT_LEN,
	K_ECHO_OOR,
	K_ECHO_BAD,
	K_COUNT
};

static const char *const kind_name[K_COUNT] = {
	"echo",     "other-te", "other-unr", "other-port", "bad-csum", "oor-seq",
	"trunc",    "bad-ihl",  "lying-len", "ext-len",    "echo-oor",   "echo-bad",
};

/* Kinds that quote (or answer) our own flow. */
static bool kind_is_ours(enum kind k)
{
	return k >= K_BAD_CSUM;
}

/* An address of either family, in network byte order. */
struct addr {
	int family;
	uint8_t b[16];
};

/* What we know of the flow being traced: its last probe, verbatim. */
struct flow {
	bool known;
	uint8_t proto; /* 17, 6, 1 or 58 */
	uint16_t sport, dport, icmp_id;
	uint8_t src[16];          /* the probes' source address */
	uint8_t probe[QUOTE_MAX]; /* IP header + transport, as sent */
	size_t probe_len;         /* bytes kept (<= QUOTE_MAX) */
	size_t ip_len;            /* IP header length in probe */
	unsigned long seen;
};

static struct {
	struct addr target, flow_dst, spoof[MAX_SPOOF];
	int nspoof;
	bool has_flow_dst;
	double pps, secs;
	uint64_t seed;
	unsigned nprobes;
	bool enabled[K_COUNT];
	const char *learn_if;
} opt = {.pps = 100000, .secs = 5, .seed = 1, .nprobes = 90};

static struct flow flow;
static unsigned long sent_kind[K_COUNT];
static volatile sig_atomic_t stop;

/* ---- small helpers ----------------------------------------------------- */

static uint64_t rng_state;

/* splitmix64: tiny, fast, and the same sequence on every machine. */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static uint32_t rndn(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The lab's ranges: 198.18.0.0/15 and 2001:db8::/32. Nothing else, ever. */
static bool in_lab(const struct addr *a)
{
	if (a->family == AF_INET)
		return a->b[0] == 198 && (a->b[1] & 0xfe) == 18;
	return a->b[0] == 0x20 && a->b[1] == 0x01 && a->b[2] == 0x0d && a->b[3] == 0xb8;
}

static int parse_addr(const char *s, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, s, a->b) == 1)
		a->family = AF_INET6;
	else
		return -EINVAL;
	return in_lab(a) ? 0 : -EPERM;
}

static size_t alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* ---- learning our flow ------------------------------------------------- */

/*
 * Keep the last probe to the traced destination seen on the learning
 * interface: UDP, TCP, or an echo request. The trace changes method
 * between runs of a test, so the newest probe wins.
 */
static void learn_packet(const uint8_t *p, size_t len)
{
	int fam = opt.target.family;
	size_t hl;
	uint8_t proto;
	const uint8_t *dst;

	if (fam == AF_INET) {
		if (len < 20 || (p[0] >> 4) != 4)
			return;
		hl = (size_t)(p[0] & 15) * 4;
		if (hl < 20 || len < hl + 8)
			return;
		proto = p[9];
		dst = p + 16;
		if (proto == 1 && p[hl] != 8)
			return;
	} else {
		if (len < 48 || (p[0] >> 4) != 6)
			return;
		hl = 40;
		proto = p[6];
		dst = p + 24;
		if (proto == 58 && p[hl] != 128)
			return;
	}
	if (proto != 17 && proto != 6 && proto != 1 && proto != 58)
		return;
	if (memcmp(dst, opt.flow_dst.b, alen(fam)) != 0)
		return;
	/* Answers go back to the probes' source: it must be a lab address too. */
	{
		struct addr src = {.family = fam};
		memcpy(src.b, fam == AF_INET ? p + 12 : p + 8, alen(fam));
		if (!in_lab(&src))
			return;
		memcpy(flow.src, src.b, alen(fam));
	}
	flow.known = true;
	flow.proto = proto;
	flow.ip_len = hl;
	flow.probe_len = len < QUOTE_MAX ? len : QUOTE_MAX;
	memcpy(flow.probe, p, flow.probe_len);
	if (proto == 17 || proto == 6) {
		flow.sport = rd16(p + hl);
		flow.dport = rd16(p + hl + 2);
	} else {
		flow.icmp_id = rd16(p + hl + 4);
	}
	flow.seen++;
}

static int learn_open(const char *ifname)
{
	struct sockaddr_ll sll;
	int fd, one = 1;
	unsigned idx = if_nametoindex(ifname);

	if (!idx) {
		fprintf(stderr, "icmpflood: no interface %s\n", ifname);
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("icmpflood: packet socket");
		return -1;
	}
	/* Our own flood leaves through the same interface; never learn from it. */
	(void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("icmpflood: bind packet socket");
		close(fd);
		return -1;
	}
	return fd;
}

static void learn_poll(int fd)
{
	uint8_t buf[2048];
	struct sockaddr_ll from;
	socklen_t fl;
	ssize_t n;

	for (int i = 0; i < 256; i++) {
		fl = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		learn_packet(buf, (size_t)n);
	}
}

/* ---- packet building ----------------------------------------------------- */

static void pick_spoof(uint8_t *out)
{
	const struct addr *a = &opt.spoof[rndn((uint32_t)opt.nspoof)];

	memcpy(out, a->b, alen(a->family));
}

/* A lab address other than the traced destination and the target. */
static void other_host(uint8_t *out)
{
	int fam = opt.target.family;

	for (;;) {
		if (fam == AF_INET) {
			out[0] = 198;
			out[1] = 18;
			out[2] = (uint8_t)(200 + rndn(40));
			out[3] = (uint8_t)(1 + rndn(254));
		} else {
			memset(out, 0, 16);
			out[0] = 0x20, out[1] = 0x01, out[2] = 0x0d, out[3] = 0xb8;
			out[4] = 0x0e;
			out[5] = (uint8_t)rndn(256);
			out[15] = (uint8_t)(1 + rndn(254));
		}
		if (!opt.has_flow_dst || memcmp(out, opt.flow_dst.b, alen(fam)) != 0)
			return;
	}
}

/*
 * A made-up packet from the target to `dst` (some other flow) as a router
 * would quote it: IP header (TTL 1) and `l4len` transport bytes of UDP, TCP
 * or an echo request with random ports / id. Avoids our flow's ports and id
 * when it is known. Returns the bytes written.
 */
static size_t fake_inner(uint8_t *q, const uint8_t *dst, size_t l4len)
{
	int fam = opt.target.family;
	unsigned which = rndn(3);
	uint8_t proto = which == 0 ? 17 : which == 1 ? 6 : (fam == AF_INET ? 1 : 58);
	size_t hl = fam == AF_INET ? 20 : 40;
	uint8_t *l4 = q + hl;
	uint16_t a, b;

	memset(q, 0, hl + l4len);
	if (fam == AF_INET) {
		q[0] = 0x45;
		wr16(q + 2, (uint16_t)(hl + l4len + rndn(64)));
		wr16(q + 4, (uint16_t)rnd());
		q[8] = 1;
		q[9] = proto;
		memcpy(q + 12, opt.target.b, 4);
		memcpy(q + 16, dst, 4);
		wr16(q + 10, csum_fold(csum_add(0, q, 20)));
	} else {
		q[0] = 0x60;
		wr16(q + 4, (uint16_t)(l4len + rndn(64)));
		q[6] = proto;
		q[7] = 1;
		memcpy(q + 8, opt.target.b, 16);
		memcpy(q + 24, dst, 16);
	}
	do {
		a = (uint16_t)(1024 + rndn(64000));
		b = (uint16_t)(1 + rndn(65535));
	} while (flow.known && ((proto != 1 && proto != 58 && a == flow.sport) ||
	                        ((proto == 1 || proto == 58) && a == flow.icmp_id)));
	if (proto == 1 || proto == 58) {
		l4[0] = proto == 1 ? 8 : 128;
		wr16(l4 + 4, a);
		wr16(l4 + 6, b);
		wr16(l4 + 2, (uint16_t)rnd());
	} else {
		wr16(l4, a);
		wr16(l4 + 2, b);
		wr16(l4 + 4, (uint16_t)rnd());
		wr16(l4 + 6, (uint16_t)rnd());
	}
	for (size_t i = 8; i < l4len; i++)
		l4[i] = (uint8_t)rnd();
	return hl + l4len;
}

/*
 * Our last probe, re-labelled as probe `seq` the way hoptrace numbers its
 * Paris probes (lib/method/method.h): IPv4 IP ID seq + 1; UDP checksum
 * seq + 1 and the payload word at 8; echo sequence; low half of the TCP
 * sequence number. The quote carries TTL 1 like a Linux router's.
 */
static size_t our_inner(uint8_t *q, uint16_t seq)
{
	size_t hl = flow.ip_len, len = flow.probe_len;
	uint8_t *l4 = q + hl;
	size_t l4len = len - hl;

	memcpy(q, flow.probe, len);
	if (opt.target.family == AF_INET) {
		q[8] = 1;
		wr16(q + 4, (uint16_t)(seq + 1u));
	} else {
		q[7] = 1;
	}
	switch (flow.proto) {
	case 17:
		wr16(l4 + 6, seq == 0xffff ? 0xffff : (uint16_t)(seq + 1u));
		if (l4len >= 10)
			wr16(l4 + 8, seq);
		break;
	case 6:
		wr16(l4 + 6, seq);
		break;
	default:
		wr16(l4 + 6, seq);
		break;
	}
	if (opt.target.family == AF_INET) {
		wr16(q + 10, 0);
		wr16(q + 10, csum_fold(csum_add(0, q, hl)));
	}
	/* Quote what a modern router quotes: up to 64 transport bytes. */
	return len;
}

static uint16_t seq_in_range(void)
{
	return (uint16_t)rndn(opt.nprobes ? opt.nprobes : 1);
}

static uint16_t seq_out_of_range(void)
{
	return (uint16_t)(opt.nprobes + 1000 + rndn(30000));
}

/*
 * Finish an ICMP message of mlen bytes at m inside the packet at pkt: outer
 * IP header from a spoofed source to the target (or, for answers about our
 * flow, to the source address our probes came from, as a router would),
 * ICMP checksum (IPv6 over the pseudo-header). Returns the packet length.
 */
static size_t finish(uint8_t *pkt, size_t mlen, bool bad_csum, bool to_probe_src)
{
	int fam = opt.target.family;
	const uint8_t *dst = to_probe_src ? flow.src : opt.target.b;
	uint8_t *m;
	uint16_t c;

	if (fam == AF_INET) {
		m = pkt + 20;
		pkt[0] = 0x45;
		pkt[1] = 0;
		wr16(pkt + 2, (uint16_t)(20 + mlen));
		wr16(pkt + 4, (uint16_t)(1 + rndn(65535)));
		wr16(pkt + 6, 0);
		pkt[8] = 64;
		pkt[9] = 1;
		wr16(pkt + 10, 0);
		pick_spoof(pkt + 12);
		memcpy(pkt + 16, dst, 4);
		wr16(pkt + 10, csum_fold(csum_add(0, pkt, 20)));
		wr16(m + 2, 0);
		c = csum_fold(csum_add(0, m, mlen));
	} else {
		uint32_t sum;
		uint8_t ph[8] = {0};

		m = pkt + 40;
		pkt[0] = 0x60;
		pkt[1] = pkt[2] = pkt[3] = 0;
		wr16(pkt + 4, (uint16_t)mlen);
		pkt[6] = 58;
		pkt[7] = 64;
		pick_spoof(pkt + 8);
		memcpy(pkt + 24, dst, 16);
		wr16(m + 2, 0);
		ph[2] = (uint8_t)(mlen >> 8);
		ph[3] = (uint8_t)mlen;
		ph[7] = 58;
		sum = csum_add(0, pkt + 8, 32);
		sum = csum_add(sum, ph, 8);
		sum = csum_add(sum, m, mlen);
		c = csum_fold(sum);
	}
	if (bad_csum)
		c = (uint16_t)(c ^ (1 + rndn(0xfffe)));
	wr16(m + 2, c);
	return (fam == AF_INET ? 20 : 40) + mlen;
}

/* ICMP error header: time exceeded in transit or port unreachable. */
static void err_header(uint8_t *m, bool unreach)
{
	bool v4 = opt.target.family == AF_INET;

	memset(m, 0, 8);
	if (unreach) {
		m[0] = v4 ? 3 : 1;
		m[1] = v4 ? 3 : 4;
	} else {
		m[0] = v4 ? 11 : 3;
		m[1] = 0;
	}
}

/*
 * Build one packet of kind k into pkt; returns its length and in *actual
 * the kind really built (an "ours" kind before the flow is known becomes
 * other-port; the echo kinds need an ICMP flow).
 */
static size_t build(enum kind k, uint8_t *pkt, enum kind *actual)
{
	int fam = opt.target.family;
	size_t oh = fam == AF_INET ? 20 : 40, ql;
	uint8_t *m = pkt + oh, *q = m + 8;
	uint8_t dst[16];
	bool unreach = rndn(2) == 1;
	bool bad = false;

	if (kind_is_ours(k) && !flow.known)
		k = K_OTHER_PORT;
	if (k == K_ECHO_OOR && flow.proto != 1 && flow.proto != 58)
		k = K_OOR_SEQ;
	if (k == K_ECHO_BAD && flow.proto != 1 && flow.proto != 58)
		k = K_BAD_CSUM;
	if (k == K_OTHER_PORT && !opt.has_flow_dst)
		k = K_OTHER_TE;
	*actual = k;

	switch (k) {
	case K_ECHO:
		m[0] = fam == AF_INET ? 0 : 129;
		m[1] = 0;
		wr16(m + 4, (uint16_t)rnd());
		wr16(m + 6, (uint16_t)rnd());
		ql = 8 * rndn(8);
		for (size_t i = 0; i < ql; i++)
			q[i] = (uint8_t)rnd();
		return finish(pkt, 8 + ql, false, false);
	case K_ECHO_OOR:
	case K_ECHO_BAD:
		m[0] = fam == AF_INET ? 0 : 129;
		m[1] = 0;
		wr16(m + 4, flow.icmp_id);
		wr16(m + 6, k == K_ECHO_OOR ? seq_out_of_range() : seq_in_range());
		/* The payload of our echo requests, as the destination echoes it. */
		ql = flow.probe_len - flow.ip_len - 8;
		memcpy(q, flow.probe + flow.ip_len + 8, ql);
		return finish(pkt, 8 + ql, k == K_ECHO_BAD, true);
	case K_OTHER_TE:
	case K_OTHER_UNR:
		err_header(m, k == K_OTHER_UNR);
		other_host(dst);
		ql = fake_inner(q, dst, 8 + 4 * rndn(7));
		return finish(pkt, 8 + ql, false, false);
	case K_OTHER_PORT:
		err_header(m, unreach);
		ql = fake_inner(q, opt.flow_dst.b, 8 + 4 * rndn(7));
		return finish(pkt, 8 + ql, false, false);
	case K_BAD_CSUM:
		bad = true;
		/* fall through */
	case K_OOR_SEQ:
		err_header(m, unreach);
		ql = our_inner(q, k == K_OOR_SEQ ? seq_out_of_range() : seq_in_range());
		return finish(pkt, 8 + ql, bad, true);
	case K_TRUNC:
		err_header(m, unreach);
		ql = our_inner(q, seq_in_range());
		/* The quoted header says the whole probe; only 4 transport bytes came. */
		ql = flow.ip_len + 4;
		return finish(pkt, 8 + ql, false, true);
	case K_BAD_IHL:
		err_header(m, unreach);
		ql = our_inner(q, seq_in_range());
		if (fam == AF_INET) {
			q[0] = (uint8_t)(0x40 | rndn(5));
			wr16(q + 10, 0);
			wr16(q + 10, csum_fold(csum_add(0, q, 20)));
		} else {
			q[0] = (uint8_t)((q[0] & 0x0f) | (rndn(2) ? 0x40 : 0x00));
		}
		return finish(pkt, 8 + ql, false, true);
	case K_LYING_LEN:
		/* The quoted datagram claims to end inside its own headers. */
		err_header(m, unreach);
		ql = our_inner(q, seq_in_range());
		if (fam == AF_INET) {
			wr16(q + 2, (uint16_t)(flow.ip_len + rndn(8)));
			wr16(q + 10, 0);
			wr16(q + 10, csum_fold(csum_add(0, q, flow.ip_len)));
		} else {
			wr16(q + 4, (uint16_t)rndn(8));
		}
		return finish(pkt, 8 + ql, false, true);
	case K_EXT_LEN: {
		/* An RFC 4884 length longer than the message (units of 4 / 8 bytes). */
		size_t unit = fam == AF_INET ? 4 : 8, words;
		err_header(m, unreach);
		ql = our_inner(q, seq_out_of_range());
		words = ql / unit + 1 + rndn(16);
		m[fam == AF_INET ? 5 : 4] = (uint8_t)(words > 255 ? 255 : words);
		return finish(pkt, 8 + ql, false, true);
	}
	default:
		return 0;
	}
}


/* ---- main -------------------------------------------------------------- */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: icmpflood -t TARGET [-D FLOW_DST] [-l IFACE] [-r PPS] [-d SECS] "
	           "[-s SEED] [-S SPOOF].. [-k KIND,..] [-n NPROBES]\n"
	           "kinds:");
	for (int i = 0; i < K_COUNT; i++)
		fprintf(f, " %s", kind_name[i]);
	fprintf(f, "\nLab addresses only (198.18.0.0/15, 2001:db8::/32).\n");
}

static int parse_kinds(char *s)
{
	char *tok, *save = NULL;

	memset(opt.enabled, 0, sizeof(opt.enabled));
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;
		for (i = 0; i < K_COUNT; i++)
			if (strcmp(tok, kind_name[i]) == 0)
				break;
		if (i == K_COUNT) {
			fprintf(stderr, "icmpflood: unknown kind %s\n", tok);
			return -1;
		}
		opt.enabled[i] = true;
	}
	return 0;
}

static int parse_args(int argc, char **argv)
{
	int c, rc;
	char *end;
	struct addr a;

	for (int i = 0; i < K_COUNT; i++)
		opt.enabled[i] = true;
	while ((c = getopt(argc, argv, "t:D:l:r:d:s:S:k:n:h")) != -1) {
		switch (c) {
		case 't':
		case 'D':
		case 'S':
			rc = parse_addr(optarg, &a);
			if (rc < 0) {
				fprintf(stderr, "icmpflood: %s: %s\n", optarg,
				        rc == -EPERM ? "not a lab address (198.18.0.0/15, 2001:db8::/32)"
				                     : "not an address");
				return -1;
			}
			if (c == 't') {
				opt.target = a;
			} else if (c == 'D') {
				opt.flow_dst = a;
				opt.has_flow_dst = true;
			} else {
				if (opt.nspoof == MAX_SPOOF) {
					fprintf(stderr, "icmpflood: too many -S\n");
					return -1;
				}
				opt.spoof[opt.nspoof++] = a;
			}
			break;
		case 'l':
			opt.learn_if = optarg;
			break;
		case 'r':
			opt.pps = strtod(optarg, &end);
			if (*end || !(opt.pps > 0 && opt.pps <= 10e6)) {
				fprintf(stderr, "icmpflood: bad rate %s\n", optarg);
				return -1;
			}
			break;
		case 'd':
			opt.secs = strtod(optarg, &end);
			if (*end || !(opt.secs > 0 && opt.secs <= 600)) {
				fprintf(stderr, "icmpflood: bad duration %s (0-600 s)\n", optarg);
				return -1;
			}
			break;
		case 's':
			opt.seed = strtoull(optarg, &end, 0);
			if (*end) {
				fprintf(stderr, "icmpflood: bad seed %s\n", optarg);
				return -1;
			}
			break;
		case 'k':
			if (parse_kinds(optarg) < 0)
				return -1;
			break;
		case 'n':
			opt.nprobes = (unsigned)strtoul(optarg, &end, 0);
			if (*end || opt.nprobes == 0 || opt.nprobes > 30000) {
				fprintf(stderr, "icmpflood: bad probe count %s\n", optarg);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || !opt.target.family) {
		usage(stderr);
		return -1;
	}
	if (opt.has_flow_dst && opt.flow_dst.family != opt.target.family) {
		fprintf(stderr, "icmpflood: -t and -D must be of one family\n");
		return -1;
	}
	for (int i = 0; i < opt.nspoof; i++)
		if (opt.spoof[i].family != opt.target.family) {
			fprintf(stderr, "icmpflood: -S and -t must be of one family\n");
			return -1;
		}
	if (opt.learn_if && !opt.has_flow_dst) {
		fprintf(stderr, "icmpflood: -l needs -D\n");
		return -1;
	}
	if (!opt.nspoof) {
		/* 198.19.66.1-254 / 2001:db8:bad::1-fe: lab addresses no router has. */
		for (int i = 0; i < MAX_SPOOF; i++) {
			struct addr *s = &opt.spoof[i];
			memset(s, 0, sizeof(*s));
			s->family = opt.target.family;
			if (s->family == AF_INET) {
				s->b[0] = 198, s->b[1] = 19, s->b[2] = 66;
				s->b[3] = (uint8_t)(1 + i * 4);
			} else {
				s->b[0] = 0x20, s->b[1] = 0x01, s->b[2] = 0x0d, s->b[3] = 0xb8;
				s->b[4] = 0x0b, s->b[5] = 0xad;
				s->b[15] = (uint8_t)(1 + i * 4);
			}
		}
		opt.nspoof = MAX_SPOOF;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t pkts[BATCH][PKT_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	static struct sockaddr_storage to[BATCH];
	socklen_t tolen;
	enum kind order[K_COUNT], built[BATCH];
	int nkinds = 0, fd, lfd = -1;
	unsigned long sent = 0, dropped = 0, ours = 0, slot = 0;
	uint64_t start, deadline, now;
	double elapsed;

	if (parse_args(argc, argv) < 0)
		return 2;
	for (int i = 0; i < K_COUNT; i++)
		if (opt.enabled[i])
			order[nkinds++] = (enum kind)i;
	if (!nkinds) {
		fprintf(stderr, "icmpflood: no kinds\n");
		return 2;
	}
	rng_state = opt.seed;

	fd = socket(opt.target.family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		perror("icmpflood: raw socket (needs CAP_NET_RAW)");
		return 1;
	}
	if (opt.target.family == AF_INET6) {
		int one = 1;
		/* IPPROTO_RAW implies IPV6_HDRINCL on Linux; say it anyway. */
		(void)setsockopt(fd, IPPROTO_IPV6, 36 /* IPV6_HDRINCL */, &one, sizeof(one));
	}
	if (opt.learn_if && (lfd = learn_open(opt.learn_if)) < 0)
		return 1;

	/* Each packet goes where its own IP header says (the target, or our probes' source). */
	memset(to, 0, sizeof(to));
	for (int i = 0; i < BATCH; i++)
		to[i].ss_family = (sa_family_t)opt.target.family;
	tolen = opt.target.family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	start = now_ns();
	deadline = start + (uint64_t)(opt.secs * 1e9);
	while (!stop && (now = now_ns()) < deadline) {
		unsigned long due = (unsigned long)((double)(now - start) * opt.pps / 1e9) + 1;
		int n, got;

		if (lfd >= 0)
			learn_poll(lfd);
		if (sent + dropped >= due) {
			/* Ahead of schedule: sleep until the next batch is due. */
			double wait = (double)BATCH / opt.pps;
			struct timespec ts = {0, (long)(wait * 1e9)};
			if (wait > 0.001)
				ts.tv_nsec = 1000000;
			nanosleep(&ts, NULL);
			continue;
		}
		n = (int)(due - sent - dropped);
		if (n > BATCH)
			n = BATCH;
		for (int i = 0; i < n; i++) {
			size_t len = build(order[slot++ % (unsigned long)nkinds], pkts[i], &built[i]);
			iov[i].iov_base = pkts[i];
			iov[i].iov_len = len;
			if (opt.target.family == AF_INET)
				memcpy(&((struct sockaddr_in *)&to[i])->sin_addr, pkts[i] + 16, 4);
			else
				memcpy(&((struct sockaddr_in6 *)&to[i])->sin6_addr, pkts[i] + 24, 16);
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_name = &to[i];
			msgs[i].msg_hdr.msg_namelen = tolen;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		got = sendmmsg(fd, msgs, (unsigned)n, 0);
		if (got < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
				dropped += (unsigned long)n;
				continue;
			}
			perror("icmpflood: sendmmsg");
			return 1;
		}
		/* Count only what the kernel took; a refused packet (full queue) is dropped. */
		for (int i = 0; i < got; i++) {
			sent_kind[built[i]]++;
			if (kind_is_ours(built[i]))
				ours++;
		}
		sent += (unsigned long)got;
		dropped += (unsigned long)(n - got);
	}
	elapsed = (double)(now_ns() - start) / 1e9;

	printf("icmpflood: sent %lu packets in %.2f s: %.0f pps (asked %.0f); dropped %lu; flow ",
	       sent, elapsed, (double)sent / elapsed, opt.pps, dropped);
	if (!flow.known)
		printf("unknown");
	else if (flow.proto == 17 || flow.proto == 6)
		printf("%s sport %u dport %u", flow.proto == 17 ? "udp" : "tcp", flow.sport,
		       flow.dport);
	else
		printf("icmp id %u", flow.icmp_id);
	printf(" (%lu probes seen); ours %lu; kinds", flow.seen, ours);
	for (int i = 0; i < K_COUNT; i++)
		printf("%s%s=%lu", i ? "," : " ", kind_name[i], sent_kind[i]);
	printf("\n");
	close(fd);
	if (lfd >= 0)
		close(lfd);
	return 0;
}
