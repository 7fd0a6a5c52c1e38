/*
 * Platform I/O for Linux: the only place that opens sockets, reads
 * clocks, or touches privileges. The core sees it only through
 * struct ht_io_ops (hoptrace.h).
 */
#ifndef HT_IO_H
#define HT_IO_H

#include "hoptrace/hoptrace.h"
#include "proto/proto.h"

#include <poll.h>
#include <stdint.h>

/* Monotonic clock in microseconds. */
uint64_t ht_now_us(void);

enum ht_io_mode {
	HT_IO_AUTO = 0,  /* raw if CAP_NET_RAW, else unprivileged */
	HT_IO_RAW,       /* raw sockets (needs CAP_NET_RAW) */
	HT_IO_UNPRIV,    /* ICMP datagram / UDP / TCP sockets with IP_RECVERR */
};

struct ht_io_opts {
	enum ht_io_mode mode;
	const char *device;   /* -i: bind to this interface, or NULL */
};

typedef struct ht_io ht_io;

/*
 * Open what is needed for cfg (sockets first, while privileged), settle
 * the flow (source address via a connected UDP socket, ports, ICMP id),
 * then the caller drops privileges with ht_priv_drop(). On failure returns
 * a negative errno and writes one clear line (what is missing, how to fix
 * it) into err.
 */
int ht_io_open(ht_io **out, const struct ht_config *cfg, const struct ht_io_opts *o,
               char *err, size_t errlen);
void ht_io_close(ht_io *io);

/* The flow actually in use (source address, ports, id) and the mode chosen. */
const struct ht_flow *ht_io_flow(const ht_io *io);
enum ht_io_mode ht_io_mode_used(const ht_io *io);

/* The ops table to give ht_session_new(), with io as ctx. */
const struct ht_io_ops *ht_io_ops(void);

/*
 * Something else the event loop should watch (the DNS resolver, a live
 * view's keyboard). collect() adds up to max pollfds and may lower
 * *deadline (monotonic us); process() is called after every wait with
 * the same pollfds and their revents. Either may be NULL.
 */
struct ht_io_watch {
	int (*collect)(void *u, struct pollfd *pfd, int max, uint64_t *deadline);
	void (*process)(void *u, const struct pollfd *pfd, int n, uint64_t now_us);
	void *u;
};

/*
 * Run a session to completion: tick it, wait on the sockets until the
 * session's next wakeup, decode every readable packet and feed matching
 * replies. Returns 0 or a negative errno.
 */
int ht_io_run(ht_io *io, ht_session *s, const struct ht_io_watch *w);

/* Drop to the invoking user and clear every capability. Returns 0 or -errno. */
int ht_priv_drop(void);
/* True when the process may open raw sockets right now. */
bool ht_priv_have_raw(void);

#endif
