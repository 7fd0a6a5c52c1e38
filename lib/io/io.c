/*
 * Socket setup and sending. Raw mode (CAP_NET_RAW) is set up here;
 * unprivileged mode lives in unpriv.c, the event loop in loop.c.
 */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

/* From <linux/icmp.h>, which clashes with <netinet/ip_icmp.h>. */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif
#ifndef IPV6_AUTOFLOWLABEL
#define IPV6_AUTOFLOWLABEL 70
#endif

void ht_io_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void ht_io_addr_to_sa(const ht_addr *a, uint16_t port, struct sockaddr_storage *ss,
                      socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = a->u.v6;
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr = a->u.v4;
		*len = sizeof(*s4);
	}
}

void ht_io_sa_to_addr(const struct sockaddr *sa, ht_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET6) {
		a->family = AF_INET6;
		a->u.v6 = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	} else if (sa->sa_family == AF_INET) {
		a->family = AF_INET;
		a->u.v4 = ((const struct sockaddr_in *)sa)->sin_addr;
	}
}

static uint32_t io_random32(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)getpid() * 2654435761u ^ (uint32_t)ht_now_us();
	return v;
}

/* A flow's random tag (see lib/method/method.h); never 0, which would
 * write zeros, read as "no tag". */
static uint32_t io_tag(void)
{
	uint32_t t = io_random32();

	return t ? t : 0x48540001u;
}

void ht_io_queue_pending(struct ht_io *io, const struct ht_reply *r)
{
	if (io->npending < HT_IO_PENDING_MAX)
		io->pending[io->npending++] = *r;
}

/*
 * Options every socket gets: non-blocking, close-on-exec, bound to the
 * -i device, and (receive sockets) kernel receive timestamps.
 */
int ht_io_sock_common(struct ht_io *io, int fd, bool rx)
{
	int one = 1;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	if (io->device[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, io->device,
	                                (socklen_t)strlen(io->device) + 1) < 0)
		return -errno;
	if (rx && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

/* A socket we only send on must not queue every packet of its protocol
 * that the host receives: a filter that accepts nothing keeps it empty. */
static int io_attach_drop_all(int fd)
{
	struct sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_fprog prog = {.len = 1, .filter = code};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
}

/*
 * A raw TCP socket sees every TCP segment the host receives. Keep only
 * segments to our source port (SYN-ACK / RST to our probes) so that other
 * traffic never reaches user space. IPv4 raw sockets see the IP header
 * first; IPv6 raw sockets see the TCP header first.
 */
/* How many consecutive source ports the flow uses (and so reserves):
 * flow-stable TCP one per query column, everything else one. */
static int io_nports(const struct ht_io *io)
{
	if (io->flow.method == HT_METHOD_TCP && !io->flow.classic && io->flow.ncols > 1)
		return io->flow.ncols;
	return 1;
}

/* Source ports in use: classic TCP uses sport + seq for every probe,
 * flow-stable TCP sport + column for each of its ncols query columns. */
static uint32_t io_sport_span(const struct ht_io *io)
{
	if (!io->flow.classic)
		return (uint32_t)io_nports(io);
	return (uint32_t)(io->cfg.max_ttl - io->cfg.first_ttl + 1) * (uint32_t)io->cfg.nqueries;
}

/* Only TCP segments to our source port(s) pass: [sport, sport + span),
 * where span is the number of query columns in Paris mode (one port
 * each) and the number of probes in classic mode (which varies the
 * source port per probe). */
static int io_attach_tcp_filter(int fd, int family, uint16_t sport, uint32_t span)
{
	uint32_t last = sport + (span ? span : 1) - 1;
	struct sock_filter v4[] = {
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),          /* x = IP header length */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),           /* a = tcp dport */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, sport, 0, 2), /* a >= sport */
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, last, 1, 0),  /* a <= last */
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_filter v6[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, sport, 0, 2),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, last, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog;

	if (family == AF_INET) {
		prog.len = sizeof(v4) / sizeof(v4[0]);
		prog.filter = v4;
	} else {
		prog.len = sizeof(v6) / sizeof(v6[0]);
		prog.filter = v6;
	}
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
}

/*
 * The raw ICMP socket sees every ICMP message the host receives. Let
 * only those through that can be about our flow: an echo reply with our
 * identifier (ICMP method), or an error whose quoted packet was sent to
 * our destination. Everything else (other programs' traffic, a flood of
 * unrelated errors) is dropped in the kernel before it takes space in our
 * receive buffer, so it can neither crowd out our replies nor cost us a
 * system call. The decoder still checks everything that passes.
 *
 * IPv4 raw sockets see the IP header (X = its length), IPv6 raw sockets
 * start at the ICMPv6 header.
 */
