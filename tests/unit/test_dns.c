/*
 * Resolver (src/dns.c) against a fake DNS server on 127.0.0.1 that
 * answers with hostile names, answers slowly, or not at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- The fake server ---- */

/* One canned answer: qname (dotted, as the query spells it), type, and
 * the answer's labels (NULL: NXDOMAIN; "" label list: drop the query). */
struct answer {
	const char *qname;
	uint16_t qtype;
	const char *labels[8]; /* PTR: labels of the target name */
	uint8_t rdata[16];     /* A/AAAA */
	int rdlen;
	bool drop;
	int delay_ms;
};

#define T_A    1
#define T_PTR  12
#define T_AAAA 28

static const char long_label[] =
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 63 */

static const struct answer answers[] = {
        {.qname = "1.0.18.198.in-addr.arpa", .qtype = T_PTR, .labels = {"r1", "example", "net"}},
        /* An escape sequence in a name: c-ares 1.18 refuses such answers;
         * whatever it does, nothing unsafe may come out. */
        {.qname = "2.0.18.198.in-addr.arpa",
         .qtype = T_PTR,
         .labels = {"\x1b]0;owned\x07r2", "example"}},
        {.qname = "3.0.18.198.in-addr.arpa",
         .qtype = T_PTR,
         .labels = {"r3\xff\xfe\xc3(", "example"}},
        {.qname = "4.0.18.198.in-addr.arpa",
         .qtype = T_PTR,
         .labels = {long_label, long_label, long_label, long_label}},
        {.qname = "5.0.18.198.in-addr.arpa", .qtype = T_PTR, .drop = true},
        {.qname = "6.0.18.198.in-addr.arpa",
         .qtype = T_PTR,
         .labels = {"r6", "example"},
         .delay_ms = 150},
        {.qname = "7.0.18.198.in-addr.arpa", .qtype = T_PTR, .drop = true},
        {.qname = "8.0.18.198.in-addr.arpa",
         .qtype = T_PTR,
         .labels = {long_label, long_label, long_label,
                    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}},
        {.qname = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
         .qtype = T_PTR,
         .labels = {"v6", "example"}},
        {.qname = "host.test", .qtype = T_A, .rdata = {198, 18, 0, 9}, .rdlen = 4},
        {.qname = "host.test",
         .qtype = T_AAAA,
         .rdata = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9},
         .rdlen = 16},
        {.qname = "v4only.test", .qtype = T_A, .rdata = {198, 18, 0, 10}, .rdlen = 4},
        {.qname = "slow.test", .qtype = T_A, .drop = true},
};

struct server {
	int fd;
	uint16_t port;
	pthread_t th;
	atomic_bool stop;
	atomic_int queries;
};

