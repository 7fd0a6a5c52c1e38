/*
 * The raw backend (CAP_NET_RAW): one IPPROTO_RAW socket (IPv4, the whole
 * packet built here) or a raw socket of the method (IPv6, hop limit per
 * packet) sends; raw ICMP (and TCP) sockets receive, behind kernel
 * filters for the flow. Source ports are held by ordinary bound sockets.
 * A trace of the mux borrows its family's raw sockets and holds only its
 * own ports. See io.h for the contract, io.c for how a backend is chosen.
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
	ht_io_grow_rcvbuf(io->rx_icmp_fd);
	ht_io_flush_socket(io->rx_icmp_fd);

	if (io->flow.method == HT_METHOD_TCP) {
		io->rx_tcp_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
		if (io->rx_tcp_fd < 0)
			return -errno;
		if ((rc = ht_io_sock_common(io, io->rx_tcp_fd, true)) < 0)
			return rc;
		if ((rc = io_attach_tcp_filter(io->rx_tcp_fd, AF_INET, io->flow.sport, io_sport_span(io))) < 0)
			return rc;
		ht_io_flush_socket(io->rx_tcp_fd);
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
	io->send_proto = proto;
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
		ht_io_flush_socket(io->send_fd);
	} else if (proto == IPPROTO_TCP) {
		io->rx_tcp_fd = io->send_fd;
		if ((rc = io_attach_tcp_filter(io->send_fd, AF_INET6, io->flow.sport, io_sport_span(io))) < 0)
			return rc;
		ht_io_flush_socket(io->send_fd);
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
	ht_io_grow_rcvbuf(io->rx_icmp_fd);
	ht_io_flush_socket(io->rx_icmp_fd);
	if (setsockopt(io->rx_icmp_fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
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

/* One trace's socket set: every packet is about its one flow. */
static const struct ht_flow *route_own(void *ru, const struct ht_rx *rx, void **cb_u)
{
	struct ht_io *io = ru;

	(void)rx;
	(void)cb_u;
	return &io->flow;
}

int ht_io_drain_raw_routed(struct ht_io *io, int fd, enum ht_rx_kind kind, int budget,
                           ht_io_route_fn route, void *ru, ht_io_reply_cb cb, void *u)
{
	struct mmsghdr mm[HT_IO_BATCH];
	struct iovec iov[HT_IO_BATCH];
	struct sockaddr_storage from[HT_IO_BATCH];
	union {
		char buf[HT_IO_CMSG_LEN];
		struct cmsghdr align;
	} ctl[HT_IO_BATCH];
	int total = 0;

	while (total < budget) {
		int want = budget - total < HT_IO_BATCH ? budget - total : HT_IO_BATCH;
		for (int i = 0; i < want; i++) {
			iov[i].iov_base = io->rxbuf + (size_t)i * io->rxbuf_len;
			iov[i].iov_len = io->rxbuf_len;
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = ctl[i].buf;
			mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		int got = recvmmsg(fd, mm, (unsigned)want, MSG_DONTWAIT, NULL);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* A pending socket error is reported (and cleared) by one
			 * receive call; count it against the budget so that a
			 * persistent error cannot spin here. */
			total++;
			continue;
		}
		/* One pair of clock readings converts the whole batch. */
		uint64_t mono;
		struct timespec real;
		ht_io_clock_pair(&mono, &real);
		for (int i = 0; i < got; i++) {
			struct ht_rxmeta m;
			struct ht_reply r;
			ht_addr src;
			size_t len = mm[i].msg_len;

			io->stats.rx_packets++;
			ht_io_parse_cmsgs(&mm[i].msg_hdr, mono, &real, &m);
			ht_io_sa_to_addr((struct sockaddr *)&from[i], &src);
			memset(&r, 0, sizeof(r));
			/* Parsed once; the route names the flow it may answer
			 * (and whom to tell), the flow decides. */
			struct ht_rx rx;
			const struct ht_flow *f;
			void *to = u;
			int rc = ht_rx_parse(kind, iov[i].iov_base, len, &src, &rx);
			if (rc == 0) {
				f = route(ru, &rx, &to);
				rc = f ? ht_rx_identify(f, &rx, &r) : -ENOENT;
			}
			if (rc == -ENOENT) {
				io->stats.rx_unmatched++;
				continue;
			}
			if (rc < 0) {
				io->stats.rx_malformed++;
				continue;
			}
			io->stats.rx_matched++;
			r.rx_us = m.has_stamp ? m.rx_us : mono;
			if (!r.reply_ttl && m.ttl > 0 && m.ttl <= 255)
				r.reply_ttl = (uint8_t)m.ttl;
			cb(to, &r);
		}
		total += got;
		if (got < want)
			break;
	}
	return total;
}