static int io_attach_icmp_filter(struct ht_io *io, int fd)
{
	bool echo = io->flow.method == HT_METHOD_ICMP;
	uint16_t id = io->flow.icmp_id;
	struct sock_fprog prog;

	if (io->family == AF_INET) {
		uint32_t dst = ntohl(io->flow.dst.u.v4.s_addr);
		struct sock_filter f4[] = {
			BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),        /* 0: x = IP header length */
			BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),         /* 1: a = ICMP type */
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),  /* 2: echo reply? else 6 */
			BPF_STMT(BPF_LD | BPF_H | BPF_IND, 4),         /* 3: a = echo id */
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, id, 0, 4), /* 4: ours? 5 : 9 */
			BPF_JUMP(BPF_JMP | BPF_JA, 2, 0, 0),           /* 5: -> 8 accept */
			BPF_STMT(BPF_LD | BPF_W | BPF_IND, 8 + 16),    /* 6: a = quoted dst */
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, 1),/* 7: ours? 8 : 9 */
			BPF_STMT(BPF_RET | BPF_K, 0xffff),             /* 8: accept */
			BPF_STMT(BPF_RET | BPF_K, 0),                  /* 9: drop */
		};
		if (!echo)
			f4[4] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 4, 0, 0); /* -> 9 */
		prog.len = sizeof(f4) / sizeof(f4[0]);
		prog.filter = f4;
		return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0
		               ? -errno
		               : 0;
	}
	uint32_t d[4];
	memcpy(d, &io->flow.dst.u.v6, 16);
	struct sock_filter f6[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),              /* 0: a = type */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 129, 0, 3),     /* 1: echo reply? else 5 */
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),              /* 2: a = echo id */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, id, 0, 10),     /* 3: ours? 4 : 14 */
		BPF_JUMP(BPF_JMP | BPF_JA, 8, 0, 0),                /* 4: -> 13 accept */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8 + 24),         /* 5: quoted dst word 0 */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(d[0]), 0, 7), /* 6 */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8 + 28),         /* 7 */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(d[1]), 0, 5), /* 8 */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8 + 32),         /* 9 */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(d[2]), 0, 3), /* 10 */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8 + 36),         /* 11 */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(d[3]), 0, 1), /* 12 */
		BPF_STMT(BPF_RET | BPF_K, 0xffff),                  /* 13: accept */
		BPF_STMT(BPF_RET | BPF_K, 0),                       /* 14: drop */
	};
	if (!echo)
		f6[3] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 10, 0, 0); /* -> 14 */
	prog.len = sizeof(f6) / sizeof(f6[0]);
	prog.filter = f6;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
}

/* Packets queued between socket() and the filter's attachment passed no
 * filter; nothing of ours is in flight yet, so they can all go. */
static void io_flush_socket(int fd)
{
	uint8_t b[64];

	/* The error queue first, then data. A pending socket error
	 * (IP_RECVERR) is reported by one recv() and cleared: only "nothing
	 * left" ends a loop. */
	if (fd < 0)
		return;
	for (int q = 0; q < 2; q++)
		for (int i = 0; i < 100000; i++)
			if (recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC | (q ? 0 : MSG_ERRQUEUE)) <
			            0 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
}

/* A larger receive buffer absorbs bursts. SO_RCVBUFFORCE (root) may go
 * past net.core.rmem_max; otherwise take what SO_RCVBUF gives. */
static void io_grow_rcvbuf(int fd)
{
	int sz = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/* Pick the source address the kernel would use toward dst: connect a UDP
 * socket (no packet is sent) and ask it. */
static int io_find_source(struct ht_io *io, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc;

	fd = socket(io->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		ht_io_errf(err, errlen, "cannot open a UDP socket: %s", strerror(-rc));
		return rc;
	}
	if (io->device[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, io->device,
	                                (socklen_t)strlen(io->device) + 1) < 0) {
		rc = -errno;
		ht_io_errf(err, errlen, "cannot use interface %s: %s", io->device,
		           strerror(-rc));
		close(fd);
		return rc;
	}
	if (io->cfg.src.family) {
		ht_io_addr_to_sa(&io->cfg.src, 0, &ss, &len);
		if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
			rc = -errno;
			ht_io_errf(err, errlen, "cannot use source address: %s",
			           strerror(-rc));
			close(fd);
			return rc;
		}
	}
	ht_io_addr_to_sa(&io->cfg.dst, HT_DEFAULT_UDP_PORT, &ss, &len);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		rc = -errno;
		ht_io_errf(err, errlen, "no route to the destination: %s",
		           strerror(-rc));
		close(fd);
		return rc;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	close(fd);
	ht_io_sa_to_addr((struct sockaddr *)&ss, &io->flow.src);
	return 0;
}