static const struct answer *find_answer(const char *qname, uint16_t qtype, bool *name_known)
{
	*name_known = false;
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		if (strcasecmp(answers[i].qname, qname))
			continue;
		*name_known = true;
		if (answers[i].qtype == qtype)
			return &answers[i];
	}
	return NULL;
}

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static void *serve(void *arg)
{
	struct server *s = arg;
	uint8_t q[512], r[1024];
	while (!s->stop) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 17)
			continue;
		s->queries++;
		/* Question name, dotted. */
		char qname[256];
		size_t o = 12, qn = 0;
		while (o < (size_t)n && q[o] && qn < sizeof(qname) - 65) {
			size_t l = q[o++];
			if (qn)
				qname[qn++] = '.';
			memcpy(qname + qn, q + o, l);
			qn += l;
			o += l;
		}
		qname[qn] = '\0';
		o++; /* root label */
		if (o + 4 > (size_t)n)
			continue;
		uint16_t qtype = (uint16_t)(q[o] << 8 | q[o + 1]);
		size_t qend = o + 4;

		bool known;
		const struct answer *a = find_answer(qname, qtype, &known);
		/* "D.C.19.198.in-addr.arpa" (198.19.C.D): the name hC-D.example,
		 * made up on the spot, for tests that need thousands of names. */
		char gen_label[32];
		struct answer gen;
		unsigned gc, gd;
		int gend = 0;
		if (!a && qtype == T_PTR &&
		    sscanf(qname, "%u.%u.19.198.in-addr.arpa%n", &gd, &gc, &gend) == 2 &&
		    (size_t)gend == strlen(qname) && gc < 256 && gd < 256) {
			memset(&gen, 0, sizeof(gen));
			snprintf(gen_label, sizeof(gen_label), "h%u-%u", gc, gd);
			gen.qname = qname;
			gen.qtype = T_PTR;
			gen.labels[0] = gen_label;
			gen.labels[1] = "example";
			a = &gen;
			known = true;
		}
		if (a && a->drop)
			continue;
		if (a && a->delay_ms)
			usleep((useconds_t)a->delay_ms * 1000);

		memcpy(r, q, qend);
		/* QR, RD copied, RA; NXDOMAIN for unknown names, NODATA for
		 * known names without this type. */
		r[2] = 0x80 | (q[2] & 0x01);
		r[3] = 0x80 | (known ? 0 : 3);
		put16(r + 4, 1);
		put16(r + 6, a ? 1 : 0);
		put16(r + 8, 0);
		put16(r + 10, 0);
		size_t w = qend;
		if (a) {
			w += put16(r + w, 0xc00c);
			w += put16(r + w, qtype);
			w += put16(r + w, 1);
			w += put16(r + w, 0);
			w += put16(r + w, 60);
			size_t rdl = w;
			w += 2;
			if (qtype == T_PTR) {
				for (int i = 0; a->labels[i]; i++) {
					size_t l = strlen(a->labels[i]);
					r[w++] = (uint8_t)l;
					memcpy(r + w, a->labels[i], l);
					w += l;
				}
				r[w++] = 0;
			} else {
				memcpy(r + w, a->rdata, (size_t)a->rdlen);
				w += (size_t)a->rdlen;
			}
			put16(r + rdl, (uint16_t)(w - rdl - 2));
		}
		sendto(s->fd, r, w, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static int server_setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s->fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	getsockname(s->fd, (struct sockaddr *)&sa, &sl);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
	*state = s;
	return 0;
}

static int server_teardown(void **state)
{
	struct server *s = *state;
	s->stop = true;
	pthread_join(s->th, NULL);
	close(s->fd);
	free(s);
	return 0;
}

static ht_dns *resolver(struct server *s)
{
	ht_dns *d;
	char csv[64];
	assert_int_equal(ht_dns_new(&d), 0);
	/* Short tries so that the dropped queries fail within the test. */
	assert_int_equal(ht_dns_set_timeout(d, 300, 1), 0);
	snprintf(csv, sizeof(csv), "127.0.0.1:%u", s->port);
	assert_int_equal(ht_dns_set_servers(d, csv), 0);
	return d;
}

static ht_addr a4(const char *s)
{
	ht_addr a;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, s, &a.u.v4), 1);
	return a;
}

static ht_addr a6(const char *s)
{
	ht_addr a;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, s, &a.u.v6), 1);
	return a;
}

/* Printable and valid UTF-8 (what may reach a terminal). */
static void assert_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		assert_true(*p >= 0x20 && *p != 0x7f);
		if (*p < 0x80) {
			p++;
			continue;
		}
		int n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
		assert_true(*p >= 0xc2 && *p <= 0xf4);
		for (int i = 1; i < n; i++)
			assert_true((p[i] & 0xc0) == 0x80);
		p += n;
	}
}

/* ---- Tests ---- */

