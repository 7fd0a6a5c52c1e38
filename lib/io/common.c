/*
 * What both backends (raw.c, unpriv.c) and the layers above them share:
 * addresses and socket options, the flow's random values, the source
 * address toward a destination, control messages of a received packet,
 * and datagram receives decoded through the one parse-and-identify path
 * (ht_rx_parse_sock, ht_rx_identify). The bottom of lib/io: it calls
 * nothing of the files above it.
 */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

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

uint32_t ht_io_random32(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)getpid() * 2654435761u ^ (uint32_t)ht_now_us();
	return v;
}

/* A flow's random tag (see lib/method/method.h); never 0, which would
 * write zeros, read as "no tag". */
uint32_t ht_io_tag(void)
{
	uint32_t t = ht_io_random32();

	return t ? t : 0x48540001u;
}

void ht_io_queue_pending(struct ht_io *io, const struct ht_reply *r)
{
	/* Allocated on first use: most ios (every raw one) never queue, and
	 * a batch holds thousands of them. */
	if (!io->pending && !(io->pending = calloc(HT_IO_PENDING_MAX, sizeof(*io->pending))))
		return;
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

/* Packets queued between socket() and the filter's attachment passed no
 * filter; nothing of ours is in flight yet, so they can all go. */
void ht_io_flush_socket(int fd)
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
void ht_io_grow_rcvbuf(int fd)
{
	int sz = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/* A UDP socket for route look-ups: bound to the -i device and the -s
 * address when given. -1 and err set on failure. */
static int route_socket(struct ht_io *io, char *err, size_t errlen)
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
	return fd;
}

/*
 * Pick the source address the kernel would use toward dst: connect a UDP
 * socket (no packet is sent) and ask it. With keep, the socket is kept
 * there for the next look-up (the traces of a mux: one per family, made
 * for io's device and -s address, which its traces share) and
 * disconnected after each: a disconnected socket that was not bound to an
 * address forgets the source its last route gave it.
 */
int ht_io_find_source(struct ht_io *io, int *keep, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = keep ? *keep : -1, rc = 0;

	if (fd < 0 && (fd = route_socket(io, err, errlen)) < 0)
		return fd;
	ht_io_addr_to_sa(&io->cfg.dst, HT_DEFAULT_UDP_PORT, &ss, &len);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		rc = -errno;
		ht_io_errf(err, errlen, "no route to the destination: %s",
		           strerror(-rc));
	}
	len = sizeof(ss);
	if (rc == 0 && getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		rc = -errno;
	if (rc == 0)
		ht_io_sa_to_addr((struct sockaddr *)&ss, &io->flow.src);
	if (keep) {
		struct sockaddr none = {.sa_family = AF_UNSPEC};
		/* A socket that cannot be disconnected is not used again. */
		if (connect(fd, &none, sizeof(none)) < 0) {
			close(fd);
			fd = -1;
		}
		*keep = fd;
	} else {
		close(fd);
	}
	return rc;
}

void ht_io_close_col_fds(struct ht_io *io)
{
	for (int i = 0; i < io->ncol_fd; i++)
		close(io->col_fd[i]);
	io->ncol_fd = 0;
}

void ht_io_close_fds(struct ht_io *io)
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
	ht_io_close_col_fds(io);
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

void ht_io_parse_cmsgs(struct msghdr *msg, uint64_t mono_now_us, const struct timespec *real_now,
                       struct ht_rxmeta *m)
{
	memset(m, 0, sizeof(*m));
	m->ttl = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			m->rx_us = ht_io_stamp_to_mono(&ts, mono_now_us, real_now);
			m->has_stamp = true;
		} else if (((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
		            (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) &&
		           c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			m->ttl = v;
		} else if (((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		            (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) &&
		           c->cmsg_len >= CMSG_LEN(sizeof(struct sock_extended_err))) {
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			m->has_ee = true;
			m->ee.ee_errno = ee.ee_errno;
			m->ee.ee_origin = ee.ee_origin;
			m->ee.ee_type = ee.ee_type;
			m->ee.ee_code = ee.ee_code;
			m->ee.ee_info = ee.ee_info;
			/* The offender address follows the structure. */
			size_t have = c->cmsg_len - CMSG_LEN(sizeof(ee));
			const uint8_t *sa = CMSG_DATA(c) + sizeof(ee);
			struct sockaddr_in6 s6;
			if (have >= sizeof(struct sockaddr_in)) {
				memset(&s6, 0, sizeof(s6));
				memcpy(&s6, sa, have < sizeof(s6) ? have : sizeof(s6));
				if (s6.sin6_family == AF_INET6 && have < sizeof(s6))
					s6.sin6_family = AF_UNSPEC;
				ht_io_sa_to_addr((struct sockaddr *)&s6, &m->offender);
			}
		}
	}
}

/* One receive (error queue or normal) without waiting. Returns 1 when a
 * message was read, 0 when there is none, or a negative errno. */
int ht_io_dgram_recv(struct ht_io *io, int fd, int flags, struct ht_io_dgram *out)
{
	struct sockaddr_storage ss;
	union {
		char b[512];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = io->rxbuf, .iov_len = io->rxbuf_len};
	struct msghdr msg = {.msg_name = &ss, .msg_namelen = sizeof(ss), .msg_iov = &iov,
	                     .msg_iovlen = 1, .msg_control = cbuf.b,
	                     .msg_controllen = sizeof(cbuf.b)};

	memset(&ss, 0, sizeof(ss));
	ssize_t n = recvmsg(fd, &msg, flags | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
	uint64_t mono;
	struct timespec real;
	ht_io_clock_pair(&mono, &real);
	ht_io_parse_cmsgs(&msg, mono, &real, &out->meta);
	if (!out->meta.has_stamp)
		out->meta.rx_us = mono;
	out->data = io->rxbuf;
	out->len = (size_t)n;
	ht_io_sa_to_addr((struct sockaddr *)&ss, &out->from);
	out->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                           : ((struct sockaddr_in *)&ss)->sin_port);
	io->stats.rx_packets++;
	return 1;
}

/*
 * One decode and match path for every datagram socket: describe what the
 * kernel gave (struct ht_rx_sock), parse it and identify it against the
 * flow. sock_seq: the probe a per-probe socket belongs to, or -1 for a
 * socket of the whole flow. False when it is no reply to a probe of ours.
 */
bool ht_io_dgram_decode(struct ht_io *io, enum ht_rx_kind kind, const struct ht_io_dgram *m, int sock_seq,
                      struct ht_reply *r)
{
	struct ht_rx_sock d;
	struct ht_rx rx;

	if (kind == HT_RX_ERRQUEUE && !m->meta.has_ee)
		return false;
	memset(&d, 0, sizeof(d));
	d.family = io->family;
	d.proto = io->flow.method == HT_METHOD_TCP    ? IPPROTO_TCP
	          : io->flow.method == HT_METHOD_UDP  ? IPPROTO_UDP
	          : io->family == AF_INET             ? IPPROTO_ICMP
	                                              : IPPROTO_ICMPV6;
	d.data = m->data;
	d.len = m->len;
	d.peer = m->from;
	d.peer_port = m->port;
	d.local_port = io->flow.sport;
	d.ttl = m->meta.ttl;
	d.sock_seq = sock_seq;
	if (kind == HT_RX_ERRQUEUE) {
		d.ee_origin = m->meta.ee.ee_origin;
		d.ee_type = m->meta.ee.ee_type;
		d.ee_code = m->meta.ee.ee_code;
		d.ee_info = m->meta.ee.ee_info;
		d.offender = m->meta.offender;
	}
	if (ht_rx_parse_sock(kind, &d, &rx) < 0 || ht_rx_identify(&io->flow, &rx, r) < 0)
		return false;
	r->rx_us = m->meta.rx_us;
	return true;
}

/*
 * A datagram on our own UDP socket: a service at the destination answering
 * a probe (a DNS server, an echo service). The first payload word, which
 * such services send back, names the probe (classic: the port it answers
 * from).
 */
int ht_io_drain_udp_answers(struct ht_io *io, int fd, int budget, ht_io_reply_cb cb, void *u)
{
	int total = 0;

	while (total < budget) {
		struct ht_io_dgram m;
		struct ht_reply r;
		int rc = ht_io_dgram_recv(io, fd, 0, &m);
		if (rc == 0)
			break;
		total++;
		if (rc < 0) /* a pending socket error, reported once */
			continue;
		if (!ht_io_dgram_decode(io, HT_RX_UDP_DATA, &m, -1, &r)) {
			io->stats.rx_unmatched++;
			continue;
		}
		io->stats.rx_matched++;
		cb(u, &r);
	}
	return total;
}