static int raw_open(struct ht_io *io, char *err, size_t errlen)
{
	return io_open_raw(io, err, errlen);
}

/* A trace of the mux: its own ports (UDP, TCP), or none (ICMP: a fresh
 * echo id is enough); the family's sockets are borrowed. A port of an
 * earlier trace is taken over when one port is all it needs and it asked
 * for none. */
static int raw_child_open(struct ht_io *c, const struct ht_config *cfg,
                          const struct ht_io_port *adopt, char *err, size_t errlen)
{
	uint16_t got = 0;
	int rc;

	/* Another method than the family's sockets were opened for: IPv4's
	 * IPPROTO_RAW socket sends anything and the raw ICMP socket is always
	 * there, so ICMP echoes can go (--hop-ping); an IPv6 raw socket sends
	 * its one protocol, and TCP needs the raw TCP socket. */
	int want = c->flow.method == HT_METHOD_UDP   ? IPPROTO_UDP
	           : c->flow.method == HT_METHOD_TCP ? IPPROTO_TCP
	                                             : IPPROTO_ICMPV6;
	if ((c->rx_tcp_fd < 0 && c->flow.method == HT_METHOD_TCP) ||
	    (c->family == AF_INET6 && c->send_proto != want)) {
		ht_io_errf(err, errlen, "the family's raw sockets cannot send these probes");
		return -EPROTONOSUPPORT;
	}
	if (c->flow.method == HT_METHOD_ICMP)
		return 0;
	if (adopt && adopt->fd >= 0 && !cfg->sport && io_nports(c) == 1) {
		c->reserve_fd = adopt->fd;
		c->flow.sport = adopt->port;
		return 0;
	}
	rc = io_reserve_port(c, c->flow.method == HT_METHOD_TCP ? SOCK_STREAM : SOCK_DGRAM,
	                     cfg->sport, &got);
	if (rc < 0) {
		ht_io_errf(err, errlen, "cannot reserve a source port: %s", strerror(-rc));
		return rc;
	}
	c->flow.sport = got;
	return 0;
}

static void raw_close(struct ht_io *io)
{
	if (!io->borrowed) {
		ht_io_close_fds(io);
		return;
	}
	if (io->reserve_fd >= 0)
		close(io->reserve_fd);
	io->reserve_fd = -1;
	ht_io_close_col_fds(io);
}

static int raw_send(struct ht_io *io, uint16_t seq, uint8_t ttl, uint64_t *tx_us)
{
	return io_send_raw(io, seq, ttl, tx_us);
}

/* The receive sockets (not a mux trace's: the mux reads those), and the
 * UDP socket that holds the source port, where a service at the
 * destination answers. */
static int raw_pollfds(struct ht_io *io, struct pollfd *pfd, int max)
{
	int udp = io->flow.method == HT_METHOD_UDP ? io->reserve_fd : -1;
	int fds[3] = {io->borrowed ? -1 : io->rx_icmp_fd, io->borrowed ? -1 : io->rx_tcp_fd, udp};
	int n = 0;

	for (int i = 0; i < 3 && n < max; i++) {
		bool dup = false;
		if (fds[i] < 0)
			continue;
		for (int j = 0; j < i; j++)
			dup |= fds[j] == fds[i];
		if (dup)
			continue;
		pfd[n++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	}
	return n;
}

static int raw_drain(struct ht_io *io, const struct pollfd *p, int budget, ht_io_reply_cb cb,
                     void *u)
{
	if (p->fd == io->rx_icmp_fd)
		return ht_io_drain_raw_routed(io, p->fd,
		                              io->family == AF_INET ? HT_RX_ICMP4 : HT_RX_ICMP6,
		                              budget, route_own, io, cb, u);
	if (p->fd == io->rx_tcp_fd)
		return ht_io_drain_raw_routed(io, p->fd,
		                              io->family == AF_INET ? HT_RX_TCP4 : HT_RX_TCP6, budget,
		                              route_own, io, cb, u);
	if (p->fd == io->reserve_fd)
		return ht_io_drain_udp_answers(io, p->fd, budget, cb, u);
	return 0;
}

const struct ht_io_backend ht_io_backend_raw = {
	.mode = HT_IO_RAW,
	.open = raw_open,
	.child_open = raw_child_open,
	.close = raw_close,
	.send = raw_send,
	.pollfds = raw_pollfds,
	.drain = raw_drain,
	.expire = NULL,
	.fixed_fds = true,
};