static void test_clean_name(void **state)
{
	(void)state;
	char out[HT_DNS_NAME_MAX + 1];
	assert_int_equal(ht_dns_clean_name(out, sizeof(out), "r1.example.net"), 14);
	assert_string_equal(out, "r1.example.net");
	ht_dns_clean_name(out, sizeof(out), "\x1b[31mred\x1b[0m.example");
	assert_safe(out);
	assert_null(strchr(out, 0x1b));
	assert_non_null(strstr(out, "red"));
	ht_dns_clean_name(out, sizeof(out),
	                  "bad\xff\xfe\xc3(utf8\x9b"
	                  "31m\r\n.example");
	assert_safe(out);
	/* A right-to-left override and a zero-width space (a name that
	 * reads as another) are replaced like control bytes. */
	ht_dns_clean_name(out, sizeof(out), "moc.\xe2\x80\xae" "elpm\xe2\x80\x8bxe.example");
	assert_string_equal(out, "moc.?elpm?xe.example");
	/* Valid UTF-8 survives (a hosts file may hold it). */
	ht_dns_clean_name(out, sizeof(out), "caf\xc3\xa9.example");
	assert_string_equal(out, "caf\xc3\xa9.example");
	/* Capped. */
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ht_dns_clean_name(out, sizeof(out), big), HT_DNS_NAME_MAX);
	assert_int_equal(strlen(out), HT_DNS_NAME_MAX);
	char small[8];
	assert_int_equal(ht_dns_clean_name(small, sizeof(small), "abcdefghij"), 7);
	assert_string_equal(small, "abcdefg");
}

static void test_ptr_names(void **state)
{
	struct server *s = *state;
	ht_dns *d = resolver(s);
	const char *addrs[] = {"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4"};
	ht_addr a[5];
	for (int i = 0; i < 4; i++) {
		a[i] = a4(addrs[i]);
		assert_int_equal(ht_dns_ptr_request(d, &a[i]), 0);
	}
	a[4] = a6("2001:db8::1");
	assert_int_equal(ht_dns_ptr_request(d, &a[4]), 0);
	/* Deduplicated: asking again starts nothing new. */
	assert_int_equal(ht_dns_ptr_request(d, &a[0]), 0);
	assert_int_equal(ht_dns_ptr_pending(d), 5);
	assert_null(ht_dns_ptr_lookup(d, &a[0]));
	assert_true(ht_dns_ptr_is_pending(d, &a[0]));

	assert_int_equal(ht_dns_wait(d, now_us() + 3000000), 0);
	assert_false(ht_dns_ptr_is_pending(d, &a[0]));
	assert_string_equal(ht_dns_ptr_lookup(d, &a[0]), "r1.example.net");
	assert_string_equal(ht_dns_ptr_lookup(d, &a[4]), "v6.example");
	for (int i = 1; i < 4; i++) {
		const char *n = ht_dns_ptr_lookup(d, &a[i]);
		if (n)
			assert_safe(n);
		if (n)
			assert_true(strlen(n) <= HT_DNS_NAME_MAX);
	}
	/* Names with escape sequences or invalid UTF-8 in a PTR answer:
	 * c-ares (>= 1.17.2) refuses them as a bad response, so the hop is
	 * shown by address. Should a resolver ever pass them, the
	 * sanitiser's output is all that may come out (checked above). */
	assert_null(ht_dns_ptr_lookup(d, &a[1]));
	assert_null(ht_dns_ptr_lookup(d, &a[2]));
	/* Four 63-byte labels make a 255-byte name, more than the 253 a
	 * name may have in text form: capped. */
	const char *n4 = ht_dns_ptr_lookup(d, &a[3]);
	assert_non_null(n4);
	assert_int_equal(strlen(n4), HT_DNS_NAME_MAX);
	assert_memory_equal(n4, long_label, 63);
	int q = atomic_load(&s->queries);
	/* Cached: no new query. */
	assert_int_equal(ht_dns_ptr_request(d, &a[0]), 0);
	assert_int_equal(ht_dns_ptr_pending(d), 0);
	assert_int_equal(atomic_load(&s->queries), q);
	ht_dns_free(d);
}

