/*
 * Asynchronous name resolution with c-ares. See dns.h for the contract.
 */
#include "dns.h"

#include "io/io.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum ent_state {
	ENT_PENDING = 0,
	ENT_OK,
	ENT_FAILED,
};

/* One cached address. Allocated on its own and never moved, so its name
 * stays where it is until the entry is evicted or the resolver freed. */
struct ent {
	struct ent *hnext;        /* next in its hash bucket */
	struct ent *older, *newer; /* the recency list (every entry) */
	ht_addr a;
	enum ent_state state;
	char name[HT_DNS_NAME_MAX + 1];
};

/* Buckets of the hash table (a power of two): the default bound gives
 * chains of one entry on average. */
#define HT_DNS_BUCKETS 4096

struct ht_dns {
	ares_channel ch;
	/* The PTR cache: a hash table with a keyed hash (hop addresses come
	 * from the network), and a list from least to most recently
	 * requested for eviction. */
	struct ent **buckets;
	uint64_t hash_key;
	struct ent *oldest, *newest;
	size_t nents, max_ents;
	int pending;  /* PTR lookups in flight */
	bool freeing; /* ares_destroy() is running our callbacks */
	ht_dns_done_fn done_cb;
	void *done_u;

	/* The hold queue: a growing array consumed from qhead. */
	const struct ht_hop **q;
	int qhead, qlen, qcap;
	ht_dns_emit_fn emit;
	void *emit_u;
	bool hold_on;
	uint64_t budget_left;   /* microseconds the head may still be held */
	uint64_t blocked_since; /* when the current head started waiting; 0 none */
};

/* One PTR query in flight. Owned by c-ares until its callback runs. */
struct ptr_q {
	ht_dns *d;
	ht_addr a;
};

/* The dns module keeps its own clock so that it does not need hoptrace_io
 * (the unit tests link it alone); it is the same clock as ht_now_us(). */
static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int lib_refs;

int ht_dns_new(ht_dns **out)
{
	*out = NULL;
	if (lib_refs++ == 0 && ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		lib_refs--;
		return -ENOMEM;
	}
	ht_dns *d = calloc(1, sizeof(*d));
	if (!d)
		goto fail;
	d->buckets = calloc(HT_DNS_BUCKETS, sizeof(*d->buckets));
	if (!d->buckets)
		goto fail;
	d->max_ents = HT_DNS_CACHE_MAX;
	if (getrandom(&d->hash_key, sizeof(d->hash_key), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(d->hash_key))
		d->hash_key = mono_us() ^ (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)d;
	struct ares_options o;
	memset(&o, 0, sizeof(o));
	/* A trace is over in a second or two; the c-ares defaults (5 s, four
	 * tries per server) would keep names pending long after it. */
	o.timeout = 1500;
	o.tries = 2;
	int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	if (ares_init_options(&d->ch, &o, mask) != ARES_SUCCESS)
		goto fail;
	*out = d;
	return 0;
fail:
	if (d)
		free(d->buckets);
	free(d);
	if (--lib_refs == 0)
		ares_library_cleanup();
	return -ENOMEM;
}

void ht_dns_free(ht_dns *d)
{
	if (!d)
		return;
	d->freeing = true;
	/* Runs every pending callback with ARES_EDESTRUCTION; they free their
	 * query contexts and touch nothing else. */
	ares_destroy(d->ch);
	for (struct ent *e = d->oldest, *next; e; e = next) {
		next = e->newer;
		free(e);
	}
	free(d->buckets);
	free(d->q);
	free(d);
	if (--lib_refs == 0)
		ares_library_cleanup();
}

int ht_dns_set_servers(ht_dns *d, const char *csv)
{
	return ares_set_servers_ports_csv(d->ch, csv) == ARES_SUCCESS ? 0 : -EINVAL;
}

int ht_dns_set_timeout(ht_dns *d, int timeout_ms, int tries)
{
	if (timeout_ms <= 0 || tries <= 0)
		return -EINVAL;
	/* c-ares cannot change options of a live channel: build a new one
	 * with the same servers. Only allowed while nothing is pending. */
	if (d->pending)
		return -EBUSY;
	struct ares_addr_port_node *servers = NULL;
	if (ares_get_servers_ports(d->ch, &servers) != ARES_SUCCESS)
		return -ENOMEM;
	struct ares_options o;
	memset(&o, 0, sizeof(o));
	o.timeout = timeout_ms;
	o.tries = tries;
	ares_channel ch;
	if (ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
		ares_free_data(servers);
		return -ENOMEM;
	}
	int rc = ares_set_servers_ports(ch, servers);
	ares_free_data(servers);
	if (rc != ARES_SUCCESS) {
		ares_destroy(ch);
		return -ENOMEM;
	}
	ares_destroy(d->ch);
	d->ch = ch;
	return 0;
}

size_t ht_dns_clean_name(char *dst, size_t dstlen, const char *src)
{
	if (dstlen == 0)
		return 0;
	size_t cap = dstlen < HT_DNS_NAME_MAX + 1 ? dstlen : HT_DNS_NAME_MAX + 1;
	size_t n = strnlen(src, HT_DNS_NAME_MAX);
	size_t w = ht_sanitize(dst, cap, src, n);
	if (w >= cap)
		w = cap - 1;
	dst[w] = '\0';
	return w;
}

/* ---- Forward lookup of the target ---- */

struct fwd_q {
	bool done, abandoned;
	int status;
	int family;
	ht_addr addr;
};

static void fwd_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	(void)timeouts;
	struct fwd_q *q = arg;
	if (q->abandoned) {
		free(q);
		ares_freeaddrinfo(res);
		return;
	}
	q->done = true;
	q->status = status;
	if (status == ARES_SUCCESS && res) {
		q->status = ARES_ENODATA;
		for (struct ares_addrinfo_node *n = res->nodes; n; n = n->ai_next) {
			if (q->family != AF_UNSPEC && n->ai_family != q->family)
				continue;
			if (n->ai_family == AF_INET) {
				const struct sockaddr_in *s = (const void *)n->ai_addr;
				q->addr.family = AF_INET;
				q->addr.u.v4 = s->sin_addr;
			} else if (n->ai_family == AF_INET6) {
				const struct sockaddr_in6 *s = (const void *)n->ai_addr;
				q->addr.family = AF_INET6;
				q->addr.u.v6 = s->sin6_addr;
			} else {
				continue;
			}
			q->status = ARES_SUCCESS;
			break;
		}
	}
	ares_freeaddrinfo(res);
}