/*
 * Reserve our source port with an ordinary socket of the probe protocol
 * bound to it (never connected, never listening). The kernel then gives
 * the port to nobody else, so no other program receives the ICMP errors
 * our probes provoke. With port 0 the kernel picks a free ephemeral port.
 * For TCP the kernel still answers a SYN-ACK to our probe with a RST (a
 * bound socket is not a listener), which politely closes the half-open
 * connection at the destination.
 */
static int io_bind_port(struct ht_io *io, int type, uint16_t want, uint16_t *got, int *fdp)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(io->family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	ht_io_addr_to_sa(&io->flow.src, want, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	*got = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                      : ((struct sockaddr_in *)&ss)->sin_port);
	/* A UDP service at the destination answers to this socket: stamp it
	 * and learn the answer's TTL, like every other reply. */
	if (type == SOCK_DGRAM) {
		int one = 1;
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
		    (io->family == AF_INET
		             ? setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one))
		             : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one))) <
		            0) {
			int rc = -errno;
			close(fd);
			return rc;
		}
	}
	*fdp = fd;
	return 0;
}

static void io_close_col_fds(struct ht_io *io)
{
	for (int i = 0; i < io->ncol_fd; i++)
		close(io->col_fd[i]);
	io->ncol_fd = 0;
}

/*
 * Reserve io_nports() consecutive ports starting at want, or (want 0) at
 * a base the kernel picks, trying again from another base when a port
 * after it is taken. Bases that did not fit stay bound until the end so
 * that the kernel does not offer them again. On success the first port's
 * socket is io->reserve_fd, the others io->col_fd (the previous ones are
 * the caller's to close or keep).
 */
static int io_reserve_port(struct ht_io *io, int type, uint16_t want, uint16_t *got)
{
	enum { TRIES = 32 };
	int n = io_nports(io), failed[TRIES], nfailed = 0, rc = -EADDRINUSE;

	if (want && (uint32_t)want + (uint32_t)n - 1 > 65535)
		return -ERANGE;
	while (nfailed < TRIES) {
		int fds[HT_MAX_QUERIES], k;
		uint16_t base, p;

		rc = io_bind_port(io, type, want, &base, &fds[0]);
		if (rc < 0)
			break;
		for (k = 1; k < n && (uint32_t)base + (uint32_t)k <= 65535; k++)
			if (io_bind_port(io, type, (uint16_t)(base + k), &p, &fds[k]) < 0)
				break;
		if (k == n) {
			io->reserve_fd = fds[0];
			io->ncol_fd = n - 1;
			memcpy(io->col_fd, fds + 1, sizeof(int) * (size_t)(n - 1));
			*got = base;
			rc = 0;
			break;
		}
		for (int i = 1; i < k; i++)
			close(fds[i]);
		failed[nfailed++] = fds[0];
		rc = -EADDRINUSE;
		if (want)
			break;
	}
	for (int i = 0; i < nfailed; i++)
		close(failed[i]);
	return rc;
}

static size_t io_default_len(int family, enum ht_method m)
{
	size_t min = ht_probe_min_len(family, m);
	/* Classic traceroute's defaults: 60 bytes (IPv4), 80 bytes (IPv6);
	 * for TCP that is a SYN with the usual options, as traceroute -T
	 * sends and as a real client's SYN looks to a firewall. */
	size_t def = family == AF_INET6 ? 80 : 60;

	return def > min ? def : min;
}

