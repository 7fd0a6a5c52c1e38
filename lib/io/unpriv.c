/*
 * Unprivileged mode: no CAP_NET_RAW.
 *
 *  ICMP: one datagram "ping" socket (allowed by net.ipv4.ping_group_range,
 *        which also governs IPv6). The kernel writes the echo id (the
 *        socket's bound "port") and checksum; echo replies arrive as
 *        datagrams, ICMP errors on the error queue (IP_RECVERR), quoting
 *        our echo header, whose sequence number names the probe.
 *  UDP:  one UDP socket for the whole trace (one source port: the flow
 *        stays stable across load balancers), the TTL set per packet; the
 *        probe is named by the sequence word that starts its payload, which
 *        the router quotes back (the error queue hands us the quoted
 *        payload). A router that quotes only 8 bytes (RFC 792) quotes none
 *        of it and cannot be matched. With --classic: one connected UDP
 *        socket per probe in flight, the socket names the probe (ports
 *        vary, like old traceroute, and short quotes are fine).
 *  TCP:  one non-blocking connect() per probe: SYN-ACK (connected) or RST
 *        (ECONNREFUSED) means reached; ICMP errors on the error queue.
 *
 * Every read goes through the one decode and match path of raw sockets:
 * ht_rx_parse_sock (lib/proto) parses what the kernel gave (struct
 * sock_extended_err: origin, ICMP type and code, MTU in ee_info, offender;
 * the quoted part of our datagram; msg_name), ht_rx_identify (lib/method)
 * ties it to the flow and a probe. The quoted TTL is unknown here.
 */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* <netinet/ip_icmp.h> defines icmp_id as a macro for struct icmp; our
 * struct ht_flow has a field of that name. */
#undef icmp_id

#ifndef IPV6_AUTOFLOWLABEL
#define IPV6_AUTOFLOWLABEL 70
#endif

#define HT_PSOCK_MAX 1000