static const char *fam_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

/* Poll the resolver's sockets once, for at most until `until`. */
static void run_once(ht_dns *d, uint64_t until)
{
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	uint64_t deadline = until;
	int n = ht_dns_collect(d, pfd, ARES_GETSOCK_MAXNUM, &deadline);
	uint64_t now = mono_us();
	int ms = deadline > now ? (int)((deadline - now + 999) / 1000) : 0;
	if (poll(pfd, (nfds_t)n, ms) < 0 && errno != EINTR)
		n = 0;
	ht_dns_process(d, pfd, n, mono_us());
}

/* echo: whether messages name the host. */
static int resolve_host(ht_dns *d, const char *name, int family, ht_addr *out, char *err,
                        size_t errlen, int timeout_ms, bool echo)
{
	/* " 'name'" after "cannot resolve", or nothing. */
	char clean[HT_DNS_NAME_MAX + 1], shown[HT_DNS_NAME_MAX + 4] = "";
	if (echo) {
		ht_dns_clean_name(clean, sizeof(clean), name ? name : "");
		snprintf(shown, sizeof(shown), " '%s'", clean);
	}
	memset(out, 0, sizeof(*out));
	if (!name || !*name) {
		snprintf(err, errlen, "cannot resolve%s: empty host name", shown);
		return -EINVAL;
	}
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) {
		snprintf(err, errlen, "cannot resolve%s: bad address family", shown);
		return -EINVAL;
	}

	/* A numeric address of the other family is a usage error, not
	 * something to send to a DNS server. */
	struct in6_addr tmp;
	int numfam = inet_pton(AF_INET, name, &tmp) == 1    ? AF_INET
	             : inet_pton(AF_INET6, name, &tmp) == 1 ? AF_INET6
	                                                    : 0;
	if (numfam && family != AF_UNSPEC && numfam != family) {
		if (echo)
			snprintf(err, errlen, "'%s' is an %s address, but %s was asked for", clean,
			         fam_name(numfam), family == AF_INET6 ? "-6" : "-4");
		else
			snprintf(err, errlen, "an %s address, but %s was asked for",
			         fam_name(numfam), family == AF_INET6 ? "-6" : "-4");
		return -EAFNOSUPPORT;
	}

	struct fwd_q *q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "cannot resolve%s: out of memory", shown);
		return -ENOMEM;
	}
	q->family = family;
	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_flags = numfam ? ARES_AI_NUMERICHOST : 0;
	ares_getaddrinfo(d->ch, name, NULL, &hints, fwd_cb, q);

	uint64_t until =
	        mono_us() +
	        (uint64_t)(timeout_ms > 0 ? timeout_ms : HT_DNS_RESOLVE_TIMEOUT_MS) * 1000u;
	while (!q->done && mono_us() < until)
		run_once(d, until);
	if (!q->done) {
		/* Leave the query to c-ares; its callback frees q. */
		q->abandoned = true;
		snprintf(err, errlen, "cannot resolve%s: timed out", shown);
		return -ETIMEDOUT;
	}

	int status = q->status, rc;
	*out = q->addr;
	free(q);
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENODATA:
		if (family != AF_UNSPEC)
			snprintf(err, errlen, "cannot resolve%s: no %s address", shown,
			         fam_name(family));
		else
			snprintf(err, errlen, "cannot resolve%s: no address", shown);
		return -EAFNOSUPPORT;
	case ARES_ENOTFOUND:
	case ARES_ENONAME:
		rc = -ENOENT;
		break;
	case ARES_ETIMEOUT:
		rc = -ETIMEDOUT;
		break;
	case ARES_ENOMEM:
		rc = -ENOMEM;
		break;
	default:
		rc = -EIO;
		break;
	}
	snprintf(err, errlen, "cannot resolve%s: %s", shown, ares_strerror(status));
	return rc;
}

