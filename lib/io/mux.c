/*
 * The mux: many traces at once on one set of sockets per family, for the
 * engine (lib/core/engine.c). Each trace is an ht_io of its own (a flow
 * with its own source port or echo id and run tag) that borrows its
 * family's raw sockets to send. Replies on those shared sockets are parsed
 * once, their flow key (destination, source port or echo id) finds the
 * trace in the flow table in O(1), and the trace's flow identifies the
 * probe; the reply then goes to the engine under the trace's id.
 *
 * Waiting: the shared sockets, and the sockets a trace of the raw backend
 * holds for its whole life (the UDP socket of its source port, where a
 * service at the destination answers), are in an epoll set, registered
 * once; a turn costs the same with 64 traces or 4096. Without raw sockets
 * a trace's sockets are its own and may come and go (one per probe for
 * --classic UDP and for TCP), so they are polled and drained each turn as
 * a single trace's are, next to the epoll descriptor. A trace closed from an event callback is unhooked at once
 * (no reply reaches it) and freed when the loop is between reads.
 */
#include "io_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#define MUX_BUDGET 512   /* packets per loop turn */
#define MUX_SPIN_US 200  /* closer deadlines are waited for without sleeping */
#define MUX_EVENTS 256   /* ready sockets taken from the epoll set per turn */
#define MUX_FIXED_MAX 3  /* sockets of one trace in the epoll set */
#define MUX_PORT_USES 16 /* traces a source port serves before it is closed */
#define MUX_POOL_MAX 1024 /* source ports kept between traces, at most a quarter of the descriptors */

/* A socket in the epoll set (its event's data). */
struct mux_fd {
	enum { MUX_SHARED, MUX_TRACE, MUX_PORT } kind;
	struct ht_io_trace *t; /* its trace (a port between traces: NULL) */
	bool gone;             /* a port closed this turn: its events are stale */
	int fd;
	int fam;               /* the family (0 IPv4, 1 IPv6) */
};

/*
 * A source port kept from one trace to the next (the socket that holds it,
 * bound as the raw backend binds one): opening and closing a socket was
 * much of a short trace's cost. A port never serves two traces to one
 * destination, so a late reply to an earlier trace (its destination and
 * port) can never be taken for the later one's; after MUX_PORT_USES traces
 * it is closed. Between traces its UDP socket stays in the epoll set and
 * what arrives (a service's late answer) is dropped.
 */
struct mux_port {
	struct mux_fd r;
	uint16_t port;
	bool tcp;
	bool watched;          /* r in the epoll set (UDP: a service answers there) */
	int nused;
	ht_addr used[MUX_PORT_USES];
	struct mux_port *next; /* in the pool */
};

struct ht_io_trace {
	struct ht_io io;
	ht_io_mux *mux;
	uint32_t id;           /* engine trace id; 0 until bound */
	struct ht_flow_key *keys;
	int nkeys;
	int index;             /* in mux->tr */
	int turn_index;        /* in mux->turn, or -1 (its sockets are in the epoll set) */
	struct mux_fd reg[MUX_FIXED_MAX];
	int nreg;
	struct mux_port *port; /* its source port, kept for a later trace; or NULL */
	bool dead;             /* closed; freed at the next safe point */
	struct ht_io_trace *next_dead;
};

struct ht_io_mux {
	ht_io *fam[2];         /* IPv4, IPv6 (either may be NULL) */
	ht_flowtab *tab;
	int epfd;
	struct mux_fd shared[4];
	struct ht_io_trace **tr; /* every trace open or waiting to be freed */
	int ntr, cap;
	struct ht_io_trace **turn; /* those polled each turn (sockets that come and go) */
	int nturn, cap_turn;
	struct ht_io_trace *dead;  /* closed, freed at the next safe point */
	struct mux_port *gone_ports; /* closed ports, freed at the same point */
	int pool_max;              /* idle ports kept: leave descriptors for the rest */
	int ndead;
	ht_engine *e;          /* while running */
	struct pollfd *pfd;
	int cap_pfd;
	int *start;            /* per trace polled: its first pollfd */
	int cap_start;
	int route_fd[2];       /* per family: the traces' route look-ups (-1: none yet) */
	struct mux_port *pool[2][2], *pool_tail[2][2]; /* [family][tcp], oldest first */
	int npool;
	uint64_t now;
};

