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

struct ht_io_backend;

/* A source port held by a socket of the kind the raw backend binds to
 * reserve one (UDP or TCP, by the method; bound to the family's source
 * address), that a trace of the mux may take over from an earlier one. */
struct ht_io_port {
	int fd;
	uint16_t port;
};

struct ht_io {
	const struct ht_io_backend *be; /* raw.c or unpriv.c */
	struct ht_config cfg;
	struct ht_flow flow;
	enum ht_io_mode mode;
	int family;
	char device[IFNAMSIZ];

	/* Raw mode. */
	int send_fd;    /* IPv4: IPPROTO_RAW (IP_HDRINCL); IPv6: raw socket of the method */
	int send_proto; /* IPv6: the protocol send_fd sends (a trace of the mux may use
	                 * another method only where the sockets allow it) */
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

	struct ht_reply *pending; /* HT_IO_PENDING_MAX, allocated on first use */
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

/*
 * A backend: how one mode opens, sends and receives. raw.c (CAP_NET_RAW)
 * and unpriv.c (ICMP datagram, UDP and TCP sockets with IP_RECVERR); io.c
 * picks one at ht_io_open(), loop.c and mux.c call through it. Both build
 * on common.c only, never on each other or on the files above them.
 */
struct ht_io_backend {
	enum ht_io_mode mode;
	/* The family's sockets and the flow's ports or id (io->flow set). */
	int (*open)(struct ht_io *io, char *err, size_t errlen);
	/* A mux trace (io->borrowed: the family's sockets are lent); adopt:
	 * a source port to take over instead of reserving one, or NULL. */
	int (*child_open)(struct ht_io *c, const struct ht_config *cfg,
	                  const struct ht_io_port *adopt, char *err, size_t errlen);
	/* Close what this io owns (a borrowed io: its own sockets only). */
	void (*close)(struct ht_io *io);
	int (*send)(struct ht_io *io, uint16_t seq, uint8_t ttl, uint64_t *tx_us);
	/* The sockets this io reads itself (not the ones a mux reads). */
	int (*pollfds)(struct ht_io *io, struct pollfd *pfd, int max);
	/* Read one ready socket (p as polled), at most budget packets. */
	int (*drain)(struct ht_io *io, const struct pollfd *p, int budget, ht_io_reply_cb cb,
	             void *u);
	/* Timers of the backend's own (per-probe sockets' linger); may be NULL. */
	void (*expire)(struct ht_io *io, uint64_t now_us);
	/* A mux trace's pollfds() stay the same from its open to its close, it
	 * has no expire() and queues no pending replies: the mux watches its
	 * sockets once (an epoll set) instead of every turn. */
	bool fixed_fds;
};
extern const struct ht_io_backend ht_io_backend_raw;
extern const struct ht_io_backend ht_io_backend_unpriv;

/* Unprivileged mode's inner functions (unpriv.c), for its backend table. */
int ht_unpriv_open(struct ht_io *io, char *err, size_t errlen);
int ht_unpriv_send(struct ht_io *io, uint16_t seq, uint8_t ttl, uint64_t *tx_us);
int ht_unpriv_pollfds(struct ht_io *io, struct pollfd *pfd, int max);
void ht_unpriv_close(struct ht_io *io);
/* Expire per-probe sockets older than the linger time. */
void ht_unpriv_expire(struct ht_io *io, uint64_t now_us);
int ht_unpriv_drain(struct ht_io *io, const struct pollfd *pfd, int n, int budget,
                    ht_io_reply_cb cb, void *u);

/* ---- common.c: shared by the backends and the files above them ---- */

#define HT_IO_BATCH 16     /* packets per recvmmsg() */
#define HT_IO_CMSG_LEN 256 /* control buffer per packet */

/* Random values for a flow: 32 bits, and a run tag (never 0). */
uint32_t ht_io_random32(void);
uint32_t ht_io_tag(void);
/* The source address the kernel would use toward io->cfg.dst (a connected
 * UDP socket: nothing is sent) into io->flow.src. keep: NULL, or where a
 * socket for the next look-up is kept (-1: none yet; made for io's device
 * and -s address; the caller closes it). */
int ht_io_find_source(struct ht_io *io, int *keep, char *err, size_t errlen);
/* Drop what is queued on a socket; a bigger receive buffer. */
void ht_io_flush_socket(int fd);
void ht_io_grow_rcvbuf(int fd);
/* Close the io's sockets (each once), its column ports included. */
void ht_io_close_fds(struct ht_io *io);
void ht_io_close_col_fds(struct ht_io *io);

/* One datagram read from a socket, with what its control messages said. */
struct ht_io_dgram {
	uint8_t *data;
	size_t len;
	ht_addr from;
	uint16_t port; /* of msg_name (error queue: the quoted destination port) */
	struct ht_rxmeta meta;
};
/* One receive (error queue or normal) without waiting: 1 read, 0 none,
 * or a negative errno. */
int ht_io_dgram_recv(struct ht_io *io, int fd, int flags, struct ht_io_dgram *out);
/* Parse and identify it against io's flow (sock_seq: the probe of a
 * per-probe socket, or -1); false when it is no reply to a probe of ours. */
bool ht_io_dgram_decode(struct ht_io *io, enum ht_rx_kind kind, const struct ht_io_dgram *m,
                        int sock_seq, struct ht_reply *r);
/* Datagrams on one of our UDP sockets (fd): a service at the destination
 * answering probes; each that names a probe is passed to cb. */
int ht_io_drain_udp_answers(struct ht_io *io, int fd, int budget, ht_io_reply_cb cb, void *u);

/* Socket helpers (common.c). */
int ht_io_sock_common(struct ht_io *io, int fd, bool rx);
void ht_io_addr_to_sa(const ht_addr *a, uint16_t port, struct sockaddr_storage *ss,
                      socklen_t *len);
void ht_io_sa_to_addr(const struct sockaddr *sa, ht_addr *a);
void ht_io_errf(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void ht_io_queue_pending(struct ht_io *io, const struct ht_reply *r);

/*
 * Drain one raw socket (raw.c): every packet is parsed once (ht_rx_parse),
 * route() names the flow it may answer and the user for cb (NULL: nobody's;
 * counted unmatched), ht_rx_identify() decides. A single trace routes
 * everything to its own flow; the mux (mux.c) looks the flow key up among
 * its traces.
 */
typedef const struct ht_flow *(*ht_io_route_fn)(void *ru, const struct ht_rx *rx, void **cb_u);
int ht_io_drain_raw_routed(struct ht_io *io, int fd, enum ht_rx_kind kind, int budget,
                           ht_io_route_fn route, void *ru, ht_io_reply_cb cb, void *u);
/* Let every reply through the kernel filters of the family's raw sockets
 * (the mux's traces have many destinations and ports; raw.c). */
int ht_io_filters_open(struct ht_io *io);

/*
 * A trace of the mux (io.c): a flow of its own toward dst (source address
 * the family's, fresh echo id and tag), opened by the family's backend: on
 * the family's raw sockets (borrowed: sent on and read by the mux, never
 * closed here) with ports of its own, or in unprivileged mode on sockets
 * of its own; the family's receive buffer is borrowed too. route_fd: where
 * the mux keeps the family's route look-up socket (ht_io_find_source's
 * keep), or NULL. adopt: a source port the raw backend takes over when the
 * trace needs one port and asked for none (-p), or NULL; whether it did:
 * child->reserve_fd == adopt->fd.
 */
int ht_io_child_open(struct ht_io *parent, const struct ht_config *cfg, struct ht_io *child,
                     int *route_fd, const struct ht_io_port *adopt, char *err,
                     size_t errlen);
void ht_io_child_close(struct ht_io *child);

#endif
