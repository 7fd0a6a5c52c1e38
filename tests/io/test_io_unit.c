/*
 * Unit tests of lib/io pieces that need no network and no root: the
 * kernel-stamp to monotonic conversion, ICMP classification (annotations
 * as classic traceroute prints them), control-message parsing, the
 * privilege-state reader, and receive fairness between sockets.
 */
#include "io/io_internal.h"
#include "method/method.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void test_stamp_to_mono(void **state)
{
	(void)state;
	struct timespec real_now = {.tv_sec = 1000, .tv_nsec = 500000000};
	/* A packet stamped 1.25 ms before the clocks were read. */
	struct timespec stamp = {.tv_sec = 1000, .tv_nsec = 498750000};
	assert_int_equal(ht_io_stamp_to_mono(&stamp, 5000000, &real_now), 5000000 - 1250);
	/* Across a second boundary, rounded to the nearest microsecond. */
	struct timespec stamp2 = {.tv_sec = 999, .tv_nsec = 999999400};
	assert_int_equal(ht_io_stamp_to_mono(&stamp2, 5000000, &real_now), 5000000 - 500001);
	/* A stamp in the future (clock stepped back) is taken as now. */
	struct timespec future = {.tv_sec = 1001, .tv_nsec = 0};
	assert_int_equal(ht_io_stamp_to_mono(&future, 5000000, &real_now), 5000000);
	/* A stamp absurdly old (clock stepped forward) too. */
	struct timespec old = {.tv_sec = 100, .tv_nsec = 0};
	assert_int_equal(ht_io_stamp_to_mono(&old, 5000000, &real_now), 5000000);
}

struct cls {
	int family;
	uint8_t type, code;
	enum ht_reply_kind kind;
	enum ht_annot annot;
	const char *text;
};

