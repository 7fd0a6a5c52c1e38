/*
 * The receive path and the event loop.
 *
 * Reading is bounded per loop iteration and shared between the ready
 * sockets, so that a flood of unrelated ICMP starves neither the
 * session's timers nor the other sockets; it is batched with recvmmsg(), and
 * everything read is decoded against our flow; what is not ours costs
 * one failed decode and a counter increment.
 */
#include "io_internal.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HT_IO_BATCH 16
#define HT_IO_BUDGET 512 /* packets per loop iteration */
#define HT_IO_CMSG_LEN 256

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

int ht_io_pollfds(ht_io *io, struct pollfd *pfd, int max)
{
	int n = 0;
	/* With raw sockets, the UDP socket that holds our source port is where
	 * a service at the destination answers. */
	int udp = io->mode == HT_IO_RAW && io->flow.method == HT_METHOD_UDP ? io->reserve_fd : -1;
	int fds[4] = {io->rx_icmp_fd, io->rx_tcp_fd, io->dgram_fd, udp};

	for (int i = 0; i < 4 && n < max; i++) {
		if (fds[i] < 0)
			continue;
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup |= fds[j] == fds[i];
		if (dup)
			continue;
		pfd[n].fd = fds[i];
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	if (io->mode == HT_IO_UNPRIV)
		n += ht_unpriv_pollfds(io, pfd + n, max - n);
	return n;
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

int ht_io_drain(ht_io *io, const struct pollfd *pfd, int n, int budget, ht_io_reply_cb cb,
                void *u)
{
	int total = 0, ready = 0;

	/* Results of synchronous connects, in send order. */
	for (int i = 0; i < io->npending; i++)
		cb(u, &io->pending[i]);
	io->npending = 0;

	/* Fairness: each ready socket gets an equal share of the turn's
	 * budget (at least one batch), so that a flood on one socket (forged
	 * ICMP errors quoting our destination pass the kernel filter) cannot
	 * starve the others: the destination's SYN-ACKs on the TCP socket,
	 * a service's answers on the UDP one. The first socket served
	 * rotates from turn to turn, for when the shares exceed the budget
	 * (many per-probe sockets). A flooded socket that still holds
	 * packets is served again on the next turn. */
	for (int i = 0; i < n; i++)
		ready += pfd[i].revents != 0;
	if (!ready)
		return 0;
	int share = budget / ready > HT_IO_BATCH ? budget / ready : HT_IO_BATCH;
	int first = (int)(io->rx_turn++ % (unsigned)n);

	for (int k = 0; k < n && total < budget; k++) {
		int i = (first + k) % n;
		if (!pfd[i].revents)
			continue;
		int fd = pfd[i].fd, rc;
		int want = budget - total < share ? budget - total : share;
		if (fd == io->rx_icmp_fd && io->mode == HT_IO_RAW)
			rc = ht_io_drain_raw_routed(io, fd,
			                            io->family == AF_INET ? HT_RX_ICMP4 : HT_RX_ICMP6,
			                            want, route_own, io, cb, u);
		else if (fd == io->rx_tcp_fd && io->mode == HT_IO_RAW)
			rc = ht_io_drain_raw_routed(io, fd,
			                            io->family == AF_INET ? HT_RX_TCP4 : HT_RX_TCP6,
			                            want, route_own, io, cb, u);
		else if (fd == io->reserve_fd && io->mode == HT_IO_RAW)
			rc = ht_io_drain_udp_answers(io, fd, want, cb, u);
		else
			rc = ht_unpriv_drain(io, &pfd[i], 1, want, cb, u);
		if (rc > 0)
			total += rc;
	}
	return total;
}

struct run_ctx {
	ht_session *s;
	uint64_t now;
	int err;
};

static void run_input(void *u, const struct ht_reply *r)
{
	struct run_ctx *rc = u;
	int e = ht_session_input(rc->s, r, rc->now);

	if (e < 0 && !rc->err)
		rc->err = e;
}

int ht_io_run(ht_io *io, ht_session *s, const struct ht_io_watch *w)
{
	int max = 8 + (io->mode == HT_IO_UNPRIV ? io->cap_ps : 0) + 64;
	struct pollfd *pfd = calloc((size_t)max, sizeof(*pfd));
	int rc = 0;

	if (!pfd)
		return -ENOMEM;
	for (;;) {
		uint64_t now = ht_now_us();

		rc = ht_session_tick(s, now);
		if (rc < 0)
			break;
		if (ht_session_done(s))
			break;
		if (io->mode == HT_IO_UNPRIV)
			ht_unpriv_expire(io, now);

		int n = ht_io_pollfds(io, pfd, max - 64);
		int nw = 0;
		uint64_t deadline = ht_session_next_wakeup(s);
		if (w && w->collect) {
			nw = w->collect(w->u, pfd + n, max - n, &deadline);
			if (nw < 0)
				nw = 0;
		}

		struct timespec ts, *tsp = NULL;
		now = ht_now_us();
		if (io->npending) {
			deadline = now;
		}
		if (deadline != UINT64_MAX) {
			uint64_t d = deadline > now ? deadline - now : 0;
			/* A paced probe due in a few microseconds (--pps spaces
			 * them 10 us apart by default): look at the sockets and
			 * come back rather than oversleep by the timer slack. */
			if (d < 200)
				d = 0;
			ts.tv_sec = (time_t)(d / 1000000u);
			ts.tv_nsec = (long)(d % 1000000u) * 1000;
			tsp = &ts;
		}
		int pr = ppoll(pfd, (nfds_t)(n + nw), tsp, NULL);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}

		struct run_ctx ctx = {.s = s, .now = ht_now_us()};
		if (pr > 0 || io->npending)
			ht_io_drain(io, pfd, n, HT_IO_BUDGET, run_input, &ctx);
		if (w && w->process)
			w->process(w->u, pfd + n, nw, ht_now_us());
	}
	free(pfd);
	return rc < 0 ? rc : 0;
}