/* A dead resolver costs nothing at request time, and the lookup fails
 * after the configured timeout; freeing with lookups pending is clean. */
static void test_ptr_nonblocking(void **state)
{
	struct server *s = *state;
	ht_dns *d = resolver(s);
	ht_addr dead = a4("198.18.0.5");
	uint64_t t0 = now_us();
	for (int i = 0; i < 50; i++) {
		ht_addr x = a4("198.18.0.5");
		x.u.v4.s_addr = htonl(ntohl(x.u.v4.s_addr) + (uint32_t)i * 256);
		assert_int_equal(ht_dns_ptr_request(d, &x), 0);
	}
	uint64_t took = now_us() - t0;
	assert_true(took < 50000); /* 50 requests well under 50 ms */
	assert_int_equal(ht_dns_ptr_pending(d), 50);
	assert_true(ht_dns_ptr_is_pending(d, &dead));

	/* Through the event-loop hooks, as ht_io_run drives them. */
	struct pollfd pfd[16];
	uint64_t deadline = UINT64_MAX;
	int n = ht_dns_collect(d, pfd, 16, &deadline);
	assert_true(n >= 1);
	assert_true(deadline != UINT64_MAX && deadline <= now_us() + 400000);
	uint64_t end = now_us() + 2000000;
	while (ht_dns_ptr_pending(d) && now_us() < end) {
		deadline = end;
		n = ht_dns_collect(d, pfd, 16, &deadline);
		uint64_t now = now_us();
		poll(pfd, (nfds_t)n, deadline > now ? (int)((deadline - now) / 1000 + 1) : 0);
		ht_dns_process(d, pfd, n, now_us());
	}
	assert_int_equal(ht_dns_ptr_pending(d), 0);
	assert_null(ht_dns_ptr_lookup(d, &dead));
	assert_false(ht_dns_ptr_is_pending(d, &dead));

	ht_addr other = a4("198.18.0.7");
	assert_int_equal(ht_dns_ptr_request(d, &other), 0);
	ht_dns_free(d); /* pending lookup: no leak, no callback after free */
}

/* 198.19.C.D, which the fake server names hC-D.example. */
static ht_addr gen_addr(unsigned i)
{
	ht_addr a;
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.u.v4.s_addr = htonl(0xc6130000u | (i & 0xffff));
	return a;
}

static void gen_name(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "h%u-%u.example", (i >> 8) & 0xff, i & 0xff);
}

/* Request addresses first..last-1 in rounds of 50 (so that lookups in
 * flight stay few: fewer than any bound a test sets) and let every round
 * finish. */
static void gen_fill(ht_dns *d, unsigned first, unsigned last)
{
	while (first < last) {
		unsigned end = last - first > 50 ? first + 50 : last;
		for (unsigned i = first; i < end; i++) {
			ht_addr a = gen_addr(i);
			assert_int_equal(ht_dns_ptr_request(d, &a), 0);
		}
		assert_int_equal(ht_dns_wait(d, now_us() + 5000000), 0);
		first = end;
	}
}

/* A name handed out stays where it is, and right, while thousands of
 * other addresses are added to the cache (fewer than its bound): the
 * header promises it. Under ASan a moved or freed name is an error. */