static ht_io *family_io(const ht_io_mux *m, int family)
{
	return m->fam[family == AF_INET6];
}

int ht_io_mux_new(ht_io_mux **out, ht_io *v4, ht_io *v6)
{
	ht_io_mux *m = calloc(1, sizeof(*m));
	int rc, nshared = 0;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->fam[0] = v4;
	m->fam[1] = v6;
	m->route_fd[0] = m->route_fd[1] = -1;
	/* Idle kept ports must not take the descriptors that traces, name
	 * look-ups and unprivileged sockets need. */
	struct rlimit nofile;
	m->pool_max = MUX_POOL_MAX;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur / 4 < (rlim_t)m->pool_max)
		m->pool_max = (int)(nofile.rlim_cur / 4);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0) {
		rc = -errno;
		free(m);
		return rc;
	}
	if ((rc = ht_flowtab_new(&m->tab)) < 0) {
		ht_io_mux_free(m);
		return rc;
	}
	for (int i = 0; i < 2; i++) {
		ht_io *io = m->fam[i];
		if (!io)
			continue;
		if ((rc = ht_io_filters_open(io)) < 0) {
			ht_io_mux_free(m);
			return rc;
		}
		if (io->mode != HT_IO_RAW)
			continue;
		/* The family's raw receive sockets, read by the mux. */
		int fds[2] = {io->rx_icmp_fd, io->rx_tcp_fd == io->rx_icmp_fd ? -1 : io->rx_tcp_fd};
		for (int k = 0; k < 2; k++) {
			if (fds[k] < 0)
				continue;
			struct mux_fd *r = &m->shared[nshared++];
			*r = (struct mux_fd){.kind = MUX_SHARED, .fd = fds[k], .fam = i};
			struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};
			if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, r->fd, &ev) < 0) {
				rc = -errno;
				ht_io_mux_free(m);
				return rc;
			}
		}
	}
	*out = m;
	return 0;
}

/* ---- source ports kept between traces ---- */

/* Closed now, freed at the next safe point (reap): an event read in this
 * turn's epoll_wait may still point at it. */
static void port_close(ht_io_mux *m, struct mux_port *p)
{
	if (p->watched)
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, p->r.fd, NULL);
	close(p->r.fd);
	p->r.gone = true;
	p->next = m->gone_ports;
	m->gone_ports = p;
}

static void ports_free_gone(ht_io_mux *m)
{
	while (m->gone_ports) {
		struct mux_port *p = m->gone_ports;
		m->gone_ports = p->next;
		free(p);
	}
}

/* A port its trace no longer uses: into the pool, or closed. */
static void port_put(ht_io_mux *m, struct mux_port *p)
{
	p->r.t = NULL;
	if (p->nused >= MUX_PORT_USES || m->npool >= m->pool_max) {
		port_close(m, p);
		return;
	}
	int f = p->r.fam, k = p->tcp;
	p->next = NULL;
	if (m->pool_tail[f][k])
		m->pool_tail[f][k]->next = p;
	else
		m->pool[f][k] = p;
	m->pool_tail[f][k] = p;
	m->npool++;
}

/* A kept port that never served dst: the oldest of the first few. */
static struct mux_port *port_take(ht_io_mux *m, int f, bool tcp, const ht_addr *dst)
{
	struct mux_port **pp = &m->pool[f][tcp], *prev = NULL;

	for (int look = 0; *pp && look < 4; look++) {
		struct mux_port *p = *pp;
		bool served = false;
		for (int i = 0; i < p->nused && !served; i++)
			served = ht_addr_equal(&p->used[i], dst);
		if (!served) {
			*pp = p->next;
			if (m->pool_tail[f][tcp] == p)
				m->pool_tail[f][tcp] = prev;
			m->npool--;
			return p;
		}
		prev = p;
		pp = &p->next;
	}
	return NULL;
}

static void pool_clear(ht_io_mux *m)
{
	for (int f = 0; f < 2; f++)
		for (int k = 0; k < 2; k++) {
			while (m->pool[f][k]) {
				struct mux_port *p = m->pool[f][k];
				m->pool[f][k] = p->next;
				port_close(m, p);
			}
			m->pool_tail[f][k] = NULL;
		}
	m->npool = 0;
}