int ht_dns_resolve_host(ht_dns *d, const char *name, int family, ht_addr *out, char *err,
                        size_t errlen, int timeout_ms)
{
	return resolve_host(d, name, family, out, err, errlen, timeout_ms, true);
}

int ht_dns_resolve_host_noecho(ht_dns *d, const char *name, int family, ht_addr *out,
                               char *err, size_t errlen, int timeout_ms)
{
	return resolve_host(d, name, family, out, err, errlen, timeout_ms, false);
}

/* ---- Reverse lookups ---- */

static bool addr_eq(const ht_addr *x, const ht_addr *y)
{
	if (x->family != y->family)
		return false;
	if (x->family == AF_INET)
		return x->u.v4.s_addr == y->u.v4.s_addr;
	return memcmp(&x->u.v6, &y->u.v6, sizeof(x->u.v6)) == 0;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebu;
	return x ^ x >> 31;
}

static struct ent **bucket(const ht_dns *d, const ht_addr *a)
{
	uint64_t h = mix64(d->hash_key ^ (uint64_t)(unsigned)a->family);
	if (a->family == AF_INET) {
		h = mix64(h ^ a->u.v4.s_addr);
	} else {
		uint64_t w[2];
		memcpy(w, &a->u.v6, sizeof(w));
		h = mix64(mix64(h ^ w[0]) ^ w[1]);
	}
	return &d->buckets[h & (HT_DNS_BUCKETS - 1)];
}

static struct ent *find(const ht_dns *d, const ht_addr *a)
{
	for (struct ent *e = *bucket(d, a); e; e = e->hnext)
		if (addr_eq(&e->a, a))
			return e;
	return NULL;
}

static void recency_unlink(ht_dns *d, struct ent *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		d->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		d->newest = e->older;
	e->older = e->newer = NULL;
}

static void recency_push(ht_dns *d, struct ent *e)
{
	e->older = d->newest;
	e->newer = NULL;
	if (d->newest)
		d->newest->newer = e;
	else
		d->oldest = e;
	d->newest = e;
}

/* Drop the least recently requested entry whose lookup is not in
 * flight; false when every entry is in flight. */
static bool evict_one(ht_dns *d)
{
	struct ent *e = d->oldest;
	while (e && e->state == ENT_PENDING)
		e = e->newer;
	if (!e)
		return false;
	struct ent **pp = bucket(d, &e->a);
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	recency_unlink(d, e);
	free(e);
	d->nents--;
	return true;
}