static int setint(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

/* Errors for a whole window queue on one socket: ask for a larger
 * receive buffer (capped by net.core.rmem_max without privileges). */
static void up_grow_rcvbuf(int fd)
{
	int sz = 4 << 20;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/* Options shared by every unprivileged socket: errors on the error
 * queue, the reply TTL, TOS, fragmentation policy, no flow label. */
static int up_sockopts(struct ht_io *io, int fd)
{
	int rc;

	if ((rc = ht_io_sock_common(io, fd, true)) < 0)
		return rc;
	if (io->family == AF_INET) {
		if ((rc = setint(fd, IPPROTO_IP, IP_RECVERR, 1)) < 0 ||
		    (rc = setint(fd, IPPROTO_IP, IP_RECVTTL, 1)) < 0)
			return rc;
		if (io->flow.tos && (rc = setint(fd, IPPROTO_IP, IP_TOS, io->flow.tos)) < 0)
			return rc;
		/* Like the raw probes: DF only with -F, and then ignore a
		 * learned path MTU so that the narrow link reports itself. */
		rc = setint(fd, IPPROTO_IP, IP_MTU_DISCOVER,
		            io->flow.dont_fragment ? IP_PMTUDISC_PROBE : IP_PMTUDISC_DONT);
		if (rc < 0)
			return rc;
	} else {
		if ((rc = setint(fd, IPPROTO_IPV6, IPV6_RECVERR, 1)) < 0 ||
		    (rc = setint(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)) < 0)
			return rc;
		if (io->flow.tos && (rc = setint(fd, IPPROTO_IPV6, IPV6_TCLASS, io->flow.tos)) < 0)
			return rc;
		if (setint(fd, IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, 0) < 0 && errno != ENOPROTOOPT)
			return -errno;
		if (io->flow.dont_fragment) {
			if ((rc = setint(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER,
			                 IPV6_PMTUDISC_PROBE)) < 0 ||
			    (rc = setint(fd, IPPROTO_IPV6, IPV6_DONTFRAG, 1)) < 0)
				return rc;
		}
	}
	return 0;
}

static void ping_range_error(char *err, size_t errlen)
{
	char range[64] = "?";
	FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "re");

	if (f) {
		if (fgets(range, sizeof(range), f)) {
			range[strcspn(range, "\n")] = '\0';
			for (char *p = range; *p; p++)
				if (*p == '\t')
					*p = ' ';
		}
		fclose(f);
	}
	ht_io_errf(err, errlen,
	           "raw sockets need CAP_NET_RAW (run as root or `setcap cap_net_raw+ep "
	           "hoptrace`), and unprivileged ICMP is disabled: net.ipv4.ping_group_range is "
	           "'%s' (allow with `sysctl net.ipv4.ping_group_range='0 2147483647'`)",
	           range);
}

/*
 * The one datagram socket of a trace: the ICMP "ping" socket (the kernel
 * picks a free echo id, which is the bound "port"), or the flow-stable
 * UDP socket (bound once, so one source port, and connected to the
 * destination port). Either way every error of the trace queues on it.
 */
static int up_open_shared(struct ht_io *io, char *err, size_t errlen)
{
	bool ping = io->flow.method == HT_METHOD_ICMP;
	const char *what = ping ? "ICMP" : "UDP";
	struct sockaddr_storage ss;
	socklen_t len;
	int rc;
	int proto = !ping ? 0 : io->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	io->dgram_fd = socket(io->family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
	if (io->dgram_fd < 0) {
		rc = -errno;
		if (ping && (rc == -EACCES || rc == -EPERM))
			ping_range_error(err, errlen);
		else
			ht_io_errf(err, errlen, "cannot open %s %s socket: %s", ping ? "an" : "a",
			           what, strerror(-rc));
		return rc;
	}
	if ((rc = up_sockopts(io, io->dgram_fd)) < 0)
		goto fail;
	up_grow_rcvbuf(io->dgram_fd);
	ht_io_addr_to_sa(&io->flow.src, ping ? 0 : io->cfg.sport, &ss, &len);
	if (bind(io->dgram_fd, (struct sockaddr *)&ss, len) < 0) {
		rc = -errno;
		goto fail;
	}
	/* UDP, connected: datagrams from anyone but the destination's port
	 * are not ours to read (errors are queued either way). */
	if (!ping) {
		ht_io_addr_to_sa(&io->flow.dst, io->flow.dport, &ss, &len);
		if (connect(io->dgram_fd, (struct sockaddr *)&ss, len) < 0) {
			rc = -errno;
			goto fail;
		}
	}
	len = sizeof(ss);
	if (getsockname(io->dgram_fd, (struct sockaddr *)&ss, &len) < 0) {
		rc = -errno;
		goto fail;
	}
	uint16_t port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                               : ((struct sockaddr_in *)&ss)->sin_port);
	/* UDP: the payload's checksum word is solved for this port. */
	if (ping)
		io->flow.icmp_id = port;
	else
		io->flow.sport = port;
	return 0;
fail:
	ht_io_errf(err, errlen, "cannot set up the %s socket: %s", what, strerror(-rc));
	return rc;
}

static bool up_shared_udp(const struct ht_io *io)
{
	return io->flow.method == HT_METHOD_UDP && !io->flow.classic;
}

int ht_unpriv_open(struct ht_io *io, char *err, size_t errlen)
{
	if (io->flow.method == HT_METHOD_ICMP || up_shared_udp(io))
		return up_open_shared(io, err, errlen);

	/* Sockets per probe in flight: the window, bounded by the file
	 * descriptor limit (keep some for DNS, output and the like). */
	struct rlimit rl;
	int cap = io->cfg.window > 0 ? io->cfg.window : io->cfg.max_ttl * io->cfg.nqueries;
	if (cap <= 0 || cap > HT_PSOCK_MAX)
		cap = HT_PSOCK_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)cap + 64 > rl.rlim_cur)
		cap = rl.rlim_cur > 96 ? (int)rl.rlim_cur - 64 : 32;
	/*
	 * The kernel stamps received packets only while some socket wants
	 * stamps, and switches stamping on from a work queue a little after
	 * the first one asks. Per-probe sockets come and go; this one stays
	 * open for the whole trace so that stamping is on before the first
	 * probe leaves and stays on.
	 */
	io->reserve_fd = socket(io->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (io->reserve_fd < 0 || setint(io->reserve_fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) < 0) {
		int rc = -errno;
		ht_io_errf(err, errlen, "cannot open a UDP socket: %s", strerror(-rc));
		return rc;
	}
	io->ps = calloc((size_t)cap, sizeof(*io->ps));
	if (!io->ps)
		return -ENOMEM;
	io->cap_ps = cap;
	io->nps = 0;
	return 0;
}