/* Whether a trace's source port can be kept and taken over: raw sockets,
 * one port (UDP; TCP classic or with one query column), none asked for. */
static bool port_keepable(const ht_io *parent, const struct ht_config *cfg)
{
	if (parent->mode != HT_IO_RAW || cfg->sport || cfg->method == HT_METHOD_ICMP)
		return false;
	return cfg->method == HT_METHOD_UDP || cfg->classic || cfg->nqueries <= 1;
}

/* The trace took its port p over (or, p NULL, reserved one of its own):
 * it is the trace's, and kept for later ones when it ends. */
static void port_own(ht_io_mux *m, struct ht_io_trace *t, struct mux_port *p)
{
	if (!p) {
		if (!(p = calloc(1, sizeof(*p))))
			return; /* closed with the trace, as if never kept */
		p->r = (struct mux_fd){.kind = MUX_PORT, .fd = t->io.reserve_fd,
		                       .fam = t->io.family == AF_INET6};
		p->port = t->io.flow.sport;
		p->tcp = t->io.flow.method == HT_METHOD_TCP;
		if (!p->tcp) {
			struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->r};
			if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, p->r.fd, &ev) < 0) {
				free(p);
				return;
			}
			p->watched = true;
		}
	}
	p->r.t = t;
	p->used[p->nused++] = t->io.cfg.dst;
	t->port = p;
}

/* Take the trace's port back before its sockets are closed. */
static void port_release(ht_io_mux *m, struct ht_io_trace *t)
{
	if (!t->port)
		return;
	if (t->io.reserve_fd == t->port->r.fd)
		t->io.reserve_fd = -1;
	port_put(m, t->port);
	t->port = NULL;
}

static void trace_unwatch(struct ht_io_trace *t)
{
	for (int k = 0; k < t->nreg; k++)
		epoll_ctl(t->mux->epfd, EPOLL_CTL_DEL, t->reg[k].fd, NULL);
	t->nreg = 0;
}

static void trace_free(struct ht_io_trace *t)
{
	port_release(t->mux, t);
	trace_unwatch(t);
	ht_io_child_close(&t->io);
	free(t->keys);
	free(t);
}

/* Free the traces closed since the last call (between reads only). */
static void reap(ht_io_mux *m)
{
	while (m->dead) {
		struct ht_io_trace *t = m->dead;
		m->dead = t->next_dead;
		m->tr[t->index] = m->tr[--m->ntr];
		m->tr[t->index]->index = t->index;
		if (t->turn_index >= 0) {
			m->turn[t->turn_index] = m->turn[--m->nturn];
			m->turn[t->turn_index]->turn_index = t->turn_index;
		}
		trace_free(t);
	}
	m->ndead = 0;
	ports_free_gone(m);
}

void ht_io_mux_free(ht_io_mux *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->ntr; i++)
		trace_free(m->tr[i]);
	free(m->tr);
	free(m->turn);
	free(m->pfd);
	free(m->start);
	pool_clear(m);
	ports_free_gone(m);
	for (int f = 0; f < 2; f++)
		if (m->route_fd[f] >= 0)
			close(m->route_fd[f]);
	if (m->epfd >= 0)
		close(m->epfd);
	ht_flowtab_free(m->tab);
	free(m);
}

/* Where the mux watches a new trace's sockets: those of a backend that
 * keeps them for the trace's life go into the epoll set once; the others
 * are polled each turn. */
static int trace_watch(ht_io_mux *m, struct ht_io_trace *t)
{
	t->turn_index = -1;
	t->nreg = 0;
	if (!t->io.be->fixed_fds) {
		if (m->nturn == m->cap_turn) {
			int ncap = m->cap_turn ? m->cap_turn * 2 : 64;
			struct ht_io_trace **n = realloc(m->turn, (size_t)ncap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			m->turn = n;
			m->cap_turn = ncap;
		}
		t->turn_index = m->nturn;
		m->turn[m->nturn++] = t;
		return 0;
	}
	struct pollfd pfd[MUX_FIXED_MAX];
	int n = t->io.be->pollfds(&t->io, pfd, MUX_FIXED_MAX);
	for (int k = 0; k < n; k++) {
		/* Its kept port is watched already. */
		if (t->port && t->port->watched && pfd[k].fd == t->port->r.fd)
			continue;
		struct mux_fd *r = &t->reg[t->nreg];
		*r = (struct mux_fd){.kind = MUX_TRACE, .t = t, .fd = pfd[k].fd};
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = r};
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, r->fd, &ev) < 0) {
			int rc = -errno;
			trace_unwatch(t);
			return rc;
		}
		t->nreg++;
	}
	return 0;
}