static int io_open_raw4(struct ht_io *io, char *err, size_t errlen)
{
	int rc, one = 1;

	io->send_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (io->send_fd < 0)
		return -errno;
	/* IPPROTO_RAW implies IP_HDRINCL; say it anyway. */
	if (setsockopt(io->send_fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0)
		return -errno;
	if ((rc = ht_io_sock_common(io, io->send_fd, false)) < 0)
		return rc;
	/* Size decisions by the device MTU, never by a path MTU learned
	 * earlier: a probe with DF set must leave and make the narrow link's
	 * router answer, not fail locally with EMSGSIZE (and a local "frag
	 * needed" to ourselves) because a previous trace taught the kernel
	 * the bottleneck. */
	int probe = IP_PMTUDISC_PROBE;
	if (setsockopt(io->send_fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe)) < 0)
		return -errno;

	io->rx_icmp_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (io->rx_icmp_fd < 0)
		return -errno;
	if ((rc = ht_io_sock_common(io, io->rx_icmp_fd, true)) < 0)
		return rc;
	/* The kernel drops ICMP types we never need before they reach us:
	 * keep echo reply (0), unreachable (3), time exceeded (11), parameter
	 * problem (12). A set bit filters the type out. */
	uint32_t mask = ~((1u << 0) | (1u << 3) | (1u << 11) | (1u << 12));
	if (setsockopt(io->rx_icmp_fd, SOL_RAW, ICMP_FILTER, &mask, sizeof(mask)) < 0)
		return -errno;
	if ((rc = io_attach_icmp_filter(io, io->rx_icmp_fd)) < 0)
		return rc;
	io_grow_rcvbuf(io->rx_icmp_fd);
	io_flush_socket(io->rx_icmp_fd);

	if (io->flow.method == HT_METHOD_TCP) {
		io->rx_tcp_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
		if (io->rx_tcp_fd < 0)
			return -errno;
		if ((rc = ht_io_sock_common(io, io->rx_tcp_fd, true)) < 0)
			return rc;
		if ((rc = io_attach_tcp_filter(io->rx_tcp_fd, AF_INET, io->flow.sport, io_sport_span(io))) < 0)
			return rc;
		io_flush_socket(io->rx_tcp_fd);
		/* A raw IPPROTO_TCP socket may also send: no. Nothing else. */
	}
	(void)err;
	(void)errlen;
	return 0;
}