static void ptr_cb(void *arg, int status, int timeouts, struct hostent *he)
{
	(void)timeouts;
	struct ptr_q *q = arg;
	ht_dns *d = q->d;
	if (d->freeing) {
		free(q);
		return;
	}
	struct ent *e = find(d, &q->a);
	free(q);
	if (!e || e->state != ENT_PENDING)
		return;
	d->pending--;
	e->state = ENT_FAILED;
	if (status == ARES_SUCCESS && he && he->h_name &&
	    ht_dns_clean_name(e->name, sizeof(e->name), he->h_name) > 0)
		e->state = ENT_OK;
	if (d->done_cb)
		d->done_cb(d->done_u, &e->a, e->state == ENT_OK ? e->name : NULL);
}

int ht_dns_ptr_request(ht_dns *d, const ht_addr *a)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return -EINVAL;
	struct ent *e = find(d, a);
	if (e) {
		/* Asked for again: the most recently requested now. */
		recency_unlink(d, e);
		recency_push(d, e);
		return 0;
	}
	if (d->nents >= d->max_ents && !evict_one(d))
		return -ENOBUFS;
	struct ptr_q *q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(q);
		return -ENOMEM;
	}
	q->d = d;
	q->a = *a;
	e->a = *a;
	e->state = ENT_PENDING;
	struct ent **b = bucket(d, a);
	e->hnext = *b;
	*b = e;
	recency_push(d, e);
	d->nents++;
	d->pending++;
	/* The callback may run before this returns (for /etc/hosts hits or
	 * immediate failures), which is why the entry exists first. */
	if (a->family == AF_INET)
		ares_gethostbyaddr(d->ch, &a->u.v4, sizeof(a->u.v4), AF_INET, ptr_cb, q);
	else
		ares_gethostbyaddr(d->ch, &a->u.v6, sizeof(a->u.v6), AF_INET6, ptr_cb, q);
	return 0;
}

const char *ht_dns_ptr_lookup(const ht_dns *d, const ht_addr *a)
{
	const struct ent *e = find(d, a);
	return e && e->state == ENT_OK ? e->name : NULL;
}

const char *ht_dns_name_cb(void *d, const ht_addr *a)
{
	return ht_dns_ptr_lookup(d, a);
}

bool ht_dns_ptr_is_pending(const ht_dns *d, const ht_addr *a)
{
	const struct ent *e = find(d, a);
	return e && e->state == ENT_PENDING;
}

int ht_dns_ptr_pending(const ht_dns *d)
{
	return d->pending;
}

size_t ht_dns_cache_size(const ht_dns *d)
{
	return d->nents;
}

int ht_dns_set_cache_max(ht_dns *d, size_t max)
{
	if (max < 1)
		return -EINVAL;
	d->max_ents = max;
	while (d->nents > d->max_ents && evict_one(d))
		;
	return 0;
}

void ht_dns_request_hop(ht_dns *d, const struct ht_hop *h)
{
	for (int i = 0; i < h->nprobes; i++)
		if (h->probes[i].state == HT_PROBE_REPLIED)
			ht_dns_ptr_request(d, &h->probes[i].reply.from);
}

bool ht_dns_hop_ready(const ht_dns *d, const struct ht_hop *h)
{
	for (int i = 0; i < h->nprobes; i++)
		if (h->probes[i].state == HT_PROBE_REPLIED &&
		    ht_dns_ptr_is_pending(d, &h->probes[i].reply.from))
			return false;
	return true;
}

void ht_dns_on_done(ht_dns *d, ht_dns_done_fn cb, void *u)
{
	d->done_cb = cb;
	d->done_u = u;
}

/* ---- Hold queue ---- */

static void hold_release(ht_dns *d, uint64_t now, bool force)
{
	while (d->hold_on && d->qhead < d->qlen) {
		const struct ht_hop *h = d->q[d->qhead];
		if (!force && d->budget_left > 0 && !ht_dns_hop_ready(d, h)) {
			if (!d->blocked_since)
				d->blocked_since = now ? now : 1;
			if (now - d->blocked_since < d->budget_left)
				return;
		}
		if (d->blocked_since) {
			uint64_t spent = now > d->blocked_since ? now - d->blocked_since : 0;
			d->budget_left = spent < d->budget_left ? d->budget_left - spent : 0;
			d->blocked_since = 0;
		}
		d->qhead++;
		d->emit(d->emit_u, h);
	}
	if (d->qhead == d->qlen)
		d->qhead = d->qlen = 0;
}