int ht_io_trace_open(ht_io_mux *m, const struct ht_config *cfg, ht_io_trace **out, char *err,
                     size_t errlen)
{
	ht_io *parent = family_io(m, cfg->dst.family);
	struct ht_io_trace *t;
	int nprobes = (cfg->max_ttl - cfg->first_ttl + 1) * cfg->nqueries, rc = 0;
	/* Keys: one per source port (classic TCP: one per probe), else at
	 * most one per query column. */
	int maxkeys = cfg->method == HT_METHOD_TCP && cfg->classic ? nprobes : HT_MAX_QUERIES;

	*out = NULL;
	if (!parent) {
		ht_io_errf(err, errlen, "no %s sockets were opened for this batch",
		           cfg->dst.family == AF_INET6 ? "IPv6" : "IPv4");
		return -EAFNOSUPPORT;
	}
	if (m->ntr == m->cap) {
		int ncap = m->cap ? m->cap * 2 : 64;
		struct ht_io_trace **n = realloc(m->tr, (size_t)ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		m->tr = n;
		m->cap = ncap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->keys = calloc((size_t)maxkeys, sizeof(*t->keys));
	if (!t->keys) {
		free(t);
		return -ENOMEM;
	}
	int f = cfg->dst.family == AF_INET6;
	bool keep = port_keepable(parent, cfg);
	struct mux_port *kept = keep ? port_take(m, f, cfg->method == HT_METHOD_TCP, &cfg->dst)
	                             : NULL;
	/* A flow key already taken (two traces to one destination whose
	 * random echo ids met): draw again. */
	bool opened = false;
	for (int tries = 0; tries < 8; tries++) {
		struct ht_io_port adopt = {kept ? kept->r.fd : -1, kept ? kept->port : 0};
		rc = ht_io_child_open(parent, cfg, &t->io, &m->route_fd[f], kept ? &adopt : NULL,
		                      err, errlen);
		if ((rc == -EMFILE || rc == -ENFILE) && m->npool) {
			/* The kept ports are in the way: close them, try again. */
			pool_clear(m);
			continue;
		}
		if (rc < 0)
			break;
		opened = true;
		if (kept && t->io.reserve_fd != kept->r.fd) {
			port_put(m, kept);
			kept = NULL;
		}
		if (keep && t->io.reserve_fd >= 0) {
			port_own(m, t, kept);
			kept = NULL;
		}
		t->nkeys = ht_flow_keys(&t->io.flow, nprobes, t->keys, maxkeys);
		rc = t->nkeys < 0 ? t->nkeys : 0;
		for (int i = 0; rc == 0 && i < t->nkeys; i++) {
			rc = ht_flowtab_add(m->tab, &t->keys[i], t);
			if (rc < 0)
				while (i-- > 0)
					ht_flowtab_del(m->tab, &t->keys[i]);
		}
		if (rc != -EEXIST)
			break;
		port_release(m, t);
		ht_io_child_close(&t->io);
		opened = false;
	}
	if (kept)
		port_put(m, kept);
	if (rc < 0) {
		if (rc == -EEXIST)
			ht_io_errf(err, errlen, "its flow is in use by another trace of this batch");
		/* Opened, then its flow keys failed: its port and sockets go
		 * too, or the port would stay watched for a trace freed here. */
		if (opened) {
			port_release(m, t);
			ht_io_child_close(&t->io);
		}
		free(t->keys);
		free(t);
		return rc;
	}
	t->mux = m;
	if ((rc = trace_watch(m, t)) < 0) {
		ht_io_errf(err, errlen, "cannot watch its sockets: %s", strerror(-rc));
		for (int i = 0; i < t->nkeys; i++)
			ht_flowtab_del(m->tab, &t->keys[i]);
		port_release(m, t);
		ht_io_child_close(&t->io);
		free(t->keys);
		free(t);
		return rc;
	}
	t->index = m->ntr;
	m->tr[m->ntr++] = t;
	*out = t;
	return 0;
}

void ht_io_trace_bind(ht_io_trace *t, uint32_t id)
{
	t->id = id;
}

void ht_io_trace_close(ht_io_trace *t)
{
	if (!t || t->dead)
		return;
	for (int i = 0; i < t->nkeys; i++)
		ht_flowtab_del(t->mux->tab, &t->keys[i]);
	t->dead = true;
	t->next_dead = t->mux->dead;
	t->mux->dead = t;
	t->mux->ndead++;
}

const struct ht_flow *ht_io_trace_flow(const ht_io_trace *t)
{
	return &t->io.flow;
}

void *ht_io_trace_ctx(ht_io_trace *t)
{
	return &t->io;
}

static void to_engine(void *u, const struct ht_reply *r)
{
	struct ht_io_trace *t = u;

	if (!t || t->dead || !t->id)
		return;
	ht_engine_input(t->mux->e, t->id, r, t->mux->now);
}

static const struct ht_flow *route_key(void *ru, const struct ht_rx *rx, void **cb_u)
{
	ht_io_mux *m = ru;
	struct ht_flow_key k;
	struct ht_io_trace *t;

	if (ht_rx_flow_key(rx, &k) < 0)
		return NULL;
	t = ht_flowtab_get(m->tab, &k);
	if (!t)
		return NULL;
	*cb_u = t;
	return &t->io.flow;
}

static int want_pfd(ht_io_mux *m, int n)
{
	if (n <= m->cap_pfd)
		return 0;
	struct pollfd *p = realloc(m->pfd, (size_t)n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	m->pfd = p;
	m->cap_pfd = n;
	return 0;
}

/* Sockets a trace polls each turn (its backend says which: without raw
 * sockets all of them). */
static int trace_pollfds(struct ht_io_trace *t, struct pollfd *pfd, int max)
{
	return t->io.be->pollfds(&t->io, pfd, max);
}

static int trace_maxfds(const struct ht_io_trace *t)
{
	return t->io.mode == HT_IO_UNPRIV ? 8 + t->io.cap_ps : 1;
}

/* Read what the epoll set says is ready: the families' shared sockets,
 * the traces' sockets of their own. At most MUX_EVENTS sockets a turn; the
 * set is level-triggered, so what is left is reported again next turn. */
static int read_epoll(ht_io_mux *m, int budget)
{
	struct epoll_event ev[MUX_EVENTS];
	int n = epoll_wait(m->epfd, ev, MUX_EVENTS, 0);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct mux_fd *r = ev[i].data.ptr;
		if (r->gone)
			continue;
		if (r->kind == MUX_PORT && !r->t) {
			/* A kept port between traces: nobody's. */
			ht_io_flush_socket(r->fd);
			continue;
		}
		if (r->kind == MUX_SHARED) {
			ht_io *io = m->fam[r->fam];
			bool icmp = r->fd == io->rx_icmp_fd, v6 = r->fam == 1;
			enum ht_rx_kind kind = icmp ? (v6 ? HT_RX_ICMP6 : HT_RX_ICMP4)
			                            : (v6 ? HT_RX_TCP6 : HT_RX_TCP4);
			ht_io_drain_raw_routed(io, r->fd, kind, budget, route_key, m, to_engine, NULL);
			continue;
		}
		/* Closed by a reply read before (freed only after this turn). */
		if (r->t->dead)
			continue;
		/* EPOLLIN, EPOLLERR, EPOLLHUP are POLLIN, POLLERR, POLLHUP. */
		struct pollfd p = {.fd = r->fd, .events = POLLIN, .revents = (short)ev[i].events};
		ht_io_drain(&r->t->io, &p, 1, budget, to_engine, r->t);
	}
	return 0;
}

int ht_io_mux_run(ht_io_mux *m, ht_engine *e, const struct ht_io_watch *w,
                  bool (*more)(void *u), void *u)
{
	int rc = 0;

	m->e = e;
	for (;;) {
		uint64_t now = ht_now_us(), deadline;
		int n = 0, nw = 0, need = 1 + 64 + 4, *start, pending = 0;

		reap(m);
		ht_engine_tick(e, now);
		reap(m);
		if (!ht_engine_active(e) && !(more && more(u)))
			break;
		for (int i = 0; i < m->nturn; i++) {
			need += trace_maxfds(m->turn[i]);
			if (m->turn[i]->io.be->expire)
				m->turn[i]->io.be->expire(&m->turn[i]->io, now);
		}
		if ((rc = want_pfd(m, need)) < 0)
			break;
		if (m->nturn + 1 > m->cap_start) {
			int *ns = realloc(m->start, (size_t)(m->nturn + 1) * 2 * sizeof(*ns));
			if (!ns) {
				rc = -ENOMEM;
				break;
			}
			m->start = ns;
			m->cap_start = (m->nturn + 1) * 2;
		}
		start = m->start;
		/* The epoll set first, then the sockets of each trace polled
		 * each turn. */
		m->pfd[n++] = (struct pollfd){.fd = m->epfd, .events = POLLIN};
		int npolled = m->nturn;
		/* Traces opened from here on (by the watch, or from an event
		 * callback while replies are read) wait for the next turn. */
		for (int i = 0; i < npolled; i++) {
			start[i] = n;
			n += trace_pollfds(m->turn[i], m->pfd + n, need - 64 - n);
			pending |= m->turn[i]->io.npending > 0;
		}
		start[npolled] = n;
		deadline = ht_engine_next_wakeup(e);
		if (w && w->collect) {
			nw = w->collect(w->u, m->pfd + n, need - n, &deadline);
			if (nw < 0)
				nw = 0;
			/* collect() may have started traces: they are due now. */
			uint64_t again = ht_engine_next_wakeup(e);
			if (again < deadline)
				deadline = again;
		}
		now = ht_now_us();
		/* A paced probe due within the spin window: read only a batch
		 * per socket this turn, so that a flood of replies cannot hold
		 * the next probe back for long. Without a pace (--pps 0) a
		 * probe is always due: a batch per turn would read fewer
		 * replies than the turn sends, and the socket would overflow. */
		bool paced = ht_engine_budget(e)->pps != 0;
		int budget = paced && deadline < now + MUX_SPIN_US ? HT_IO_BATCH : MUX_BUDGET;
		if (pending)
			deadline = now;
		struct timespec ts = {0}, *tsp = NULL;
		if (deadline != UINT64_MAX) {
			uint64_t d = deadline > now ? deadline - now : 0;
			/* A paced probe due in a few microseconds: look at the
			 * sockets and come back, rather than oversleep. */
			if (d < MUX_SPIN_US)
				d = 0;
			ts.tv_sec = (time_t)(d / 1000000u);
			ts.tv_nsec = (long)(d % 1000000u) * 1000;
			tsp = &ts;
		}
		int pr = ppoll(m->pfd, (nfds_t)(n + nw), tsp, NULL);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		m->now = ht_now_us();
		if (pr > 0 && m->pfd[0].revents && (rc = read_epoll(m, budget)) < 0)
			break;
		if (pr > 0 || pending) {
			/* Closed traces stay in place until reap(): index i is
			 * still the trace polled at start[i]. */
			for (int i = 0; i < npolled; i++) {
				struct ht_io_trace *t = m->turn[i];
				if (t->dead)
					continue;
				if (start[i + 1] > start[i] || t->io.npending)
					ht_io_drain(&t->io, m->pfd + start[i], start[i + 1] - start[i],
					            budget, to_engine, t);
			}
		}
		reap(m);
		if (w && w->process)
			w->process(w->u, m->pfd + n, nw, ht_now_us());
	}
	m->e = NULL;
	return rc;
}

size_t ht_io_mux_traces(const ht_io_mux *m)
{
	return (size_t)(m->ntr - m->ndead);
}

void ht_io_mux_stats(const ht_io_mux *m, struct ht_io_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int f = 0; f < 2; f++) {
		if (!m->fam[f])
			continue;
		st->rx_packets += m->fam[f]->stats.rx_packets;
		st->rx_matched += m->fam[f]->stats.rx_matched;
		st->rx_unmatched += m->fam[f]->stats.rx_unmatched;
		st->rx_malformed += m->fam[f]->stats.rx_malformed;
	}
}
