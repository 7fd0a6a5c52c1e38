/*
 * io_driver: exercise lib/io from the command line for the netns tests.
 *
 *   io_driver [OPTIONS] DST
 *     --mode raw|unpriv|auto  --method udp|icmp|tcp  --port N  --sport N
 *     --len N  --df  --src ADDR  --dev IF  --tos N  --classic
 *     --ttls 1,2,3   probes to send with the low-level API (seq = position)
 *     --wait MS      how long to wait for their replies (default 1000)
 *     --run          run a whole trace with the real core session and ht_io_run()
 *     --drop         ht_priv_drop() after opening; --status prints the privilege state
 *     --sandbox      enter the seccomp sandbox (trap mode) after dropping
 *     --max-ttl N --queries N   for --run
 *
 * Prints one line per reply ("reply seq=.. from=.. kind=.. annot=.. ...")
 * or per hop for --run ("hop 2 198.18.1.2 reached ..."), then "stats ...".
 *
 *   io_driver --flood DST --pps N --secs S [--src ADDR] [--quote-dst ADDR]
 *     send unrelated ICMP (time exceeded quoting a UDP packet from DST to
 *     198.19.255.1 / 2001:db8:ffff::1 or ADDR from port 4660 to 33435, and
 *     echo replies with a foreign id) to DST at N packets/s (raw, v4/v6)
 */
#include "io/io.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* <netinet/ip_icmp.h> defines icmp_id as a macro (struct icmp). */
#undef icmp_id

static const char *kind_str(enum ht_reply_kind k)
{
	switch (k) {
	case HT_REPLY_TIME_EXCEEDED:
		return "time_exceeded";
	case HT_REPLY_UNREACH:
		return "unreach";
	case HT_REPLY_PORT_UNREACH:
		return "port_unreach";
	case HT_REPLY_PTB:
		return "ptb";
	case HT_REPLY_ECHO_REPLY:
		return "echo_reply";
	case HT_REPLY_TCP_SYNACK:
		return "synack";
	case HT_REPLY_TCP_RST:
		return "rst";
	case HT_REPLY_UDP_REPLY:
		return "udp_reply";
	case HT_REPLY_PARAM_PROBLEM:
		return "param_problem";
	case HT_REPLY_OTHER:
		return "other";
	case HT_REPLY_NONE:
		break;
	}
	return "none";
}

struct drv {
	uint64_t tx[HT_MAX_TTL + 1];
	uint8_t ttl[HT_MAX_TTL + 1];
	bool got[HT_MAX_TTL + 1];
	int nsent, ngot;
};

static void print_reply(const struct ht_reply *r, int64_t rtt)
{
	char a[INET6_ADDRSTRLEN + 8], an[32];

	printf("reply seq=%u from=%s kind=%s annot=%s type=%u code=%u mtu=%u rttl=%u "
	       "rtt_us=%lld\n",
	       r->seq, ht_addr_str(&r->from, a, sizeof(a)), kind_str(r->kind),
	       ht_annot_str(r, an, sizeof(an))[0] ? an : "-", r->icmp_type, r->icmp_code, r->mtu,
	       r->reply_ttl, (long long)rtt);
}

static void on_reply(void *u, const struct ht_reply *r)
{
	struct drv *d = u;

	if (r->seq >= d->nsent) {
		printf("stray seq=%u\n", r->seq);
		return;
	}
	print_reply(r, (int64_t)r->rx_us - (int64_t)d->tx[r->seq]);
	if (!d->got[r->seq]) {
		d->got[r->seq] = true;
		d->ngot++;
	}
}