static void test_classify(void **state)
{
	(void)state;
	static const struct cls t[] = {
		{AF_INET, ICMP_TIME_EXCEEDED, 0, HT_REPLY_TIME_EXCEEDED, HT_ANN_NONE, ""},
		{AF_INET, ICMP_TIME_EXCEEDED, 1, HT_REPLY_TIME_EXCEEDED, HT_ANN_TYPE, "!<11-1>"},
		{AF_INET, ICMP_ECHOREPLY, 0, HT_REPLY_ECHO_REPLY, HT_ANN_NONE, ""},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, HT_REPLY_PORT_UNREACH, HT_ANN_NONE, ""},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, HT_REPLY_UNREACH, HT_ANN_NET, "!N"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, HT_REPLY_UNREACH, HT_ANN_HOST, "!H"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, HT_REPLY_UNREACH, HT_ANN_PROTO, "!P"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_SR_FAILED, HT_REPLY_UNREACH, HT_ANN_SRCROUTE, "!S"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_NET_UNKNOWN, HT_REPLY_UNREACH, HT_ANN_NET, "!N"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_HOST_UNKNOWN, HT_REPLY_UNREACH, HT_ANN_HOST, "!H"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_HOST_ISOLATED, HT_REPLY_UNREACH, HT_ANN_NET, "!N"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_NET_ANO, HT_REPLY_UNREACH, HT_ANN_ADMIN, "!X"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_HOST_ANO, HT_REPLY_UNREACH, HT_ANN_ADMIN, "!X"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_NET_UNR_TOS, HT_REPLY_UNREACH, HT_ANN_NET, "!N"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_HOST_UNR_TOS, HT_REPLY_UNREACH, HT_ANN_HOST, "!H"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_PKT_FILTERED, HT_REPLY_UNREACH, HT_ANN_ADMIN, "!X"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_PREC_VIOLATION, HT_REPLY_UNREACH, HT_ANN_HOSTPREC,
		 "!V"},
		{AF_INET, ICMP_DEST_UNREACH, ICMP_PREC_CUTOFF, HT_REPLY_UNREACH, HT_ANN_PRECCUT, "!C"},
		{AF_INET, ICMP_DEST_UNREACH, 42, HT_REPLY_UNREACH, HT_ANN_OTHER, "!<42>"},
		{AF_INET, ICMP_PARAMETERPROB, 0, HT_REPLY_PARAM_PROBLEM, HT_ANN_TYPE, "!<12-0>"},
		{AF_INET, ICMP_REDIRECT, 0, HT_REPLY_OTHER, HT_ANN_TYPE, "!<5-0>"},
		{AF_INET6, ICMP6_TIME_EXCEEDED, 0, HT_REPLY_TIME_EXCEEDED, HT_ANN_NONE, ""},
		{AF_INET6, ICMP6_TIME_EXCEEDED, 1, HT_REPLY_TIME_EXCEEDED, HT_ANN_TYPE, "!<3-1>"},
		{AF_INET6, ICMP6_ECHO_REPLY, 0, HT_REPLY_ECHO_REPLY, HT_ANN_NONE, ""},
		{AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, HT_REPLY_PORT_UNREACH,
		 HT_ANN_NONE, ""},
		{AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE, HT_REPLY_UNREACH, HT_ANN_NET,
		 "!N"},
		{AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN, HT_REPLY_UNREACH, HT_ANN_ADMIN,
		 "!X"},
		{AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR, HT_REPLY_UNREACH, HT_ANN_HOST,
		 "!H"},
		{AF_INET6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_BEYONDSCOPE, HT_REPLY_UNREACH,
		 HT_ANN_HOST, "!H"},
		{AF_INET6, ICMP6_DST_UNREACH, 5, HT_REPLY_UNREACH, HT_ANN_OTHER, "!<5>"},
		{AF_INET6, ICMP6_DST_UNREACH, 6, HT_REPLY_UNREACH, HT_ANN_OTHER, "!<6>"},
		{AF_INET6, ICMP6_DST_UNREACH, 9, HT_REPLY_UNREACH, HT_ANN_OTHER, "!<9>"},
		{AF_INET6, ICMP6_PARAM_PROB, 0, HT_REPLY_PARAM_PROBLEM, HT_ANN_TYPE, "!<4-0>"},
		{AF_INET6, ICMP6_PARAM_PROB, 1, HT_REPLY_PARAM_PROBLEM, HT_ANN_PROTO, "!P"},
		{AF_INET6, ICMP6_PARAM_PROB, 2, HT_REPLY_PARAM_PROBLEM, HT_ANN_TYPE, "!<4-2>"},
		{AF_INET6, ICMP6_ECHO_REQUEST, 0, HT_REPLY_OTHER, HT_ANN_TYPE, "!<128-0>"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ht_reply r;
		char buf[32];
		memset(&r, 0, sizeof(r));
		ht_icmp_classify(t[i].family, t[i].type, t[i].code, &r);
		assert_int_equal(r.kind, t[i].kind);
		assert_int_equal(r.annot, t[i].annot);
		assert_int_equal(r.icmp_type, t[i].type);
		assert_int_equal(r.icmp_code, t[i].code);
		assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), t[i].text);
	}
	/* Fragmentation needed / packet too big carry the MTU in the text. */
	struct ht_reply r;
	char buf[32];
	memset(&r, 0, sizeof(r));
	ht_icmp_classify(AF_INET, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, &r);
	assert_int_equal(r.kind, HT_REPLY_PTB);
	r.mtu = 1280;
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!F-1280");
	memset(&r, 0, sizeof(r));
	ht_icmp_classify(AF_INET6, ICMP6_PACKET_TOO_BIG, 0, &r);
	assert_int_equal(r.kind, HT_REPLY_PTB);
	assert_int_equal(r.annot, HT_ANN_FRAG);
	assert_string_equal(ht_annot_str(&r, buf, sizeof(buf)), "!F-0");
}