static int io_open_raw6(struct ht_io *io, char *err, size_t errlen)
{
	int rc, zero = 0, one = 1, off = -1;
	struct sockaddr_storage ss;
	socklen_t len;
	int proto = io->flow.method == HT_METHOD_UDP   ? IPPROTO_UDP
	            : io->flow.method == HT_METHOD_TCP ? IPPROTO_TCP
	                                               : IPPROTO_ICMPV6;

	io->send_fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (io->send_fd < 0)
		return -errno;
	if ((rc = ht_io_sock_common(io, io->send_fd, proto != IPPROTO_UDP)) < 0)
		return rc;
	/* Bind to the source address so the kernel uses the one the probe's
	 * checksum was computed over. */
	ht_io_addr_to_sa(&io->flow.src, 0, &ss, &len);
	if (bind(io->send_fd, (struct sockaddr *)&ss, len) < 0) {
		rc = -errno;
		ht_io_errf(err, errlen, "cannot bind to the source address: %s",
		           strerror(-rc));
		return rc;
	}
	/* Flow-stable probing needs a constant flow label: no automatic one
	 * (net.ipv6.auto_flowlabels would hash one per flow, and in classic
	 * mode per port). The label stays 0. */
	if (setsockopt(io->send_fd, IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, &zero, sizeof(zero)) < 0 &&
	    errno != ENOPROTOOPT)
		return -errno;
	/* ht_probe_build computes the UDP/TCP checksum; the kernel must not
	 * touch it. (For ICMPv6 the kernel always computes it, over the same
	 * pseudo-header, so the value is the one we built.) */
	if (proto != IPPROTO_ICMPV6 &&
	    setsockopt(io->send_fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off)) < 0)
		return -errno;
	if (io->flow.dont_fragment) {
		/* Never fragment locally, and ignore a learned path MTU so that
		 * the router on the narrow link reports it (Packet Too Big). */
		int probe = IPV6_PMTUDISC_PROBE;
		if (setsockopt(io->send_fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe,
		               sizeof(probe)) < 0)
			return -errno;
		if (setsockopt(io->send_fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one)) < 0)
			return -errno;
	}

	if (proto == IPPROTO_UDP) {
		if ((rc = io_attach_drop_all(io->send_fd)) < 0)
			return rc;
		io_flush_socket(io->send_fd);
	} else if (proto == IPPROTO_TCP) {
		io->rx_tcp_fd = io->send_fd;
		if ((rc = io_attach_tcp_filter(io->send_fd, AF_INET6, io->flow.sport, io_sport_span(io))) < 0)
			return rc;
		io_flush_socket(io->send_fd);
		if (setsockopt(io->send_fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) <
		    0)
			return -errno;
	}

	if (proto == IPPROTO_ICMPV6) {
		io->rx_icmp_fd = io->send_fd;
	} else {
		io->rx_icmp_fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
		if (io->rx_icmp_fd < 0)
			return -errno;
		if ((rc = ht_io_sock_common(io, io->rx_icmp_fd, true)) < 0)
			return rc;
	}
	struct icmp6_filter f;
	ICMP6_FILTER_SETBLOCKALL(&f);
	ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
	ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &f);
	ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
	ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &f);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
	if (setsockopt(io->rx_icmp_fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) < 0)
		return -errno;
	if ((rc = io_attach_icmp_filter(io, io->rx_icmp_fd)) < 0)
		return rc;
	io_grow_rcvbuf(io->rx_icmp_fd);
	io_flush_socket(io->rx_icmp_fd);
	if (setsockopt(io->rx_icmp_fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

static void io_close_fds(struct ht_io *io)
{
	int *fds[] = {&io->send_fd, &io->rx_icmp_fd, &io->rx_tcp_fd, &io->reserve_fd,
	              &io->dgram_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		int fd = *fds[i];
		if (fd < 0)
			continue;
		/* Shared descriptors appear twice: close once. */
		for (size_t j = i + 1; j < sizeof(fds) / sizeof(fds[0]); j++)
			if (*fds[j] == fd)
				*fds[j] = -1;
		close(fd);
		*fds[i] = -1;
	}
	io_close_col_fds(io);
}

static int io_open_raw(struct ht_io *io, char *err, size_t errlen)
{
	int rc;

	if (io->flow.method != HT_METHOD_ICMP) {
		int type = io->flow.method == HT_METHOD_TCP ? SOCK_STREAM : SOCK_DGRAM;
		uint16_t got = 0;
		rc = io_reserve_port(io, type, io->cfg.sport, &got);
		if (rc == 0) {
			io->flow.sport = got;
		} else if (rc == -ERANGE) {
			ht_io_errf(err, errlen, "source ports %u to %u (one per query) pass 65535",
			           (unsigned)io->cfg.sport,
			           (unsigned)io->cfg.sport + (unsigned)io_nports(io) - 1);
			return rc;
		} else if (io->cfg.sport) {
			/* The user asked for this port; someone else holds it.
			 * Probe from it anyway, as traceroute -p does. */
			io->flow.sport = io->cfg.sport;
		} else {
			return rc;
		}
	}
	rc = io->family == AF_INET ? io_open_raw4(io, err, errlen) : io_open_raw6(io, err, errlen);
	if (rc < 0 && err && !err[0])
		ht_io_errf(err, errlen, "cannot set up raw sockets: %s", strerror(-rc));
	return rc;
}

int ht_io_open(ht_io **out, const struct ht_config *cfg, const struct ht_io_opts *o, char *err,
               size_t errlen)
{
	struct ht_io *io;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (cfg->dst.family != AF_INET && cfg->dst.family != AF_INET6) {
		ht_io_errf(err, errlen, "no destination address");
		return -EINVAL;
	}
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->send_fd = io->rx_icmp_fd = io->rx_tcp_fd = io->reserve_fd = io->dgram_fd = -1;
	io->cfg = *cfg;
	io->family = cfg->dst.family;
	if (o && o->device) {
		if (strlen(o->device) >= sizeof(io->device)) {
			ht_io_errf(err, errlen, "interface name too long: %s", o->device);
			free(io);
			return -EINVAL;
		}
		strcpy(io->device, o->device);
	}

	struct ht_flow *f = &io->flow;
	f->family = io->family;
	f->method = cfg->method;
	f->dst = cfg->dst;
	f->dport = cfg->port ? cfg->port
	           : cfg->method == HT_METHOD_TCP ? HT_DEFAULT_TCP_PORT
	                                          : HT_DEFAULT_UDP_PORT;
	f->icmp_id = (uint16_t)(io_random32() | 1);
	f->tag = io_tag();
	f->tos = (uint8_t)cfg->tos;
	f->dont_fragment = cfg->dont_fragment;
	f->classic = cfg->classic;
	f->ncols =
	        (uint8_t)(cfg->nqueries > 1 && cfg->nqueries <= HT_MAX_QUERIES ? cfg->nqueries : 1);
	f->packet_len = cfg->packet_len ? cfg->packet_len : io_default_len(io->family, cfg->method);
	if (f->packet_len < ht_probe_min_len(io->family, cfg->method))
		f->packet_len = ht_probe_min_len(io->family, cfg->method);

	rc = io_find_source(io, err, errlen);
	if (rc < 0)
		goto fail;

	/* Waits are bounded by wait_max_us; a per-probe socket is kept a
	 * little longer so that a late reply is still read (and ignored by
	 * the core) rather than provoking nothing at all. */
	io->psock_linger_us = (cfg->wait_max_us ? cfg->wait_max_us : 5000000u) + 1000000u;

	enum ht_io_mode mode = o ? o->mode : HT_IO_AUTO;
	if (mode == HT_IO_AUTO || mode == HT_IO_RAW) {
		rc = io_open_raw(io, err, errlen);
		if (rc == 0) {
			io->mode = HT_IO_RAW;
		} else if (mode == HT_IO_AUTO && (rc == -EPERM || rc == -EACCES)) {
			io_close_fds(io);
			if (err && errlen)
				err[0] = '\0';
		} else {
			if (rc == -EPERM || rc == -EACCES)
				ht_io_errf(err, errlen,
				           "raw sockets need CAP_NET_RAW (run as root or "
				           "`setcap cap_net_raw+ep hoptrace`)");
			goto fail;
		}
	}
	if (io->mode != HT_IO_RAW) {
		io->flow.sport = 0;
		rc = ht_unpriv_open(io, err, errlen);
		if (rc < 0)
			goto fail;
		io->mode = HT_IO_UNPRIV;
	}

	/* One message buffer must hold a full reply: an echo reply is as
	 * long as the probe; ICMP errors quote at most 1280 bytes (IPv6)
	 * plus extensions. */
	io->rxbuf_len = f->packet_len + 256 > 4096 ? f->packet_len + 256 : 4096;
	io->rxbuf = malloc(io->rxbuf_len * 16);
	if (!io->rxbuf) {
		rc = -ENOMEM;
		goto fail;
	}
	*out = io;
	return 0;
fail:
	ht_io_close(io);
	return rc;
}

int ht_io_retarget(ht_io *io, const ht_addr *dst, char *err, size_t errlen)
{
	struct ht_config saved_cfg = io->cfg;
	struct ht_flow saved = io->flow;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (dst->family != io->family) {
		ht_io_errf(err, errlen, "not an %s destination",
		           io->family == AF_INET ? "IPv4" : "IPv6");
		return -EAFNOSUPPORT;
	}
	io->cfg.dst = *dst;
	io->flow.dst = *dst;
	rc = io_find_source(io, err, errlen);
	if (rc == 0 && !ht_addr_equal(&io->flow.src, &saved.src)) {
		/* Raw IPv6 sockets are bound to the source and the reserved
		 * port belongs to it: both were set up while privileged. */
		char now[INET6_ADDRSTRLEN], was[INET6_ADDRSTRLEN];
		ht_io_errf(err, errlen,
		           "the route leaves from %s, not from %s like the first target "
		           "of this family (give -s, or one batch per source)",
		           ht_addr_str(&io->flow.src, now, sizeof(now)),
		           ht_addr_str(&saved.src, was, sizeof(was)));
		rc = -EXDEV;
	}
	if (rc < 0) {
		io->cfg = saved_cfg;
		io->flow = saved;
		return rc;
	}
	io->npending = 0;
	/* A new tag in either mode: late answers to the previous trace that
	 * quote or echo it are not this one's. */
	io->flow.tag = io_tag();
	if (io->mode == HT_IO_RAW) {
		/*
		 * A new flow identity, so that late answers to the previous
		 * trace (the same destination may come twice in a batch, and
		 * sequence numbers restart at 0) cannot pass for answers to
		 * this one: a fresh echo identifier, and for UDP/TCP a fresh
		 * source port (an ordinary bind). The kernel filters follow.
		 */
		io->flow.icmp_id = (uint16_t)(io_random32() | 1);
		if (io->flow.method != HT_METHOD_ICMP && !io->cfg.sport) {
			/* All the ports anew (one per query column for TCP):
			 * the old ones are released once the new are held. */
			int old = io->reserve_fd, old_cols[HT_MAX_QUERIES - 1];
			int nold = io->ncol_fd;
			uint16_t got = 0;
			memcpy(old_cols, io->col_fd, sizeof(old_cols));
			io->reserve_fd = -1;
			io->ncol_fd = 0;
			rc = io_reserve_port(io, io->flow.method == HT_METHOD_TCP ? SOCK_STREAM
			                                                          : SOCK_DGRAM,
			                     0, &got);
			if (rc == 0) {
				if (old >= 0)
					close(old);
				for (int i = 0; i < nold; i++)
					close(old_cols[i]);
				io->flow.sport = got;
			} else {
				io->reserve_fd = old;
				io->ncol_fd = nold;
				memcpy(io->col_fd, old_cols, sizeof(old_cols));
			}
		}
		/* A kept UDP socket (the user's --sport, or no fresh port) may
		 * hold a service's answers to the previous trace. */
		if (io->flow.method == HT_METHOD_UDP)
			io_flush_socket(io->reserve_fd);
		if ((rc = io_attach_icmp_filter(io, io->rx_icmp_fd)) < 0 ||
		    (io->rx_tcp_fd >= 0 &&
		     (rc = io_attach_tcp_filter(io->rx_tcp_fd, io->family, io->flow.sport,
		                                io_sport_span(io))) < 0)) {
			ht_io_errf(err, errlen, "cannot filter replies: %s", strerror(-rc));
			/* Back to the previous target, filters included. */
			io->cfg = saved_cfg;
			io->flow.dst = saved.dst;
			io->flow.icmp_id = saved.icmp_id;
			io->flow.tag = saved.tag;
			io_attach_icmp_filter(io, io->rx_icmp_fd);
			if (io->rx_tcp_fd >= 0)
				io_attach_tcp_filter(io->rx_tcp_fd, io->family, io->flow.sport,
				                     io_sport_span(io));
			return rc;
		}
		io_flush_socket(io->rx_icmp_fd);
		io_flush_socket(io->rx_tcp_fd);
	} else {
		/* Per-probe sockets of the previous target go (their ports
		 * with them). The shared socket (ping, or flow-stable UDP) is
		 * replaced, for a new echo id or source port; where that is
		 * refused the old one stays, and its replies are still checked
		 * against the destination. */
		ht_unpriv_reset(io);
		if (io->dgram_fd >= 0 && ht_unpriv_reopen_dgram(io) < 0)
			io_flush_socket(io->dgram_fd);
	}
	return 0;
}

int ht_io_filters_open(struct ht_io *io)
{
	struct sock_filter all[] = {BPF_STMT(BPF_RET | BPF_K, 0xffff)};
	struct sock_fprog prog = {.len = 1, .filter = all};
	int fds[2] = {io->rx_icmp_fd, io->rx_tcp_fd};

	if (io->mode != HT_IO_RAW)
		return 0;
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0 &&
		    setsockopt(fds[i], SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
			return -errno;
	return 0;
}

int ht_io_child_open(struct ht_io *parent, const struct ht_config *cfg, struct ht_io *c,
                     char *err, size_t errlen)
{
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (cfg->dst.family != parent->family) {
		ht_io_errf(err, errlen, "not an %s destination",
		           parent->family == AF_INET ? "IPv4" : "IPv6");
		return -EAFNOSUPPORT;
	}
	*c = *parent;
	c->borrowed = true;
	c->cfg = *cfg;
	c->flow.dst = cfg->dst;
	c->reserve_fd = c->dgram_fd = -1;
	c->ncol_fd = 0;
	c->ps = NULL;
	c->nps = c->cap_ps = 0;
	c->npending = 0;
	memset(&c->stats, 0, sizeof(c->stats));
	c->rx_turn = 0;
	if (c->mode == HT_IO_UNPRIV)
		c->send_fd = c->rx_icmp_fd = c->rx_tcp_fd = -1;
	rc = io_find_source(c, err, errlen);
	if (rc == 0 && !ht_addr_equal(&c->flow.src, &parent->flow.src)) {
		char now[INET6_ADDRSTRLEN], was[INET6_ADDRSTRLEN];
		ht_io_errf(err, errlen,
		           "the route leaves from %s, not from %s like the first target "
		           "of this family (give -s, or one batch per source)",
		           ht_addr_str(&c->flow.src, now, sizeof(now)),
		           ht_addr_str(&parent->flow.src, was, sizeof(was)));
		rc = -EXDEV;
	}
	if (rc < 0)
		return rc;
	c->flow.icmp_id = (uint16_t)(io_random32() | 1);
	c->flow.tag = io_tag();
	if (c->mode == HT_IO_RAW) {
		if (c->flow.method != HT_METHOD_ICMP) {
			uint16_t got = 0;
			rc = io_reserve_port(c, c->flow.method == HT_METHOD_TCP ? SOCK_STREAM
			                                                        : SOCK_DGRAM,
			                     cfg->sport, &got);
			if (rc < 0) {
				ht_io_errf(err, errlen, "cannot reserve a source port: %s",
				           strerror(-rc));
				return rc;
			}
			c->flow.sport = got;
		}
		return 0;
	}
	c->flow.sport = 0;
	rc = ht_unpriv_open(c, err, errlen);
	if (rc < 0)
		ht_io_child_close(c);
	return rc;
}

void ht_io_child_close(struct ht_io *c)
{
	if (c->mode == HT_IO_UNPRIV) {
		ht_unpriv_close(c);
		io_close_fds(c);
		return;
	}
	if (c->reserve_fd >= 0)
		close(c->reserve_fd);
	c->reserve_fd = -1;
	io_close_col_fds(c);
}

void ht_io_close(ht_io *io)
{
	if (!io)
		return;
	ht_unpriv_close(io);
	io_close_fds(io);
	free(io->rxbuf);
	free(io);
}

const struct ht_flow *ht_io_flow(const ht_io *io)
{
	return &io->flow;
}

enum ht_io_mode ht_io_mode_used(const ht_io *io)
{
	return io->mode;
}

const char *ht_io_mode_note(const ht_io *io)
{
	if (io->mode == HT_IO_RAW)
		return NULL;
	switch (io->flow.method) {
	case HT_METHOD_ICMP:
		return "no CAP_NET_RAW: using an unprivileged ICMP socket (the quoted TTL "
		       "and ICMP extensions such as MPLS labels are not available)";
	case HT_METHOD_UDP:
		if (io->flow.classic)
			return "no CAP_NET_RAW: using one UDP socket per probe (the quoted TTL "
			       "and ICMP extensions such as MPLS labels are not available)";
		return "no CAP_NET_RAW: using an ordinary UDP socket (no quoted TTL or ICMP "
		       "extensions such as MPLS labels; routers that quote only 8 bytes stay "
		       "silent: try --classic)";
	case HT_METHOD_TCP:
		return "no CAP_NET_RAW: using one TCP connect() per probe, so source "
		       "ports vary and the flow is not stable across load balancers";
	}
	return NULL;
}

void ht_io_get_stats(const ht_io *io, struct ht_io_stats *st)
{
	*st = io->stats;
}

static int io_send_raw(struct ht_io *io, uint16_t seq, uint8_t ttl, uint64_t *tx_us)
{
	uint8_t pkt[HT_PROBE_MAX_LEN + 64];
	struct sockaddr_storage ss;
	socklen_t sslen;
	int n = ht_probe_build(&io->flow, seq, ttl, pkt, sizeof(pkt));

	if (n < 0)
		return n;
	ht_io_addr_to_sa(&io->flow.dst, 0, &ss, &sslen);

	struct iovec iov = {.iov_base = pkt, .iov_len = (size_t)n};
	struct msghdr msg = {.msg_name = &ss, .msg_namelen = sslen, .msg_iov = &iov,
	                     .msg_iovlen = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int)) * 2];
		struct cmsghdr align;
	} cbuf;

	if (io->family == AF_INET6) {
		/* The hop limit (and traffic class) per packet. */
		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		int hl = ttl, tc = io->flow.tos;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_HOPLIMIT;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &hl, sizeof(int));
		c = CMSG_NXTHDR(&msg, c);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_TCLASS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &tc, sizeof(int));
	}
	/*
	 * The send time is read just before sendmsg(): on virtual links the
	 * reply can be received (and kernel-stamped) before sendmsg()
	 * returns, and reading the clock afterwards would then give a
	 * negative round trip.
	 */
	uint64_t t = ht_now_us();
	if (sendmsg(io->send_fd, &msg, 0) < 0)
		return -errno;
	*tx_us = t;
	return 0;
}