static void on_event(void *u, const struct ht_event *ev)
{
	char a[INET6_ADDRSTRLEN + 8], an[32];

	(void)u;
	if (ev->type == HT_EV_HOP_DONE) {
		const struct ht_hop *h = ev->hop;
		printf("hop %d", h->ttl);
		for (int i = 0; i < h->nprobes; i++) {
			const struct ht_probe *p = &h->probes[i];
			if (p->state != HT_PROBE_REPLIED) {
				printf(" *");
				continue;
			}
			printf(" %s%s%s:%u", ht_addr_str(&p->reply.from, a, sizeof(a)),
			       ht_annot_str(&p->reply, an, sizeof(an))[0] ? " " : "", an,
			       p->rtt_us);
		}
		printf("%s\n", h->reached ? " reached" : "");
	} else if (ev->type == HT_EV_TRACE_DONE) {
		printf("done reason=%d last=%d\n", ev->reason, ev->last_ttl);
	}
}

static int print_status(void)
{
	struct ht_priv_state st;
	int rc = ht_priv_read_state(&st);

	if (rc < 0)
		return rc;
	printf("status uid=%lu,%lu,%lu,%lu gid=%lu,%lu,%lu,%lu inh=%llx prm=%llx eff=%llx "
	       "bnd=%llx amb=%llx nnp=%d seccomp=%d\n",
	       st.uid[0], st.uid[1], st.uid[2], st.uid[3], st.gid[0], st.gid[1], st.gid[2],
	       st.gid[3], (unsigned long long)st.cap_inh, (unsigned long long)st.cap_prm,
	       (unsigned long long)st.cap_eff, (unsigned long long)st.cap_bnd,
	       (unsigned long long)st.cap_amb, st.no_new_privs, st.seccomp);
	return 0;
}

/* ---- flooder ------------------------------------------------------------ */