static void psock_remove(struct ht_io *io, int i)
{
	if (io->flow.method == HT_METHOD_TCP) {
		/* Reset rather than linger in FIN_WAIT: nothing was sent. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(io->ps[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(io->ps[i].fd);
	io->ps[i] = io->ps[--io->nps];
}

static void up_close_psocks(struct ht_io *io)
{
	while (io->nps > 0)
		psock_remove(io, io->nps - 1);
}

void ht_unpriv_close(struct ht_io *io)
{
	up_close_psocks(io);
	free(io->ps);
	io->ps = NULL;
	io->cap_ps = 0;
}

void ht_unpriv_expire(struct ht_io *io, uint64_t now_us)
{
	for (int i = 0; i < io->nps;) {
		/* tx_us may be later than now_us (sent during this tick). */
		if (io->ps[i].tx_us + io->psock_linger_us < now_us)
			psock_remove(io, i);
		else
			i++;
	}
}

/* One probe through the shared datagram socket (ping, or flow-stable
 * UDP): the TTL rides in a control message. */
static int up_send_dgram(struct ht_io *io, uint16_t seq, uint8_t ttl, uint64_t *tx_us)
{
	uint8_t buf[HT_PROBE_MAX_LEN];
	struct sockaddr_storage ss;
	socklen_t sslen;
	int n = ht_probe_payload(&io->flow, seq, buf, sizeof(buf));

	if (n < 0)
		return n;
	ht_io_addr_to_sa(&io->flow.dst, io->flow.method == HT_METHOD_UDP ? io->flow.dport : 0, &ss,
	                 &sslen);

	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = (size_t)n};
	struct msghdr msg = {.msg_name = &ss, .msg_namelen = sslen, .msg_iov = &iov,
	                     .msg_iovlen = 1, .msg_control = cbuf.b,
	                     .msg_controllen = sizeof(cbuf.b)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	int v = ttl;

	memset(&cbuf, 0, sizeof(cbuf));
	c->cmsg_level = io->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	c->cmsg_type = io->family == AF_INET ? IP_TTL : IPV6_HOPLIMIT;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &v, sizeof(v));

	/*
	 * An ICMP error about an earlier probe leaves a pending socket error
	 * (sk_err) that the next send reports and clears although this send
	 * is fine; while a burst goes out, more errors may land between two
	 * tries. Retry while the error is one an ICMP message produces (Linux's
	 * icmp_err_convert and icmpv6_err_convert, and EREMOTEIO, which a
	 * redirect leaves on a ping socket), a bounded number of times: a
	 * genuine send error (no route) keeps coming back and is returned.
	 */
	for (int attempt = 0;; attempt++) {
		uint64_t t = ht_now_us();
		if (sendmsg(io->dgram_fd, &msg, 0) >= 0) {
			*tx_us = t;
			return 0;
		}
		int e = errno;
		bool from_icmp = e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH ||
		                 e == EPROTO || e == EHOSTDOWN || e == EMSGSIZE || e == EACCES ||
		                 e == ENOPROTOOPT || e == EOPNOTSUPP || e == ENONET ||
		                 e == EREMOTEIO;
		if (!from_icmp || attempt >= 8)
			return -e;
	}
}

/* Make room for one more per-probe socket: the oldest one goes (its probe
 * has surely been given up on by the time the window wrapped around). */
