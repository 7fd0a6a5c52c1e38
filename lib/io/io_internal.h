/*
 * Private state of the Linux I/O layer, shared by the files of lib/io/.
 */
#ifndef HT_IO_INTERNAL_H
#define HT_IO_INTERNAL_H

#include "io/io.h"
#include "method/method.h"

#include <net/if.h>
#include <sys/socket.h>
#include <time.h>

/* One socket per probe in flight (unprivileged TCP, and UDP with --classic). */
struct ht_psock {
	int fd;
	uint16_t seq;
	uint64_t tx_us;
	uint64_t seen_us; /* TCP: first time the handshake was seen finished; 0 not yet */
};

/* A reply produced while sending (synchronous connect result), delivered
 * by the event loop after the tick that caused it. */
#define HT_IO_PENDING_MAX 64

struct ht_io {
	struct ht_config cfg;
	struct ht_flow flow;
	enum ht_io_mode mode;
	int family;
	char device[IFNAMSIZ];

	/* Raw mode. */
	int send_fd;    /* IPv4: IPPROTO_RAW (IP_HDRINCL); IPv6: raw socket of the method */
	int rx_icmp_fd; /* raw ICMP / ICMPv6 (IPv6 ICMP method: same as send_fd) */
	int rx_tcp_fd;  /* raw TCP (TCP method); IPv6: same as send_fd */
	int reserve_fd; /* a plain socket bound to our source port, never used */
	/* Flow-stable TCP: one source port per query column, sport + 1 ..
	 * sport + ncols - 1, each held like reserve_fd holds sport. */
	int col_fd[HT_MAX_QUERIES - 1];
	int ncol_fd;

	/* Unprivileged mode. */
	int dgram_fd; /* ICMP: the datagram "ping" socket; UDP (not classic): the
	               * one UDP socket of the trace */
	struct ht_psock *ps;
	int nps, cap_ps;
	uint64_t psock_linger_us; /* close per-probe sockets after this */

	struct ht_reply pending[HT_IO_PENDING_MAX];
	int npending;

	/* Receive buffers (recvmmsg batch). */
	uint8_t *rxbuf;
	size_t rxbuf_len; /* per message */

	struct ht_io_stats stats;
	unsigned rx_turn; /* loop turns: which ready socket is read first */
	bool borrowed;    /* a mux trace: send_fd, rx_icmp_fd, rx_tcp_fd, rxbuf are the
	                   * family's, not to be closed or freed here */
};

/* Realtime kernel stamp to monotonic microseconds, using a pair of clock
 * readings taken together (mono_now, real_now in ns). */
uint64_t ht_io_stamp_to_mono(const struct timespec *stamp, uint64_t mono_now_us,
                             const struct timespec *real_now);

/* A monotonic (us) and realtime reading taken at the same moment. */
void ht_io_clock_pair(uint64_t *mono_us, struct timespec *real);

/* Walk the control messages of one received message: kernel receive time
 * (converted to monotonic), reply TTL / hop limit, extended error. */
struct ht_rxmeta {
	bool has_stamp;
	uint64_t rx_us;
	int ttl; /* -1 unknown */
	bool has_ee;
	struct sock_extended_err_copy {
		uint32_t ee_errno;
		uint8_t ee_origin, ee_type, ee_code;
		uint32_t ee_info;
	} ee;
	ht_addr offender;
};
void ht_io_parse_cmsgs(struct msghdr *msg, uint64_t mono_now_us, const struct timespec *real_now,
                       struct ht_rxmeta *m);

/* Unprivileged mode (unpriv.c). */
int ht_unpriv_open(struct ht_io *io, char *err, size_t errlen);
int ht_unpriv_send(struct ht_io *io, uint16_t seq, uint8_t ttl, uint64_t *tx_us);
int ht_unpriv_pollfds(struct ht_io *io, struct pollfd *pfd, int max);
void ht_unpriv_close(struct ht_io *io);
/* Close every per-probe socket (a new target begins). */
void ht_unpriv_reset(struct ht_io *io);
/* A new shared socket (ping: a new echo id; UDP: a new source port); on
 * failure the old one stays. */
int ht_unpriv_reopen_dgram(struct ht_io *io);
/* Expire per-probe sockets older than the linger time. */
void ht_unpriv_expire(struct ht_io *io, uint64_t now_us);
int ht_unpriv_drain(struct ht_io *io, const struct pollfd *pfd, int n, int budget,
                    ht_io_reply_cb cb, void *u);
/* Datagrams on one of our UDP sockets (fd): a service at the destination
 * answering probes; each that names a probe is passed to cb. */
int ht_io_drain_udp_answers(struct ht_io *io, int fd, int budget, ht_io_reply_cb cb, void *u);

/*
 * Drain one raw socket (loop.c): every packet is parsed once
 * (ht_rx_parse), route() names the flow it may answer and the user for
 * cb (NULL: nobody's; counted unmatched), ht_rx_identify() decides. A
 * single trace routes everything to its own flow; the mux (mux.c) looks
 * the flow key up among its traces.
 */
typedef const struct ht_flow *(*ht_io_route_fn)(void *ru, const struct ht_rx *rx, void **cb_u);
int ht_io_drain_raw_routed(struct ht_io *io, int fd, enum ht_rx_kind kind, int budget,
                           ht_io_route_fn route, void *ru, ht_io_reply_cb cb, void *u);

/*
 * A trace of the mux (io.c): a flow of its own toward dst, on the family's
 * raw sockets (borrowed: sent on and read by the mux, never closed here)
 * with ports or an echo id of its own, or in unprivileged mode on sockets
 * of its own; the parent's receive buffer is borrowed too.
 */
int ht_io_child_open(struct ht_io *parent, const struct ht_config *cfg, struct ht_io *child,
                     char *err, size_t errlen);
void ht_io_child_close(struct ht_io *child);
/* Let every reply through the kernel filters of the family's raw sockets
 * (the mux's traces have many destinations and ports). */
int ht_io_filters_open(struct ht_io *io);

/* Common socket helpers (io.c). */
int ht_io_sock_common(struct ht_io *io, int fd, bool rx);
void ht_io_addr_to_sa(const ht_addr *a, uint16_t port, struct sockaddr_storage *ss,
                      socklen_t *len);
void ht_io_sa_to_addr(const struct sockaddr *sa, ht_addr *a);
void ht_io_errf(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void ht_io_queue_pending(struct ht_io *io, const struct ht_reply *r);

#endif