int ht_io_send_probe(void *ctx, uint16_t seq, uint8_t ttl, uint64_t *tx_us)
{
	struct ht_io *io = ctx;
	int rc;

	if (io->mode == HT_IO_RAW)
		rc = io_send_raw(io, seq, ttl, tx_us);
	else
		rc = ht_unpriv_send(io, seq, ttl, tx_us);
	if (rc < 0) {
		io->stats.tx_errors++;
		/* A full socket buffer is transient: the core retries later. */
		if (rc == -EWOULDBLOCK)
			rc = -EAGAIN;
	} else {
		io->stats.tx_packets++;
	}
	return rc;
}

static const struct ht_io_ops io_ops = {.send_probe = ht_io_send_probe};

const struct ht_io_ops *ht_io_ops(void)
{
	return &io_ops;
}

int ht_io_addr_local(const ht_addr *a)
{
	struct ifaddrs *list, *i;
	int found = 0;

	/* Asking the interfaces, not bind(): with ip_nonlocal_bind (or
	 * IP_FREEBIND) the kernel lets a socket bind to any address. */
	if (getifaddrs(&list) < 0)
		return -errno;
	for (i = list; i && !found; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;
		if (!sa || sa->sa_family != a->family)
			continue;
		if (a->family == AF_INET)
			found = !memcmp(&((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			                &a->u.v4, sizeof(a->u.v4));
		else
			found = !memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			                &a->u.v6, sizeof(a->u.v6));
	}
	freeifaddrs(list);
	return found;
}