static void psock_make_room(struct ht_io *io)
{
	if (io->nps < io->cap_ps)
		return;
	int oldest = 0;
	for (int i = 1; i < io->nps; i++)
		if (io->ps[i].tx_us < io->ps[oldest].tx_us)
			oldest = i;
	psock_remove(io, oldest);
}

/*
 * The kernel gives no receive stamp for a SYN-ACK or RST seen through
 * connect(). While a tick sends a whole window of probes (each a handful
 * of syscalls), the answers of the first ones are already in; note when
 * each handshake is first seen finished so that the RTT does not include
 * the rest of the sending. Bounded: only for moderate windows.
 */
static void up_tcp_mark(struct ht_io *io)
{
	struct pollfd pfd[256];
	int n = 0;

	if (io->nps > 256)
		return;
	for (int i = 0; i < io->nps; i++) {
		if (io->ps[i].seen_us)
			continue;
		pfd[n].fd = io->ps[i].fd;
		pfd[n].events = POLLOUT;
		pfd[n].revents = 0;
		n++;
	}
	if (n == 0 || poll(pfd, (nfds_t)n, 0) <= 0)
		return;
	uint64_t now = ht_now_us();
	for (int k = 0, i = 0; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		while (i < io->nps && io->ps[i].fd != pfd[k].fd)
			i++;
		if (i < io->nps)
			io->ps[i].seen_us = now;
	}
}

static int up_send_sock(struct ht_io *io, uint16_t seq, uint8_t ttl, uint64_t *tx_us)
{
	bool tcp = io->flow.method == HT_METHOD_TCP;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int rc, fd;

	psock_make_room(io);
	fd = socket(io->family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno == EMFILE || errno == ENFILE ? -EAGAIN : -errno;
	if ((rc = up_sockopts(io, fd)) < 0)
		goto fail;
	rc = io->family == AF_INET ? setint(fd, IPPROTO_IP, IP_TTL, ttl)
	                           : setint(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl);
	if (rc < 0)
		goto fail;
	if (tcp) {
		/* One SYN per probe where the kernel allows it: a retransmitted
		 * SYN would be a second, unaccounted probe. */
		setint(fd, IPPROTO_TCP, TCP_SYNCNT, 1);
	}
	ht_io_addr_to_sa(&io->flow.src, 0, &ss, &sslen);
	if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) {
		rc = -errno;
		goto fail;
	}
	uint16_t dport = io->flow.dport;
	if (io->flow.classic)
		dport = (uint16_t)(dport + seq);
	ht_io_addr_to_sa(&io->flow.dst, dport, &ss, &sslen);

	struct ht_psock *p = &io->ps[io->nps];
	p->fd = fd;
	p->seq = seq;
	p->seen_us = 0;

	if (tcp) {
		uint64_t t = ht_now_us();
		int c = connect(fd, (struct sockaddr *)&ss, sslen);
		if (c < 0 && errno != EINPROGRESS) {
			rc = -errno;
			if (rc != -ECONNREFUSED)
				goto fail;
		} else {
			rc = c;
		}
		p->tx_us = t;
		*tx_us = t;
		io->nps++;
		up_tcp_mark(io);
		if (rc == 0 || rc == -ECONNREFUSED) {
			/* Answered before connect() returned (loopback): queue
			 * the result for the event loop. */
			struct ht_reply r;
			memset(&r, 0, sizeof(r));
			r.seq = seq;
			r.from = io->flow.dst;
			r.rx_us = ht_now_us();
			r.kind = rc == 0 ? HT_REPLY_TCP_SYNACK : HT_REPLY_TCP_RST;
			ht_io_queue_pending(io, &r);
			psock_remove(io, io->nps - 1);
		}
		return 0;
	}

	if (connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
		rc = -errno;
		goto fail;
	}
	uint8_t buf[HT_PROBE_MAX_LEN];
	int n = ht_probe_payload(&io->flow, seq, buf, sizeof(buf));
	if (n < 0) {
		rc = n;
		goto fail;
	}
	uint64_t t = ht_now_us();
	if (send(fd, buf, (size_t)n, 0) < 0) {
		rc = -errno;
		goto fail;
	}
	p->tx_us = t;
	*tx_us = t;
	io->nps++;
	return 0;
fail:
	close(fd);
	return rc;
}

