/*
 * nfq-delay: hold every packet of one NFQUEUE for a fixed time, then accept it.
 *
 * The lab kernel has no netem, so the netns lab adds per-router one-way delay by
 * sending the router's forwarded packets (iptables-legacy mangle FORWARD -j NFQUEUE)
 * to this program, one instance per router namespace. The delay is constant, so
 * packets leave in the order they arrived and a FIFO of (packet id, deadline) is
 * all the state we need.
 *
 * usage: nfq-delay [-q QUEUE] [-d MS] [-r READYFILE]
 *   -q QUEUE      queue number (default 0)
 *   -d MS         delay in milliseconds, fractions allowed (default 5)
 *   -r READYFILE  written with our pid once the queue is bound, so the caller
 *                 knows when it is safe to install the NFQUEUE rule
 * On SIGTERM/SIGINT every held packet is accepted at once and the number of
 * packets seen is printed on stderr.
 */
/* glibc headers first: linux/netfilter.h pulls linux/in.h, which must not come first. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define RING_SIZE 65536u

struct held {
	uint32_t id;
	uint64_t due_ns;
};

static struct held ring[RING_SIZE];
static unsigned ring_head, ring_len;
static uint64_t delay_ns = 5000000;
static uint64_t seen;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int accept_packet(struct nfq_q_handle *qh, uint32_t id)
{
	return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
		     void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint32_t id;

	(void)msg;
	(void)data;
	if (!ph)
		return 0;
	id = ntohl(ph->packet_id);
	seen++;
	/* A full ring must never drop traffic: let the packet through undelayed. */
	if (ring_len == RING_SIZE || delay_ns == 0)
		return accept_packet(qh, id);
	ring[(ring_head + ring_len) % RING_SIZE] = (struct held){id, now_ns() + delay_ns};
	ring_len++;
	return 0;
}

/* Accept every packet whose time has come (all of them when flush is set). */
static void release_due(struct nfq_q_handle *qh, int flush)
{
	uint64_t now = now_ns();

	while (ring_len && (flush || ring[ring_head].due_ns <= now)) {
		accept_packet(qh, ring[ring_head].id);
		ring_head = (ring_head + 1) % RING_SIZE;
		ring_len--;
	}
}

static int parse_args(int argc, char **argv, unsigned *queue, const char **ready)
{
	int opt;
	char *end;

	while ((opt = getopt(argc, argv, "q:d:r:h")) != -1) {
		switch (opt) {
		case 'q': {
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v > 65535)
				return -EINVAL;
			*queue = (unsigned)v;
			break;
		}
		case 'd': {
			double v;

			errno = 0;
			v = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(v >= 0.0 && v <= 10000.0))
				return -EINVAL;
			delay_ns = (uint64_t)(v * 1e6 + 0.5);
			break;
		}
		case 'r':
			*ready = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	struct sigaction sa;
	unsigned queue = 0;
	const char *ready = NULL;
	char buf[65536] __attribute__((aligned));
	int fd, one = 1;

	if (parse_args(argc, argv, &queue, &ready) < 0) {
		fprintf(stderr, "usage: nfq-delay [-q QUEUE 0-65535] [-d MS 0-10000] [-r READYFILE]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* The signals stay blocked except inside ppoll(), which unblocks
	 * them atomically: a SIGTERM arriving between the `stop` check and
	 * the wait would otherwise leave ppoll() blocked for good (seen as a
	 * lab that never came down). */
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);

	h = nfq_open();
	if (!h) {
		perror("nfq-delay: nfq_open");
		return 1;
	}
	/* Binding per family is a no-op on current kernels but required by old ones. */
	nfq_unbind_pf(h, AF_INET);
	nfq_unbind_pf(h, AF_INET6);
	if (nfq_bind_pf(h, AF_INET) < 0 || nfq_bind_pf(h, AF_INET6) < 0) {
		perror("nfq-delay: nfq_bind_pf");
		nfq_close(h);
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
	if (!qh) {
		perror("nfq-delay: nfq_create_queue");
		nfq_close(h);
		return 1;
	}
	/* Only the packet id is needed: ask for metadata, not payload. */
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0)
		nfq_set_mode(qh, NFQNL_COPY_PACKET, 0);
	nfq_set_queue_maxlen(qh, RING_SIZE);
	fd = nfq_fd(h);
	nfnl_rcvbufsiz(nfq_nfnlh(h), 8u << 20);
	/* A lost notification would strand a packet in the kernel; rather not hear ENOBUFS. */
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));

	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
			perror("nfq-delay: ready file");
			nfq_destroy_queue(qh);
			nfq_close(h);
			return 1;
		}
	}

	while (!stop) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct timespec ts, *tsp = NULL;
		int n;

		release_due(qh, 0);
		if (ring_len) {
			uint64_t now = now_ns(), due = ring[ring_head].due_ns;
			uint64_t wait = due > now ? due - now : 0;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			tsp = &ts;
		}
		n = ppoll(&pfd, 1, tsp, &waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("nfq-delay: ppoll");
			break;
		}
		if (n == 0)
			continue;
		for (;;) {
			ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (len < 0) {
				if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				    errno != ENOBUFS)
					perror("nfq-delay: recv");
				break;
			}
			nfq_handle_packet(h, buf, (int)len);
		}
	}
	release_due(qh, 1);
	fprintf(stderr, "nfq-delay: queue %u: %" PRIu64 " packets\n", queue, seen);
	nfq_destroy_queue(qh);
	nfq_close(h);
	return 0;
}
