/*
 * Name resolution for the hoptrace program, built on c-ares.
 *
 *  - ht_dns_resolve_host(): blocking forward lookup of the target at
 *    startup (honours -4/-6 and /etc/hosts).
 *  - PTR lookups for hop addresses: asynchronous, deduplicated and cached.
 *    They run inside the probing event loop through ht_dns_watch(), so a
 *    slow or dead resolver never holds up probing. The cache is a hash
 *    table of at most HT_DNS_CACHE_MAX addresses (see ht_dns_ptr_lookup
 *    for how long a name stays valid).
 *  - A small "hold" queue for printers: hops are released strictly in TTL
 *    order as soon as their names are known, and the total time output
 *    is ever held back waiting for names is bounded per trace.
 *
 * Names from DNS (and /etc/hosts) are untrusted. Every name handed out by
 * this module has been passed through ht_sanitize() and capped at
 * HT_DNS_NAME_MAX bytes, so it holds no control bytes, no escape
 * sequences and no invalid UTF-8.
 *
 * Create the resolver after privileges are dropped: c-ares reads
 * LOCALDOMAIN, RES_OPTIONS and HOSTALIASES from the environment.
 */
#ifndef HT_SRC_DNS_H
#define HT_SRC_DNS_H

#include "hoptrace/hoptrace.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ht_io_watch;

/* Longest name handed out, in bytes, excluding the NUL. A DNS name in
 * text form is at most 253 bytes; sanitising may lengthen it. */
#define HT_DNS_NAME_MAX 253

/* Most addresses the PTR cache holds (looked up, failed or in flight).
 * More than one trace can have (255 hops x 10 probes). */
#define HT_DNS_CACHE_MAX 4096

/* Default bound on the blocking startup lookup. */
#define HT_DNS_RESOLVE_TIMEOUT_MS 5000

/* Default bound on how long a printer waits for names, per trace. */
#define HT_DNS_HOLD_BUDGET_US 1000000u

typedef struct ht_dns ht_dns;

/* Create a resolver using the system configuration (/etc/resolv.conf,
 * /etc/hosts). Returns 0 or a negative errno. */
int ht_dns_new(ht_dns **out);
/* Cancel pending lookups and free everything. NULL is a no-op. */
void ht_dns_free(ht_dns *d);

/* Use these servers instead of the system's, "ip:port,ip:port" or
 * "[ipv6]:port" (for tests and future options). Returns 0 or -EINVAL. */
int ht_dns_set_servers(ht_dns *d, const char *csv);
/* Per-try query timeout and number of tries for later lookups (c-ares
 * defaults are far longer than a trace). Returns 0 or a negative errno. */
int ht_dns_set_timeout(ht_dns *d, int timeout_ms, int tries);

/*
 * Resolve the target `name` (a host name or a numeric address) to one
 * address of `family` (AF_INET, AF_INET6 or AF_UNSPEC for either; the
 * first address in RFC 6724 order wins, like getaddrinfo). Blocks for at
 * most timeout_ms (<= 0: HT_DNS_RESOLVE_TIMEOUT_MS). On failure returns
 * a negative errno (-ENOENT not found, -ETIMEDOUT, -EAFNOSUPPORT no
 * address of that family, -EIO other) and writes one line into err,
 * without the program name, e.g.
 *   cannot resolve 'foo.invalid': Domain name not found
 * The name in the message is sanitised.
 */
int ht_dns_resolve_host(ht_dns *d, const char *name, int family, ht_addr *out, char *err,
                        size_t errlen, int timeout_ms);
/* The same, but no message shows the name ("cannot resolve: Domain name
 * not found"): for names read from a file, which may hold anything. */
int ht_dns_resolve_host_noecho(ht_dns *d, const char *name, int family, ht_addr *out,
                               char *err, size_t errlen, int timeout_ms);

/*
 * Start a reverse lookup of `a` unless one is cached or in flight; either
 * way `a` becomes the most recently requested address. When the cache
 * already holds HT_DNS_CACHE_MAX addresses, the least recently requested
 * one whose lookup is not in flight is evicted (its name freed) to make
 * room. Never blocks. Returns 0, or a negative errno (-EINVAL for a
 * family-0 address, -ENOBUFS when every cached lookup is in flight,
 * -ENOMEM).
 */