int ht_unpriv_send(struct ht_io *io, uint16_t seq, uint8_t ttl, uint64_t *tx_us)
{
	if (io->flow.method == HT_METHOD_ICMP || up_shared_udp(io))
		return up_send_dgram(io, seq, ttl, tx_us);
	return up_send_sock(io, seq, ttl, tx_us);
}

int ht_unpriv_pollfds(struct ht_io *io, struct pollfd *pfd, int max)
{
	int n = 0;

	for (int i = 0; i < io->nps && n < max; i++) {
		pfd[n].fd = io->ps[i].fd;
		/* Errors (POLLERR) are always reported. TCP: writable means
		 * the handshake finished one way or the other. */
		pfd[n].events = io->flow.method == HT_METHOD_TCP ? POLLOUT : POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

/* The ping socket: errors quote the echo request (ICMP header first, and
 * msg_name is its destination); echo replies are datagrams, which the
 * socket takes with its identifier from anyone: only the destination's
 * count (the matcher checks). */
static int up_drain_ping(struct ht_io *io, int budget, ht_io_reply_cb cb, void *u)
{
	int total = 0;

	/* Errors first, then echo replies; both bounded by the budget. */
	for (int pass = 0; pass < 2; pass++) {
		while (total < budget) {
			struct ht_io_dgram m;
			struct ht_reply r;
			int rc = ht_io_dgram_recv(io, io->dgram_fd, pass == 0 ? MSG_ERRQUEUE : 0, &m);
			if (rc <= 0) {
				if (rc < 0 && rc != -EAGAIN && pass == 1) {
					/* A pending socket error: it is cleared now. */
					total++;
					continue;
				}
				break;
			}
			total++;
			if (!ht_io_dgram_decode(io, pass == 0 ? HT_RX_ERRQUEUE : HT_RX_PING, &m, -1, &r)) {
				io->stats.rx_unmatched++;
				continue;
			}
			io->stats.rx_matched++;
			cb(u, &r);
		}
	}
	return total;
}

/*
 * Flow-stable UDP: errors first (each names its probe by the quoted
 * payload's first word, when the router quoted that much), then data on
 * the socket itself: a service answering on the port, which names its
 * probe the same way when it sends the first word back.
 */
static int up_drain_udp(struct ht_io *io, int budget, ht_io_reply_cb cb, void *u)
{
	int total = 0;

	while (total < budget) {
		struct ht_io_dgram m;
		struct ht_reply r;
		int rc = ht_io_dgram_recv(io, io->dgram_fd, MSG_ERRQUEUE, &m);
		if (rc <= 0)
			break;
		total++;
		/* The quoted payload (the kernel strips the UDP header; msg_name
		 * is the quoted destination and port) must be, as far as it
		 * goes, that of the probe its first word names. */
		if (!ht_io_dgram_decode(io, HT_RX_ERRQUEUE, &m, -1, &r)) {
			io->stats.rx_unmatched++;
			continue;
		}
		io->stats.rx_matched++;
		cb(u, &r);
	}
	if (total < budget)
		total += ht_io_drain_udp_answers(io, io->dgram_fd, budget - total, cb, u);
	return total;
}

static int psock_find(struct ht_io *io, int fd)
{
	for (int i = 0; i < io->nps; i++)
		if (io->ps[i].fd == fd)
			return i;
	return -1;
}

static int up_drain_psock(struct ht_io *io, int i, short revents, int budget, ht_io_reply_cb cb,
                          void *u)
{
	struct ht_psock *p = &io->ps[i];
	bool tcp = io->flow.method == HT_METHOD_TCP;
	int total = 0;
	struct ht_io_dgram m;
	struct ht_reply r;

	memset(&r, 0, sizeof(r));
	r.seq = p->seq;
	/* An ICMP error about this probe. */
	while (total < budget) {
		int rc = ht_io_dgram_recv(io, p->fd, MSG_ERRQUEUE, &m);
		if (rc <= 0)
			break;
		total++;
		if (ht_io_dgram_decode(io, HT_RX_ERRQUEUE, &m, p->seq, &r)) {
			io->stats.rx_matched++;
			cb(u, &r);
			psock_remove(io, i);
			return total;
		}
		io->stats.rx_unmatched++;
	}
	if (tcp) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return total;
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr == 0 && !(revents & POLLOUT))
			return total;
		total++;
		if (soerr == 0 || soerr == ECONNREFUSED) {
			r.from = io->flow.dst;
			r.rx_us = p->seen_us ? p->seen_us : ht_now_us();
			r.kind = soerr == 0 ? HT_REPLY_TCP_SYNACK : HT_REPLY_TCP_RST;
			io->stats.rx_matched++;
			cb(u, &r);
		}
		/* Any other error (local, timeout) answers nothing. */
		psock_remove(io, i);
		return total;
	}
	/* UDP: a datagram back from the destination also means reached. */
	if (revents & POLLIN) {
		int rc = ht_io_dgram_recv(io, p->fd, 0, &m);
		if (rc > 0) {
			total++;
			/* A service answering on the port: the socket names
			 * the probe. */
			if (ht_io_dgram_decode(io, HT_RX_UDP_DATA, &m, p->seq, &r)) {
				io->stats.rx_matched++;
				cb(u, &r);
			} else {
				io->stats.rx_unmatched++;
			}
			psock_remove(io, i);
		} else if (rc < 0) {
			/* ECONNREFUSED and the like without an error-queue entry. */
			total++;
		}
	}
	return total;
}