static void test_ptr_name_stays_valid(void **state)
{
	struct server *s = *state;
	ht_dns *d = resolver(s);
	char want[64];

	gen_fill(d, 1, 2);
	ht_addr first = gen_addr(1);
	const char *p = ht_dns_ptr_lookup(d, &first);
	assert_non_null(p);
	assert_string_equal(p, "h0-1.example");
	gen_fill(d, 2, 3002);
	assert_string_equal(p, "h0-1.example");
	assert_ptr_equal(ht_dns_ptr_lookup(d, &first), p);
	/* Every lookup is right. */
	for (unsigned i = 1; i < 3002; i++) {
		ht_addr a = gen_addr(i);
		const char *n = ht_dns_ptr_lookup(d, &a);
		gen_name(i, want, sizeof(want));
		assert_non_null(n);
		assert_string_equal(n, want);
		assert_false(ht_dns_ptr_is_pending(d, &a));
	}
	ht_addr never = gen_addr(9000);
	assert_null(ht_dns_ptr_lookup(d, &never));
	assert_false(ht_dns_ptr_is_pending(d, &never));
	assert_int_equal(ht_dns_cache_size(d), 3001);

	/* Past the bound: the cache stops growing, the least recently
	 * requested addresses go, and one requested again now and then (as
	 * every trace requests its own hops) keeps its name where it was. */
	for (unsigned i = 3002; i < 7002; i += 200) {
		assert_int_equal(ht_dns_ptr_request(d, &first), 0);
		gen_fill(d, i, i + 200);
		assert_true(ht_dns_cache_size(d) <= HT_DNS_CACHE_MAX);
	}
	assert_int_equal(ht_dns_cache_size(d), HT_DNS_CACHE_MAX);
	assert_ptr_equal(ht_dns_ptr_lookup(d, &first), p);
	assert_string_equal(p, "h0-1.example");
	ht_addr gone = gen_addr(2), last = gen_addr(7001);
	assert_null(ht_dns_ptr_lookup(d, &gone));
	assert_string_equal(ht_dns_ptr_lookup(d, &last), "h27-89.example");
	ht_dns_free(d);
}

/* A small bound, to see eviction exactly: least recently requested
 * first, an evicted address is looked up again when asked for, and a
 * lookup in flight is never evicted. */
static void test_ptr_cache_bounded(void **state)
{
	struct server *s = *state;
	ht_dns *d = resolver(s);
	char want[64];

	assert_int_equal(ht_dns_set_cache_max(d, 0), -EINVAL);
	assert_int_equal(ht_dns_set_cache_max(d, 64), 0);
	gen_fill(d, 1, 65);
	assert_int_equal(ht_dns_cache_size(d), 64);
	ht_addr a1 = gen_addr(1), a2 = gen_addr(2), a3 = gen_addr(3);
	const char *p1 = ht_dns_ptr_lookup(d, &a1);
	assert_string_equal(p1, "h0-1.example");
	/* a1 asked for again: a2 is now the least recently requested. */
	assert_int_equal(ht_dns_ptr_request(d, &a1), 0);
	gen_fill(d, 65, 66);
	assert_int_equal(ht_dns_cache_size(d), 64);
	assert_null(ht_dns_ptr_lookup(d, &a2));
	assert_ptr_equal(ht_dns_ptr_lookup(d, &a1), p1);
	assert_string_equal(ht_dns_ptr_lookup(d, &a3), "h0-3.example");
	/* Many more than the bound: it holds, and the newest are right. */
	gen_fill(d, 100, 1100);
	assert_int_equal(ht_dns_cache_size(d), 64);
	for (unsigned i = 1100 - 64; i < 1100; i++) {
		ht_addr a = gen_addr(i);
		gen_name(i, want, sizeof(want));
		assert_string_equal(ht_dns_ptr_lookup(d, &a), want);
	}
	assert_null(ht_dns_ptr_lookup(d, &a1));
	/* Evicted, then asked for again: a new query, the same name. */
	int q = atomic_load(&s->queries);
	gen_fill(d, 1, 2);
	assert_int_equal(atomic_load(&s->queries), q + 1);
	assert_string_equal(ht_dns_ptr_lookup(d, &a1), "h0-1.example");

	/* Lookups in flight stay: with room for two, both unanswered, a
	 * third address is refused rather than one of them dropped. */
	assert_int_equal(ht_dns_set_cache_max(d, 2), 0);
	assert_int_equal(ht_dns_cache_size(d), 2);
	ht_addr x = a4("198.18.0.5"), y = a4("198.18.0.7");
	assert_int_equal(ht_dns_ptr_request(d, &x), 0);
	assert_int_equal(ht_dns_ptr_request(d, &y), 0);
	assert_int_equal(ht_dns_ptr_request(d, &a3), -ENOBUFS);
	assert_int_equal(ht_dns_cache_size(d), 2);
	assert_true(ht_dns_ptr_is_pending(d, &x));
	assert_true(ht_dns_ptr_is_pending(d, &y));
	assert_int_equal(ht_dns_wait(d, now_us() + 3000000), 0);
	/* Failed lookups are evictable like the rest. */
	assert_int_equal(ht_dns_ptr_request(d, &a3), 0);
	assert_int_equal(ht_dns_cache_size(d), 2);
	assert_false(ht_dns_ptr_is_pending(d, &x));
	ht_dns_free(d);
}