int ht_dns_ptr_request(ht_dns *d, const ht_addr *a);
/*
 * The sanitised name of `a` if its lookup succeeded; NULL if it failed,
 * is still pending, was never requested, or was evicted. Each cached
 * address is allocated on its own and never moved: the name stays valid,
 * unchanged and at the same address, until its entry is evicted or
 * ht_dns_free(). Only ht_dns_ptr_request() evicts (so also
 * ht_dns_request_hop() and ht_dns_hold_push()), and only once the cache
 * is full. Use a name before the next request, or copy it.
 */
const char *ht_dns_ptr_lookup(const ht_dns *d, const ht_addr *a);
/* ht_dns_ptr_lookup with a void * first argument, for callback tables
 * such as struct ht_json_opts.name_fn. */
const char *ht_dns_name_cb(void *d, const ht_addr *a);
/* True when a lookup for `a` was requested and has not finished. */
bool ht_dns_ptr_is_pending(const ht_dns *d, const ht_addr *a);
/* Number of lookups in flight. */
int ht_dns_ptr_pending(const ht_dns *d);
/* Number of addresses cached (at most the bound). */
size_t ht_dns_cache_size(const ht_dns *d);
/* Lower or raise the bound (default HT_DNS_CACHE_MAX, for tests);
 * evicts what no longer fits, except lookups in flight. 0 or -EINVAL. */
int ht_dns_set_cache_max(ht_dns *d, size_t max);

/* Request names for every replying probe of a hop (handy at PROBE_DONE
 * time too: pass a one-probe hop or call ht_dns_ptr_request directly). */
void ht_dns_request_hop(ht_dns *d, const struct ht_hop *h);
/* True when no replying probe of the hop has a lookup in flight. */
bool ht_dns_hop_ready(const ht_dns *d, const struct ht_hop *h);

/*
 * Called once per finished lookup (name NULL when it failed), from
 * inside ht_dns_process() / ht_dns_wait(). For example the JSON lines
 * writer turns it into a "name" event. Pass cb NULL to remove.
 */
typedef void (*ht_dns_done_fn)(void *u, const ht_addr *a, const char *name);
void ht_dns_on_done(ht_dns *d, ht_dns_done_fn cb, void *u);

/*
 * Event-loop hooks. ht_dns_collect() adds the resolver's sockets (at most
 * max) to pfd, returns how many, and lowers *deadline to the resolver's
 * next timeout (and the hold queue's deadline). ht_dns_process() handles
 * the pollfds collect() filled, expired timeouts and the hold queue.
 * ht_dns_watch() fills a struct ht_io_watch with both and d.
 */
int ht_dns_collect(void *d, struct pollfd *pfd, int max, uint64_t *deadline);
void ht_dns_process(void *d, const struct pollfd *pfd, int n, uint64_t now_us);
void ht_dns_watch(ht_dns *d, struct ht_io_watch *w);

/*
 * Run the resolver (poll on its own sockets) until no lookup is pending
 * or the monotonic deadline_us passes. Returns the number still pending.
 * For the end of a trace, when nothing else needs the event loop.
 */
int ht_dns_wait(ht_dns *d, uint64_t deadline_us);

/*
 * The hold queue. A printer that wants names calls ht_dns_hold_init()
 * once, then ht_dns_hold_push() for each HOP_DONE event (hops arrive in
 * TTL order). `emit` is called for each hop, strictly in push order,
 * as soon as the hop and every hop before it have their names ready, or
 * when the budget runs out. The budget is the total time, over the whole
 * trace, that the head of the queue may be held back waiting for names
 * (0: HT_DNS_HOLD_BUDGET_US). The hop pointers must stay valid until
 * emitted (the session's hops live until ht_session_free()).
 * ht_dns_hold_flush() waits for what is still held (within what is left
 * of the budget) and emits everything; call it after the trace is done.
 * Without a hold queue, or with -n, print at HOP_DONE directly.
 */
typedef void (*ht_dns_emit_fn)(void *u, const struct ht_hop *h);
int ht_dns_hold_init(ht_dns *d, uint64_t budget_us, ht_dns_emit_fn emit, void *u);
int ht_dns_hold_push(ht_dns *d, const struct ht_hop *h, uint64_t now_us);
void ht_dns_hold_flush(ht_dns *d);
/* Hops currently held. */
int ht_dns_held(const ht_dns *d);

/* Sanitise and cap a name the way the resolver does (exposed for tests).
 * Returns the length written. */
size_t ht_dns_clean_name(char *dst, size_t dstlen, const char *src);

#endif