int ht_unpriv_drain(struct ht_io *io, const struct pollfd *pfd, int n, int budget,
                    ht_io_reply_cb cb, void *u)
{
	int total = 0;

	for (int k = 0; k < n && total < budget; k++) {
		if (pfd[k].fd == io->dgram_fd && io->dgram_fd >= 0) {
			total += up_shared_udp(io) ? up_drain_udp(io, budget - total, cb, u)
			                           : up_drain_ping(io, budget - total, cb, u);
			continue;
		}
		int i = psock_find(io, pfd[k].fd);
		if (i >= 0)
			total += up_drain_psock(io, i, pfd[k].revents, budget - total, cb, u);
	}
	return total;
}

static int up_open(struct ht_io *io, char *err, size_t errlen)
{
	io->flow.sport = 0;
	return ht_unpriv_open(io, err, errlen);
}

/* A trace of the mux: sockets of its own, as a single trace has. */
static int up_child_open(struct ht_io *c, const struct ht_config *cfg,
                         const struct ht_io_port *adopt, char *err, size_t errlen)
{
	int rc;

	(void)cfg;
	(void)adopt;
	c->send_fd = c->rx_icmp_fd = c->rx_tcp_fd = -1;
	c->flow.sport = 0;
	rc = ht_unpriv_open(c, err, errlen);
	if (rc < 0) {
		ht_unpriv_close(c);
		ht_io_close_fds(c);
	}
	return rc;
}

static void up_close(struct ht_io *io)
{
	ht_unpriv_close(io);
	ht_io_close_fds(io);
}

static int up_pollfds(struct ht_io *io, struct pollfd *pfd, int max)
{
	int n = 0;

	if (io->dgram_fd >= 0 && max > 0)
		pfd[n++] = (struct pollfd){.fd = io->dgram_fd, .events = POLLIN};
	return n + ht_unpriv_pollfds(io, pfd + n, max - n);
}

static int up_drain(struct ht_io *io, const struct pollfd *p, int budget, ht_io_reply_cb cb,
                    void *u)
{
	return ht_unpriv_drain(io, p, 1, budget, cb, u);
}

const struct ht_io_backend ht_io_backend_unpriv = {
	.mode = HT_IO_UNPRIV,
	.open = up_open,
	.child_open = up_child_open,
	.close = up_close,
	.send = ht_unpriv_send,
	.pollfds = up_pollfds,
	.drain = up_drain,
	.expire = ht_unpriv_expire,
};
