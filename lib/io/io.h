/*
 * Platform I/O for Linux: the only place that opens sockets, reads
 * clocks, or touches privileges. The core sees it only through
 * struct ht_io_ops (hoptrace.h).
 */
#ifndef HT_IO_H
#define HT_IO_H

#include "hoptrace/hoptrace.h"
#include "method/method.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>

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

/* Whether a is configured on one of this host's interfaces (in this
 * network namespace): 1 yes, 0 no, or a negative errno. */
int ht_io_addr_local(const ht_addr *a);

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

/*
 * Who started the process: an ordinary user with nothing to give up, root
 * (real uid 0), or another user through a privileged install (setuid or
 * setgid, file or ambient capabilities), who gets the limits of
 * unprivileged users. Read on the first call and remembered: call it (or
 * ht_priv_drop(), which calls it) before dropping privileges. Returns one
 * of these or a negative errno.
 */
enum {
	HT_PRIV_START_NONE = 0,
	HT_PRIV_START_ROOT = 1,
	HT_PRIV_START_USER = 2,
};
int ht_priv_start(void);

/* Drop to the invoking user and clear every capability. Returns 0 or -errno. */
int ht_priv_drop(void);
/* True when the process may open raw sockets right now. */
bool ht_priv_have_raw(void);

/*
 * Additions below this line (lib/io owner): lower-level access for tests
 * and custom loops, statistics, and the seccomp sandbox.
 */

/*
 * Many traces at once (lib/io/mux.c), for the engine: one ht_io per family
 * (opened while privileged, toward any target of that family) lends its
 * sockets to traces opened later, each with a flow of its own (fresh
 * source port or echo id and run tag; the source address must be the
 * family's). A reply finds its trace in O(1) by its flow key and goes to
 * the engine under the trace's id. With raw sockets the family's kernel
 * filters let every reply in (the traces have many destinations).
 */
typedef struct ht_io_mux ht_io_mux;
typedef struct ht_io_trace ht_io_trace;
int ht_io_mux_new(ht_io_mux **out, ht_io *v4, ht_io *v6);
/* Frees the traces left; the family ios stay the caller's. */
void ht_io_mux_free(ht_io_mux *m);
/* A trace's I/O toward cfg->dst; one line in err on failure. */
int ht_io_trace_open(ht_io_mux *m, const struct ht_config *cfg, ht_io_trace **out, char *err,
                     size_t errlen);
/* The engine id replies are fed to (ht_engine_start's). */
void ht_io_trace_bind(ht_io_trace *t, uint32_t id);
/* Safe from an event callback: no reply reaches it after this. */
void ht_io_trace_close(ht_io_trace *t);
const struct ht_flow *ht_io_trace_flow(const ht_io_trace *t);
/* The ctx to give ht_engine_start() with ht_io_ops(). */
void *ht_io_trace_ctx(ht_io_trace *t);
size_t ht_io_mux_traces(const ht_io_mux *m);
/*
 * Run the engine until it has no trace left and more(u) (may be NULL)
 * says no more will come. w is watched as in ht_io_run; its process()
 * (or the engine's event callback) may open and start traces.
 */
int ht_io_mux_run(ht_io_mux *m, ht_engine *e, const struct ht_io_watch *w,
                  bool (*more)(void *u), void *u);

/* Counters kept by the receive path. */
struct ht_io_stats {
	uint64_t rx_packets;   /* packets read from our sockets */
	uint64_t rx_matched;   /* decoded as replies to our flow */
	uint64_t rx_unmatched; /* well formed but not ours (-ENOENT) */
	uint64_t rx_malformed; /* truncated / inconsistent (-EINVAL) */
	uint64_t tx_packets;
	uint64_t tx_errors;
};
void ht_io_get_stats(const ht_io *io, struct ht_io_stats *st);
/* The shared raw sockets' counters of a mux (all its families). */
void ht_io_mux_stats(const ht_io_mux *m, struct ht_io_stats *st);

/* The send entry point behind ht_io_ops() (ctx is the ht_io). */
int ht_io_send_probe(void *ctx, uint16_t seq, uint8_t ttl, uint64_t *tx_us);

/* Add the sockets to wait on (events set, POLLIN mostly) to pfd; returns
 * how many were added (at most max). */
int ht_io_pollfds(ht_io *io, struct pollfd *pfd, int max);

/*
 * Read what is ready on the sockets in pfd (as filled by ht_io_pollfds,
 * with revents), at most `budget` packets, decode them against the flow
 * and call cb for every reply to one of our probes (rx_us and reply_ttl
 * set). Replies queued while sending (synchronous TCP connect results in
 * unprivileged mode) are delivered here too. Returns the number of
 * packets read, or a negative errno.
 */
typedef void (*ht_io_reply_cb)(void *u, const struct ht_reply *r);
int ht_io_drain(ht_io *io, const struct pollfd *pfd, int n, int budget, ht_io_reply_cb cb,
                void *u);

/* Why unprivileged mode is used and what it costs, or NULL in raw mode
 * (a one-line note a front end may print on stderr). */
const char *ht_io_mode_note(const ht_io *io);

/*
 * Install the seccomp filter that restricts the process to the system
 * calls needed after setup (the event loop, sending probes, per-probe
 * sockets in unprivileged mode, DNS over UDP/TCP, output). Call after
 * ht_priv_drop(). No executable memory (mmap/mprotect with PROT_EXEC),
 * prlimit64 only to read the process's own limits. A call outside the
 * list kills the process in release builds (ht_sandbox_default_kills());
 * debug and sanitizer builds make it fail with EPERM instead.
 * Returns 0 or a negative errno.
 */
int ht_sandbox_enter(void);
/* The resolver child's filter: the same without the event loop (epoll),
 * bind, batched sends, dup and terminal ioctls. */
int ht_sandbox_enter_resolver(void);
/* Whether a forbidden call kills the process by default (the build's
 * choice: CMake HT_SANDBOX_KILL). */
bool ht_sandbox_default_kills(void);
/*
 * Flags: HT_SANDBOX_TRAP: a forbidden syscall prints its number and exits
 * (70), for tests: a gap in the list is then found and named.
 * HT_SANDBOX_ERRNO: it fails with EPERM. HT_SANDBOX_KILL: it kills the
 * process. None of these: the build's default. HT_SANDBOX_RESOLVER: the
 * resolver child's filter. HOPTRACE_NO_SANDBOX in the environment
 * disables the sandbox, but only for a process that was not privileged
 * when ht_priv_drop() ran.
 */
#define HT_SANDBOX_TRAP 1
#define HT_SANDBOX_ERRNO 2
#define HT_SANDBOX_KILL 4
#define HT_SANDBOX_RESOLVER 8
int ht_sandbox_enter_flags(int flags);

/* Snapshot of the process's privilege state, read from /proc/self/status. */
struct ht_priv_state {
	unsigned long uid[4]; /* real, effective, saved, fs */
	unsigned long gid[4];
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
	int seccomp; /* 0 off, 1 strict, 2 filter */
};
int ht_priv_read_state(struct ht_priv_state *st);

#endif