/* A control buffer as the kernel builds it for an error-queue read. */
static void test_parse_cmsgs(void **state)
{
	(void)state;
	union {
		char b[512];
		struct cmsghdr align;
	} cbuf;
	struct msghdr msg;
	struct cmsghdr *c;
	struct sock_extended_err ee;
	struct sockaddr_in off;
	struct timespec ts = {.tv_sec = 2000, .tv_nsec = 0};
	struct timespec real = {.tv_sec = 2000, .tv_nsec = 3000000};
	int ttl = 61;

	memset(&cbuf, 0, sizeof(cbuf));
	memset(&msg, 0, sizeof(msg));
	msg.msg_control = cbuf.b;
	msg.msg_controllen = CMSG_SPACE(sizeof(ts)) + CMSG_SPACE(sizeof(int)) +
	                     CMSG_SPACE(sizeof(ee) + sizeof(off));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_TIMESTAMPNS;
	c->cmsg_len = CMSG_LEN(sizeof(ts));
	memcpy(CMSG_DATA(c), &ts, sizeof(ts));
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_TTL;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &ttl, sizeof(ttl));
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_RECVERR;
	c->cmsg_len = CMSG_LEN(sizeof(ee) + sizeof(off));
	memset(&ee, 0, sizeof(ee));
	ee.ee_errno = EMSGSIZE;
	ee.ee_origin = SO_EE_ORIGIN_ICMP;
	ee.ee_type = ICMP_DEST_UNREACH;
	ee.ee_code = ICMP_FRAG_NEEDED;
	ee.ee_info = 1400;
	memset(&off, 0, sizeof(off));
	off.sin_family = AF_INET;
	off.sin_addr.s_addr = htonl(0xc6120101); /* 198.18.1.1 */
	memcpy(CMSG_DATA(c), &ee, sizeof(ee));
	memcpy(CMSG_DATA(c) + sizeof(ee), &off, sizeof(off));

	struct ht_rxmeta m;
	ht_io_parse_cmsgs(&msg, 10000000, &real, &m);
	assert_true(m.has_stamp);
	assert_int_equal(m.rx_us, 10000000 - 3000);
	assert_int_equal(m.ttl, 61);
	assert_true(m.has_ee);
	assert_int_equal(m.ee.ee_origin, SO_EE_ORIGIN_ICMP);
	assert_int_equal(m.ee.ee_type, ICMP_DEST_UNREACH);
	assert_int_equal(m.ee.ee_code, ICMP_FRAG_NEEDED);
	assert_int_equal(m.ee.ee_info, 1400);
	assert_int_equal(m.offender.family, AF_INET);
	assert_int_equal(ntohl(m.offender.u.v4.s_addr), 0xc6120101);

	/* No control messages at all: nothing known. */
	msg.msg_controllen = 0;
	ht_io_parse_cmsgs(&msg, 10000000, &real, &m);
	assert_false(m.has_stamp);
	assert_false(m.has_ee);
	assert_int_equal(m.ttl, -1);
}

static void test_priv_state(void **state)
{
	(void)state;
	struct ht_priv_state st;
	assert_int_equal(ht_priv_read_state(&st), 0);
	assert_int_equal(st.uid[0], (unsigned long)getuid());
	assert_int_equal(st.uid[1], (unsigned long)geteuid());
	assert_int_equal(st.gid[0], (unsigned long)getgid());
}

/* A realtime stamp taken now converts to (about) the monotonic now. */
static void test_clock_pair(void **state)
{
	(void)state;
	for (int i = 0; i < 100; i++) {
		struct timespec stamp, real;
		uint64_t mono;
		uint64_t before = ht_now_us();
		clock_gettime(CLOCK_REALTIME, &stamp);
		ht_io_clock_pair(&mono, &real);
		uint64_t rx = ht_io_stamp_to_mono(&stamp, mono, &real);
		/* The stamp was taken after `before`: never earlier than it
		 * (1 us of rounding allowed), and not much later. */
		assert_true(rx + 1 >= before);
		assert_true(rx <= ht_now_us() + 1);
	}
}

static void test_now_monotonic(void **state)
{
	(void)state;
	uint64_t a = ht_now_us();
	usleep(2000);
	uint64_t b = ht_now_us();
	assert_true(b >= a + 2000);
	assert_true(b < a + 1000000);
}

/* Receive fairness: a flood on the ICMP socket must not starve the TCP
 * socket where the destination's SYN-ACKs arrive. Datagram socket pairs
 * stand in for the raw sockets (ht_io_drain only calls recvmmsg on them);
 * every loop turn the ICMP socket holds more junk than the turn's budget,
 * as under a flood that the kernel filter lets through. */
struct fair_seen {
	int replies;
	uint16_t seq;
	enum ht_reply_kind kind;
};

static void fair_cb(void *u, const struct ht_reply *r)
{
	struct fair_seen *s = u;
	s->replies++;
	s->seq = r->seq;
	s->kind = r->kind;
}