static uint64_t hold_deadline(const ht_dns *d)
{
	if (!d->hold_on || d->qhead == d->qlen || !d->blocked_since)
		return UINT64_MAX;
	return d->blocked_since + d->budget_left;
}

int ht_dns_hold_init(ht_dns *d, uint64_t budget_us, ht_dns_emit_fn emit, void *u)
{
	if (!emit)
		return -EINVAL;
	d->emit = emit;
	d->emit_u = u;
	d->budget_left = budget_us ? budget_us : HT_DNS_HOLD_BUDGET_US;
	d->blocked_since = 0;
	d->qhead = d->qlen = 0;
	d->hold_on = true;
	return 0;
}

int ht_dns_hold_push(ht_dns *d, const struct ht_hop *h, uint64_t now_us)
{
	if (!d->hold_on)
		return -EINVAL;
	ht_dns_request_hop(d, h);
	if (d->qlen == d->qcap) {
		int ncap = d->qcap ? d->qcap * 2 : 32;
		const struct ht_hop **n = realloc(d->q, (size_t)ncap * sizeof(*n));
		if (!n) {
			/* Better an unnamed row than a lost one. */
			hold_release(d, now_us, true);
			d->emit(d->emit_u, h);
			return -ENOMEM;
		}
		d->q = n;
		d->qcap = ncap;
	}
	d->q[d->qlen++] = h;
	hold_release(d, now_us, false);
	return 0;
}

void ht_dns_hold_flush(ht_dns *d)
{
	if (!d->hold_on)
		return;
	uint64_t now = mono_us();
	hold_release(d, now, false);
	while (d->qhead < d->qlen) {
		uint64_t dl = hold_deadline(d);
		if (dl == UINT64_MAX || mono_us() >= dl)
			break;
		run_once(d, dl);
	}
	hold_release(d, mono_us(), true);
}

int ht_dns_held(const ht_dns *d)
{
	return d->qlen - d->qhead;
}

/* ---- Event loop ---- */

int ht_dns_collect(void *u, struct pollfd *pfd, int max, uint64_t *deadline)
{
	ht_dns *d = u;
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	unsigned bits = (unsigned)ares_getsock(d->ch, socks, ARES_GETSOCK_MAXNUM);
	int n = 0;
	for (int i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
		short ev = 0;
		/* The ARES_GETSOCK_* macros shift a signed 1 into the sign
		 * bit for the last socket; spell them out unsigned. */
		if (bits & (1u << i))
			ev |= POLLIN;
		if (bits & (1u << (i + ARES_GETSOCK_MAXNUM)))
			ev |= POLLOUT;
		if (!ev)
			continue;
		pfd[n].fd = socks[i];
		pfd[n].events = ev;
		pfd[n].revents = 0;
		n++;
	}
	struct timeval tv;
	if (ares_timeout(d->ch, NULL, &tv)) {
		uint64_t at = mono_us() + (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
		if (at < *deadline)
			*deadline = at;
	}
	uint64_t hd = hold_deadline(d);
	if (hd < *deadline)
		*deadline = hd;
	return n;
}

void ht_dns_process(void *u, const struct pollfd *pfd, int n, uint64_t now_us)
{
	ht_dns *d = u;
	for (int i = 0; i < n; i++) {
		ares_socket_t r = ARES_SOCKET_BAD, w = ARES_SOCKET_BAD;
		if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
			r = pfd[i].fd;
		if (pfd[i].revents & POLLOUT)
			w = pfd[i].fd;
		if (r != ARES_SOCKET_BAD || w != ARES_SOCKET_BAD)
			ares_process_fd(d->ch, r, w);
	}
	/* With no socket named, c-ares only handles expired timeouts. */
	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	hold_release(d, now_us, false);
}

void ht_dns_watch(ht_dns *d, struct ht_io_watch *w)
{
	w->collect = ht_dns_collect;
	w->process = ht_dns_process;
	w->u = d;
}

int ht_dns_wait(ht_dns *d, uint64_t deadline_us)
{
	while (d->pending > 0 && mono_us() < deadline_us)
		run_once(d, deadline_us);
	return d->pending;
}