static void test_resolve_host(void **state)
{
	struct server *s = *state;
	ht_dns *d = resolver(s);
	char err[256];
	ht_addr a, want4 = a4("198.18.0.9"), want6 = a6("2001:db8::9");

	assert_int_equal(ht_dns_resolve_host(d, "host.test", AF_INET, &a, err, sizeof(err), 0), 0);
	assert_int_equal(a.family, AF_INET);
	assert_memory_equal(&a.u.v4, &want4.u.v4, 4);
	assert_int_equal(ht_dns_resolve_host(d, "host.test", AF_INET6, &a, err, sizeof(err), 0), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_memory_equal(&a.u.v6, &want6.u.v6, 16);
	/* Numeric input needs no server; the wrong family is an error. */
	assert_int_equal(ht_dns_resolve_host(d, "198.18.0.77", AF_UNSPEC, &a, err, sizeof(err), 0),
	                 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(ht_dns_resolve_host(d, "198.18.0.77", AF_INET6, &a, err, sizeof(err), 0),
	                 -EAFNOSUPPORT);
	assert_string_equal(err, "'198.18.0.77' is an IPv4 address, but -6 was asked for");
	/* /etc/hosts is honoured. */
	assert_int_equal(ht_dns_resolve_host(d, "localhost", AF_INET, &a, err, sizeof(err), 0), 0);
	assert_int_equal(a.u.v4.s_addr, htonl(INADDR_LOOPBACK));

	assert_int_equal(ht_dns_resolve_host(d, "foo.invalid", AF_UNSPEC, &a, err, sizeof(err), 0),
	                 -ENOENT);
	assert_string_equal(err, "cannot resolve 'foo.invalid': Domain name not found");
	assert_int_equal(a.family, 0);
	assert_int_equal(ht_dns_resolve_host(d, "v4only.test", AF_INET6, &a, err, sizeof(err), 0),
	                 -EAFNOSUPPORT);
	assert_string_equal(err, "cannot resolve 'v4only.test': no IPv6 address");
	/* The name in the message is sanitised too. */
	assert_int_equal(
	        ht_dns_resolve_host(d, "x\x1b[2J.invalid", AF_INET, &a, err, sizeof(err), 0),
	        -ENOENT);
	assert_null(strchr(err, 0x1b));
	assert_safe(err);

	uint64_t t0 = now_us();
	assert_int_equal(ht_dns_resolve_host(d, "slow.test", AF_INET, &a, err, sizeof(err), 200),
	                 -ETIMEDOUT);
	uint64_t took = now_us() - t0;
	assert_true(took >= 190000 && took < 600000);
	assert_string_equal(err, "cannot resolve 'slow.test': timed out");
	ht_dns_free(d);
}

/* The hold queue: rows come out in order, as soon as names are ready,
 * and a dead resolver holds output back for at most the budget. */
struct emitted {
	int ttl[16];
	uint64_t at[16];
	bool named[16];
	int n;
	ht_dns *d;
};

static void on_emit(void *u, const struct ht_hop *h)
{
	struct emitted *e = u;
	e->ttl[e->n] = h->ttl;
	e->at[e->n] = now_us();
	e->named[e->n] = ht_dns_ptr_lookup(e->d, &h->probes[0].reply.from) != NULL;
	e->n++;
}

static void mk_hop(struct ht_hop *h, struct ht_probe *p, int ttl, const char *addr)
{
	memset(p, 0, sizeof(*p));
	p->ttl = (uint8_t)ttl;
	p->state = HT_PROBE_REPLIED;
	p->reply.from = a4(addr);
	*h = (struct ht_hop){.ttl = ttl, .nprobes = 1, .probes = p, .done = true};
}

static void loop_until(ht_dns *d, uint64_t end)
{
	while (now_us() < end) {
		struct pollfd pfd[16];
		uint64_t deadline = end;
		int n = ht_dns_collect(d, pfd, 16, &deadline);
		uint64_t now = now_us();
		poll(pfd, (nfds_t)n, deadline > now ? (int)((deadline - now + 999) / 1000) : 0);
		ht_dns_process(d, pfd, n, now_us());
	}
}

static void test_hold_queue(void **state)
{
	struct server *s = *state;
	ht_dns *d = resolver(s);
	/* Dead lookups must outlive the budget for this test. */
	assert_int_equal(ht_dns_set_timeout(d, 2000, 1), 0);
	struct emitted e = {.d = d};
	struct ht_hop h[5];
	struct ht_probe p[5];
	mk_hop(&h[0], &p[0], 1, "198.18.0.6"); /* answers after 150 ms */
	mk_hop(&h[1], &p[1], 2, "198.18.0.5"); /* never answers */
	mk_hop(&h[2], &p[2], 3, "198.18.0.1"); /* answers at once */
	mk_hop(&h[3], &p[3], 4, "198.18.0.7"); /* never answers */
	mk_hop(&h[4], &p[4], 5, "198.18.0.1");
	assert_int_equal(ht_dns_hold_init(d, 400000, on_emit, &e), 0);

	uint64_t t0 = now_us();
	for (int i = 0; i < 3; i++)
		assert_int_equal(ht_dns_hold_push(d, &h[i], now_us()), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(ht_dns_held(d), 3);

	loop_until(d, t0 + 100000);
	assert_int_equal(e.n, 0); /* hop 1's name is not there yet */
	loop_until(d, t0 + 300000);
	assert_int_equal(e.n, 1); /* hop 1 named; hop 2 blocks hop 3 */
	assert_int_equal(e.ttl[0], 1);
	assert_true(e.named[0]);
	assert_true(e.at[0] - t0 >= 140000 && e.at[0] - t0 < 280000);

	/* Hop 2 is held from ~150 ms for the rest of the 400 ms budget (about
	 * 250 ms were left), then hop 2 and 3 come out together. */
	loop_until(d, t0 + 900000);
	assert_int_equal(e.n, 3);
	assert_int_equal(e.ttl[1], 2);
	assert_false(e.named[1]);
	assert_int_equal(e.ttl[2], 3);
	assert_true(e.named[2]);
	uint64_t held = e.at[1] - t0;
	assert_true(held >= 380000 && held < 700000);

	/* Budget spent: a row waiting for a dead lookup goes out at once. */
	assert_int_equal(ht_dns_hold_push(d, &h[3], now_us()), 0);
	assert_int_equal(e.n, 4);
	assert_int_equal(ht_dns_hold_push(d, &h[4], now_us()), 0);
	assert_int_equal(e.n, 5);
	ht_dns_hold_flush(d);
	assert_int_equal(e.n, 5);
	assert_int_equal(ht_dns_held(d), 0);
	ht_dns_free(d);
}

/* Flush at the end of a trace waits for pending names within budget. */
static void test_hold_flush(void **state)
{
	struct server *s = *state;
	ht_dns *d = resolver(s);
	struct emitted e = {.d = d};
	struct ht_hop h[2];
	struct ht_probe p[2];
	mk_hop(&h[0], &p[0], 1, "198.18.0.6");
	mk_hop(&h[1], &p[1], 2, "198.18.0.1");
	assert_int_equal(ht_dns_hold_init(d, 0, on_emit, &e), 0);
	uint64_t t0 = now_us();
	ht_dns_hold_push(d, &h[0], t0);
	ht_dns_hold_push(d, &h[1], t0);
	ht_dns_hold_flush(d);
	assert_int_equal(e.n, 2);
	assert_true(e.named[0] && e.named[1]);
	assert_true(now_us() - t0 < HT_DNS_HOLD_BUDGET_US);
	ht_dns_free(d);
}

/*
 * /etc/hosts is not validated by c-ares, so a hostile entry there reaches
 * our sanitiser. A private mount namespace (root only) lays a hostile
 * hosts file over /etc/hosts for one child process; the host's file is
 * never touched.
 */
static void test_hosts_file_sanitised(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		const char *ci = getenv("CI");
		if (ci && !strcmp(ci, "true"))
			fail_msg("test_hosts_file_sanitised needs root (CI=true)");
		print_message("skipped: needs root for a private mount namespace\n");
		skip();
	}
	char path[] = "/tmp/ht-hosts-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char hosts[] = "198.18.0.99 evil\x1b]0;owned\x07red\xff\xc3(.example\n"
	                     "2001:db8::99 caf\xc3\xa9.example\n"
	                     "198.18.0.98 rlo\xe2\x80\xae" "elpmaxe\xe2\x80\x8b.com\n";
	assert_int_equal(write(fd, hosts, sizeof(hosts) - 1), (ssize_t)sizeof(hosts) - 1);
	close(fd);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		char out[3 * (HT_DNS_NAME_MAX + 1)] = "";
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount(path, "/etc/hosts", "none", MS_BIND, NULL) < 0)
			_exit(3);
		ht_dns *d;
		if (ht_dns_new(&d) < 0 || ht_dns_set_servers(d, "127.0.0.1:9") < 0)
			_exit(4);
		ht_addr x = a4("198.18.0.99"), y = a6("2001:db8::99"), z = a4("198.18.0.98");
		ht_dns_ptr_request(d, &x);
		ht_dns_ptr_request(d, &y);
		ht_dns_ptr_request(d, &z);
		ht_dns_wait(d, now_us() + 2000000);
		const char *n1 = ht_dns_ptr_lookup(d, &x), *n2 = ht_dns_ptr_lookup(d, &y),
		           *n3 = ht_dns_ptr_lookup(d, &z);
		snprintf(out, sizeof(out), "%s|%s|%s", n1 ? n1 : "(null)", n2 ? n2 : "(null)",
		         n3 ? n3 : "(null)");
		ht_dns_free(d);
		if (write(pfd[1], out, strlen(out)) < 0)
			_exit(5);
		_exit(0);
	}
	close(pfd[1]);
	char got[1024] = "";
	ssize_t n = read(pfd[0], got, sizeof(got) - 1);
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	unlink(path);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(n > 0);
	got[n] = '\0';
	/* ESC, BEL and each invalid byte became '?'; valid UTF-8 stayed; a
	 * right-to-left override and a zero-width space became '?' too. */
	assert_string_equal(got, "evil?]0;owned?red?"
	                         "?(.example|caf\xc3\xa9.example|rlo?elpmaxe?.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_clean_name),           cmocka_unit_test(test_ptr_names),
	        cmocka_unit_test(test_ptr_nonblocking),      cmocka_unit_test(test_resolve_host),
	        cmocka_unit_test(test_hold_queue),           cmocka_unit_test(test_hold_flush),
	        cmocka_unit_test(test_hosts_file_sanitised),
	        cmocka_unit_test(test_ptr_name_stays_valid),
	        cmocka_unit_test(test_ptr_cache_bounded),
	};
	return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