static int queued(int fd)
{
	char b;
	return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

static void test_drain_fair(void **state)
{
	(void)state;
	int icmp[2], tcp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, icmp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tcp), 0);

	struct ht_io *io = calloc(1, sizeof(*io));
	assert_non_null(io);
	io->mode = HT_IO_RAW;
	io->be = &ht_io_backend_raw;
	io->family = AF_INET;
	io->send_fd = io->reserve_fd = io->dgram_fd = -1;
	io->rx_icmp_fd = icmp[0];
	io->rx_tcp_fd = tcp[0];
	struct ht_flow *f = &io->flow;
	f->family = AF_INET;
	f->method = HT_METHOD_TCP;
	assert_int_equal(ht_addr_parse("198.18.0.1", &f->src), 0);
	assert_int_equal(ht_addr_parse("198.18.200.1", &f->dst), 0);
	f->sport = 40000;
	f->dport = 80;
	f->packet_len = 60;
	io->rxbuf_len = 4096;
	io->rxbuf = malloc(io->rxbuf_len * 16);
	assert_non_null(io->rxbuf);

	/* The destination's SYN-ACK to probe 7: IPv4 + TCP, acknowledging
	 * our sequence number (tag << 16 | seq) + 1. */
	uint8_t ans[40] = {0x45, 0, 0, 40, 0, 0, 0x40, 0, 57, IPPROTO_TCP};
	memcpy(ans + 12, &f->dst.u.v4, 4);
	memcpy(ans + 16, &f->src.u.v4, 4);
	uint8_t *t = ans + 20;
	t[0] = 80 >> 8, t[1] = 80 & 0xff;
	t[2] = 40000 >> 8, t[3] = 40000 & 0xff;
	uint32_t ack = ((uint32_t)ht_tcp_tag(f) << 16 | 7u) + 1u;
	t[8] = (uint8_t)(ack >> 24), t[9] = (uint8_t)(ack >> 16);
	t[10] = (uint8_t)(ack >> 8), t[11] = (uint8_t)ack;
	t[12] = 5 << 4;
	t[13] = 0x12; /* SYN, ACK */
	assert_int_equal(send(tcp[1], ans, sizeof(ans), 0), (ssize_t)sizeof(ans));

	/* Junk for the ICMP socket: an IPv4 header with nothing of ours. */
	uint8_t junk[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, IPPROTO_ICMP};
	const int budget = 64;
	struct fair_seen seen = {0};
	uint64_t read_total = 0;
	uint64_t refill = 2 * budget;
	for (int turn = 0; turn < 4; turn++) {
		/* Keep the flood at twice the budget at the start of each turn. */
		for (uint64_t i = 0; i < refill; i++)
			assert_int_equal(send(icmp[1], junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
		struct pollfd pfd[8];
		int n = ht_io_pollfds(io, pfd, 8);
		assert_int_equal(n, 2);
		assert_int_equal(poll(pfd, (nfds_t)n, 0), turn == 0 ? 2 : 1);
		uint64_t before = io->stats.rx_packets;
		int got = ht_io_drain(io, pfd, n, budget, fair_cb, &seen);
		assert_true(got <= budget);
		/* Each turn reads the flood too, not only the quiet socket. */
		assert_true(io->stats.rx_packets - before >= 16);
		read_total += io->stats.rx_packets - before;
		refill = io->stats.rx_packets - before - (turn == 0);
		if (turn == 0) {
			/* The answer is taken on the first turn, flood or not. */
			assert_int_equal(seen.replies, 1);
			assert_int_equal(seen.seq, 7);
			assert_int_equal(seen.kind, HT_REPLY_TCP_SYNACK);
			assert_false(queued(tcp[0]));
		}
	}
	assert_int_equal(seen.replies, 1);
	assert_true(queued(icmp[0]));
	assert_true(read_total > 16 * 4);

	free(io->rxbuf);
	free(io);
	close(icmp[0]), close(icmp[1]), close(tcp[0]), close(tcp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stamp_to_mono), cmocka_unit_test(test_classify),
		cmocka_unit_test(test_parse_cmsgs),   cmocka_unit_test(test_priv_state),
		cmocka_unit_test(test_now_monotonic), cmocka_unit_test(test_clock_pair),
		cmocka_unit_test(test_drain_fair),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
