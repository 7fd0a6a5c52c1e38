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

#define HT_IO_BUDGET 512 /* packets per loop iteration */

int ht_io_pollfds(ht_io *io, struct pollfd *pfd, int max)
{
	return io->be->pollfds(io, pfd, max);
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
		int rc, want = budget - total < share ? budget - total : share;
		rc = io->be->drain(io, &pfd[i], want, cb, u);
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
		if (io->be->expire)
			io->be->expire(io, now);

		int n = ht_io_pollfds(io, pfd, max - 64);
		int nw = 0;
		uint64_t deadline = ht_session_next_wakeup(s);
		if (w && w->collect) {
			nw = w->collect(w->u, pfd + n, max - n, &deadline);
			if (nw < 0)
				nw = 0;
		}

		struct timespec ts, *tsp = NULL;
		/* A paced probe is due within the spin window: read only a
		 * batch per turn, so that a flood of replies (or of forged
		 * errors) cannot hold the next probe back for long. */
		bool soon;
		now = ht_now_us();
		soon = deadline != UINT64_MAX && deadline < now + 200;
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
			ht_io_drain(io, pfd, n, soon ? HT_IO_BATCH : HT_IO_BUDGET, run_input, &ctx);
		if (w && w->process)
			w->process(w->u, pfd + n, nw, ht_now_us());
	}
	free(pfd);
	return rc < 0 ? rc : 0;
}