static int flood(const ht_addr *dst, const ht_addr *src, const ht_addr *qdst, long pps,
                 double secs)
{
	uint8_t te[128], er[64];
	struct sockaddr_storage ss;
	socklen_t sl;
	int v6 = dst->family == AF_INET6;
	int fd = socket(dst->family, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	size_t telen, erlen;

	if (fd < 0) {
		perror("flood socket");
		return 1;
	}
	if (src && src->family) {
		struct sockaddr_storage bs;
		memset(&bs, 0, sizeof(bs));
		if (v6) {
			((struct sockaddr_in6 *)&bs)->sin6_family = AF_INET6;
			((struct sockaddr_in6 *)&bs)->sin6_addr = src->u.v6;
			sl = sizeof(struct sockaddr_in6);
		} else {
			((struct sockaddr_in *)&bs)->sin_family = AF_INET;
			((struct sockaddr_in *)&bs)->sin_addr = src->u.v4;
			sl = sizeof(struct sockaddr_in);
		}
		if (bind(fd, (struct sockaddr *)&bs, sl) < 0)
			perror("flood bind");
	}
	memset(&ss, 0, sizeof(ss));
	memset(te, 0, sizeof(te));
	memset(er, 0, sizeof(er));
	if (v6) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_addr = dst->u.v6;
		sl = sizeof(struct sockaddr_in6);
		/* Time exceeded quoting an IPv6/UDP packet from dst to 2001:db8:ffff::1
		 * with ports nobody uses; the kernel computes the ICMPv6 checksum. */
		te[0] = ICMP6_TIME_EXCEEDED;
		uint8_t *q = te + 8;
		q[0] = 0x60;
		q[5] = 16; /* payload length */
		q[6] = IPPROTO_UDP;
		q[7] = 1;
		memcpy(q + 8, &dst->u.v6, 16);
		q[24] = 0x20, q[25] = 0x01, q[26] = 0x0d, q[27] = 0xb8, q[28] = 0xff, q[29] = 0xff;
		q[39] = 1;
		if (qdst->family == AF_INET6)
			memcpy(q + 24, &qdst->u.v6, 16);
		q[40] = 0x12, q[41] = 0x34, q[42] = 0x82, q[43] = 0x9b; /* ports 4660 -> 33435 */
		q[45] = 16;
		telen = 8 + 40 + 16;
		er[0] = ICMP6_ECHO_REPLY;
		er[4] = 0xfe, er[5] = 0xec; /* even: raw mode's ids are odd */
		erlen = 16;
	} else {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_addr = dst->u.v4;
		sl = sizeof(struct sockaddr_in);
		te[0] = ICMP_TIME_EXCEEDED;
		uint8_t *q = te + 8;
		q[0] = 0x45;
		q[3] = 28;
		q[8] = 1;
		q[9] = IPPROTO_UDP;
		memcpy(q + 12, &dst->u.v4, 4);
		q[16] = 198, q[17] = 19, q[18] = 255, q[19] = 1;
		if (qdst->family == AF_INET)
			memcpy(q + 16, &qdst->u.v4, 4);
		q[20] = 0x12, q[21] = 0x34, q[22] = 0x82, q[23] = 0x9b;
		q[25] = 8;
		telen = 8 + 28;
		/* Valid checksums (quoted IP header, ICMP), so that the decoder
		 * takes the "well formed, not ours" path. ht_csum gives the
		 * value of the big-endian checksum word. */
		uint16_t c = ht_csum(q, 20);
		q[10] = (uint8_t)(c >> 8), q[11] = (uint8_t)c;
		c = ht_csum(te, telen);
		te[2] = (uint8_t)(c >> 8), te[3] = (uint8_t)c;
		er[0] = ICMP_ECHOREPLY;
		er[4] = 0xfe, er[5] = 0xec;
		erlen = 16;
		c = ht_csum(er, erlen);
		er[2] = (uint8_t)(c >> 8), er[3] = (uint8_t)c;
	}
	uint64_t start = ht_now_us(), end = start + (uint64_t)(secs * 1e6);
	long sent = 0;
	for (;;) {
		uint64_t now = ht_now_us();
		if (now >= end)
			break;
		long due = (long)((double)(now - start) * (double)pps / 1e6);
		if (sent >= due) {
			struct timespec ts = {0, 20000};
			nanosleep(&ts, NULL);
			continue;
		}
		while (sent < due) {
			bool echo = sent % 4 == 3;
			if (sendto(fd, echo ? er : te, echo ? erlen : telen, 0, (struct sockaddr *)&ss,
			           sl) < 0 &&
			    errno != ENOBUFS && errno != EAGAIN) {
				perror("flood sendto");
				return 1;
			}
			sent++;
		}
	}
	fprintf(stderr, "flood: sent %ld packets in %.1f s\n", sent, secs);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct ht_config cfg;
	struct ht_io_opts o = {.mode = HT_IO_AUTO};
	int ttls[HT_MAX_TTL + 1], nttl = 0, wait_ms = 1000;
	bool run = false, drop = false, status = false, sandbox = false, do_flood = false;
	bool linger = false, forbidden = false;
	ht_addr qdst = {0};
	long pps = 100000;
	double secs = 1;
	char err[512];
	int rc;

	ht_config_defaults(&cfg);
	enum { O_MODE = 256, O_METHOD, O_PORT, O_SPORT, O_LEN, O_DF, O_SRC, O_DEV, O_TOS, O_CLASSIC,
	       O_TTLS, O_WAIT, O_RUN, O_DROP, O_STATUS, O_SANDBOX, O_MAXTTL, O_QUERIES, O_FLOOD,
	       O_PPS, O_SECS, O_LINGER, O_QDST, O_FORBIDDEN };
	static const struct option lo[] = {
		{"mode", 1, 0, O_MODE},       {"method", 1, 0, O_METHOD}, {"port", 1, 0, O_PORT},
		{"sport", 1, 0, O_SPORT},     {"len", 1, 0, O_LEN},       {"df", 0, 0, O_DF},
		{"src", 1, 0, O_SRC},         {"dev", 1, 0, O_DEV},       {"tos", 1, 0, O_TOS},
		{"classic", 0, 0, O_CLASSIC}, {"ttls", 1, 0, O_TTLS},     {"wait", 1, 0, O_WAIT},
		{"run", 0, 0, O_RUN},         {"drop", 0, 0, O_DROP},     {"status", 0, 0, O_STATUS},
		{"sandbox", 0, 0, O_SANDBOX}, {"max-ttl", 1, 0, O_MAXTTL}, {"queries", 1, 0, O_QUERIES},
		{"flood", 0, 0, O_FLOOD},     {"pps", 1, 0, O_PPS},       {"secs", 1, 0, O_SECS},
		{"linger", 0, 0, O_LINGER},   {"quote-dst", 1, 0, O_QDST},
		{"probe-forbidden", 0, 0, O_FORBIDDEN},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_MODE:
			o.mode = !strcmp(optarg, "raw")      ? HT_IO_RAW
			         : !strcmp(optarg, "unpriv") ? HT_IO_UNPRIV
			                                     : HT_IO_AUTO;
			break;
		case O_METHOD:
			cfg.method = !strcmp(optarg, "icmp")  ? HT_METHOD_ICMP
			             : !strcmp(optarg, "tcp") ? HT_METHOD_TCP
			                                      : HT_METHOD_UDP;
			break;
		case O_PORT:
			cfg.port = (uint16_t)atoi(optarg);
			break;
		case O_SPORT:
			cfg.sport = (uint16_t)atoi(optarg);
			break;
		case O_LEN:
			cfg.packet_len = (size_t)atoi(optarg);
			break;
		case O_DF:
			cfg.dont_fragment = true;
			break;
		case O_SRC:
			if (ht_addr_parse(optarg, &cfg.src) < 0) {
				fprintf(stderr, "bad source %s\n", optarg);
				return 2;
			}
			break;
		case O_DEV:
			o.device = optarg;
			break;
		case O_TOS:
			cfg.tos = atoi(optarg);
			break;
		case O_CLASSIC:
			cfg.classic = true;
			break;
		case O_TTLS:
			for (char *t = strtok(optarg, ","); t && nttl <= HT_MAX_TTL;
			     t = strtok(NULL, ","))
				ttls[nttl++] = atoi(t);
			break;
		case O_WAIT:
			wait_ms = atoi(optarg);
			break;
		case O_RUN:
			run = true;
			break;
		case O_DROP:
			drop = true;
			break;
		case O_STATUS:
			status = true;
			break;
		case O_SANDBOX:
			sandbox = true;
			break;
		case O_MAXTTL:
			cfg.max_ttl = atoi(optarg);
			break;
		case O_QUERIES:
			cfg.nqueries = atoi(optarg);
			break;
		case O_FLOOD:
			do_flood = true;
			break;
		case O_PPS:
			pps = atol(optarg);
			break;
		case O_QDST:
			if (ht_addr_parse(optarg, &qdst) < 0)
				return 2;
			break;
		case O_FORBIDDEN:
			forbidden = true;
			break;
		case O_LINGER:
			linger = true; /* keep reading until --wait expires */
			break;
		case O_SECS:
			secs = atof(optarg);
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc || ht_addr_parse(argv[optind], &cfg.dst) < 0) {
		fprintf(stderr, "usage: io_driver [OPTIONS] DST (numeric)\n");
		return 2;
	}
	if (do_flood)
		return flood(&cfg.dst, &cfg.src, &qdst, pps, secs);
	cfg.family = cfg.dst.family;
	cfg.window = cfg.max_ttl * cfg.nqueries;

	ht_io *io;
	rc = ht_io_open(&io, &cfg, &o, err, sizeof(err));
	if (rc < 0) {
		printf("open_error rc=%d msg=%s\n", rc, err);
		return 3;
	}
	const struct ht_flow *f = ht_io_flow(io);
	char sa[INET6_ADDRSTRLEN + 8];
	printf("open mode=%s src=%s sport=%u dport=%u id=%u len=%zu\n",
	       ht_io_mode_used(io) == HT_IO_RAW ? "raw" : "unpriv",
	       ht_addr_str(&f->src, sa, sizeof(sa)), f->sport, f->dport, f->icmp_id,
	       f->packet_len);
	if (drop) {
		rc = ht_priv_drop();
		if (rc < 0) {
			printf("drop_error rc=%d\n", rc);
			ht_io_close(io);
			return 4;
		}
	}
	if (sandbox) {
		rc = ht_sandbox_enter_flags(forbidden ? HT_SANDBOX_ERRNO : HT_SANDBOX_TRAP);
		if (rc < 0) {
			printf("sandbox_error rc=%d\n", rc);
			ht_io_close(io);
			return 5;
		}
	}
	if (status && print_status() < 0)
		printf("status_error\n");
	if (forbidden) {
		/* In EPERM mode these fail; in trap mode (--sandbox) the first
		 * one ends the process with status 70. Use EPERM mode here. */
		int a = open("/tmp/ht-io-forbidden", O_WRONLY | O_CREAT, 0600);
		int b = socket(AF_PACKET, SOCK_RAW, 0);
		char *const av[] = {"/bin/true", NULL};
		int e = execve("/bin/true", av, NULL);
		printf("forbidden open_write=%d socket_packet=%d execve=%d\n", a < 0 ? -1 : a,
		       b < 0 ? -1 : b, e);
	}
	fflush(stdout);

	if (run) {
		ht_session *s;
		rc = ht_session_new(&s, &cfg, ht_io_ops(), io, on_event, NULL);
		if (rc < 0) {
			printf("session_error rc=%d\n", rc);
			ht_io_close(io);
			return 6;
		}
		rc = ht_io_run(io, s, NULL);
		struct ht_session_stats st;
		ht_session_stats(s, &st);
		printf("run rc=%d sent=%u matched=%u unmatched=%u\n", rc, st.probes_sent,
		       st.replies_matched, st.replies_unmatched);
		ht_session_free(s);
	} else {
		struct drv d;
		memset(&d, 0, sizeof(d));
		for (int i = 0; i < nttl; i++) {
			d.ttl[i] = (uint8_t)ttls[i];
			d.nsent = i + 1;
			rc = ht_io_send_probe(io, (uint16_t)i, (uint8_t)ttls[i], &d.tx[i]);
			if (rc < 0)
				printf("send_error seq=%d rc=%d\n", i, rc);
		}
		uint64_t end = ht_now_us() + (uint64_t)wait_ms * 1000u;
		struct pollfd pfd[HT_MAX_TTL + 16];
		while (d.ngot < nttl || linger) {
			uint64_t now = ht_now_us();
			if (now >= end)
				break;
			int n = ht_io_pollfds(io, pfd, (int)(sizeof(pfd) / sizeof(pfd[0])));
			int t = (int)((end - now) / 1000u) + 1;
			if (t > 50)
				t = 50; /* also deliver queued replies */
			int pr = poll(pfd, (nfds_t)n, t);
			if (pr < 0 && errno != EINTR)
				break;
			/* Queued replies (synchronous connects) need no readiness. */
			ht_io_drain(io, pfd, pr > 0 ? n : 0, 512, on_reply, &d);
		}
		for (int i = 0; i < nttl; i++)
			if (!d.got[i])
				printf("noreply seq=%d ttl=%d\n", i, ttls[i]);
	}
	struct ht_io_stats ist;
	ht_io_get_stats(io, &ist);
	printf("stats rx=%llu matched=%llu unmatched=%llu malformed=%llu tx=%llu txerr=%llu\n",
	       (unsigned long long)ist.rx_packets, (unsigned long long)ist.rx_matched,
	       (unsigned long long)ist.rx_unmatched, (unsigned long long)ist.rx_malformed,
	       (unsigned long long)ist.tx_packets, (unsigned long long)ist.tx_errors);
	ht_io_close(io);
	return 0;
}
